package native

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"atonce/models"
	"atonce/models/workermsg"
	"atonce/models/workerserve"
)

// runner serves a Program's compiled functions to the engine: a
// workerserve.Runner, Racer and ModelRunner.
type runner struct {
	prog  Program
	hello workermsg.Hello
	funcs map[string]reflect.Value
	// vars are the variables themselves (settable), and start their
	// values when the program started, for those that do not cross.
	vars  map[string]reflect.Value
	start map[string]reflect.Value
	names []string // of vars, sorted

	// mu makes Load, Run, RunModel and Race one at a time (workerserve
	// calls them so anyway).
	mu       sync.Mutex
	state    workermsg.State            // the state loaded; Key "" for none
	baseline map[string]json.RawMessage // the variables right after loading

	// flush, if set, returns once what the tasks printed so far has gone
	// to the engine: before an answer, so that output comes first.
	flush func()

	// running is the run of the task in progress, and stop cancels its
	// context; StopRun reads them without waiting for mu.
	stopMu  sync.Mutex
	running string
	stop    context.CancelFunc
}

var (
	_ workerserve.Runner      = (*runner)(nil)
	_ workerserve.Racer       = (*runner)(nil)
	_ workerserve.ModelRunner = (*runner)(nil)
)

// newRunner checks p (the generator's output) and keeps what serving it
// needs: each variable's value as the program started, before any state.
func newRunner(p Program) (*runner, error) {
	r := &runner{
		prog:  p,
		hello: workerserve.NewHello(Version(p.Source)),
		funcs: map[string]reflect.Value{},
		vars:  map[string]reflect.Value{},
		start: map[string]reflect.Value{},
	}
	for name, fn := range p.Funcs {
		v := reflect.ValueOf(fn)
		if v.Kind() != reflect.Func || v.IsNil() {
			return nil, fmt.Errorf("Program.Funcs[%q] is a %T, not a function", name, fn)
		}
		r.funcs[name] = v
	}
	for name, ptr := range p.Vars {
		v := reflect.ValueOf(ptr)
		if v.Kind() != reflect.Pointer || v.IsNil() {
			return nil, fmt.Errorf("Program.Vars[%q] is a %T, not a pointer to the variable", name, ptr)
		}
		r.vars[name] = v.Elem()
		at := reflect.New(v.Elem().Type()).Elem()
		at.Set(v.Elem())
		r.start[name] = at
		r.names = append(r.names, name)
	}
	for name := range p.Remake {
		if _, ok := r.vars[name]; !ok {
			return nil, fmt.Errorf("Program.Remake[%q] remakes a variable Program.Vars lacks", name)
		}
	}
	slices.Sort(r.names)
	return r, nil
}

// Hello implements workerserve.Runner.
func (r *runner) Hello() workermsg.Hello { return r.hello }

// Loaded implements workerserve.Runner.
func (r *runner) Loaded() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Key
}

// Load implements workerserve.Runner: it refuses a state of another
// version (another notebook source), ignores the state's cells (the
// program is them), and sets the variables from its globals.
func (r *runner) Load(_ context.Context, st workermsg.State) workermsg.Ready {
	started := time.Now()
	ready := workermsg.Ready{Key: st.Key}
	if st.Version != r.hello.Version {
		ready.Err = fmt.Sprintf("this native program was built from other cells (it is %s, the notebook's state is %s): the engine builds a program for the notebook as it is now and starts that one", r.hello.Version, st.Version)
		return ready
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ready.Notes = r.setVars(st.Globals)
	r.flushOutput() // what an initializer Remake ran printed
	r.state = st
	r.baseline = models.JSONGlobals(r.vars, nil)
	ready.ReplayNS = int64(time.Since(started))
	return ready
}

// setVars sets every variable from its JSON in globals; a variable
// without JSON, or whose JSON does not decode, is remade by its
// declaration if Remake can, else set back to its value at the program's
// start. It returns a note per variable that did not cross.
func (r *runner) setVars(globals map[string]json.RawMessage) []string {
	var notes, remake []string
	why := map[string]string{}
	for _, name := range r.names {
		v := r.vars[name]
		raw, ok := globals[name]
		if ok {
			p := reflect.New(v.Type())
			err := json.Unmarshal(raw, p.Interface())
			if err == nil {
				v.Set(p.Elem())
				continue
			}
			why[name] = fmt.Sprintf("its value does not cross as JSON (%v)", err)
		} else {
			why[name] = "its value does not cross as JSON"
		}
		if _, ok := r.prog.Remake[name]; ok {
			remake = append(remake, name)
			continue
		}
		notes = append(notes, r.restart(name, why[name]))
	}
	// After the variables that crossed, which an initializer may read.
	for _, name := range remake {
		if err := call(r.prog.Remake[name]); err != nil {
			notes = append(notes, r.restart(name, fmt.Sprintf("%s, and its declaration failed when run again (%v)", why[name], err)))
			continue
		}
		notes = append(notes, fmt.Sprintf("%s is made anew by its declaration: %s", name, why[name]))
	}
	return notes
}

// restart sets variable name back to its value at the program's start
// and says so, and why.
func (r *runner) restart(name, why string) string {
	r.vars[name].Set(r.start[name])
	if r.start[name].IsZero() {
		return fmt.Sprintf("%s starts from its zero value: %s", name, why)
	}
	return fmt.Sprintf("%s starts from the value its declaration gave it when the program started: %s", name, why)
}

// call calls f, turning a panic into an error.
func call(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	f()
	return nil
}

// task returns the task of function name, n calls, in state key; its
// error is in the user's words.
func (r *runner) task(key, name string, n int) (models.Task, error) {
	if r.state.Key == "" || r.state.Key != key {
		return models.Task{}, fmt.Errorf("the native program does not hold the notebook state %s", key)
	}
	fn, ok := r.funcs[name]
	if !ok {
		names := make([]string, 0, len(r.funcs))
		for f := range r.funcs {
			names = append(names, f)
		}
		slices.Sort(names)
		if len(names) == 0 {
			return models.Task{}, fmt.Errorf("the notebook has no function %s of a task's shape (%s), and none at all", name, models.Shapes)
		}
		return models.Task{}, fmt.Errorf("the notebook has no function %s of a task's shape (%s); it has %s", name, models.Shapes, strings.Join(names, ", "))
	}
	task, err := models.TaskOf(name, fn, n)
	if err != nil {
		return task, err
	}
	return withStack(task), nil
}

// maxStack bounds the stack a panicking task's error carries.
const maxStack = 4 << 10

// withStack makes a panic in t carry the stack where it happened: the
// task's error is then "task 3 panicked: VALUE", a blank line, and the
// panicking goroutine's frames from the panic on, whose positions are the
// cells' (the generator's //line directives), for the engine to point at
// the cell and line.
func withStack(t models.Task) models.Task {
	call := t.Call
	t.Call = func(ctx context.Context, i int) (any, error) {
		defer func() {
			if p := recover(); p != nil {
				panic(panicked{value: p, stack: panicStack(debug.Stack())})
			}
		}()
		return call(ctx, i)
	}
	return t
}

// panicked is a task's panic with its stack.
type panicked struct {
	value any
	stack string
}

func (p panicked) String() string { return fmt.Sprintf("%v\n\n%s", p.value, p.stack) }

// panicStack keeps of a stack taken while panicking its first line and
// the frames from the panic down to the task's function, at most maxStack
// bytes.
func panicStack(b []byte) string {
	s := string(b)
	head, rest, _ := strings.Cut(s, "\n")
	if i := strings.Index(rest, "\npanic("); i >= 0 {
		rest = rest[i+1:]
	}
	// Below the task's own frames: the reflection call and the runtime's.
	if i := strings.Index(rest, "\nreflect.Value.call("); i >= 0 {
		rest = rest[:i]
	}
	out := head + "\n" + strings.TrimRight(rest, "\n")
	if len(out) > maxStack {
		out = out[:maxStack] + "\n..."
	}
	return out
}

// Run implements workerserve.Runner: one call of the task's function in
// the variables as the state and the earlier tasks left them.
func (r *runner) Run(ctx context.Context, t workermsg.Task) workermsg.Result {
	res := workermsg.Result{ID: t.ID, Run: t.Run, Index: t.Index, Worker: r.hello.ID}
	r.mu.Lock()
	defer r.mu.Unlock()
	task, err := r.task(t.StateKey, t.Func, t.Index+1)
	if err != nil {
		now := time.Now().UnixNano()
		res.Start, res.End, res.Err = now, now, err.Error()
		return res
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.stopMu.Lock()
	r.running, r.stop = t.Run, cancel
	r.stopMu.Unlock()
	setCurrent(tctx)

	res.Start = time.Now().UnixNano()
	value, err := task.Do(tctx, t.Index)
	res.End = time.Now().UnixNano()

	setCurrent(context.Background())
	r.stopMu.Lock()
	r.running, r.stop = "", nil
	r.stopMu.Unlock()
	r.flushOutput()
	if tctx.Err() != nil && err == nil {
		err = fmt.Errorf("task %d was stopped: its run was interrupted", t.Index)
	}
	workerserve.SetOutcome(&res, value, err)
	res.Globals = workerserve.Changed(models.JSONGlobals(r.vars, t.Watch), r.baseline)
	return res
}

// StopRun implements workerserve.Runner: the task in progress, if it
// belongs to run, has its context cancelled, so that its Sleep returns
// at once. Compiled code busy on a CPU goes on until it returns: only
// killing the process stops it.
func (r *runner) StopRun(run string) {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	if r.running != "" && r.running == run && r.stop != nil {
		r.stop()
	}
}

// inProcess runs a model in this process with the task of function fn,
// n calls, in state key: run is called with the variables set back to
// the state's, and Sleep waiting on ctx. Its error says why the task
// could not be made.
func (r *runner) inProcess(ctx context.Context, key, fn string, n int, run func(models.Task)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	task, err := r.task(key, fn, n)
	if err != nil {
		return err
	}
	r.setVars(r.state.Globals)
	setCurrent(ctx)
	defer setCurrent(context.Background())
	defer r.flushOutput()
	run(task)
	return nil
}

// flushOutput waits for what the tasks printed to reach the engine.
func (r *runner) flushOutput() {
	if r.flush != nil {
		r.flush()
	}
}

// RunModel implements workerserve.ModelRunner: the model runs the task
// in this process, from the variables as the loaded state has them.
func (r *runner) RunModel(ctx context.Context, req workermsg.Run) workermsg.Ran {
	var ran workermsg.Ran
	err := r.inProcess(ctx, req.StateKey, req.Func, req.N, func(task models.Task) {
		ran = workerserve.RunModel(ctx, req, task, r.vars)
	})
	if err != nil {
		return workermsg.Ran{Model: req.Model, Err: err.Error()}
	}
	return ran
}

// Race implements workerserve.Racer, for a program built with -race: as
// RunModel, with the races attributed to the variables.
func (r *runner) Race(ctx context.Context, req workermsg.Race) workermsg.Races {
	var races workermsg.Races
	err := r.inProcess(ctx, req.StateKey, req.Func, req.N, func(task models.Task) {
		races = workerserve.Race(ctx, req, task, r.vars)
	})
	if err != nil {
		return workermsg.Races{Model: req.Model, Err: err.Error()}
	}
	return races
}
