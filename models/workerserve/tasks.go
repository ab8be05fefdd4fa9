package workerserve

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"atonce/models"
	"atonce/models/workermsg"
)

// An Option tunes how a worker serves (Pipe, NATS).
type Option func(*server)

// WithClockSkew makes the worker's clock read d ahead of the machine's
// in everything it tells the engine: its answers to "what time is it?",
// its tasks' start, end and states, when it loaded a state. It is for
// tests of the engine's clock alignment: a worker on this machine then
// looks like one on a machine whose clock is d ahead.
func WithClockSkew(d time.Duration) Option { return func(s *server) { s.skew = d } }

// idleTrace is how long a worker keeps its execution tracer running
// after the last task that asked for it: the tasks of one run follow each
// other closely, and starting the tracer costs milliseconds.
const idleTrace = 2 * time.Second

// server is what Pipe and NATS share: the Runner, the worker's clock,
// and the execution tracer of the tasks that ask for their states.
type server struct {
	r    Runner
	skew time.Duration

	mu     sync.Mutex
	tracer *models.TaskTracer // nil when not tracing
	keeps  bool               // the tracer keeps its trace
	busy   bool               // a task runs under the tracer
	used   time.Time          // when the tracer last ended a task
}

func newServer(r Runner, opts []Option) *server {
	s := &server{r: r}
	for _, o := range opts {
		o(s)
	}
	return s
}

// now is the worker's clock, in Unix nanoseconds.
func (s *server) now() int64 { return time.Now().UnixNano() + int64(s.skew) }

// clock answers the engine's "what time is it?".
func (s *server) clock() workermsg.Clock { return workermsg.Clock{Time: s.now()} }

// run runs t, under the execution tracer when t asks (and the tracer is
// free), and returns its result with the times on the worker's clock.
func (s *server) run(ctx context.Context, t workermsg.Task) workermsg.Result {
	var tt *models.TaskTracer
	if t.Trace {
		tt = s.startTracing(true, t.KeepTrace)
	} else {
		s.stopTracing()
	}
	if tt == nil {
		res := s.r.Run(ctx, t)
		s.stamp(&res)
		return res
	}
	var res workermsg.Result
	tr, err := tt.Call(ctx, func(ctx context.Context) (time.Time, time.Time) {
		res = s.r.Run(ctx, t)
		return time.Unix(0, res.Start), time.Unix(0, res.End)
	})
	// A kept trace goes with the result that asks for it; else away.
	if kept := tt.Kept(); t.KeepTrace {
		res.Trace, res.Tracer = kept, tt.ID()
	}
	s.mu.Lock()
	s.busy, s.used = false, time.Now()
	s.mu.Unlock()
	if err != nil {
		slog.Debug("workerserve: no states for the task", "index", t.Index, "err", err)
		s.stopTracing()
	} else {
		res.Traced = true
		for _, sp := range tr.States {
			res.States = append(res.States, workermsg.Span{State: sp.State, Kind: sp.Kind, Start: res.Start + int64(sp.Start), End: res.Start + int64(sp.End)})
		}
		res.States = coarsen(res.States, maxStateSpans)
		for _, sp := range tr.Runtime {
			res.Runtime = append(res.Runtime, workermsg.RuntimeSpan{Kind: sp.Kind, Reason: sp.Reason, Start: res.Start + int64(sp.Start), End: res.Start + int64(sp.End)})
		}
	}
	s.stamp(&res)
	return res
}

// stamp puts the times of res, read on the machine's clock, on the
// worker's.
func (s *server) stamp(res *workermsg.Result) {
	if s.skew == 0 {
		return
	}
	d := int64(s.skew)
	res.Start += d
	res.End += d
	for k := range res.States {
		res.States[k].Start += d
		res.States[k].End += d
	}
	for k := range res.Runtime {
		res.Runtime[k].Start += d
		res.Runtime[k].End += d
	}
}

// stampLoad puts a load's start and end, read on the machine's clock, on
// the worker's; 0 (no load) stays 0.
func (s *server) stampLoad(start, end int64) (int64, int64) {
	if end == 0 {
		return 0, 0
	}
	return start + int64(s.skew), end + int64(s.skew)
}

// startTracing returns the running tracer, started if it was not (or
// started anew to keep its trace, when keep asks and it does not), and
// marks it busy for a task about to run under it (or, for a tracer
// started ahead of the tasks, used now); nil when the execution tracer
// is busy with another trace.
func (s *server) startTracing(task, keep bool) *models.TaskTracer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tracer != nil && keep && !s.keeps {
		s.tracer.Close()
		s.tracer = nil
	}
	if s.tracer == nil {
		tt, err := models.StartTaskTracer(keep)
		if err != nil {
			slog.Debug("workerserve: tasks run without states", "err", err)
			return nil
		}
		s.tracer, s.keeps = tt, keep
	}
	if task {
		s.busy = true
	} else {
		s.used = time.Now()
	}
	return s.tracer
}

// traceAhead starts the tracer ahead of the tasks that will ask for it
// (keeping its trace, when they will ask for it), so that starting it
// (milliseconds: it stops the world) counts as the worker's start-up
// rather than delaying its first task.
func (s *server) traceAhead(keep bool) { s.startTracing(false, keep) }

// stopTracing stops the tracer, if it runs: a task that does not ask for
// its states, a model run or race check (which trace by themselves), the
// end of serving.
func (s *server) stopTracing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tracer != nil {
		s.tracer.Close()
		s.tracer = nil
	}
}

// stopIdleTracing stops the tracer once no task used it for idleTrace,
// checking every second until ctx is done.
func (s *server) stopIdleTracing(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		if s.tracer != nil && !s.busy && time.Since(s.used) > idleTrace {
			s.tracer.Close()
			s.tracer = nil
		}
		s.mu.Unlock()
	}
}

// serve runs the server's background work (stopping an idle tracer)
// until the returned function is called, which waits for it and stops
// the tracer.
func (s *server) serve() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.stopIdleTracing(ctx) })
	return func() {
		cancel()
		wg.Wait()
		s.stopTracing()
	}
}
