// Package modeltest is a conformance suite for models.Model
// implementations, in the way testing/slogtest is for slog handlers:
// every model calls Run from its tests.
//
// The suite checks behaviour only (no timings): complete and consistent
// task records, results and errors, recovered panics, cancellation with a
// partial report, progress calls, await points and trace states.
package modeltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"atonce/models"
)

// watchdog bounds how long one run may take before the suite calls the
// model stuck; the runs here take milliseconds.
const watchdog = 30 * time.Second

// Run runs the conformance suite against m, each check as a subtest.
func Run(t *testing.T, m models.Model) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, m) })
	}
}

var cases = []struct {
	name  string
	check func(*testing.T, models.Model)
}{
	{"records", checkRecords},
	{"workers", checkWorkers},
	{"empty", checkEmpty},
	{"task errors", checkTaskErrors},
	{"panic", checkPanic},
	{"sleep", checkSleep},
	{"progress", checkProgress},
	{"cancel", checkCancel},
	{"canceled before", checkCanceledBefore},
	{"malformed task", checkMalformed},
	{"trace", checkTrace},
}

// run runs m, failing the test if the run outlives the watchdog.
func run(t *testing.T, ctx context.Context, m models.Model, task models.Task, opt models.Options) (models.Report, error) {
	t.Helper()
	type result struct {
		rep models.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := m.Run(ctx, task, opt)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		return r.rep, r.err
	case <-time.After(watchdog):
		t.Fatalf("%s.Run(%s) did not return within %v", m.Name(), task.Name, watchdog)
		return models.Report{}, nil
	}
}

// checkReport checks what every report must satisfy: its model and the
// model's traits (complete, see models.Traits.Check), and records that
// are sorted by index, unique, in the run's time and by a worker in
// range.
func checkReport(t *testing.T, m models.Model, rep models.Report) {
	t.Helper()
	if rep.Model != m.Name() {
		t.Errorf("Report.Model = %q, want %q", rep.Model, m.Name())
	}
	if rep.Traits != m.Traits() {
		t.Errorf("Report.Traits = %+v, want the model's %+v", rep.Traits, m.Traits())
	}
	if err := m.Traits().Check(); err != nil {
		t.Error(err)
	}
	if m.Traits().Name != m.Name() {
		t.Errorf("Traits().Name = %q, want Name() %q", m.Traits().Name, m.Name())
	}
	for k, r := range rep.Tasks {
		if k > 0 && r.Index <= rep.Tasks[k-1].Index {
			t.Errorf("Tasks[%d].Index = %d after %d; want increasing indexes", k, r.Index, rep.Tasks[k-1].Index)
		}
		if r.Worker < 0 || r.Worker >= rep.Workers {
			t.Errorf("task %d: Worker = %d, want in [0, %d)", r.Index, r.Worker, rep.Workers)
		}
		if r.Start < 0 || r.Start > r.End || r.End > rep.Wall {
			t.Errorf("task %d: Start, End = %v, %v; want 0 <= Start <= End <= Wall = %v", r.Index, r.Start, r.End, rep.Wall)
		}
	}
}

// checkComplete checks that rep holds exactly the tasks 0..n-1.
func checkComplete(t *testing.T, rep models.Report, n int) {
	t.Helper()
	if len(rep.Tasks) != n {
		t.Fatalf("got %d task records, want %d", len(rep.Tasks), n)
	}
	for i, r := range rep.Tasks {
		if r.Index != i {
			t.Fatalf("Tasks[%d].Index = %d, want %d", i, r.Index, i)
		}
	}
}

func checkRecords(t *testing.T, m models.Model) {
	const n = 25
	task := models.Task{Name: "double", N: n, Call: func(_ context.Context, i int) (any, error) { return 2 * i, nil }}
	rep, err := run(t, context.Background(), m, task, models.Options{})
	if err != nil || rep.Err != "" {
		t.Fatalf("Run = error %v, Report.Err %q; want no error", err, rep.Err)
	}
	checkReport(t, m, rep)
	checkComplete(t, rep, n)
	if rep.Workers < 1 {
		t.Errorf("Report.Workers = %d, want >= 1", rep.Workers)
	}
	if rep.Task != "double" {
		t.Errorf("Report.Task = %q, want %q", rep.Task, "double")
	}
	for _, r := range rep.Tasks {
		if r.Result != 2*r.Index || r.Err != "" {
			t.Errorf("task %d: Result, Err = %v, %q; want %d, no error", r.Index, r.Result, r.Err, 2*r.Index)
		}
	}
}

func checkWorkers(t *testing.T, m models.Model) {
	const n = 12
	task := models.Task{N: n, Call: func(ctx context.Context, i int) (any, error) {
		return nil, models.Sleep(ctx, time.Millisecond)
	}}
	rep, err := run(t, context.Background(), m, task, models.Options{Workers: 3})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, m, rep)
	checkComplete(t, rep, n)
	if rep.Workers != 1 && rep.Workers != 3 {
		t.Errorf("with Options.Workers = 3, Report.Workers = %d, want 3 (or 1 for a model of one worker)", rep.Workers)
	}
}

func checkEmpty(t *testing.T, m models.Model) {
	task := models.Task{N: 0, Call: func(context.Context, int) (any, error) { return nil, errors.New("called") }}
	rep, err := run(t, context.Background(), m, task, models.Options{})
	if err != nil || len(rep.Tasks) != 0 {
		t.Errorf("Run of 0 tasks = %d records, error %v; want none", len(rep.Tasks), err)
	}
}

func checkTaskErrors(t *testing.T, m models.Model) {
	const n = 10
	task := models.Task{N: n, Call: func(_ context.Context, i int) (any, error) {
		if i%2 == 1 {
			return nil, fmt.Errorf("odd %d", i)
		}
		return i, nil
	}}
	rep, err := run(t, context.Background(), m, task, models.Options{})
	if err != nil || rep.Err != "" {
		t.Fatalf("Run = error %v, Report.Err %q; want no error (task errors are not run errors)", err, rep.Err)
	}
	checkComplete(t, rep, n)
	for _, r := range rep.Tasks {
		want := ""
		if r.Index%2 == 1 {
			want = fmt.Sprintf("odd %d", r.Index)
		}
		if r.Err != want {
			t.Errorf("task %d: Err = %q, want %q", r.Index, r.Err, want)
		}
	}
}

func checkPanic(t *testing.T, m models.Model) {
	const n = 8
	task := models.Task{N: n, Call: func(_ context.Context, i int) (any, error) {
		if i == 3 {
			panic("boom")
		}
		return i, nil
	}}
	rep, err := run(t, context.Background(), m, task, models.Options{})
	if err != nil {
		t.Fatalf("Run: %v; want no error (a panic is the task's error)", err)
	}
	checkComplete(t, rep, n)
	for _, r := range rep.Tasks {
		failed := r.Err != ""
		if want := r.Index == 3; failed != want || (want && !strings.Contains(r.Err, "boom")) {
			t.Errorf("task %d: Err = %q, want an error mentioning boom: %v", r.Index, r.Err, want)
		}
	}
}

func checkSleep(t *testing.T, m models.Model) {
	const n = 6
	task := models.Task{N: n, Call: func(ctx context.Context, i int) (any, error) {
		if err := models.Sleep(ctx, time.Millisecond); err != nil {
			return nil, err
		}
		return i, nil
	}}
	rep, err := run(t, context.Background(), m, task, models.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, n)
	for _, r := range rep.Tasks {
		if r.Err != "" || r.Result != r.Index {
			t.Errorf("task %d: Result, Err = %v, %q; want %d, no error", r.Index, r.Result, r.Err, r.Index)
		}
	}
}

func checkProgress(t *testing.T, m models.Model) {
	const n = 9
	var mu sync.Mutex
	var got []int
	opt := models.Options{Progress: func(model string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if model != m.Name() || total != n {
			t.Errorf("Progress(%q, %d, %d); want model %q, total %d", model, done, total, m.Name(), n)
		}
		got = append(got, done)
	}}
	task := models.Task{N: n, Call: func(context.Context, int) (any, error) { return nil, nil }}
	if _, err := run(t, context.Background(), m, task, opt); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	if !slices.Equal(got, want) {
		t.Errorf("Progress done values = %v, want %v", got, want)
	}
}

func checkCancel(t *testing.T, m models.Model) {
	const n = 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The first two tasks to start finish, the third cancels the run, and
	// every task sleeps until the run stops: whatever order the model
	// takes the tasks in.
	var started atomic.Int32
	task := models.Task{N: n, Call: func(ctx context.Context, i int) (any, error) {
		switch started.Add(1) {
		case 1, 2:
			return i, nil
		case 3:
			cancel()
		}
		return nil, models.Sleep(ctx, time.Hour) // returns when the run stops
	}}
	rep, err := run(t, ctx, m, task, models.Options{Workers: 4})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	if rep.Err == "" {
		t.Errorf("Report.Err is empty, want the run's error")
	}
	checkReport(t, m, rep)
	if len(rep.Tasks) == 0 || len(rep.Tasks) == n {
		t.Errorf("got %d task records after the third task cancelled the run, want some but not all %d", len(rep.Tasks), n)
	}
}

func checkCanceledBefore(t *testing.T, m models.Model) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	task := models.Task{N: 5, Call: func(context.Context, int) (any, error) { return nil, nil }}
	rep, err := run(t, ctx, m, task, models.Options{})
	if !errors.Is(err, context.Canceled) || rep.Err == "" || len(rep.Tasks) != 0 {
		t.Errorf("Run with a canceled ctx = %d records, error %v, Report.Err %q; want none, context.Canceled, set",
			len(rep.Tasks), err, rep.Err)
	}
}

func checkMalformed(t *testing.T, m models.Model) {
	for _, tt := range []struct {
		name string
		task models.Task
		opt  models.Options
	}{
		{"no func", models.Task{N: 3}, models.Options{}},
		{"negative N", models.Task{N: -1, Call: func(context.Context, int) (any, error) { return nil, nil }}, models.Options{}},
		{"negative workers", models.Task{N: 1, Call: func(context.Context, int) (any, error) { return nil, nil }}, models.Options{Workers: -2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := run(t, context.Background(), m, tt.task, tt.opt)
			if err == nil || rep.Err == "" {
				t.Errorf("Run = error %v, Report.Err %q; want both set", err, rep.Err)
			}
		})
	}
}

func checkTrace(t *testing.T, m models.Model) {
	const n = 4
	task := models.Task{N: n, Call: func(ctx context.Context, i int) (any, error) {
		return nil, models.Sleep(ctx, 2*time.Millisecond)
	}}
	rep, err := run(t, context.Background(), m, task, models.Options{Trace: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.Traced {
		t.Skip("the execution tracer was busy; no states to check")
	}
	checkComplete(t, rep, n)
	for _, r := range rep.Tasks {
		if len(r.States) == 0 {
			t.Errorf("task %d: no States", r.Index)
		}
		blocked := false
		for k, s := range r.States {
			switch s.State {
			case models.Running, models.Waiting:
			case models.Blocked:
				blocked = true
			default:
				t.Errorf("task %d: state %q, want running, waiting or blocked", r.Index, s.State)
			}
			if s.Start < r.Start || s.End > r.End || s.Start >= s.End {
				t.Errorf("task %d: span %v..%v outside the task's %v..%v or empty", r.Index, s.Start, s.End, r.Start, r.End)
			}
			if k > 0 && (s.Start < r.States[k-1].End || s.State == r.States[k-1].State) {
				t.Errorf("task %d: span %d (%s from %v) overlaps or repeats span %d (%s to %v)",
					r.Index, k, s.State, s.Start, k-1, r.States[k-1].State, r.States[k-1].End)
			}
		}
		if !blocked {
			t.Errorf("task %d slept 2ms but its States %v show no %q span", r.Index, r.States, models.Blocked)
		}
	}
}
