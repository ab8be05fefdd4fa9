package verdict

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/sharing"
	"atonce/models/stats"
)

// Each branch of the reasoning on synthetic runs: the task's kind, which
// models help, which do not, and the words that say why.
func TestVerdicts(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		in                   Input
		kind                 Kind
		helps, same, unsure  []string
		slower               []string
		ideal                []string
		says, doesNotSay     []string
		noModelMakesItFaster bool
	}{
		{
			name: "cpu-bound", in: cpuBound(), kind: CPUBound,
			helps: []string{"threads"}, same: []string{"eventloop", "gil"}, ideal: []string{"threads"},
			says: []string{"The task is CPU-bound.", "98% of their time running", "Helps: threads 1.91x [1.86–2.01] with 2 goroutines (as fast as the 2 cores allow)",
				"several cores at once (MSU: machine instruction)", "No faster than sequential: eventloop 0.99x [0.97–1.02] and gil 0.99x [0.96–1.01]",
				"under eventloop and gil one task runs at a time (under gil the tasks waited 74% of their time for the global lock, which lets one thread run at a time)", "at most 1.0x"},
			doesNotSay: []string{"Correctness", "Break-even", "Cannot tell"},
		},
		{
			name: "await-bound", in: awaitBound(), kind: AwaitBound,
			helps: []string{"eventloop", "gil", "threads"}, ideal: []string{"threads"},
			says: []string{"The task waits.", "97% of their time blocked at awaits", "eventloop 7.40x [7.10–7.70] with 8 coroutines",
				"under threads the tasks wait side by side", "eventloop switches at each await (MSU: code between two awaits)", "gil releases the global lock at each blocking call", "threads 1.97x [1.95–2.01] with 2 goroutines (as fast as its 2 goroutines allow)"},
			doesNotSay: []string{"No faster", "No model"},
		},
		{
			name: "mixed", in: mixed(), kind: Mixed,
			helps: []string{"eventloop", "gil", "threads"},
			ideal: []string{"threads"},
			says:  []string{"The task computes and waits.", "50% of their time running and 49% blocked", "overlap only the waits, so at most 2.0x here", "under threads the tasks overlap both their waits and their work"},
		},
		{
			name: "lock-bound", in: lockBound(), kind: LockBound,
			helps: []string{"processes"}, same: []string{"eventloop", "gil", "threads"},
			says: []string{"The task is serialized by a lock.", "under gil they spent 74% more of it blocked on each other (a contended lock)",
				"under processes each worker has its own copy of the lock", "under threads the tasks run on several cores, but the lock lets one in at a time whatever the cores",
				"Break-even of processes: its processes start in 19 ms and cost 69 µs per task (300 B moved each): with 2 processes they pay off once the work is more than about 39 ms"},
		},
		{
			// States named as the execution trace names them.
			name: "lock-bound, states named", kind: LockBound, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.98)), iv(1, 1, 1)),
				run(report(gilT, 4, 8, 80*ms, 163*ms, running(0.25), part{"waiting for the GIL", 0.1}, part{"blocked on a mutex (sync)", 0.64}), iv(0.98, 0.95, 1.0)),
				run(report(thrT, 2, 8, 40*ms, 161*ms, running(0.5), part{"blocked on a mutex (sync)", 0.49}), iv(0.99, 0.96, 1.02)),
			}},
			same: []string{"gil", "threads"}, noModelMakesItFaster: true,
			says: []string{"under gil they spent 64% more of it blocked on a mutex", "under gil the tasks waited 10% of their time for the global lock"},
		},
		{
			name: "await-bound, states named", kind: AwaitBound, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.02), part{"blocked at an await (sleep, I/O)", 0.97}), iv(1, 1, 1)),
				run(report(loopT, 8, 8, 20*ms, 22*ms, running(0.02), part{"waiting for the event loop", 0.1}, part{"blocked at an await (sleep, I/O)", 0.87}), iv(7.4, 7.1, 7.7)),
			}},
			helps: []string{"eventloop"},
			says:  []string{"97% of their time blocked at awaits"},
		},
		{
			name: "no model helps", kind: CPUBound, in: Input{Cores: 1, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.99)), iv(1, 1, 1)),
				run(report(loopT, 8, 8, 20*ms, 161*ms, running(0.99)), iv(0.99, 0.97, 1.02)),
				run(report(thrT, 1, 8, 20*ms, 160*ms, running(0.99)), iv(1.0, 0.98, 1.02)),
			}},
			same: []string{"eventloop", "threads"}, noModelMakesItFaster: true,
			says: []string{"No model makes this task faster.", "on this task that gains nothing"},
		},
		{
			name: "cannot tell: intervals too wide", kind: CPUBound, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.99)), iv(1, 1, 1)),
				run(report(gilT, 4, 8, 20*ms, 150*ms, running(0.3), waiting(0.69)), iv(1.07, 0.71, 1.6)),
				run(report(thrT, 2, 8, 20*ms, 120*ms, running(0.99)), iv(1.3, 0.9, 1.8)),
			}},
			unsure: []string{"gil", "threads"},
			says: []string{"Cannot tell: gil 1.07x [0.71–1.60] and threads 1.30x [0.90–1.80]", "the intervals are too wide",
				"but under gil one task runs at a time, and a task that waits at no await gives them nothing to overlap: at most 1.0x"},
			doesNotSay: []string{"Helps", "No model makes"},
		},
		{
			name: "mixed, cannot tell", kind: Mixed, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.7), blocked(0.3)), iv(1, 1, 1)),
				run(report(loopT, 8, 8, 20*ms, 130*ms, running(0.7), blocked(0.3)), iv(1.23, 0.87, 1.61)),
			}},
			unsure: []string{"eventloop"},
			says:   []string{"under eventloop one task runs at a time, so they overlap only the waits: at most 1.4x here, the work being 70% of the time"},
		},
		{
			name: "cannot tell: one round", kind: CPUBound, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.99)), stats.Interval{Mid: 1, Lo: 1, Hi: 1, N: 1}),
				run(report(thrT, 2, 8, 20*ms, 84*ms, running(0.99)), stats.Interval{Mid: 1.9, Lo: 1.9, Hi: 1.9, N: 1}),
			}},
			unsure: []string{"threads"},
			says:   []string{"Cannot tell: threads 1.90x:", "too few rounds for a 95% interval (6 are needed), so no difference can be told from noise; run more rounds (-repeat 6, or a longer -budget)"},
		},
		{
			name: "slower: worker start-up", kind: CPUBound, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 2*ms, 16*ms, running(0.99)), iv(1, 1, 1)),
				run(processes(8, 2, 16*ms, 300*ms, 2*ms, 2*ms), iv(0.05, 0.049, 0.052)),
			}},
			slower: []string{"processes"}, noModelMakesItFaster: true,
			says: []string{"Slower: processes 0.05x", "under processes, 2 processes take 300 ms to start and 2.0 ms per task, more than 16 ms of work gains back",
				"they pay off once the work is more than about 616 ms"},
		},
		{
			name: "cpu-bound on a busy machine", kind: CPUBound, in: func() Input {
				in := cpuBound()
				busy := in.Runs[3]
				busy.Speedup = iv(1.05, 0.8, 1.3)
				busy.Rounds = []models.Round{{Wall: 150 * ms, OtherCPU: 160 * ms}, {Wall: 160 * ms, OtherCPU: 180 * ms}, {Wall: 170 * ms, OtherCPU: 170 * ms}}
				in.Runs[3] = busy
				return in
			}(),
			same: []string{"eventloop", "gil"}, unsure: []string{"threads"},
			says: []string{"The machine was busy: while threads ran, other programs used 1.1 of the 2 cores on average (about 0.9 left to it): a parallel model cannot gain what the cores do not have"},
		},
		{
			name: "untraced", kind: Unknown, in: Input{Cores: 2, Runs: []models.Report{
				run(report(seqT, 1, 8, 20*ms, 160*ms), iv(1, 1, 1)),
				run(report(thrT, 2, 8, 20*ms, 84*ms), iv(1.91, 1.86, 1.95)),
			}},
			helps: []string{"threads"},
			says:  []string{"the run was not traced (-no-trace)", "Helps: threads"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := Of(tt.in)
			if v.Kind != tt.kind {
				t.Errorf("kind: got %q, want %q\n%s", v.Kind, tt.kind, v.Text)
			}
			for _, c := range []struct {
				e    Effect
				want []string
			}{{Helps, tt.helps}, {Same, tt.same}, {CannotTel, tt.unsure}, {Slower, tt.slower}} {
				if got := v.With(c.e); !slices.Equal(got, c.want) {
					t.Errorf("%s: got %q, want %q\n%s", c.e, got, c.want, v.Text)
				}
			}
			var ideal []string
			for _, m := range v.Models {
				if m.Ideal {
					ideal = append(ideal, m.Model)
				}
			}
			if !slices.Equal(ideal, tt.ideal) {
				t.Errorf("ideal: got %q, want %q", ideal, tt.ideal)
			}
			for _, s := range tt.says {
				if !strings.Contains(v.Text, s) {
					t.Errorf("the verdict does not say %q:\n%s", s, v.Text)
				}
			}
			for _, s := range tt.doesNotSay {
				if strings.Contains(v.Text, s) {
					t.Errorf("the verdict says %q:\n%s", s, v.Text)
				}
			}
			if got := strings.Contains(v.Text, "No model makes this task faster."); got != tt.noModelMakesItFaster {
				t.Errorf("'no model makes this task faster': got %v, want %v\n%s", got, tt.noModelMakesItFaster, v.Text)
			}
			if !strings.Contains(v.Markdown, "**") || strings.Contains(v.Text, "**") {
				t.Errorf("Markdown should be bold where Text is plain:\nmarkdown: %s\ntext: %s", v.Markdown, v.Text)
			}
		})
	}
}

// The four tasks get four different verdicts.
func TestKindsDiffer(t *testing.T) {
	seen := map[Kind]string{}
	for name, in := range map[string]Input{"cpu": cpuBound(), "await": awaitBound(), "mixed": mixed(), "lock": lockBound()} {
		k := Of(in).Kind
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s both got %q", name, other, k)
		}
		seen[k] = name
	}
}

// The verdict reads traits and measurements, never names: the same runs
// under other names get the same verdict, in the new names.
func TestNamesDoNotMatter(t *testing.T) {
	for name, in := range map[string]Input{"cpu": cpuBound(), "await": awaitBound(), "mixed": mixed(), "lock": lockBound()} {
		t.Run(name, func(t *testing.T) {
			want := Of(in)
			renamed := Input{Cores: in.Cores}
			for i, r := range in.Runs {
				r.Model = string(rune('p' + i))
				r.Traits.Name = r.Model
				r.Tasks = slices.Clone(r.Tasks)
				renamed.Runs = append(renamed.Runs, r)
			}
			got := Of(renamed)
			if got.Kind != want.Kind {
				t.Fatalf("kind: got %q, want %q", got.Kind, want.Kind)
			}
			for i, m := range got.Models {
				if m.Effect != want.Models[i].Effect || m.Model != renamed.Runs[i+1].Model {
					t.Errorf("model %d: got %s %q, want %s %q", i, m.Model, m.Effect, renamed.Runs[i+1].Model, want.Models[i].Effect)
				}
			}
		})
	}
}

// The break-even of worker processes: 19 ms to start, 69 µs per task, 8
// tasks of 175 ms of work on 2 workers that split it evenly: the work W
// pays once W/2 + 19 ms + 4 × 69 µs < W, that is W > 38.55 ms.
func TestBreakEven(t *testing.T) {
	base := report(seqT, 1, 8, 175*ms/8, 175*ms, running(1))
	proc := processes(8, 2, 175*ms, 19*ms, 69*time.Microsecond, 175*ms/8)
	c, ok := costsOf(proc, base)
	if !ok {
		t.Fatal("no costs measured")
	}
	if c.startup != 19*ms || c.perTask != 69*time.Microsecond || c.bytes != 300 {
		t.Errorf("costs: got start-up %v, per task %v, %d B; want 19ms, 69µs, 300 B", c.startup, c.perTask, c.bytes)
	}
	if math.Abs(c.gain-2) > 1e-9 {
		t.Errorf("gain: got %v, want 2", c.gain)
	}
	want := 19*ms + 4*69*time.Microsecond
	want *= 2
	if !c.pays || (c.breakEven-want).Abs() > time.Microsecond {
		t.Errorf("break-even: got %v (pays %v), want %v", c.breakEven, c.pays, want)
	}
	v := Of(Input{Cores: 2, Runs: []models.Report{run(base, iv(1, 1, 1)), run(proc, iv(1.7, 1.6, 1.8))}})
	if got := v.Models[0].BreakEvenNS; time.Duration(got) != c.breakEven {
		t.Errorf("the verdict's break-even: got %v, want %v", time.Duration(got), c.breakEven)
	}
	if !strings.Contains(v.Text, "Break-even of processes: its processes start in 19 ms and cost 69 µs per task") || !strings.Contains(v.Text, "more than about 39 ms (this run's was 175 ms, gaining 2.0x on it)") {
		t.Errorf("break-even sentence missing:\n%s", v.Text)
	}
	// A model behind an orchestrator says so.
	dist := proc
	dist.Model, dist.Traits = distT.Name, distT
	v = Of(Input{Cores: 2, Runs: []models.Report{run(base, iv(1, 1, 1)), run(dist, iv(1.7, 1.6, 1.8))}})
	if !strings.Contains(v.Text, "Break-even of distributed: its workers start in 19 ms and the orchestrator costs 69 µs per task") {
		t.Errorf("distributed's break-even sentence missing:\n%s", v.Text)
	}
	// Workers that were up before the run start in no time.
	up := processes(8, 2, 175*ms, 0, 69*time.Microsecond, 175*ms/8)
	up.Model, up.Traits = distT.Name, distT
	v = Of(Input{Cores: 2, Runs: []models.Report{run(base, iv(1, 1, 1)), run(up, iv(1.9, 1.8, 2))}})
	if !strings.Contains(v.Text, "Break-even of distributed: its workers were already running, and the orchestrator costs 69 µs per task (300 B moved each): with 2 workers they pay off once the work is more than about 552 µs") {
		t.Errorf("the break-even of workers already running:\n%s", v.Text)
	}
}

// What correctness costs: updates lost (from the diagnosis), races found,
// isolated copies.
func TestCorrectness(t *testing.T) {
	in := lockBound()
	in.Sharing = sharing.Diagnosis{Rows: []sharing.Row{
		{Var: "total", Model: "sequential", Before: "0", Expected: "8000", After: "8000"},
		{Var: "total", Model: "threads", Before: "0", Expected: "8000", After: "5000", HasLost: true, Lost: 3000, LostPct: 37.5, Unit: "increments"},
		{Var: "total", Model: "gil", Before: "0", Expected: "8000", After: "8000", HasLost: true},
		{Var: "total", Model: "processes", Before: "0", Expected: "8000", After: "0", Workers: []string{"worker 0: 4000", "worker 1: 4000"}},
	}}
	in.Races = map[string]int{"threads": 12, "gil": 0, "eventloop": 0}
	v := Of(in)
	for _, s := range []string{"Correctness: threads lost 3,000 of 8,000 increments of total (38%)", "the race detector found 12 data races under threads", "processes left the notebook's values alone: each worker changed its own copy (isolation)"} {
		if !strings.Contains(v.Text, s) {
			t.Errorf("the verdict does not say %q:\n%s", s, v.Text)
		}
	}
	in.Sharing.Rows = []sharing.Row{
		{Var: "total", Model: "sequential", Before: "0", Expected: "8000", After: "8000"},
		{Var: "total", Model: "threads", Before: "0", Expected: "8000", After: "8000", HasLost: true},
	}
	in.Races = map[string]int{"threads": 0}
	v = Of(in)
	if !strings.Contains(v.Text, "Correctness: no model that shares the notebook's state lost an update; the race detector found no data race.") {
		t.Errorf("a clean run's correctness sentence missing:\n%s", v.Text)
	}
}

// A model never faster than the baseline at any count does not scale,
// and has no serial fraction worth saying.
func TestNoScaling(t *testing.T) {
	in := cpuBound()
	base := []time.Duration{100 * ms, 100 * ms}
	in.Scaling = []models.Scaling{models.Scaling{Model: "processes", Mode: models.Interpreted, Traits: procT, Baseline: "sequential", Cores: 2, Workers: []int{1, 2}}.
		Measure(base, [][]time.Duration{{120 * ms, 110 * ms}, {125 * ms, 115 * ms}})}
	v := Of(in)
	if want := "Scaling: processes does not scale here: at best 0.89x [0.87–0.91] with 2 processes on 2 cores, no faster than sequential at any count."; !strings.Contains(v.Text, want) {
		t.Errorf("the verdict does not say %q:\n%s", want, v.Text)
	}
	if strings.Contains(v.Text, "serial fraction") {
		t.Errorf("the verdict gives a serial fraction for a model that never gained:\n%s", v.Text)
	}
}

// The scaling sentence names the best count, the cores and the serial
// fraction with its interval.
func TestScalingSentence(t *testing.T) {
	in := cpuBound()
	workers := []int{1, 2, 4, 8}
	var base []time.Duration
	var walls [][]time.Duration
	for r := range 10 {
		b := 160*ms + time.Duration(r)*ms
		base = append(base, b)
		s := 0.04 + 0.002*float64(r-5)
		var row []time.Duration
		for _, p := range workers {
			row = append(row, time.Duration(float64(b)/stats.AmdahlSpeedup(s, min(p, 2))))
		}
		walls = append(walls, row)
	}
	in.Scaling = []models.Scaling{models.Scaling{Model: "threads", Mode: models.Interpreted, Traits: thrT, Baseline: "sequential", Cores: 2, Workers: workers}.Measure(base, walls)}
	v := Of(in)
	for _, s := range []string{"Scaling: threads scales to 1.92x [1.91–1.94] with 2 goroutines on 2 cores; serial fraction 3.9% [3.2–4.6%], so no number of cores takes it past 26x."} {
		if !strings.Contains(v.Text, s) {
			t.Errorf("the verdict does not say %q:\n%s", s, v.Text)
		}
	}
}

func TestEffectOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   stats.Interval
		want Effect
	}{
		{"above 1", iv(1.9, 1.8, 2), Helps},
		{"below 1", iv(0.5, 0.4, 0.6), Slower},
		{"around 1, narrow", iv(1, 0.9, 1.1), Same},
		{"around 1, at the edge", iv(1, 1/1.15, 1.15), Same},
		{"around 1, wide", iv(1.1, 0.8, 1.4), CannotTel},
		{"one round", stats.Interval{Mid: 2, Lo: 2, Hi: 2, N: 1}, CannotTel},
		{"five rounds: 94%", stats.Interval{Mid: 2, Lo: 1.9, Hi: 2.1, N: 5, Conf: 0.9375}, CannotTel},
		{"no interval", stats.Interval{Mid: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}, CannotTel},
	} {
		if got := EffectOf(tt.in); got != tt.want {
			t.Errorf("%s: EffectOf(%+v) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// Today's three states and the execution trace's finer names fall in the
// categories the verdict reasons with.
func TestCategoryOf(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want category
	}{
		{models.Running, catRunning},
		{models.Waiting, catWaiting},
		{models.Blocked, catBlocked},
		// The execution trace's names, as `go tool trace` and gotraceui
		// give them.
		{"GC assist", catRunning},
		{"waiting for a CPU", catWaiting},
		{"waiting for the GIL", catWaiting},
		{"waiting for the event loop", catWaiting},
		{"waiting for the lock or a CPU", catWaiting},
		{"blocked at an await (sleep, I/O)", catAwait},
		{"blocked on a mutex (sync)", catLock},
		{"blocked on a channel", catChannel},
		{"blocked in a select", catChannel},
		{"in a syscall", catAwait},
		{"sleeping (not at an await)", catAwait},
		{"blocked on I/O (not at an await)", catAwait},
		{"blocked by the GC", catBlocked},
		{"blocked (other)", catBlocked},
		{"something new", catOther},
	} {
		if got := categoryOf(tt.in); got != tt.want {
			t.Errorf("categoryOf(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// Without a finished baseline, or with the baseline alone, there is
// nothing to say.
func TestNothingToSay(t *testing.T) {
	failed := report(seqT, 1, 8, 20*ms, 160*ms, running(1))
	failed.Err = "stopped"
	for name, in := range map[string]Input{
		"no runs":         {},
		"baseline alone":  {Runs: []models.Report{run(report(seqT, 1, 8, 20*ms, 160*ms, running(1)), iv(1, 1, 1))}},
		"failed baseline": {Runs: []models.Report{run(failed, iv(1, 1, 1)), run(report(thrT, 2, 8, 20*ms, 84*ms, running(1)), iv(1.9, 1.8, 2))}},
		"no baseline":     {Runs: []models.Report{run(report(thrT, 2, 8, 20*ms, 84*ms, running(1)), iv(1.9, 1.8, 2))}},
	} {
		if v := Of(in); v.Text != "" || v.Kind != "" {
			t.Errorf("%s: got %q (%q), want nothing", name, v.Text, v.Kind)
		}
	}
}
