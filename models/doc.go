// Package models runs one task function many times under in-process
// concurrency models and measures what happened, so a notebook can show
// which model makes a function fast and why.
//
// The vocabulary is [Task] (the work), [Model] (a concurrency strategy),
// [Options] and [Report] (what happened: wall and CPU time, and per task
// which worker ran it, when, and with [Options.Trace] when it was really
// running, waiting for the lock or a CPU, or blocked at an await).
//
// The models are the in-process ones of the atonce design:
//
//   - [Sequential]: one goroutine runs the tasks in order (the baseline).
//   - [EventLoop]: asyncio-like coroutines; one runs at a time and the loop
//     switches only at await points ([Sleep], [Await]).
//   - [GIL]: a small pool of threads, one running at a time, switched
//     preemptively (GOMAXPROCS is 1 during the run).
//   - [Threads]: a pool of goroutines on all cores.
//
// Tasks are plain Go funcs: this package knows nothing of the interpreter.
// The code a task runs blocks at an await point by calling [Sleep] (the
// notebook's time.Sleep is routed to it) or [Await].
//
// Runs in one process are serialized, because a run changes process-wide
// settings: the garbage collector's (see the gc.go file) and, for [GIL],
// GOMAXPROCS. [Compare] runs several models on the same task and [Table]
// renders their reports side by side.
package models
