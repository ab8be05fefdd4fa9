package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"atonce/internal/scratch"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// RaceCheck runs the task under each of the named in-process models in
// one worker process built with Go's race detector (command starts it,
// e.g. a `go build -race` atonce binary with "worker -pipe"), and
// returns what the detector reported for each model. n and workers are
// the run's sizes. The worker rebuilds the notebook from r.State like a
// processes worker.
func RaceCheck(ctx context.Context, r *Remote, command []string, names []string, n, workers int) ([]workermsg.Races, error) {
	dir, err := scratch.MkdirTemp("race-")
	if err != nil {
		return nil, fmt.Errorf("making a place for the race detector's log: %w", err)
	}
	defer os.RemoveAll(dir)
	logPath := filepath.Join(dir, "race")
	env := append(os.Environ(), "GORACE=halt_on_error=0 log_path="+logPath, workermsg.RaceLogEnv+"="+logPath)
	pool := workerpool.New(workerpool.Pipe{Command: command, Env: env, State: r.State})
	defer pool.Close()
	w, err := pool.Start(ctx, workerpool.StartOptions{Name: "the race-detector worker", Output: func(o workermsg.Output) {
		if r.Output != nil {
			r.Output(0, o)
		}
	}})
	switch {
	case err == nil:
	case ctx.Err() != nil, workerpool.IsRefused(err):
		return nil, err
	default:
		return nil, fmt.Errorf("the race-detector worker did not start: %w", err)
	}
	stop := w.KillOnDone(ctx)
	defer stop()
	var out []workermsg.Races
	for _, name := range names {
		req := workermsg.Race{Model: name, Func: r.Func, N: n, Workers: workers, StateKey: r.State.Key}
		if _, err := w.Send(workermsg.Message{Kind: workermsg.KindRace, Race: &req}); err != nil {
			return out, fmt.Errorf("asking the race-detector worker: %w", err)
		}
		m, _, err := w.Receive()
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			out = append(out, workermsg.Races{Model: name, Err: w.Explain(err)})
			return out, nil
		}
		if m.Kind != workermsg.KindRace || m.Races == nil {
			return out, fmt.Errorf("the race-detector worker answered with a %q message", m.Kind)
		}
		out = append(out, *m.Races)
	}
	return out, nil
}
