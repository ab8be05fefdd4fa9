// Package modeltest is a conformance suite for models.Model
// implementations, in the way testing/slogtest is for slog handlers:
// every model calls Run (in-process models) or RunWorkers (models whose
// tasks run in worker processes) from its tests.
//
// The suite checks behaviour: complete and consistent task records, every
// task run exactly once, results and errors, recovered panics, an
// interrupt that returns promptly with a partial report and leaves no
// process, progress calls, await points and trace states (blocked, then
// running, for a task that sleeps then computes, in workers too), a
// dying worker's task retried, each worker's clock measured against the
// engine's and its times put on the run's clock (also when its clock is
// off, ClockSkewEnv), and no goroutine left behind by a run. The tasks
// are plain Go funcs of this package; the workers of a model that needs
// them are the test binary itself (ServeWorkerIfAsked).
package modeltest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/internal/leakcheck"
	"atonce/models"
	"atonce/models/workermsg"
)

// watchdog bounds how long one run may take before the suite calls the
// model stuck; the runs here take milliseconds (a second or two for a
// distributed task handed to another worker).
const watchdog = 30 * time.Second

// promptly bounds how long a run may take to return once interrupted.
const promptly = 10 * time.Second

// Run runs the conformance suite against m, a model that calls Task.Call
// in this process, each check as a subtest.
func Run(t *testing.T, m models.Model) {
	t.Helper()
	runSuite(t, m, nil)
}

// RunWorkers runs the conformance suite against m, a model that runs
// Task.Remote in worker processes that w provides, each check as a
// subtest; it adds the checks only workers need: a dying worker's task is
// retried. The workers are the test binary itself: its TestMain must call
// ServeWorkerIfAsked first.
func RunWorkers(t *testing.T, m models.Model, w Workers) {
	t.Helper()
	runSuite(t, m, w)
}

func runSuite(t *testing.T, m models.Model, w Workers) {
	for _, c := range cases {
		if c.workersOnly && w == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) { c.check(t, newSuite(t, m, w)) })
	}
}

var cases = []struct {
	name        string
	check       func(*testing.T, *suite)
	workersOnly bool
}{
	{"records", checkRecords, false},
	{"workers", checkWorkers, false},
	{"empty", checkEmpty, false},
	{"task errors", checkTaskErrors, false},
	{"panic", checkPanic, false},
	{"sleep", checkSleep, false},
	{"progress", checkProgress, false},
	{"cancel", checkCancel, false},
	{"canceled before", checkCanceledBefore, false},
	{"malformed task", checkMalformed, false},
	{"trace", checkTrace, false},
	{"kept trace", checkKeptTrace, false},
	{"dying worker", checkDyingWorker, true},
	{"clock", checkClock, true},
	{"clock skewed", checkClockSkewed, true},
}

// suite is one check's view of the model under test.
type suite struct {
	m      models.Model
	remote Remote // nil for a model that runs in this process
	ledger string // where each task's start is written down
	state  workermsg.State
	// last is the Task.Remote of the latest run, if any.
	last *models.Remote
}

func newSuite(t *testing.T, m models.Model, w Workers) *suite {
	s := &suite{m: m, ledger: filepath.Join(t.TempDir(), "ledger")}
	s.state = workermsg.NewState(Version, []string{s.ledger}, nil)
	if w != nil {
		s.remote = w(t)
	}
	return s
}

// task returns a task of n calls of the suite's function fn (a key of
// funcs; "" for none), for the model under test.
func (s *suite) task(fn string, n int) models.Task {
	t := models.Task{Name: fn, N: n}
	if s.remote != nil {
		s.last = s.remote(fn, s.state)
		t.Remote = s.last
		return t
	}
	if f, ok := funcs[fn]; ok {
		t.Call = func(ctx context.Context, i int) (any, error) {
			attempt, order, err := record(s.ledger, i)
			if err != nil {
				return nil, err
			}
			return f(ctx, i, attempt, order)
		}
	}
	return t
}

// starts returns how many times each task started, from the ledger.
func (s *suite) starts(t *testing.T) map[int]int {
	t.Helper()
	b, err := os.ReadFile(s.ledger)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := map[int]int{}
	for _, line := range strings.Fields(string(b)) {
		i, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("ledger line %q: %v", line, err)
		}
		n[i]++
	}
	return n
}

// run runs the task on the model, failing the test if the run outlives
// the watchdog or leaves a goroutine of its own behind.
func run(t *testing.T, ctx context.Context, s *suite, task models.Task, opt models.Options) (models.Report, error) {
	t.Helper()
	type result struct {
		rep models.Report
		err error
	}
	snap := leakcheck.Goroutines()
	done := make(chan result, 1)
	go func() {
		rep, err := s.m.Run(ctx, task, opt)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		// Workers a cluster keeps between runs are not the run's.
		var kept []int
		if task.Remote != nil && task.Remote.Cluster != nil {
			kept = task.Remote.Cluster.LocalPIDs()
		}
		snap.Check(t, kept...)
		return r.rep, r.err
	case <-time.After(watchdog):
		t.Fatalf("%s.Run(%s) did not return within %v", s.m.Name(), task.Name, watchdog)
		return models.Report{}, nil
	}
}

// checkReport checks what every report must satisfy: its model and the
// model's traits (complete, see models.Traits.Check), records that are
// sorted by index, unique, in the run's time and by a worker in range,
// and workers numbered in order.
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
	// A model that replaces dead workers numbers the replacements on.
	workers := max(rep.Workers, len(rep.Pool))
	for k, r := range rep.Tasks {
		if k > 0 && r.Index <= rep.Tasks[k-1].Index {
			t.Errorf("Tasks[%d].Index = %d after %d; want increasing indexes", k, r.Index, rep.Tasks[k-1].Index)
		}
		if r.Worker < 0 || r.Worker >= workers {
			t.Errorf("task %d: Worker = %d, want in [0, %d)", r.Index, r.Worker, workers)
		}
		if r.Start < 0 || r.Start > r.End || r.End > rep.Wall {
			t.Errorf("task %d: Start, End = %v, %v; want 0 <= Start <= End <= Wall = %v", r.Index, r.Start, r.End, rep.Wall)
		}
	}
	// Workers are numbered in order; one that got ready (Ready > 0; a
	// run may stop before the others do) has a PID and got ready after it
	// was spawned, and only such workers ran tasks.
	for k, w := range rep.Pool {
		if w.Worker != k || (w.Ready > 0 && (w.PID <= 0 || w.Ready < w.Spawn)) {
			t.Errorf("Pool[%d]: Worker %d, PID %d, Spawn %v, Ready %v; want Worker %d, and once ready a PID and Spawn <= Ready", k, w.Worker, w.PID, w.Spawn, w.Ready, k)
		}
	}
	for _, r := range rep.Tasks {
		if len(rep.Pool) > 0 && r.Worker < len(rep.Pool) && rep.Pool[r.Worker].Ready == 0 {
			t.Errorf("task %d: Worker %d never got ready, want a worker that did", r.Index, r.Worker)
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

// sameValue tells whether a task's result is the number want: in this
// process an int, from a worker a JSON number.
func sameValue(got any, want int) bool {
	switch v := got.(type) {
	case int:
		return v == want
	case float64:
		return v == float64(want)
	}
	return false
}

func checkRecords(t *testing.T, s *suite) {
	const n = 25
	rep, err := run(t, context.Background(), s, s.task("double", n), models.Options{})
	if err != nil || rep.Err != "" {
		t.Fatalf("Run = error %v, Report.Err %q; want no error", err, rep.Err)
	}
	checkReport(t, s.m, rep)
	checkComplete(t, rep, n)
	if rep.Workers < 1 {
		t.Errorf("Report.Workers = %d, want >= 1", rep.Workers)
	}
	if rep.Task != "double" {
		t.Errorf("Report.Task = %q, want %q", rep.Task, "double")
	}
	for _, r := range rep.Tasks {
		if !sameValue(r.Result, 2*r.Index) || r.Err != "" {
			t.Errorf("task %d: Result, Err = %v, %q; want %d, no error", r.Index, r.Result, r.Err, 2*r.Index)
		}
	}
	// Every task ran exactly once.
	starts := s.starts(t)
	for i := range n {
		if starts[i] != 1 {
			t.Errorf("task %d started %d times, want once", i, starts[i])
		}
	}
	if len(starts) != n {
		t.Errorf("%d distinct tasks started, want %d", len(starts), n)
	}
}

func checkWorkers(t *testing.T, s *suite) {
	const n = 12
	rep, err := run(t, context.Background(), s, s.task("sleep", n), models.Options{Workers: 3})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, s.m, rep)
	checkComplete(t, rep, n)
	if rep.Workers != 1 && rep.Workers != 3 {
		t.Errorf("with Options.Workers = 3, Report.Workers = %d, want 3 (or 1 for a model of one worker)", rep.Workers)
	}
}

func checkEmpty(t *testing.T, s *suite) {
	rep, err := run(t, context.Background(), s, s.task("called", 0), models.Options{})
	if err != nil || len(rep.Tasks) != 0 {
		t.Errorf("Run of 0 tasks = %d records, error %v; want none", len(rep.Tasks), err)
	}
}

func checkTaskErrors(t *testing.T, s *suite) {
	const n = 10
	rep, err := run(t, context.Background(), s, s.task("odd", n), models.Options{})
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

func checkPanic(t *testing.T, s *suite) {
	const n = 8
	rep, err := run(t, context.Background(), s, s.task("panic", n), models.Options{})
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

func checkSleep(t *testing.T, s *suite) {
	const n = 6
	rep, err := run(t, context.Background(), s, s.task("sleep-index", n), models.Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, n)
	for _, r := range rep.Tasks {
		if r.Err != "" || !sameValue(r.Result, r.Index) {
			t.Errorf("task %d: Result, Err = %v, %q; want %d, no error", r.Index, r.Result, r.Err, r.Index)
		}
	}
}

func checkProgress(t *testing.T, s *suite) {
	const n = 9
	var mu sync.Mutex
	var got []int
	opt := models.Options{Progress: func(model string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if model != s.m.Name() || total != n {
			t.Errorf("Progress(%q, %d, %d); want model %q, total %d", model, done, total, s.m.Name(), n)
		}
		got = append(got, done)
	}}
	if _, err := run(t, context.Background(), s, s.task("nothing", n), opt); err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
	if !slices.Equal(got, want) {
		t.Errorf("Progress done values = %v, want %v", got, want)
	}
}

// checkCancel interrupts a run once two tasks are done while the others
// wait for an hour: the run returns promptly, with a partial report, and
// leaves no process of its own.
func checkCancel(t *testing.T, s *suite) {
	const n = 50
	children := childSet(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var canceled time.Time
	opt := models.Options{Workers: 4, Progress: func(_ string, done, _ int) {
		if done == 2 {
			canceled = time.Now()
			cancel()
		}
	}}
	rep, err := run(t, ctx, s, s.task("stop-after-2", n), opt)
	if took := time.Since(canceled); canceled.IsZero() || took > promptly {
		t.Errorf("Run returned %v after the interrupt (interrupted: %v), want within %v", took, !canceled.IsZero(), promptly)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	if rep.Err == "" {
		t.Errorf("Report.Err is empty, want the run's error")
	}
	checkReport(t, s.m, rep)
	if len(rep.Tasks) == 0 || len(rep.Tasks) == n {
		t.Errorf("got %d task records after interrupting at 2 done, want some but not all %d", len(rep.Tasks), n)
	}
	if children == nil {
		return
	}
	// Workers a cluster keeps between runs are not the run's.
	if s.last != nil && s.last.Cluster != nil {
		for _, pid := range s.last.Cluster.LocalPIDs() {
			children[pid] = true
		}
	}
	after := childSet(t)
	for pid := range after {
		if !children[pid] {
			t.Errorf("process %d, started by the run, is still there after it returned", pid)
		}
	}
}

// childSet returns this process's children, nil where they cannot be
// listed.
func childSet(t *testing.T) map[int]bool {
	t.Helper()
	pids, err := leakcheck.Children()
	if err != nil {
		return nil
	}
	set := map[int]bool{}
	for _, pid := range pids {
		set[pid] = true
	}
	return set
}

func checkCanceledBefore(t *testing.T, s *suite) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := run(t, ctx, s, s.task("nothing", 5), models.Options{})
	if !errors.Is(err, context.Canceled) || rep.Err == "" || len(rep.Tasks) != 0 {
		t.Errorf("Run with a canceled ctx = %d records, error %v, Report.Err %q; want none, context.Canceled, set",
			len(rep.Tasks), err, rep.Err)
	}
}

func checkMalformed(t *testing.T, s *suite) {
	for _, tt := range []struct {
		name string
		fn   string
		n    int
		opt  models.Options
	}{
		{"no func", "", 3, models.Options{}},
		{"negative N", "nothing", -1, models.Options{}},
		{"negative workers", "nothing", 1, models.Options{Workers: -2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := run(t, context.Background(), s, s.task(tt.fn, tt.n), tt.opt)
			if err == nil || rep.Err == "" {
				t.Errorf("Run = error %v, Report.Err %q; want both set", err, rep.Err)
			}
		})
	}
}

// SpinSleep is how long each task of the suite's trace check sleeps at
// an await, then computes.
const SpinSleep = 3 * time.Millisecond

// runSleepSpin runs 4 tasks that sleep, then compute, on 2 workers,
// with or without the tracer, and checks the report.
func runSleepSpin(t *testing.T, s *suite, trace bool) models.Report {
	t.Helper()
	const n = 4
	rep, err := run(t, context.Background(), s, s.task("sleep-spin", n), models.Options{Workers: 2, Trace: trace})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkReport(t, s.m, rep)
	checkComplete(t, rep, n)
	return rep
}

// checkSleepSpinStates checks the states of runSleepSpin's tasks, traced
// (in workers, which trace by themselves, they must be): each shows its
// task blocked, then running, within its own start and end.
func checkSleepSpinStates(t *testing.T, rep models.Report) {
	t.Helper()
	if !rep.Traced {
		t.Fatalf("a run in workers with Options.Trace: Report.Traced is false, want each worker's tracer to have watched its tasks")
	}
	for _, r := range rep.Tasks {
		if r.Err != "" {
			t.Errorf("task %d failed: %s", r.Index, r.Err)
			continue
		}
		CheckSleepThenSpin(t, fmt.Sprintf("task %d", r.Index), r.States, r.Start, r.End, SpinSleep)
	}
}

// checkTrace runs tasks that sleep, then compute, with the tracer on,
// then without: states, then none. A model that runs tasks in this
// process may find the tracer busy (then the check is skipped).
func checkTrace(t *testing.T, s *suite) {
	rep := runSleepSpin(t, s, true)
	if !rep.Traced && s.remote == nil {
		t.Skip("no states to check: the execution tracer was busy")
	}
	checkSleepSpinStates(t, rep)
	checkRuntimeSpans(t, s, rep)
	if rep.Trace != nil {
		t.Errorf("Report.Trace is set without Options.KeepTrace")
	}
	rep = runSleepSpin(t, s, false)
	for _, r := range rep.Tasks {
		if rep.Traced || len(r.States) > 0 {
			t.Errorf("without Options.Trace: Report.Traced %v, task %d has %d states; want none", rep.Traced, r.Index, len(r.States))
		}
	}
	if len(rep.Runtime) > 0 || rep.Trace != nil {
		t.Errorf("without Options.Trace: %d runtime spans, Report.Trace %v; want none", len(rep.Runtime), rep.Trace)
	}
}

// checkRuntimeSpans checks the runtime's collections and stops of the
// world a traced run reports: each within the run, of a known kind, and
// of the process (worker -1) for a model that runs tasks in it, of one
// of the pool's workers otherwise.
func checkRuntimeSpans(t *testing.T, s *suite, rep models.Report) {
	t.Helper()
	for _, sp := range rep.Runtime {
		if sp.Kind != models.RuntimeGC && sp.Kind != models.RuntimeSTW || sp.End <= sp.Start {
			t.Errorf("runtime span %+v: want kind %q or %q and an end after its start", sp, models.RuntimeGC, models.RuntimeSTW)
		}
		if s.remote == nil && sp.Worker != -1 || s.remote != nil && !slices.ContainsFunc(rep.Pool, func(w models.WorkerRecord) bool { return w.Worker == sp.Worker }) {
			t.Errorf("runtime span %+v is of worker %d; want -1 (the process) in process, a pool's worker in workers", sp, sp.Worker)
		}
	}
}

// checkKeptTrace runs tasks that sleep, then compute, keeping the
// execution traces (Options.KeepTrace): the process's trace of the run in
// process, each worker's in workers; every trace reads to its end with
// Go's trace reader, and together they hold each task's run (one
// atonce.run region per task).
func checkKeptTrace(t *testing.T, s *suite) {
	const n = 4
	rep, err := run(t, context.Background(), s, s.task("sleep-spin", n), models.Options{Workers: 2, Trace: true, KeepTrace: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, n)
	if !rep.Traced && s.remote == nil {
		t.Skip("no trace to keep: the execution tracer was busy")
	}
	if rep.Trace == nil {
		t.Fatal("Report.Trace is nil with Options.KeepTrace")
	}
	runs := 0
	if s.remote == nil {
		if len(rep.Trace.Process) == 0 || len(rep.Trace.Workers) > 0 {
			t.Fatalf("in process: Report.Trace has %d bytes of the process's trace and %d workers' traces; want the process's only", len(rep.Trace.Process), len(rep.Trace.Workers))
		}
		runs = ReadTrace(t, rep.Trace.Process)["atonce.run"]
	} else {
		if len(rep.Trace.Process) > 0 || len(rep.Trace.Workers) == 0 {
			t.Fatalf("in workers: Report.Trace has %d bytes of a process's trace and %d workers' traces; want the workers' only", len(rep.Trace.Process), len(rep.Trace.Workers))
		}
		for k, traces := range rep.Trace.Workers {
			ran := slices.ContainsFunc(rep.Tasks, func(r models.TaskRecord) bool { return r.Worker == k })
			if !ran || len(traces) == 0 {
				t.Errorf("Report.Trace.Workers[%d] has %d traces; want those of a worker that ran tasks", k, len(traces))
			}
			for _, tr := range traces {
				runs += ReadTrace(t, tr)["atonce.run"]
			}
		}
	}
	if runs != n {
		t.Errorf("the kept traces hold %d task runs (atonce.run regions), want %d", runs, n)
	}
}

// CheckSleepThenSpin checks the states of a task (what) that slept for
// sleep at an await, then computed: spans in time order within [start,
// end], none empty, no two alike in a row; blocked, the blocked part
// ending at least the sleep (less a millisecond for slivers dropped)
// after the task started, then running. How long it shows blocked is not
// checked: a thread the operating system takes off its CPU on the way
// into the sleep (a loaded machine, a busy virtual machine's host) shows
// as running until the goroutine blocks — the execution tracer sees
// goroutines, not threads — so the blocked span can be shorter than the
// sleep (3 ms slept showed as 2.2 ms running, then 1 ms blocked), but the
// sleep cannot end sooner than it was asked to.
func CheckSleepThenSpin(t *testing.T, what string, states []models.Span, start, end, sleep time.Duration) {
	t.Helper()
	var blocked, waiting time.Duration
	lastBlocked, runningAfter := -1, false
	for k, st := range states {
		if st.Start < start || st.End > end || st.Start >= st.End {
			t.Errorf("%s: span %d, %s %v..%v, is outside the task's %v..%v or empty", what, k, st.State, st.Start, st.End, start, end)
		}
		if k > 0 && (st.Start < states[k-1].End || st.State == states[k-1].State && st.Kind == states[k-1].Kind) {
			t.Errorf("%s: span %d (%s from %v) overlaps or repeats span %d (%s to %v)", what, k, st.Label(), st.Start, k-1, states[k-1].Label(), states[k-1].End)
		}
		switch st.State {
		case models.Blocked:
			blocked += st.End - st.Start
			lastBlocked = k
		case models.Running:
			runningAfter = runningAfter || lastBlocked >= 0
		case models.Waiting:
			waiting += st.End - st.Start
		default:
			t.Errorf("%s: span %d is %q, want running, waiting or blocked", what, k, st.State)
		}
	}
	if blocked == 0 || states[lastBlocked].End-start < sleep-time.Millisecond {
		t.Errorf("%s: blocked for %v and waiting for %v in %v, want blocked until at least the sleep's %v after the task's start %v", what, blocked, waiting, states, sleep, start)
	}
	if lastBlocked < 0 || !runningAfter {
		t.Errorf("%s: states %v, want blocked, then running", what, states)
	}
}

// checkClock checks that each worker's clock was measured against the
// engine's when it greeted: on this machine the clocks are one, so the
// offset is within its uncertainty of zero.
func checkClock(t *testing.T, s *suite) {
	checkClockSkew(t, s, 0)
}

// checkClockSkewed: workers whose clocks read 5 s ahead (ClockSkewEnv)
// are measured so, and their times put right.
func checkClockSkewed(t *testing.T, s *suite) {
	const skew = 5 * time.Second
	t.Setenv(ClockSkewEnv, skew.String())
	checkClockSkew(t, s, skew)
}

// checkClockSkew runs traced tasks on workers whose clocks read skew
// ahead of the engine's: each worker's measured offset is skew within
// its uncertainty, and every task and state is on the run's clock, within
// its wall time (checkReport, CheckSleepThenSpin), where the workers'
// own times would put them skew away.
func checkClockSkew(t *testing.T, s *suite, skew time.Duration) {
	rep := runSleepSpin(t, s, true)
	if len(rep.Pool) == 0 {
		t.Fatalf("no workers in Report.Pool")
	}
	for _, w := range rep.Pool {
		if w.ClockUncertainty <= 0 || (w.ClockOffset-skew).Abs() > w.ClockUncertainty {
			t.Errorf("worker %d: clock offset %v ± %v, want %v within its uncertainty", w.Worker, w.ClockOffset, w.ClockUncertainty, skew)
		}
	}
	checkSleepSpinStates(t, rep)
}

// checkDyingWorker: task 3 kills the worker that first runs it; it is
// retried on another and completes, the others run once each.
func checkDyingWorker(t *testing.T, s *suite) {
	const n, dies = 6, 3
	rep, err := run(t, context.Background(), s, s.task("die-once", n), models.Options{Workers: 2})
	if err != nil || rep.Err != "" {
		t.Fatalf("Run = error %v, Report.Err %q; want no error (a dead worker's task is retried)", err, rep.Err)
	}
	checkReport(t, s.m, rep)
	checkComplete(t, rep, n)
	for _, r := range rep.Tasks {
		if r.Err != "" || !sameValue(r.Result, r.Index) {
			t.Errorf("task %d: Result, Err = %v, %q; want %d, no error", r.Index, r.Result, r.Err, r.Index)
		}
		if r.Index == dies && (r.Attempts != 2 || r.Note == "") {
			t.Errorf("task %d, which killed its first worker: Attempts %d, Note %q; want 2 and a note saying why", r.Index, r.Attempts, r.Note)
		}
	}
	starts := s.starts(t)
	for i := range n {
		want := 1
		if i == dies {
			want = 2
		}
		if starts[i] != want {
			t.Errorf("task %d started %d times, want %d", i, starts[i], want)
		}
	}
}
