package native

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"atonce/models"
	nativert "atonce/models/native"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// sourceDir is atonce's source: this repository.
func sourceDir(t testing.TB) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBuilder is a Builder with a cache of its own (the Go build cache is
// the shared, default one).
func newBuilder(t testing.TB) *Builder {
	return &Builder{SourceDir: sourceDir(t), CacheDir: t.TempDir()}
}

// cells reads a notebook fixture: cells separated by "-- cell --" lines.
func cells(t testing.TB, name string) []string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "-- cell --\n")
}

// generateBuild generates and builds cells, as a native run does before
// its first task starts.
func generateBuild(t testing.TB, b *Builder, cells []string, task string, opt Options) (*Program, *Binary) {
	t.Helper()
	ctx := context.Background()
	p, err := b.Generate(ctx, cells, task)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := b.Build(ctx, p, opt)
	if err != nil {
		t.Fatalf("%v\n%s", err, p.Source())
	}
	return p, bin
}

// outcome is what running a task once in a built program tells.
type outcome struct {
	Result json.RawMessage
	// Error is the task's failure: its error, or its panic with the stack.
	Error string
	// Vars are the variables the state gave the program, then as the
	// task changed them.
	Vars map[string]json.RawMessage
	// Remade are the variables the program made anew by their
	// declaration, from its notes on loading the state.
	Remade []string
}

// runTask starts the built program of p as the engine does (workerpool's
// Pipe launcher, a state of the variables' starting values, vars as a JSON
// object), runs its task once with arg (an index, "" for 0), and returns
// the outcome; the error says why the program did not answer.
func runTask(t *testing.T, p *Program, bin, task, arg, vars string) (outcome, error) {
	t.Helper()
	w, st := startProgram(t, p, bin, vars)
	out := outcome{Vars: map[string]json.RawMessage{}}
	for name, v := range st.Globals {
		out.Vars[name] = v
	}
	// Loaded again, the program says what it did with the variables.
	if _, err := w.Send(workermsg.Message{Kind: workermsg.KindState, State: &st}); err != nil {
		return out, err
	}
	m, _, err := w.Receive()
	if err != nil || m.Ready == nil {
		return out, fmt.Errorf("loading the state: %v, %+v", err, m)
	}
	for _, note := range m.Ready.Notes {
		if name, ok := strings.CutSuffix(strings.SplitN(note, ":", 2)[0], " is made anew by its declaration"); ok {
			out.Remade = append(out.Remade, name)
		}
	}
	slices.Sort(out.Remade)
	i := 0
	if arg != "" {
		if i, err = strconv.Atoi(arg); err != nil {
			t.Fatalf("task argument %q: %v", arg, err)
		}
	}
	msg := workermsg.Task{ID: "t", Run: "r", StateKey: st.Key, Func: task, Index: i}
	if _, err := w.Send(workermsg.Message{Kind: workermsg.KindTask, Task: &msg}); err != nil {
		return out, err
	}
	if m, _, err = w.Receive(); err != nil || m.Result == nil {
		return out, fmt.Errorf("running the task: %v, %+v", err, m)
	}
	out.Result, out.Error = m.Result.Value, m.Result.Err
	for name, v := range m.Result.Globals {
		out.Vars[name] = v
	}
	return out, nil
}

// state is the notebook state of p's program with the variables' values
// vars (a JSON object, "" for none).
func state(t *testing.T, p *Program, vars string) workermsg.State {
	t.Helper()
	globals := map[string]json.RawMessage{}
	if vars != "" {
		if err := json.Unmarshal([]byte(vars), &globals); err != nil {
			t.Fatalf("starting values %s: %v", vars, err)
		}
		for name, v := range globals {
			var b bytes.Buffer
			if err := json.Compact(&b, v); err != nil {
				t.Fatal(err)
			}
			globals[name] = b.Bytes()
		}
	}
	return workermsg.NewState(nativert.Version(p.Hash), nil, globals)
}

// startProgram starts the built program of p through a workerpool with
// the Pipe launcher, in the state of vars; it is stopped when the test
// ends.
func startProgram(t *testing.T, p *Program, bin, vars string) (*workerpool.Worker, workermsg.State) {
	t.Helper()
	st := state(t, p, vars)
	pool := workerpool.New(workerpool.Pipe{Command: []string{bin, "-pipe"}, State: st})
	t.Cleanup(pool.Close)
	w, err := pool.Start(context.Background(), workerpool.StartOptions{Name: "the native program"})
	if err != nil {
		t.Fatalf("starting the native program: %v", err)
	}
	return w, st
}

// awaits tells whether the task's sleeps are the runtime's await points:
// under eventloop, two calls overlap only if the first gives the loop
// away at a sleep (a time.Sleep of its own would hold it to the end).
func awaits(t *testing.T, p *Program, bin, task string) bool {
	t.Helper()
	w, st := startProgram(t, p, bin, "")
	rep, err := models.RunInWorker(context.Background(), w, workermsg.Run{Model: "eventloop", Func: task, N: 2, Workers: 2, StateKey: st.Key})
	if err != nil || len(rep.Tasks) != 2 {
		t.Fatalf("%s under eventloop: %v, %+v", task, err, rep.Tasks)
	}
	return rep.Tasks[1].Start < rep.Tasks[0].End
}

// fileWith returns the generated file holding text, and its name.
func fileWith(p *Program, text string) (name, src string) {
	for n, s := range p.Files {
		if strings.Contains(s, text) {
			return n, s
		}
	}
	return "", ""
}

func TestBuildAndRun(t *testing.T) {
	b := newBuilder(t)
	for _, tt := range []struct {
		name     string
		cells    string
		task     string
		arg      string
		vars     string // starting values, JSON
		result   string // JSON
		after    map[string]string
		types    map[string]string
		notes    []string
		remade   []string
		awaits   bool // the task sleeps at the runtime's await points
		generate func(t *testing.T, p *Program)
	}{
		{
			name:  "redefinitions: last wins, a var assigned again is its first declaration",
			cells: "redefine.cells", task: "work", arg: "3", vars: `{"x": 7}`,
			result: "12", after: map[string]string{"x": "7"}, types: map[string]string{"x": "int"},
		},
		{
			name:  "variables of the notebook's own types cross",
			cells: "vars.cells", task: "work", arg: "2",
			vars:   `{"p": {"Name": "z", "N": 10}, "ps": [{"Name": "z", "N": 10}, {"Name": "y", "N": 1}], "m": {"z": {"Name": "z", "N": 10}}}`,
			result: "5",
			after: map[string]string{
				"p":  `{"Name":"z","N":12}`,
				"ps": `[{"Name":"z","N":10},{"Name":"y","N":1},{"Name":"b","N":2}]`,
				"m":  `{"b":{"Name":"","N":2},"z":{"Name":"z","N":10}}`,
			},
			types: map[string]string{"p": "P", "ps": "[]P", "m": "map[string]P"},
		},
		{
			name:  "variables that cannot cross are made anew or start at zero",
			cells: "cross.cells", task: "work", arg: "5", vars: `{"counter": 41}`,
			result: "18", after: map[string]string{"counter": "42"},
			types: map[string]string{"ch": "chan int", "idle": "chan int", "mu": "sync.Mutex", "double": "func(i int) int", "hook": "func()"},
			notes: []string{
				"ch is made anew by its declaration: a channel cannot cross as JSON",
				"idle starts at its zero value: a channel cannot cross as JSON",
				"mu starts at its zero value: a sync.Mutex cannot cross as JSON: it has no exported fields",
				"double is made anew by its declaration: a func cannot cross as JSON",
				"hook starts at its zero value: a func cannot cross as JSON",
			},
			remade: []string{"ch", "double"},
		},
		{
			name:  "time.Sleep is the runtime's, whatever the import's name",
			cells: "sleep.cells", task: "work", result: "null", awaits: true,
			generate: func(t *testing.T, p *Program) {
				for name, src := range p.Files {
					if strings.Contains(src, `"time"`) && !strings.Contains(src, "time.Millisecond") {
						t.Errorf("%s imports time for nothing:\n%s", name, src)
					}
					if strings.Contains(src, "Sleep(") && !strings.Contains(src, "__atonce.Sleep/*line") {
						t.Errorf("%s calls a Sleep that is not the runtime's:\n%s", name, src)
					}
				}
				if _, src := fileWith(p, "func nap()"); !strings.Contains(src, `__atonce.Sleep/*line cell2:1:21*/(1000000)`) {
					t.Errorf("t.Sleep not rewritten in place:\n%s", src)
				}
			},
		},
		{
			name:  "atonce/display is atonce's own package",
			cells: "display.cells", task: "work", result: "36",
			types: map[string]string{"last": "*display.Handle"},
			notes: []string{"last starts at its zero value: a display.Handle cannot cross as JSON: it has no exported fields"},
			generate: func(t *testing.T, p *Program) {
				if _, src := fileWith(p, "\nlast *"); !strings.Contains(src, `"atonce/interp/display"`) {
					t.Errorf("display is not imported from atonce/interp/display:\n%s", src)
				}
			},
		},
		{
			name:  "a pasted program's main is a task",
			cells: "program.cells", task: "main", result: "null", after: map[string]string{"ran": "1"},
		},
		{
			name:  "a pasted program's main is called by name",
			cells: "program.cells", task: "twice", vars: `{"ran": 5}`, result: "null", after: map[string]string{"ran": "7"},
		},
		{
			name:  "imports no cell uses are dropped",
			cells: "imports.cells", task: "work", result: `"OK4"`,
			generate: func(t *testing.T, p *Program) {
				for name, src := range p.Files {
					if strings.Contains(src, `"os"`) {
						t.Errorf("%s imports os, which no cell uses:\n%s", name, src)
					}
				}
				_, src := fileWith(p, "func root()")
				if !strings.Contains(src, `. "math"`) {
					t.Errorf("the dot import of math is missing where Sqrt is used:\n%s", src)
				}
				if !strings.Contains(src, "\n//go:noinline\n//line cell2:3:1\nfunc root()") {
					t.Errorf("the func's compiler directive is lost:\n%s", src)
				}
				if _, src := fileWith(p, "func work()"); strings.Contains(src, `"math"`) {
					t.Errorf("the dot import of math is kept where nothing uses it:\n%s", src)
				}
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := b.Generate(context.Background(), cells(t, tt.cells), tt.task)
			if err != nil {
				t.Fatal(err)
			}
			if tt.generate != nil {
				tt.generate(t, p)
			}
			for name, want := range tt.types {
				i := slices.IndexFunc(p.Vars, func(v Var) bool { return v.Name == name })
				if i < 0 {
					t.Errorf("no variable %s in %+v", name, p.Vars)
				} else if got := p.Vars[i].Type; got != want {
					t.Errorf("type of %s: got %s, want %s", name, got, want)
				}
			}
			if got := p.Notes(); !slices.Equal(got, tt.notes) {
				t.Errorf("notes:\ngot  %q\nwant %q", got, tt.notes)
			}
			bin, err := b.Build(context.Background(), p, Options{})
			if err != nil {
				t.Fatalf("%v\n%s", err, p.Source())
			}
			out, err := runTask(t, p, bin.Path, tt.task, tt.arg, tt.vars)
			if err != nil || out.Error != "" {
				t.Fatalf("running the program: %v %s", err, out.Error)
			}
			if got := string(out.Result); got != tt.result && !(got == "" && tt.result == "null") {
				t.Errorf("result: got %s, want %s", got, tt.result)
			}
			for name, want := range tt.after {
				if got := string(out.Vars[name]); got != want {
					t.Errorf("%s after the task: got %s, want %s", name, got, want)
				}
			}
			if !slices.Equal(out.Remade, tt.remade) {
				t.Errorf("remade: got %q, want %q", out.Remade, tt.remade)
			}
			if got := awaits(t, p, bin.Path, tt.task); got != tt.awaits {
				t.Errorf("under eventloop, a second %s started while the first ran: got %t, want %t (only the runtime's sleeps give the loop away)", tt.task, got, tt.awaits)
			}
		})
	}
}

func TestCompileErrorsInCells(t *testing.T) {
	b := newBuilder(t)
	ctx := context.Background()
	p, err := b.Generate(ctx, cells(t, "errors.cells"), "work")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Build(ctx, p, Options{})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *CompileError", err)
	}
	want := []CellError{
		{Cell: 2, Line: 2, Col: 2, Msg: "declared and not used: unused", Source: "\tunused := x"},
		{Cell: 3, Line: 1, Col: 27, Msg: `cannot use "s" (untyped string constant) as int value in return statement`, Source: `func other() int { return "s" }`},
		// A variable whose type is unknown keeps its initializer: the
		// error is there.
		{Cell: 4, Line: 1, Col: 6, Msg: "undefined: nope", Source: "y := nope() + x"},
	}
	if !slices.Equal(ce.Errors, want) {
		t.Errorf("errors:\ngot  %+v\nwant %+v", ce.Errors, want)
	}
	if got, want := ce.Errors[0].Excerpt(), []string{"    \tunused := x", "    \t^"}; !slices.Equal(got, want) {
		t.Errorf("excerpt: got %q, want %q", got, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "cell 2, line 2:2: declared and not used: unused") || !strings.Contains(msg, "cell 3, line 1:27") {
		t.Errorf("message lists the errors by cell and line: got %q", msg)
	}
}

// TestPanicInCell runs a task that panics: the traceback points at the
// cell and line as typed.
func TestPanicInCell(t *testing.T) {
	p, bin := generateBuild(t, newBuilder(t), cells(t, "panic.cells"), "work", Options{})
	out, err := runTask(t, p, bin.Path, "work", "5", "")
	if err != nil {
		t.Fatal(err)
	}
	stack := out.Error
	if !strings.HasPrefix(stack, "task 5 panicked: runtime error: index out of range [5]") {
		t.Fatalf("the task's error: got %s, want its panic, the index error", stack)
	}
	_, frame, _ := strings.Cut(stack, "main.work(")
	cell, line, col, ok := ParsePosition(frame)
	if !ok {
		t.Fatalf("no cell position in the stack's frame of work: %s", stack)
	}
	at := p.At(cell, line, col, "")
	if want := (CellError{Cell: 2, Line: 3, Source: "\treturn xs[i]"}); at != want {
		t.Errorf("work's frame: got %+v, want %+v", at, want)
	}
	if got, want := at.Excerpt(), []string{"    \treturn xs[i]"}; !slices.Equal(got, want) {
		t.Errorf("excerpt: got %q, want %q", got, want)
	}
}

func TestTaskRefused(t *testing.T) {
	b := newBuilder(t)
	for _, tt := range []struct {
		name, task, want string
	}{
		{"missing", "nope", "the notebook defines no function nope"},
		{"shape", "named", "named has type func(s string) int, which a model cannot call; a task is one of: " + Shapes},
		{"variable", "count", "count is a variable of type int"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Generate(context.Background(), []string{"count := 0\nfunc named(s string) int { return len(s) }"}, tt.task)
			if !errors.Is(err, ErrNoTask) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrNoTask saying %q", err, tt.want)
			}
		})
	}
}

func TestNoToolchain(t *testing.T) {
	nowhere := t.TempDir()
	t.Setenv("PATH", nowhere)
	t.Setenv("GOROOT", filepath.Join(nowhere, "go"))
	b := newBuilder(t)
	_, err := b.Generate(context.Background(), []string{"func work() {}"}, "work")
	if !errors.Is(err, ErrNoToolchain) {
		t.Fatalf("got %v, want ErrNoToolchain", err)
	}
	for _, want := range []string{"go1.26 or later", "no `go` on PATH", "https://go.dev/dl", "Interpreted runs still work"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}

func TestNoSource(t *testing.T) {
	for _, tt := range []struct {
		name, dir, want string
	}{
		{"unknown", "", "does not know where that is: build atonce with `make build`"},
		{"moved", filepath.Join(t.TempDir(), "atonce"), "is not at"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := &Builder{SourceDir: tt.dir, CacheDir: t.TempDir()}
			_, err := b.Generate(context.Background(), []string{"func work() {}"}, "work")
			if !errors.Is(err, ErrNoSource) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrNoSource saying %q", err, tt.want)
			}
		})
	}
}

// TestUnchangedReused builds a notebook, then builds it again, in the
// same Builder and in a new one (a restarted kernel): no go command runs.
func TestUnchangedReused(t *testing.T) {
	b := newBuilder(t)
	nb := cells(t, "vars.cells")
	_, first := generateBuild(t, b, nb, "work", Options{})
	if first.Cached {
		t.Errorf("first build: Cached")
	}
	for _, again := range []*Builder{b, {SourceDir: b.SourceDir, CacheDir: b.CacheDir}} {
		runs := again.goRuns.Load()
		_, bin := generateBuild(t, again, nb, "work", Options{})
		if got := again.goRuns.Load() - runs; got != 0 || !bin.Cached || bin.Path != first.Path {
			t.Errorf("again: %d go commands, Cached %v, %s; want none, true, %s", got, bin.Cached, bin.Path, first.Path)
		}
	}
	// One changed cell: one build.
	changed := slices.Clone(nb)
	changed[1] = strings.Replace(changed[1], "len(ps) + len(m)", "len(ps)", 1)
	runs := b.goRuns.Load()
	_, bin := generateBuild(t, b, changed, "work", Options{})
	if got := b.goRuns.Load() - runs; got != 1 || bin.Cached || bin.Path == first.Path {
		t.Errorf("changed cell: %d go commands, Cached %v, %s; want 1, false, a new binary", got, bin.Cached, bin.Path)
	}
}

// TestBuildOptions builds for another system, and with the race detector
// (the first time, each compiles atonce's dependencies anew: a minute or
// more; skipped with -short).
func TestBuildOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library for another target the first time")
	}
	b := newBuilder(t)
	nb := cells(t, "racy.cells")
	t.Run("linux/arm64", func(t *testing.T) {
		_, bin := generateBuild(t, b, nb, "work", Options{GOOS: "linux", GOARCH: "arm64"})
		f, err := elf.Open(bin.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 || bin.GOOS != "linux" || bin.GOARCH != "arm64" {
			t.Errorf("got a %s binary for %s/%s, want EM_AARCH64 for linux/arm64", f.Machine, bin.GOOS, bin.GOARCH)
		}
	})
	t.Run("race", func(t *testing.T) {
		p, bin := generateBuild(t, b, nb, "work", Options{Race: true})
		if !bin.Race {
			t.Errorf("Binary.Race is false")
		}
		races, err := models.RaceCheck(context.Background(), &models.Remote{Func: "work", State: state(t, p, `{"counter": 0}`)},
			[]string{bin.Path, "-pipe"}, []string{"sequential"}, 1, 0)
		if err != nil || len(races) != 1 || races[0].Vars["counter"] == 0 || !strings.Contains(races[0].Sample, "cell2:7") {
			t.Errorf("got %+v, %v; want the race detector's report of counter++ at cell2:7, on counter", races, err)
		}
	})
}

// TestCrossing checks what the program says of variables JSON carries
// whole, in part, or not at all.
func TestCrossing(t *testing.T) {
	p, err := newBuilder(t).Generate(context.Background(), cells(t, "crossing.cells"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Var{
		{Name: "z", Type: "complex128", Crossing: Remade, Why: "a complex number cannot cross as JSON"},
		{Name: "byKey", Type: "map[Inner]int", Crossing: Remade, Why: "a map keyed by Inner cannot cross as JSON"},
		{Name: "e", Type: "error", Crossing: Zero, Why: "an interface value (error) cannot cross as JSON: its dynamic type would be lost"},
		{Name: "when", Type: "time.Time", Crossing: Crosses},
		{Name: "n", Type: "*big.Int", Crossing: Crosses},
		{Name: "hits", Type: "atomic.Int64", Crossing: Zero, Why: "an atomic.Int64 cannot cross as JSON: it has no exported fields"},
		{Name: "o", Type: "Outer", Crossing: Partly, Lost: []string{"In.b (unexported)", `Skip (tagged json:"-")`, "Any (an interface: its dynamic type is lost)"}},
		{Name: "w", Type: "WithChan", Crossing: Remade, Why: "a channel cannot cross as JSON (field C)"},
	} {
		i := slices.IndexFunc(p.Vars, func(v Var) bool { return v.Name == want.Name })
		if i < 0 {
			t.Errorf("no variable %s", want.Name)
			continue
		}
		got := p.Vars[i]
		got.Cell, got.Line = 0, 0
		if got.Name != want.Name || got.Type != want.Type || got.Crossing != want.Crossing || got.Why != want.Why || !slices.Equal(got.Lost, want.Lost) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", want.Name, got, want)
		}
	}
	if got, want := p.Notes()[len(p.Notes())-2], "o crosses as JSON without In.b (unexported), Skip (tagged json:\"-\"), Any (an interface: its dynamic type is lost): they start at their zero values"; got != want {
		t.Errorf("note: got %q, want %q", got, want)
	}
	if _, err := newBuilder(t).Build(context.Background(), p, Options{}); err != nil {
		t.Error(err)
	}
}
