package models

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"atonce/internal/clocksync"
	"atonce/models/workermsg"
)

// Remote is what the models that run tasks in other processes (processes,
// distributed) need besides Task: the function's name and the notebook's
// state, which each worker rebuilds by replaying the cells. Such a model
// may live in a package of its own (the distributed model does): it finds
// here what they share — [CheckRemote], [RemoteRecord],
// [WorkerRecord.AddGlobals] — and takes its turn with [AcquireRun].
type Remote struct {
	// Func is the notebook function each task calls.
	Func string
	// State is the notebook as the run starts: cells and variables.
	State workermsg.State
	// Watch names the package-level variables whose final values in each
	// worker's copy the report keeps (Report.Pool[k].Globals); empty
	// means every variable a task changed.
	Watch []string
	// Command starts one local worker that serves its pipes: requests on
	// fd 3, answers on fd 4 (for example: atonce worker -pipe).
	Command []string
	// Cluster is where a model whose workers may be on other machines
	// (Traits.Hosts) runs its tasks: for the distributed model, a
	// *distributed.Cluster.
	Cluster Cluster
	// Output, if set, receives what tasks print in the workers.
	Output func(worker int, o workermsg.Output)
}

// Cluster is the world of a model whose workers may run on other machines
// (the distributed model's is package distributed's *Cluster): the
// servers and workers that outlive one run. This package only carries it
// from the caller to the model, which knows its own kind; what everyone
// may ask it is which worker processes it keeps running on this machine
// between runs (not a run's to stop, nor a leak of one).
type Cluster interface {
	// LocalPIDs returns the process ids of the cluster's workers running
	// on this machine.
	LocalPIDs() []int
}

// RemoteRecord turns a worker's Result into the task's record, on the
// run's clock: the worker's times (Start, End, States) less its clock's
// offset (w.ClockOffset), as offsets from runStart.
func RemoteRecord(res workermsg.Result, w WorkerRecord, runStart time.Time) TaskRecord {
	rec := TaskRecord{
		Index:  res.Index,
		Worker: w.Worker,
		Start:  w.OnRunClock(res.Start, runStart),
		End:    w.OnRunClock(res.End, runStart),
		Err:    res.Err,
	}
	for _, sp := range res.States {
		rec.States = append(rec.States, Span{State: sp.State, Kind: sp.Kind, Start: w.OnRunClock(sp.Start, runStart), End: w.OnRunClock(sp.End, runStart)})
	}
	if len(res.Value) > 0 && string(res.Value) != "null" {
		var v any
		if err := json.Unmarshal(res.Value, &v); err == nil {
			rec.Result = v
		}
	}
	return rec
}

// AddWorkerResult adds to r what a worker's result tells of the run
// besides the task's record (RemoteRecord): the collections and stops of
// the world in the worker's process during the task, on the run's clock
// (Runtime, kept in time order), and the worker's execution trace when
// the task carried it (Trace).
func (r *Report) AddWorkerResult(res workermsg.Result, w WorkerRecord, runStart time.Time) {
	for _, sp := range res.Runtime {
		r.Runtime = append(r.Runtime, RuntimeSpan{Kind: sp.Kind, Reason: sp.Reason, Worker: w.Worker, Start: w.OnRunClock(sp.Start, runStart), End: w.OnRunClock(sp.End, runStart)})
	}
	slices.SortStableFunc(r.Runtime, func(a, b RuntimeSpan) int { return cmp.Compare(a.Start, b.Start) })
	if len(res.Trace) > 0 {
		if r.Trace == nil {
			r.Trace = &RunTrace{}
		}
		r.Trace.addWorker(w.Worker, res.Tracer, res.Trace)
	}
}

// addWorker adds a part of worker's trace written by its tracer (one
// with a header of its own, TaskTracer.Kept): to the trace of that
// tracer, less its header, or as a new trace of the worker's.
func (t *RunTrace) addWorker(worker int, tracer int64, part []byte) {
	if t.Workers == nil {
		t.Workers, t.tracers = map[int][][]byte{}, map[int][]int64{}
	}
	if k := slices.Index(t.tracers[worker], tracer); k >= 0 && len(part) >= traceHeaderLen {
		t.Workers[worker][k] = append(t.Workers[worker][k], part[traceHeaderLen:]...)
		return
	}
	t.Workers[worker] = append(t.Workers[worker], part)
	t.tracers[worker] = append(t.tracers[worker], tracer)
}

// SetClock records how far the worker's clock is from the engine's.
func (w *WorkerRecord) SetClock(o clocksync.Offset) {
	w.ClockOffset, w.ClockUncertainty = o.Offset, o.Uncertainty
}

// OnRunClock returns t, a time on the worker's clock (Unix nanoseconds),
// on the run's clock: its offset from runStart.
func (w WorkerRecord) OnRunClock(t int64, runStart time.Time) time.Duration {
	return clocksync.Offset{Offset: w.ClockOffset}.Local(t).Sub(runStart)
}

// AddGlobals adds a worker's latest values of the globals a task changed
// (workermsg.Result.Globals) to its record.
func (w *WorkerRecord) AddGlobals(g map[string]json.RawMessage) {
	if len(g) == 0 {
		return
	}
	if w.Globals == nil {
		w.Globals = map[string]json.RawMessage{}
	}
	for name, v := range g {
		w.Globals[name] = v
	}
}

// CheckRemote refuses, in words for the notebook, a task that model, one
// that runs tasks in other processes, cannot run: a negative count, no
// Remote or no function named in it, a negative number of workers.
func CheckRemote(model string, t Task, opt Options) error {
	switch {
	case t.N < 0:
		return fmt.Errorf("%s: cannot run %s %d times", model, taskName(t), t.N)
	case t.Remote == nil:
		return fmt.Errorf("%s: %s runs in other processes, which rebuild the notebook from its cells; this run has no cells to give them", model, taskName(t))
	case t.Remote.Func == "":
		return fmt.Errorf("%s: no notebook function named to run in the workers", model)
	case opt.Workers < 0:
		return fmt.Errorf("%s: cannot run with %d workers", model, opt.Workers)
	}
	return nil
}
