package models

import (
	"errors"
	"fmt"
	"slices"
)

// Traits say what a model is, in the terms of the talk atonce grows from.
// Everything that shows a run — the table, the charts, the data-sharing
// diagnostics, the race check, the usage text — reads a model's traits,
// never its name, so a new model is one file and one registration
// ([Register]).
//
// A Report carries the traits of the model that made it, so code that
// only has reports (charts, diagnostics) reads them there.
type Traits struct {
	// Name is the model's name in magics and reports, e.g. "eventloop".
	Name string `json:"name"`
	// StandsFor is what the model stands for in Python's world, e.g.
	// "asyncio coroutines"; shown in usage text.
	StandsFor string `json:"stands_for,omitempty"`
	// Baseline marks the model every other is compared with (sequential):
	// speedups are against its wall time, lost updates against its values.
	// At most one registered model is the baseline.
	Baseline bool `json:"baseline,omitempty"`
	// Placement is where the tasks run: in the process that holds the
	// notebook, or in worker processes of their own.
	Placement Placement `json:"placement"`
	// Isolation is how the tasks see the notebook's state.
	Isolation Isolation `json:"isolation"`
	// Switching is when one task may give way to another.
	Switching Switching `json:"switching"`
	// Noun and Nouns are what the model calls one of its workers and
	// several: "loop", "coroutine", "thread", "goroutine", "process",
	// "worker" (the chart's rows, "4 threads").
	Noun  string `json:"noun"`
	Nouns string `json:"nouns"`
	// DefaultWorkers says in words how many workers a run starts when
	// Options.Workers is 0, e.g. "one per CPU"; shown in usage text.
	DefaultWorkers string `json:"default_workers,omitempty"`
	// MSU is the model's minimum schedulable unit, in words: how much code
	// runs before another task may run.
	MSU string `json:"msu"`
	// Sharing says in one line how tasks share the notebook's state.
	Sharing string `json:"sharing"`
	// Parallel tells whether tasks may run on several cores at once.
	Parallel bool `json:"parallel"`
	// Hosts tells whether workers may run on other machines: the model
	// runs on a Cluster (Remote.Cluster), and its workers' rows are
	// labelled with their host.
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

// The values of each kind in the talk's order: from running where the
// notebook is to running elsewhere, from sharing everything to sharing
// nothing, from never switching to running at once. Names orders the
// models by them.
var (
	placements = []Placement{InEngine, InWorkers}
	isolations = []Isolation{Shared, CopyAtStart, Nothing}
	switchings = []Switching{WholeTask, AtAwaits, Preempted, Simultaneous}
)

// OneAtATime tells whether at most one task of the model runs at any
// moment.
func (t Traits) OneAtATime() bool { return t.Switching != Simultaneous }

// Interleaves tells whether the tasks of one run may interleave in the
// process that holds the notebook, so that they can race on its
// variables: the models a race-detector run checks.
func (t Traits) Interleaves() bool { return t.Placement == InEngine && t.Switching != WholeTask }

// Check tells what is missing or unknown in t, nil if nothing: a model's
// traits must name it, place it, say how it isolates state and switches
// tasks, name its workers and say its MSU and sharing in words.
func (t Traits) Check() error {
	var errs []error
	need := func(what, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("no %s", what))
		}
	}
	need("name", t.Name)
	need("noun for one worker", t.Noun)
	need("noun for several workers", t.Nouns)
	need("MSU", t.MSU)
	need("sharing", t.Sharing)
	if !slices.Contains(placements, t.Placement) {
		errs = append(errs, fmt.Errorf("placement %q is not one of %q", t.Placement, placements))
	}
	if !slices.Contains(isolations, t.Isolation) {
		errs = append(errs, fmt.Errorf("isolation %q is not one of %q", t.Isolation, isolations))
	}
	if !slices.Contains(switchings, t.Switching) {
		errs = append(errs, fmt.Errorf("switching %q is not one of %q", t.Switching, switchings))
	}
	if t.Hosts && t.Placement != InWorkers {
		errs = append(errs, fmt.Errorf("workers on other machines (hosts) need placement %q", InWorkers))
	}
	if t.Parallel == t.OneAtATime() {
		errs = append(errs, fmt.Errorf("parallel is %v but switching is %q", t.Parallel, t.Switching))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the traits of model %q: %w", t.Name, err)
	}
	return nil
}

// talkOrder compares two models' traits in the talk's order (see
// placements): the baseline first, then by placement, isolation and
// switching.
func talkOrder(a, b Traits) int {
	rank := func(t Traits) [4]int {
		base := 1
		if t.Baseline {
			base = 0
		}
		return [4]int{base, slices.Index(placements, t.Placement), slices.Index(isolations, t.Isolation), slices.Index(switchings, t.Switching)}
	}
	ra, rb := rank(a), rank(b)
	for i := range ra {
		if ra[i] != rb[i] {
			return ra[i] - rb[i]
		}
	}
	return 0
}
