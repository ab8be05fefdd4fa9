package modelrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
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

// Run runs the spec's models, in order, on the notebook's function, in
// each of the spec's modes (each model in one mode, then the other). Each
// model starts from the variables as they were before Run; afterwards the
// notebook holds what the sequential interpreted run left (or, without
// one, what it held before: native runs leave the notebook alone). It
// returns the reports so far when ctx is done.
//
// A native run that fails (the program crashed, a worker could not
// start) is that model's outcome, and the others go on.
func Run(ctx context.Context, nb Notebook, spec Spec, progress Progress, before Before) ([]models.Report, error) {
	if spec.Func == "" {
		return nil, fmt.Errorf("no task function: name one (%%models Func) or declare one in the cell\n%s", Usage())
	}
	if len(spec.Modes) == 0 {
		spec.Modes = []models.Mode{models.Interpreted}
	}
	interpreted := spec.has(models.Interpreted)
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
	start := Snapshot(nb.Vars())
	after := start
	// The notebook's own copy of the watched variables, which the models
	// whose tasks run in other processes never touch.
	startGlobals := models.JSONGlobals(nb.Vars(), spec.Watch)
	// The notebook's state for worker processes: encoding every variable
	// costs, so only when a model runs tasks elsewhere.
	var rem *models.Remote
	if interpreted && anyModel(spec.Models, inWorkers) {
		rem = remote(nb, spec, func(_ int, o workermsg.Output) {
			if out := printer(nb); out != nil {
				out(o)
			}
		})
		// Models whose workers may be on other machines run on the cluster.
		if anyModel(spec.Models, func(t models.Traits) bool { return t.Hosts }) {
			var err error
			if rem.Cluster, err = Cluster(ctx); err != nil {
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
	if interpreted && anyModel(spec.Models, inEngine) {
		models.Prewarm()
		warmUp(ctx, fn, spec)
	}
	// With -repeat, the models take turns round by round (A B C, A B C,
	// ...) rather than each running its repeats back to back, so that a
	// slow minute of the machine lands on every model alike; with two
	// modes, each model runs in one, then the other.
	modes := spec.Modes
	runs := make([][]models.Report, len(spec.Models)*len(modes))
	medians := func(upTo int) []models.Report {
		var out []models.Report
		for i := 0; i < upTo; i++ {
			if len(runs[i]) > 0 {
				out = append(out, models.Combine(runs[i], nil)) // the median run, its rounds kept for the speedups' intervals
			}
		}
		return out
	}
	for r := 0; r < spec.Repeat; r++ {
		for i, name := range spec.Models {
			m, err := models.ByName(name)
			if err != nil {
				return medians(i * len(modes)), err
			}
			for j, mode := range modes {
				k := i*len(modes) + j
				if before != nil {
					before(name, mode, medians(k))
				}
				opt := models.Options{Workers: spec.Workers, Trace: spec.Trace}
				if progress != nil {
					opt.Progress = progress
				}
				baseline := m.Traits().Baseline
				if baseline {
					opt.Workers = 0
				}
				if mode == models.Native {
					rep, err := spec.Native.run(ctx, m, spec, opt)
					if len(spec.Watch) > 0 && m.Traits().Placement != models.InEngine {
						rep.Globals = startGlobals
					}
					if err != nil && ctx.Err() != nil {
						return append(medians(k), rep), err
					}
					runs[k] = append(runs[k], rep)
					continue
				}
				if err := start.Restore(nb.Vars()); err != nil {
					return medians(k), fmt.Errorf("putting the notebook's variables back before %s: %w", name, err)
				}
				// Fetch the function afresh: a value from before an
				// interrupt silently returns zeros.
				fn, err := nb.Func(ctx, spec.Func)
				if err != nil {
					return medians(k), err
				}
				task, err := models.TaskOf(spec.Func, fn, spec.N)
				if err != nil {
					return medians(k), err
				}
				task.Remote = rem
				rep, err := m.Run(ctx, task, opt)
				rep.Mode = models.Interpreted
				if len(spec.Watch) > 0 {
					rep.Globals = models.JSONGlobals(nb.Vars(), spec.Watch)
				}
				if err != nil {
					reports := append(medians(k), rep)
					if rerr := start.Restore(nb.Vars()); rerr != nil {
						err = errors.Join(err, rerr)
					}
					return reports, err
				}
				runs[k] = append(runs[k], rep)
				if baseline {
					after = Snapshot(nb.Vars())
				}
			}
		}
	}
	reports := medians(len(runs))
	if err := after.Restore(nb.Vars()); err != nil {
		return reports, fmt.Errorf("putting back the state the sequential run left: %w", err)
	}
	return reports, nil
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
