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
// TaskTracer show their states, blocked while they sleep (in time.Sleep:
// not at an await), then running, within the call's own start and end; a
// call longer than the trace's generations (about a second each) is
// whole. The trace it keeps, taken after each call, is a trace of its
// own that Go's trace reader reads to the end, with the call in it.
func TestTaskTracer(t *testing.T) {
	tt, err := models.StartTaskTracer(true)
	if err != nil {
		t.Skipf("no tracer: %v", err)
	}
	defer tt.Close()
	for _, sleep := range []time.Duration{5 * time.Millisecond, time.Millisecond, 1100 * time.Millisecond} {
		var start, end time.Time
		tr, err := tt.Call(context.Background(), func(ctx context.Context) (time.Time, time.Time) {
			start = time.Now()
			time.Sleep(sleep)
			spin(5 * time.Millisecond)
			end = time.Now()
			return start, end
		})
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		what := fmt.Sprintf("a call that slept %v", sleep)
		modeltest.CheckSleepThenSpin(t, what, tr.States, 0, end.Sub(start), sleep)
		for _, sp := range tr.States {
			if sp.State == models.Blocked && sp.Kind != models.KindSleep {
				t.Errorf("%s: blocked span %v is of kind %q, want %q (time.Sleep, not an await)", what, sp, sp.Kind, models.KindSleep)
			}
		}
		kept := tt.Kept()
		if kept == nil {
			t.Fatalf("%s: Kept() = nil, want the trace of the call", what)
		}
		regions := modeltest.ReadTrace(t, kept)
		if regions["atonce.run"] != 1 {
			t.Errorf("%s: the kept trace has %d regions atonce.run, want 1 (the call's)", what, regions["atonce.run"])
		}
	}
	if kept := tt.Kept(); kept != nil {
		t.Errorf("Kept() right after Kept() = %d bytes, want nil: no generation ended since", len(kept))
	}
	// Another trace cannot start while the tracer runs.
	if _, err := models.StartTaskTracer(false); err == nil {
		t.Errorf("a second StartTaskTracer succeeded, want an error: the tracer is busy")
	}
}
