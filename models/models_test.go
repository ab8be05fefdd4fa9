package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/modeltest"
)

// The test binary doubles as the workers of processes.
func TestMain(m *testing.M) {
	modeltest.ServeWorkerIfAsked()
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	for _, name := range models.InProcessNames() {
		m, err := models.ByName(name)
		if err != nil {
			t.Fatalf("ByName(%q): %v", name, err)
		}
		t.Run(name, func(t *testing.T) { modeltest.Run(t, m) })
	}
	t.Run("processes", func(t *testing.T) { modeltest.RunWorkers(t, models.Processes{}, modeltest.PipeWorkers) })
}

func TestByName(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"sequential", "sequential", false},
		{"eventloop", "eventloop", false},
		{"gil", "gil", false},
		{"threads", "threads", false},
		{"asyncio", "", true},
		{"", "", true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			m, err := models.ByName(tt.in)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), strings.Join(models.Names(), ", ")) {
					t.Errorf("ByName(%q) error = %v, want one listing the models", tt.in, err)
				}
				return
			}
			if err != nil || m.Name() != tt.want {
				t.Errorf("ByName(%q) = %v, %v; want the %s model", tt.in, m, err, tt.want)
			}
		})
	}
}

// A report's JSON has its model's traits under "traits" and, as before
// traits, "msu", "sharing" and "parallel" at the top; decoding it gives
// the traits back (a checkpoint of a crashing run goes through JSON).
func TestReportJSON(t *testing.T) {
	rep := models.Report{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Notes: []string{"a note"}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	traits, _ := top["traits"].(map[string]any)
	for _, tt := range []struct {
		key  string
		got  any
		want any
	}{
		{"msu", top["msu"], "machine instruction"},
		{"sharing", top["sharing"], rep.Sharing},
		{"parallel", top["parallel"], true},
		{"workers", top["workers"], 2.0},
		{"traits.name", traits["name"], "threads"},
		{"traits.switching", traits["switching"], "simultaneous"},
		{"traits.nouns", traits["nouns"], "goroutines"},
	} {
		if tt.got != tt.want {
			t.Errorf("JSON %s = %v, want %v", tt.key, tt.got, tt.want)
		}
	}
	var back models.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Traits != rep.Traits || back.Workers != 2 || len(back.Notes) != 1 {
		t.Errorf("decoded %+v, want %+v", back, rep)
	}
}

// Register refuses what would make the registry lie: incomplete traits,
// a name that is taken, a second baseline.
func TestRegisterRefuses(t *testing.T) {
	threads := models.TraitsOf("threads")
	noNoun := threads
	noNoun.Name, noNoun.Noun = "nonoun", ""
	second := models.TraitsOf("sequential")
	second.Name = "another"
	for _, tt := range []struct {
		name string
		m    models.Model
		want string
	}{
		{"incomplete", traitsOnly{noNoun}, "no noun for one worker"},
		{"taken", traitsOnly{threads}, `a model named "threads" is already registered`},
		{"second baseline", traitsOnly{second}, `"sequential" already is`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if s, _ := p.(string); !strings.Contains(s, tt.want) {
					t.Errorf("Register panicked with %v, want %q", p, tt.want)
				}
			}()
			models.Register(tt.m)
		})
	}
	if slices.Contains(models.Names(), "nonoun") || slices.Contains(models.Names(), "another") {
		t.Errorf("a refused model is listed: %v", models.Names())
	}
}

// traitsOnly is a model that never runs: what Register is given.
type traitsOnly struct{ t models.Traits }

func (m traitsOnly) Name() string          { return m.t.Name }
func (m traitsOnly) Traits() models.Traits { return m.t }
func (m traitsOnly) Run(context.Context, models.Task, models.Options) (models.Report, error) {
	return models.Report{}, errors.New("not a model to run")
}

// spin keeps a CPU busy for d.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// gauge tracks how many tasks run at once.
type gauge struct{ now, max atomic.Int32 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

func TestEventLoopRunsOneAtATime(t *testing.T) {
	var g gauge
	task := models.Task{N: 20, Call: func(ctx context.Context, i int) (any, error) {
		g.enter()
		spin(200 * time.Microsecond)
		g.leave()
		if err := models.Sleep(ctx, time.Millisecond); err != nil {
			return nil, err
		}
		g.enter()
		spin(200 * time.Microsecond)
		g.leave()
		return nil, nil
	}}
	rep, err := models.EventLoop{}.Run(context.Background(), task, models.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := g.max.Load(); got != 1 {
		t.Errorf("at most %d tasks ran at once, want 1", got)
	}
	// The tasks did overlap in time: task 1 started before task 0 ended.
	if a, b := rep.Tasks[0], rep.Tasks[1]; b.Start >= a.End {
		t.Errorf("task 1 started at %v, after task 0 ended at %v; want the loop to switch at Sleep", b.Start, a.End)
	}
	if rep.Workers != 20 {
		t.Errorf("Workers = %d, want one coroutine per task (20)", rep.Workers)
	}
}

func TestThreadsRunInParallel(t *testing.T) {
	if runtime.NumCPU() < 2 || runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 cores")
	}
	var g gauge
	task := models.Task{N: 2, Call: func(context.Context, int) (any, error) {
		g.enter()
		defer g.leave()
		// Busy until the other task runs too (or give up after a while).
		for end := time.Now().Add(10 * time.Second); g.max.Load() < 2 && time.Now().Before(end); {
		}
		return nil, nil
	}}
	if _, err := (models.Threads{}).Run(context.Background(), task, models.Options{Workers: 2}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := g.max.Load(); got != 2 {
		t.Errorf("at most %d busy tasks ran at once, want 2", got)
	}
}

// overlap returns how long two of the tasks' spans in state overlap at
// most.
func overlap(rep models.Report, state string) (time.Duration, int, int) {
	var worst time.Duration
	wi, wj := -1, -1
	for i, a := range rep.Tasks {
		for _, b := range rep.Tasks[i+1:] {
			for _, s := range a.States {
				for _, u := range b.States {
					if s.State != state || u.State != state {
						continue
					}
					if o := min(s.End, u.End) - max(s.Start, u.Start); o > worst {
						worst, wi, wj = o, a.Index, b.Index
					}
				}
			}
		}
	}
	return worst, wi, wj
}

// tolerance is how far two running spans may seem to overlap: the trace
// clock and the run's clock are matched at one point, within microseconds.
const tolerance = 20 * time.Microsecond

func TestOneRunningAtATime(t *testing.T) {
	for _, tt := range []struct {
		model models.Model
		// preempted: the model switches tasks that never await.
		preempted bool
	}{
		{models.GIL{}, true},
		{models.EventLoop{}, false},
	} {
		t.Run(tt.model.Name(), func(t *testing.T) {
			task := models.Task{N: 4, Call: func(ctx context.Context, i int) (any, error) {
				if i == 0 {
					return nil, models.Sleep(ctx, 5*time.Millisecond)
				}
				spin(40 * time.Millisecond)
				return nil, nil
			}}
			rep, err := tt.model.Run(context.Background(), task, models.Options{Trace: true, Workers: 4})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !rep.Traced {
				t.Skip("the execution tracer was busy")
			}
			if o, i, j := overlap(rep, models.Running); o > tolerance {
				t.Errorf("tasks %d and %d were both running for %v; want one running at a time", i, j, o)
			}
			// Busy tasks 1..3 all started before any ended only if the
			// model switched them preemptively.
			interleaved := rep.Tasks[3].Start < rep.Tasks[1].End
			if interleaved != tt.preempted {
				t.Errorf("busy tasks interleaved: %v, want %v (records %+v)", interleaved, tt.preempted, rep.Tasks)
			}
		})
	}
}

func TestStatesShowAwaits(t *testing.T) {
	// Under the event loop, a task that sleeps is blocked, and a task that
	// is ready while another holds the loop is waiting. Task 0 (the first
	// to hold the loop) awaits a sleep; task 1 holds the loop until task 0
	// has woken and 10 ms more, so task 0 waits for the loop however late
	// a loaded machine wakes it.
	woke := make(chan struct{})
	task := models.Task{N: 2, Call: func(ctx context.Context, i int) (any, error) {
		if i == 0 {
			models.Await(ctx, func() {
				time.Sleep(10 * time.Millisecond)
				close(woke)
			})
			return nil, nil
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			select {
			case <-woke:
				spin(10 * time.Millisecond)
				return nil, nil
			default:
			}
			if time.Now().After(deadline) {
				return nil, errors.New("task 0 never woke from its await")
			}
		}
	}}
	rep, err := models.EventLoop{}.Run(context.Background(), task, models.Options{Trace: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.Traced {
		t.Skip("the execution tracer was busy")
	}
	if e := rep.Tasks[1].Err; e != "" {
		t.Fatal(e)
	}
	// The states that lasted, in order; a state split by a sliver of
	// another (a loaded machine preempts the task for a moment) once.
	var got []string
	for _, s := range rep.Tasks[0].States {
		if s.End-s.Start > 500*time.Microsecond && (len(got) == 0 || got[len(got)-1] != s.State) {
			got = append(got, s.State)
		}
	}
	if s := strings.Join(got, " "); s != "blocked waiting" && s != "blocked waiting running" {
		t.Errorf("task 0's states longer than 0.5ms = %q, want blocked, waiting (and maybe running)", s)
	}
}

func TestSleepOutsideRun(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"canceled", canceled, time.Hour, context.Canceled},
		{"deadline", expired, time.Hour, context.DeadlineExceeded},
		{"short", context.Background(), time.Millisecond, nil},
		{"zero", context.Background(), 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := models.Sleep(tt.ctx, tt.d); !errors.Is(got, tt.want) {
				t.Errorf("Sleep(%v) = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
}

func TestAwaitOutsideRun(t *testing.T) {
	called := false
	models.Await(context.Background(), func() { called = true })
	if !called {
		t.Errorf("Await did not call fn")
	}
}

func TestAwaitPanicKeepsTheLoop(t *testing.T) {
	// A panic inside Await's fn must leave the loop consistent: the
	// panicking task fails, the others still run one at a time.
	var g gauge
	task := models.Task{N: 6, Call: func(ctx context.Context, i int) (any, error) {
		g.enter()
		spin(100 * time.Microsecond)
		g.leave()
		models.Await(ctx, func() {
			time.Sleep(time.Millisecond)
			if i == 1 {
				panic("in await")
			}
		})
		g.enter()
		spin(100 * time.Microsecond)
		g.leave()
		return i, nil
	}}
	rep, err := models.EventLoop{}.Run(context.Background(), task, models.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := g.max.Load(); got != 1 {
		t.Errorf("at most %d tasks ran at once, want 1", got)
	}
	for _, r := range rep.Tasks {
		if failed := r.Err != ""; failed != (r.Index == 1) {
			t.Errorf("task %d: Err = %q", r.Index, r.Err)
		}
	}
}

func TestRunRestoresSettings(t *testing.T) {
	prevProcs := runtime.GOMAXPROCS(0)
	prevGC := debug.SetGCPercent(137)
	defer debug.SetGCPercent(prevGC)
	prevLimit := debug.SetMemoryLimit(3 << 30)
	defer debug.SetMemoryLimit(prevLimit)
	var during atomic.Int32
	task := models.Task{N: 1, Call: func(context.Context, int) (any, error) {
		during.Store(int32(runtime.GOMAXPROCS(0)))
		return nil, nil
	}}
	for _, m := range []models.Model{models.GIL{}, models.Threads{}} {
		if _, err := m.Run(context.Background(), task, models.Options{}); err != nil {
			t.Fatalf("%s.Run: %v", m.Name(), err)
		}
		if m.Name() == "gil" && during.Load() != 1 {
			t.Errorf("GOMAXPROCS during a gil run = %d, want 1", during.Load())
		}
		if got := runtime.GOMAXPROCS(0); got != prevProcs {
			t.Errorf("GOMAXPROCS after a %s run = %d, want %d", m.Name(), got, prevProcs)
		}
		if got := debug.SetGCPercent(137); got != 137 {
			t.Errorf("GOGC after a %s run = %d, want 137", m.Name(), got)
		}
		if got := debug.SetMemoryLimit(-1); got != 3<<30 {
			t.Errorf("memory limit after a %s run = %d, want %d", m.Name(), got, 3<<30)
		}
	}
}

func TestGoexit(t *testing.T) {
	// A task that ends its goroutine is recorded as failed; the other
	// workers go on, and a run left with tasks undone says why.
	task := models.Task{N: 6, Call: func(_ context.Context, i int) (any, error) {
		if i == 1 {
			runtime.Goexit()
		}
		return i, nil
	}}
	for _, tt := range []struct {
		model   models.Model
		records int
		wantErr bool
	}{
		{models.Sequential{}, 2, true},
		{models.EventLoop{}, 6, false},
		{models.Threads{}, 6, false},
	} {
		t.Run(tt.model.Name(), func(t *testing.T) {
			rep, err := tt.model.Run(context.Background(), task, models.Options{Workers: 2})
			if (err != nil) != tt.wantErr || len(rep.Tasks) != tt.records {
				t.Fatalf("Run = %d records, error %v; want %d records, error: %v", len(rep.Tasks), err, tt.records, tt.wantErr)
			}
			if !strings.Contains(rep.Tasks[1].Err, "Goexit") {
				t.Errorf("task 1: Err = %q, want it to name runtime.Goexit", rep.Tasks[1].Err)
			}
		})
	}
}

func TestTraitsCheck(t *testing.T) {
	ok := models.TraitsOf("gil")
	for _, tt := range []struct {
		name   string
		change func(*models.Traits)
		want   string // "" for no error
	}{
		{"complete", func(*models.Traits) {}, ""},
		{"no name", func(t *models.Traits) { t.Name = "" }, "no name"},
		{"no MSU", func(t *models.Traits) { t.MSU = "" }, "no MSU"},
		{"unknown placement", func(t *models.Traits) { t.Placement = "gpu" }, `placement "gpu" is not one of`},
		{"unknown isolation", func(t *models.Traits) { t.Isolation = "" }, `isolation "" is not one of`},
		{"unknown switching", func(t *models.Traits) { t.Switching = "sometimes" }, `switching "sometimes" is not one of`},
		{"parallel one at a time", func(t *models.Traits) { t.Parallel = true }, `parallel is true but switching is "preempted"`},
		{"hosts in the engine", func(t *models.Traits) { t.Hosts = true }, `hosts) need placement "workers"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := ok
			tt.change(&tr)
			err := tr.Check()
			if got := fmt.Sprint(err); (tt.want == "") != (err == nil) || !strings.Contains(got, tt.want) {
				t.Errorf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
}
