package workerserve

import (
	"encoding/json"
	"testing"

	"atonce/models/workermsg"
)

// sleepLoop is the states of a task that sleeps 5 ms n times, running
// 20 µs between two sleeps.
func sleepLoop(n int) []workermsg.Span {
	var spans []workermsg.Span
	t := int64(0)
	for range n {
		spans = append(spans,
			workermsg.Span{State: "running", Start: t, End: t + 20_000},
			workermsg.Span{State: "blocked", Kind: "sleep", Start: t + 20_000, End: t + 5_020_000})
		t += 5_020_000
	}
	return spans
}

func TestCoarsen(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spans []workermsg.Span
		limit int
	}{
		{"under the limit", sleepLoop(10), 100},
		{"a sleep loop of 10 s", sleepLoop(2000), maxStateSpans},
		{"a sleep loop of 100 s", sleepLoop(20000), maxStateSpans},
		{"a tight limit", sleepLoop(50), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]workermsg.Span(nil), tt.spans...)
			got := coarsen(tt.spans, tt.limit)
			if len(got) > tt.limit {
				t.Fatalf("got %d spans, want at most %d", len(got), tt.limit)
			}
			if len(in) <= tt.limit && len(got) != len(in) {
				t.Errorf("got %d spans of %d under the limit, want them all", len(got), len(in))
			}
			// The same time covered, in order, without gaps or overlaps.
			if got[0].Start != in[0].Start || got[len(got)-1].End != in[len(in)-1].End {
				t.Errorf("covers %d..%d, want %d..%d", got[0].Start, got[len(got)-1].End, in[0].Start, in[len(in)-1].End)
			}
			for k := 1; k < len(got); k++ {
				if got[k].Start != got[k-1].End {
					t.Fatalf("span %d starts at %d, want %d (where span %d ends)", k, got[k].Start, got[k-1].End, k-1)
				}
			}
			// The blocked time, the task's main state, is mostly kept.
			blocked := func(spans []workermsg.Span) (d int64) {
				for _, sp := range spans {
					if sp.State == "blocked" {
						d += sp.End - sp.Start
					}
				}
				return d
			}
			if b, want := blocked(got), blocked(in); b < want*9/10 {
				t.Errorf("blocked %d ns after coarsening, want at least 90%% of %d", b, want)
			}
		})
	}
	// A result of the 100 s loop fits in a NATS message.
	data, err := json.Marshal(workermsg.Result{States: coarsen(sleepLoop(20000), maxStateSpans)})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 512<<10 {
		t.Errorf("a result with coarsened states is %d bytes, want at most 512 KiB", len(data))
	}
}
