package models

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// minSpan is the shortest span kept in TaskRecord.States.
const minSpan = time.Microsecond

// rawSpan is a span in trace time.
type rawSpan struct {
	state, kind string
	start, end  trace.Time
}

// taskStates is what the trace said of one task: its spans, and the
// anchor their times count from.
type taskStates struct {
	anchor     trace.Time // the latest anchor logged before the task began
	begin, end trace.Time // its regionRun; end is 0 while it runs
	spans      []rawSpan
}

// goroutine is what a stateReader tracks of one goroutine.
type goroutine struct {
	state    trace.GoState
	reason   string // why it last blocked (a GoWaiting transition's Reason)
	assist   bool   // in a GC mark assist
	await    int    // depth of regionAwait
	loopWait int    // depth of regionLoopWait
	task     int    // index of the task it runs, -1 if none
	label    string // the state of its current span ...
	kind     string // ... and its kind
	since    trace.Time
}

// rawRuntime is a RuntimeSpan in trace time; end is 0 while it lasts.
type rawRuntime struct {
	kind, reason string
	start, end   trace.Time
}

// Names of the execution tracer's ranges the reader follows.
const (
	rangeGCMark   = "GC concurrent mark phase"
	rangeGCAssist = "GC mark assist"
	rangeSTW      = "stop-the-world (" // followed by the reason and ")"
)

// stateReader turns execution-trace events, one at a time, into each
// task's spans of state and kind: for each task (found by the
// annotations a run makes, run.go, or a worker's TaskTracer), the states
// of the goroutine that ran it, between its regionRun's begin and end;
// and the runtime's garbage collections and stops of the world. A task's
// times count from the latest anchor (traceLogAnchor) logged before it
// began. The engine reads a run's whole trace through it (parseStates);
// a worker feeds it the trace as it streams (TaskTracer).
type stateReader struct {
	n        int // task indexes are 0..n-1
	anchor   trace.Time
	anchored bool
	index    map[trace.TaskID]int
	gs       map[trace.GoID]*goroutine
	tasks    map[int]*taskStates
	// oneProc, when set, is what a runnable task waits for while
	// another runs, in a run whose tasks take turns on one processor
	// (oneProcWait): the GIL, or the event loop.
	oneProc string
	// inTask are the goroutines running a task, and running how many of
	// them are on a CPU.
	inTask  map[trace.GoID]*goroutine
	running int
	// The runtime's collections and stops of the world: the one mark
	// phase under way, each goroutine's stop of the world under way, and
	// those over.
	gc      *rawRuntime
	stw     map[trace.GoID]*rawRuntime
	runtime []rawRuntime
	// ended, if set, is called when task i's regionRun ends: its spans
	// are complete.
	ended func(i int)
}

func newStateReader(n int, oneProc string) *stateReader {
	return &stateReader{
		n: n, oneProc: oneProc,
		index: map[trace.TaskID]int{}, gs: map[trace.GoID]*goroutine{}, tasks: map[int]*taskStates{},
		inTask: map[trace.GoID]*goroutine{}, stw: map[trace.GoID]*rawRuntime{},
	}
}

// oneProcWait is what a runnable task of a run of the model spec s waits
// for while another task runs, when its tasks take turns on one
// processor (GOMAXPROCS 1 during the run): the GIL for threads switched
// preemptively (gil: the one processor is the lock), the event loop for
// coroutines (eventloop: the one processor is the loop's thread); "" for
// the others, whose runnable tasks wait for a CPU.
func oneProcWait(s spec) string {
	switch {
	case s.procs != 1:
		return ""
	case s.loop:
		return KindLoop
	case s.Switching == Preempted:
		return KindGIL
	}
	return ""
}

func (s *stateReader) goroutine(id trace.GoID) *goroutine {
	g := s.gs[id]
	if g == nil {
		g = &goroutine{state: trace.GoRunning, task: -1}
		s.gs[id] = g
	}
	return g
}

// classify maps a goroutine's state to a Span's state and kind. Inside
// an await point the task is blocked until it is ready to go on
// (runnable: then it waits for a CPU, or the lock); the bookkeeping it
// runs there is not the task's work. Waiting for the event loop is
// waiting, whatever the goroutine does meanwhile.
func (s *stateReader) classify(g *goroutine) (state, kind string) {
	switch {
	case g.loopWait > 0:
		return Waiting, KindLoop
	case g.await > 0 && g.state == trace.GoRunnable:
		return Waiting, s.waitKind()
	case g.await > 0:
		return Blocked, KindAwait
	}
	switch g.state {
	case trace.GoRunnable:
		return Waiting, s.waitKind()
	case trace.GoSyscall:
		return Blocked, KindSyscall
	case trace.GoWaiting:
		return Blocked, blockKind(g.reason)
	}
	if g.assist {
		return Running, KindGCAssist
	}
	return Running, ""
}

// waitKind is what a runnable task waits for: the GIL or the event loop
// while another task of a run on one processor holds it, else a CPU.
func (s *stateReader) waitKind() string {
	if s.oneProc != "" && s.running > 0 {
		return s.oneProc
	}
	return KindCPU
}

// blockKind maps the tracer's reason for blocking (the runtime's
// traceBlockReason strings) to a kind of Blocked.
func blockKind(reason string) string {
	switch reason {
	case "sync", "sync.(*Cond).Wait":
		return KindMutex
	case "chan send", "chan receive":
		return KindChannel
	case "select":
		return KindSelect
	case "sleep":
		return KindSleep
	case "network":
		return KindIO
	case "GC mark assist wait for work", "wait until GC ends", "GC weak to strong wait", "preempted":
		// preempted: parked so that the collector could scan its stack.
		return KindGC
	}
	return KindOther
}

// close ends g's current span at t.
func (s *stateReader) close(g *goroutine, t trace.Time) {
	ts := s.tasks[g.task]
	ts.spans = append(ts.spans, rawSpan{g.label, g.kind, g.since, t})
}

// change ends g's current span if its state or kind changed.
func (s *stateReader) change(g *goroutine, t trace.Time) {
	if g.task < 0 {
		return
	}
	if l, k := s.classify(g); l != g.label || k != g.kind {
		s.close(g, t)
		g.label, g.kind, g.since = l, k, t
	}
}

// setState records that g is now in state to, and, in a gil run, when
// the number of tasks on a CPU changes, what the runnable tasks wait for.
func (s *stateReader) setState(id trace.GoID, g *goroutine, to trace.GoState, t trace.Time) {
	was := g.task >= 0 && g.state == trace.GoRunning
	g.state = to
	is := g.task >= 0 && g.state == trace.GoRunning
	switch {
	case was && !is:
		s.running--
	case is && !was:
		s.running++
	}
	s.change(g, t)
	if was != is {
		s.rewait(id, t)
	}
}

// rewait, in a run on one processor, looks again at what the runnable
// tasks other than id wait for: the number of tasks on a CPU changed.
func (s *stateReader) rewait(id trace.GoID, t trace.Time) {
	if s.oneProc == "" {
		return
	}
	for oid, o := range s.inTask {
		if oid != id && o.state == trace.GoRunnable {
			s.change(o, t)
		}
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
		id := ev.Goroutine()
		g := s.goroutine(id)
		if g.state != trace.GoRunning { // it emitted the event
			s.setState(id, g, trace.GoRunning, t)
		}
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
				g.task, g.await, g.loopWait = i, 0, 0
				g.label, g.kind = s.classify(g)
				g.since = t
				s.tasks[i] = &taskStates{anchor: s.anchor, begin: t}
				s.inTask[id] = g
				s.running++
				s.rewait(id, t)
			case !begin && g.task >= 0:
				i := g.task
				s.close(g, t)
				s.tasks[i].end = t
				g.task = -1
				delete(s.inTask, id)
				s.running--
				s.rewait(id, t)
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
	case trace.EventRangeBegin, trace.EventRangeActive, trace.EventRangeEnd:
		s.rangeEvent(ev, t)
	case trace.EventStateTransition:
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			return
		}
		_, to := st.Goroutine()
		id := st.Resource.Goroutine()
		g := s.goroutine(id)
		if to == trace.GoWaiting && st.Reason != "" {
			// A goroutine's status at the start of a generation says
			// no reason: it keeps the one it blocked for.
			g.reason = st.Reason
		}
		s.setState(id, g, to, t)
		if to == trace.GoNotExist && g.task < 0 {
			delete(s.gs, id) // a worker's reader runs for long: forget the dead
		}
	}
}

// rangeEvent follows the runtime's ranges: a goroutine's GC mark assist
// (a kind of running), the collector's mark phase and stops of the world
// (Report.Runtime). A range already under way when the trace (or a new
// generation of it) began arrives as active.
func (s *stateReader) rangeEvent(ev trace.Event, t trace.Time) {
	r := ev.Range()
	end := ev.Kind() == trace.EventRangeEnd
	switch {
	case r.Name == rangeGCAssist && r.Scope.Kind == trace.ResourceGoroutine:
		id := r.Scope.Goroutine()
		g := s.goroutine(id)
		g.assist = !end
		s.change(g, t)
	case r.Name == rangeGCMark:
		switch {
		case !end && s.gc == nil:
			s.gc = &rawRuntime{kind: RuntimeGC, start: t}
		case end && s.gc != nil:
			s.gc.end = t
			s.runtime = append(s.runtime, *s.gc)
			s.gc = nil
		}
	case strings.HasPrefix(r.Name, rangeSTW):
		id := ev.Goroutine()
		if r.Scope.Kind == trace.ResourceGoroutine {
			id = r.Scope.Goroutine()
		}
		open := s.stw[id]
		switch {
		case !end && open == nil:
			reason := strings.TrimSuffix(strings.TrimPrefix(r.Name, rangeSTW), ")")
			s.stw[id] = &rawRuntime{kind: RuntimeSTW, reason: reason, start: t}
		case end && open != nil:
			open.end = t
			s.runtime = append(s.runtime, *open)
			delete(s.stw, id)
		}
	}
}

// spans returns task i's states as offsets from its anchor, clipped to
// [start, end], slivers dropped and adjacent spans of one state and kind
// merged (also across a dropped sliver).
func (s *stateReader) spans(i int, start, end time.Duration) []Span {
	ts := s.tasks[i]
	if ts == nil {
		return nil
	}
	var out []Span
	add := func(sp Span) {
		if n := len(out); n > 0 && out[n-1].State == sp.State && out[n-1].Kind == sp.Kind {
			out[n-1].End = sp.End
			return
		}
		out = append(out, sp)
	}
	for _, r := range ts.spans {
		sp := Span{State: r.state, Kind: r.kind, Start: max(r.start.Sub(ts.anchor), start), End: min(r.end.Sub(ts.anchor), end)}
		if sp.End-sp.Start >= minSpan {
			add(sp)
		}
	}
	return out
}

// runtimeSpans returns the collections and stops of the world, those
// over and those under way, as offsets from anchor, clipped to [start,
// end] (those outside it left out), in time order, for worker.
func (s *stateReader) runtimeSpans(anchor trace.Time, start, end time.Duration, worker int) []RuntimeSpan {
	var out []RuntimeSpan
	add := func(r rawRuntime, open bool) {
		sp := RuntimeSpan{Kind: r.kind, Reason: r.reason, Worker: worker, Start: max(r.start.Sub(anchor), start), End: end}
		if !open {
			sp.End = min(r.end.Sub(anchor), end)
		}
		if sp.End > sp.Start {
			out = append(out, sp)
		}
	}
	for _, r := range s.runtime {
		add(r, false)
	}
	// Those still under way (in a worker's reader) reach at least end.
	if s.gc != nil {
		add(*s.gc, true)
	}
	for _, r := range s.stw {
		add(*r, true)
	}
	slices.SortStableFunc(out, func(a, b RuntimeSpan) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// endRuntime ends at t the collection and the stops of the world still
// under way when the trace ended.
func (s *stateReader) endRuntime(t trace.Time) {
	for _, r := range append([]*rawRuntime{s.gc}, slices.Collect(maps.Values(s.stw))...) {
		if r != nil {
			r.end = t
			s.runtime = append(s.runtime, *r)
		}
	}
	s.gc, s.stw = nil, map[trace.GoID]*rawRuntime{}
}

// forgetRuntime drops the collections and stops of the world that ended
// before t: a worker's reader runs for long.
func (s *stateReader) forgetRuntime(t trace.Time) {
	s.runtime = slices.DeleteFunc(s.runtime, func(r rawRuntime) bool { return r.end < t })
}

// parseStates reads a run's whole execution trace, of tasks 0..n-1 whose
// times count from the run's start (its one anchor); oneProc is what a
// runnable task waits for while another runs, in a run on one processor
// (oneProcWait).
func parseStates(r io.Reader, n int, oneProc string) (*stateReader, error) {
	rd, err := trace.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading the execution trace: %w", err)
	}
	s := newStateReader(n, oneProc)
	var last trace.Time
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the execution trace: %w", err)
		}
		s.event(ev)
		last = ev.Time()
	}
	s.endRuntime(last)
	if !s.anchored {
		return nil, errors.New("the execution trace lacks the run's start")
	}
	return s, nil
}
