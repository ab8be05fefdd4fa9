package modelrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"time"

	"atonce/interp/nativerun"
	"atonce/models"
	"atonce/models/workermsg"
)

// Notebook is what a run needs from the interpreter session.
type Notebook interface {
	// Func returns the notebook function name, callable from any goroutine.
	Func(ctx context.Context, name string) (reflect.Value, error)
	// Vars returns the notebook's variables as settable values.
	Vars() map[string]reflect.Value
	// Stop makes notebook code the host called return at its next step.
	Stop()
	// History returns the Go code of the cells that ran successfully,
	// which worker processes replay to rebuild the notebook.
	History() []string
}

// debugFuncer is a Notebook whose debugger can follow each call of a
// task as a goroutine of its own, when asked with DebugFunc instead of
// Func (see interp.Session.DebugFunc).
type debugFuncer interface {
	DebugFunc(ctx context.Context, name string) (reflect.Value, error)
	// Debugging tells whether the debugger is in place.
	Debugging() bool
}

// debugging tells whether nb's debugger is in place: the tasks then run
// under it, which is no time to measure.
func debugging(nb Notebook) bool {
	d, ok := nb.(debugFuncer)
	return ok && d.Debugging()
}

// taskFunc fetches the task for model m: for a model whose tasks run at
// the same time in the engine, one the debugger tells apart per task.
func taskFunc(ctx context.Context, nb Notebook, name string, t models.Traits) (reflect.Value, error) {
	if d, ok := nb.(debugFuncer); ok && t.Placement == models.InEngine && t.Switching == models.Simultaneous {
		return d.DebugFunc(ctx, name)
	}
	return nb.Func(ctx, name)
}

// Config is what runs need to know of the program they run in.
type Config struct {
	// Version is the kernel's version; workers must match it.
	Version string
	// WorkerCommand starts a local worker process serving pipes on fds 3
	// and 4, e.g. {"/usr/bin/atonce", "worker", "-pipe"}.
	WorkerCommand []string
	// SourceDir is atonce's source directory, from which -race builds a
	// race-detector worker; "" if unknown.
	SourceDir string
	// StateDir is the kernel's state directory (atonce/internal/statedir),
	// where the distributed model's cluster keeps what the next engine
	// needs to bring it back after a crash; "" keeps nothing.
	StateDir string
	// Logger receives what runs log for the kernel's log; nil means
	// slog.Default().
	Logger *slog.Logger
}

var config Config

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// Configure sets what runs need to know of the program: the engine calls
// it once at start.
func Configure(c Config) {
	config = c
	nativerun.Configure(c.SourceDir)
}

// remote describes the notebook for the models that run tasks in other
// processes: the cells to replay and the variables' values at the start.
func remote(nb Notebook, spec Spec, output func(worker int, o workermsg.Output)) *models.Remote {
	return &models.Remote{
		Func:    spec.Func,
		State:   workermsg.NewState(config.Version, nb.History(), models.JSONGlobals(nb.Vars(), nil)),
		Watch:   spec.Watch,
		Command: config.WorkerCommand,
		Output:  output,
	}
}

// anyModel tells whether one of the named models has traits keep says
// yes to.
func anyModel(names []string, keep func(models.Traits) bool) bool {
	return slices.ContainsFunc(names, func(name string) bool { return keep(models.TraitsOf(name)) })
}

func inEngine(t models.Traits) bool  { return t.Placement == models.InEngine }
func inWorkers(t models.Traits) bool { return t.Placement == models.InWorkers }

// Progress is told, after each task, which model runs and how far it is.
type Progress func(model string, done, total int)

// Before is told, before each model runs in a mode, which, and given the
// reports so far.
type Before func(model string, mode models.Mode, done []models.Report)

// Hooks are told how a run goes; any of them may be nil. They are called
// from the goroutine that called Run, between model runs (Progress
// during them), so what they take is time between runs, never a
// model's measured time.
type Hooks struct {
	// Progress is told after each finished task.
	Progress Progress
	// Before is told before each model's run, the warm-up's included,
	// with the reports of the others that have measured runs (combined
	// over the rounds so far; nil in the warm-up): what a checkpoint
	// saves, so that a model that kills the engine is reported and the
	// others are not run again.
	Before Before
	// Round is told as each round starts, 0 being the unmeasured
	// warm-up, and the most rounds the run may take.
	Round func(round, upTo int)
	// Measured is told after each measured model run: every model's
	// runs so far combined (models.Combine), speedups set, in the order
	// of the spec's models and modes.
	Measured func(reports []models.Report)
	// Stopped is told, when the rounds end, how many there were and why
	// no more.
	Stopped func(rounds int, why string)
}

// Run runs the spec's models on the notebook's function in rounds, in
// each of which every model takes its turn (each model in one mode, then
// the other; each round starting one turn later than the one before), so
// that a slow minute of the machine lands on every model alike and each
// model's speedup can be paired with the baseline's of the same round. An unmeasured warm-up round comes first, unless the
// run takes one round only; then as many rounds as the spec's plan says
// (Spec.Repeat, or until models.Known within Spec.Rounds and
// Spec.Budget). Each model's report combines its rounds (models.Combine:
// the median round, every round's figures, its speedup's interval); a
// calibration loop (models.Calibrate) is timed before each round.
//
// Each model starts from the variables as they were before Run;
// afterwards the notebook holds what the last sequential interpreted run
// left (or, without one, what it held before: native runs leave the
// notebook alone). It returns the reports so far when ctx is done.
//
// A native run that fails (the program crashed, a worker could not
// start) is that model's outcome, and it takes no more turns; the others
// go on.
func Run(ctx context.Context, nb Notebook, spec Spec, hooks Hooks) ([]models.Report, error) {
	if spec.Func == "" {
		return nil, fmt.Errorf("no task function: name one (%%models Func) or declare one in the cell\n%s", Usage())
	}
	if len(spec.Modes) == 0 {
		spec.Modes = []models.Mode{models.Interpreted}
	}
	interpreted := spec.has(models.Interpreted)
	// Under the debugger the warm-up would stop at the task's
	// breakpoints before the run, every round again after it, and the
	// timings mean little anyway: one round, no warm-up.
	if interpreted && debugging(nb) {
		if out := printer(nb); out != nil {
			out(workermsg.Output{Stream: "stderr", Text: "atonce: the debugger is on: interpreted code runs many times slower under it, so the timings say little and the models run one round; each task of a model whose tasks run at the same time is a goroutine of its own in the debugger\n"})
		}
		spec.Repeat = 1
	}
	var fn reflect.Value
	if interpreted {
		var err error
		if fn, err = nb.Func(ctx, spec.Func); err != nil {
			return nil, err
		}
		if _, err := models.TaskOf(spec.Func, fn, spec.N); err != nil {
			return nil, err
		}
	}
	if spec.has(models.Native) && spec.Native == nil {
		nat, err := PrepareNative(ctx, nb, spec, nil)
		if err != nil {
			return nil, err
		}
		defer nat.Close()
		spec.Native = nat
	}
	r := &rounds{nb: nb, spec: spec, hooks: hooks, start: Snapshot(nb.Vars())}
	r.after, r.do = r.start, r.runOne
	// The notebook's own copy of the watched variables, which the models
	// whose tasks run in other processes never touch.
	r.startGlobals = models.JSONGlobals(nb.Vars(), spec.Watch)
	// The notebook's state for worker processes: encoding every variable
	// costs, so only when a model runs tasks elsewhere.
	if interpreted && anyModel(spec.Models, inWorkers) {
		r.remote = remote(nb, spec, func(_ int, o workermsg.Output) {
			if out := printer(nb); out != nil {
				out(o)
			}
		})
		// Models whose workers may be on other machines run on the cluster.
		if anyModel(spec.Models, func(t models.Traits) bool { return t.Hosts }) {
			var err error
			if r.remote.Cluster, err = Cluster(ctx); err != nil {
				return nil, err
			}
		}
	}
	// An interrupt must also stop tasks in the middle of interpreted
	// code: the interpreter only checks for it in code it runs itself.
	stopped := make(chan struct{})
	var stopper sync.WaitGroup
	stopper.Add(1)
	go func() {
		defer stopper.Done()
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		// Stop what runs now, and again until the run returns: Stop ends
		// only the code running when it is called, and a task that
		// starts after the interrupt came (the interrupt came while the
		// run was being prepared, or between two models) would spin on.
		again := time.NewTicker(100 * time.Millisecond)
		defer again.Stop()
		for {
			nb.Stop()
			select {
			case <-stopped:
				return
			case <-again.C:
			}
		}
	}()
	defer func() {
		close(stopped)
		stopper.Wait()
	}()
	// One collector setting for the whole comparison, and a heap that is
	// already mapped: else the first model pays the page faults of a
	// growing heap and every model the faults of one given back.
	restore := models.Tune()
	defer restore()
	if interpreted && anyModel(spec.Models, inEngine) && !debugging(nb) {
		models.Prewarm()
		warmUp(ctx, fn, spec)
	}
	reports, err := r.run(ctx)
	if err != nil {
		return reports, err
	}
	if err := r.after.Restore(nb.Vars()); err != nil {
		return reports, fmt.Errorf("putting back the state the sequential run left: %w", err)
	}
	return reports, nil
}

// rounds is one Run's rounds: each slot (a model in a mode, in the order
// of the spec's models, each in its modes) gathers its runs.
type rounds struct {
	nb           Notebook
	spec         Spec
	hooks        Hooks
	start, after State
	startGlobals map[string]json.RawMessage
	remote       *models.Remote

	// do runs slot k once (runOne; a test's synthetic model).
	do func(ctx context.Context, k int, done []models.Report) (models.Report, time.Duration, error)

	runs   [][]models.Report // per slot, its measured runs in round order
	cals   [][]time.Duration // per slot, the calibration before each run
	failed []*models.Report  // per slot, the run that failed (native), after which it takes no turns
}

// slot is slot k's model and mode.
func (r *rounds) slot(k int) (string, models.Mode) {
	modes := r.spec.Modes
	return r.spec.Models[k/len(modes)], modes[k%len(modes)]
}

// combined returns, in slot order, each slot's runs combined (or the
// run it failed), speedups set among them, leaving slot except out (-1:
// none); extra, if given, stands for slot at while that has nothing yet
// (a run that stopped).
func (r *rounds) combined(except, at int, extra *models.Report) []models.Report {
	var out []models.Report
	for k := range r.runs {
		switch {
		case k == except:
		case r.failed[k] != nil:
			out = append(out, *r.failed[k])
		case len(r.runs[k]) > 0:
			out = append(out, models.Combine(r.runs[k], r.cals[k]))
		case k == at && extra != nil:
			out = append(out, *extra)
		}
	}
	models.SetSpeedups(out)
	return out
}

// run takes the warm-up and the rounds.
func (r *rounds) run(ctx context.Context) ([]models.Report, error) {
	slots := len(r.spec.Models) * len(r.spec.Modes)
	r.runs = make([][]models.Report, slots)
	r.cals = make([][]time.Duration, slots)
	r.failed = make([]*models.Report, slots)
	if slots == 0 {
		return nil, nil
	}
	p := r.spec.plan()
	if p.warmUp() {
		r.hooks.round(0, p.upTo(0))
		var warm []models.Report
		for k := range slots {
			rep, _, err := r.do(ctx, k, nil)
			if err != nil {
				// Interrupted while warming up: what ran is all there is.
				return append(warm, rep), err
			}
			if rep.Err != "" {
				// A native program that crashed: that is its outcome,
				// whichever round it happened in.
				r.failed[k] = &rep
			}
			warm = append(warm, rep)
		}
	}
	var measured time.Duration
	for round := 1; ; round++ {
		r.hooks.round(round, p.upTo(round))
		cal := models.Calibrate()
		failed, ran := false, 0
		// Each round starts one slot later (A B C, B C A, C A B, ...), so
		// that no model always runs first or last in a round.
		for i := range slots {
			k := (i + round - 1) % slots
			if r.failed[k] != nil {
				continue
			}
			ran++
			rep, took, err := r.do(ctx, k, r.combined(k, -1, nil))
			if err != nil {
				return r.combined(-1, k, &rep), err
			}
			if rep.Err != "" {
				r.failed[k] = &rep
				continue
			}
			r.runs[k] = append(r.runs[k], rep)
			r.cals[k] = append(r.cals[k], cal)
			measured += took
			failed = failed || slices.ContainsFunc(rep.Tasks, func(t models.TaskRecord) bool { return t.Err != "" })
			if r.hooks.Measured != nil {
				r.hooks.Measured(r.combined(-1, -1, nil))
			}
		}
		all := r.combined(-1, -1, nil)
		more, why := p.next(round, measured, all, failed)
		if ran == 0 {
			more, why, round = false, "every model failed", round-1
		}
		if !more {
			if r.hooks.Stopped != nil {
				r.hooks.Stopped(round, why)
			}
			return all, nil
		}
	}
}

// round tells Round, if set, that a round starts.
func (h Hooks) round(round, upTo int) {
	if h.Round != nil {
		h.Round(round, upTo)
	}
}

// runOne runs slot k's model in its mode once, from the notebook's
// starting state, telling Before first (done is the reports so far; nil
// in the warm-up), and returns its report and how long the run took. A
// native run that failed returns its report with Err set and no error
// unless ctx is done; an error is the end of the comparison.
func (r *rounds) runOne(ctx context.Context, k int, done []models.Report) (models.Report, time.Duration, error) {
	spec := r.spec
	name, mode := r.slot(k)
	m, err := models.ByName(name)
	if err != nil {
		return models.Report{}, 0, err
	}
	if r.hooks.Before != nil {
		r.hooks.Before(name, mode, done)
	}
	opt := models.Options{Workers: spec.Workers, Trace: spec.Trace, KeepTrace: spec.TraceDir != "", Progress: r.hooks.Progress}
	baseline := m.Traits().Baseline
	if baseline {
		opt.Workers = 0
	}
	if mode == models.Native {
		began := time.Now()
		rep, err := spec.Native.run(ctx, m, spec, opt)
		took := time.Since(began)
		if len(spec.Watch) > 0 && m.Traits().Placement != models.InEngine {
			rep.Globals = r.startGlobals
		}
		if err != nil && ctx.Err() != nil {
			return rep, took, err
		}
		if err != nil && rep.Err == "" {
			rep.Err = err.Error()
		}
		return rep, took, nil
	}
	failed := func(err error) (models.Report, time.Duration, error) {
		return models.NewReport(m.Traits(), models.Task{Name: spec.Func, N: spec.N}), 0, err
	}
	if err := r.start.Restore(r.nb.Vars()); err != nil {
		return failed(fmt.Errorf("putting the notebook's variables back before %s: %w", name, err))
	}
	// Fetch the function afresh: a value from before an interrupt
	// silently returns zeros.
	fn, err := taskFunc(ctx, r.nb, spec.Func, m.Traits())
	if err != nil {
		return failed(err)
	}
	task, err := models.TaskOf(spec.Func, fn, spec.N)
	if err != nil {
		return failed(err)
	}
	task.Remote = r.remote
	// Every run starts from a collected heap: with collection held off
	// until the heap nears its limit (models.Tune), the run that crossed
	// the limit paid for every run's garbage before it (the drafts'
	// drawing's too), a cost that fell on whichever model's turn it was.
	runtime.GC()
	began := time.Now()
	rep, err := m.Run(ctx, task, opt)
	took := time.Since(began)
	rep.Mode = models.Interpreted
	if err == nil && ctx.Err() != nil {
		// Every task returned, but an interrupt came first: a task the
		// interrupt cut short returns zeros (yaegi's cancel, or a task
		// stopped in the debugger, which is let go), not its results.
		err = fmt.Errorf("%s: interrupted: %w", name, ctx.Err())
	}
	if len(spec.Watch) > 0 {
		rep.Globals = models.JSONGlobals(r.nb.Vars(), spec.Watch)
	}
	if err != nil {
		if rerr := r.start.Restore(r.nb.Vars()); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return rep, took, err
	}
	if baseline {
		r.after = Snapshot(r.nb.Vars())
	}
	return rep, took, nil
}

// Summary is one line about a finished comparison, for the progress line.
func Summary(reports []models.Report, took time.Duration) string {
	return fmt.Sprintf("ran %d model(s) in %s", len(reports), took.Round(time.Millisecond))
}

// warmUp calls the task once, untimed, before the first model: the first
// model measured otherwise ran about 10% slower than the same work
// measured later (a fresh heap, cold caches), which skewed every speedup.
// The caller restores the notebook's variables afterwards.
func warmUp(ctx context.Context, fn reflect.Value, spec Spec) {
	if ctx.Err() != nil {
		// Interrupted already: fn was fetched before the interrupt, and
		// the interpreter's stop does not reach a call of it begun after.
		return
	}
	task, err := models.TaskOf(spec.Func, fn, 1)
	if err != nil {
		return
	}
	func() {
		defer func() { _ = recover() }() // a failing task fails in the runs, where it is reported
		_, _ = task.Call(ctx, 0)
	}()
}
