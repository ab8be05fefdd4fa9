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

// taskStates is what the trace said of one task: its spans, and the
// anchor their times count from.
type taskStates struct {
	anchor trace.Time // the latest anchor logged before the task began
	spans  []rawSpan
}

// goroutine is what a stateReader tracks of one goroutine.
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

// stateReader turns execution-trace events, one at a time, into each
// task's running/waiting/blocked spans: for each task (found by the
// annotations a run makes, run.go, or a worker's TaskTracer), the states
// of the goroutine that ran it, between its regionRun's begin and end.
// A task's times count from the latest anchor (traceLogAnchor) logged
// before it began. The engine reads a run's whole trace through it
// (parseStates); a worker feeds it the trace as it streams (TaskTracer).
type stateReader struct {
	n        int // task indexes are 0..n-1
	anchor   trace.Time
	anchored bool
	index    map[trace.TaskID]int
	gs       map[trace.GoID]*goroutine
	tasks    map[int]*taskStates
	// ended, if set, is called when task i's regionRun ends: its spans
	// are complete.
	ended func(i int)
}

func newStateReader(n int) *stateReader {
	return &stateReader{n: n, index: map[trace.TaskID]int{}, gs: map[trace.GoID]*goroutine{}, tasks: map[int]*taskStates{}}
}

func (s *stateReader) goroutine(id trace.GoID) *goroutine {
	g := s.gs[id]
	if g == nil {
		g = &goroutine{state: trace.GoRunning, task: -1}
		s.gs[id] = g
	}
	return g
}

// close ends g's current span at t.
func (s *stateReader) close(g *goroutine, t trace.Time) {
	ts := s.tasks[g.task]
	ts.spans = append(ts.spans, rawSpan{g.label, g.since, t})
}

// change ends g's current span if its state's label changed.
func (s *stateReader) change(g *goroutine, t trace.Time) {
	if g.task < 0 {
		return
	}
	if l := g.classify(); l != g.label {
		s.close(g, t)
		g.label, g.since = l, t
	}
}

// event takes the trace's next event.
func (s *stateReader) event(ev trace.Event) {
	t := ev.Time()
	switch ev.Kind() {
	case trace.EventLog:
		l := ev.Log()
		switch l.Category {
		case traceLogAnchor:
			s.anchor, s.anchored = t, true
		case traceLogIndex:
			if i, err := strconv.Atoi(l.Message); err == nil && i >= 0 && i < s.n {
				s.index[l.Task] = i
			}
		}
	case trace.EventRegionBegin, trace.EventRegionEnd:
		g := s.goroutine(ev.Goroutine())
		g.state = trace.GoRunning // it emitted the event
		begin := ev.Kind() == trace.EventRegionBegin
		d := -1
		if begin {
			d = 1
		}
		switch reg := ev.Region(); reg.Type {
		case regionRun:
			i, ok := s.index[reg.Task]
			switch {
			case begin && ok && s.anchored:
				g.task, g.label, g.since, g.await, g.loopWait = i, Running, t, 0, 0
				s.tasks[i] = &taskStates{anchor: s.anchor}
			case !begin && g.task >= 0:
				i := g.task
				s.close(g, t)
				g.task = -1
				delete(s.index, reg.Task)
				if s.ended != nil {
					s.ended(i)
				}
			}
		case regionAwait:
			g.await = max(g.await+d, 0)
			s.change(g, t)
		case regionLoopWait:
			g.loopWait = max(g.loopWait+d, 0)
			s.change(g, t)
		}
	case trace.EventStateTransition:
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			return
		}
		_, to := st.Goroutine()
		id := st.Resource.Goroutine()
		g := s.goroutine(id)
		g.state = to
		s.change(g, t)
		if to == trace.GoNotExist && g.task < 0 {
			delete(s.gs, id) // a worker's reader runs for long: forget the dead
		}
	}
}

// spans returns task i's states as offsets from its anchor, clipped to
// [start, end], slivers dropped and adjacent equal states merged (also
// across a dropped sliver).
func (s *stateReader) spans(i int, start, end time.Duration) []Span {
	ts := s.tasks[i]
	if ts == nil {
		return nil
	}
	var out []Span
	add := func(sp Span) {
		if n := len(out); n > 0 && out[n-1].State == sp.State {
			out[n-1].End = sp.End
			return
		}
		out = append(out, sp)
	}
	for _, r := range ts.spans {
		sp := Span{State: r.state, Start: max(r.start.Sub(ts.anchor), start), End: min(r.end.Sub(ts.anchor), end)}
		if sp.End-sp.Start >= minSpan {
			add(sp)
		}
	}
	return out
}

// parseStates reads a run's whole execution trace, of tasks 0..n-1 whose
// times count from the run's start (its one anchor).
func parseStates(r io.Reader, n int) (*stateReader, error) {
	rd, err := trace.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading the execution trace: %w", err)
	}
	s := newStateReader(n)
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the execution trace: %w", err)
		}
		s.event(ev)
	}
	if !s.anchored {
		return nil, errors.New("the execution trace lacks the run's start")
	}
	return s, nil
}
