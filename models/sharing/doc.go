// Package sharing explains what a notebook function does to the
// notebook's shared state, and what each concurrency model made of it.
//
// It has two halves, after the talk's "data sharing and isolation" and
// "atomicity" ideas:
//
//   - [Analyze] reads the notebook's cells (Go source as the user typed
//     it) and reports, for one task function and everything it calls in
//     the notebook, which package-level variables it reads and writes, and
//     whether each write is guarded by sync/atomic, by a mutex, or bare.
//     It is static and heuristic: it never runs the code.
//   - [Diagnose] puts that beside what happened: the variables' values
//     before the comparison, after the sequential baseline and after each
//     model (and, for processes and distributed, in each worker's own
//     copy), the updates lost, the task results that differ from the
//     baseline, and one plain sentence per model saying why.
//
// The package knows nothing of the interpreter; it depends on the
// models package only for [models.Report].
package sharing
