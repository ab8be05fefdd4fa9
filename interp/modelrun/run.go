package modelrun

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

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
func Configure(c Config) { config = c }

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

// Run runs the spec's models, in order, on the notebook's function. Each
// model starts from the variables as they were before Run; afterwards
// the notebook holds what the sequential run left (or, without a
// sequential run, what it held before). It returns the reports so far
// when ctx is done.
//
// before, if set, is called before each model with the reports so far.
func Run(ctx context.Context, nb Notebook, spec Spec, progress Progress, before func(model string, done []models.Report)) ([]models.Report, error) {
	if spec.Func == "" {
		return nil, fmt.Errorf("no task function: name one (%%models Func) or declare one in the cell\n%s", Usage())
	}
	fn, err := nb.Func(ctx, spec.Func)
	if err != nil {
		return nil, err
	}
	if _, err := models.TaskOf(spec.Func, fn, spec.N); err != nil {
		return nil, err
	}
	start := Snapshot(nb.Vars())
	after := start
	// What tasks print in worker processes goes to the cell, when the
	// notebook can print.
	var workerOutput func(int, workermsg.Output)
	if p, ok := nb.(interface{ Print(stream, text string) }); ok {
		workerOutput = func(_ int, o workermsg.Output) { p.Print(o.Stream, o.Text) }
	}
	// The notebook's state for worker processes: encoding every variable
	// costs, so only when a model runs tasks elsewhere.
	var rem *models.Remote
	if anyModel(spec.Models, inWorkers) {
		rem = remote(nb, spec, workerOutput)
	}
	// Models whose workers may be on other machines run on the cluster.
	if anyModel(spec.Models, func(t models.Traits) bool { return t.Hosts }) {
		if rem.Cluster, err = Cluster(ctx); err != nil {
			return nil, err
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
			nb.Stop()
		case <-stopped:
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
	// Under the debugger the warm-up call would stop at the task's
	// breakpoints before the run, and timings mean little anyway.
	if debugging(nb) {
		if p, ok := nb.(interface{ Print(stream, text string) }); ok {
			p.Print("stderr", "atonce: the debugger is on: interpreted code runs many times slower under it, so the timings say little; each task of a model whose tasks run at the same time is a goroutine of its own in the debugger\n")
		}
	}
	if anyModel(spec.Models, inEngine) && !debugging(nb) {
		models.Prewarm()
		warmUp(ctx, fn, spec)
	}
	// With -repeat, the models take turns round by round (A B C, A B C,
	// ...) rather than each running its repeats back to back, so that a
	// slow minute of the machine lands on every model alike.
	runs := make([][]models.Report, len(spec.Models))
	medians := func(upTo int) []models.Report {
		var out []models.Report
		for i := 0; i < upTo; i++ {
			if len(runs[i]) > 0 {
				out = append(out, median(runs[i]))
			}
		}
		return out
	}
	for r := 0; r < spec.Repeat; r++ {
		for i, name := range spec.Models {
			m, err := models.ByName(name)
			if err != nil {
				return medians(i), err
			}
			if before != nil {
				before(name, medians(i))
			}
			if err := start.Restore(nb.Vars()); err != nil {
				return medians(i), fmt.Errorf("putting the notebook's variables back before %s: %w", name, err)
			}
			// Fetch the function afresh: a value from before an
			// interrupt silently returns zeros.
			fn, err := taskFunc(ctx, nb, spec.Func, m.Traits())
			if err != nil {
				return medians(i), err
			}
			task, err := models.TaskOf(spec.Func, fn, spec.N)
			if err != nil {
				return medians(i), err
			}
			task.Remote = rem
			opt := models.Options{Workers: spec.Workers, Trace: spec.Trace}
			if progress != nil {
				opt.Progress = progress
			}
			baseline := m.Traits().Baseline
			if baseline {
				opt.Workers = 0
			}
			rep, err := m.Run(ctx, task, opt)
			if len(spec.Watch) > 0 {
				rep.Globals = models.JSONGlobals(nb.Vars(), spec.Watch)
			}
			if err != nil {
				reports := append(medians(i), rep)
				if rerr := start.Restore(nb.Vars()); rerr != nil {
					err = errors.Join(err, rerr)
				}
				return reports, err
			}
			runs[i] = append(runs[i], rep)
			if baseline {
				after = Snapshot(nb.Vars())
			}
		}
	}
	reports := medians(len(spec.Models))
	if err := after.Restore(nb.Vars()); err != nil {
		return reports, fmt.Errorf("putting back the state the sequential run left: %w", err)
	}
	return reports, nil
}

// median returns the run with the median wall time.
func median(runs []models.Report) models.Report {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b models.Report) int { return cmp.Compare(a.Wall, b.Wall) })
	return sorted[(len(sorted)-1)/2]
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
	task, err := models.TaskOf(spec.Func, fn, 1)
	if err != nil {
		return
	}
	func() {
		defer func() { _ = recover() }() // a failing task fails in the runs, where it is reported
		_, _ = task.Call(ctx, 0)
	}()
}
