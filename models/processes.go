package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"atonce/internal/crash"
	"atonce/models/workermsg"
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
	rep := s.report(t)
	fail := func(err error) (Report, error) {
		rep.Err = err.Error()
		return rep, err
	}
	if err := checkRemote(s, t, opt); err != nil {
		return fail(err)
	}
	if len(t.Remote.Command) == 0 {
		return fail(fmt.Errorf("%s: no command to start a worker process", s.Name))
	}
	workers := s.workerCount(t.N, opt)
	rep.Workers = workers

	release, err := s.acquire(ctx)
	if err != nil {
		return fail(err)
	}
	defer release()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &procPool{
		task:     t,
		opt:      opt,
		ctx:      runCtx,
		pending:  make(chan int, t.N),
		allDone:  make(chan struct{}),
		recs:     make([]TaskRecord, t.N),
		started:  make([]bool, t.N),
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
	cpu0, busy0 := cpuTime(), machineBusy()
	p.start = time.Now()
	for range workers {
		p.spawn()
	}
	// Stop every worker at once when the run is interrupted.
	go func() {
		select {
		case <-runCtx.Done():
			p.killAll()
		case <-p.allDone:
		}
	}()
	p.wg.Wait()
	rep.Wall = time.Since(p.start)
	rep.CPU = cpuTime() - cpu0 + p.childCPU
	rep.OtherCPU = otherCPU(busy0, rep.CPU)

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.pool {
		rep.Pool = append(rep.Pool, *w)
		rep.Startup = max(rep.Startup, w.Ready)
	}
	for i, ok := range p.started {
		if ok {
			rec := p.recs[i]
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
	ctx   context.Context
	start time.Time
	wg    sync.WaitGroup

	pending chan int      // task indexes waiting for a worker
	allDone chan struct{} // closed when every task finished or failed

	mu       sync.Mutex
	pool     []*WorkerRecord
	procs    []*workerProc
	recs     []TaskRecord
	started  []bool
	attempts []int
	notes    [][]string
	finished int
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
	wp, err := startWorker(r.Command, nil, func(o workermsg.Output) {
		if r.Output != nil {
			r.Output(rec.Worker, o)
		}
	})
	if err != nil {
		p.startFailed(fmt.Errorf("starting %s: %w", who, err))
		return
	}
	p.mu.Lock()
	p.procs = append(p.procs, wp)
	p.mu.Unlock()
	if p.ctx.Err() != nil {
		wp.kill()
	}
	defer func() {
		wp.stop()
		p.mu.Lock()
		p.childCPU += wp.cpu()
		p.mu.Unlock()
	}()

	hello, err := wp.hello()
	if err != nil {
		p.workerDied(rec, wp, err, -1)
		return
	}
	if hello.Version != r.State.Version {
		p.startFailed(fmt.Errorf("%s is atonce %s but the kernel is atonce %s: workers must run the kernel's own binary", who, hello.Version, r.State.Version))
		return
	}
	p.mu.Lock()
	rec.Host, rec.PID, rec.CPUs = hello.Host, hello.PID, hello.CPUs
	p.mu.Unlock()
	ready, err := wp.load(r.State)
	if err != nil {
		p.workerDied(rec, wp, err, -1)
		return
	}
	if ready.Err != "" {
		p.startFailed(fmt.Errorf("%s could not rebuild the notebook: %s", who, ready.Err))
		return
	}
	for _, note := range ready.Notes {
		slog.Debug("processes: worker replay", "worker", rec.Worker, "note", note)
	}
	p.mu.Lock()
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
		p.mu.Unlock()
		task := workermsg.Task{ID: fmt.Sprintf("%d.%d", i, p.attempts[i]), StateKey: r.State.Key, Func: r.Func, Index: i, Watch: r.Watch}
		res, in, out, err := wp.run(task)
		if err != nil {
			p.workerDied(rec, wp, err, i)
			return
		}
		tr := remoteRecord(res, rec.Worker, p.start)
		tr.Queued, tr.BytesIn, tr.BytesOut = queued, in, out
		p.finish(i, tr, res)
		p.mu.Lock()
		mergeGlobals(rec, res.Globals)
		p.mu.Unlock()
	}
}

// finish records task i's outcome.
func (p *procPool) finish(i int, rec TaskRecord, res workermsg.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs[i] = rec
	p.finished++
	if p.opt.Progress != nil {
		p.opt.Progress(processesSpec.Name, p.finished, p.task.N)
	}
	if p.finished == p.task.N {
		close(p.allDone)
	}
}

// workerDied handles a worker that died or broke its pipe, while running
// task i (or before any task when i < 0): the task goes back to the queue
// unless it has killed maxAttempts workers, and another worker starts.
func (p *procPool) workerDied(rec *WorkerRecord, wp *workerProc, cause error, i int) {
	if p.ctx.Err() != nil {
		return // interrupted: the workers were killed on purpose
	}
	reason := wp.explain(fmt.Sprintf("worker %d", rec.Worker), cause)
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
	p.killAll()
}

func (p *procPool) remaining() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.task.N - p.finished
}

func (p *procPool) killAll() {
	p.mu.Lock()
	procs := append([]*workerProc(nil), p.procs...)
	p.mu.Unlock()
	for _, wp := range procs {
		wp.kill()
	}
}

// workerProc is one running `atonce worker -pipe` process.
type workerProc struct {
	cmd    *exec.Cmd
	conn   *workermsg.Conn
	reqW   io.Closer
	output func(workermsg.Output)
	stderr crash.Recorder
	exited chan struct{} // closed once the process was waited for
	err    error         // its exit error, after exited
}

// startWorker starts command with the worker's pipes on fds 3 and 4.
// env, if not nil, is the worker's whole environment.
func startWorker(command, env []string, output func(workermsg.Output)) (*workerProc, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.ExtraFiles = []*os.File{reqR, evW}
	cmd.Env = env
	setWorkerAttr(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		reqR.Close()
		reqW.Close()
		evR.Close()
		evW.Close()
		return nil, err
	}
	reqR.Close()
	evW.Close()
	wp := &workerProc{cmd: cmd, conn: workermsg.NewConn(evR, reqW), reqW: reqW, output: output, exited: make(chan struct{})}
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		crash.ReadLines(stderr, wp.stderr.Keep)
	}()
	go func() {
		<-stderrDone
		wp.err = cmd.Wait()
		evR.Close()
		close(wp.exited)
	}()
	return wp, nil
}

// receive returns the next message that is not task output, forwarding
// output on the way, and the bytes it took.
func (wp *workerProc) receive() (workermsg.Message, int, error) {
	for {
		m, n, err := wp.conn.Receive()
		if err != nil {
			return m, n, err
		}
		if m.Kind == workermsg.KindOutput && m.Output != nil {
			if wp.output != nil {
				wp.output(*m.Output)
			}
			continue
		}
		return m, n, nil
	}
}

func (wp *workerProc) hello() (workermsg.Hello, error) {
	m, _, err := wp.receive()
	if err != nil {
		return workermsg.Hello{}, err
	}
	if m.Kind != workermsg.KindHello || m.Hello == nil {
		return workermsg.Hello{}, fmt.Errorf("the worker began with a %q message instead of hello", m.Kind)
	}
	return *m.Hello, nil
}

func (wp *workerProc) load(st workermsg.State) (workermsg.Ready, error) {
	if _, err := wp.conn.Send(workermsg.Message{Kind: workermsg.KindState, State: &st}); err != nil {
		return workermsg.Ready{}, err
	}
	m, _, err := wp.receive()
	if err != nil {
		return workermsg.Ready{}, err
	}
	if m.Kind != workermsg.KindReady || m.Ready == nil {
		return workermsg.Ready{}, fmt.Errorf("the worker answered the notebook state with a %q message", m.Kind)
	}
	return *m.Ready, nil
}

// run sends one task and waits for its result; it returns the bytes sent
// and received.
func (wp *workerProc) run(t workermsg.Task) (res workermsg.Result, in, out int, err error) {
	if in, err = wp.conn.Send(workermsg.Message{Kind: workermsg.KindTask, Task: &t}); err != nil {
		return res, in, 0, err
	}
	m, out, err := wp.receive()
	if err != nil {
		return res, in, out, err
	}
	if m.Kind != workermsg.KindResult || m.Result == nil || m.Result.Index != t.Index {
		return res, in, out, fmt.Errorf("the worker answered task %d with a %q message", t.Index, m.Kind)
	}
	return *m.Result, in, out, nil
}

// explain waits briefly for the worker to exit and says why it died.
func (wp *workerProc) explain(who string, cause error) string {
	select {
	case <-wp.exited:
	case <-time.After(time.Second):
		wp.kill()
		<-wp.exited
		return fmt.Sprintf("%s stopped answering (%v) and was killed", who, cause)
	}
	reason, _ := crash.Explain(who, wp.err, wp.stderr.Lines())
	return reason
}

// stop closes the worker's request pipe, which ends it, and reaps it,
// killing it if it has not exited within a second.
func (wp *workerProc) stop() {
	wp.reqW.Close()
	select {
	case <-wp.exited:
	case <-time.After(time.Second):
		wp.kill()
		<-wp.exited
	}
}

func (wp *workerProc) kill() {
	if wp.cmd.Process != nil {
		_ = wp.cmd.Process.Kill()
	}
}

// cpu returns the user and system CPU time of the exited worker.
func (wp *workerProc) cpu() time.Duration {
	select {
	case <-wp.exited:
	default:
		return 0
	}
	if ps := wp.cmd.ProcessState; ps != nil {
		return ps.UserTime() + ps.SystemTime()
	}
	return 0
}
