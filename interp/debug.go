package interp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"maps"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	"atonce/internal/gosrc"

	"github.com/traefik/yaegi/interp"
)

// How the debugger works (yaegi v0.16.1's interp.Debug underneath):
//
// yaegi debugs only while one of its Debuggers runs a Program, and then
// every function the interpreter enters, from any goroutine, goes
// through it. So the session installs a Debugger running a holder
// program that blocks in the host (DebugHold) until the debugger is
// taken away; cells run as usual meanwhile, as yaegi's goroutine 1 (the
// holder's), and stop at breakpoints. Breakpoints are flags on compiled
// nodes, set program by program (yaegi's walk over all of them trips over
// nodes it never finished compiling): each cell's programs are recorded
// as they compile, under the cell's source (the path the frontend
// computes from the cell's text, DebugOptions.Source), and breakpoints on
// a source are set in every cell that ran with that text, and in the next
// one before it runs.
//
// The debugger is put in place and taken away only between requests
// (Session.DebugPrepare): yaegi's bookkeeping assumes every
// running frame was entered under it, so code that was running when it
// came in fails at its next call, and a goroutine stopped when it goes
// would wait for ever.
//
// yaegi tells goroutines apart only when a go statement calls a named
// function: a closure runs as the goroutine that made it (and a cell's go
// statements are closures, see package rewrite). So the tasks of a model
// whose tasks run at the same time (%%models -models threads) are called
// through a trampoline that starts each call with `go` on a named
// function (DebugFunc): each task is a goroutine of its own.

// DebugOptions configure a debugging session (Debugger.Attach).
type DebugOptions struct {
	// Source names a cell's source from its text: the path the frontend
	// computes for the cell (atonce/internal/cellpath). Required.
	Source func(code string) string
	// Event receives what the debugged code does. It may be called from
	// any goroutine, and must not call the Debugger.
	Event func(DebugEvent)
}

// DebugEvent is something the debugged code did.
type DebugEvent struct {
	// Kind is "stopped", "continued" or "thread".
	Kind string
	// Thread is the goroutine, as yaegi numbers them from 1.
	Thread int
	// Reason: for "stopped", "breakpoint", "step", "pause" or "entry";
	// for "thread", "started" or "exited".
	Reason string
}

// Thread is a goroutine of the debugged code.
type Thread struct {
	ID   int
	Name string
}

// Breakpoint is a line breakpoint as set.
type Breakpoint struct {
	Line     int
	Verified bool
	Message  string // why it is not verified
}

// Frame is one call of a stopped goroutine's stack.
type Frame struct {
	ID     int    // for Scopes and Evaluate, valid while the goroutine stays stopped
	Name   string // the function's name
	Source string // the cell's source (DebugOptions.Source)
	Line   int    // the line in the cell as typed, from 1
	Column int
}

// Scope is a group of variables of a frame.
type Scope struct {
	Name string // "Locals" or "Globals"
	Ref  int    // for Variables
}

// StepKind says where Step stops.
type StepKind int

// The steps.
const (
	StepOver StepKind = iota // at the next line of this function, or of its caller
	StepIn                   // in the function called on this line, else as StepOver
	StepOut                  // back in the caller
)

var (
	// ErrNotStopped is the error for a goroutine that is not stopped.
	ErrNotStopped = errors.New("that goroutine is not stopped")
	// ErrNotAttached is the error when no debugging session is on.
	ErrNotAttached = errors.New("the debugger is not attached")
)

// Debugger debugs the session's cells. Its methods may be called from any
// goroutine, also while a cell runs or is stopped: they never wait for
// the cell.
type Debugger struct {
	s *Session

	mu       sync.Mutex
	attached bool
	quiet    bool // breakpoints off for now (DebugQuiet)
	opt      DebugOptions
	inst     *installation        // yaegi's debugger, nil when not in place
	last     *installation        // the last one put in place, until it ended
	gens     int                  // installations so far
	cells    map[int]*debugCell   // by cell slot
	bps      map[string][]int     // lines by source, as last set
	stopped  map[int]*stopState   // stopped goroutines
	steps    map[int]stepState    // goroutines sent on a step, until they stop
	epoch    int                  // requests prepared, so goroutine 1's steps end with their request
	refs     map[int]*debugRef    // frames and values handed out
	nextRef  int                  // the last handle given
	threads  map[int]string       // live goroutines' names
	tramps   map[string]reflectFn // DebugFunc's trampolines, by function
	resumers sync.WaitGroup       // goroutines letting a stopped goroutine go on
}

// installation is yaegi's debugger put in place once.
type installation struct {
	gen   int
	in    *interp.Interpreter
	yd    *interp.Debugger
	hold  chan struct{} // closed to end the holder program
	held  chan struct{} // closed once the holder blocks
	ended chan struct{} // closed at yaegi's Terminate event
}

// debugCell is what the debugger keeps of a cell that ran.
type debugCell struct {
	code   string
	source string // opt.Source(code), computed for gen srcGen
	srcGen int
	progs  []cellProgram
}

// cellProgram is a program compiled for a cell, and the interpreter that
// compiled it (a rebuild makes a new one).
type cellProgram struct {
	in      *interp.Interpreter
	p       *interp.Program
	flagged *[]reflect.Value // the nodes its breakpoints are on (see debugnodes.go)
}

// stopState is a stopped goroutine: the event it stopped with (valid
// until it goes on) and the handles given for it since.
type stopState struct {
	ev   *interp.DebugEvent
	refs []int
}

// stepState is where a goroutine was sent on a step from.
type stepState struct {
	kind  StepKind
	line  int // as reported (cell*lineBase+line)
	depth int
	epoch int
}

// Debugger returns the session's debugger.
func (s *Session) Debugger() *Debugger {
	s.dbgOnce.Do(func() {
		s.dbg = &Debugger{s: s, cells: map[int]*debugCell{}, bps: map[string][]int{}, stopped: map[int]*stopState{},
			steps: map[int]stepState{}, refs: map[int]*debugRef{}, threads: map[int]string{}}
	})
	return s.dbg
}

// Attach starts a debugging session; it takes effect when no request
// runs (Session.DebugPrepare). Attaching again replaces the
// options.
func (d *Debugger) Attach(opt DebugOptions) error {
	if opt.Source == nil {
		return errors.New("interp: DebugOptions.Source is required")
	}
	if opt.Event == nil {
		opt.Event = func(DebugEvent) {}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attached = true
	d.opt = opt
	return nil
}

// Detach ends the debugging session: breakpoints go and stopped
// goroutines go on. yaegi's debugger leaves when no request runs
// (Session.DebugPrepare).
func (d *Debugger) Detach() {
	d.mu.Lock()
	d.attached = false
	d.bps = map[string][]int{}
	d.steps = map[int]stepState{}
	d.applyAllLocked()
	events := d.resumeAllLocked()
	send := d.opt.Event
	d.opt.Event = nil
	d.mu.Unlock()
	emitTo(send, events)
}

// Attached tells whether a debugging session is on.
func (d *Debugger) Attached() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attached
}

// Installed tells whether yaegi's debugger is in place: interpreted code
// runs several times slower then, since every step goes through it.
func (d *Debugger) Installed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inst != nil
}

// DebugPrepare puts the debugger in place, or takes it away, as the
// debugging session wants. The engine calls it when no request runs:
// before each request that runs code, and after a debug request. It
// returns a note for the user when the debugger could not be put in
// place.
func (s *Session) DebugPrepare() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.debugPrepareLocked()
}

// debugPrepareLocked is DebugPrepare with s.mu held (a rebuild calls it
// for the new interpreter before the cell runs).
func (s *Session) debugPrepareLocked() string {
	if s.dbg == nil {
		return ""
	}
	d := s.dbg
	d.mu.Lock()
	d.epoch++
	if d.inst != nil && (d.inst.in != s.in || !d.attached) {
		d.uninstallLocked()
	}
	if !d.attached || d.inst != nil {
		d.mu.Unlock()
		return ""
	}
	last := d.last
	d.mu.Unlock()
	// yaegi's debugger fails a goroutine that was running before it came
	// in at its next call, and so kills the engine: it waits for them.
	if n := countGoroutines(labelKey, ""); n > 0 {
		return fmt.Sprintf("atonce: the debugger cannot start while %d goroutine(s) started by earlier cells still run (yaegi's debugger would make them fail); it starts once they end, or after a restart of the kernel", n)
	}
	if last != nil && last.in == s.in && !last.waitEnded() {
		return "atonce: the debugger cannot start: goroutines that ran under it before are still running; it starts once they end, or after a restart of the kernel"
	}
	if err := s.debugInstall(); err != nil {
		return "atonce: the debugger could not start: " + err.Error()
	}
	return ""
}

// waitEnded waits for yaegi's debugger of inst to end: its Terminate
// event, then its goroutine, which clears the interpreter's debugger last
// thing (the next one must not be cleared with it).
func (inst *installation) waitEnded() bool {
	select {
	case <-inst.ended:
	case <-time.After(2 * time.Second):
		return false
	}
	deadline := time.Now().Add(2 * time.Second)
	for countGoroutines(debugLabelKey, strconv.Itoa(inst.gen)) > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// debugLabelKey labels the goroutines of yaegi's debugger itself.
const debugLabelKey = "atonce_debugger"

// holderText is the holder program: it blocks in DebugHold, then makes
// one more step, so that a goroutine 1 left in a step or a pause stops
// there and is let go (in run mode) before yaegi forgets it.
const holderText = captureHelper + ".DebugHold()\n" + captureHelper + ".DebugHold()"

// debugInstall puts yaegi's debugger in place on the interpreter, with
// the holder program; called with s.mu held and no cell running.
func (s *Session) debugInstall() error {
	d := s.dbg
	src, _ := gosrc.Wrap(gosrc.Stmt, holderText, "")
	f, err := parser.ParseFile(s.in.FileSet(), sourceName, src, 0)
	if err != nil {
		return fmt.Errorf("parsing the holder: %w", err)
	}
	prog, err := s.compile(f.Decls[0].(*ast.FuncDecl).Body)
	if err != nil {
		return fmt.Errorf("compiling the holder: %w", err)
	}
	d.mu.Lock()
	d.gens++
	inst := &installation{gen: d.gens, in: s.in, hold: make(chan struct{}), held: make(chan struct{}), ended: make(chan struct{})}
	d.tramps = map[string]reflectFn{}
	d.threads = map[int]string{1: "goroutine 1 (cells)"}
	d.mu.Unlock()
	pprof.Do(context.Background(), pprof.Labels(debugLabelKey, strconv.Itoa(inst.gen)), func(ctx context.Context) {
		inst.yd = s.in.Debug(ctx, prog, func(e *interp.DebugEvent) { d.event(inst, e) }, &interp.DebugOptions{GoRoutineStartAt1: true})
	})
	d.mu.Lock()
	d.inst, d.last = inst, inst
	d.applyAllLocked()
	d.mu.Unlock()
	if err := inst.yd.Continue(1); err != nil {
		return fmt.Errorf("starting the holder: %w", err)
	}
	select {
	case <-inst.held:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the holder did not start")
	}
}

// debugHold is the holder program's host call: the first call blocks
// until the installation it belongs to is taken away; the second returns.
func (s *Session) debugHold() {
	d := s.Debugger()
	d.mu.Lock()
	inst := d.inst
	d.mu.Unlock()
	if inst == nil {
		return
	}
	select {
	case <-inst.held: // the second call
		return
	default:
	}
	close(inst.held)
	<-inst.hold
}

// uninstallLocked takes yaegi's debugger away: goroutine 1 is set to stop
// at the holder's last step (which lets it go on, in run mode), and the
// holder ends. yaegi's debugger ends once the goroutines it follows have.
func (d *Debugger) uninstallLocked() {
	inst := d.inst
	if inst == nil {
		return
	}
	d.inst = nil
	d.steps = map[int]stepState{}
	d.resumeAllLocked()
	inst.yd.Interrupt(1, interp.DebugPause)
	close(inst.hold)
}

// event receives yaegi's debug events, on the goroutine they concern.
func (d *Debugger) event(inst *installation, e *interp.DebugEvent) {
	reason := e.Reason()
	if reason == interp.DebugTerminate { // yaegi's debugger ends; no goroutine
		close(inst.ended)
		return
	}
	g := e.GoRoutine()
	if reason == interp.DebugEnterGoRoutine || reason == interp.DebugExitGoRoutine {
		d.mu.Lock()
		current := inst == d.inst && d.attached
		what := "started"
		if reason == interp.DebugEnterGoRoutine {
			d.threads[g] = "goroutine " + strconv.Itoa(g)
		} else {
			what = "exited"
			delete(d.threads, g)
			delete(d.steps, g)
		}
		send := d.opt.Event
		d.mu.Unlock()
		if current && g != 1 {
			emitTo(send, []DebugEvent{{Kind: "thread", Thread: g, Reason: what}})
		}
		return
	}

	d.mu.Lock()
	stop, how := d.shouldStopLocked(inst, g, reason, e)
	if !stop {
		d.mu.Unlock()
		d.goOn(inst.yd, g, how)
		return
	}
	d.stopped[g] = &stopState{ev: e}
	delete(d.steps, g)
	send := d.opt.Event
	d.mu.Unlock()
	emitTo(send, []DebugEvent{{Kind: "stopped", Thread: g, Reason: stopReason(reason)}})
}

// resumeHow says how a goroutine that yaegi stopped, and that should not
// stay stopped, goes on: in run mode, or on with a step.
type resumeHow struct {
	step bool
	kind interp.DebugEventReason
}

// shouldStopLocked decides whether goroutine g, which yaegi stopped,
// stays stopped. yaegi stops at every step of the interpreter on a step;
// a step the user asked for stops at the next line of a cell, so steps on
// the same line, and in code that is not a cell's, go on. Called with d.mu
// held.
func (d *Debugger) shouldStopLocked(inst *installation, g int, reason interp.DebugEventReason, e *interp.DebugEvent) (bool, resumeHow) {
	run := resumeHow{}
	if inst != d.inst || !d.attached {
		return false, run
	}
	frames := e.Frames(0, 1)
	if len(frames) == 0 {
		return false, run
	}
	pos := frames[0].Position()
	user := d.userLineLocked(pos.Line)
	if reason == interp.DebugBreak {
		return user, run
	}
	st, stepping := d.steps[g]
	if !stepping && reason != interp.DebugPause {
		return false, run // a step whose session or request ended
	}
	if stepping && g == 1 && st.epoch != d.epoch {
		delete(d.steps, g) // the step ended with the request that ran it
		return false, run
	}
	if pos.Line == 0 {
		// yaegi stops now and then where it cannot tell the node: stop
		// at the next step instead.
		return false, resumeHow{step: true, kind: reason}
	}
	if !user {
		return false, resumeHow{step: true, kind: interp.DebugStepOut}
	}
	if !stepping { // a pause, in a cell
		return true, run
	}
	depth := frameDepth(e)
	if pos.Line == st.line && depth == st.depth {
		kind := interp.DebugStepOver
		if st.kind == StepIn {
			kind = interp.DebugStepInto
		}
		return false, resumeHow{step: true, kind: kind}
	}
	if st.kind == StepOut && depth >= st.depth {
		return false, resumeHow{step: true, kind: interp.DebugStepOut}
	}
	return true, run
}

// goOn lets goroutine g, stopped by yaegi and let go by d, go on. It
// runs apart: yaegi waits for it only once the event returned, and
// refuses a step while the goroutine runs.
func (d *Debugger) goOn(yd *interp.Debugger, g int, how resumeHow) {
	d.resumers.Go(func() {
		for i := 0; ; i++ {
			var err error
			if how.step {
				err = yd.Step(g, how.kind)
			} else {
				err = yd.Continue(g)
			}
			if !errors.Is(err, interp.ErrRunning) {
				return
			}
			if i < 1000 {
				runtime.Gosched()
			} else {
				time.Sleep(50 * time.Microsecond)
			}
		}
	})
}

// frameDepth is how many calls deep a stopped goroutine is. yaegi counts
// the cell's top-level code only when nothing is called from it, so a
// function called from it would be as deep as it.
func frameDepth(e *interp.DebugEvent) int {
	n := e.FrameDepth()
	if f := e.Frames(0, 1); len(f) > 0 && f[0].Name() != "<init>" {
		n++
	}
	return n
}

func stopReason(r interp.DebugEventReason) string {
	switch r {
	case interp.DebugBreak:
		return "breakpoint"
	case interp.DebugStepInto, interp.DebugStepOver, interp.DebugStepOut:
		return "step"
	case interp.DebugEntry:
		return "entry"
	}
	return "pause"
}

// userLineLocked tells whether a reported line is in a cell the user ran
// (not in the session's own code, which has cell number 0).
func (d *Debugger) userLineLocked(line int) bool {
	cell, l := cellLine(line)
	c, ok := d.cells[cell]
	return ok && cell > 0 && l > 0 && c.code != ""
}

func emitTo(send func(DebugEvent), events []DebugEvent) {
	if send == nil {
		return
	}
	for _, ev := range events {
		send(ev)
	}
}

// debugNewCell notes that slot holds a new cell, with text code.
func (s *Session) debugNewCell(slot int, code string) {
	d := s.Debugger()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cells[slot] = &debugCell{code: code}
}

// debugCompiled records a program compiled for a cell and sets the
// cell's breakpoints in it before it runs.
func (s *Session) debugCompiled(slot int, prog *interp.Program) {
	d := s.Debugger()
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.cells[slot]
	if !ok {
		return
	}
	cp := cellProgram{in: s.in, p: prog, flagged: new([]reflect.Value)}
	c.progs = append(c.progs, cp)
	if d.inst != nil && d.inst.in == s.in {
		d.applyLocked(slot, c, []cellProgram{cp})
	}
}

// sourceLocked returns the source of cell c, computed once per
// installation.
func (d *Debugger) sourceLocked(c *debugCell) string {
	if c.srcGen != d.gens || c.source == "" {
		c.source, c.srcGen = "", d.gens
		if d.opt.Source != nil {
			c.source = d.opt.Source(c.code)
		}
	}
	return c.source
}

// applyAllLocked sets the breakpoints in every cell's programs.
func (d *Debugger) applyAllLocked() {
	for slot, c := range d.cells {
		d.applyLocked(slot, c, c.progs)
	}
}

// applyLocked sets cell c's breakpoints in progs, in place of those set
// before, and tells, per line, whether some program has code there.
func (d *Debugger) applyLocked(slot int, c *debugCell, progs []cellProgram) map[int]bool {
	found := map[int]bool{}
	if d.inst == nil || len(progs) == 0 {
		return found
	}
	var lines []int
	if d.attached && !d.quiet && c.code != "" {
		for _, l := range d.bps[d.sourceLocked(c)] {
			lines = append(lines, slot*lineBase+l)
		}
	}
	for _, p := range progs {
		if p.in != d.inst.in {
			continue
		}
		if len(*p.flagged) > 0 {
			// yaegi clears a root's breakpoints only when asked for some:
			// ask for a line no node is on.
			setBreakpoints(d.inst.yd, nodesTarget(*p.flagged), []interp.BreakpointRequest{interp.LineBreakpoint(-1)})
			*p.flagged = nil
		}
		if len(lines) == 0 {
			continue
		}
		roots := entryNodes(p.in.FileSet(), p.p, lines)
		if len(roots) == 0 {
			continue
		}
		reqs := make([]interp.BreakpointRequest, len(lines))
		for i, l := range lines {
			reqs[i] = interp.LineBreakpoint(l)
		}
		res := setBreakpoints(d.inst.yd, nodesTarget(roots), reqs)
		*p.flagged = roots
		for i, l := range lines {
			if i < len(res) && res[i].Valid {
				found[l%lineBase] = true
			}
		}
	}
	return found
}

// setBreakpoints is yaegi's SetBreakpoints, which may trip over a node
// yaegi did not finish.
func setBreakpoints(yd *interp.Debugger, target interp.BreakpointTarget, reqs []interp.BreakpointRequest) (res []interp.Breakpoint) {
	defer func() {
		if r := recover(); r != nil {
			res = nil
		}
	}()
	return yd.SetBreakpoints(target, reqs...)
}

// SetBreakpoints sets the line breakpoints of a source, replacing its
// earlier ones. A breakpoint in a cell that ran is verified when code is
// on its line; in a cell that has not run yet, it is taken as verified
// and set when the cell runs.
func (d *Debugger) SetBreakpoints(source string, lines []int) ([]Breakpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.attached {
		return nil, ErrNotAttached
	}
	if len(lines) == 0 {
		delete(d.bps, source)
	} else {
		d.bps[source] = slices.Clone(lines)
	}
	ran := false
	found := map[int]bool{}
	for slot, c := range d.cells {
		if c.code == "" || len(c.progs) == 0 || d.sourceLocked(c) != source {
			continue
		}
		ran = true
		for l, ok := range d.applyLocked(slot, c, c.progs) {
			found[l] = found[l] || ok
		}
	}
	out := make([]Breakpoint, len(lines))
	for i, l := range lines {
		out[i] = Breakpoint{Line: l, Verified: true}
		if ran && d.inst != nil && !found[l] {
			out[i] = Breakpoint{Line: l, Message: "no code on this line"}
		}
	}
	return out, nil
}

// Quiet turns the breakpoints off (on true) and on again: the engine
// replays the notebook into a new engine quietly, and the user's
// breakpoints must not stop the replay.
func (d *Debugger) Quiet(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.quiet = on
	d.applyAllLocked()
}

// Threads returns the goroutines yaegi's debugger follows: goroutine 1,
// which runs the cells, and those started by a go statement that calls a
// named function (a model's tasks, under the debugger).
func (d *Debugger) Threads() []Thread {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inst == nil {
		return []Thread{{ID: 1, Name: "goroutine 1 (cells)"}}
	}
	var out []Thread
	for _, g := range d.inst.yd.GoRoutines() {
		name := d.threads[g.ID()]
		if name == "" {
			name = "goroutine " + strconv.Itoa(g.ID())
		}
		out = append(out, Thread{ID: g.ID(), Name: name})
	}
	return out
}

// Stopped returns the stopped goroutines, in order.
func (d *Debugger) Stopped() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]int, 0, len(d.stopped))
	for g := range d.stopped {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// Stack returns the frames of a stopped goroutine, innermost first,
// leaving out code that is not in a cell (the session's trampolines).
// yaegi lists a cell's top-level code only when it is the goroutine's
// only frame.
func (d *Debugger) Stack(thread int) ([]Frame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.stopped[thread]
	if !ok {
		return nil, ErrNotStopped
	}
	e := st.ev
	var out []Frame
	for _, f := range e.Frames(0, e.FrameDepth()) {
		pos := f.Position()
		if !d.userLineLocked(pos.Line) {
			continue
		}
		cell, line := cellLine(pos.Line)
		ref := d.newRefLocked(thread, &debugRef{frame: f})
		out = append(out, Frame{ID: ref, Name: f.Name(), Source: d.sourceLocked(d.cells[cell]), Line: line, Column: pos.Column})
	}
	// A cell's own code: its top level, or the function literal the
	// session wraps a top-level loop or if in (rewrite.ScopeCompound),
	// the outermost frame of goroutine 1.
	if n := len(out); n > 0 && (out[n-1].Name == "<init>" || thread == 1 && out[n-1].Name == "<anonymous>") {
		out[n-1].Name = "cell"
	}
	return out, nil
}

// Continue lets a stopped goroutine go on.
func (d *Debugger) Continue(thread int) error {
	return d.release(thread, nil, func(yd *interp.Debugger) error { return yd.Continue(thread) })
}

// Step sends a stopped goroutine to the next line (StepOver), into the
// function called on its line (StepIn) or back to its caller (StepOut),
// where it stops again.
func (d *Debugger) Step(thread int, kind StepKind) error {
	r := interp.DebugStepOver
	switch kind {
	case StepIn:
		r = interp.DebugStepInto
	case StepOut:
		r = interp.DebugStepOut
	}
	return d.release(thread, &kind, func(yd *interp.Debugger) error { return yd.Step(thread, r) })
}

// release lets a stopped goroutine go on, with yaegi's do, once d forgot
// what it stopped with and said that it goes on; step, when not nil, is
// the step it goes on with.
func (d *Debugger) release(thread int, step *StepKind, do func(*interp.Debugger) error) error {
	d.mu.Lock()
	if st, ok := d.stopped[thread]; ok && step != nil {
		line := 0
		if f := st.ev.Frames(0, 1); len(f) > 0 {
			line = f[0].Position().Line
		}
		d.steps[thread] = stepState{kind: *step, line: line, depth: frameDepth(st.ev), epoch: d.epoch}
	}
	yd, err := d.goOnLocked(thread)
	send := d.opt.Event
	d.mu.Unlock()
	if err != nil {
		return err
	}
	emitTo(send, []DebugEvent{{Kind: "continued", Thread: thread}})
	return do(yd)
}

// goOnLocked forgets what a stopped goroutine stopped with, and the
// handles given for it.
func (d *Debugger) goOnLocked(thread int) (*interp.Debugger, error) {
	if d.inst == nil {
		return nil, ErrNotAttached
	}
	st, ok := d.stopped[thread]
	if !ok {
		return nil, ErrNotStopped
	}
	for _, r := range st.refs {
		delete(d.refs, r)
	}
	delete(d.stopped, thread)
	return d.inst.yd, nil
}

// Pause asks a goroutine to stop at its next step in a cell. One blocked
// in a call to the host (a sleep, a lock, a channel the host made) stops
// when the call returns.
func (d *Debugger) Pause(thread int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inst == nil {
		return ErrNotAttached
	}
	if _, ok := d.stopped[thread]; ok {
		return nil
	}
	if !d.inst.yd.Interrupt(thread, interp.DebugPause) {
		return fmt.Errorf("goroutine %d is not running", thread)
	}
	return nil
}

// resumeAllLocked lets every stopped goroutine go on, and returns the
// events to send.
func (d *Debugger) resumeAllLocked() []DebugEvent {
	var events []DebugEvent
	for _, g := range slices.Sorted(maps.Keys(d.stopped)) {
		yd, err := d.goOnLocked(g)
		if err != nil {
			continue
		}
		events = append(events, DebugEvent{Kind: "continued", Thread: g})
		d.resumers.Go(func() { _ = yd.Continue(g) })
	}
	return events
}

// debugInterrupted lets the goroutines stopped in the debugger go on
// after an interrupt: the interpreter's run is over, so each returns at
// its next step, and the interrupted cell can end.
func (s *Session) debugInterrupted() {
	if s.dbg == nil {
		return
	}
	d := s.dbg
	d.mu.Lock()
	d.steps = map[int]stepState{}
	events := d.resumeAllLocked()
	send := d.opt.Event
	d.mu.Unlock()
	emitTo(send, events)
}

// debugClose takes the debugger away for good (Session.Close).
func (s *Session) debugClose() {
	if s.dbg == nil {
		return
	}
	d := s.dbg
	d.mu.Lock()
	d.attached = false
	d.opt.Event = nil
	d.uninstallLocked()
	d.mu.Unlock()
	d.resumers.Wait()
}

// countGoroutines counts the live goroutines whose label key has value
// (any value when value is "").
func countGoroutines(key, value string) int {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return 0
	}
	return countLabelled(&buf, key, value)
}
