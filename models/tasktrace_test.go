package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/modeltest"
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
		modeltest.CheckSleepThenSpin(t, fmt.Sprintf("a call that slept %v", sleep), states, 0, end.Sub(start), sleep)
	}
	// Another trace cannot start while the tracer runs.
	if _, err := models.StartTaskTracer(); err == nil {
		t.Errorf("a second StartTaskTracer succeeded, want an error: the tracer is busy")
	}
}
