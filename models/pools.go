package models

import (
	"context"
	"runtime"
)

// maxCoroutines caps the event loop's default number of coroutines.
const maxCoroutines = 10000

// defaultGILThreads is the gil model's default pool size: a small pool.
const defaultGILThreads = 4

// spec is a model's traits and how its runner works: run (run.go) does
// the in-process models, and the models that run tasks elsewhere read
// their workers' default and their traits from it.
type spec struct {
	Traits
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
// The loop runs on one processor (GOMAXPROCS is 1 during the run,
// restored after), as asyncio's is one thread: handing the loop to the
// next coroutine is a switch on that processor, not the wake-up of a
// thread on another, which cost native tasks of 0.1 ms about a sixth of
// their time (0.83x on fib(22), 1.00x on one processor).
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
	_ Model = Sequential{}
	_ Model = EventLoop{}
	_ Model = GIL{}
	_ Model = Threads{}
)

func init() {
	Register(Sequential{})
	Register(EventLoop{})
	Register(GIL{})
	Register(Threads{})
}

var (
	sequentialSpec = spec{
		Traits: Traits{
			Name:           "sequential",
			StandsFor:      "the baseline: a plain loop",
			Baseline:       true,
			Placement:      InEngine,
			Isolation:      Shared,
			Switching:      WholeTask,
			Noun:           "loop",
			Nouns:          "loops",
			DefaultWorkers: "one, always",
			MSU:            "whole task",
			Sharing:        "shares notebook state; one task at a time",
		},
		workers: func(int) int { return 1 },
		fixed:   true,
	}
	eventLoopSpec = spec{
		Traits: Traits{
			Name:           "eventloop",
			StandsFor:      "asyncio coroutines",
			Placement:      InEngine,
			Isolation:      Shared,
			Switching:      AtAwaits,
			Noun:           "coroutine",
			Nouns:          "coroutines",
			DefaultWorkers: "one per task (at most 10000)",
			MSU:            "code between two awaits",
			Sharing:        "shares notebook state; consistent between awaits",
		},
		workers: func(n int) int { return min(n, maxCoroutines) },
		loop:    true,
		procs:   1,
	}
	gilSpec = spec{
		Traits: Traits{
			Name:           "gil",
			StandsFor:      "Python threads",
			Placement:      InEngine,
			Isolation:      Shared,
			Switching:      Preempted,
			Noun:           "thread",
			Nouns:          "threads",
			DefaultWorkers: "4",
			MSU:            "one interpreter step (switched about every 10 ms)",
			Sharing:        "shares notebook state; x += 1 is not atomic",
		},
		workers: func(int) int { return defaultGILThreads },
		procs:   1,
	}
	threadsSpec = spec{
		Traits: Traits{
			Name:           "threads",
			StandsFor:      "GIL-released threads",
			Placement:      InEngine,
			Isolation:      Shared,
			Switching:      Simultaneous,
			Noun:           "goroutine",
			Nouns:          "goroutines",
			DefaultWorkers: "one per CPU",
			MSU:            "machine instruction",
			Sharing:        "shares notebook state; unsynchronized updates get lost",
			Parallel:       true,
		},
		workers: func(int) int { return runtime.NumCPU() },
	}
)

// Name returns "sequential".
func (Sequential) Name() string { return sequentialSpec.Name }

// Traits returns the sequential model's traits: the baseline, whole tasks
// one after another in the engine.
func (Sequential) Traits() Traits { return sequentialSpec.Traits }

// Run runs t under the sequential model; see [Model] for the contract.
func (Sequential) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, sequentialSpec, t, opt)
}

// Name returns "eventloop".
func (EventLoop) Name() string { return eventLoopSpec.Name }

// Traits returns the event loop's traits: coroutines in the engine that
// switch at awaits.
func (EventLoop) Traits() Traits { return eventLoopSpec.Traits }

// Run runs t under the event loop model; see [Model] for the contract.
func (EventLoop) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, eventLoopSpec, t, opt)
}

// Name returns "gil".
func (GIL) Name() string { return gilSpec.Name }

// Traits returns the gil model's traits: threads in the engine, one
// running at a time, preempted.
func (GIL) Traits() Traits { return gilSpec.Traits }

// Run runs t under the gil model; see [Model] for the contract.
func (GIL) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, gilSpec, t, opt)
}

// Name returns "threads".
func (Threads) Name() string { return threadsSpec.Name }

// Traits returns the threads model's traits: goroutines in the engine,
// on all cores.
func (Threads) Traits() Traits { return threadsSpec.Traits }

// Run runs t under the threads model; see [Model] for the contract.
func (Threads) Run(ctx context.Context, t Task, opt Options) (Report, error) {
	return run(ctx, threadsSpec, t, opt)
}
