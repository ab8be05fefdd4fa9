package modelrun_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"atonce/interp/modelrun"
)

// buildAtonce builds the atonce binary once for the tests that start
// worker processes.
func buildAtonce(t *testing.T) string {
	t.Helper()
	if atonceBin != "" {
		return atonceBin
	}
	dir, err := os.MkdirTemp("", "atonce-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "atonce")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version=test+fixed", "-o", bin, "atonce")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building atonce: %v", err)
	}
	atonceBin = bin
	return bin
}

var atonceBin string

func TestProcessesReplayAndIsolation(t *testing.T) {
	bin := buildAtonce(t)
	modelrun.Configure(modelrun.Config{Version: "test+fixed", WorkerCommand: []string{bin, "worker", "-pipe"}})
	s := session(t, `var counter int
var names = map[string]int{"a": 1}`, `counter = 5`, `func Task(i int) (int, error) {
	counter++
	names["seen"] = names["a"] + i
	return counter * 10, nil
}`)
	spec, err := modelrun.ParseSpec("-n 6 -repeat 1 -workers 2 -models sequential,processes Task", nil)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	proc := reports[1]
	if proc.Model != "processes" || len(proc.Tasks) != 6 || len(proc.Pool) != 2 {
		t.Fatalf("processes report: model %s, %d tasks, %d workers; want 6 tasks on 2 workers", proc.Model, len(proc.Tasks), len(proc.Pool))
	}
	perWorker := map[int]int{}
	for _, tr := range proc.Tasks {
		if tr.Err != "" {
			t.Fatalf("task %d failed: %s", tr.Index, tr.Err)
		}
		perWorker[tr.Worker]++
		// Each worker starts from counter = 5 (the notebook's value, set
		// after replaying the cells) and counts its own tasks.
		got, ok := tr.Result.(float64)
		if !ok || got < 60 || got > 110 {
			t.Errorf("task %d result %v, want (5 + k) * 10 for the worker's k-th task", tr.Index, tr.Result)
		}
		if tr.Queued > tr.Start || tr.Start > tr.End || tr.BytesIn == 0 || tr.BytesOut == 0 {
			t.Errorf("task %d record incomplete: %+v", tr.Index, tr)
		}
	}
	total := 0
	for _, w := range proc.Pool {
		if w.PID == 0 || w.Ready <= w.Spawn {
			t.Errorf("worker %d: pid %d, spawn %v, ready %v", w.Worker, w.PID, w.Spawn, w.Ready)
		}
		c := string(w.Globals["counter"])
		if c != "" {
			total += perWorker[w.Worker]
			if want := 5 + perWorker[w.Worker]; c != strconv.Itoa(want) {
				t.Errorf("worker %d's copy of counter is %s, want %d", w.Worker, c, want)
			}
		}
	}
	if total != 6 {
		t.Errorf("workers' copies account for %d tasks, want 6", total)
	}
	// The notebook holds what sequential left: 5 + 6.
	if v := s.Vars()["counter"].Int(); v != 11 {
		t.Errorf("notebook counter = %d after the run, want 11 (the sequential run's)", v)
	}
}

func TestProcessesResultThatCannotCross(t *testing.T) {
	bin := buildAtonce(t)
	modelrun.Configure(modelrun.Config{Version: "test+fixed", WorkerCommand: []string{bin, "worker", "-pipe"}})
	s := session(t, `func Task(i int) chan int { return make(chan int) }`)
	spec, _ := modelrun.ParseSpec("-n 2 -repeat 1 -workers 1 -models processes Task", nil)
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range reports[0].Tasks {
		if !strings.Contains(tr.Err, "chan int") || !strings.Contains(tr.Err, "JSON") {
			t.Errorf("task %d error %q, want one naming chan int and JSON", tr.Index, tr.Err)
		}
	}
}

func TestProcessesWorkerDeathRetriesOnce(t *testing.T) {
	bin := buildAtonce(t)
	modelrun.Configure(modelrun.Config{Version: "test+fixed", WorkerCommand: []string{bin, "worker", "-pipe"}})
	// Task 3 ends whatever worker runs it; the others complete.
	s := session(t, `func Task(i int) int {
	if i == 3 {
		os.Exit(3)
	}
	return i
}`)
	spec, _ := modelrun.ParseSpec("-n 6 -repeat 1 -workers 2 -models processes Task", nil)
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	rep := reports[0]
	if len(rep.Tasks) != 6 {
		t.Fatalf("%d task records, want 6", len(rep.Tasks))
	}
	for _, tr := range rep.Tasks {
		if tr.Index == 3 {
			if tr.Attempts != 2 || !strings.Contains(tr.Err, "killed every worker") || !strings.Contains(tr.Note, "died") {
				t.Errorf("poison task: attempts %d, err %q, note %q", tr.Attempts, tr.Err, tr.Note)
			}
			continue
		}
		if tr.Err != "" || tr.Result != float64(tr.Index) {
			t.Errorf("task %d: result %v, err %q", tr.Index, tr.Result, tr.Err)
		}
	}
	died := 0
	for _, w := range rep.Pool {
		if w.Exit != "" {
			died++
		}
	}
	if died != 2 {
		t.Errorf("%d workers died, want 2 (the poison task is tried twice)", died)
	}
	for _, tr := range rep.Tasks {
		if tr.Index == 3 && !strings.Contains(tr.Err, "status 3") {
			t.Errorf("poison task error %q, want the worker's exit status 3", tr.Err)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if atonceBin != "" {
		os.RemoveAll(filepath.Dir(atonceBin))
	}
	os.Exit(code)
}
