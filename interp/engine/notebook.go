package engine

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/google/uuid"

	"atonce/internal/enginemsg"
	"atonce/interp/complete"
	"atonce/interp/magic"
)

// notebook is the magic.Env of one request: the session, plus what the
// engine knows of the request (its checkpoint, whether it is a replay).
type notebook struct {
	e         *engine
	resume    *enginemsg.Resume
	replaying bool
}

var _ magic.Env = (*notebook)(nil)

func (n *notebook) Execute(ctx context.Context, code string) magic.Result {
	r := n.e.sess.Execute(ctx, code)
	if r.Err == nil {
		n.e.mu.Lock()
		n.e.cells = append(n.e.cells, code)
		n.e.mu.Unlock()
	}
	return magic.Result{Value: r.Value, Err: r.Err, Notes: r.Notes, Interrupted: r.Interrupted, Stuck: r.Stuck, LastFunc: r.LastFunc}
}

func (n *notebook) Func(ctx context.Context, name string) (reflect.Value, error) {
	return n.e.sess.Func(ctx, name)
}

// DebugFunc is Func for a model whose tasks run at the same time: under
// the debugger, each task is a goroutine of its own.
func (n *notebook) DebugFunc(ctx context.Context, name string) (reflect.Value, error) {
	return n.e.sess.DebugFunc(ctx, name)
}

// Debugging tells whether the debugger is in place.
func (n *notebook) Debugging() bool { return n.e.sess.Debugger().Installed() }

func (n *notebook) Vars() map[string]reflect.Value { return n.e.sess.Vars() }

func (n *notebook) Stop() { n.e.sess.Stop() }

func (n *notebook) Reset() error { return n.e.sess.Reset(context.Background()) }

func (n *notebook) Goroutines() string { return n.e.sess.Goroutines() }

func (n *notebook) Inspect(code string, cursor int) (string, bool) {
	return complete.Inspect(n.e.scope(), code, cursor, 1)
}

func (n *notebook) Print(stream, text string) {
	n.e.sess.SyncOutput()
	n.e.Stream(stream, text)
}

func (n *notebook) Display(b enginemsg.Bundle) string {
	id := uuid.NewString()
	n.e.sess.SyncOutput()
	n.e.Display(enginemsg.Event{Kind: enginemsg.EventDisplay, Data: b, DisplayID: id})
	return id
}

func (n *notebook) Show(b enginemsg.Bundle, metadata map[string]any) string {
	id := uuid.NewString()
	n.e.sess.SyncOutput()
	n.e.Display(enginemsg.Event{Kind: enginemsg.EventDisplay, Data: b, Metadata: metadata, DisplayID: id})
	return id
}

func (n *notebook) Update(id string, b enginemsg.Bundle, metadata map[string]any) {
	n.e.Display(enginemsg.Event{Kind: enginemsg.EventUpdateDisplay, Data: b, Metadata: metadata, DisplayID: id})
}

func (n *notebook) Checkpoint(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		n.e.log.Warn("checkpoint", "err", err)
		return
	}
	n.e.mu.Lock()
	id := n.e.current
	n.e.mu.Unlock()
	if err := n.e.enc.Encode(enginemsg.Event{ID: id, Kind: enginemsg.EventCheckpoint, Checkpoint: b}); err != nil {
		n.e.log.Warn("sending a checkpoint", "err", err)
	}
}

func (n *notebook) Resume() *enginemsg.Resume { return n.resume }

// Replaying tells magics that the cell is being replayed into a new
// engine: only what rebuilds state needs to run.
func (n *notebook) Replaying() bool { return n.replaying }

func (n *notebook) History() []string { return n.e.sess.History() }
