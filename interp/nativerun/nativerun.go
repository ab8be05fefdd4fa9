// Package nativerun readies native runs for the magics (%%models -native,
// -mode both, %timeit -native): the notebook's successful cells
// generated and built as a Go program by interp/native, the notebook's
// variables as the program's starting state, and the program's processes,
// owned until Close. It knows the magics' words for what can go wrong:
// no toolchain, no source, code the compiler refuses.
package nativerun

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"atonce/interp/native"
	"atonce/models"
	nativert "atonce/models/native"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// builder generates and builds the programs of this process's notebook;
// one for the engine's life, so that it remembers what it learned (the
// toolchain, the imports' types, the programs generated).
var (
	builderMu sync.Mutex
	builder   *native.Builder
)

// Configure tells where atonce's source is, which native programs are
// built against: the engine calls it once at start, with the directory
// its binary was built from ("" when unknown: native runs then say so).
func Configure(sourceDir string) {
	builderMu.Lock()
	defer builderMu.Unlock()
	builder = native.New(sourceDir)
}

// Builder returns the engine's native builder (see Configure), for what
// builds the notebook's program on its own, such as the builds for other
// machines' platforms a distributed run sends them.
func Builder() *native.Builder { return theBuilder() }

func theBuilder() *native.Builder {
	builderMu.Lock()
	defer builderMu.Unlock()
	if builder == nil {
		builder = native.New("")
	}
	return builder
}

// Options are what Prepare builds.
type Options struct {
	// Task names the function the run calls ("" for none: a program that
	// serves any function of a task's shape).
	Task string
	// Race builds with the race detector.
	Race bool
	// Vars are the notebook's variables: their values when Prepare is
	// called are the program's starting state.
	Vars map[string]reflect.Value
	// Say, if set, tells the user what is going on (a progress line).
	Say func(string)
	// Output, if set, receives what the program's tasks print.
	Output func(workermsg.Output)
}

// Build is the notebook compiled for a run, and the processes started
// from it.
type Build struct {
	Program *native.Program
	Binary  *native.Binary
	// State is the notebook's state for the program: its version, and
	// the variables' values as JSON.
	State workermsg.State
	// Notes say which variables do not start with the notebook's values
	// (Program.Notes, the generator's helpers left out): once per run.
	Notes []string

	output func(workermsg.Output)
	pool   *workerpool.Pool
}

// Prepare generates and builds the program of cells (the notebook's
// successful cells, interp.Session.History) and makes its state from
// opt.Vars. An unchanged notebook finds its program built, and no go
// command runs. The error is in the notebook's words: it wraps
// native.ErrNoToolchain or native.ErrNoSource (see Unavailable), is a
// *native.CompileError, or says what else failed; cancelling ctx stops
// the build and every process it started.
func Prepare(ctx context.Context, cells []string, opt Options) (*Build, error) {
	b := theBuilder()
	say := opt.Say
	if say == nil {
		say = func(string) {}
	}
	say("compiling the notebook with the Go toolchain (go build; unchanged cells reuse the last build)")
	p, err := b.Generate(ctx, cells, opt.Task)
	if err != nil {
		return nil, explain(ctx, err)
	}
	bin, err := b.Build(ctx, p, native.Options{Race: opt.Race})
	if err != nil {
		return nil, explain(ctx, err)
	}
	build := &Build{
		Program: p,
		Binary:  bin,
		State:   workermsg.NewState(nativert.Version(p.Hash), nil, models.JSONGlobals(opt.Vars, nil)),
		output:  opt.Output,
	}
	for _, n := range p.Notes() {
		if !strings.HasPrefix(n, "__atonce") {
			build.Notes = append(build.Notes, n)
		}
	}
	build.pool = workerpool.New(workerpool.Pipe{Command: build.Command(), State: build.State})
	return build, nil
}

// explain puts err, from generating or building, in the magics' words.
func explain(ctx context.Context, err error) error {
	var ce *native.CompileError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("the native build was interrupted: %w", ctx.Err())
	case errors.As(err, &ce), Unavailable(err):
		return err
	case errors.Is(err, native.ErrNoTask):
		return fmt.Errorf("native mode: %w", err)
	}
	return fmt.Errorf("native mode could not build the notebook: %w", err)
}

// Unavailable tells whether err says native mode cannot run here at all
// (no Go toolchain, or no atonce source to build against), so that an
// interpreted run is all there is.
func Unavailable(err error) bool {
	return errors.Is(err, native.ErrNoToolchain) || errors.Is(err, native.ErrNoSource)
}

// Race is the same program built with the race detector (go build
// -race, which needs cgo and so a C compiler), from the same state: the
// native -race check.
func (b *Build) Race(ctx context.Context) (*Build, error) {
	bin, err := theBuilder().Build(ctx, b.Program, native.Options{Race: true})
	if err != nil {
		return nil, explain(ctx, err)
	}
	rb := &Build{Program: b.Program, Binary: bin, State: b.State, Notes: b.Notes, output: b.output}
	rb.pool = workerpool.New(workerpool.Pipe{Command: rb.Command(), State: rb.State})
	return rb, nil
}

// Command starts one of the program's workers on pipes, as the processes
// model starts its own.
func (b *Build) Command() []string { return []string{b.Binary.Path, "-pipe"} }

// Version is the program's version: the state's, and what its workers
// say.
func (b *Build) Version() string { return b.State.Version }

// Label says what made the build's figures, for timings and headings:
// "native, go1.26.8".
func (b *Build) Label() string {
	label := "native, " + b.Binary.GoVersion
	if b.Binary.Race {
		label += ", -race"
	}
	return label
}

// Start starts one of the program's processes, loaded with the state,
// and owns it until Close; what its tasks print goes to Options.Output.
func (b *Build) Start(ctx context.Context, name string) (*workerpool.Worker, error) {
	w, err := b.pool.Start(ctx, workerpool.StartOptions{Name: name, Output: b.output})
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("the native program did not start: %w", err)
	}
	return w, err
}

// Output is where what the program's tasks print goes (Options.Output).
func (b *Build) Output() func(workermsg.Output) { return b.output }

// Close stops the processes Start started and waits for them.
func (b *Build) Close() { b.pool.Close() }

// Call runs task i of the notebook function fn once in w, one of the
// program's processes, and returns its result; when ctx is done first,
// w is killed (compiled code busy on a CPU stops no other way) and ctx's
// error returned.
func Call(ctx context.Context, w *workerpool.Worker, stateKey, fn string, i int) (workermsg.Result, error) {
	stop := w.KillOnDone(ctx)
	defer stop()
	task := workermsg.Task{ID: fmt.Sprintf("%s.%d", fn, i), Run: fn, StateKey: stateKey, Func: fn, Index: i}
	if _, err := w.Send(workermsg.Message{Kind: workermsg.KindTask, Task: &task}); err != nil {
		if ctx.Err() != nil {
			return workermsg.Result{}, ctx.Err()
		}
		return workermsg.Result{}, errors.New(w.Explain(err))
	}
	m, _, err := w.Receive()
	switch {
	case err != nil && ctx.Err() != nil:
		return workermsg.Result{}, ctx.Err()
	case err != nil:
		return workermsg.Result{}, errors.New(w.Explain(err))
	case m.Kind != workermsg.KindResult || m.Result == nil:
		return workermsg.Result{}, fmt.Errorf("the native program answered a task with a %q message", m.Kind)
	}
	return *m.Result, nil
}
