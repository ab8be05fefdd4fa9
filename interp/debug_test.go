package interp

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// debugRun is a session with the debugger attached, the events it sent,
// and the cell that runs in the background.
type debugRun struct {
	t      *testing.T
	s      *Session
	d      *Debugger
	events chan DebugEvent
	done   chan Result
}

// sourceOf names a cell's source for the tests: its first line.
func sourceOf(code string) string {
	first, _, _ := strings.Cut(code, "\n")
	return "cell:" + first
}

func newDebugRun(t *testing.T) *debugRun {
	t.Helper()
	s, _ := newSession(t, Options{})
	r := &debugRun{t: t, s: s, d: s.Debugger(), events: make(chan DebugEvent, 100), done: make(chan Result, 1)}
	if err := r.d.Attach(DebugOptions{Source: sourceOf, Event: func(ev DebugEvent) { r.events <- ev }}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.d.Detach()
		s.DebugPrepare()
	})
	return r
}

// run runs a cell in the foreground: it must not stop.
func (r *debugRun) run(code string) {
	r.t.Helper()
	if note := r.s.DebugPrepare(); note != "" {
		r.t.Fatalf("DebugPrepare: %s", note)
	}
	if res := r.s.Execute(context.Background(), code); res.Err != nil {
		r.t.Fatalf("cell %q failed: %v", code, res.Err)
	}
}

// start runs a cell in the background, as the engine does while debug
// requests come.
func (r *debugRun) start(ctx context.Context, code string) {
	r.t.Helper()
	if note := r.s.DebugPrepare(); note != "" {
		r.t.Fatalf("DebugPrepare: %s", note)
	}
	go func() { r.done <- r.s.Execute(ctx, code) }()
}

// wait waits for an event of kind (and thread, when not 0).
func (r *debugRun) wait(kind string, thread int) DebugEvent {
	r.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-r.events:
			if ev.Kind == kind && (thread == 0 || ev.Thread == thread) {
				return ev
			}
		case res := <-r.done:
			r.t.Fatalf("the cell ended (err %v) while waiting for a %s event", res.Err, kind)
		case <-timeout:
			r.t.Fatalf("no %s event", kind)
		}
	}
}

// finish waits for the background cell's end.
func (r *debugRun) finish() Result {
	r.t.Helper()
	select {
	case res := <-r.done:
		return res
	case <-time.After(20 * time.Second):
		r.t.Fatal("the cell did not end")
	}
	return Result{}
}

// top returns the innermost frame of a stopped goroutine.
func (r *debugRun) top(thread int) Frame {
	r.t.Helper()
	frames, err := r.d.Stack(thread)
	if err != nil || len(frames) == 0 {
		r.t.Fatalf("Stack(%d) = %v, %v", thread, frames, err)
	}
	return frames[0]
}

// locals returns the values of a frame's locals, by name.
func (r *debugRun) scope(frame int, name string) map[string]Variable {
	r.t.Helper()
	scopes, err := r.d.Scopes(frame)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, sc := range scopes {
		if sc.Name != name {
			continue
		}
		vars, err := r.d.Variables(sc.Ref, 0, 0)
		if err != nil {
			r.t.Fatal(err)
		}
		out := map[string]Variable{}
		for _, v := range vars {
			out[v.Name] = v
		}
		return out
	}
	r.t.Fatalf("no scope %s", name)
	return nil
}

const debugFuncs = `type point struct{ X, y int }
var total = 10
func add(a, b int) int {
	c := a + b
	p := point{X: a, y: b}
	_ = p
	return c
}`

func TestDebugBreakpointStepsAndVariables(t *testing.T) {
	r := newDebugRun(t)
	r.run(debugFuncs)
	src := sourceOf(debugFuncs)
	bps, err := r.d.SetBreakpoints(src, []int{4})
	if err != nil || len(bps) != 1 || !bps[0].Verified {
		t.Fatalf("SetBreakpoints = %+v, %v; want one verified", bps, err)
	}
	loop := "// loop\ns := 0\nfor i := 0; i < 3; i++ {\n\ts = add(s, i)\n}\ntotal = s"
	r.start(context.Background(), loop)
	ev := r.wait("stopped", 0)
	if ev.Reason != "breakpoint" || ev.Thread != 1 {
		t.Fatalf("stopped = %+v, want a breakpoint in goroutine 1", ev)
	}
	f := r.top(1)
	if f.Source != src || f.Line != 4 || f.Name != "add" {
		t.Fatalf("top frame = %+v, want add at %s:4", f, src)
	}
	locals := r.scope(f.ID, "Locals")
	if locals["a"].Value != "0" || locals["b"].Value != "0" {
		t.Errorf("locals = %+v, want a 0 and b 0", locals)
	}
	if g := r.scope(f.ID, "Globals"); g["total"].Value != "10" {
		t.Errorf("globals = %+v, want total 10", g)
	}

	// Step over, line by line.
	for _, want := range []int{5, 6, 7} {
		if err := r.d.Step(1, StepOver); err != nil {
			t.Fatal(err)
		}
		r.wait("continued", 1)
		r.wait("stopped", 1)
		if got := r.top(1); got.Line != want {
			t.Fatalf("after a step: line %d, want %d", got.Line, want)
		}
	}
	f = r.top(1)
	p := r.scope(f.ID, "Locals")["p"]
	if p.Ref == 0 || !strings.Contains(p.Value, "X: 0") {
		t.Fatalf("p = %+v, want an expandable struct", p)
	}
	parts, err := r.d.Variables(p.Ref, 0, 0)
	if err != nil || len(parts) != 2 || parts[0].Name != "X" || parts[1].Name != "y" {
		t.Fatalf("p's parts = %+v, %v; want X and y", parts, err)
	}
	v, err := r.d.Evaluate(f.ID, "c + 100 + len(\"ab\")")
	if err != nil || v.Value != "102" {
		t.Errorf("Evaluate = %+v, %v; want 102", v, err)
	}
	// The breakpoint stops each iteration: continue twice more.
	for i := 1; i < 3; i++ {
		if err := r.d.Continue(1); err != nil {
			t.Fatal(err)
		}
		r.wait("stopped", 1)
		if got := r.scope(r.top(1).ID, "Locals")["b"].Value; got != fmt.Sprint(i) {
			t.Errorf("iteration %d: b = %s", i, got)
		}
	}
	if _, err := r.d.SetBreakpoints(src, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Continue(1); err != nil {
		t.Fatal(err)
	}
	if res := r.finish(); res.Err != nil {
		t.Fatalf("the cell failed: %v", res.Err)
	}
	if v := r.s.Vars()["total"]; v.Int() != 3 {
		t.Errorf("total = %v, want 3", v)
	}
}

func TestDebugInterruptWhileStopped(t *testing.T) {
	r := newDebugRun(t)
	r.run(debugFuncs)
	if _, err := r.d.SetBreakpoints(sourceOf(debugFuncs), []int{4}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.start(ctx, "// stops\nadd(1, 2)\nprintln(\"not reached\")")
	r.wait("stopped", 1)
	cancel()
	res := r.finish()
	if !res.Interrupted || res.Stuck {
		t.Fatalf("result = %+v, want interrupted and not stuck", res)
	}
	r.wait("continued", 1)
	if got := r.d.Stopped(); len(got) != 0 {
		t.Errorf("stopped after the interrupt: %v", got)
	}
	// The kernel goes on: the next cell runs, and stops again.
	r.start(context.Background(), "// again\nadd(2, 3)")
	r.wait("stopped", 1)
	if err := r.d.Continue(1); err != nil {
		t.Fatal(err)
	}
	if res := r.finish(); res.Err != nil {
		t.Fatal(res.Err)
	}
}

func TestDebugStepInAndOut(t *testing.T) {
	r := newDebugRun(t)
	r.run(debugFuncs)
	cell := "// calls\nx := add(1, 2)\ny := x * 2\n_ = y"
	r.run("// warm\n_ = 1")
	if _, err := r.d.SetBreakpoints(sourceOf(cell), []int{2}); err != nil {
		t.Fatal(err)
	}
	r.start(context.Background(), cell)
	r.wait("stopped", 1)
	if f := r.top(1); f.Line != 2 || f.Name != "cell" {
		t.Fatalf("stopped at %+v, want the cell's line 2", f)
	}
	if err := r.d.Step(1, StepIn); err != nil {
		t.Fatal(err)
	}
	r.wait("stopped", 1)
	if f := r.top(1); f.Name != "add" || f.Line != 4 {
		t.Fatalf("stepped in to %+v, want add's line 4", f)
	}
	if err := r.d.Step(1, StepOut); err != nil {
		t.Fatal(err)
	}
	r.wait("stopped", 1)
	if f := r.top(1); f.Name != "cell" || f.Line < 2 {
		t.Fatalf("stepped out to %+v, want the cell", f)
	}
	if err := r.d.Continue(1); err != nil {
		t.Fatal(err)
	}
	if res := r.finish(); res.Err != nil {
		t.Fatal(res.Err)
	}
}

func TestDebugBreakpointStopsBeforeTheLineRuns(t *testing.T) {
	r := newDebugRun(t)
	r.run("var calls int\nfunc count() int { calls++; return calls }")
	cell := "// before\nx := count()\n_ = x"
	r.run("// warm up the slot numbering\n_ = 0")
	if _, err := r.d.SetBreakpoints(sourceOf(cell), []int{2}); err != nil {
		t.Fatal(err)
	}
	r.start(context.Background(), cell)
	r.wait("stopped", 1)
	f := r.top(1)
	if f.Line != 2 {
		t.Fatalf("stopped at line %d, want 2", f.Line)
	}
	if got := r.scope(f.ID, "Globals")["calls"].Value; got != "0" {
		t.Errorf("calls = %s at the breakpoint, want 0: the line's call ran before the stop", got)
	}
	if err := r.d.Continue(1); err != nil {
		t.Fatal(err)
	}
	if res := r.finish(); res.Err != nil {
		t.Fatal(res.Err)
	}
}

// TestDebugNodeFields checks that yaegi's node still has the fields
// debugnodes.go reads.
func TestDebugNodeFields(t *testing.T) {
	s, _ := newSession(t, Options{})
	if res := s.Execute(context.Background(), "x := 1\n_ = x"); res.Err != nil {
		t.Fatal(res.Err)
	}
	d := s.Debugger()
	var root reflect.Value
	for _, c := range d.cells {
		for _, p := range c.progs {
			root = programRoot(p.p)
		}
	}
	if !root.IsValid() {
		t.Fatal("no program root: yaegi's Program has no field root any more")
	}
	for _, name := range nodeFields {
		if !root.Elem().FieldByName(name).IsValid() {
			t.Errorf("yaegi's node has no field %s any more", name)
		}
	}
}

// TestDebugTasksAreGoroutines runs a task as a free-threading model does
// (calls from several host goroutines at once): a breakpoint stops the
// task that hits it while the other runs to its end.
func TestDebugTasksAreGoroutines(t *testing.T) {
	r := newDebugRun(t)
	r.run(`var done [2]bool
func task(i int) int {
	if i == 0 {
		done[0] = true
	}
	done[i] = true
	return i * 10
}`)
	src := sourceOf("var done [2]bool")
	if _, err := r.d.SetBreakpoints(src, []int{4}); err != nil {
		t.Fatal(err)
	}
	if note := r.s.DebugPrepare(); note != "" {
		t.Fatal(note)
	}
	fn, err := r.s.DebugFunc(context.Background(), "task")
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan int, 2)
	for i := range 2 {
		go func() { results <- int(fn.Call([]reflect.Value{reflect.ValueOf(i)})[0].Int()) }()
	}
	ev := r.wait("stopped", 0)
	if ev.Thread == 1 {
		t.Fatalf("the task stopped as goroutine 1: each task should be a goroutine of its own")
	}
	// The other task ends while this one is stopped.
	select {
	case got := <-results:
		if got != 10 {
			t.Fatalf("the running task returned %d, want 10", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the other task did not end while the first was stopped")
	}
	threads := r.d.Threads()
	if len(threads) < 2 {
		t.Errorf("threads = %+v, want goroutine 1 and the stopped task", threads)
	}
	if f := r.top(ev.Thread); f.Name != "task" || f.Line != 4 {
		t.Errorf("the stopped task is at %+v, want task line 4", f)
	}
	if err := r.d.Continue(ev.Thread); err != nil {
		t.Fatal(err)
	}
	if got := <-results; got != 0 {
		t.Errorf("the stopped task returned %d, want 0", got)
	}
}

func TestDebugPauseAndLoopSteps(t *testing.T) {
	r := newDebugRun(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.start(ctx, "// busy\nn := 0\nfor {\n\tn++\n}")
	time.Sleep(200 * time.Millisecond)
	if err := r.d.Pause(1); err != nil {
		t.Fatal(err)
	}
	if ev := r.wait("stopped", 1); ev.Reason != "pause" {
		t.Fatalf("stopped = %+v, want a pause", ev)
	}
	if f := r.top(1); f.Line != 3 && f.Line != 4 || f.Name != "cell" {
		t.Errorf("paused at %+v, want the cell's line 3 or 4", f)
	}
	cancel()
	if res := r.finish(); !res.Interrupted {
		t.Fatalf("result %+v, want interrupted", res)
	}

	def := "// sum\nfunc sum(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i\n\t}\n\treturn s\n}"
	r.run(def)
	if _, err := r.d.SetBreakpoints(sourceOf(def), []int{5}); err != nil {
		t.Fatal(err)
	}
	r.start(context.Background(), "// call\nsum(3)")
	r.wait("stopped", 1)
	var lines []int
	for range 6 {
		lines = append(lines, r.top(1).Line)
		if err := r.d.Step(1, StepOver); err != nil {
			t.Fatal(err)
		}
		r.wait("stopped", 1)
	}
	// The loop's body, then its header (post statement and test), ...
	if want := []int{5, 4, 5, 4, 5, 4}; !slices.Equal(lines, want) {
		t.Errorf("stepping over lines %v, want %v", lines, want)
	}
	if _, err := r.d.SetBreakpoints(sourceOf(def), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.d.Continue(1); err != nil {
		t.Fatal(err)
	}
	r.finish()
}

// TestDebugWaitsForRunningGoroutines checks that the debugger does not
// come in while a goroutine an earlier cell started runs: yaegi's
// debugger would fail it at its next call, and kill the process.
func TestDebugWaitsForRunningGoroutines(t *testing.T) {
	s, _ := newSession(t, Options{})
	start := "var ticks int\nvar stop = make(chan bool)\nfunc tick() { ticks++ }\ngo func() {\n\tfor {\n\t\tselect {\n\t\tcase <-stop:\n\t\t\treturn\n\t\tdefault:\n\t\t}\n\t\ttick()\n\t\ttime.Sleep(5 * time.Millisecond)\n\t}\n}()"
	if r := s.Execute(context.Background(), start); r.Err != nil {
		t.Fatal(r.Err)
	}
	d := s.Debugger()
	if err := d.Attach(DebugOptions{Source: sourceOf}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		d.Detach()
		s.DebugPrepare()
	}()
	if note := s.DebugPrepare(); !strings.Contains(note, "1 goroutine(s) started by earlier cells still run") || d.Installed() {
		t.Fatalf("DebugPrepare = %q, installed %v; want a note and no debugger", note, d.Installed())
	}
	time.Sleep(50 * time.Millisecond)
	if r := s.Execute(context.Background(), "close(stop)"); r.Err != nil {
		t.Fatal(r.Err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.DebugPrepare() != "" {
		if time.Now().After(deadline) {
			t.Fatal("the debugger did not come in once the goroutine ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !d.Installed() {
		t.Fatal("not installed once the goroutine ended")
	}
	if r := s.Execute(context.Background(), "tick()\nticks > 0"); r.Err != nil || r.Value["text/plain"] != "true" {
		t.Fatalf("after: %+v", r)
	}
}

// BenchmarkDebuggerInPlace measures a cell of interpreted calls with and
// without the debugger in place (every step then goes through it).
func BenchmarkDebuggerInPlace(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			s, err := New(Options{Output: newRecorder()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if r := s.Execute(context.Background(), "func sq(i int) int { return i * i }"); r.Err != nil {
				b.Fatal(r.Err)
			}
			if on {
				d := s.Debugger()
				if err := d.Attach(DebugOptions{Source: sourceOf}); err != nil {
					b.Fatal(err)
				}
				defer func() { d.Detach(); s.DebugPrepare() }()
			}
			if note := s.DebugPrepare(); note != "" {
				b.Fatal(note)
			}
			b.ResetTimer()
			for range b.N {
				if r := s.Execute(context.Background(), "t := 0\nfor i := 0; i < 10000; i++ {\n\tt += sq(i)\n}"); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		})
	}
}
