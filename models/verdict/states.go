package verdict

import (
	"slices"
	"strings"
	"time"

	"atonce/models"
)

// category is what a traced state says about a task's time, for the
// verdict: on a CPU, ready but waiting for one (or for the loop, the
// lock), or blocked — at an await, on a lock or a channel, or blocked
// without saying on what.
type category int

const (
	catRunning category = iota // on a CPU, the task's own work (GC assists too)
	catWaiting                 // runnable: waiting for a CPU, the event loop or the GIL
	catAwait                   // blocked at an await: a sleep, I/O, a system call
	catLock                    // blocked on a mutex or another lock
	catChannel                 // blocked on a channel or a select
	catBlocked                 // blocked, on what the state does not say
	catOther                   // a state this package does not know
	numCategories
)

// categoryOf maps a traced state's name to its category. It reads the
// names models.Span uses (running, waiting, blocked) and the finer names
// of the execution trace's vocabulary ("waiting for a CPU", "blocked on a
// mutex", "syscall", "GC assist", ...), so finer states refine what the
// verdict can say without changing it.
func categoryOf(state string) category {
	s := strings.ToLower(state)
	on := strings.TrimPrefix(s, "blocked") // "blocked" itself names no lock
	switch {
	case s == models.Running, strings.HasPrefix(s, "running"),
		!strings.HasPrefix(s, "blocked") && (strings.Contains(s, "gc") || strings.Contains(s, "assist")):
		return catRunning
	case strings.HasPrefix(s, "waiting"), strings.Contains(s, "runnable"):
		return catWaiting
	case strings.Contains(on, "mutex"), strings.Contains(on, "lock"), strings.Contains(on, "cond"):
		return catLock
	case strings.Contains(on, "chan"), strings.Contains(on, "select"):
		return catChannel
	case strings.Contains(on, "sleep"), strings.Contains(on, "await"), strings.Contains(on, "syscall"),
		strings.Contains(on, "i/o"), strings.Contains(on, "network"):
		return catAwait
	case strings.HasPrefix(s, "blocked"):
		return catBlocked
	}
	return catOther
}

// stateName is what the verdict reads of a span's state: its name. When
// spans say more of their state (what a task waited for or was blocked
// on), this is where to read it, as a name categoryOf knows ("waiting
// for the GIL", "blocked on a mutex (sync)").
func stateName(sp models.Span) string { return sp.State }

// shares is where the tasks of one run spent their time, as fractions of
// the sum of their durations (Start to End), by category; tasks is how
// many tasks had states.
type shares struct {
	of    [numCategories]float64
	tasks int
	total time.Duration // the tasks' durations summed
}

// sharesOf sums the states of r's tasks; ok is false when r carries no
// states (untraced, or no task ran).
func sharesOf(r models.Report) (sh shares, ok bool) {
	var in [numCategories]time.Duration
	for _, t := range r.Tasks {
		if len(t.States) == 0 || t.End <= t.Start {
			continue
		}
		sh.tasks++
		sh.total += t.End - t.Start
		for _, sp := range t.States {
			a, b := max(sp.Start, t.Start), min(sp.End, t.End)
			if b > a {
				in[categoryOf(stateName(sp))] += b - a
			}
		}
	}
	if sh.tasks == 0 || sh.total <= 0 {
		return shares{}, false
	}
	for c := range in {
		sh.of[c] = float64(in[c]) / float64(sh.total)
	}
	return sh, true
}

// running is the share on a CPU.
func (s shares) running() float64 { return s.of[catRunning] }

// waiting is the share ready to run but waiting for a CPU, the loop or
// the lock.
func (s shares) waiting() float64 { return s.of[catWaiting] }

// blocked is the share blocked on anything.
func (s shares) blocked() float64 {
	return s.of[catAwait] + s.of[catLock] + s.of[catChannel] + s.of[catBlocked]
}

// onEachOther is the share blocked on a lock or a channel: on other
// tasks, when the trace names it.
func (s shares) onEachOther() float64 { return s.of[catLock] + s.of[catChannel] }

// medianTask is the median duration of r's tasks that ran without error.
func medianTask(r models.Report) time.Duration {
	var ds []time.Duration
	for _, t := range r.Tasks {
		if t.Err == "" && t.End > t.Start {
			ds = append(ds, t.End-t.Start)
		}
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)-1)/2]
}
