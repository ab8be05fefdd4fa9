package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"atonce/models/workermsg"
)

// RaceCheck runs the task under each of the named in-process models in
// one worker process built with Go's race detector (command starts it,
// e.g. a `go build -race` atonce binary with "worker -pipe"), and
// returns what the detector reported for each model. n and workers are
// the run's sizes. The worker rebuilds the notebook from r.State like a
// processes worker.
func RaceCheck(ctx context.Context, r *Remote, command []string, names []string, n, workers int) ([]workermsg.Races, error) {
	dir, err := os.MkdirTemp("", "atonce-race")
	if err != nil {
		return nil, fmt.Errorf("making a place for the race detector's log: %w", err)
	}
	defer os.RemoveAll(dir)
	logPath := filepath.Join(dir, "race")
	env := append(os.Environ(), "GORACE=halt_on_error=0 log_path="+logPath, "ATONCE_RACE_LOG="+logPath)
	wp, err := startWorker(command, env, func(o workermsg.Output) {
		if r.Output != nil {
			r.Output(0, o)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("starting the race-detector worker: %w", err)
	}
	stop := context.AfterFunc(ctx, wp.kill)
	defer stop()
	defer wp.stop()
	hello, err := wp.hello()
	if err != nil {
		return nil, fmt.Errorf("the race-detector worker did not start: %s", wp.explain("the race-detector worker", err))
	}
	if hello.Version != r.State.Version {
		return nil, fmt.Errorf("the race-detector worker is atonce %s but the kernel is atonce %s", hello.Version, r.State.Version)
	}
	ready, err := wp.load(r.State)
	if err != nil {
		return nil, fmt.Errorf("the race-detector worker died rebuilding the notebook: %s", wp.explain("the race-detector worker", err))
	}
	if ready.Err != "" {
		return nil, fmt.Errorf("the race-detector worker could not rebuild the notebook: %s", ready.Err)
	}
	var out []workermsg.Races
	for _, name := range names {
		req := workermsg.Race{Model: name, Func: r.Func, N: n, Workers: workers, StateKey: r.State.Key}
		if _, err := wp.conn.Send(workermsg.Message{Kind: workermsg.KindRace, Race: &req}); err != nil {
			return out, fmt.Errorf("asking the race-detector worker: %w", err)
		}
		m, _, err := wp.receive()
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			out = append(out, workermsg.Races{Model: name, Err: wp.explain("the race-detector worker", err)})
			return out, nil
		}
		if m.Kind != workermsg.KindRace || m.Races == nil {
			return out, fmt.Errorf("the race-detector worker answered with a %q message", m.Kind)
		}
		out = append(out, *m.Races)
	}
	return out, nil
}
