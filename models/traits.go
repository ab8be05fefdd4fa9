package models

// Traits say what a model is, in the terms of the talk atonce grows from.
// Everything that shows a run — the table, the charts, the data-sharing
// diagnostics, the race check, the usage text — reads a model's traits,
// never its name, so a new model is one file and one registration.
//
// A Report carries the traits of the model that made it, so code that
// only has reports (charts, diagnostics) reads them there.
type Traits struct {
	// Name is the model's name in magics and reports, e.g. "eventloop".
	Name string `json:"-"`
	// StandsFor is what the model stands for in Python's world, e.g.
	// "asyncio coroutines"; shown in usage text and tables.
	StandsFor string `json:"stands_for,omitempty"`
	// Baseline marks the model every other is compared with (sequential):
	// speedups are against its wall time, lost updates against its values.
	Baseline bool `json:"baseline,omitempty"`
	// Placement is where the tasks run: in the process that holds the
	// notebook, or in worker processes of their own.
	Placement Placement `json:"placement"`
	// Isolation is how the tasks see the notebook's state.
	Isolation Isolation `json:"isolation"`
	// Switching is when one task may give way to another.
	Switching Switching `json:"switching"`
	// Worker and Workers are what the model calls one of its workers and
	// several: "loop", "coroutine", "thread", "goroutine", "process",
	// "worker".
	Worker  string `json:"worker"`
	Workers string `json:"workers"`
	// MSU is the model's minimum schedulable unit, in words: how much code
	// runs before another task may run.
	MSU string `json:"msu"`
	// Sharing says in one line how tasks share the notebook's state.
	Sharing string `json:"sharing"`
	// Parallel tells whether tasks may run on several cores at once.
	Parallel bool `json:"parallel"`
	// Hosts tells whether workers may run on other machines, so their rows
	// are labelled with their host.
	Hosts bool `json:"hosts,omitempty"`
}

// Placement is where a model runs its tasks.
type Placement string

const (
	// InEngine models call Task.Call in the process that holds the notebook.
	InEngine Placement = "engine"
	// InWorkers models run Task.Remote in worker processes that rebuild the
	// notebook's state.
	InWorkers Placement = "workers"
)

// Isolation is how a model's tasks see the notebook's state.
type Isolation string

const (
	// Shared: the tasks read and write the notebook's own variables.
	Shared Isolation = "shared"
	// CopyAtStart: each worker starts from a copy of the notebook's state
	// and its changes stay its own (multiprocessing's spawn).
	CopyAtStart Isolation = "copy"
	// Nothing: workers share nothing with the notebook but what a task is
	// sent and returns.
	Nothing Isolation = "nothing"
)

// Switching is when a model lets another task run.
type Switching string

const (
	// WholeTask: a task runs to its end before the next starts.
	WholeTask Switching = "whole task"
	// AtAwaits: one task runs; it gives way only at an await point
	// (cooperative, like asyncio).
	AtAwaits Switching = "at awaits"
	// Preempted: one task runs at a time and is switched on a timer or at
	// a blocking call (like threads behind a GIL).
	Preempted Switching = "preempted"
	// Simultaneous: tasks run at the same time on several cores.
	Simultaneous Switching = "simultaneous"
)

// OneAtATime tells whether at most one task of the model runs at any
// moment.
func (t Traits) OneAtATime() bool { return t.Switching != Simultaneous }
