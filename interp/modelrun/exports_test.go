package modelrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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

func TestParseSpecExports(t *testing.T) {
	for _, tt := range []struct {
		args, dir, file, wantErr string
	}{
		{"-trace out F", "out", "", ""},
		{"-perfetto run.json F", "", "run.json", ""},
		{"-trace out -perfetto out/run.json F", "out", "out/run.json", ""},
		{"-trace out -no-trace F", "", "", "-trace out needs the execution tracer, which -no-trace turns off"},
		{"-perfetto x.json -no-trace F", "", "", "-perfetto x.json needs the execution tracer"},
	} {
		spec, err := modelrun.ParseSpec(tt.args, []string{"threads"})
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSpec(%q) error %v, want %q", tt.args, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("ParseSpec(%q): %v", tt.args, err)
		case spec.TraceDir != tt.dir || spec.Perfetto != tt.file:
			t.Errorf("ParseSpec(%q) = trace %q, perfetto %q; want %q, %q", tt.args, spec.TraceDir, spec.Perfetto, tt.dir, tt.file)
		}
	}
}

// TestExports: a run with -trace DIR and -perfetto FILE, of the
// interpreter's tasks that take a mutex and sleep, in the engine and in
// worker processes, keeps one execution trace per in-process model and
// one per worker, named by model, mode and worker, each read to its end
// by go tool trace and by Go's trace reader with every task's run in it;
// and writes trace-event JSON with a process per model and each task's
// sleep as a slice blocked at an await.
func TestExports(t *testing.T) {
	bin := buildAtonce(t)
	modelrun.Configure(modelrun.Config{Version: "test+fixed", WorkerCommand: []string{bin, "worker", "-pipe"}})
	s := session(t, `var mu sync.Mutex
var total int
func Task(i int) int {
	mu.Lock()
	total += i
	mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return i
}`)
	dir := filepath.Join(t.TempDir(), "traces")
	file := filepath.Join(t.TempDir(), "run.json")
	const n = 4
	spec, err := modelrun.ParseSpec("-n 4 -workers 2 -models sequential,threads,processes -trace "+dir+" -perfetto "+file+" Task", nil)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	abs, names, err := modelrun.WriteTraces(spec.TraceDir, reports)
	if err != nil || abs != dir {
		t.Fatalf("WriteTraces = %q, %v, %v", abs, names, err)
	}
	runs := map[string]int{} // task runs in each model's traces
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		model, _, _ := strings.Cut(name, "-")
		runs[model] += modeltest.ReadTrace(t, data)["atonce.run"]
		if out, err := exec.Command(goTool(t), "tool", "trace", "-d=parsed", filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Errorf("go tool trace -d=parsed %s: %v\n%s", name, err, lastLine(out))
		}
	}
	// One per in-process model, one per worker process that ran tasks
	// (a loaded machine may have one worker ready long before the other).
	want := []string{"sequential-interpreted.trace", "threads-interpreted.trace"}
	for _, r := range reports {
		if r.Model != "processes" {
			continue
		}
		for _, w := range r.Pool {
			if slices.ContainsFunc(r.Tasks, func(tr models.TaskRecord) bool { return tr.Worker == w.Worker }) {
				want = append(want, fmt.Sprintf("processes-interpreted-worker%d.trace", w.Worker))
			}
		}
	}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("kept traces %v; want %s among them", names, w)
		}
	}
	if len(names) != len(want) {
		t.Errorf("kept traces %v; want %v", names, want)
	}
	for _, model := range []string{"sequential", "threads", "processes"} {
		if runs[model] != n {
			t.Errorf("%s's traces hold %d task runs, want %d", model, runs[model], n)
		}
	}

	path, err := modelrun.WritePerfetto(spec.Perfetto, reports)
	if err != nil || path != file {
		t.Fatalf("WritePerfetto = %q, %v", path, err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Cat  string         `json:"cat"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the Perfetto trace is not JSON: %v", err)
	}
	var procs []string
	awaits := 0
	for _, e := range doc.TraceEvents {
		if e.Ph == "M" && e.Name == "process_name" {
			procs = append(procs, e.Args["name"].(string))
		}
		if e.Cat == "state" && e.Args["kind"] == models.KindAwait {
			awaits++
		}
	}
	if want := []string{"sequential (interpreted)", "threads (interpreted)", "processes (interpreted)"}; !slices.Equal(procs, want) {
		t.Errorf("Perfetto processes %q, want %q", procs, want)
	}
	// Every task of the three models sleeps at an await once.
	if awaits < 3*n {
		t.Errorf("the Perfetto trace has %d slices blocked at an await, want at least %d (one per task)", awaits, 3*n)
	}

	// Nothing to keep: no trace, no directory.
	empty := filepath.Join(t.TempDir(), "none")
	if _, names, err := modelrun.WriteTraces(empty, []models.Report{{Model: "threads"}}); err != nil || len(names) > 0 {
		t.Errorf("WriteTraces of untraced reports = %v, %v; want nothing", names, err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("WriteTraces of untraced reports made %s", empty)
	}
	// A file in a directory that does not exist: a clear error, nothing
	// left.
	if _, err := modelrun.WritePerfetto(filepath.Join(empty, "run.json"), reports); err == nil || !strings.Contains(err.Error(), "cannot write the Perfetto trace") {
		t.Errorf("WritePerfetto into a missing directory: %v", err)
	}
}

// goTool is the go command of the toolchain running the test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	t.Skip("no go command to run go tool trace")
	return ""
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// TestStatesInTheNotebook: a notebook reads the states' kinds of the
// reports it is given (-o NAME) with the models package's names.
func TestStatesInTheNotebook(t *testing.T) {
	s := session(t, "func Nap(i int) int {\n\ttime.Sleep(2 * time.Millisecond)\n\treturn i\n}", "var reps []models.Report")
	spec, err := modelrun.ParseSpec("-n 2 -models sequential Nap", nil)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if !reports[0].Traced {
		t.Skip("the execution tracer was busy")
	}
	s.Vars()["reps"].Set(reflect.ValueOf(reports))
	code := `awaited := time.Duration(0)
for _, t := range models.StateTotals(reps[0]) {
	if t.State == models.Blocked && t.Kind == models.KindAwait {
		awaited += t.Time
	}
}
awaited >= 4*time.Millisecond && models.StateLabel(models.Waiting, models.KindGIL) == "waiting for the GIL"`
	r := s.Execute(context.Background(), code)
	if r.Err != nil || r.Value["text/plain"] != "true" {
		t.Errorf("the notebook's reading of the states got %v (%v), want true", r.Value["text/plain"], r.Err)
	}
}
