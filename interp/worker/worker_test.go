package worker_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"atonce/interp/worker"
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
