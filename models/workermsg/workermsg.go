// Package workermsg defines the messages between the engine (or the
// kernel's NATS side) and an `atonce worker` process, which runs the
// tasks of the processes and distributed models.
//
// A worker first tells the engine the time on its clock when asked (a
// Clock, so that the engine can put the worker's times on its own
// clock), gets the notebook's State (the cells to replay and the values
// of its variables), then Tasks that name a function of that state and
// an index; it answers each Task with a Result (with the task's traced
// states, when the Task asks). Over pipes (the
// processes model) every message is one line of JSON in a Message
// envelope; over NATS (the distributed model) a Task and a Result are each
// one NATS message's payload and a State is stored once under its Key.
// This package imports neither the interpreter nor NATS.
package workermsg

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Message kinds on a worker's pipes.
const (
	KindState  = "state"  // engine → worker: load Message.State
	KindTask   = "task"   // engine → worker: run Message.Task
	KindHello  = "hello"  // worker → engine: Message.Hello, first thing a worker says
	KindReady  = "ready"  // worker → engine: the state Message.Ready.Key is loaded
	KindResult = "result" // worker → engine: Message.Result
	KindOutput = "output" // worker → engine: a task printed Message.Output
	KindRace   = "race"   // engine → worker: Message.Race; worker → engine: Message.Races
	KindRun    = "run"    // engine → worker: Message.Run; worker → engine: Message.Ran
	KindClock  = "clock"  // engine → worker: what time is it? worker → engine: Message.Clock
	KindTrace  = "trace"  // engine → worker: start the execution tracer for traced tasks to come; worker → engine: done
)

// Message is the envelope of one line on a worker's pipes.
type Message struct {
	Kind   string  `json:"kind"`
	State  *State  `json:"state,omitempty"`
	Task   *Task   `json:"task,omitempty"`
	Hello  *Hello  `json:"hello,omitempty"`
	Ready  *Ready  `json:"ready,omitempty"`
	Result *Result `json:"result,omitempty"`
	Output *Output `json:"output,omitempty"`
	Race   *Race   `json:"race,omitempty"`
	Races  *Races  `json:"races,omitempty"`
	Run    *Run    `json:"run,omitempty"`
	Ran    *Ran    `json:"ran,omitempty"`
	Clock  *Clock  `json:"clock,omitempty"`
	// Keep, in a KindTrace request, asks the worker's tracer to keep the
	// trace it writes: tasks that ask for it (Task.KeepTrace) follow.
	Keep bool `json:"keep,omitempty"`
}

// Clock is a worker's answer to the engine's "what time is it?" (a
// KindClock message over pipes, a request on ClockSubject over NATS):
// the time on the worker's clock when it answered. The engine asks a few
// times and keeps the answer of the quickest round trip, NTP-style, to
// know how far the worker's clock is from its own (see
// internal/clocksync), and puts the worker's times on its clock.
type Clock struct {
	Time int64 `json:"time"` // Unix nanoseconds on the worker's clock
}

// ClockSubject is the NATS subject on which the worker of id, serving
// queue, answers the kernel's "what time is it?" with a Clock.
func ClockSubject(queue, id string) string { return "atonce." + queue + ".clock." + id }

// TraceSubject is the NATS subject on which the kernel asks the worker of
// id, serving queue, to start its execution tracer ahead of a traced
// run's tasks (KindTrace over pipes); the worker answers once it runs.
func TraceSubject(queue, id string) string { return "atonce." + queue + ".trace." + id }

// TraceKeep is the body of a request on TraceSubject that asks the
// worker's tracer to keep the trace it writes (Message.Keep over pipes).
const TraceKeep = "keep"

// Run asks a worker to run the notebook function Func N times under the
// in-process model Model (sequential, eventloop, gil, threads: a model
// whose tasks run in the process that runs the model) in the worker's own
// process, and to answer with the model's report: how native mode runs
// those models on the notebook's compiled code, whose crash then ends the
// worker and not the engine. The run starts from the variables of the
// state StateKey, as loaded.
type Run struct {
	Model   string `json:"model"`
	Func    string `json:"func"`
	N       int    `json:"n"`
	Workers int    `json:"workers,omitempty"` // 0: the model's default
	Trace   bool   `json:"trace,omitempty"`   // record the tasks' states from the execution tracer
	// KeepTrace, with Trace, asks for the run's execution trace itself
	// (Ran.Trace).
	KeepTrace bool   `json:"keep_trace,omitempty"`
	StateKey  string `json:"state"`
	// Watch names the package-level variables whose values after the run
	// the report keeps (its Globals); empty keeps none.
	Watch []string `json:"watch,omitempty"`
}

// Ran is a worker's answer to a Run.
type Ran struct {
	Model string `json:"model"`
	// Report is the model's report (a models.Report, as JSON: this
	// package does not import models); absent when the run could not
	// start. A run that failed part way has its failure in the report's
	// own err.
	Report json.RawMessage `json:"report,omitempty"`
	// Err says why the run could not start: an unknown model, a model
	// that does not run in process, a function the notebook lacks, a
	// state the worker does not hold.
	Err string `json:"err,omitempty"`
	// Trace is the run's execution trace, when the Run asked to keep it
	// (models.RunTrace.Process): it is not part of the report's JSON.
	Trace []byte `json:"trace,omitempty"`
}

// Race asks a worker built with the race detector to run the notebook
// function under an in-process model and report the data races it saw.
type Race struct {
	Model    string `json:"model"`
	Func     string `json:"func"`
	N        int    `json:"n"`
	Workers  int    `json:"workers,omitempty"`
	StateKey string `json:"state"`
}

// RaceLogEnv names the environment variable that tells a worker built
// with the race detector where the detector writes its reports: the same
// path as GORACE's log_path, to which the runtime adds "." and the
// process id.
const RaceLogEnv = "ATONCE_RACE_LOG"

// Races is what the race detector reported during one Race run.
type Races struct {
	Model string `json:"model"`
	// Races is the number of data races reported.
	Races int `json:"races"`
	// Vars counts, per notebook variable, the races on its memory.
	Vars map[string]int `json:"vars,omitempty"`
	// Other counts races on memory that is not a notebook variable (the
	// interpreter's own, or data reached through pointers).
	Other int `json:"other,omitempty"`
	// Sample is the start of the first report, for the curious.
	Sample string `json:"sample,omitempty"`
	// Err says why the run could not be checked.
	Err string `json:"err,omitempty"`
}

// State is what a worker rebuilds the notebook from: the cells that ran
// successfully, replayed in order (like Python's spawn start method, which
// re-imports the main module), then the notebook's variables set to the
// values they held when the run started.
type State struct {
	// Key identifies the state: NewState sets it to a hash of the rest.
	Key string `json:"key"`
	// Version is the kernel's version: a worker of another version refuses
	// the state, since replay needs identical symbol tables.
	Version string   `json:"version"`
	Cells   []string `json:"cells"`
	// Globals are the notebook's package-level variables as JSON; those
	// JSON cannot encode (channels, funcs) are absent and keep the value
	// replaying the cells gave them.
	Globals map[string]json.RawMessage `json:"globals,omitempty"`
}

// NewState returns the state of cells and globals, with its Key set.
func NewState(version string, cells []string, globals map[string]json.RawMessage) State {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", version, len(cells))
	for _, c := range cells {
		fmt.Fprintf(h, "%d\x00%s\x00", len(c), c)
	}
	names := make([]string, 0, len(globals))
	for name := range globals {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", name, len(globals[name]), globals[name])
	}
	return State{Key: hex.EncodeToString(h.Sum(nil)[:16]), Version: version, Cells: cells, Globals: globals}
}

// Task asks a worker to call the notebook function Func with Index, in the
// state StateKey.
type Task struct {
	ID       string `json:"id"`  // unique over the kernel's life
	Run      string `json:"run"` // the model run it belongs to
	StateKey string `json:"state"`
	Func     string `json:"func"`
	Index    int    `json:"index"`
	// Watch names the package-level variables whose values the Result
	// reports when the task changed them; empty means every variable.
	Watch []string `json:"watch,omitempty"`
	// Trace asks the worker to record the task's states with Go's
	// execution tracer (Result.States).
	Trace bool `json:"trace,omitempty"`
	// KeepTrace, with Trace, asks the worker for the execution trace
	// itself (Result.Trace).
	KeepTrace bool `json:"keep_trace,omitempty"`
}

// Span is a stretch of time a task spent in one state in a worker: the
// wire form of models.Span, in Unix nanoseconds on the worker's clock.
type Span struct {
	State string `json:"state"`          // "running", "waiting" or "blocked"
	Kind  string `json:"kind,omitempty"` // models.Span.Kind
	Start int64  `json:"start"`
	End   int64  `json:"end"`
}

// RuntimeSpan is a collection or a stop of the world in a worker's
// process during a task: the wire form of models.RuntimeSpan, in Unix
// nanoseconds on the worker's clock.
type RuntimeSpan struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason,omitempty"`
	Start  int64  `json:"start"`
	End    int64  `json:"end"`
}

// Result is a worker's answer to a Task.
type Result struct {
	ID     string `json:"id"`
	Run    string `json:"run"`
	Index  int    `json:"index"`
	Worker string `json:"worker"` // the worker's ID (Hello.ID)
	// Value is the task's return value as JSON; null for a task that
	// returns nothing.
	Value json.RawMessage `json:"value,omitempty"`
	// Err is the task's failure: its error, its panic, or why its result
	// could not cross back (a value JSON cannot encode).
	Err string `json:"err,omitempty"`
	// Start and End are when the call began and returned, in Unix
	// nanoseconds on the worker's clock.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// LoadStart and LoadEnd, when this task made the worker load the
	// notebook state (its first task in that state over NATS), are when
	// the load began and ended, in Unix nanoseconds; 0 otherwise.
	LoadStart int64 `json:"load_start,omitempty"`
	LoadEnd   int64 `json:"load_end,omitempty"`
	// CPUStart and CPUEnd are the CPU time (user and system, in
	// nanoseconds) the worker's process had used when it took the task
	// (before loading a state) and when the result was ready: a kernel
	// that cannot read the process's figures (a worker on another
	// machine) counts a worker's CPU from its first task's CPUStart to
	// its last task's CPUEnd. 0 when the worker does not say.
	CPUStart int64 `json:"cpu_start,omitempty"`
	CPUEnd   int64 `json:"cpu_end,omitempty"`
	// Globals are the watched variables whose values differ from the
	// state's, in this worker's copy, after the task.
	Globals map[string]json.RawMessage `json:"globals,omitempty"`
	// Traced tells that the execution tracer watched the task (the Task
	// asked, and the tracer was free): States are its timeline between
	// Start and End, in time order (empty only for a task too short to
	// show).
	Traced bool   `json:"traced,omitempty"`
	States []Span `json:"states,omitempty"`
	// Runtime are the collections and stops of the world in the worker's
	// process between Start and End (when Traced).
	Runtime []RuntimeSpan `json:"runtime,omitempty"`
	// Trace, when the Task asked to keep it, is the worker's execution
	// trace since its previous result that carried one, as a trace of its
	// own (its header, then whole generations: models.TaskTracer.Kept);
	// Tracer tells which of the worker's tracers wrote it: the traces of
	// one tracer join into one.
	Trace  []byte `json:"trace,omitempty"`
	Tracer int64  `json:"tracer,omitempty"`
}

// Cancel, published by the kernel over NATS, asks workers to stop the
// tasks of run Run at once (the user interrupted it).
type Cancel struct {
	Run string `json:"run"`
}

// CancelSubject is the NATS subject on which the kernel publishes a
// Cancel for the workers of queue.
func CancelSubject(queue string) string { return "atonce." + queue + ".cancel" }

// Hello introduces a worker.
type Hello struct {
	ID      string `json:"id"` // unique per worker process
	Version string `json:"version"`
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	CPUs    int    `json:"cpus"`
}

// Ready tells that a worker loaded a state.
type Ready struct {
	Key string `json:"key"`
	// Err is set when the state could not be loaded (a version mismatch, a
	// cell that no longer compiles); the worker cannot run its tasks.
	Err string `json:"err,omitempty"`
	// Notes are one-line remarks about the replay, e.g. a variable whose
	// value could not be set from JSON.
	Notes []string `json:"notes,omitempty"`
	// ReplayNS is how long the replay took, in nanoseconds.
	ReplayNS int64 `json:"replay_ns"`
}

// Output is text a task wrote to its standard output or error.
type Output struct {
	Stream string `json:"stream"` // "stdout" or "stderr"
	Text   string `json:"text"`
}

// Conn carries Messages as JSON lines over a pair of pipes. Send is safe
// for concurrent use; Receive is not.
type Conn struct {
	mu  sync.Mutex
	w   *bufio.Writer
	dec *json.Decoder
}

// NewConn returns a Conn reading from r and writing to w.
func NewConn(r io.Reader, w io.Writer) *Conn {
	return &Conn{w: bufio.NewWriter(w), dec: json.NewDecoder(bufio.NewReader(r))}
}

// Send writes m as one line and flushes it; it returns the bytes written.
func (c *Conn) Send(m Message) (int, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return 0, fmt.Errorf("encoding a %s message: %w", m.Kind, err)
	}
	b = append(b, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.w.Write(b); err != nil {
		return 0, err
	}
	return len(b), c.w.Flush()
}

// Receive reads the next message and returns the bytes it took (an
// estimate: the size of the message re-encoded).
func (c *Conn) Receive() (Message, int, error) {
	var raw json.RawMessage
	if err := c.dec.Decode(&raw); err != nil {
		return Message{}, 0, err
	}
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return Message{}, len(raw), fmt.Errorf("a malformed message from the worker: %w", err)
	}
	return m, len(raw) + 1, nil
}
