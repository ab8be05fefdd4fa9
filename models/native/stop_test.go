package native

import (
	"context"
	"strings"
	"testing"
	"time"

	"atonce/models/workermsg"
)

// TestStopRun: StopRun of the run a sleeping task belongs to makes its
// Sleep return, and the task is reported stopped; StopRun of another run
// leaves it alone. (Over pipes the engine kills the program instead; a
// NATS worker gets StopRun from the kernel's cancel message.)
func TestStopRun(t *testing.T) {
	asleep := make(chan struct{})
	r, err := newRunner(Program{
		Funcs: map[string]any{"Forever": func(int) {
			close(asleep)
			Sleep(time.Hour)
		}},
		Source: "stop-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	st := workermsg.NewState(Version("stop-test"), nil, nil)
	if ready := r.Load(context.Background(), st); ready.Err != "" {
		t.Fatalf("Load: %s", ready.Err)
	}
	done := make(chan workermsg.Result)
	go func() {
		done <- r.Run(context.Background(), workermsg.Task{ID: "t", Run: "run-1", StateKey: st.Key, Func: "Forever", Index: 0})
	}()
	<-asleep
	r.StopRun("run-2")
	select {
	case res := <-done:
		t.Fatalf("StopRun of another run stopped the task: %+v", res)
	default:
	}
	r.StopRun("run-1")
	res := <-done
	if !strings.HasPrefix(res.Err, "task 0 was stopped: its run was interrupted") {
		t.Errorf("the stopped task's error got %q, want it said stopped", res.Err)
	}
	// Sleep outside a task sleeps again.
	started := time.Now()
	Sleep(time.Millisecond)
	if time.Since(started) < time.Millisecond {
		t.Errorf("Sleep after the stopped task returned after %v, want at least 1ms", time.Since(started))
	}
}
