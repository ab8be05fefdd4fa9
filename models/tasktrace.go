package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	rtrace "runtime/trace"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/exp/trace"
)

// TaskTracer records, in a worker process, the running, waiting and
// blocked states of the tasks the worker runs one after the other, with
// Go's execution tracer and the same reading of it as an in-process run
// (states.go): each call is annotated as a run annotates its tasks, and
// its spans come back as the call returns.
//
// Starting the tracer stops the world and costs milliseconds, too much
// to pay for every task; so the tracer runs from StartTaskTracer to
// Close and streams its trace to a reader goroutine that tracks every
// goroutine's state as it goes. After each call a flight recorder forces
// the tracer to hand over what it holds (a new generation of the trace),
// and Call returns once the reader has seen the call's end: a fraction of
// a millisecond per task (see the package README for the figure), paid
// after the task's End and before its result leaves.
//
// Its methods are for one goroutine at a time; Call is never concurrent.
type TaskTracer struct {
	rec  *rtrace.FlightRecorder // used only to flush the trace after each call
	pw   *io.PipeWriter
	read sync.WaitGroup // the reader goroutine

	mu     sync.Mutex
	states *stateReader
	ended  map[int]chan struct{} // closed when the reader saw call i end
	failed chan struct{}         // closed when the reader stopped
	err    error                 // why the reader stopped, if it did
	next   int                   // the next call's index in the trace

	keep *keeper // the trace as written, when kept; nil otherwise
	id   int64   // tells this tracer from the worker's others: when it started
}

// TaskTrace is what the tracer saw of one call: the task's states, and
// the runtime's collections and stops of the world during it (Worker
// -1), as offsets from the call's start.
type TaskTrace struct {
	States  []Span
	Runtime []RuntimeSpan
}

// flushWait bounds how long Call waits for the reader to see its call
// end once the trace was flushed; the reader takes well under a
// millisecond, unless the trace is broken.
const flushWait = 10 * time.Second

// errTracerBusy is StartTaskTracer's error when another execution trace
// is being recorded.
var errTracerBusy = errors.New("the execution tracer is busy with another trace")

// StartTaskTracer starts the execution tracer for TaskTracer's calls, or
// returns an error when it cannot (another trace is being recorded).
// With keep, the tracer also keeps the trace it writes, for Kept.
func StartTaskTracer(keep bool) (*TaskTracer, error) {
	if rtrace.IsEnabled() {
		return nil, errTracerBusy
	}
	pr, pw := io.Pipe()
	tt := &TaskTracer{pw: pw, states: newStateReader(0, ""), ended: map[int]chan struct{}{}, failed: make(chan struct{}), id: time.Now().UnixNano()}
	tt.states.ended = func(i int) {
		if c, ok := tt.ended[i]; ok {
			close(c)
			delete(tt.ended, i)
		}
	}
	tt.read.Go(func() { tt.readTrace(pr) })
	var w io.Writer = pw
	if keep {
		tt.keep = new(keeper)
		w = io.MultiWriter(tt.keep, pw)
	}
	if err := rtrace.Start(w); err != nil {
		pw.Close()
		tt.read.Wait()
		return nil, fmt.Errorf("starting the execution tracer: %w", err)
	}
	// The flight recorder keeps the least it can: it is here to flush.
	tt.rec = rtrace.NewFlightRecorder(rtrace.FlightRecorderConfig{MinAge: time.Millisecond, MaxBytes: 64 << 10})
	if err := tt.rec.Start(); err != nil {
		tt.rec = nil
		tt.Close()
		return nil, fmt.Errorf("starting the execution tracer's flight recorder: %w", err)
	}
	return tt, nil
}

// readTrace feeds the streamed trace to the state reader until the
// trace ends (Close) or breaks; a broken trace is drained, so that the
// tracer never waits on a full pipe.
func (tt *TaskTracer) readTrace(pr *io.PipeReader) {
	defer pr.Close()
	fail := func(err error) {
		tt.mu.Lock()
		tt.err = err
		tt.mu.Unlock()
		close(tt.failed)
		_, _ = io.Copy(io.Discard, pr)
	}
	rd, err := trace.NewReader(pr)
	if err != nil {
		fail(fmt.Errorf("reading the execution trace: %w", err))
		return
	}
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			fail(errors.New("the execution trace ended"))
			return
		}
		if err != nil {
			fail(fmt.Errorf("reading the execution trace: %w", err))
			return
		}
		tt.mu.Lock()
		tt.states.event(ev)
		tt.mu.Unlock()
	}
}

// Call calls fn on this goroutine as one task under the tracer and
// returns what the tracer saw between start and end, the times fn
// returns (when the task's own work began and ended, on this process's
// clock), as offsets from start. fn must run the task on the goroutine
// that calls it. The error says why there are no states (the tracer
// broke): the call happened all the same.
func (tt *TaskTracer) Call(ctx context.Context, fn func(context.Context) (start, end time.Time)) (TaskTrace, error) {
	tt.mu.Lock()
	i := tt.next
	tt.next++
	tt.states.n = tt.next
	ended := make(chan struct{})
	tt.ended[i] = ended
	tt.mu.Unlock()

	tctx, task := traceTask(ctx, i)
	anchor := time.Now()
	rtrace.Log(tctx, traceLogAnchor, "")
	region := rtrace.StartRegion(tctx, regionRun)
	start, end := fn(tctx)
	region.End()
	task.End()

	// Hand the trace over to the reader: the flight recorder's snapshot
	// ends the trace's generation, which the tracer then writes out.
	if _, err := tt.rec.WriteTo(io.Discard); err != nil {
		tt.forget(i)
		return TaskTrace{}, fmt.Errorf("flushing the execution trace: %w", err)
	}
	timeout := time.NewTimer(flushWait)
	defer timeout.Stop()
	select {
	case <-ended:
	case <-tt.failed:
		tt.forget(i)
		tt.mu.Lock()
		defer tt.mu.Unlock()
		return TaskTrace{}, tt.err
	case <-timeout.C:
		tt.forget(i)
		return TaskTrace{}, fmt.Errorf("the execution trace of the task did not arrive within %v", flushWait)
	}
	from, to := start.Sub(anchor), end.Sub(anchor)
	tt.mu.Lock()
	ts := tt.states.tasks[i]
	out := TaskTrace{
		States:  tt.states.spans(i, from, to),
		Runtime: tt.states.runtimeSpans(ts.anchor, from, to, -1),
	}
	delete(tt.states.tasks, i)
	tt.states.forgetRuntime(ts.end)
	tt.mu.Unlock()
	for k := range out.States {
		out.States[k].Start -= from
		out.States[k].End -= from
	}
	for k := range out.Runtime {
		out.Runtime[k].Start -= from
		out.Runtime[k].End -= from
	}
	return out, nil
}

// ID tells this tracer from the others the process ran: traces Kept
// from one tracer join into one; another tracer's start a new one.
func (tt *TaskTracer) ID() int64 { return tt.id }

// Kept returns the trace the tracer wrote since the last call of Kept
// (since it started, the first time), up to the end of the last whole
// generation, as a trace of its own that `go tool trace` opens: the
// trace's header, then the generations. A Call's generation is whole
// once Call returns. It returns nil when the tracer keeps nothing
// (StartTaskTracer without keep, or a trace format it does not know) or
// no generation ended since.
func (tt *TaskTracer) Kept() []byte {
	if tt.keep == nil {
		return nil
	}
	return tt.keep.take()
}

// forget drops what the reader keeps of call i.
func (tt *TaskTracer) forget(i int) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	delete(tt.ended, i)
	delete(tt.states.tasks, i)
}

// Close stops the tracer and waits for its reader.
func (tt *TaskTracer) Close() {
	if tt.rec != nil {
		tt.rec.Stop()
	}
	rtrace.Stop() // returns once the trace is written out to the reader
	tt.pw.Close()
	tt.read.Wait()
}

// traceTask begins, in the execution trace, the task of index i (its
// index in the run, or a worker's call number): the context its regions
// and logs belong to, and the trace task to end when it is done.
func traceTask(ctx context.Context, i int) (context.Context, *rtrace.Task) {
	tctx, task := rtrace.NewTask(ctx, traceTaskType)
	rtrace.Log(tctx, traceLogIndex, strconv.Itoa(i))
	return tctx, task
}

// keeper keeps the execution trace as the runtime writes it, cut at the
// ends of generations: each of the runtime's writes is a whole batch,
// the trace's header first, and a generation ends with a write of the
// one byte evEndOfGeneration (the contract runtime/trace's own flight
// recorder relies on). A trace's header followed by whole generations,
// not necessarily the first, is a trace the tools read.
type keeper struct {
	mu      sync.Mutex
	header  []byte // the trace's header; nil before the first write
	known   bool   // the header names a format with evEndOfGeneration
	pending []byte // batches of the generation under way
	done    []byte // whole generations not taken yet
}

// evEndOfGeneration is the in-band end of a generation in the trace
// formats of Go 1.26 on (internal/trace/tracev2.EvEndOfGeneration).
const evEndOfGeneration = 52

// traceHeaderLen is the length of a trace's header, "go 1.26 trace"
// padded with zero bytes.
const traceHeaderLen = 16

// Write takes the runtime's next write.
func (k *keeper) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := len(b)
	if k.header == nil {
		if len(b) < traceHeaderLen {
			k.header = []byte{}
			return n, nil
		}
		k.header = slices.Clone(b[:traceHeaderLen])
		k.known = knownTraceFormat(k.header)
		b = b[traceHeaderLen:]
	}
	if !k.known || len(b) == 0 {
		return n, nil
	}
	k.pending = append(k.pending, b...)
	if len(b) == 1 && b[0] == evEndOfGeneration {
		k.done = append(k.done, k.pending...)
		k.pending = k.pending[:0]
	}
	return n, nil
}

// take returns the header and the whole generations not taken yet, nil
// if none.
func (k *keeper) take() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.done) == 0 {
		return nil
	}
	out := append(slices.Clone(k.header), k.done...)
	k.done = nil
	return out
}

// knownTraceFormat tells whether header ("go 1.N trace") is of a format
// that ends generations in band: Go 1.26 or later.
func knownTraceFormat(header []byte) bool {
	var minor int
	if _, err := fmt.Sscanf(string(bytes.TrimRight(header, "\x00")), "go 1.%d trace", &minor); err != nil {
		return false
	}
	return minor >= 26
}
