package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"

	"atonce/internal/cputime"
)

// Names of the execution-trace annotations a run (and a worker's
// TaskTracer) makes; the stateReader (states.go) reads them back.
const (
	traceTaskType  = "atonce.task"     // trace.NewTask for each task
	traceLogIndex  = "atonce.index"    // trace.Log: the task's index
	traceLogAnchor = "atonce.start"    // trace.Log at the run's start: offset 0
	regionRun      = "atonce.run"      // region around Call
	regionAwait    = "atonce.await"    // region around Sleep and Await
	regionLoopWait = "atonce.loopwait" // region around waiting for the event loop
)

// errGoexit is the run's error when a task ended its worker's goroutine
// and so left tasks undone.
var errGoexit = errors.New("a task ended its worker's goroutine (runtime.Goexit), leaving tasks undone")

// runSem serializes runs: they change process-wide settings.
var runSem = make(chan struct{}, 1)

// runState is one run in progress, shared by its workers and by Sleep and
// Await called from them.
type runState struct {
	spec  spec
	task  Task
	opt   Options
	gate  *gate // the workers start together
	start time.Time
	// done is closed when the run's context is done (or the run is over).
	done <-chan struct{}
	// loop is the event loop's token; nil for the other models.
	loop *loop

	next    atomic.Int64 // next index to hand out
	recs    []TaskRecord // by index; recs[i] belongs to whoever took i
	started []bool       // by index, like recs

	mu       sync.Mutex // guards finished and Progress calls
	finished int
	exited   atomic.Bool // a task called runtime.Goexit, ending its worker
}

// run is the one implementation behind every in-process Model.
func run(ctx context.Context, s spec, t Task, opt Options) (Report, error) {
	rep := NewReport(s.Traits, t)
	fail := func(err error) (Report, error) {
		rep.Err = err.Error()
		return rep, err
	}
	switch {
	case t.N < 0:
		return fail(fmt.Errorf("%s: cannot run %s %d times", s.Name, taskName(t), t.N))
	case t.N > 0 && t.Call == nil:
		return fail(fmt.Errorf("%s: %s has no function to call", s.Name, taskName(t)))
	case opt.Workers < 0:
		return fail(fmt.Errorf("%s: cannot run with %d workers", s.Name, opt.Workers))
	}
	workers := s.workerCount(t.N, opt)
	rep.Workers = workers

	release, err := AcquireRun(ctx, s.Name)
	if err != nil {
		return fail(err)
	}
	defer release()

	defer runGC.apply()()
	if s.procs > 0 {
		prev := runtime.GOMAXPROCS(s.procs)
		defer runtime.GOMAXPROCS(prev)
	}
	var traceBuf *bytes.Buffer
	if opt.Trace {
		traceBuf = startTrace()
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &runState{
		spec:    s,
		task:    t,
		opt:     opt,
		done:    runCtx.Done(),
		recs:    make([]TaskRecord, t.N),
		started: make([]bool, t.N),
	}
	if s.loop {
		r.loop = newLoop(r.done)
	}

	cpu0, busy0 := cputime.Self(), cputime.Machine()
	r.gate = newGate(workers)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() { r.work(runCtx, k) })
	}
	wg.Wait()
	if r.start.IsZero() { // stopped before every worker arrived
		r.start = time.Now()
	}
	rep.Wall = time.Since(r.start)
	rep.CPU = cputime.Self() - cpu0
	rep.OtherCPU = otherCPU(busy0, rep.CPU)

	if traceBuf != nil {
		trace.Stop()
		raw := traceBuf.Bytes()
		states, err := parseStates(bytes.NewReader(raw), t.N, oneProcWait(s))
		if err != nil {
			slog.Warn("models: cannot read the execution trace; reporting no task states", "model", s.Name, "err", err)
		} else {
			rep.Traced = true
			for i := range r.recs {
				r.recs[i].States = states.spans(i, r.recs[i].Start, r.recs[i].End)
			}
			rep.Runtime = states.runtimeSpans(states.anchor, 0, rep.Wall, -1)
		}
		if opt.KeepTrace {
			rep.Trace = &RunTrace{Process: raw}
		}
	}
	for i, ok := range r.started {
		if ok {
			rep.Tasks = append(rep.Tasks, r.recs[i])
		}
	}
	if r.finished < t.N {
		err := ctx.Err()
		if err == nil {
			err = errGoexit
		}
		return fail(fmt.Errorf("%s: stopped after %d of %d tasks: %w", s.Name, r.finished, t.N, err))
	}
	return rep, nil
}

// workerCount is how many workers a run of n tasks starts: the model's
// default or Options.Workers (unless fixed), never more than n.
func (s spec) workerCount(n int, opt Options) int {
	workers := s.workers(n)
	if !s.fixed && opt.Workers > 0 {
		workers = opt.Workers
	}
	return max(min(workers, n), 0)
}

// AcquireRun waits for the process's other run to finish (runs change
// process-wide settings, see [Model]) and returns the function that lets
// the next one go, or, when ctx is done first, an error saying model
// stopped before it started. Every model's Run calls it first, in this
// package or not.
func AcquireRun(ctx context.Context, model string) (release func(), err error) {
	select {
	case runSem <- struct{}{}:
		return func() { <-runSem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: stopped before it started: %w", model, ctx.Err())
	}
}

func taskName(t Task) string {
	if t.Name == "" {
		return "the task"
	}
	return "task " + t.Name
}

// startTrace starts the execution tracer into a buffer, or returns nil if
// the tracer is busy.
func startTrace() *bytes.Buffer {
	if trace.IsEnabled() {
		return nil
	}
	buf := new(bytes.Buffer)
	if err := trace.Start(buf); err != nil {
		return nil
	}
	return buf
}

// work is one worker: it takes tasks from the shared queue until it is
// empty or the run is done.
func (r *runState) work(ctx context.Context, worker int) {
	g := goid()
	register(g, r)
	defer unregister(g)
	if r.gate.pass(ctx) {
		// The last worker to arrive starts the run's clock.
		r.start = time.Now()
		trace.Log(ctx, traceLogAnchor, "")
		r.gate.open()
	}
	if r.loop != nil {
		defer r.loop.release(g) // if a task ended the goroutine holding it
	}
	for {
		if r.loop != nil && !r.loop.acquire(ctx, g) {
			return
		}
		i, ok := r.take(ctx)
		if ok {
			r.runTask(ctx, worker, i)
		}
		if r.loop != nil {
			// Yield between tasks, so that every coroutine gets its turn.
			r.loop.release(g)
		}
		if !ok {
			return
		}
	}
}

// take hands out the next task index, if any and if the run goes on.
func (r *runState) take(ctx context.Context) (int, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	i := int(r.next.Add(1) - 1)
	if i >= r.task.N {
		return 0, false
	}
	return i, true
}

func (r *runState) runTask(ctx context.Context, worker, i int) {
	tctx, task := traceTask(ctx, i)
	defer task.End()
	rec := &r.recs[i]
	rec.Index, rec.Worker = i, worker
	r.started[i] = true
	rec.Start = time.Since(r.start)
	region := trace.StartRegion(tctx, regionRun)
	returned := false
	// Deferred, so that a task that ends its goroutine (runtime.Goexit)
	// is still recorded.
	defer func() {
		region.End()
		rec.End = time.Since(r.start)
		if !returned {
			rec.Err = fmt.Sprintf("task %d ended its goroutine (runtime.Goexit)", i)
			r.exited.Store(true)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.finished++
		if r.opt.Progress != nil {
			r.opt.Progress(r.spec.Name, r.finished, r.task.N)
		}
	}()
	res, err := r.task.Do(tctx, i)
	returned = true
	rec.Result = res
	if err != nil {
		rec.Err = err.Error()
	}
}

// otherCPU is the CPU time other programs used since busy0 was read,
// given the run's own; 0 when unknown.
func otherCPU(busy0, own time.Duration) time.Duration {
	if busy0 == 0 {
		return 0
	}
	return max(cputime.Machine()-busy0-own, 0)
}

// gate makes a run's workers start together: each waits at it until all
// have arrived, and the last to arrive starts the run's clock. Without it
// a worker whose thread woke a little late found short tasks already
// taken, and tasks that should overlap (and, under threads, lose updates)
// ran one after the other.
//
// When there are no more workers than processors, the waiting workers
// spin (yielding), so that when the gate opens every one of them is on a
// CPU; with more workers than processors they sleep on a channel, since
// spinning would only keep the late ones from arriving.
type gate struct {
	workers int32
	spin    bool
	arrived atomic.Int32
	opened  atomic.Bool
	ch      chan struct{}
}

func newGate(workers int) *gate {
	return &gate{workers: int32(workers), spin: workers <= runtime.GOMAXPROCS(0), ch: make(chan struct{})}
}

// pass waits until every worker has arrived; it returns true for the
// last one, which must call open. A done ctx lets a worker through.
func (g *gate) pass(ctx context.Context) (last bool) {
	if g.arrived.Add(1) == g.workers {
		return true
	}
	if g.spin {
		for !g.opened.Load() && ctx.Err() == nil {
			runtime.Gosched()
		}
		return false
	}
	select {
	case <-g.ch:
	case <-ctx.Done():
	}
	return false
}

func (g *gate) open() {
	g.opened.Store(true)
	close(g.ch)
}
