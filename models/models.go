package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"atonce/models/stats"
)

// Task is the work a model runs: Call(ctx, i) for every i in 0..N-1.
//
// Call may be called concurrently from several goroutines (the model
// decides). It returns the task's result (any JSON-able value, or nil)
// and an error. A panic inside Call is recovered by the model and
// recorded as that task's error; the other tasks still run. Call should
// return soon after ctx is done; [Sleep] does.
type Task struct {
	Name string // shown in reports and errors, e.g. the notebook function's name
	N    int    // number of calls, >= 0
	Call func(ctx context.Context, i int) (any, error)
	// Remote, for the models that run tasks in other processes
	// (processes, distributed), names the function and carries the
	// notebook's state; the in-process models ignore it, and those
	// models ignore Call.
	Remote *Remote
}

// Options tune one run.
type Options struct {
	// Workers is the number of workers (coroutines for eventloop, threads
	// for gil and threads); 0 means the model's default. Sequential
	// always uses one.
	Workers int
	// Trace records each task's states (running, waiting, blocked, and
	// what for: Span.Kind) from the Go execution tracer: the engine's for
	// the models that run tasks in it, each worker's own for those that
	// run them in workers. If the tracer is already in use, the run goes
	// on without states and Report.Traced is false.
	Trace bool
	// KeepTrace, with Trace, keeps the execution traces themselves in
	// Report.Trace: the process's trace of the run for the models that
	// run tasks in it, each worker's trace for those that run them in
	// workers (which then send it with their results).
	KeepTrace bool
	// Progress, if set, is called after each finished task with the
	// number of tasks done so far. Calls are never concurrent; a slow
	// Progress slows the run.
	Progress func(model string, done, total int)
}

// Report is what happened in one run.
//
// Its JSON has the model's traits under "traits", and, as before traits
// existed, "msu", "sharing" and "parallel" at the top (see MarshalJSON).
type Report struct {
	Model   string        `json:"model"`
	Task    string        `json:"task,omitempty"` // Task.Name
	Workers int           `json:"workers"`        // workers that were started: the pool size, at most N
	Wall    time.Duration `json:"wall_ns"`        // from the first task's hand-out to the last task's end
	CPU     time.Duration `json:"cpu_ns"`         // process user+sys CPU time over the run (getrusage); 0 where unknown
	// OtherCPU is the CPU time other programs on the machine used during
	// the run (Linux: /proc/stat less the run's own); when it is a good
	// part of Wall the run competed for the cores and its times say less.
	OtherCPU time.Duration `json:"other_cpu_ns,omitempty"`
	// Tasks has one record per task that started, ordered by index. After
	// a complete run it holds every index exactly once.
	Tasks []TaskRecord `json:"tasks"`
	// Err is the run's failure (for example "stopped after 3 of 10
	// tasks: context canceled"), "" if it ran to the end. A task's own
	// failure is in its TaskRecord, not here.
	Err string `json:"err,omitempty"`
	// Notes are remarks on a run that ran to the end, in words: what a
	// reader should know about its figures but is no failure (for example
	// a task that ran twice). Tables show them as notes.
	Notes []string `json:"notes,omitempty"`
	// Traits are the traits of the model that made the report: its MSU,
	// Sharing and Parallel, where it runs, how it switches, what it calls
	// its workers.
	Traits `json:"traits"`
	// Traced tells whether the TaskRecords carry States: the run asked
	// (Options.Trace) and the tracer watched every task (but those whose
	// worker died running them, which have none).
	Traced bool `json:"traced"`
	// Pool describes the workers of a model whose tasks run in other
	// processes (processes, distributed), by worker number; empty for the
	// in-process models, whose workers are goroutines.
	Pool []WorkerRecord `json:"pool,omitempty"`
	// Startup is the time from the run's start until the last worker
	// was ready for tasks (spawn and replay of the notebook); it is part
	// of Wall. 0 for in-process models.
	Startup time.Duration `json:"startup_ns,omitempty"`
	// Globals holds, after the run, the notebook's values of the
	// package-level variables the task may read or write, as JSON (a
	// value JSON cannot encode is left out). For processes and
	// distributed this is the notebook's own copy; each worker's copy is
	// in Pool.
	Globals map[string]json.RawMessage `json:"globals,omitempty"`
	// Mode is how the task's code ran: Interpreted (by yaegi, in the
	// engine or its workers) or Native (compiled by the Go toolchain, in
	// processes of its own); "" when whoever made the report did not say.
	Mode Mode `json:"mode,omitempty"`
	// GoVersion is, for a native run, the Go toolchain that compiled the
	// notebook (go1.26.8).
	GoVersion string `json:"go_version,omitempty"`
	// Runtime are the stretches of the run during which the Go runtime
	// collected garbage or stopped the world, read from the same traces
	// as the tasks' States (only when Traced; a worker's are those during
	// its tasks), in time order.
	Runtime []RuntimeSpan `json:"runtime,omitempty"`
	// Trace holds the run's execution traces when the run was asked to
	// keep them (Options.KeepTrace); nil otherwise. It is not part of the
	// report's JSON: traces take megabytes.
	Trace *RunTrace `json:"-"`
	// Rounds are the model's runs in a comparison's rounds, in which
	// every model took its turn, in order: each one's wall, CPU and other
	// programs' CPU, and the calibration timed before it. The report's
	// own figures (Wall, CPU, Tasks, ...) are those of its median round,
	// Rounds[MedianRound] (Combine). Empty for a run made alone.
	Rounds      []Round `json:"rounds,omitempty"`
	MedianRound int     `json:"median_round,omitempty"`
	// CPUs is how many processors the run's workers could use (Cores),
	// as the comparison found them; 0 when no one said.
	CPUs int `json:"cpus,omitempty"`
	// Speedup is the speedup over the baseline of the same mode with its
	// 95% interval (SpeedupOf: the median of the rounds' ratios); N is 0
	// when there was no baseline to compare with.
	Speedup stats.Interval `json:"speedup,omitzero"`
}

// MarshalJSON encodes r with its traits under "traits" and, for readers
// of the record from before traits, the model's MSU, sharing and
// parallel at the top as "msu", "sharing" and "parallel".
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // no MarshalJSON method
	return json.Marshal(struct {
		plain
		MSU      string `json:"msu"`
		Sharing  string `json:"sharing"`
		Parallel bool   `json:"parallel"`
	}{plain(r), r.MSU, r.Sharing, r.Parallel})
}

// WorkerLabel names worker k of r as the model calls it (Traits.Noun,
// "worker" without traits): "loop" for the baseline's one worker,
// "thread 2", "process 0", and for a model whose workers may be on other
// machines, "worker 1 (host)". The task stream's rows and the Perfetto
// export's threads are named so.
func (r Report) WorkerLabel(k int) string {
	one := r.Noun
	if one == "" || r.Nouns == "" {
		one = "worker"
	}
	if r.Baseline && max(r.Workers, 1) == 1 {
		return one
	}
	label := fmt.Sprintf("%s %d", one, k)
	for _, w := range r.Pool {
		if w.Worker == k && w.Host != "" && r.Hosts {
			label += " (" + w.Host + ")"
			break
		}
	}
	return label
}

// NewReport is the start of a run's report: the model's name and traits,
// the task's name, no task records yet (an empty list, not null, in JSON).
func NewReport(tr Traits, t Task) Report {
	return Report{Model: tr.Name, Task: t.Name, Traits: tr, Tasks: []TaskRecord{}}
}

// WorkerRecord is one worker of a model that runs tasks in other
// processes.
type WorkerRecord struct {
	Worker int    `json:"worker"`         // the number TaskRecord.Worker refers to
	Host   string `json:"host,omitempty"` // the machine it runs on
	PID    int    `json:"pid,omitempty"`
	CPUs   int    `json:"cpus,omitempty"`
	// Spawn is when the run started this worker (or, for a worker that
	// was already running, when it was asked to load the notebook); Ready
	// is when it had replayed the notebook and could take tasks. Offsets
	// from the run's start.
	Spawn time.Duration `json:"spawn_ns"`
	Ready time.Duration `json:"ready_ns"`
	// ClockOffset is how far the worker's clock was ahead of the
	// engine's, measured when it greeted (NTP-style, see
	// internal/clocksync), give or take ClockUncertainty: every time the
	// worker reported (its tasks' Start, End and States, when it loaded
	// the notebook) was put on the run's clock with it. A worker on this
	// machine shares its clock: its offset is within its uncertainty of
	// zero. Both are 0 when the offset was not measured.
	ClockOffset      time.Duration `json:"clock_offset_ns,omitempty"`
	ClockUncertainty time.Duration `json:"clock_uncertainty_ns,omitempty"`
	// Exit says how the worker ended if it died during the run, e.g.
	// "killed by signal 9"; "" if it lived.
	Exit string `json:"exit,omitempty"`
	// Globals are the final values, in this worker's own copy of the
	// notebook, of the package-level variables its tasks changed.
	Globals map[string]json.RawMessage `json:"globals,omitempty"`
}

// TaskRecord is what happened to one task.
type TaskRecord struct {
	Index  int           `json:"index"`
	Worker int           `json:"worker"`   // 0..Report.Workers-1
	Start  time.Duration `json:"start_ns"` // offsets from the run's start
	End    time.Duration `json:"end_ns"`
	Result any           `json:"result,omitempty"`
	Err    string        `json:"err,omitempty"` // the error Call returned, or the panic it raised
	// States is the task's timeline between Start and End, from the
	// execution tracer (only when Report.Traced; in a worker process, its
	// own tracer's): consecutive spans in time order, adjacent spans of
	// one state merged, slivers under a microsecond dropped (so small
	// gaps may remain).
	States []Span `json:"states,omitempty"`
	// Queued is when the task was handed to a worker in another process
	// (sent down its pipe or published); Start and End are then when the
	// worker began and finished it, on the run's clock. 0 in process.
	Queued time.Duration `json:"queued_ns,omitempty"`
	// BytesIn and BytesOut are the sizes of the task's message to the
	// worker and of the result message back.
	BytesIn  int `json:"bytes_in,omitempty"`
	BytesOut int `json:"bytes_out,omitempty"`
	// Attempts is how many times the task was handed out (more than 1
	// when a worker died running it); Note says why, in words.
	Attempts int    `json:"attempts,omitempty"`
	Note     string `json:"note,omitempty"`
}

// The states a task can be in; see Span. Span.Kind says what a task
// waited for or was blocked on.
const (
	Running = "running" // on a CPU
	Waiting = "waiting" // runnable: waiting for the event loop, the lock or a CPU
	Blocked = "blocked" // at an await point (Sleep, Await) or another blocking call
)

// Span is a stretch of time a task spent in one state.
type Span struct {
	State string `json:"state"` // Running, Waiting or Blocked
	// Kind says more of the state, as Go's execution tracer tells it: for
	// Running, "" or KindGCAssist; for Waiting, KindCPU, KindGIL or
	// KindLoop; for Blocked, KindAwait, KindMutex, KindChannel,
	// KindSelect, KindSyscall, KindSleep, KindIO, KindGC or KindOther.
	// "" in reports made before kinds existed. StateLabel names a span.
	Kind  string        `json:"kind,omitempty"`
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
}

// A Model runs a Task under one concurrency strategy.
//
// Run calls t.Call for every index unless ctx is done first, and returns
// when all started calls have returned; it leaks no goroutines. It fills
// the Report even on error (a partial report for partial charts). The
// error is non-nil only when the run itself failed: ctx was done before
// every task ran, or the task is malformed. A task's error or panic is
// recorded in its TaskRecord and is not an error of Run.
//
// Name returns Traits().Name, and the Report carries Traits() and Name()
// as its Traits and Model.
//
// Runs in one process are serialized (they change process-wide settings):
// Run waits for another model's run to finish, or for ctx. So a task must
// not start a run of its own.
type Model interface {
	Name() string
	Traits() Traits
	Run(ctx context.Context, t Task, opt Options) (Report, error)
}

// registry holds the registered models, in the order they registered.
var registry struct {
	sync.Mutex
	models []Model
}

// Register makes m available by name (ByName, Names) to the magics and
// everything that shows a run. It is meant for a model's init function:
// it panics, as a program's own mistake, when m's traits are incomplete
// (Traits.Check), when Name() is not Traits().Name, when a model of that
// name is already registered, or when m is a second baseline.
func Register(m Model) {
	t := m.Traits()
	if err := t.Check(); err != nil {
		panic("models.Register: " + err.Error())
	}
	if m.Name() != t.Name {
		panic(fmt.Sprintf("models.Register: the model's Name() is %q but its traits say %q", m.Name(), t.Name))
	}
	registry.Lock()
	defer registry.Unlock()
	for _, old := range registry.models {
		switch {
		case old.Name() == t.Name:
			panic(fmt.Sprintf("models.Register: a model named %q is already registered", t.Name))
		case t.Baseline && old.Traits().Baseline:
			panic(fmt.Sprintf("models.Register: %q cannot be the baseline: %q already is", t.Name, old.Name()))
		}
	}
	registry.models = append(registry.models, m)
}

// registered returns the registered models in the order reports show
// them: the baseline first, then in the talk's order — in the engine
// before in workers, most shared state first, fewest switches first —
// and models alike in all of these in the order they registered.
func registered() []Model {
	registry.Lock()
	ms := slices.Clone(registry.models)
	registry.Unlock()
	slices.SortStableFunc(ms, func(a, b Model) int { return talkOrder(a.Traits(), b.Traits()) })
	return ms
}

// Names returns the names of the registered models, baseline first, in
// the order reports show them.
func Names() []string { return NamesWith(nil) }

// NamesWith returns, in the order of Names, the names of the models whose
// traits keep says yes to (every model when keep is nil).
func NamesWith(keep func(Traits) bool) []string {
	var names []string
	for _, m := range registered() {
		if keep == nil || keep(m.Traits()) {
			names = append(names, m.Name())
		}
	}
	return names
}

// InProcessNames returns the names of the models that run tasks in this
// process, on Task.Call, baseline first; the others need Task.Remote.
func InProcessNames() []string {
	return NamesWith(func(t Traits) bool { return t.Placement == InEngine })
}

// BaselineModel returns the model every other is compared with, or false
// when none is registered.
func BaselineModel() (Model, bool) {
	for _, m := range registered() {
		if m.Traits().Baseline {
			return m, true
		}
	}
	return nil, false
}

// TraitsOf returns the traits of the model called name, the zero Traits
// when no model has that name.
func TraitsOf(name string) Traits {
	m, err := ByName(name)
	if err != nil {
		return Traits{}
	}
	return m.Traits()
}

// ByName returns the model called name (see Names).
func ByName(name string) (Model, error) {
	for _, m := range registered() {
		if m.Name() == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("unknown concurrency model %q (the models are %s)", name, strings.Join(Names(), ", "))
}
