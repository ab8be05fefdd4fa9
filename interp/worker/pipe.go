package worker

import (
	"context"
	"io"

	"atonce/models/workermsg"
	"atonce/models/workerserve"
)

var (
	_ workerserve.Runner = (*Worker)(nil)
	_ workerserve.Racer  = (*Worker)(nil)
)

// ServePipe serves the processes model over a pair of pipes: it says
// hello, then loads states and runs tasks as the engine sends them, one at
// a time, until the request pipe closes or ctx is done.
func ServePipe(ctx context.Context, r io.Reader, w io.Writer, version string) error {
	conn := workermsg.NewConn(r, w)
	wk := New(version, func(o workermsg.Output) {
		_, _ = conn.Send(workermsg.Message{Kind: workermsg.KindOutput, Output: &o})
	})
	defer wk.Close()
	return workerserve.Pipe(ctx, conn, wk)
}
