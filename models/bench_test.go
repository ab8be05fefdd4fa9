package models

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// The benchmarks measure the targets the models are meant to show:
//
//	go test -run '^$' -bench . -benchtime 3x ./models/
//
// BenchmarkModels reports each model's speedup over sequential ("x") on
// a CPU-bound interpreted fib and on Sleep-bound tasks; BenchmarkGC the
// threads model's speedup under each garbage-collector setting tried,
// next to compiled fib's ("compiled-x", the machine's parallelism at the
// moment: other processes share its cores); BenchmarkMachineNoise how
// much identical work moves from run to run on this machine.

const fibSrc = `func fib(n int) int { if n < 2 { return n }; return fib(n-1) + fib(n-2) }`

// interpretedFib returns fib as interpreted by yaegi.
func interpretedFib(b *testing.B) func(int) int {
	b.Helper()
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		b.Fatal(err)
	}
	if _, err := i.Eval(fibSrc); err != nil {
		b.Fatal(err)
	}
	v, err := i.Eval("fib")
	if err != nil {
		b.Fatal(err)
	}
	return v.Interface().(func(int) int)
}

// fibTask is 8 calls of the interpreted fib(n).
func fibTask(b *testing.B, n int) Task {
	fib := interpretedFib(b)
	return Task{Name: fmt.Sprintf("fib(%d)", n), N: 8, Call: func(context.Context, int) (any, error) { return fib(n), nil }}
}

// sleepTask is 100 tasks sleeping 20 ms at an await point.
var sleepTask = Task{Name: "sleep", N: 100, Call: func(ctx context.Context, i int) (any, error) {
	return nil, Sleep(ctx, 20*time.Millisecond)
}}

// goFib is compiled fib: the control that shows how parallel the machine
// is at the moment (other processes share its cores).
func goFib(n int) int {
	if n < 2 {
		return n
	}
	return goFib(n-1) + goFib(n-2)
}

// sink keeps goFib's results alive.
var sink atomic.Int64

// ceiling returns compiled fib's speedup on 2 goroutines over 1 now.
func ceiling() float64 {
	t := time.Now()
	sink.Add(int64(goFib(32) + goFib(32)))
	seq := time.Since(t)
	t = time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { sink.Add(int64(goFib(32))) })
	wg.Go(func() { sink.Add(int64(goFib(32))) })
	wg.Wait()
	return float64(seq) / float64(time.Since(t))
}

// heapPeak samples the heap's size every millisecond until stop is
// called, which returns the peak in bytes.
func heapPeak() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// wall runs t under m once and returns its wall time.
func wall(b *testing.B, m Model, t Task, opt Options) time.Duration {
	b.Helper()
	rep, err := m.Run(context.Background(), t, opt)
	if err != nil {
		b.Fatalf("%s: %v", m.Name(), err)
	}
	for _, r := range rep.Tasks {
		if r.Err != "" {
			b.Fatalf("%s: task %d: %s", m.Name(), r.Index, r.Err)
		}
	}
	return rep.Wall
}

func BenchmarkModels(b *testing.B) {
	for _, sc := range []struct {
		name string
		task Task
		opt  Options
	}{
		{"fib26x8", fibTask(b, 26), Options{}},
		{"sleep20msx100", sleepTask, Options{Workers: 100}},
	} {
		var seq time.Duration
		for _, name := range InProcessNames() {
			m, err := ByName(name)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(sc.name+"/"+m.Name(), func(b *testing.B) {
				if m.Traits().Baseline {
					// Warm up: the first run after the GC setting grows the
					// heap and pays its page faults.
					wall(b, m, sc.task, sc.opt)
				}
				var total time.Duration
				for b.Loop() {
					total += wall(b, m, sc.task, sc.opt)
				}
				mean := total / time.Duration(b.N)
				if m.Traits().Baseline {
					seq = mean // Names lists the baseline first
				}
				if seq > 0 {
					b.ReportMetric(float64(seq)/float64(mean), "x")
				}
			})
		}
	}
}

func BenchmarkGC(b *testing.B) {
	task := fibTask(b, 26)
	defer func(s gcSetting) { runGC = s }(runGC)
	for _, s := range []struct {
		name string
		gc   gcSetting
	}{
		{"default", gcSetting{percent: 100, limitFloor: 1 << 62}},
		{"gogc400", gcSetting{percent: 400, limitFloor: 1 << 62}},
		{"gogc800", gcSetting{percent: 800, limitFloor: 1 << 62}},
		{"gogc800-limit1GiB", gcSetting{percent: 800, limitFloor: 1 << 30, liveFactor: 4}},
		{"gogc1600-limit1GiB", gcSetting{percent: 1600, limitFloor: 1 << 30, liveFactor: 4}},
		{"off-limit256MiB", gcSetting{percent: -1, limitFloor: 256 << 20, liveFactor: 4}},
		{"off-limit512MiB", gcSetting{percent: -1, limitFloor: 512 << 20, liveFactor: 4}},
		{"off-limit1GiB", gcSetting{percent: -1, limitFloor: 1 << 30, liveFactor: 4}},
		{"chosen", runGC},
	} {
		b.Run(s.name, func(b *testing.B) {
			runGC = s.gc
			var seq, par time.Duration
			var peak uint64
			var ceil float64
			for b.Loop() {
				ceil += ceiling()
				stop := heapPeak()
				seq += wall(b, Sequential{}, task, Options{})
				par += wall(b, Threads{}, task, Options{Workers: 2})
				peak = max(peak, stop())
			}
			b.ReportMetric(float64(seq)/float64(b.N)/1e6, "seq-ms")
			b.ReportMetric(float64(par)/float64(b.N)/1e6, "threads-ms")
			b.ReportMetric(float64(seq)/float64(par), "x")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(ceil/float64(b.N), "compiled-x")
		})
	}
}

// BenchmarkMachineNoise measures how much identical work moves from one
// run to the next on this machine, apart from any model: 20 runs back to
// back of each workload, reported as their relative standard deviation
// ("sd-%") and that of the ratio of two runs in a row ("pair-sd-%", what
// a speedup measured in one round inherits). The workloads: a chain of
// register work (compiled, ~200 ms), the calibration loop's chain of
// reads in a 1 MiB table (compiled, ten times its work, ~50 ms), and
// 8 x fib(22) interpreted under the collector setting of a comparison
// (Tune). When the last two move far more than the first, the noise is
// in the memory system the machine shares, which a loop of registers
// does not see and only more rounds average out: on the machine atonce
// was measured on, 2%, 9-15% and 10-24% (BENCHMARKS.md).
func BenchmarkMachineNoise(b *testing.B) {
	fib := interpretedFib(b)
	var sink uint64
	for _, w := range []struct {
		name string
		run  func()
	}{
		{"registers", func() { sink += xorshift(120_000_000) }},
		{"memory-1MiB", func() { sink += chase(10 * calibrationSteps) }},
		{"interpreted-fib22x8", func() {
			for range 8 {
				sink += uint64(fib(22))
			}
		}},
	} {
		b.Run(w.name, func(b *testing.B) {
			restore := Tune()
			defer restore()
			w.run() // warm up
			var sd, pair float64
			for b.Loop() {
				runs := make([]float64, 20)
				for i := range runs {
					runtime.GC()
					start := time.Now()
					w.run()
					runs[i] = time.Since(start).Seconds()
				}
				ratios := make([]float64, 0, len(runs)/2)
				for i := 0; i+1 < len(runs); i += 2 {
					ratios = append(ratios, runs[i]/runs[i+1])
				}
				sd += relSD(runs)
				pair += relSD(ratios)
			}
			b.ReportMetric(100*sd/float64(b.N), "sd-%")
			b.ReportMetric(100*pair/float64(b.N), "pair-sd-%")
		})
	}
	runtime.KeepAlive(sink)
}

// relSD is the standard deviation of xs relative to their mean.
func relSD(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return math.Sqrt(sq/float64(len(xs))) / mean
}
