package models

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"atonce/internal/cputime"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// Processes runs the tasks in worker processes, like Python's
// multiprocessing with the spawn start method: Options.Workers processes
// (default runtime.NumCPU()), each started from Task.Remote.Command,
// rebuild the notebook by replaying its cells, then take tasks one at a
// time. Arguments and results cross as JSON. A worker that dies running a
// task has the task retried once on another worker (a new one is started
// in its place); a task that kills both is reported failed and the others
// go on. When the run ends or ctx is done every worker is stopped and
// reaped.
type Processes struct{}

var _ Model = Processes{}

func init() { Register(Processes{}) }

var processesSpec = spec{
	Traits: Traits{
		Name:           "processes",
		StandsFor:      "multiprocessing",
		Placement:      InWorkers,
		Isolation:      CopyAtStart,
		Switching:      Simultaneous,
		Noun:           "process",
		Nouns:          "processes",
		DefaultWorkers: "one per CPU",
		MSU:            "machine instruction",
		Sharing:        "each worker starts from a copy of the notebook's state; its changes stay in the worker",
		Parallel:       true,
	},
	workers: func(int) int { return runtime.NumCPU() },
}

// Name returns "processes".
func (Processes) Name() string { return processesSpec.Name }

// Traits returns the processes model's traits: worker processes on this
// machine, each from a copy of the notebook, on all cores.
func (Processes) Traits() Traits { return processesSpec.Traits }

// maxAttempts is how many workers a task may kill before it is reported
// failed.
const maxAttempts = 2

// Run runs t under the processes model; see [Model] for the contract.
func (Processes) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	s := processesSpec
	rep := NewReport(s.Traits, t)
	fail := func(err error) (Report, error) {
		rep.Err = err.Error()
		return rep, err
	}
	if err := CheckRemote(s.Name, t, opt); err != nil {
		return fail(err)
	}
	if len(t.Remote.Command) == 0 {
		return fail(fmt.Errorf("%s: no command to start a worker process", s.Name))
	}
	workers := s.workerCount(t.N, opt)
	rep.Workers = workers

	release, err := AcquireRun(ctx, s.Name)
	if err != nil {
		return fail(err)
	}
	defer release()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &procPool{
		task:     t,
		opt:      opt,
		rep:      &rep,
		ctx:      runCtx,
		workers:  workerpool.New(workerpool.Pipe{Command: t.Remote.Command, State: t.Remote.State, Trace: opt.Trace, KeepTrace: opt.Trace && opt.KeepTrace}),
		pending:  make(chan int, t.N),
		allDone:  make(chan struct{}),
		recs:     make([]TaskRecord, t.N),
		started:  make([]bool, t.N),
		done:     make([]bool, t.N),
		attempts: make([]int, t.N),
		notes:    make([][]string, t.N),
		budget:   workers + t.N, // spawns allowed: one replacement per dead worker
	}
	for i := range t.N {
		p.pending <- i
	}
	if t.N == 0 {
		close(p.allDone)
	}
	cpu0, busy0 := cputime.Self(), cputime.Machine()
	p.start = time.Now()
	// Stop every worker at once when the run is interrupted.
	stopKiller := p.workers.KillOnDone(runCtx)
	for range workers {
		p.spawn()
	}
	p.wg.Wait()
	stopKiller()
	p.workers.Close() // each serve stopped its worker: this only checks
	rep.Wall = time.Since(p.start)
	rep.CPU = cputime.Self() - cpu0 + p.childCPU
	rep.OtherCPU = otherCPU(busy0, rep.CPU)

	p.mu.Lock()
	defer p.mu.Unlock()
	rep.Traced = opt.Trace && p.traced > 0 && p.traced == p.results
	for _, w := range p.pool {
		rep.Pool = append(rep.Pool, *w)
		rep.Startup = max(rep.Startup, w.Ready)
	}
	for i, ok := range p.started {
		if ok {
			rec := p.recs[i]
			if !p.done[i] { // its worker was stopped with the run
				rec.End = rep.Wall
				rec.Err = fmt.Sprintf("task %d was stopped: the run ended before it finished", i)
			}
			rec.Attempts = p.attempts[i]
			rec.Note = strings.Join(p.notes[i], "; ")
			rep.Tasks = append(rep.Tasks, rec)
		}
	}
	if p.finished < t.N {
		err := ctx.Err()
		if err == nil {
			err = p.failure
		}
		if err == nil {
			err = errors.New("the workers stopped")
		}
		return fail(fmt.Errorf("%s: stopped after %d of %d tasks: %w", s.Name, p.finished, t.N, err))
	}
	return rep, nil
}

// procPool is one processes run: its workers and the tasks' records.
type procPool struct {
	task  Task
	opt   Options
	rep   *Report // the run's report, for what results add besides records (under mu)
	ctx   context.Context
	start time.Time
	wg    sync.WaitGroup

	workers *workerpool.Pool
	pending chan int      // task indexes waiting for a worker
	allDone chan struct{} // closed when every task finished or failed

	mu       sync.Mutex
	pool     []*WorkerRecord
	recs     []TaskRecord
	started  []bool
	done     []bool // the task finished (or failed for good)
	attempts []int
	notes    [][]string
	finished int
	results  int           // results the workers sent back
	traced   int           // of which the execution tracer watched
	budget   int           // worker starts left
	failure  error         // why workers could not start, if they could not
	childCPU time.Duration // CPU time of the workers that ended
}

// spawn starts one more worker, if the budget allows.
func (p *procPool) spawn() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.budget == 0 || p.finished == p.task.N {
		return
	}
	p.budget--
	rec := &WorkerRecord{Worker: len(p.pool), Spawn: time.Since(p.start)}
	p.pool = append(p.pool, rec)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.serve(rec)
	}()
}

// serve runs one worker from start to end.
func (p *procPool) serve(rec *WorkerRecord) {
	who := fmt.Sprintf("worker %d", rec.Worker)
	r := p.task.Remote
	w, err := p.workers.Start(p.ctx, workerpool.StartOptions{Name: who, Output: func(o workermsg.Output) {
		if r.Output != nil {
			r.Output(rec.Worker, o)
		}
	}})
	switch {
	case err == nil:
	case p.ctx.Err() != nil: // interrupted: the workers were killed on purpose
		return
	case workerpool.IsRefused(err):
		p.startFailed(err)
		return
	default:
		p.workerDied(rec, err.Error(), -1)
		return
	}
	defer func() {
		w.Stop()
		p.mu.Lock()
		p.childCPU += w.CPU()
		p.mu.Unlock()
	}()
	hello := w.Hello()
	p.mu.Lock()
	rec.Host, rec.PID, rec.CPUs = hello.Host, hello.PID, hello.CPUs
	rec.SetClock(w.Clock())
	rec.Ready = time.Since(p.start)
	p.mu.Unlock()

	for {
		var i int
		select {
		case i = <-p.pending:
		case <-p.allDone:
			return
		case <-p.ctx.Done():
			return
		}
		p.mu.Lock()
		p.attempts[i]++
		p.started[i] = true
		queued := time.Since(p.start)
		p.recs[i] = TaskRecord{Index: i, Worker: rec.Worker, Queued: queued, Start: queued, End: queued}
		p.mu.Unlock()
		task := workermsg.Task{ID: fmt.Sprintf("%d.%d", i, p.attempts[i]), StateKey: r.State.Key, Func: r.Func, Index: i, Watch: r.Watch, Trace: p.opt.Trace, KeepTrace: p.opt.Trace && p.opt.KeepTrace}
		res, in, out, err := runTask(w, task)
		if err != nil {
			if p.ctx.Err() == nil {
				p.workerDied(rec, w.Explain(err), i)
			}
			return
		}
		p.mu.Lock()
		tr := RemoteRecord(res, *rec, p.start)
		p.rep.AddWorkerResult(res, *rec, p.start)
		p.mu.Unlock()
		tr.Queued, tr.BytesIn, tr.BytesOut = queued, in, out
		p.finish(i, tr, res)
		p.mu.Lock()
		rec.AddGlobals(res.Globals)
		p.mu.Unlock()
	}
}

// finish records task i's outcome.
func (p *procPool) finish(i int, rec TaskRecord, res workermsg.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs[i] = rec
	p.done[i] = true
	p.finished++
	p.results++
	if res.Traced {
		p.traced++
	}
	if p.opt.Progress != nil {
		p.opt.Progress(processesSpec.Name, p.finished, p.task.N)
	}
	if p.finished == p.task.N {
		close(p.allDone)
	}
}

// workerDied handles a worker that died or broke its pipe (reason says
// how), while running task i (or before any task when i < 0): the task
// goes back to the queue unless it has killed maxAttempts workers, and
// another worker starts.
func (p *procPool) workerDied(rec *WorkerRecord, reason string, i int) {
	p.mu.Lock()
	rec.Exit = reason
	if i >= 0 {
		p.notes[i] = append(p.notes[i], fmt.Sprintf("worker %d died running it: %s", rec.Worker, reason))
		if p.attempts[i] < maxAttempts {
			p.pending <- i
		} else {
			now := time.Since(p.start)
			p.recs[i] = TaskRecord{Index: i, Worker: rec.Worker, Start: now, End: now,
				Err: fmt.Sprintf("task %d killed every worker that ran it (%d workers): %s", i, p.attempts[i], reason)}
			p.done[i] = true
			p.finished++
			if p.opt.Progress != nil {
				p.opt.Progress(processesSpec.Name, p.finished, p.task.N)
			}
			if p.finished == p.task.N {
				close(p.allDone)
			}
		}
	}
	p.mu.Unlock()
	if p.remaining() > 0 {
		p.spawn()
	}
	if i < 0 {
		p.mu.Lock()
		if p.budget == 0 && p.failure == nil {
			p.failure = fmt.Errorf("no worker could start: %s", reason)
		}
		p.mu.Unlock()
	}
}

// startFailed records a failure that every worker would meet (it cannot
// be started, or cannot rebuild the notebook): the run stops.
func (p *procPool) startFailed(err error) {
	p.mu.Lock()
	if p.failure == nil {
		p.failure = err
	}
	p.budget = 0
	p.mu.Unlock()
	p.workers.KillAll()
}

func (p *procPool) remaining() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.task.N - p.finished
}

// runTask sends one task to w and waits for its result; it returns the
// bytes sent and received.
func runTask(w *workerpool.Worker, t workermsg.Task) (res workermsg.Result, in, out int, err error) {
	if in, err = w.Send(workermsg.Message{Kind: workermsg.KindTask, Task: &t}); err != nil {
		return res, in, 0, err
	}
	m, out, err := w.Receive()
	if err != nil {
		return res, in, out, err
	}
	if m.Kind != workermsg.KindResult || m.Result == nil || m.Result.Index != t.Index {
		return res, in, out, fmt.Errorf("the worker answered task %d with a %q message", t.Index, m.Kind)
	}
	return *m.Result, in, out, nil
}
