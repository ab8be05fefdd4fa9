package worker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"atonce/models/workermsg"
)

// ServePipe serves the processes model over a pair of pipes: it says
// hello, then loads states and runs tasks as the engine sends them, one at
// a time, until the request pipe closes or ctx is done.
func ServePipe(ctx context.Context, r io.Reader, w io.Writer, version string) error {
	var conn *workermsg.Conn
	wk := New(version, func(o workermsg.Output) {
		_, _ = conn.Send(workermsg.Message{Kind: workermsg.KindOutput, Output: &o})
	})
	conn = workermsg.NewConn(r, w)
	defer wk.Close()
	hello := wk.Hello()
	if _, err := conn.Send(workermsg.Message{Kind: workermsg.KindHello, Hello: &hello}); err != nil {
		return fmt.Errorf("greeting the engine: %w", err)
	}
	for ctx.Err() == nil {
		m, _, err := conn.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading from the engine: %w", err)
		}
		var reply workermsg.Message
		switch {
		case m.Kind == workermsg.KindState && m.State != nil:
			ready := wk.Load(ctx, *m.State)
			reply = workermsg.Message{Kind: workermsg.KindReady, Ready: &ready}
		case m.Kind == workermsg.KindRace && m.Race != nil:
			races := wk.Race(ctx, *m.Race)
			reply = workermsg.Message{Kind: workermsg.KindRace, Races: &races}
		case m.Kind == workermsg.KindTask && m.Task != nil:
			res := wk.Run(ctx, *m.Task)
			reply = workermsg.Message{Kind: workermsg.KindResult, Result: &res}
		default:
			return fmt.Errorf("the engine sent a %q message the worker does not know", m.Kind)
		}
		if _, err := conn.Send(reply); err != nil {
			return fmt.Errorf("answering the engine: %w", err)
		}
	}
	return ctx.Err()
}
