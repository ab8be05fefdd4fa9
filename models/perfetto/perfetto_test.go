package perfetto_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/modeltest"
	"atonce/models/perfetto"
	"atonce/models/workermsg"
)

// The test binary doubles as the workers of processes.
func TestMain(m *testing.M) {
	modeltest.ServeWorkerIfAsked()
	os.Exit(m.Run())
}

// runs are a traced threads run of tasks that sleep at an await, then
// compute, and a processes run of the same in worker processes (the test
// binary): real reports, with states, workers' start-up and queued tasks.
func runs(t *testing.T) []models.Report {
	t.Helper()
	const n = 6
	ctx := context.Background()
	threads, err := models.Threads{}.Run(ctx, models.Task{Name: "sleep-spin", N: n, Call: func(ctx context.Context, _ int) (any, error) {
		if err := models.Sleep(ctx, modeltest.SpinSleep); err != nil {
			return nil, err
		}
		for end := time.Now().Add(modeltest.SpinSleep); time.Now().Before(end); {
		}
		return nil, nil
	}}, models.Options{Workers: 2, Trace: true})
	if err != nil {
		t.Fatalf("threads: %v", err)
	}
	state := workermsg.NewState(modeltest.Version, []string{filepath.Join(t.TempDir(), "ledger")}, nil)
	remote := modeltest.PipeWorkers(t)("sleep-spin", state)
	procs, err := models.Processes{}.Run(ctx, models.Task{Name: "sleep-spin", N: n, Remote: remote}, models.Options{Workers: 2, Trace: true})
	if err != nil {
		t.Fatalf("processes: %v", err)
	}
	if !threads.Traced || !procs.Traced {
		t.Skip("the execution tracer was busy")
	}
	return []models.Report{threads, procs}
}

// event is an event as a tool reads it back from the JSON.
type event struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   int            `json:"id"`
	Bp   string         `json:"bp"`
	Args map[string]any `json:"args"`
}

// TestWrite: the export is valid JSON of the Trace Event Format: a
// process per model named by it, a thread per worker named as the task
// stream names its rows, a slice per task at its times with its states
// nested in it, start-up slices, and a flow from the queue to the worker
// for each task handed to a worker process.
func TestWrite(t *testing.T) {
	reports := runs(t)
	var buf bytes.Buffer
	if err := perfetto.Write(&buf, reports); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TraceEvents     []event `json:"traceEvents"`
		DisplayTimeUnit string  `json:"displayTimeUnit"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the export is not JSON: %v", err)
	}
	if doc.DisplayTimeUnit != "ms" || len(doc.TraceEvents) == 0 {
		t.Fatalf("displayTimeUnit %q, %d events", doc.DisplayTimeUnit, len(doc.TraceEvents))
	}
	processes := map[int]string{}
	threads := map[[2]int]string{}
	for _, e := range doc.TraceEvents {
		switch {
		case e.Ph == "M" && e.Name == "process_name":
			processes[e.Pid] = e.Args["name"].(string)
		case e.Ph == "M" && e.Name == "thread_name":
			threads[[2]int{e.Pid, e.Tid}] = e.Args["name"].(string)
		}
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	near := func(a, b float64) bool { return a-b < 0.0015 && b-a < 0.0015 }
	for i, r := range reports {
		pid := i + 1
		if processes[pid] != r.Label() {
			t.Errorf("process %d is named %q, want %q", pid, processes[pid], r.Label())
		}
		tasks := map[string]event{}
		var states []event
		flows := map[int][]event{}
		startups := 0
		for _, e := range doc.TraceEvents {
			if e.Pid != pid || e.Ph == "M" {
				continue
			}
			if _, ok := threads[[2]int{e.Pid, e.Tid}]; !ok {
				t.Errorf("%s: event %+v is on an unnamed thread", r.Model, e)
			}
			switch {
			case e.Ph == "X" && e.Cat == perfetto.CatTask:
				tasks[e.Name] = e
			case e.Ph == "X" && e.Cat == perfetto.CatState:
				states = append(states, e)
			case e.Ph == "X" && e.Cat == perfetto.CatWorker:
				startups++
			case e.Ph == "s" || e.Ph == "f":
				flows[e.ID] = append(flows[e.ID], e)
			}
		}
		if len(tasks) != len(r.Tasks) {
			t.Errorf("%s: %d task slices, want %d", r.Model, len(tasks), len(r.Tasks))
		}
		nstates := 0
		for _, rec := range r.Tasks {
			s, ok := tasks[fmt.Sprintf("task %d", rec.Index)]
			if !ok {
				continue
			}
			if !near(s.Ts, us(rec.Start)) || !near(s.Dur, us(rec.End-rec.Start)) {
				t.Errorf("%s: task %d's slice is %v+%v µs, want %v+%v", r.Model, rec.Index, s.Ts, s.Dur, us(rec.Start), us(rec.End-rec.Start))
			}
			if want := r.WorkerLabel(rec.Worker); threads[[2]int{pid, s.Tid}] != want {
				t.Errorf("%s: task %d is on thread %q, want %q", r.Model, rec.Index, threads[[2]int{pid, s.Tid}], want)
			}
			nstates += len(rec.States)
			for _, st := range states {
				if st.Tid == s.Tid && st.Ts >= s.Ts && st.Ts < s.Ts+s.Dur && st.Ts+st.Dur > s.Ts+s.Dur+0.0015 {
					t.Errorf("%s: state slice %+v is not nested in task %d's %v+%v", r.Model, st, rec.Index, s.Ts, s.Dur)
				}
			}
		}
		if len(states) != nstates || nstates == 0 {
			t.Errorf("%s: %d state slices, want one per traced state, %d", r.Model, len(states), nstates)
		}
		if startups != len(r.Pool) {
			t.Errorf("%s: %d start-up slices, want one per worker process, %d", r.Model, startups, len(r.Pool))
		}
		queued := 0
		for _, rec := range r.Tasks {
			if rec.Queued > 0 && rec.Queued < rec.Start {
				queued++
			}
		}
		if len(r.Pool) > 0 && queued == 0 {
			t.Errorf("%s: no task of a run in worker processes was queued: no flow to check", r.Model)
		}
		if len(flows) != queued {
			t.Errorf("%s: %d flows, want one per queued task, %d", r.Model, len(flows), queued)
		}
		for id, f := range flows {
			if len(f) != 2 || f[0].Ph != "s" || f[1].Ph != "f" || f[1].Bp != "e" || f[0].Cat != perfetto.CatQueue {
				t.Errorf("%s: flow %d is %+v; want a start on the queue and an end bound to the task", r.Model, id, f)
				continue
			}
			task := tasks[f[1].Name]
			if threads[[2]int{pid, f[0].Tid}][:5] != "queue" || f[1].Tid != task.Tid || !near(f[1].Ts, task.Ts) {
				t.Errorf("%s: flow %d goes from %q to %q at %v; want from a queue lane to %s's worker at its start %v", r.Model, id,
					threads[[2]int{pid, f[0].Tid}], threads[[2]int{pid, f[1].Tid}], f[1].Ts, f[1].Name, task.Ts)
			}
		}
	}
	if reports[1].Model == "processes" && len(reports[1].Pool) == 0 {
		t.Errorf("the processes run has no pool")
	}
}

func TestMicros(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{1234567 * time.Nanosecond, "1234.567"},
		{-1500 * time.Nanosecond, "-1.500"},
	} {
		b, err := json.Marshal(perfetto.Micros(tt.d))
		if err != nil || string(b) != tt.want {
			t.Errorf("Micros(%v) = %s, %v; want %s", tt.d, b, err, tt.want)
		}
		var back perfetto.Micros
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != tt.d {
			t.Errorf("reading %s back = %v, %v; want %v", b, time.Duration(back), err, tt.d)
		}
	}
}
