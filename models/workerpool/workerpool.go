// Package workerpool starts worker processes through a Launcher and owns
// them until they are stopped. The processes model's workers, the
// race-detector worker and the distributed model's local workers start
// here, each kind with its launcher (what binary, what arguments and
// environment, how it greets); native mode adds its own launcher.
//
// Processes are started and watched by internal/childproc: a worker dies
// with the engine, its death is seen and explained, and Close leaves no
// process and no goroutine behind.
package workerpool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"atonce/internal/childproc"
	"atonce/internal/clocksync"
	"atonce/models/workermsg"
)

// A Launcher says how to start one kind of worker and how it greets.
//
// Spec may be called concurrently and must return a fresh Spec each time.
// Greet is called once per started worker, possibly concurrently for
// several workers; it returns when the worker is ready for work, with
// what the worker says about itself. An error made with Refuse means
// every worker would fail the same way (the wrong version, a notebook that
// does not rebuild): the caller should not start another. Any other error
// is this worker's failure (it died, or broke the protocol). Greet need
// not watch ctx for a worker stuck in its greeting: the pool kills the
// worker when ctx is done.
type Launcher interface {
	Spec() childproc.Spec
	Greet(ctx context.Context, w *Worker) (workermsg.Hello, error)
}

// Refuse marks err as a refusal every worker would meet (see Launcher).
func Refuse(err error) error { return refusal{err} }

// IsRefused tells whether err, from Start, is a refusal every worker
// would meet: the binary cannot be started, or its greeting refused.
func IsRefused(err error) bool {
	var r refusal
	return errors.As(err, &r)
}

type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// Grace is how long a worker asked to stop may take before it is killed.
const Grace = time.Second

// Pool starts workers through its launcher and owns them.
// Its methods may be called concurrently.
type Pool struct {
	launcher Launcher

	mu      sync.Mutex
	workers []*Worker // started and not yet reaped
	closed  bool
}

// New returns a pool that starts workers with l.
func New(l Launcher) *Pool { return &Pool{launcher: l} }

// StartOptions describe one worker to start.
type StartOptions struct {
	// Name names the worker in errors, e.g. "worker 2".
	Name string
	// Output, if set, receives what the worker's tasks print, for a
	// worker that speaks workermsg on its pipes.
	Output func(workermsg.Output)
}

// Start starts a worker and returns it once it greeted. If it cannot
// start or greet, it is stopped and reaped, and the error says why: a
// refusal (IsRefused), its death explained from its last words, or ctx's
// error when ctx is done first.
func (p *Pool) Start(ctx context.Context, opt StartOptions) (*Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spec := p.launcher.Spec()
	proc, err := childproc.Start(spec)
	if err != nil {
		return nil, Refuse(fmt.Errorf("%s could not start: %w", opt.Name, err))
	}
	w := &Worker{proc: proc, name: opt.Name, output: opt.Output, started: time.Now()}
	if spec.Pipes {
		w.conn = workermsg.NewConn(proc.Answers(), proc.Requests())
	}
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.workers = append(p.workers, w)
	}
	p.mu.Unlock()
	if closed {
		w.Kill()
		w.proc.Reap()
		return nil, fmt.Errorf("%s was not started: its pool is closed", opt.Name)
	}

	release := proc.KillOnDone(ctx)
	hello, err := p.launcher.Greet(ctx, w)
	release()
	switch {
	case err == nil && ctx.Err() == nil:
		w.hello = hello
		return w, nil
	case ctx.Err() != nil:
		w.Kill()
		err = ctx.Err()
	case IsRefused(err):
	default:
		err = errors.New(w.Explain(err))
	}
	w.Stop()
	p.forget(w)
	return nil, err
}

// StartN starts n workers at once and returns them once all greeted, or
// the error of the first that did not; the workers that did start stay in
// the pool.
func (p *Pool) StartN(ctx context.Context, n int, opt StartOptions) ([]*Worker, error) {
	var wg sync.WaitGroup
	workers := make([]*Worker, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { workers[i], errs[i] = p.Start(ctx, opt) })
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err != nil {
			first = err
			break
		}
	}
	return slices.DeleteFunc(workers, func(w *Worker) bool { return w == nil }), first
}

// Live returns the workers that have not exited, oldest first; those that
// exited are reaped.
func (p *Pool) Live() []*Worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	var live []*Worker
	kept := p.workers[:0]
	for _, w := range p.workers {
		select {
		case <-w.Exited():
			w.proc.Reap()
			continue
		default:
		}
		kept = append(kept, w)
		live = append(live, w)
	}
	clear(p.workers[len(kept):])
	p.workers = kept
	return live
}

// KillAll kills every worker of the pool.
func (p *Pool) KillAll() {
	p.mu.Lock()
	workers := slices.Clone(p.workers)
	p.mu.Unlock()
	for _, w := range workers {
		w.Kill()
	}
}

// KillOnDone kills every worker of the pool once ctx is done, unless
// release is called first; release waits for the kill if it started.
func (p *Pool) KillOnDone(ctx context.Context) (release func()) {
	return childproc.OnDone(ctx, p.KillAll)
}

// Close stops every worker (see Worker.Stop), all at once, and waits for
// them. Workers started after Close are killed at once.
func (p *Pool) Close() {
	p.mu.Lock()
	workers := p.workers
	p.workers, p.closed = nil, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(w.Stop)
	}
	wg.Wait()
}

func (p *Pool) forget(w *Worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers = slices.DeleteFunc(p.workers, func(x *Worker) bool { return x == w })
}

// Worker is one worker process of a pool.
type Worker struct {
	proc    *childproc.Proc
	conn    *workermsg.Conn // nil for a worker without pipes
	name    string
	output  func(workermsg.Output)
	hello   workermsg.Hello
	started time.Time
	clock   clocksync.Offset // set by the launcher's Greet, if it measures
}

// Name is the worker's name, as given to Start.
func (w *Worker) Name() string { return w.name }

// Hello is what the worker said about itself when it greeted.
func (w *Worker) Hello() workermsg.Hello { return w.hello }

// Clock is how far the worker's clock is from the engine's, as its
// greeting measured it (the Pipe launcher's does); the zero Offset when
// it was not measured.
func (w *Worker) Clock() clocksync.Offset { return w.clock }

// PID is the worker's process id.
func (w *Worker) PID() int { return w.proc.PID() }

// Started is when the worker's process was started.
func (w *Worker) Started() time.Time { return w.started }

// Send sends m on the worker's request pipe and returns the bytes sent.
func (w *Worker) Send(m workermsg.Message) (int, error) {
	if w.conn == nil {
		return 0, fmt.Errorf("%s has no pipes", w.name)
	}
	return w.conn.Send(m)
}

// Receive returns the worker's next message that is not a task's output,
// handing output to StartOptions.Output on the way, and the bytes it
// took. It returns an error when the worker died or broke its pipe.
func (w *Worker) Receive() (workermsg.Message, int, error) {
	if w.conn == nil {
		return workermsg.Message{}, 0, fmt.Errorf("%s has no pipes", w.name)
	}
	for {
		m, n, err := w.conn.Receive()
		if err != nil {
			return m, n, err
		}
		if m.Kind == workermsg.KindOutput && m.Output != nil {
			if w.output != nil {
				w.output(*m.Output)
			}
			continue
		}
		return m, n, nil
	}
}

// Exited is closed once the worker's process has exited.
func (w *Worker) Exited() <-chan struct{} { return w.proc.Exited() }

// Explain says in one line why the worker failed with cause (a broken
// pipe, a malformed answer): how it died, from its last words. A worker
// that has not exited within Grace is killed and said to have stopped
// answering.
func (w *Worker) Explain(cause error) string {
	t := time.NewTimer(Grace)
	defer t.Stop()
	select {
	case <-w.proc.Exited():
	case <-t.C:
		w.proc.Kill()
		<-w.proc.Exited()
		return fmt.Sprintf("%s stopped answering (%v) and was killed", w.name, cause)
	}
	reason, _ := w.proc.Explain(w.name)
	return reason
}

// Stop ends the worker and waits for it: a worker with pipes is told to
// stop by closing its request pipe, one without gets SIGTERM; after Grace
// it is killed.
func (w *Worker) Stop() { w.proc.Stop(Grace) }

// Kill kills the worker at once.
func (w *Worker) Kill() { w.proc.Kill() }

// KillOnDone kills the worker once ctx is done, unless release is called
// first; release waits for the kill if it started.
func (w *Worker) KillOnDone(ctx context.Context) (release func()) { return w.proc.KillOnDone(ctx) }

// CPU returns the user and system CPU time of the worker once it exited,
// 0 before.
func (w *Worker) CPU() time.Duration { return w.proc.CPU() }
