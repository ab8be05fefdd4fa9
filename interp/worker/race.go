package worker

import (
	"context"

	"atonce/models"
	"atonce/models/workermsg"
	"atonce/models/workerserve"
)

// Race runs the notebook function under an in-process model in this
// process, which must be built with the race detector and started as
// models.RaceCheck starts it, and reports the data races seen, attributed
// to the notebook's variables by address (see workerserve.Race).
func (w *Worker) Race(ctx context.Context, req workermsg.Race) workermsg.Races {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess == nil || w.key != req.StateKey {
		return workermsg.Races{Model: req.Model, Err: "the worker does not hold the notebook state " + req.StateKey}
	}
	fn, err := w.sess.Func(ctx, req.Func)
	if err != nil {
		return workermsg.Races{Model: req.Model, Err: err.Error()}
	}
	task, err := models.TaskOf(req.Func, fn, req.N)
	if err != nil {
		return workermsg.Races{Model: req.Model, Err: err.Error()}
	}
	defer w.sess.SyncOutput()
	return workerserve.Race(ctx, req, task, w.sess.Vars())
}
