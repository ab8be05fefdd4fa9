package modelrun_test

import (
	"context"
	"encoding/json"
	"maps"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"atonce/interp/modelrun"
	"atonce/models"
	"atonce/models/modeltest"
)

// TestRunNative runs a notebook function both ways with the real
// toolchain: each model interpreted, then native, from the same state;
// the native runs leave the notebook's variables alone.
func TestRunNative(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("native mode builds with the Go toolchain, and there is no go on PATH")
	}
	bin := buildAtonce(t)
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	modelrun.Configure(modelrun.Config{Version: "test+fixed", WorkerCommand: []string{bin, "worker", "-pipe"}, SourceDir: src})
	defer modelrun.Configure(modelrun.Config{})
	s := session(t, "var counter int\nnums := []int{1, 2}", "counter = 5", "func Task(i int) int {\n\tcounter++\n\treturn len(nums)*100 + i\n}")

	for _, tt := range []struct {
		args  string
		modes []models.Mode
		after int // the notebook's counter after the run
	}{
		{"-mode both -repeat 1 -n 4 -workers 2 -models sequential,eventloop,processes Task", []models.Mode{models.Interpreted, models.Native}, 9},
		{"-native -repeat 1 -n 4 -workers 2 -models sequential,processes Task", []models.Mode{models.Native}, 5},
	} {
		t.Run(tt.args, func(t *testing.T) {
			if r := s.Execute(context.Background(), "counter = 5"); r.Err != nil {
				t.Fatal(r.Err)
			}
			spec, err := modelrun.ParseSpec(tt.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			spec.Watch = []string{"counter"}
			spec.TraceDir = t.TempDir() // -trace DIR: the native runs keep their traces too
			reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			checkNativeTraces(t, reports)
			if want := len(spec.Models) * len(tt.modes); len(reports) != want {
				t.Fatalf("got %d reports, want %d", len(reports), want)
			}
			for k, r := range reports {
				model, mode := spec.Models[k/len(tt.modes)], tt.modes[k%len(tt.modes)]
				if r.Model != model || r.Mode != mode || r.Err != "" || len(r.Tasks) != 4 {
					t.Errorf("report %d got %s %s (err %q, %d tasks), want %s %s, no error, 4 tasks", k, r.Model, r.Mode, r.Err, len(r.Tasks), model, mode)
					continue
				}
				if (mode == models.Native) != (r.GoVersion != "") {
					t.Errorf("%s %s: Go version %q: want one exactly for a native run", r.Model, r.Mode, r.GoVersion)
				}
				for _, rec := range r.Tasks {
					if got, want := jsonOf(t, rec.Result), jsonOf(t, 200+rec.Index); got != want {
						t.Errorf("%s %s task %d: result %s, want %s (nums crossed)", r.Model, r.Mode, rec.Index, got, want)
					}
				}
				// Each run starts from counter 5: sequential and eventloop
				// end at 9; a processes run leaves the notebook's at 5.
				want := "9"
				if r.Placement == models.InWorkers {
					want = "5"
				}
				if got := string(r.Globals["counter"]); got != want {
					t.Errorf("%s %s: counter after the run got %s, want %s", r.Model, r.Mode, got, want)
				}
			}
			v := s.Vars()["counter"]
			if got := v.Interface(); !reflect.DeepEqual(got, tt.after) {
				t.Errorf("the notebook's counter after the run got %v, want %d", got, tt.after)
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkNativeTraces checks the traces native runs keep (-trace DIR): the
// program's own for an in-process model, its workers' for processes,
// named by model and mode, every task's run in them.
func checkNativeTraces(t *testing.T, reports []models.Report) {
	t.Helper()
	files := modelrun.TraceFiles(reports)
	for _, r := range reports {
		if r.Mode != models.Native {
			continue
		}
		runs := 0
		for name, data := range files {
			if strings.HasPrefix(name, r.Model+"-native") {
				runs += modeltest.ReadTrace(t, data)["atonce.run"]
			}
		}
		if runs != len(r.Tasks) {
			t.Errorf("%s native: the kept traces hold %d task runs, want %d (files %v)", r.Model, runs, len(r.Tasks), slices.Collect(maps.Keys(files)))
		}
	}
}
