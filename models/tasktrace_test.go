package models_test

import (
	"context"
	"testing"
	"time"

	"atonce/models"
)

// TestTaskTracer: calls traced one after the other by a worker's
// TaskTracer show their states, blocked while they sleep, then running,
// within the call's own start and end; a call longer than the trace's
// generations (about a second each) is whole.
func TestTaskTracer(t *testing.T) {
	tt, err := models.StartTaskTracer()
	if err != nil {
		t.Skipf("no tracer: %v", err)
	}
	defer tt.Close()
	for _, sleep := range []time.Duration{5 * time.Millisecond, time.Millisecond, 1100 * time.Millisecond} {
		var start, end time.Time
		states, err := tt.Call(context.Background(), func(ctx context.Context) (time.Time, time.Time) {
			start = time.Now()
			time.Sleep(sleep)
			spin(5 * time.Millisecond)
			end = time.Now()
			return start, end
		})
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		checkSleepThenSpin(t, states, 0, end.Sub(start), sleep)
	}
	// Another trace cannot start while the tracer runs.
	if _, err := models.StartTaskTracer(); err == nil {
		t.Errorf("a second StartTaskTracer succeeded, want an error: the tracer is busy")
	}
}

// checkSleepThenSpin checks the states of a task that slept for sleep,
// then spun: spans in time order within [start, end], none empty, no two
// alike in a row; blocked for at least the sleep (less a millisecond of
// slack for the spans' merging), then, after the blocked part, running.
func checkSleepThenSpin(t *testing.T, states []models.Span, start, end, sleep time.Duration) {
	t.Helper()
	var blocked time.Duration
	lastBlocked, runningAfter := -1, false
	for k, s := range states {
		if s.Start < start || s.End > end || s.Start >= s.End {
			t.Errorf("span %d %s %v..%v: outside the task's %v..%v or empty", k, s.State, s.Start, s.End, start, end)
		}
		if k > 0 && (s.Start < states[k-1].End || s.State == states[k-1].State) {
			t.Errorf("span %d (%s from %v) overlaps or repeats span %d (%s to %v)", k, s.State, s.Start, k-1, states[k-1].State, states[k-1].End)
		}
		switch s.State {
		case models.Blocked:
			blocked += s.End - s.Start
			lastBlocked = k
		case models.Running:
			runningAfter = runningAfter || lastBlocked >= 0
		}
	}
	if blocked < sleep-time.Millisecond {
		t.Errorf("blocked for %v in %v, want at least the sleep's %v", blocked, states, sleep)
	}
	if lastBlocked < 0 || !runningAfter {
		t.Errorf("states %v: want blocked, then running", states)
	}
}
