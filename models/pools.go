package models

import (
	"context"
	"runtime"
)

// maxCoroutines caps the event loop's default number of coroutines.
const maxCoroutines = 10000

// defaultGILThreads is the gil model's default pool size: a small pool.
const defaultGILThreads = 4

// spec is what distinguishes one in-process model from another; run
// (run.go) does the rest.
type spec struct {
	name     string
	msu      string
	sharing  string
	parallel bool
	// workers returns the default number of workers for n tasks.
	workers func(n int) int
	// fixed ignores Options.Workers (sequential is always one worker).
	fixed bool
	// loop gives workers one token they hold while running: the event loop.
	loop bool
	// procs, if > 0, is GOMAXPROCS during the run.
	procs int
}

// Sequential runs the tasks in order on one goroutine: the baseline the
// others are compared with. Every task runs on worker 0.
type Sequential struct{}

// EventLoop runs the tasks as asyncio-like coroutines: Options.Workers
// coroutines (default: one per task, at most 10000) take tasks from a
// shared queue, and only the coroutine holding the loop runs. A task keeps
// the loop until it reaches an await point ([Sleep], [Await]), which
// gives the loop to the next coroutine in line (FIFO) and queues up again
// once the awaited thing is done. A coroutine also yields between two
// tasks. A CPU-bound task never yields, so the loop gains nothing on it.
type EventLoop struct{}

// GIL runs the tasks on a small pool of threads (Options.Workers, default
// 4) of which one runs at a time, like Python threads behind the global
// interpreter lock: GOMAXPROCS is 1 during the run (restored after), so
// the Go scheduler switches threads preemptively about every 10 ms, as
// CPython's switch interval does, and a blocking call ([Sleep]) lets
// another thread run.
type GIL struct{}

// Threads runs the tasks on a pool of goroutines (Options.Workers,
// default runtime.NumCPU()) on all cores, like threads that released the
// GIL: they run in parallel, and share everything.
type Threads struct{}

var (
	sequentialSpec = spec{
		name:    "sequential",
		msu:     "whole task",
		sharing: "shares notebook state; one task at a time",
		workers: func(int) int { return 1 },
		fixed:   true,
	}
	eventLoopSpec = spec{
		name:    "eventloop",
		msu:     "code between two awaits",
		sharing: "shares notebook state; consistent between awaits",
		workers: func(n int) int { return min(n, maxCoroutines) },
		loop:    true,
	}
	gilSpec = spec{
		name:    "gil",
		msu:     "one interpreter step (switched about every 10 ms)",
		sharing: "shares notebook state; x += 1 is not atomic",
		workers: func(int) int { return defaultGILThreads },
		procs:   1,
	}
	threadsSpec = spec{
		name:     "threads",
		msu:      "machine instruction",
		sharing:  "shares notebook state; unsynchronized updates get lost",
		parallel: true,
		workers:  func(int) int { return runtime.NumCPU() },
	}
)

// Name returns "sequential".
func (Sequential) Name() string { return sequentialSpec.name }

// Run runs t under the sequential model; see [Model] for the contract.
func (Sequential) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, sequentialSpec, t, opt)
}

// Name returns "eventloop".
func (EventLoop) Name() string { return eventLoopSpec.name }

// Run runs t under the event loop model; see [Model] for the contract.
func (EventLoop) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, eventLoopSpec, t, opt)
}

// Name returns "gil".
func (GIL) Name() string { return gilSpec.name }

// Run runs t under the gil model; see [Model] for the contract.
func (GIL) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, gilSpec, t, opt)
}

// Name returns "threads".
func (Threads) Name() string { return threadsSpec.name }

// Run runs t under the threads model; see [Model] for the contract.
func (Threads) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, threadsSpec, t, opt)
}
