package models

import (
	"cmp"
	"slices"
	"time"
)

// The kinds of the states (Span.Kind): what a running task did besides
// its own work, what a waiting task waited for, what a blocked task was
// blocked on. They follow the names `go tool trace` and gotraceui give
// the execution tracer's goroutine states and block reasons.
const (
	// KindGCAssist: running, but helping the garbage collector mark (the
	// runtime makes a goroutine that allocates during a collection pay
	// for it); the tracer's "GC mark assist".
	KindGCAssist = "gc assist"

	// KindCPU: runnable, waiting for a processor (all were busy, or the
	// operating system ran something else); the tracer's runnable state,
	// `go tool trace`'s scheduler wait.
	KindCPU = "cpu"
	// KindGIL: runnable in a run of a model that runs one task at a time
	// on one processor switched preemptively (gil: GOMAXPROCS is 1), while
	// another of the run's tasks held that processor: waiting for the
	// global interpreter lock. Runnable while no task held it (the
	// collector or the runtime did) is KindCPU.
	KindGIL = "gil"
	// KindLoop: waiting for the event loop's token (eventloop), whether
	// or not the goroutine is on a CPU meanwhile.
	KindLoop = "loop"

	// KindAwait: at an await point: models.Sleep or Await (the notebook's
	// time.Sleep), whatever the goroutine blocked on inside it.
	KindAwait = "await"
	// KindMutex: blocked in the sync package: a Mutex, RWMutex,
	// WaitGroup or Cond (the tracer's "sync" and "sync.(*Cond).Wait").
	KindMutex = "mutex"
	// KindChannel: blocked sending or receiving on a channel ("chan
	// send", "chan receive").
	KindChannel = "channel"
	// KindSelect: blocked in a select.
	KindSelect = "select"
	// KindSyscall: in a system call (a read of a pipe, a file), which may
	// block in the kernel.
	KindSyscall = "syscall"
	// KindSleep: in time.Sleep outside an await point (the tracer's
	// "sleep").
	KindSleep = "sleep"
	// KindIO: waiting for network or other pollable I/O outside an await
	// point (the tracer's "network").
	KindIO = "io"
	// KindGC: blocked by the garbage collector: waiting for a collection
	// to end (runtime.GC), for mark work to assist with, or suspended
	// while the collector scanned its stack.
	KindGC = "gc"
	// KindOther: blocked for another reason the tracer gives.
	KindOther = "other"
)

// stateOrder is every state and kind in the order tables and legends
// list them: running first, then waiting, then blocked; the kinds as
// the talk meets them. A state without a kind (reports from before
// kinds) comes after its kinds.
var stateOrder = []struct{ state, kind, label string }{
	{Running, "", "running"},
	{Running, KindGCAssist, "GC assist"},
	{Waiting, KindCPU, "waiting for a CPU"},
	{Waiting, KindGIL, "waiting for the GIL"},
	{Waiting, KindLoop, "waiting for the event loop"},
	{Waiting, "", "waiting for the lock or a CPU"},
	{Blocked, KindAwait, "blocked at an await (sleep, I/O)"},
	{Blocked, KindMutex, "blocked on a mutex (sync)"},
	{Blocked, KindChannel, "blocked on a channel"},
	{Blocked, KindSelect, "blocked in a select"},
	{Blocked, KindSyscall, "in a syscall"},
	{Blocked, KindSleep, "sleeping (not at an await)"},
	{Blocked, KindIO, "blocked on I/O (not at an await)"},
	{Blocked, KindGC, "blocked by the GC"},
	{Blocked, KindOther, "blocked (other)"},
	{Blocked, "", "blocked"},
}

// stateRank is the place of (state, kind) in stateOrder; an unknown
// pair goes after the known ones of its state.
func stateRank(state, kind string) int {
	for i, o := range stateOrder {
		if o.state == state && o.kind == kind {
			return i
		}
	}
	for i := len(stateOrder) - 1; i >= 0; i-- {
		if stateOrder[i].state == state {
			return i
		}
	}
	return len(stateOrder)
}

// StateLabel names a span's state and kind in words, as tables, legends
// and exports show it: "running", "waiting for the GIL", "blocked on a
// mutex (sync)", "in a syscall".
func StateLabel(state, kind string) string {
	for _, o := range stateOrder {
		if o.state == state && o.kind == kind {
			return o.label
		}
	}
	if kind == "" {
		return state
	}
	return state + " (" + kind + ")"
}

// Label names the span's state and kind in words; see StateLabel.
func (s Span) Label() string { return StateLabel(s.State, s.Kind) }

// StateTotal is the time a run's tasks spent in one state and kind.
type StateTotal struct {
	State string        `json:"state"`
	Kind  string        `json:"kind,omitempty"`
	Label string        `json:"label"` // StateLabel(State, Kind)
	Time  time.Duration `json:"time_ns"`
}

// StateTotals adds up the time r's tasks spent in each state and kind,
// from their traced States, in the order running, waiting, blocked (and
// within each, the kinds' order); states never seen are left out. It
// returns nil for a run without states.
func StateTotals(r Report) []StateTotal {
	sum := map[[2]string]time.Duration{}
	for _, t := range r.Tasks {
		for _, s := range t.States {
			if s.End > s.Start {
				sum[[2]string{s.State, s.Kind}] += s.End - s.Start
			}
		}
	}
	var out []StateTotal
	for k, d := range sum {
		out = append(out, StateTotal{State: k[0], Kind: k[1], Label: StateLabel(k[0], k[1]), Time: d})
	}
	slices.SortFunc(out, func(a, b StateTotal) int {
		return cmp.Or(cmp.Compare(stateRank(a.State, a.Kind), stateRank(b.State, b.Kind)), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// The kinds of RuntimeSpan.
const (
	// RuntimeGC is the garbage collector's concurrent mark phase: the
	// collector's workers take a quarter of the processors, and tasks
	// that allocate assist it.
	RuntimeGC = "gc"
	// RuntimeSTW is a stop of the world: no goroutine runs.
	RuntimeSTW = "stw"
)

// RuntimeSpan is a stretch of a run during which the Go runtime of a
// process that ran its tasks collected garbage or stopped the world.
type RuntimeSpan struct {
	Kind string `json:"kind"` // RuntimeGC or RuntimeSTW
	// Reason says why the world stopped, as the runtime says it: "GC
	// mark termination", "GC sweep termination", "start trace", ...
	Reason string `json:"reason,omitempty"`
	// Worker is the worker whose process it was, for the models that run
	// tasks in worker processes; -1 for the process that ran the tasks
	// of an in-process model.
	Worker int           `json:"worker"`
	Start  time.Duration `json:"start_ns"` // offsets from the run's start
	End    time.Duration `json:"end_ns"`
}

// Label names the span in words: "GC (mark phase)", "stop-the-world
// (GC mark termination)".
func (s RuntimeSpan) Label() string {
	if s.Kind == RuntimeSTW {
		if s.Reason == "" {
			return "stop-the-world"
		}
		return "stop-the-world (" + s.Reason + ")"
	}
	return "GC (mark phase)"
}

// RunTrace is a run's Go execution traces, kept when the run was asked
// (Options.KeepTrace), each one a trace that `go tool trace` and
// gotraceui open.
type RunTrace struct {
	// Process is the trace of the process that ran the tasks of an
	// in-process model (the engine, or a native program), from before
	// the first task to after the last; nil for the models that run
	// tasks in worker processes.
	Process []byte
	// Workers holds, by worker number, each worker's trace of the run's
	// tasks: one trace per tracer the worker ran (one, unless its tracer
	// was restarted during the run).
	Workers map[int][][]byte
	// tracers are the ids of the tracers that wrote Workers' traces.
	tracers map[int][]int64
}
