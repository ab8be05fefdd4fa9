package modelrun_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"atonce/interp/modelrun"
)

// -workers takes one count, as it always did, or a list of counts.
func TestParseWorkers(t *testing.T) {
	all := []string{"sequential", "eventloop", "gil", "threads"}
	for _, tt := range []struct {
		name, args, wantErr string
		wantK               int
		wantScale           []int
	}{
		{"one count", "-workers 3 F", "", 3, nil},
		{"a list", "-workers 1,2,4,8 F", "", 0, []int{1, 2, 4, 8}},
		{"a list out of order, twice", "-workers 4,1,2,4 F", "", 0, []int{1, 2, 4}},
		{"spaces are not flags", "-workers 1,2 F", "", 0, []int{1, 2}},
		{"one count in a list", "-workers 2,2 F", "two or more different counts", 0, nil},
		{"not a count", "-workers 1,two F", `"two" is not a number of workers`, 0, nil},
		{"zero", "-workers 0,2 F", `"0" is not a number of workers between 1 and 4096`, 0, nil},
		{"not a number", "-workers many F", "give a number of workers, or a list of them such as 1,2,4,8", 0, nil},
		{"no baseline", "-workers 1,2 -models threads F", "-workers 1,2 measures speedups over sequential: include it, e.g. %%models -models sequential,threads -workers 1,2", 0, nil},
		{"no parallel model", "-workers 1,2 -models sequential,gil F", "-workers 1,2 scales the parallel models (threads, processes and distributed), and this run has none of them", 0, nil},
		{"too many processes", "-workers 1,65 -models sequential,processes F", "start a process per worker; choose at most 64", 0, nil},
		{"many threads", "-workers 1,65 -models sequential,threads F", "", 0, []int{1, 65}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := modelrun.ParseSpec(tt.args, all)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) error got %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Workers != tt.wantK || !slices.Equal(spec.Scale, tt.wantScale) {
				t.Errorf("ParseSpec(%q) got workers %d, scale %v; want %d, %v", tt.args, spec.Workers, spec.Scale, tt.wantK, tt.wantScale)
			}
		})
	}
}

// Scale runs the parallel models at each count beside the baseline, each
// from the notebook's state as it was, which it leaves as it found it,
// and fits Amdahl's law to what it measured.
func TestScale(t *testing.T) {
	s := session(t, "var calls int\nfunc Task(i int) int {\n\tcalls++\n\tx := 0\n\tfor j := 0; j < 20000; j++ {\n\t\tx += j\n\t}\n\treturn x\n}")
	spec, err := modelrun.ParseSpec("-n 4 -workers 1,2 -repeat 2 -no-trace -models sequential,gil,threads Task", nil)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	scales, err := modelrun.Scale(context.Background(), s, spec, nil, func(line string) { said = append(said, line) })
	if err != nil {
		t.Fatal(err)
	}
	if len(scales) != 1 || scales[0].Model != "threads" || scales[0].Baseline != "sequential" || !slices.Equal(scales[0].Workers, []int{1, 2}) {
		t.Fatalf("got %+v, want threads scaled at 1 and 2 workers over sequential", scales)
	}
	sc := scales[0]
	if len(sc.Rounds) != 2 || len(sc.Speedups) != 2 || sc.Cores < 1 {
		t.Errorf("got %d rounds, %d speedups, %d cores; want 2, 2, at least 1", len(sc.Rounds), len(sc.Speedups), sc.Cores)
	}
	for i, iv := range sc.Speedups {
		if iv.N != 2 || !(iv.Mid > 0) || math.IsInf(iv.Mid, 0) {
			t.Errorf("speedup at %d workers: %+v, want one from 2 rounds", sc.Workers[i], iv)
		}
	}
	if want := "scaling, round 2 of 2: threads with 2 workers each"; !slices.Contains(said, want) {
		t.Errorf("progress said %q, want %q among it", said, want)
	}
	// Every run started from calls == 0, and the notebook still holds 0.
	res := s.Execute(context.Background(), "calls")
	if res.Err != nil || res.Value["text/plain"] != "0" {
		t.Errorf("calls after scaling got %v (%v), want 0", res.Value, res.Err)
	}
	// Without a list, nothing runs.
	spec.Scale = nil
	if scales, err := modelrun.Scale(context.Background(), s, spec, nil, nil); err != nil || scales != nil {
		t.Errorf("Scale without counts got %v, %v; want nothing", scales, err)
	}
}
