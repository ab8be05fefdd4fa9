package models

import (
	"context"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

// Sleep pauses the calling task for d, or until ctx is done; it returns
// ctx.Err() in that case (context.Canceled if the run was stopped), else
// nil. Sleep is an await point:
//
//   - called by a task of an [EventLoop] run, it gives the loop to the next
//     coroutine, sleeps, and queues up (FIFO) to take the loop back;
//   - called by a task of any run, it returns early when the run is stopped,
//     and shows as "blocked" in the task's States;
//   - called from anywhere else (outside any run, or from a goroutine a
//     task started), it is just a sleep that ctx interrupts.
//
// The notebook's time.Sleep is routed here.
func Sleep(ctx context.Context, d time.Duration) error {
	r, g := current()
	var stopped <-chan struct{}
	if r != nil {
		stopped = r.done
	}
	var err error
	await(ctx, r, g, func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			err = ctx.Err()
		case <-stopped:
			err = context.Canceled
		}
	})
	return err
}

// Await runs fn as an await point: called by a task of an [EventLoop]
// run, it gives the loop to the next coroutine while fn runs (fn blocks,
// for example on a channel) and takes it back (FIFO) before returning.
// Elsewhere it just calls fn. fn runs on the calling goroutine; it must
// not touch state the other coroutines rely on being consistent, since
// they run meanwhile. ctx only labels the execution trace.
func Await(ctx context.Context, fn func()) {
	r, g := current()
	await(ctx, r, g, fn)
}

func await(ctx context.Context, r *runState, g int64, fn func()) {
	if r == nil {
		fn()
		return
	}
	defer trace.StartRegion(ctx, regionAwait).End()
	if r.loop != nil && r.loop.release(g) {
		// Deferred, so that a panic in fn leaves the token where the
		// worker expects it. Its regionLoopWait nests in regionAwait.
		defer r.loop.acquire(ctx, g)
	}
	fn()
}

// loop is the event loop: one token, held by the coroutine that runs.
// Waiting coroutines are served in FIFO order (a Go channel's receivers
// are queued in order). When the run is done the loop stops enforcing:
// acquire returns false at once, so nothing waits for a loop that is
// gone.
type loop struct {
	token  chan struct{} // holds the token when nobody does; capacity 1
	holder atomic.Int64  // goroutine id of the holder, 0 if none
	done   <-chan struct{}
}

func newLoop(done <-chan struct{}) *loop {
	l := &loop{token: make(chan struct{}, 1), done: done}
	l.token <- struct{}{}
	return l
}

// acquire waits for the token on behalf of goroutine g, and reports
// whether g got it (false: the run is done).
func (l *loop) acquire(ctx context.Context, g int64) bool {
	defer trace.StartRegion(ctx, regionLoopWait).End()
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case <-l.token:
		l.holder.Store(g)
		return true
	case <-l.done:
		return false
	}
}

// release gives the token back if g holds it, and reports whether it did.
func (l *loop) release(g int64) bool {
	if !l.holder.CompareAndSwap(g, 0) {
		return false
	}
	l.token <- struct{}{} // never blocks: there is one token
	return true
}

// The registry of running workers, by goroutine id, so that Sleep and
// Await (which the notebook calls without knowing about runs) find the run
// and the loop of the task that calls them.
var (
	workers  sync.Map // goroutine id (int64) -> *runState
	nWorkers atomic.Int64
)

func register(g int64, r *runState) {
	workers.Store(g, r)
	nWorkers.Add(1)
}

func unregister(g int64) {
	workers.Delete(g)
	nWorkers.Add(-1)
}

// current returns the run whose worker is the calling goroutine, with
// that goroutine's id, or nil, 0 when the caller is no run's worker.
func current() (*runState, int64) {
	if nWorkers.Load() == 0 {
		return nil, 0
	}
	g := goid()
	if r, ok := workers.Load(g); ok {
		return r.(*runState), g
	}
	return nil, 0
}

// goid returns the calling goroutine's id, read from the first line of
// its stack trace ("goroutine 42 [running]:"). Go offers no cheaper way;
// it takes about a microsecond, paid only by Sleep and Await during runs.
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	const prefix = "goroutine "
	if len(b) < len(prefix) {
		return 0
	}
	var id int64
	for _, c := range b[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}
