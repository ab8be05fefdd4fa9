package models

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// gcSetting is how the garbage collector is tuned while a model runs.
//
// The interpreter allocates about 500 bytes per interpreted call, so with
// Go's default GOGC=100 an interpreted CPU-bound task spends much of its
// time in the collector, and the collector's work does not spread over
// cores: two threads gained only about 1.1x over one. Collecting less
// often, with a memory limit as the bound, lets parallel models show the
// parallelism the talk is about. The numbers behind the choice are in
// README.md (measured by BenchmarkGC in bench_test.go).
type gcSetting struct {
	// percent is GOGC during the run (debug.SetGCPercent); -1 is off.
	// A higher GOGC already in force is kept.
	percent int
	// limitFloor and liveFactor bound memory: the soft memory limit during
	// the run is max(limitFloor, liveFactor × the live heap at the start),
	// or the limit already in force if that is lower.
	limitFloor int64
	liveFactor int64
}

// runGC is the setting every model's run applies: no collection until
// the heap nears max(512 MiB, 4 × the live heap), the only setting tried
// that let threads reach about 2x on two cores (README.md).
var runGC = gcSetting{percent: -1, limitFloor: 512 << 20, liveFactor: 4}

// apply tunes the collector and returns the function that restores the
// previous setting.
func (s gcSetting) apply() (restore func()) {
	prevLimit := debug.SetMemoryLimit(-1)
	limit := max(s.limitFloor, s.liveFactor*liveHeap())
	if prevLimit < limit {
		limit = prevLimit
	}
	if limit <= 0 {
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
	prevPercent := debug.SetGCPercent(-1)
	percent := s.percent
	if prevPercent < 0 || (percent >= 0 && prevPercent > percent) {
		percent = prevPercent
	}
	debug.SetGCPercent(percent)
	return func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}
}

// liveHeap returns the heap the last collection found live, in bytes.
func liveHeap() int64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(min(sample[0].Value.Uint64(), math.MaxInt64/16))
}

// Tune applies the collector setting of a run until the returned
// restore is called. Every model's run applies it anyway; a comparison
// that holds it across all its runs keeps the heap's pages mapped from
// one run to the next, instead of giving them back to the system and
// faulting them in again (slow on virtual machines), which made speedups
// swing by 20% from run to run.
func Tune() (restore func()) { return runGC.apply() }

// Prewarm has the runtime map the memory a run may use before the run
// starts, so that the first model run in a comparison does not pay the
// page faults of a growing heap (with collection off, about 40% of its
// time) and look slower than the others. It allocates and touches 90%
// of runGC's memory floor in 1 MiB blocks and drops them: the pages stay
// with the runtime for the runs that follow. It takes about 0.2 s.
func Prewarm() {
	const block = 1 << 20
	blocks := make([][]byte, 0, runGC.limitFloor/block)
	for i := int64(0); i < runGC.limitFloor/block*9/10; i++ {
		b := make([]byte, block)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		blocks = append(blocks, b)
	}
	runtime.KeepAlive(blocks)
}

// workerGC is the setting of a worker process (processes, distributed):
// collection off until the heap nears max(64 MiB, 4 × the live heap). A
// worker runs one task at a time and is never prewarmed (that would cost
// its start-up 0.2 s), so a small heap that is collected often but stays
// in pages already mapped beats the engine's 512 MiB, whose first use
// faults in every page: on 8 x fib(26) with 2 workers the median task
// took 212-243 ms with 64 MiB, 225-292 ms with 512 MiB and 345-390 ms
// with Go's default (sequential in the engine: 187-200 ms), in the same
// kernel session.
var workerGC = gcSetting{percent: -1, limitFloor: 64 << 20, liveFactor: 4}

// TuneWorker applies the worker processes' collector setting for the
// rest of the process's life.
func TuneWorker() { workerGC.apply() }
