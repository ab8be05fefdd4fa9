package native_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/internal/leakcheck"
	"atonce/internal/scratch"
	"atonce/models"
	"atonce/models/distributed"
	"atonce/models/modeltest"
	"atonce/models/native"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// The program in testdata/notebook says it is built from this source.
const source = "test-notebook"

// boomAt is where Boom panics, as the stack says it: its frame's
// function, and its line in testdata/notebook/main.go.
const boomAt = "/main.go:58 "

// buildDir holds the programs the tests build, for the test binary's life.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atonce-native-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	scratch.Remove() // where RaceCheck kept the race detector's log
	os.Exit(code)
}

var builds struct {
	sync.Mutex
	bins map[bool]string // by -race
}

// program builds testdata/notebook as the generator's builder does — a
// module of its own whose go.mod requires atonce and replaces it with
// this tree — and returns the binary; once per test binary and race
// setting. It skips the test when there is no Go toolchain.
func program(t *testing.T, race bool) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("native programs are built with the Go toolchain, and there is no `go` on PATH")
	}
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[race]; ok {
		return bin
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(mod, []byte("module atonce\n")) {
		t.Fatalf("%s is not atonce's source: go.mod %q, %v", root, mod[:min(len(mod), 20)], err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join("testdata", "notebook", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(buildDir, fmt.Sprintf("race-%t", race))
	gomod := "module atonce-notebook\n" + strings.TrimPrefix(string(mod), "module atonce\n") +
		fmt.Sprintf("\nrequire atonce v0.0.0\n\nreplace atonce => %q\n", root)
	for name, b := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": main} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "notebook")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
	if race {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	}
	started := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built the native program (race %t) in %v", race, time.Since(started).Round(time.Millisecond))
	if builds.bins == nil {
		builds.bins = map[bool]string{}
	}
	builds.bins[race] = bin
	return bin
}

// state is the notebook's state the tests start the program in: every
// variable that crosses as JSON, and none of those that do not (ch, hook).
func state() workermsg.State {
	return workermsg.NewState(native.Version(source), nil, map[string]json.RawMessage{
		"nums":   json.RawMessage(`[1,2,3]`),
		"counts": json.RawMessage(`{"a":10}`),
		"origin": json.RawMessage(`{"X":100,"Y":7}`),
		"hits":   json.RawMessage(`0`),
		"mu":     json.RawMessage(`{}`),
		"shared": json.RawMessage(`{}`),
	})
}

// started builds the native program and starts it through a pool with
// the Pipe launcher, in state(), checking that the test leaves nothing
// behind; what its tasks print goes to output, if set.
func started(t *testing.T, output func(workermsg.Output)) (bin string, st workermsg.State, w *workerpool.Worker) {
	t.Helper()
	bin = program(t, false)
	noneLeft(t)
	st = state()
	pool := workerpool.New(workerpool.Pipe{Command: []string{bin, "-pipe"}, State: st})
	t.Cleanup(pool.Close)
	w, err := pool.Start(context.Background(), workerpool.StartOptions{Name: "the native program", Output: output})
	if err != nil {
		t.Fatalf("starting the native program: %v", err)
	}
	return bin, st, w
}

// noneLeft checks that the test left no goroutine and no process.
func noneLeft(t *testing.T) {
	t.Helper()
	before := leakcheck.Goroutines()
	t.Cleanup(func() {
		before.Check(t)
		if kids, err := leakcheck.Children(); err == nil && len(kids) > 0 {
			t.Errorf("processes left behind: %v", kids)
		}
	})
}

// ask sends m to w and returns its answer.
func ask(t *testing.T, w *workerpool.Worker, m workermsg.Message) workermsg.Message {
	t.Helper()
	if _, err := w.Send(m); err != nil {
		t.Fatalf("sending a %s message: %v", m.Kind, err)
	}
	a, _, err := w.Receive()
	if err != nil {
		t.Fatalf("the answer to a %s message: %s", m.Kind, w.Explain(err))
	}
	return a
}

func TestLoad(t *testing.T) {
	bin, st, w := started(t, nil)
	ctx := context.Background()

	if got, want := w.Hello().Version, native.Version(source); got != want {
		t.Errorf("the program's version got %q, want %q", got, want)
	}
	// Loaded again, the program says what did not cross: ch, which its
	// declaration makes anew, hook, which starts at zero, and counts,
	// whose JSON does not decode.
	bad := st
	bad.Globals = map[string]json.RawMessage{}
	for k, v := range st.Globals {
		bad.Globals[k] = v
	}
	bad.Globals["counts"] = json.RawMessage(`[1]`)
	bad = workermsg.NewState(bad.Version, nil, bad.Globals)
	a := ask(t, w, workermsg.Message{Kind: workermsg.KindState, State: &bad})
	if a.Kind != workermsg.KindReady || a.Ready == nil || a.Ready.Err != "" || a.Ready.Key != bad.Key {
		t.Fatalf("loading a state got %+v, want ready with key %s", a, bad.Key)
	}
	for _, want := range []string{
		"ch is made anew by its declaration: its value does not cross as JSON",
		"hook starts from its zero value: its value does not cross as JSON",
		"counts starts from its zero value: its value does not cross as JSON (json: cannot unmarshal array",
	} {
		if !slices.ContainsFunc(a.Ready.Notes, func(n string) bool { return strings.HasPrefix(n, want) }) {
			t.Errorf("the load's notes got %q, want one starting %q", a.Ready.Notes, want)
		}
	}
	if len(a.Ready.Notes) != 3 {
		t.Errorf("the load's notes got %q, want 3", a.Ready.Notes)
	}
	// The variables hold the state's values: counts, which did not
	// cross, is nil (counts["a"] is 0).
	res := run(t, w, bad.Key, "Sum", 1)
	if string(res.Value) != "110" {
		t.Errorf("Sum(1) in the state with counts lost got %s (%s), want 110 (1 + counts[a] 0 + 100 + cap(ch) 3 + 1+2+3)", res.Value, res.Err)
	}

	// A state of other cells is refused, and so every worker would be.
	other := workermsg.NewState(native.Version("other-cells"), nil, nil)
	pool := workerpool.New(workerpool.Pipe{Command: []string{bin, "-pipe"}, State: other})
	defer pool.Close()
	_, err := pool.Start(ctx, workerpool.StartOptions{Name: "the native program"})
	if err == nil || !workerpool.IsRefused(err) || !strings.Contains(err.Error(), native.Version(source)) {
		t.Errorf("starting in a state of other cells got %v, want a refusal naming the program's version", err)
	}
}

// run runs task i of fn in w and returns the result.
func run(t *testing.T, w *workerpool.Worker, key, fn string, i int, watch ...string) workermsg.Result {
	t.Helper()
	task := workermsg.Task{ID: fmt.Sprintf("%s-%d", fn, i), Run: "run-1", StateKey: key, Func: fn, Index: i, Watch: watch}
	a := ask(t, w, workermsg.Message{Kind: workermsg.KindTask, Task: &task})
	if a.Kind != workermsg.KindResult || a.Result == nil {
		t.Fatalf("task %s(%d) got a %q answer, want a result", fn, i, a.Kind)
	}
	if a.Result.ID != task.ID || a.Result.Index != i || a.Result.Worker != w.Hello().ID || a.Result.Start > a.Result.End {
		t.Errorf("task %s(%d) got result %+v, want its id, index, the worker's id and start <= end", fn, i, a.Result)
	}
	return *a.Result
}

func TestRun(t *testing.T) {
	var printed strings.Builder // only Receive, in this goroutine, writes it
	_, st, w := started(t, func(o workermsg.Output) {
		if o.Stream == "stdout" {
			printed.WriteString(o.Text)
		}
	})
	for _, tt := range []struct {
		fn      string
		i       int
		value   string // the result's JSON, "" for none
		err     string // the start of the result's error
		globals string // the changed globals' JSON
	}{
		{"Sum", 4, "123", "", "null"}, // 4 + 10 + 100 + cap(ch) 3 + 1+2+3
		{"Nothing", 0, "", "", "null"},
		{"Hook", 0, "true", "", "null"},
		{"Fails", 2, `"task 2"`, "", "null"},
		{"Fails", 1, `""`, "odd one out", "null"},
		// A panic's error ends with the stack where it happened.
		{"Boom", 3, "", "task 3 panicked: boom at 3\n\ngoroutine ", "null"},
		{"Chan", 0, "", "the result of task 0, a chan int, cannot cross to the notebook: results travel as JSON, and json: unsupported type: chan int", "null"},
		{"Touch", 5, "", "", `{"hits":1,"nums":[1,2,3,5]}`},
		// The worker's copy evolves from task to task.
		{"Touch", 6, "", "", `{"hits":2,"nums":[1,2,3,5,6]}`},
		{"Missing", 0, "", "the notebook has no function Missing of a task's shape", "null"},
	} {
		t.Run(fmt.Sprintf("%s(%d)", tt.fn, tt.i), func(t *testing.T) {
			res := run(t, w, st.Key, tt.fn, tt.i)
			if string(res.Value) != tt.value {
				t.Errorf("value got %s, want %s", res.Value, tt.value)
			}
			if !strings.HasPrefix(res.Err, tt.err) || (tt.err == "") != (res.Err == "") {
				t.Errorf("error got %q, want %q", res.Err, tt.err)
			}
			if g, _ := json.Marshal(res.Globals); string(g) != tt.globals {
				t.Errorf("changed globals got %s, want %s", g, tt.globals)
			}
		})
	}
	res := run(t, w, st.Key, "Boom", 0)
	t.Logf("Boom(0)'s error: %s", res.Err)
	if !strings.Contains(res.Err, "\npanic(") || !strings.Contains(res.Err, "main.Boom(") || !strings.Contains(res.Err, boomAt) || strings.Contains(res.Err, "debug.Stack") || strings.Contains(res.Err, "reflect.") {
		t.Errorf("Boom(0)'s error got %q, want the frames from the panic down to Boom's, with its position", res.Err)
	}
	if res := run(t, w, "another-state", "Sum", 0); !strings.Contains(res.Err, "does not hold the notebook state another-state") {
		t.Errorf("a task of another state got error %q, want one saying the state is not held", res.Err)
	}
	// What a task prints reaches the engine before its result.
	printed.Reset()
	if res := run(t, w, st.Key, "Say", 3); res.Err != "" || printed.String() != "task 3 says héllo\n" {
		t.Errorf("Say(3) got %q printed before its result (error %q), want %q", printed.String(), res.Err, "task 3 says héllo\n")
	}
	// Watched: only hits is reported.
	if res := run(t, w, st.Key, "Touch", 7, "hits"); string(mustJSON(t, res.Globals)) != `{"hits":3}` {
		t.Errorf("watching hits, the changed globals got %s, want {\"hits\":3}", mustJSON(t, res.Globals))
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestModels runs each in-process model in the native program: the
// report is the model's, every task once, traced, each model from the
// state's variables.
func TestModels(t *testing.T) {
	_, st, w := started(t, nil)
	ctx := context.Background()
	const n = 6
	for _, name := range models.InProcessNames() {
		t.Run(name, func(t *testing.T) {
			rep, err := models.RunInWorker(ctx, w, workermsg.Run{Model: name, Func: "Nap", N: n, Workers: 3, Trace: true, StateKey: st.Key})
			if err != nil {
				t.Fatalf("RunInWorker: %v", err)
			}
			if rep.Model != name || rep.Task != "Nap" || rep.Traits != models.TraitsOf(name) || rep.Err != "" {
				t.Errorf("report got model %q, task %q, traits %+v, err %q; want %s, Nap, its traits, none", rep.Model, rep.Task, rep.Traits, rep.Err, name)
			}
			wantWorkers := 3
			if models.TraitsOf(name).Baseline {
				wantWorkers = 1
			}
			if rep.Workers != wantWorkers || !rep.Traced || rep.Wall <= 0 {
				t.Errorf("report got %d workers, traced %t, wall %v; want %d, traced, a wall time", rep.Workers, rep.Traced, rep.Wall, wantWorkers)
			}
			if len(rep.Tasks) != n {
				t.Fatalf("report got %d tasks, want %d", len(rep.Tasks), n)
			}
			for i, rec := range rep.Tasks {
				blocked := slices.ContainsFunc(rec.States, func(s models.Span) bool { return s.State == models.Blocked })
				if rec.Index != i || rec.Result != float64(i*i) || rec.Err != "" || rec.Worker < 0 || rec.Worker >= rep.Workers || rec.Start > rec.End || !blocked {
					t.Errorf("task record %d got %+v, want index %d, result %d, a worker of the run, start <= end, and a blocked state (its Sleep)", i, rec, i, i*i)
				}
			}
			// Every model starts from the state's hits (0), not from the
			// model before it's.
			rep, err = models.RunInWorker(ctx, w, workermsg.Run{Model: name, Func: "Add", N: n, StateKey: st.Key, Watch: []string{"hits"}})
			if err != nil || string(rep.Globals["hits"]) != fmt.Sprint(n) {
				t.Errorf("Add under %s: hits got %s (%v), want %d", name, rep.Globals["hits"], err, n)
			}
		})
	}
	for _, tt := range []struct{ model, fn, want string }{
		{"processes", "Nap", "processes runs its tasks in worker processes of its own"},
		{"nosuch", "Nap", `unknown concurrency model "nosuch"`},
		{"threads", "Missing", "the notebook has no function Missing"},
	} {
		_, err := models.RunInWorker(ctx, w, workermsg.Run{Model: tt.model, Func: tt.fn, N: 1, StateKey: st.Key})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RunInWorker(%s, %s) got error %v, want one containing %q", tt.model, tt.fn, err, tt.want)
		}
	}
	// A panicking task is its record's error, the run goes on.
	rep, err := models.RunInWorker(ctx, w, workermsg.Run{Model: "threads", Func: "Boom", N: 2, StateKey: st.Key})
	if err != nil || len(rep.Tasks) != 2 || !strings.HasPrefix(rep.Tasks[1].Err, "task 1 panicked: boom at 1\n\ngoroutine ") || !strings.Contains(rep.Tasks[1].Err, boomAt) {
		t.Errorf("Boom under threads got %+v, %v; want two records with their panics, where they happened", rep.Tasks, err)
	}
}

// TestCrash: a runtime crash under threads ends the native program, and
// RunInWorker says why in the runtime's words.
func TestCrash(t *testing.T) {
	_, st, w := started(t, nil)
	ctx := context.Background()
	rep, err := models.RunInWorker(ctx, w, workermsg.Run{Model: "threads", Func: "Crash", N: 8, Workers: 4, StateKey: st.Key})
	if err == nil || !strings.Contains(err.Error(), "concurrent map writes") {
		t.Fatalf("Crash under threads got error %v, want one saying concurrent map writes", err)
	}
	t.Logf("the crash, as RunInWorker says it: %v", err)
	if rep.Model != "threads" || rep.Err != err.Error() {
		t.Errorf("the report got model %q and err %q, want threads and the error", rep.Model, rep.Err)
	}
	select {
	case <-w.Exited():
	default:
		t.Errorf("the native program still runs after its crash")
	}
}

// TestInterrupt: a run interrupted while its task sleeps ends with ctx's
// error, the native program killed (compiled code is stopped that way).
func TestInterrupt(t *testing.T) {
	_, st, w := started(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := models.RunInWorker(ctx, w, workermsg.Run{Model: "eventloop", Func: "Forever", N: 4, StateKey: st.Key})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an interrupted run got error %v, want the context's", err)
	}
	<-w.Exited()
}

// TestRace: the native program built with -race, asked by the engine's
// RaceCheck, names the variable the tasks race on.
func TestRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the native program with the race detector (-short)")
	}
	bin := program(t, true)
	noneLeft(t)
	st := state()
	races, err := models.RaceCheck(context.Background(), &models.Remote{Func: "Unsafe", State: st}, []string{bin, "-pipe"}, []string{"threads", "sequential"}, 8, 4)
	if err != nil {
		t.Fatalf("RaceCheck: %v", err)
	}
	if len(races) != 2 {
		t.Fatalf("RaceCheck got %d answers, want 2: %+v", len(races), races)
	}
	if r := races[0]; r.Model != "threads" || r.Err != "" || r.Races == 0 || r.Vars["hits"] != r.Races {
		t.Errorf("under threads got %+v, want races, all on hits", r)
	}
	if r := races[1]; r.Model != "sequential" || r.Err != "" || r.Races != 0 {
		t.Errorf("under sequential got %+v, want no race", r)
	}
}

// cluster starts a cluster whose local workers are the native program
// bin, serving queue; it closes with t.
func cluster(t *testing.T, bin, queue string) *distributed.Cluster {
	t.Helper()
	c, err := distributed.StartCluster(context.Background(), distributed.ClusterOptions{
		Version: native.Version(source), WorkerCommand: []string{bin}, Queue: queue,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatalf("starting a cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestWorkerModels: the processes model's workers and the distributed
// model's local workers are the native program (-pipe; -nats with the
// cluster's flags). An interrupted distributed run has its sleeping tasks
// stopped by the kernel's cancel (StopRun), so the same workers take the
// next run.
func TestWorkerModels(t *testing.T) {
	bin := program(t, false)
	noneLeft(t)
	st := state()
	ctx := context.Background()
	check := func(t *testing.T, rep models.Report, err error, workers int) {
		t.Helper()
		if err != nil || len(rep.Tasks) != 4 || len(rep.Pool) != workers {
			t.Fatalf("got %d tasks, %d workers, %v; want 4 tasks, %d workers", len(rep.Tasks), len(rep.Pool), err, workers)
		}
		for i, rec := range rep.Tasks {
			if rec.Index != i || rec.Result != float64(i*i) || rec.Err != "" {
				t.Errorf("task record %d got %+v, want result %d", i, rec, i*i)
			}
		}
	}
	t.Run("processes", func(t *testing.T) {
		task := models.Task{Name: "Nap", N: 4, Remote: &models.Remote{Func: "Nap", State: st, Command: []string{bin, "-pipe"}}}
		rep, err := models.Processes{}.Run(ctx, task, models.Options{Workers: 2})
		check(t, rep, err, 2)
	})
	t.Run("distributed", func(t *testing.T) {
		c := cluster(t, bin, "native-test")
		remote := func(fn string) *models.Remote { return &models.Remote{Func: fn, State: st, Cluster: c} }
		rep, err := distributed.Model{}.Run(ctx, models.Task{Name: "Nap", N: 4, Remote: remote("Nap")}, models.Options{Workers: 2})
		check(t, rep, err, 2)
		pids := c.LocalPIDs()

		stopCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := (distributed.Model{}).Run(stopCtx, models.Task{Name: "Forever", N: 2, Remote: remote("Forever")}, models.Options{Workers: 2}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("an interrupted run got error %v, want the context's", err)
		}
		// Bounded, should the workers still sleep: a failure, not a hang.
		nextCtx, cancelNext := context.WithTimeout(ctx, time.Minute)
		defer cancelNext()
		rep, err = distributed.Model{}.Run(nextCtx, models.Task{Name: "Nap", N: 4, Remote: remote("Nap")}, models.Options{Workers: 2})
		check(t, rep, err, 2)
		if got := c.LocalPIDs(); !slices.Equal(got, pids) {
			t.Errorf("the local workers after the interrupted run got %v, want the same as before, %v", got, pids)
		}
	})
}

// TestWorkerModelsTraced: the native program, as the processes model's
// workers and the distributed model's, records the states of the tasks
// of a traced run — a task that sleeps, then computes, is blocked, then
// running — and its times are on the engine's clock: each worker's
// measured offset is within its uncertainty of zero.
func TestWorkerModelsTraced(t *testing.T) {
	bin := program(t, false)
	noneLeft(t)
	st := state()
	ctx := context.Background()
	const n = 4
	check := func(t *testing.T, rep models.Report, err error) {
		t.Helper()
		if err != nil || len(rep.Tasks) != n {
			t.Fatalf("got %d tasks, %v; want %d tasks", len(rep.Tasks), err, n)
		}
		if !rep.Traced {
			t.Errorf("Report.Traced is false, want the workers' tracers to have watched every task")
		}
		for _, rec := range rep.Tasks {
			if rec.Err != "" || rec.Start < 0 || rec.End > rep.Wall {
				t.Errorf("task %d: %+v, want no error, within the run's wall time %v", rec.Index, rec, rep.Wall)
			}
			modeltest.CheckSleepThenSpin(t, fmt.Sprintf("task %d", rec.Index), rec.States, rec.Start, rec.End, 3*time.Millisecond)
		}
		for _, w := range rep.Pool {
			if w.ClockUncertainty <= 0 || w.ClockOffset.Abs() > w.ClockUncertainty {
				t.Errorf("worker %d: clock offset %v ± %v, want 0 within its uncertainty", w.Worker, w.ClockOffset, w.ClockUncertainty)
			}
		}
	}
	opt := models.Options{Workers: 2, Trace: true}
	t.Run("processes", func(t *testing.T) {
		task := models.Task{Name: "NapSpin", N: n, Remote: &models.Remote{Func: "NapSpin", State: st, Command: []string{bin, "-pipe"}}}
		rep, err := models.Processes{}.Run(ctx, task, opt)
		check(t, rep, err)
	})
	t.Run("distributed", func(t *testing.T) {
		c := cluster(t, bin, "native-trace-test")
		task := models.Task{Name: "NapSpin", N: n, Remote: &models.Remote{Func: "NapSpin", State: st, Cluster: c}}
		rep, err := distributed.Model{}.Run(ctx, task, opt)
		check(t, rep, err)
	})
}
