package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"atonce/interp/worker"
	"atonce/models"
	"atonce/models/modeltest"
	"atonce/models/workermsg"
)

func load(t *testing.T, cells []string, globals map[string]json.RawMessage) (*worker.Worker, workermsg.State) {
	t.Helper()
	w := worker.New("v1", nil)
	t.Cleanup(w.Close)
	st := workermsg.NewState("v1", cells, globals)
	if ready := w.Load(context.Background(), st); ready.Err != "" {
		t.Fatalf("Load: %s", ready.Err)
	}
	return w, st
}

func TestLoadReplaysCellsThenSetsGlobals(t *testing.T) {
	cells := []string{"var count int\ntype Point struct{ X, Y int }\nvar origin = Point{1, 2}", "count = 3", "func Task(i int) int {\n\tcount++\n\treturn count*10 + origin.X\n}"}
	w, st := load(t, cells, map[string]json.RawMessage{"count": json.RawMessage("40"), "origin": json.RawMessage(`{"X":7,"Y":8}`)})
	res := w.Run(context.Background(), workermsg.Task{ID: "a", StateKey: st.Key, Func: "Task", Index: 0})
	if res.Err != "" || string(res.Value) != "417" {
		t.Fatalf("result %s, err %q; want 417: count set to 40 from JSON, then incremented, plus origin.X = 7", res.Value, res.Err)
	}
	if got := string(res.Globals["count"]); got != "41" {
		t.Errorf("changed globals report count = %q, want 41", got)
	}
	if _, ok := res.Globals["origin"]; ok {
		t.Errorf("origin did not change but is reported: %s", res.Globals["origin"])
	}
	if res.Start == 0 || res.End < res.Start {
		t.Errorf("start %d, end %d", res.Start, res.End)
	}
}

func TestResultThatCannotCross(t *testing.T) {
	w, st := load(t, []string{"func Task(i int) func() { return func() {} }"}, nil)
	res := w.Run(context.Background(), workermsg.Task{ID: "a", StateKey: st.Key, Func: "Task", Index: 2})
	if !strings.Contains(res.Err, "cannot cross") || !strings.Contains(res.Err, "func()") {
		t.Errorf("error %q, want one saying the func() result cannot cross", res.Err)
	}
}

func TestTaskPanicAndError(t *testing.T) {
	w, st := load(t, []string{`func Task(i int) (int, error) {
	if i == 0 {
		panic("boom")
	}
	return 0, fmt.Errorf("bad %d", i)
}`}, nil)
	if res := w.Run(context.Background(), workermsg.Task{StateKey: st.Key, Func: "Task", Index: 0}); !strings.Contains(res.Err, "panicked: boom") {
		t.Errorf("panic: err %q", res.Err)
	}
	if res := w.Run(context.Background(), workermsg.Task{StateKey: st.Key, Func: "Task", Index: 1}); res.Err != "bad 1" {
		t.Errorf("error: err %q, want %q", res.Err, "bad 1")
	}
}

func TestVersionMismatchRefused(t *testing.T) {
	w := worker.New("v1", nil)
	defer w.Close()
	ready := w.Load(context.Background(), workermsg.NewState("v2", nil, nil))
	if !strings.Contains(ready.Err, "atonce v1 but the kernel is atonce v2") {
		t.Errorf("Load of another version's state: %q", ready.Err)
	}
	if res := w.Run(context.Background(), workermsg.Task{StateKey: "x", Func: "Task"}); !strings.Contains(res.Err, "does not hold the notebook state") {
		t.Errorf("Run without state: %q", res.Err)
	}
}

func TestStopRunStopsTheTask(t *testing.T) {
	w, st := load(t, []string{"func Task(i int) { for {} }"}, nil)
	done := make(chan workermsg.Result, 1)
	go func() { done <- w.Run(context.Background(), workermsg.Task{Run: "r1", StateKey: st.Key, Func: "Task"}) }()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.StopRun("other run") // not this task's run: no effect
			w.StopRun("r1")
			continue
		case res := <-done:
			if !strings.Contains(res.Err, "interrupted") {
				t.Errorf("stopped task: err %q", res.Err)
			}
		case <-deadline:
			t.Fatal("StopRun did not stop an endless task within 5 s")
		}
		return
	}
}

func TestStateKeyDependsOnContent(t *testing.T) {
	a := workermsg.NewState("v", []string{"x := 1"}, nil)
	b := workermsg.NewState("v", []string{"x := 2"}, nil)
	c := workermsg.NewState("v", []string{"x := 1"}, map[string]json.RawMessage{"x": json.RawMessage("5")})
	if a.Key == b.Key || a.Key == c.Key || a.Key != workermsg.NewState("v", []string{"x := 1"}, nil).Key {
		t.Errorf("keys: %s %s %s", a.Key, b.Key, c.Key)
	}
}

// TestTracedOverPipes: served over its pipes, the interpreter's worker
// tells its time, starts its tracer when asked, and runs a task that
// asks for its states under it: the interpreted task that sleeps, then computes, is
// blocked, then running, within its start and end.
func TestTracedOverPipes(t *testing.T) {
	const sleep = 3 * time.Millisecond
	cell := `import "time"

func Task(i int) int {
	time.Sleep(3 * time.Millisecond)
	for end := time.Now().Add(3 * time.Millisecond); time.Now().Before(end); {
	}
	return i
}`
	reqR, reqW := io.Pipe()
	ansR, ansW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- worker.ServePipe(context.Background(), reqR, ansW, "v1")
		ansW.Close()
	}()
	engine := workermsg.NewConn(ansR, reqW)
	ask := func(m workermsg.Message) workermsg.Message {
		t.Helper()
		if _, err := engine.Send(m); err != nil {
			t.Fatalf("sending a %s message: %v", m.Kind, err)
		}
		for {
			a, _, err := engine.Receive()
			if err != nil {
				t.Fatalf("the answer to a %s message: %v", m.Kind, err)
			}
			if a.Kind != workermsg.KindOutput {
				return a
			}
		}
	}
	if m, _, err := engine.Receive(); err != nil || m.Kind != workermsg.KindHello {
		t.Fatalf("the worker began with %+v, %v; want its hello", m, err)
	}
	before := time.Now().UnixNano()
	a := ask(workermsg.Message{Kind: workermsg.KindClock})
	if a.Clock == nil || a.Clock.Time < before || a.Clock.Time > time.Now().UnixNano() {
		t.Errorf("asked the time, got %+v; want this machine's clock", a)
	}
	if a := ask(workermsg.Message{Kind: workermsg.KindTrace}); a.Kind != workermsg.KindTrace {
		t.Errorf("asked to start the tracer ahead, got a %q answer, want %q", a.Kind, workermsg.KindTrace)
	}
	st := workermsg.NewState("v1", []string{cell}, nil)
	if a := ask(workermsg.Message{Kind: workermsg.KindState, State: &st}); a.Ready == nil || a.Ready.Err != "" {
		t.Fatalf("loading the state got %+v", a)
	}
	for _, trace := range []bool{true, false} {
		task := workermsg.Task{ID: "a", StateKey: st.Key, Func: "Task", Index: 1, Trace: trace}
		a = ask(workermsg.Message{Kind: workermsg.KindTask, Task: &task})
		res := a.Result
		if res == nil || res.Err != "" {
			t.Fatalf("task with Trace %v: got %+v, want a result", trace, a)
		}
		if !trace {
			if res.Traced || len(res.States) > 0 {
				t.Errorf("a task that did not ask: Traced %v, %d states; want none", res.Traced, len(res.States))
			}
			continue
		}
		if !res.Traced {
			t.Fatalf("a task that asked for its states: Traced is false")
		}
		rec := models.RemoteRecord(*res, models.WorkerRecord{}, time.Unix(0, res.Start))
		modeltest.CheckSleepThenSpin(t, "the interpreted task", rec.States, rec.Start, rec.End, sleep)
	}
	reqW.Close()
	if err := <-served; err != nil {
		t.Errorf("ServePipe returned %v, want nil once the requests end", err)
	}
}
