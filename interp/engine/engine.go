// Package engine is the engine process's loop: it reads the kernel's
// requests from one pipe, runs them in an interp.Session, and writes
// events and replies to another (see atonce/internal/enginemsg).
//
// Requests run one at a time, in order. Interrupts and input replies are
// read while a request runs, so a cell can be stopped or fed; debug
// requests, and requests marked Aside, are answered apart, in order, also
// while a request runs or is stopped at a breakpoint (package dap).
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"atonce/internal/enginemsg"
	"atonce/interp"
	"atonce/interp/complete"
	"atonce/interp/dap"
	"atonce/interp/magic"
	"atonce/interp/modelrun"
)

func init() { modelrun.RegisterMagics() }

// Options configure Serve.
type Options struct {
	Requests io.Reader // the kernel's requests (fd 3)
	Events   io.Writer // events and replies to the kernel (fd 4)
	Version  string    // sent in the ready event
	// WorkerCommand starts a worker process for the processes model
	// (serving pipes on fds 3 and 4).
	WorkerCommand []string
	// SourceDir is atonce's source, for building the race-detector
	// worker; "" if unknown.
	SourceDir string
	// OwnFD1 makes the process's file descriptor 1 the cells' standard
	// output, so that what compiled code writes there reaches the kernel
	// in order and before the cell's reply (on Linux). Only the engine
	// process sets it: it replaces fd 1 for the whole process.
	OwnFD1 bool
	// StateDir is the kernel's state directory, which outlives this
	// engine (atonce/internal/statedir); "" if none.
	StateDir string
	Logger   *slog.Logger
}

// Serve runs requests until the request pipe closes or ctx is done.
func Serve(ctx context.Context, opt Options) error {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	modelrun.Configure(modelrun.Config{Version: opt.Version, WorkerCommand: opt.WorkerCommand, SourceDir: opt.SourceDir, StateDir: opt.StateDir, Logger: log})
	// The distributed cluster an earlier engine had comes back at once,
	// for the workers that joined it.
	modelrun.RestoreCluster()
	defer modelrun.Shutdown()
	e := &engine{
		enc:     enginemsg.NewEncoder(opt.Events),
		log:     log,
		inputCh: make(chan enginemsg.Request, 1),
	}
	sess, err := interp.New(interp.Options{Output: e, Stdin: &stdin{e: e}})
	if err != nil {
		return fmt.Errorf("starting the Go interpreter: %w", err)
	}
	defer sess.Close()
	e.sess = sess
	if opt.OwnFD1 {
		if err := redirectFD1(sess.StdoutFile()); err != nil {
			log.Warn("fd 1 stays apart from the cells' output", "err", err)
		}
	}

	e.dap = dap.New(sess, func(ev json.RawMessage) {
		if err := e.enc.Encode(enginemsg.Event{Kind: enginemsg.EventDebug, Debug: ev}); err != nil {
			log.Debug("sending a debug event", "err", err)
		}
	})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan enginemsg.Request, 64)
	aside := make(chan enginemsg.Request, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // answer debug and aside requests, in order
		defer wg.Done()
		for req := range aside {
			e.reply(req.ID, e.handleAside(ctx, req), cancel)
		}
	}()
	wg.Add(1)
	go func() { // read requests; interrupts and input replies act at once
		defer wg.Done()
		defer close(work)
		defer close(aside)
		dec := enginemsg.NewDecoder(opt.Requests)
		for {
			var req enginemsg.Request
			if err := dec.Decode(&req); err != nil {
				if !errors.Is(err, io.EOF) {
					log.Error("reading a request", "err", err)
				}
				cancel()
				e.interrupt()
				return
			}
			switch req.Kind {
			case enginemsg.KindInterrupt:
				e.interruptRequest(req.ID)
			case enginemsg.KindInputReply:
				select {
				case e.inputCh <- req:
				default:
					log.Warn("input reply with no reader waiting")
				}
			case enginemsg.KindDebug:
				aside <- req
			default:
				if req.Aside {
					aside <- req
					continue
				}
				select {
				case work <- req:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	if err := e.enc.Encode(enginemsg.Event{Kind: enginemsg.EventReady, Text: opt.Version}); err != nil {
		return err
	}
	for req := range work {
		e.running.Lock()
		rep := e.handle(ctx, req)
		e.running.Unlock()
		e.reply(req.ID, rep, cancel)
	}
	wg.Wait()
	return nil
}

// reply sends the reply to request id; an engine that cannot is of no
// use (cancel ends it).
func (e *engine) reply(id uint64, rep *enginemsg.Reply, cancel context.CancelFunc) {
	if err := e.enc.Encode(enginemsg.Event{ID: id, Kind: enginemsg.EventReply, Reply: rep}); err != nil {
		e.log.Error("sending a reply", "err", err)
		cancel()
	}
}

// handleAside answers a debug request, or a request marked Aside, while
// a request may be running.
func (e *engine) handleAside(ctx context.Context, req enginemsg.Request) *enginemsg.Reply {
	if req.Kind != enginemsg.KindDebug {
		if rep, ok := e.source(req); ok {
			return rep
		}
		return unknownRequest(req.Kind + " aside")
	}
	rep := &enginemsg.Reply{Debug: e.dap.Handle(ctx, req.Debug)}
	// The debugger comes in, or goes, when no request runs: at once if
	// none does, else before the next.
	if e.running.TryLock() {
		if note := e.sess.DebugPrepare(); note != "" {
			e.log.Warn("debugger", "note", note)
		}
		e.running.Unlock()
	}
	return rep
}

// engine holds what the running request shares with output and stdin.
type engine struct {
	enc  *enginemsg.Encoder
	log  *slog.Logger
	sess *interp.Session

	mu         sync.Mutex
	current    uint64             // the request running, 0 when idle
	early      uint64             // a request interrupted before it began
	silent     bool               // drop the current request's output
	allowStdin bool               // the current request may read stdin
	cancel     context.CancelFunc // cancels the current request
	done       <-chan struct{}    // closed when the current request is cancelled
	cells      []string           // cells that ran without error, for completion

	inputCh chan enginemsg.Request

	dap     *dap.Adapter
	running sync.Mutex // held while a request is handled, so the debugger knows when none runs
}

func (e *engine) begin(ctx context.Context, req enginemsg.Request) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	e.mu.Lock()
	e.current, e.silent, e.allowStdin, e.cancel, e.done = req.ID, req.Silent || req.Kind == enginemsg.KindReplay, req.AllowStdin, cancel, ctx.Done()
	if e.early != 0 && e.early == req.ID {
		cancel() // interrupted before it began
	}
	e.early = 0
	e.mu.Unlock()
	// Drop an input reply left over from an earlier, interrupted read.
	select {
	case <-e.inputCh:
	default:
	}
	return ctx
}

func (e *engine) end() {
	e.mu.Lock()
	if e.cancel != nil {
		e.cancel()
	}
	e.current, e.silent, e.allowStdin, e.cancel, e.done = 0, false, false, nil, nil
	e.mu.Unlock()
	// A request that was interrupted stopped the session's sleeps; what a
	// cell left running sleeps as before from now on.
	e.sess.Resume()
}

// interruptRequest interrupts request id: the running one now, or one
// that has been sent but not begun (the reader saw the interrupt first)
// as soon as it begins.
func (e *engine) interruptRequest(id uint64) {
	e.mu.Lock()
	if id != 0 && id != e.current {
		e.early = id
	}
	e.mu.Unlock()
	e.interrupt()
}

func (e *engine) interrupt() {
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (e *engine) handle(ctx context.Context, req enginemsg.Request) *enginemsg.Reply {
	switch req.Kind {
	case enginemsg.KindExecute:
		ctx = e.begin(ctx, req)
		defer e.end()
		if note := e.sess.DebugPrepare(); note != "" && !req.Silent {
			e.Stream("stderr", note+"\n")
		}
		return e.execute(ctx, req)
	case enginemsg.KindReplay:
		ctx = e.begin(ctx, req)
		defer e.end()
		// The debugging session may already be here (the kernel sends it
		// to a new engine first); the replay does not stop.
		d := e.sess.Debugger()
		d.Quiet(true)
		defer d.Quiet(false)
		return e.replay(ctx, req.Cells)
	}
	if rep, ok := e.source(req); ok {
		return rep
	}
	return unknownRequest(req.Kind)
}

// source answers the requests about source text (completion, inspection,
// is_complete), which read the cells that ran and run nothing.
func (e *engine) source(req enginemsg.Request) (*enginemsg.Reply, bool) {
	switch req.Kind {
	case enginemsg.KindComplete:
		c := complete.Complete(e.scope(), req.Code, req.Cursor)
		return &enginemsg.Reply{Matches: c.Matches, CursorStart: c.CursorStart, CursorEnd: c.CursorEnd}, true
	case enginemsg.KindInspect:
		text, found := complete.Inspect(e.scope(), req.Code, req.Cursor, req.Detail)
		if !found {
			return &enginemsg.Reply{}, true
		}
		return &enginemsg.Reply{Found: true, Data: enginemsg.Bundle{"text/plain": text}}, true
	case enginemsg.KindIsComplete:
		status, indent := complete.IsComplete(req.Code)
		return &enginemsg.Reply{Status: status, Indent: indent}, true
	}
	return nil, false
}

func unknownRequest(kind string) *enginemsg.Reply {
	return &enginemsg.Reply{Err: &enginemsg.Error{
		Name:      "UnknownRequest",
		Value:     fmt.Sprintf("the engine does not know requests of kind %q", kind),
		Traceback: []string{},
	}}
}

func (e *engine) execute(ctx context.Context, req enginemsg.Request) *enginemsg.Reply {
	env := &notebook{e: e, resume: req.Resume}
	res := magic.Run(ctx, env, req.Code)
	for _, note := range res.Notes {
		if !strings.HasPrefix(note, "atonce: ") {
			note = "atonce: " + note
		}
		e.Stream("stderr", note+"\n")
	}
	rep := &enginemsg.Reply{Result: res.Value, Err: res.Err, Notes: res.Notes, Interrupted: res.Interrupted, Stuck: res.Stuck, Reset: res.Reset}
	if res.Page != "" {
		rep.Payload = []map[string]any{{"source": "page", "data": map[string]any{"text/plain": res.Page}, "start": 0}}
	}
	if res.Reset {
		e.mu.Lock()
		e.cells = nil
		e.mu.Unlock()
	}
	if len(req.UserExpressions) > 0 {
		rep.UserExpressions = map[string]any{}
		for name, expr := range req.UserExpressions {
			v, err := e.sess.Eval(ctx, expr)
			if err != nil {
				rep.UserExpressions[name] = map[string]any{"status": "error", "ename": "EvalError", "evalue": err.Error(), "traceback": []string{}}
				continue
			}
			rep.UserExpressions[name] = map[string]any{"status": "ok", "data": v, "metadata": map[string]any{}}
		}
	}
	return rep
}

func (e *engine) replay(ctx context.Context, cells []string) *enginemsg.Reply {
	rep := &enginemsg.Reply{}
	for i, code := range cells {
		env := &notebook{e: e, replaying: true}
		res := magic.Run(ctx, env, code)
		if res.Err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("atonce: replaying cell %d of %d failed: %s: %s", i+1, len(cells), res.Err.Name, res.Err.Value))
			if res.Interrupted {
				break
			}
			continue
		}
		rep.Replayed++
	}
	return rep
}

func (e *engine) scope() complete.Scope {
	e.mu.Lock()
	defer e.mu.Unlock()
	return complete.Scope{Cells: append([]string(nil), e.cells...)}
}

// Stream implements interp.Output.
func (e *engine) Stream(name, text string) {
	e.mu.Lock()
	id, silent := e.current, e.silent
	e.mu.Unlock()
	if silent {
		return
	}
	if err := e.enc.Encode(enginemsg.Event{ID: id, Kind: enginemsg.EventStream, Name: name, Text: text}); err != nil {
		e.log.Debug("sending output", "err", err)
	}
}

// Display implements interp.Output.
func (e *engine) Display(ev enginemsg.Event) {
	e.mu.Lock()
	id, silent := e.current, e.silent
	e.mu.Unlock()
	if silent {
		return
	}
	ev.ID = id
	if err := e.enc.Encode(ev); err != nil {
		e.log.Debug("sending a display", "err", err)
	}
}

// stdin is what cells read as os.Stdin: each line is asked of the user
// through the kernel's input_request.
type stdin struct {
	e   *engine
	buf []byte
}

// errNoInput is returned to a cell that reads stdin when nobody can answer.
var errNoInput = errors.New("standard input is not available: the client that ran this cell does not accept input requests (allow_stdin is false)")

func (s *stdin) Read(p []byte) (int, error) {
	if len(s.buf) == 0 {
		line, err := s.e.ask("")
		if err != nil {
			return 0, err
		}
		s.buf = append(s.buf, line...)
		s.buf = append(s.buf, '\n')
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// ask sends an input request for the running cell and waits for the
// answer or an interrupt.
func (e *engine) ask(prompt string) (string, error) {
	e.mu.Lock()
	id, allow, done := e.current, e.allowStdin, e.done
	e.mu.Unlock()
	if id == 0 || !allow || done == nil {
		// A cell often ignores Scan's error: say it where the user looks.
		e.Stream("stderr", "atonce: "+errNoInput.Error()+"\n")
		return "", errNoInput
	}
	if err := e.enc.Encode(enginemsg.Event{ID: id, Kind: enginemsg.EventInputRequest, Text: prompt}); err != nil {
		return "", err
	}
	var rep enginemsg.Request
	select {
	case rep = <-e.inputCh:
	case <-done:
		return "", errors.New("interrupted while waiting for input")
	}
	if rep.InputError != "" {
		return "", errors.New(rep.InputError)
	}
	return rep.Input, nil
}
