package workerpool_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"atonce/internal/leakcheck"
	"atonce/models/modeltest"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// The test binary doubles as a worker (modeltest's).
func TestMain(m *testing.M) {
	modeltest.ServeWorkerIfAsked()
	os.Exit(m.Run())
}

var worker = []string{os.Args[0], modeltest.WorkerArg, "-pipe"}

func state(version string) workermsg.State {
	return workermsg.NewState(version, []string{os.DevNull}, nil)
}

// TestStart: a worker greets and is ready, or Start says why not —
// refused, dead, or interrupted — and leaves no process behind.
func TestStart(t *testing.T) {
	for _, tt := range []struct {
		name        string
		launcher    workerpool.Pipe
		cancelAfter time.Duration // cancel the start's ctx after this long; 0: never
		wantErr     string        // "" for a worker that greets
		wantRefused bool
	}{
		{"greets", workerpool.Pipe{Command: worker, State: state(modeltest.Version)}, 0, "", false},
		{"another version", workerpool.Pipe{Command: worker, State: state("v0")}, 0, "is atonce modeltest but the kernel is atonce v0", true},
		{"no such binary", workerpool.Pipe{Command: []string{"/nonexistent/worker"}, State: state(modeltest.Version)}, 0, "could not start", true},
		{"dies before greeting", workerpool.Pipe{Command: []string{"/bin/sh", "-c", "echo 'panic: no hello' >&2; exit 3"}, State: state(modeltest.Version)}, 0, "panic: no hello", false},
		{"never greets", workerpool.Pipe{Command: []string{"/bin/sh", "-c", "exec sleep 60"}, State: state(modeltest.Version)}, 50 * time.Millisecond, "context canceled", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := leakcheck.Goroutines()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAfter > 0 {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			pool := workerpool.New(tt.launcher)
			w, err := pool.Start(ctx, workerpool.StartOptions{Name: "worker 0"})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Start: %v, want a ready worker", err)
			case tt.wantErr == "":
				if h := w.Hello(); h.PID != w.PID() || h.Version != modeltest.Version {
					t.Errorf("Hello = %+v, want PID %d and version %s", h, w.PID(), modeltest.Version)
				}
				if live := pool.Live(); len(live) != 1 || live[0] != w {
					t.Errorf("Live = %v, want the one worker", live)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Start error = %v, want one saying %q", err, tt.wantErr)
			case workerpool.IsRefused(err) != tt.wantRefused:
				t.Errorf("IsRefused(%v) = %v, want %v", err, !tt.wantRefused, tt.wantRefused)
			}
			pool.Close()
			if kids, err := leakcheck.Children(); err == nil && len(kids) > 0 {
				t.Errorf("processes %v left after Close", kids)
			}
			if _, err := pool.Start(context.Background(), workerpool.StartOptions{Name: "late"}); err == nil {
				t.Error("Start after Close: no error, want the pool closed")
			}
			snap.Check(t)
		})
	}
}

// TestKillOnDone: every worker of a pool is killed once ctx is done, and
// release waits for the kill.
func TestKillOnDone(t *testing.T) {
	pool := workerpool.New(workerpool.Pipe{Command: worker, State: state(modeltest.Version)})
	defer pool.Close()
	workers, err := pool.StartN(context.Background(), 2, workerpool.StartOptions{Name: "worker"})
	if err != nil || len(workers) != 2 {
		t.Fatalf("StartN = %d workers, %v; want 2", len(workers), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	release := pool.KillOnDone(ctx)
	cancel()
	release()
	for _, w := range workers {
		<-w.Exited()
		if got := w.Explain(nil); !strings.Contains(got, "signal 9") {
			t.Errorf("worker %d ended: %s; want killed by signal 9", w.PID(), got)
		}
	}
	if live := pool.Live(); len(live) != 0 {
		t.Errorf("Live = %d workers after the kill, want none", len(live))
	}
}
