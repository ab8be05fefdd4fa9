// Package perfetto writes the reports of model runs (see atonce/models)
// as a trace in the Trace Event Format, the JSON that Perfetto
// (ui.perfetto.dev) and Chrome's chrome://tracing open: a process per
// report (model), a thread per worker, a slice per task with its traced
// states as slices nested in it, the workers' start-up, each queued
// task's wait in the queue with a flow from the queue to the worker
// that ran it, and the runtime's collections and stops of the world.
// Every run's start is the time origin, so the models line up as in the
// task stream chart.
package perfetto

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"atonce/models"
)

// Event is one event of the Trace Event Format.
type Event struct {
	Name string `json:"name,omitempty"`
	Cat  string `json:"cat,omitempty"`
	// Ph is the phase: "X" a complete slice (Ts, Dur), "M" metadata
	// (process and thread names and order), "s" and "f" the start and
	// end of a flow (ID), "i" an instant.
	Ph  string  `json:"ph"`
	Ts  Micros  `json:"ts"`
	Dur *Micros `json:"dur,omitempty"` // for "X"
	Pid int     `json:"pid"`
	Tid int     `json:"tid"`
	// ID ties the two ends of a flow; Bp "e" binds a flow's end to the
	// slice that encloses it.
	ID   int            `json:"id,omitempty"`
	Bp   string         `json:"bp,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// Micros is a time in the trace's unit, microseconds, written with
// nanosecond precision ("1234.567").
type Micros time.Duration

// MarshalJSON writes m in microseconds, three decimals.
func (m Micros) MarshalJSON() ([]byte, error) {
	d := time.Duration(m)
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Appendf(nil, "%s%d.%03d", sign, d/time.Microsecond, d%time.Microsecond), nil
}

// UnmarshalJSON reads microseconds.
func (m *Micros) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("a time in microseconds: %w", err)
	}
	*m = Micros(time.Duration(math.Round(f * 1000)))
	return nil
}

// Trace is the JSON object the tools open.
type Trace struct {
	TraceEvents     []Event        `json:"traceEvents"`
	DisplayTimeUnit string         `json:"displayTimeUnit"`
	OtherData       map[string]any `json:"otherData,omitempty"`
}

// The categories of the events.
const (
	CatTask    = "task"    // a task, from its start to its end on its worker
	CatState   = "state"   // a task's state, nested in the task
	CatWorker  = "worker"  // a worker's start-up
	CatQueue   = "queue"   // a task waiting in the queue, and its flow to the worker
	CatRuntime = "runtime" // a collection or a stop of the world
)

// Build turns reports into a Trace: report i is process i+1, named by its
// label (models.Report.Label); its workers are threads 1.., named as the
// task stream names its rows; then its queue's lanes (as many as tasks
// waited in it at once), then the runtime's tracks.
func Build(reports []models.Report) Trace {
	tr := Trace{DisplayTimeUnit: "ms", TraceEvents: []Event{}, OtherData: map[string]any{"generator": "atonce %%models"}}
	for i, r := range reports {
		tr.TraceEvents = append(tr.TraceEvents, process(i+1, r)...)
		if r.Task != "" {
			tr.OtherData["task"] = r.Task
		}
	}
	return tr
}

// Write writes reports as trace-event JSON to w.
func Write(w io.Writer, reports []models.Report) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(Build(reports)); err != nil {
		return fmt.Errorf("writing the Perfetto trace: %w", err)
	}
	return nil
}

// tracks hands out a report's threads: workers first, then queue
// lanes, then the runtime's tracks.
type tracks struct {
	pid    int
	events []Event
	byName map[string]int
}

func (t *tracks) thread(name string, sort int) int {
	if tid, ok := t.byName[name]; ok {
		return tid
	}
	tid := len(t.byName) + 1
	t.byName[name] = tid
	t.events = append(t.events,
		Event{Name: "thread_name", Ph: "M", Pid: t.pid, Tid: tid, Args: map[string]any{"name": name}},
		Event{Name: "thread_sort_index", Ph: "M", Pid: t.pid, Tid: tid, Args: map[string]any{"sort_index": sort}},
	)
	return tid
}

func (t *tracks) slice(tid int, name, cat string, start, end time.Duration, args map[string]any) {
	dur := Micros(end - start)
	t.events = append(t.events, Event{Name: name, Cat: cat, Ph: "X", Ts: Micros(start), Dur: &dur, Pid: t.pid, Tid: tid, Args: args})
}

// Sort orders of the kinds of threads.
const (
	sortWorkers = 0
	sortQueue   = 100000
	sortRuntime = 200000
)

func process(pid int, r models.Report) []Event {
	t := &tracks{pid: pid, byName: map[string]int{}}
	t.events = append(t.events,
		Event{Name: "process_name", Ph: "M", Pid: pid, Args: map[string]any{"name": r.Label()}},
		Event{Name: "process_sort_index", Ph: "M", Pid: pid, Args: map[string]any{"sort_index": pid}},
	)
	worker := func(k int) int { return t.thread(r.WorkerLabel(k), sortWorkers+k) }
	for k := range max(r.Workers, 1) {
		worker(k)
	}
	for _, w := range r.Pool {
		if w.Worker >= 0 && w.Ready > w.Spawn {
			t.slice(worker(w.Worker), "start-up", CatWorker, w.Spawn, w.Ready, map[string]any{"pid": w.PID, "host": w.Host})
		}
	}
	tasks := slices.Clone(r.Tasks)
	slices.SortStableFunc(tasks, func(a, b models.TaskRecord) int { return cmp.Compare(a.Start, b.Start) })
	var lanes []time.Duration // when each queue lane is free again
	flow := 0
	for _, rec := range tasks {
		tid := worker(max(rec.Worker, 0))
		name := fmt.Sprintf("task %d", rec.Index)
		end := max(rec.End, rec.Start)
		args := map[string]any{"index": rec.Index, "worker": rec.Worker}
		if rec.Err != "" {
			args["err"] = rec.Err
		}
		if rec.Attempts > 1 {
			args["attempts"] = rec.Attempts
		}
		if rec.Note != "" {
			args["note"] = rec.Note
		}
		t.slice(tid, name, CatTask, rec.Start, end, args)
		for _, sp := range rec.States {
			a, b := max(sp.Start, rec.Start), min(sp.End, end)
			if b > a {
				t.slice(tid, sp.Label(), CatState, a, b, map[string]any{"state": sp.State, "kind": sp.Kind})
			}
		}
		if rec.Queued <= 0 || rec.Queued >= rec.Start {
			continue
		}
		// The first lane free when the task was queued.
		lane := slices.IndexFunc(lanes, func(free time.Duration) bool { return free <= rec.Queued })
		if lane < 0 {
			lane = len(lanes)
			lanes = append(lanes, 0)
		}
		lanes[lane] = rec.Start
		qname := "queue"
		if lane > 0 {
			qname = fmt.Sprintf("queue (%d)", lane+1)
		}
		qtid := t.thread(qname, sortQueue+lane)
		t.slice(qtid, "queued "+name, CatQueue, rec.Queued, rec.Start, map[string]any{"index": rec.Index, "bytes_in": rec.BytesIn})
		flow++
		id := pid<<20 | flow
		t.events = append(t.events,
			Event{Name: name, Cat: CatQueue, Ph: "s", Ts: Micros(rec.Queued), Pid: pid, Tid: qtid, ID: id},
			Event{Name: name, Cat: CatQueue, Ph: "f", Bp: "e", Ts: Micros(rec.Start), Pid: pid, Tid: tid, ID: id},
		)
	}
	for _, sp := range r.Runtime {
		if sp.End <= sp.Start {
			continue
		}
		where := ""
		if sp.Worker >= 0 {
			where = r.WorkerLabel(sp.Worker) + ": "
		}
		track, sort := where+"GC", sortRuntime+2*(sp.Worker+1)
		if sp.Kind == models.RuntimeSTW {
			track, sort = where+"stop-the-world", sort+1
		}
		t.slice(t.thread(track, sort), sp.Label(), CatRuntime, sp.Start, sp.End, nil)
	}
	return t.events
}
