package models

import (
	"context"
	"fmt"
	"strings"
	"time"
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
}

// Options tune one run.
type Options struct {
	// Workers is the number of workers (coroutines for eventloop, threads
	// for gil and threads); 0 means the model's default. Sequential
	// always uses one.
	Workers int
	// Trace records each task's states (running, waiting, blocked) from
	// the Go execution tracer. If the tracer is already in use, the run
	// goes on without states and Report.Traced is false.
	Trace bool
	// Progress, if set, is called after each finished task with the
	// number of tasks done so far. Calls are never concurrent; a slow
	// Progress slows the run.
	Progress func(model string, done, total int)
}

// Report is what happened in one run.
type Report struct {
	Model   string        `json:"model"`
	Task    string        `json:"task,omitempty"` // Task.Name
	Workers int           `json:"workers"`        // workers that were started: the pool size, at most N
	Wall    time.Duration `json:"wall_ns"`        // from the first task's hand-out to the last task's end
	CPU     time.Duration `json:"cpu_ns"`         // process user+sys CPU time over the run (getrusage); 0 where unknown
	// Tasks has one record per task that started, ordered by index. After
	// a complete run it holds every index exactly once.
	Tasks []TaskRecord `json:"tasks"`
	// Err is the run's failure (for example "stopped after 3 of 10
	// tasks: context canceled"), "" if it ran to the end. A task's own
	// failure is in its TaskRecord, not here.
	Err     string `json:"err,omitempty"`
	MSU     string `json:"msu"`     // the model's minimum schedulable unit, one line
	Sharing string `json:"sharing"` // how the model's tasks share the notebook's state, one line
	// Parallel tells whether tasks may run on several cores at once.
	Parallel bool `json:"parallel"`
	// Traced tells whether the TaskRecords carry States.
	Traced bool `json:"traced"`
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
	// execution tracer (only when Report.Traced): consecutive spans in
	// time order, adjacent spans of one state merged, slivers under a
	// microsecond dropped (so small gaps may remain).
	States []Span `json:"states,omitempty"`
}

// The states a task can be in; see Span.
const (
	Running = "running" // on a CPU
	Waiting = "waiting" // runnable: waiting for the event loop, the lock or a CPU
	Blocked = "blocked" // at an await point (Sleep, Await) or another blocking call
)

// Span is a stretch of time a task spent in one state.
type Span struct {
	State string        `json:"state"` // Running, Waiting or Blocked
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
// Runs in one process are serialized (they change process-wide settings):
// Run waits for another model's run to finish, or for ctx. So a task must
// not start a run of its own.
type Model interface {
	Name() string
	Run(ctx context.Context, t Task, opt Options) (Report, error)
}

var (
	_ Model = Sequential{}
	_ Model = EventLoop{}
	_ Model = GIL{}
	_ Model = Threads{}
)

// all lists the models in the order reports show them.
var all = []Model{Sequential{}, EventLoop{}, GIL{}, Threads{}}

// Names returns the names of the models, baseline first.
func Names() []string {
	names := make([]string, len(all))
	for i, m := range all {
		names[i] = m.Name()
	}
	return names
}

// ByName returns the model called name (see Names).
func ByName(name string) (Model, error) {
	for _, m := range all {
		if m.Name() == name {
			return m, nil
		}
	}
	return nil, fmt.Errorf("unknown concurrency model %q (the models are %s)", name, strings.Join(Names(), ", "))
}
