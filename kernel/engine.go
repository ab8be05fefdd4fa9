package kernel

import (
	"context"

	"atonce/internal/enginemsg"
)

// Engine runs cells on behalf of the kernel. The kernel serializes Request
// calls; Interrupt may be called concurrently with one. Request returns when
// the engine answered or ctx is done. A cell's failure (a compile error, a
// panic, even an engine that died and was replaced) is reported in
// Reply.Err; the error result is only for an engine that cannot serve at
// all.
type Engine interface {
	// Request sends req and returns the engine's reply. While it runs, out
	// receives the request's output events and input requests.
	Request(ctx context.Context, req enginemsg.Request, out Output) (*enginemsg.Reply, error)
	// Interrupt cancels the running request, if any.
	Interrupt() error
	// Close stops the engine and waits for it to exit.
	Close() error
}

// Output receives what a running request produces.
type Output interface {
	// Event receives a stream, display, update_display or clear_output
	// event. It may be called from any goroutine.
	Event(ev enginemsg.Event)
	// Input asks the user for a line of text (stdin). It returns an error
	// when the client cannot answer or ctx is done.
	Input(ctx context.Context, prompt string, password bool) (string, error)
}
