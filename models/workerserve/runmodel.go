package workerserve

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"atonce/models"
	"atonce/models/workermsg"
)

// RunModel runs task under the in-process model req names, in this
// process, and answers with the model's report; with req.Watch, the
// report's Globals are those of vars (the notebook's package-level
// variables) after the run. A model whose tasks run in other processes is
// refused: a worker runs only models that run in the process they are
// asked in. The caller finds the task and resets the variables first.
func RunModel(ctx context.Context, req workermsg.Run, task models.Task, vars map[string]reflect.Value) workermsg.Ran {
	ran := workermsg.Ran{Model: req.Model}
	m, err := models.ByName(req.Model)
	if err != nil {
		ran.Err = err.Error()
		return ran
	}
	if m.Traits().Placement != models.InEngine {
		ran.Err = fmt.Sprintf("%s runs its tasks in worker processes of its own, not in the process asked to run it; a worker runs only the models that run in process: %s", req.Model, strings.Join(models.InProcessNames(), ", "))
		return ran
	}
	rep, _ := m.Run(ctx, task, models.Options{Workers: req.Workers, Trace: req.Trace, KeepTrace: req.KeepTrace})
	if rep.Trace != nil {
		ran.Trace = rep.Trace.Process
	}
	if len(req.Watch) > 0 {
		rep.Globals = models.JSONGlobals(vars, req.Watch)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		// A task's result JSON cannot encode: say so in its record, as a
		// worker does of a task's result, and keep the rest.
		for i := range rep.Tasks {
			if _, err := json.Marshal(rep.Tasks[i].Result); err != nil {
				rep.Tasks[i].Err = joinErr(rep.Tasks[i].Err, cannotCross(rep.Tasks[i].Index, rep.Tasks[i].Result, err))
				rep.Tasks[i].Result = nil
			}
		}
		if b, err = json.Marshal(rep); err != nil {
			ran.Err = fmt.Sprintf("the report of %s cannot cross to the notebook: %v", req.Model, err)
			return ran
		}
	}
	ran.Report = b
	return ran
}
