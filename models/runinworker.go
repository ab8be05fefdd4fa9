package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// RunInWorker runs an in-process model in the process of w (a worker
// that holds the notebook state run.StateKey and serves
// workermsg.KindRun: a native program) and returns the model's report,
// made there. This is how native mode runs sequential, eventloop, gil
// and threads on the notebook's compiled code without risking the
// engine: a `fatal error: concurrent map writes` under threads ends the
// worker alone, and RunInWorker returns an error that says so from the
// worker's last words (Worker.Explain), with a report that carries it.
// When ctx is done the worker is killed (a compiled task busy on a CPU
// cannot be stopped from inside) and ctx's error returned.
//
// Like Model.Run, it fills the report even on error; an error that is
// the run's own (it stopped part way) is the report's Err too.
func RunInWorker(ctx context.Context, w *workerpool.Worker, run workermsg.Run) (Report, error) {
	rep := Report{Model: run.Model, Task: run.Func, Traits: TraitsOf(run.Model), Tasks: []TaskRecord{}}
	fail := func(err error) (Report, error) {
		rep.Err = err.Error()
		return rep, err
	}
	release := w.KillOnDone(ctx)
	defer release()
	if _, err := w.Send(workermsg.Message{Kind: workermsg.KindRun, Run: &run}); err != nil {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return fail(errors.New(w.Explain(fmt.Errorf("asking it to run %s: %w", run.Model, err))))
	}
	m, _, err := w.Receive()
	switch {
	case err != nil && ctx.Err() != nil:
		return fail(fmt.Errorf("%s: stopped: %w", run.Model, ctx.Err()))
	case err != nil:
		return fail(fmt.Errorf("%s: %s", run.Model, w.Explain(err)))
	case m.Kind != workermsg.KindRun || m.Ran == nil:
		return fail(fmt.Errorf("%s: %s answered a model run with a %q message", run.Model, w.Name(), m.Kind))
	case m.Ran.Err != "":
		return fail(fmt.Errorf("%s: %s", run.Model, m.Ran.Err))
	}
	if err := json.Unmarshal(m.Ran.Report, &rep); err != nil {
		return fail(fmt.Errorf("%s: %s sent a report that does not read: %w", run.Model, w.Name(), err))
	}
	if len(m.Ran.Trace) > 0 {
		rep.Trace = &RunTrace{Process: m.Ran.Trace}
	}
	if rep.Err != "" {
		return rep, errors.New(rep.Err)
	}
	return rep, nil
}
