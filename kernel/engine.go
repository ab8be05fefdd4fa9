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
//
// Package enginetest checks an Engine against this contract; atonce's
// engine and the kernel tests' fake engine both pass it.
type Engine interface {
	// Request sends req and returns the engine's reply. While it runs, out
	// receives the request's output events and input requests: everything
	// the cell wrote to its standard output and error before it ended
	// reaches out before Request returns. Input is asked only when
	// req.AllowStdin is set.
	//
	// The engine shows its notes (Reply.Notes) itself, as stderr stream
	// events before the reply; the kernel does not show them again.
	Request(ctx context.Context, req enginemsg.Request, out Output) (*enginemsg.Reply, error)
	// Interrupt cancels the running request, if any; with none running it
	// does nothing, and the next request runs as usual.
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

// Debugger is an Engine that also serves Jupyter's debugger. The kernel
// advertises the debugger (kernel_info) only for an Engine that is one.
type Debugger interface {
	// Aside sends req and returns the engine's reply, at once, alongside
	// the request running (Request may be waiting for one stopped at a
	// breakpoint): a KindDebug request (its Debug is a Debug Adapter
	// Protocol request, the reply's Debug its response), or a completion,
	// inspection or is_complete request. It fails at once when no engine
	// runs. The engine's debug events reach the kernel through
	// Kernel.DebugEvent.
	Aside(ctx context.Context, req enginemsg.Request) (*enginemsg.Reply, error)
}
