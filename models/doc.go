// Package models runs one task function many times under the
// concurrency models of the atonce design and measures what happened, so
// a notebook can show which model makes a function fast and why.
//
// The vocabulary is [Task] (the work), [Model] (a concurrency strategy),
// [Options] and [Report] (what happened: wall and CPU time, and per task
// which worker ran it, when, and with [Options.Trace] when it was really
// running, waiting (for a CPU, the GIL, the event loop) or blocked (at
// an await, on a mutex, a channel, in a syscall): [Span.Kind]).
//
// The in-process models call [Task.Call]:
//
//   - [Sequential]: one goroutine runs the tasks in order (the baseline).
//   - [EventLoop]: asyncio-like coroutines; one runs at a time and the loop
//     switches only at await points ([Sleep], [Await]), on one processor
//     (GOMAXPROCS is 1 during the run), as asyncio's loop is one thread.
//   - [GIL]: a small pool of threads, one running at a time, switched
//     preemptively (GOMAXPROCS is 1 during the run).
//   - [Threads]: a pool of goroutines on all cores.
//
// The others run the notebook function named in [Task.Remote] in other
// processes, which rebuild the notebook by replaying its cells:
//
//   - [Processes]: `atonce worker -pipe` processes this one starts,
//     talking JSON lines over pipes (package workermsg).
//   - distributed: workers behind a NATS JetStream work queue (package
//     broker), on this machine or others, gathered in a cluster
//     ([Remote.Cluster]). It is package distributed, which registers it
//     when a program imports it: this package links no NATS, so a program
//     that runs only the other models (a native notebook program, say)
//     stays small and quick to link.
//
// Each model declares its [Traits] — in the engine or in workers, how it
// isolates the notebook's state, when it switches tasks, what it calls its
// workers, its MSU — and registers itself with [Register]; [Names] lists
// the registered models, the baseline first. A [Report] carries its
// model's traits, and everything that shows a run reads them rather than
// the model's name, so a new model is one file.
//
// Tasks are plain Go funcs or names: this package knows nothing of the
// interpreter. The code a task runs blocks at an await point by calling
// [Sleep] (the notebook's time.Sleep is routed to it) or [Await].
//
// Runs in one process are serialized, because a run changes process-wide
// settings: the garbage collector's (see the gc.go file) and, for [GIL],
// GOMAXPROCS. [Compare] runs several models on the same task, [Table]
// renders their reports side by side, and [RaceCheck] runs the
// in-process models under Go's race detector in a worker built for it.
// [RunInWorker] runs an in-process model inside a worker process and
// returns the report made there: native mode's way to run the notebook's
// compiled code (package native is the runtime of such a worker) under
// sequential, eventloop, gil and threads without risking the engine.
// [TaskOf] makes a Task of a function of one of the task [Shapes],
// interpreted or compiled.
// The subpackages chart and sharing draw the reports and diagnose what
// happened to shared data.
package models
