// Package supervisor runs the engine process for the kernel: it starts it,
// passes it requests over its message pipes, notices when it dies, starts
// a new one and replays the cells that had succeeded, so the notebook keeps
// its state. It implements kernel.Engine.
//
// Steps follow the NATS server's: Options → New → Start (returns once the
// engine is ready) → Request... → Close.
package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"atonce/internal/childproc"
	"atonce/internal/enginemsg"
	"atonce/internal/scratch"
	"atonce/kernel"
)

// Options configure a Supervisor.
type Options struct {
	// Command is the engine's command line: the binary and its arguments.
	Command []string
	// Env is the engine's environment; nil means the kernel's.
	Env []string
	// Background receives output that no request waits for.
	Background func(enginemsg.Event)
	// Debug receives the debugger's events (Debug Adapter Protocol
	// events, see enginemsg.EventDebug).
	Debug func(json.RawMessage)
	// Started is called each time an engine has started (the first, and
	// each that replaces one), before the engine is sent a request (the
	// cells to replay, a cell): a new engine knows nothing of the
	// debugger's session, which Started may send it with Aside.
	Started func()
	// Grace is how long an interrupted request may take to stop before the
	// engine is killed and replaced. Default 2 s.
	Grace time.Duration
	// StartTimeout bounds an engine's start-up. Default 30 s.
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Supervisor is a kernel.Engine backed by an engine process.
type Supervisor struct {
	opt Options
	log *slog.Logger

	mu      sync.Mutex // serializes requests, restarts and replays
	proc    *process   // nil while there is no live engine
	replay  []string   // cells that succeeded, in order
	pending []string   // notes to show at the start of the next request
	nextID  atomic.Uint64

	// live is proc, for requests answered aside, which do not wait for
	// mu (a running request holds it).
	live atomic.Pointer[process]

	activeMu sync.Mutex
	active   *call                            // the request in flight, for Interrupt
	asides   map[uint64]chan *enginemsg.Reply // requests answered aside, by id

	wg        sync.WaitGroup // background revivals
	closeOnce sync.Once
	closed    chan struct{}
}

var (
	_ kernel.Engine   = (*Supervisor)(nil)
	_ kernel.Debugger = (*Supervisor)(nil)
)

// New checks the options and returns a Supervisor with no engine yet.
func New(opt Options) (*Supervisor, error) {
	if len(opt.Command) == 0 {
		return nil, errors.New("supervisor: no engine command")
	}
	if opt.Grace <= 0 {
		opt.Grace = 2 * time.Second
	}
	if opt.StartTimeout <= 0 {
		opt.StartTimeout = 30 * time.Second
	}
	if opt.Background == nil {
		opt.Background = func(enginemsg.Event) {}
	}
	if opt.Debug == nil {
		opt.Debug = func(json.RawMessage) {}
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Supervisor{opt: opt, log: log, closed: make(chan struct{}), asides: map[uint64]chan *enginemsg.Reply{}}, nil
}

// Start starts the engine and returns when it is ready.
func (s *Supervisor) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startLocked(ctx)
}

// StartAsync starts the engine in the background: the first request waits
// for it. The kernel uses it so it can answer kernel_info at once.
func (s *Supervisor) StartAsync(ctx context.Context) {
	s.mu.Lock() // held until the engine is up, so requests queue behind it
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.mu.Unlock()
		if err := s.startLocked(ctx); err != nil {
			s.log.Error("starting the engine", "err", err)
		}
	}()
}

func (s *Supervisor) startLocked(ctx context.Context) error {
	if s.proc != nil {
		return nil
	}
	select {
	case <-s.closed:
		return errors.New("the kernel is shutting down")
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.StartTimeout)
	defer cancel()
	p, err := startProcess(ctx, s.opt.Command, s.opt.Env, s.log, s.route)
	if err != nil {
		return err
	}
	s.setProc(p)
	if s.opt.Started != nil {
		s.opt.Started()
	}
	return nil
}

// setProc sets the live engine (nil: none); called with mu held.
func (s *Supervisor) setProc(p *process) {
	s.proc = p
	s.live.Store(p)
}

// route receives every event the engine sends and passes it to the call
// it belongs to, or to Background.
func (s *Supervisor) route(ev enginemsg.Event) {
	if ev.Kind == enginemsg.EventDebug {
		s.opt.Debug(ev.Debug)
		return
	}
	s.activeMu.Lock()
	c := s.active
	aside, isAside := s.asides[ev.ID]
	s.activeMu.Unlock()
	if isAside {
		if ev.Kind == enginemsg.EventReply {
			select {
			case aside <- ev.Reply:
			default:
			}
		}
		return
	}
	if c != nil && (ev.ID == c.id || ev.ID == 0) {
		c.deliver(ev)
		return
	}
	if ev.Kind == enginemsg.EventReply {
		s.log.Debug("late reply dropped", "id", ev.ID)
		return
	}
	s.opt.Background(ev)
}

// call is one request in flight.
type call struct {
	id      uint64
	req     enginemsg.Request
	out     kernel.Output
	replies chan *enginemsg.Reply
	ctx     context.Context
	cancel  context.CancelFunc
	proc    *process

	interruptOnce sync.Once
	interrupted   chan struct{}

	// inputs are the goroutines asking the user for input; the request
	// waits for them before it returns.
	inputs sync.WaitGroup

	cpMu       sync.Mutex
	checkpoint json.RawMessage // the latest EventCheckpoint, if any
}

func (c *call) lastCheckpoint() json.RawMessage {
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	return c.checkpoint
}

func (c *call) deliver(ev enginemsg.Event) {
	switch ev.Kind {
	case enginemsg.EventReply:
		r := ev.Reply
		if r == nil {
			r = &enginemsg.Reply{}
		}
		select {
		case c.replies <- r:
		default:
		}
	case enginemsg.EventCheckpoint:
		c.cpMu.Lock()
		c.checkpoint = ev.Checkpoint
		c.cpMu.Unlock()
	case enginemsg.EventInputRequest:
		c.inputs.Go(func() {
			value, err := c.out.Input(c.ctx, ev.Text, ev.Password)
			reply := enginemsg.Request{ID: c.id, Kind: enginemsg.KindInputReply, Input: value}
			if err != nil {
				reply.InputError = err.Error()
			}
			if err := c.proc.send(reply); err != nil {
				c.proc.log.Debug("sending input reply", "err", err)
			}
		})
	default:
		if !c.req.Silent && c.req.Kind != enginemsg.KindReplay {
			c.out.Event(ev)
		}
	}
}

// Request implements kernel.Engine.
func (s *Supervisor) Request(ctx context.Context, req enginemsg.Request, out kernel.Output) (*enginemsg.Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		if err := s.reviveLocked(ctx); err != nil {
			return nil, err
		}
	}
	if req.Kind == enginemsg.KindExecute && !req.Silent {
		for _, note := range s.pending {
			out.Event(enginemsg.Event{Kind: enginemsg.EventStream, Name: "stderr", Text: note + "\n"})
		}
		s.pending = nil
	}

	start := time.Now()
	rep, died := s.roundTrip(ctx, req, out)
	s.log.Debug("engine request", "kind", req.Kind, "took", time.Since(start))
	for resumes := 0; died != nil && died.checkpoint != nil && !died.interrupted && resumes < maxResumes; resumes++ {
		// The request saved where it got to: a new engine, with the
		// notebook replayed, carries on from there.
		s.log.Warn("the engine died during a checkpointed request; resuming", "reason", died.reason)
		if err := s.reviveLocked(ctx); err != nil {
			return s.afterDeath(req, died), nil
		}
		req.Resume = &enginemsg.Resume{Checkpoint: died.checkpoint, Crash: died.reason}
		rep, died = s.roundTrip(ctx, req, out)
	}
	if died != nil {
		return s.afterDeath(req, died), nil
	}
	switch {
	case req.Kind == enginemsg.KindExecute && rep.Reset:
		s.replay = nil
	case req.Kind == enginemsg.KindExecute && rep.Err == nil:
		s.replay = append(s.replay, req.Code)
	}
	if rep.Stuck {
		s.log.Warn("the interrupted cell did not stop; replacing the engine")
		s.killLocked()
		rep.Err = withNote(rep.Err, s.replayNote("Some of the cell's code did not stop when interrupted (a call blocked for good, such as a lock or a WaitGroup), so the engine was stopped."))
		s.reviveAsync()
	}
	return rep, nil
}

// maxResumes bounds how often one request is resumed after crashes.
const maxResumes = 8

// death tells why the engine went away during a request.
type death struct {
	reason      string // the runtime's message, or the exit status
	detail      []string
	interrupted bool            // killed because an interrupt did not stop it in time
	checkpoint  json.RawMessage // the request's last checkpoint, if any
}

// roundTrip sends req and waits for its reply, the engine's death, or ctx.
func (s *Supervisor) roundTrip(ctx context.Context, req enginemsg.Request, out kernel.Output) (*enginemsg.Reply, *death) {
	p := s.proc
	req.ID = s.nextID.Add(1)
	cctx, cancel := context.WithCancel(ctx)
	c := &call{id: req.ID, req: req, out: out, replies: make(chan *enginemsg.Reply, 1), ctx: cctx, cancel: cancel, proc: p, interrupted: make(chan struct{})}
	defer func() {
		cancel() // ends a question to the user still open
		c.inputs.Wait()
	}()
	s.activeMu.Lock()
	s.active = c
	s.activeMu.Unlock()
	defer func() {
		s.activeMu.Lock()
		s.active = nil
		s.activeMu.Unlock()
	}()

	if err := p.send(req); err != nil {
		return nil, s.collectDeath(p, false)
	}
	dead := func(interrupted bool) *death {
		d := s.collectDeath(p, interrupted)
		d.checkpoint = c.lastCheckpoint()
		return d
	}
	var graceC <-chan time.Time
	interrupted := c.interrupted
	for {
		select {
		case r := <-c.replies:
			return r, nil
		case <-p.exited:
			select { // a reply that raced with the exit still counts
			case r := <-c.replies:
				return r, nil
			default:
			}
			return nil, dead(graceC != nil && p.killedByUs())
		case <-interrupted:
			interrupted = nil
			if err := p.send(enginemsg.Request{ID: req.ID, Kind: enginemsg.KindInterrupt}); err != nil {
				s.log.Debug("sending interrupt", "err", err)
			}
			graceC = time.After(s.opt.Grace)
		case <-graceC:
			s.log.Warn("the engine did not stop after an interrupt; killing it", "grace", s.opt.Grace)
			p.kill()
			graceC = make(chan time.Time) // wait for exited
		case <-ctx.Done():
			p.send(enginemsg.Request{ID: req.ID, Kind: enginemsg.KindInterrupt})
			return &enginemsg.Reply{Err: &enginemsg.Error{Name: "Interrupted", Value: "the kernel is shutting down", Traceback: []string{}}, Interrupted: true}, nil
		}
	}
}

// collectDeath waits for the dead engine's exit status and last words,
// kills what it left behind (workers, builds), then says what killed it.
func (s *Supervisor) collectDeath(p *process, interrupted bool) *death {
	<-p.exited
	p.child.Reap()
	p.removeLeftovers()
	d := &death{interrupted: interrupted}
	d.reason, d.detail = p.child.Explain("the engine")
	s.log.Warn("the engine died", "reason", d.reason)
	s.setProc(nil)
	return d
}

// afterDeath builds the cell's error for an engine that died while running
// req, and starts a new engine in the background.
func (s *Supervisor) afterDeath(req enginemsg.Request, d *death) *enginemsg.Reply {
	var e *enginemsg.Error
	if d.interrupted {
		e = &enginemsg.Error{
			Name:      "Interrupted",
			Value:     "the cell did not stop within " + s.opt.Grace.String() + " of the interrupt, so its engine was stopped",
			Traceback: []string{"Interrupted: the cell did not stop within " + s.opt.Grace.String() + " of the interrupt, so the engine running it was stopped."},
		}
	} else {
		e = &enginemsg.Error{
			Name:      "EngineCrashed",
			Value:     d.reason,
			Traceback: append([]string{"The Go engine running this notebook died: " + d.reason}, d.detail...),
		}
	}
	what := "this cell"
	if req.Kind != enginemsg.KindExecute {
		what = "a " + strings.ReplaceAll(req.Kind, "_", "-") + " request"
	}
	e = withNote(e, s.replayNote("It died running "+what+"."))
	s.reviveAsync()
	return &enginemsg.Reply{Err: e, Interrupted: d.interrupted}
}

func (s *Supervisor) replayNote(first string) string {
	n := len(s.replay)
	cells := "cells"
	if n == 1 {
		cells = "cell"
	}
	if n == 0 {
		return first + " A new engine is starting; no earlier cell had to be replayed."
	}
	return fmt.Sprintf("%s A new engine is starting and replays the %d %s that succeeded before (output hidden), so your variables and functions are kept; this cell's own effects are lost.", first, n, cells)
}

func withNote(e *enginemsg.Error, note string) *enginemsg.Error {
	if e == nil {
		e = &enginemsg.Error{Name: "Interrupted", Value: "interrupted"}
	}
	e.Traceback = append(append([]string(nil), e.Traceback...), "", note)
	return e
}

// reviveAsync starts a new engine and replays the cells in the background.
// Requests wait for it, since it holds mu.
func (s *Supervisor) reviveAsync() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc != nil {
			return
		}
		if err := s.reviveLocked(context.Background()); err != nil {
			s.log.Error("restarting the engine", "err", err)
		}
	}()
}

// reviveLocked starts an engine and replays the recorded cells into it.
func (s *Supervisor) reviveLocked(ctx context.Context) error {
	if err := s.startLocked(ctx); err != nil {
		return fmt.Errorf("the engine could not be restarted: %w", err)
	}
	if len(s.replay) == 0 {
		return nil
	}
	start := time.Now()
	rep, d := s.roundTrip(ctx, enginemsg.Request{Kind: enginemsg.KindReplay, Cells: s.replay, Silent: true}, discardOutput{})
	if d != nil {
		s.pending = append(s.pending, "atonce: the engine died again while replaying the notebook ("+d.reason+"); your earlier state is lost. Run the cells you need again.")
		s.replay = nil
		return s.startLocked(ctx)
	}
	s.log.Info("replayed cells", "cells", len(s.replay), "ok", rep.Replayed, "took", time.Since(start))
	if rep.Replayed < len(s.replay) || len(rep.Notes) > 0 {
		s.pending = append(s.pending, fmt.Sprintf("atonce: replayed %d of %d cells into the new engine.", rep.Replayed, len(s.replay)))
		s.pending = append(s.pending, rep.Notes...)
	}
	return nil
}

// Aside implements kernel.Debugger: the engine answers req at once,
// alongside the request running (which may be stopped at a breakpoint):
// debug requests, and completion, inspection and is_complete marked
// Aside. With no engine running (it is starting, or being replaced) it
// fails at once.
func (s *Supervisor) Aside(ctx context.Context, req enginemsg.Request) (*enginemsg.Reply, error) {
	p := s.live.Load()
	if p == nil {
		return nil, errors.New("the engine is not running (it is starting, or being replaced)")
	}
	req.ID = s.nextID.Add(1)
	if req.Kind != enginemsg.KindDebug {
		req.Aside = true
	}
	replies := make(chan *enginemsg.Reply, 1)
	s.activeMu.Lock()
	s.asides[req.ID] = replies
	s.activeMu.Unlock()
	defer func() {
		s.activeMu.Lock()
		delete(s.asides, req.ID)
		s.activeMu.Unlock()
	}()
	if err := p.send(req); err != nil {
		return nil, fmt.Errorf("the engine cannot be reached: %w", err)
	}
	select {
	case r := <-replies:
		if r == nil {
			r = &enginemsg.Reply{}
		}
		return r, nil
	case <-p.exited:
		select {
		case r := <-replies:
			return r, nil
		default:
		}
		return nil, errors.New("the engine stopped before it answered")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Interrupt implements kernel.Engine: the running request is asked to
// stop; if it has not stopped within the grace period the engine is killed.
func (s *Supervisor) Interrupt() error {
	s.activeMu.Lock()
	c := s.active
	s.activeMu.Unlock()
	if c == nil {
		return nil
	}
	c.interruptOnce.Do(func() { close(c.interrupted) })
	return nil
}

// Replayed returns the cells a new engine would replay.
func (s *Supervisor) Replayed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.replay...)
}

// Close implements kernel.Engine: it stops the engine and waits for it.
func (s *Supervisor) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	s.mu.Lock()
	s.killLocked()
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Supervisor) killLocked() {
	if s.proc == nil {
		return
	}
	s.proc.close()
	s.setProc(nil)
}

type discardOutput struct{}

func (discardOutput) Event(enginemsg.Event) {}
func (discardOutput) Input(context.Context, string, bool) (string, error) {
	return "", errors.New("no input while replaying")
}

// process is one running engine.
type process struct {
	child *childproc.Proc
	enc   *enginemsg.Encoder
	log   *slog.Logger
	// exited is closed once the engine has exited and every event it
	// sent before was routed: a reply that raced with the exit is in.
	exited chan struct{}
}

func (p *process) send(r enginemsg.Request) error { return p.enc.Encode(r) }

func (p *process) kill() { p.child.Kill() }

func (p *process) killedByUs() bool { return p.child.Killed() }

// close asks the engine to exit by closing its request pipe, kills it
// (and the workers it started) if it has not exited within a moment, and
// waits.
func (p *process) close() {
	p.child.Stop(300 * time.Millisecond)
	<-p.exited
	p.removeLeftovers()
}

// removeLeftovers removes the temporary state of the engine, gone now,
// that it could not remove itself (killed, it had no chance): its scratch
// directory (NATS store, TLS key, race logs).
func (p *process) removeLeftovers() {
	if removed, err := scratch.Sweep(); err != nil {
		p.log.Warn("removing what the engine left", "err", err)
	} else if len(removed) > 0 {
		p.log.Info("removed what the engine left", "dirs", removed)
	}
}

// startProcess starts an engine and returns once it said it is ready.
func startProcess(ctx context.Context, command, env []string, log *slog.Logger, route func(enginemsg.Event)) (*process, error) {
	child, err := childproc.Start(childproc.Spec{
		Command: command,
		Env:     env,
		Pipes:   true,
		// Its own process group, so that the engine and the workers (and
		// builds) it started go together.
		Group: true,
		Stdout: func(b []byte) { // output written straight to fd 1
			route(enginemsg.Event{Kind: enginemsg.EventStream, Name: "stdout", Text: string(b)})
		},
		Stderr: func(line string) bool { // the engine's log goes to the kernel's
			msg, ok := strings.CutPrefix(line, engineLogPrefix)
			if ok {
				log.Info("engine: " + msg)
			}
			return ok
		},
	})
	if err != nil {
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	p := &process{child: child, enc: enginemsg.NewEncoder(child.Requests()), log: log, exited: make(chan struct{})}

	ready := make(chan string, 1)
	go func() { // events, until the engine is gone
		defer close(p.exited)
		dec := enginemsg.NewDecoder(child.Answers())
		for {
			var ev enginemsg.Event
			if err := dec.Decode(&ev); err != nil {
				if !errors.Is(err, io.EOF) {
					log.Warn("reading engine events", "err", err)
				}
				break
			}
			switch ev.Kind {
			case enginemsg.EventReady:
				select {
				case ready <- ev.Text:
				default:
				}
				continue
			case enginemsg.EventReply:
				// What the engine wrote to fd 1 before its reply goes
				// out before the reply.
				child.SyncStdout()
			}
			route(ev)
		}
		// The events end with the engine; an engine that cannot be read
		// any more is of no use.
		select {
		case <-child.Exited():
		default:
			child.Kill()
		}
		<-child.Exited()
	}()

	select {
	case v := <-ready:
		log.Info("engine ready", "pid", child.PID(), "version", v)
		return p, nil
	case <-p.exited:
		child.Reap()
		reason, _ := child.Explain("the engine")
		return nil, fmt.Errorf("the engine exited while starting: %s", reason)
	case <-ctx.Done():
		p.close()
		return nil, fmt.Errorf("the engine did not start in time: %w", ctx.Err())
	}
}

// EngineLogPrefix starts the lines of the engine's own log on its stderr;
// the supervisor moves them to the kernel's log instead of a cell.
const engineLogPrefix = "atonce-engine: "

// EngineLogPrefix is exported for the engine side.
const EngineLogPrefix = engineLogPrefix
