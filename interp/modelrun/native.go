package modelrun

import (
	"context"
	"fmt"

	"atonce/interp/nativerun"
	"atonce/models"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// Native is the native half of a run: the notebook built by the Go
// toolchain (nativerun), and the process of that build that runs the
// in-process models, one model run after another, replaced when a model
// kills it (a `fatal error: concurrent map writes` under threads is that
// model's outcome, and the next model starts in a fresh process). The
// processes model starts its own processes of the build; the distributed
// model runs them on a queue of the build's own (nativeCluster). Close
// stops every process it started.
type Native struct {
	build  *nativerun.Build
	worker *workerpool.Worker
	warmed bool // the run's first process had its warm-up
	// current is what to call the last cell of the notebook, when it is
	// the one being run ("this cell"), in errors that point at cells.
	current string
}

// PrepareNative builds the notebook (its successful cells, with spec.Func
// as the task) for the native runs of spec, its variables' current values
// as the program's starting state. say, if set, tells the user that a
// build is under way. The error is nativerun.Prepare's: no toolchain
// (nativerun.Unavailable), a *native.CompileError, an interrupted build.
func PrepareNative(ctx context.Context, nb Notebook, spec Spec, say func(string)) (*Native, error) {
	b, err := nativerun.Prepare(ctx, nb.History(), nativerun.Options{Task: spec.Func, Vars: nb.Vars(), Say: say, Output: printer(nb)})
	if err != nil {
		return nil, err
	}
	return &Native{build: b}, nil
}

// printer is where what tasks print in other processes goes: the cell,
// when the notebook can print.
func printer(nb Notebook) func(workermsg.Output) {
	if p, ok := nb.(interface{ Print(stream, text string) }); ok {
		return func(o workermsg.Output) { p.Print(o.Stream, o.Text) }
	}
	return nil
}

// Notes are what the run shows once about the variables that do not
// start with the notebook's values.
func (n *Native) Notes() []string { return n.build.Notes }

// GoVersion is the toolchain that built the program.
func (n *Native) GoVersion() string { return n.build.Binary.GoVersion }

// Close stops the processes the run started.
func (n *Native) Close() { n.build.Close() }

// run runs model m natively: an in-process model inside the program's
// process, a model with workers of its own with the program as its
// workers. The report says its mode and toolchain.
func (n *Native) run(ctx context.Context, m models.Model, spec Spec, opt models.Options) (models.Report, error) {
	name := m.Traits().Name
	if opt.Progress != nil {
		progress := opt.Progress
		opt.Progress = func(model string, done, total int) { progress(model+" (native)", done, total) }
	}
	var rep models.Report
	var err error
	if m.Traits().Placement == models.InEngine {
		rep, err = n.inProcess(ctx, name, spec, opt)
	} else {
		rep, err = n.inWorkers(ctx, m, spec, opt)
	}
	rep.Mode, rep.GoVersion = models.Native, n.GoVersion()
	for i, t := range rep.Tasks {
		if t.Err != "" {
			rep.Tasks[i].Err = n.build.WherePanicked(t.Err, n.current)
		}
	}
	return rep, err
}

// inProcess runs the in-process model name in the program's process,
// started when there is none or the last one died. The run's first
// process is warmed up with one untimed task, as the engine warms up
// for interpreted runs: the first model measured in a fresh process
// would pay its page faults.
func (n *Native) inProcess(ctx context.Context, name string, spec Spec, opt models.Options) (models.Report, error) {
	fail := func(err error) (models.Report, error) {
		rep := models.NewReport(models.TraitsOf(name), models.Task{Name: spec.Func, N: spec.N})
		rep.Err = err.Error()
		return rep, err
	}
	for attempt := 0; n.alive() == nil; attempt++ {
		if attempt == 2 {
			return fail(fmt.Errorf("%s: the native program died in its warm-up, twice", name))
		}
		w, err := n.build.Start(ctx, "the native program")
		if err != nil {
			return fail(err)
		}
		n.worker = w
		if !n.warmed {
			n.warmed = true
			_, _ = models.RunInWorker(ctx, w, workermsg.Run{Model: baselineName(), Func: spec.Func, N: 1, StateKey: n.build.State.Key})
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
	}
	if opt.Progress != nil {
		opt.Progress(name, 0, spec.N)
	}
	rep, err := models.RunInWorker(ctx, n.worker, workermsg.Run{
		Model: name, Func: spec.Func, N: spec.N, Workers: opt.Workers, Trace: opt.Trace, KeepTrace: opt.KeepTrace,
		StateKey: n.build.State.Key, Watch: spec.Watch,
	})
	if err == nil && opt.Progress != nil {
		opt.Progress(name, spec.N, spec.N)
	}
	return rep, err
}

// alive returns the program's process that runs the in-process models,
// nil when there is none or it died.
func (n *Native) alive() *workerpool.Worker {
	if n.worker != nil {
		select {
		case <-n.worker.Exited():
			n.worker = nil
		default:
		}
	}
	return n.worker
}

// baselineName is the baseline model's name, "" if none.
func baselineName() string {
	if m, ok := models.BaselineModel(); ok {
		return m.Name()
	}
	return ""
}

// inWorkers runs model m, whose tasks run in worker processes, with the
// program's processes as its workers.
func (n *Native) inWorkers(ctx context.Context, m models.Model, spec Spec, opt models.Options) (models.Report, error) {
	task := models.Task{Name: spec.Func, N: spec.N, Remote: &models.Remote{
		Func: spec.Func, State: n.build.State, Watch: spec.Watch,
		Command: n.build.Command(), Output: func(_ int, o workermsg.Output) {
			if out := n.build.Output(); out != nil {
				out(o)
			}
		},
	}}
	if m.Traits().Hosts {
		c, err := NativeCluster(ctx, nativerun.Builder(), n.build.Program, n.build.Binary)
		if err != nil {
			rep := models.NewReport(m.Traits(), task)
			rep.Err = err.Error()
			return rep, err
		}
		task.Remote.Cluster = c
	}
	return m.Run(ctx, task, opt)
}
