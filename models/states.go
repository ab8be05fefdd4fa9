package models

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/exp/trace"
)

// minSpan is the shortest span kept in TaskRecord.States.
const minSpan = time.Microsecond

// rawSpan is a span in trace time.
type rawSpan struct {
	state      string
	start, end trace.Time
}

// timelines holds every task's spans read from one run's trace.
type timelines struct {
	anchor trace.Time // trace time of the run's start
	tasks  map[int][]rawSpan
}

// goroutine is what parseStates tracks of one goroutine.
type goroutine struct {
	state    trace.GoState
	await    int // depth of regionAwait
	loopWait int // depth of regionLoopWait
	task     int // index of the task it runs, -1 if none
	label    string
	since    trace.Time
}

// classify maps a goroutine's state to a Span state. Inside an await
// point the task is blocked until it is ready to go on (runnable: then it
// waits for a CPU, or the lock); the bookkeeping it runs there is not the
// task's work. Waiting for the event loop is waiting, whatever the
// goroutine does meanwhile.
func (g *goroutine) classify() string {
	switch {
	case g.loopWait > 0:
		return Waiting
	case g.await > 0 && g.state == trace.GoRunnable:
		return Waiting
	case g.await > 0:
		return Blocked
	}
	switch g.state {
	case trace.GoRunnable:
		return Waiting
	case trace.GoWaiting, trace.GoSyscall:
		return Blocked
	default:
		return Running
	}
}

// parseStates reads a run's execution trace: for each task (found by the
// annotations run.go makes), the states of the goroutine that ran it,
// between its regionRun's begin and end.
func parseStates(r io.Reader, n int) (*timelines, error) {
	rd, err := trace.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading the execution trace: %w", err)
	}
	tl := &timelines{tasks: make(map[int][]rawSpan)}
	anchored := false
	index := make(map[trace.TaskID]int)
	gs := make(map[trace.GoID]*goroutine)
	get := func(id trace.GoID) *goroutine {
		g := gs[id]
		if g == nil {
			g = &goroutine{state: trace.GoRunning, task: -1}
			gs[id] = g
		}
		return g
	}
	// change ends g's current span if its state's label changed.
	change := func(g *goroutine, t trace.Time) {
		if g.task < 0 {
			return
		}
		if l := g.classify(); l != g.label {
			tl.tasks[g.task] = append(tl.tasks[g.task], rawSpan{g.label, g.since, t})
			g.label, g.since = l, t
		}
	}
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the execution trace: %w", err)
		}
		t := ev.Time()
		switch ev.Kind() {
		case trace.EventLog:
			l := ev.Log()
			switch l.Category {
			case traceLogAnchor:
				if !anchored {
					tl.anchor, anchored = t, true
				}
			case traceLogIndex:
				if i, err := strconv.Atoi(l.Message); err == nil && i >= 0 && i < n {
					index[l.Task] = i
				}
			}
		case trace.EventRegionBegin, trace.EventRegionEnd:
			g := get(ev.Goroutine())
			g.state = trace.GoRunning // it emitted the event
			begin := ev.Kind() == trace.EventRegionBegin
			d := -1
			if begin {
				d = 1
			}
			switch reg := ev.Region(); reg.Type {
			case regionRun:
				i, ok := index[reg.Task]
				switch {
				case begin && ok:
					g.task, g.label, g.since, g.await, g.loopWait = i, Running, t, 0, 0
				case !begin && g.task >= 0:
					tl.tasks[g.task] = append(tl.tasks[g.task], rawSpan{g.label, g.since, t})
					g.task = -1
				}
			case regionAwait:
				g.await = max(g.await+d, 0)
				change(g, t)
			case regionLoopWait:
				g.loopWait = max(g.loopWait+d, 0)
				change(g, t)
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			_, to := st.Goroutine()
			g := get(st.Resource.Goroutine())
			g.state = to
			change(g, t)
		}
	}
	if !anchored {
		return nil, errors.New("the execution trace lacks the run's start")
	}
	return tl, nil
}

// spans returns task i's states as offsets from the run's start, clipped
// to [start, end], slivers dropped and adjacent equal states merged
// (also across a dropped sliver).
func (tl *timelines) spans(i int, start, end time.Duration) []Span {
	var out []Span
	add := func(s Span) {
		if n := len(out); n > 0 && out[n-1].State == s.State {
			out[n-1].End = s.End
			return
		}
		out = append(out, s)
	}
	for _, r := range tl.tasks[i] {
		s := Span{State: r.state, Start: max(r.start.Sub(tl.anchor), start), End: min(r.end.Sub(tl.anchor), end)}
		if s.End-s.Start >= minSpan {
			add(s)
		}
	}
	return out
}
