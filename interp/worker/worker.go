// Package worker is the `atonce worker` process: it rebuilds a notebook's
// state in its own yaegi session by replaying the notebook's cells, then
// runs the tasks it is sent and answers with their results as JSON. The
// processes model talks to it over pipes (ServePipe); the distributed
// model over NATS (see the models package).
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp"
	"atonce/models"
	"atonce/models/workermsg"
	"atonce/models/workerserve"
)

// Worker holds one notebook state and runs tasks in it, one at a time.
type Worker struct {
	hello  workermsg.Hello
	output func(workermsg.Output)
	quiet  atomic.Bool // drop output: the state is being replayed
	// running is the run of the task in progress ("" when idle), and
	// active its session, so StopRun can reach it without waiting.
	running atomic.Value
	stopped atomic.Bool // StopRun stopped the task in progress
	active  atomic.Pointer[interp.Session]

	mu       sync.Mutex
	sess     *interp.Session
	key      string                     // the loaded state's Key
	baseline map[string]json.RawMessage // the variables right after loading
	funcs    map[string]reflect.Value   // task functions fetched so far
}

// New returns a worker of the given version with no state loaded. Output
// the tasks print goes to output, if set.
//
// It tunes the process's garbage collector for the worker's life (see
// models.TuneWorker): with Go's default setting an interpreted CPU-bound
// task spends much of its time collecting, and processes would look
// slower than threads for a reason that has nothing to do with the model.
func New(version string, output func(workermsg.Output)) *Worker {
	models.TuneWorker()
	return &Worker{
		hello:  workerserve.NewHello(version),
		output: output,
	}
}

// Hello returns how the worker introduces itself.
func (w *Worker) Hello() workermsg.Hello { return w.hello }

// Loaded returns the Key of the state the worker holds, "" if none.
func (w *Worker) Loaded() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.key
}

// Close drops the worker's session.
func (w *Worker) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess != nil {
		w.sess.Close()
		w.sess = nil
	}
	w.key = ""
}

// Load rebuilds st in a fresh session: replays its cells, output hidden,
// then sets the variables JSON carries to their values. A cell that fails
// is noted and skipped, as the kernel's own replay does; a version
// mismatch refuses the state.
func (w *Worker) Load(ctx context.Context, st workermsg.State) workermsg.Ready {
	started := time.Now()
	ready := workermsg.Ready{Key: st.Key}
	if st.Version != w.hello.Version {
		ready.Err = fmt.Sprintf("this worker is atonce %s but the kernel is atonce %s: a worker must be the same version as the kernel, since replaying the notebook needs identical symbol tables; start the worker from the kernel's atonce binary", w.hello.Version, st.Version)
		return ready
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.key == st.Key && w.sess != nil {
		return ready
	}
	if w.sess != nil {
		w.sess.Close()
		w.sess, w.key = nil, ""
	}
	sess, err := interp.New(interp.Options{Output: output{w}, Exit: w.exit})
	if err != nil {
		ready.Err = fmt.Sprintf("starting the Go interpreter: %v", err)
		return ready
	}
	w.quiet.Store(true)
	for i, cell := range st.Cells {
		r := sess.Execute(ctx, cell)
		if r.Interrupted {
			w.quiet.Store(false)
			sess.Close()
			ready.Err = "interrupted while replaying the notebook"
			return ready
		}
		if r.Err != nil {
			ready.Notes = append(ready.Notes, fmt.Sprintf("replaying cell %d of %d failed: %s: %s", i+1, len(st.Cells), r.Err.Name, firstLine(r.Err.Value)))
		}
	}
	sess.SyncOutput()
	w.quiet.Store(false)
	ready.Notes = append(ready.Notes, setGlobals(sess.Vars(), st.Globals)...)
	w.sess, w.key = sess, st.Key
	w.baseline = models.JSONGlobals(sess.Vars(), nil)
	w.funcs = map[string]reflect.Value{}
	ready.ReplayNS = int64(time.Since(started))
	return ready
}

// exit is os.Exit for the worker's cells: it flushes what the task
// printed, then ends the process, as os.Exit in a Python worker does.
func (w *Worker) exit(code int) {
	if w.sess != nil {
		w.sess.SyncOutput()
	}
	os.Exit(code)
}

// Run calls the task's function in the loaded state. Its failures (the
// wrong state, an unknown function, a panic, a result JSON cannot carry)
// are the Result's Err.
func (w *Worker) Run(ctx context.Context, t workermsg.Task) workermsg.Result {
	res := workermsg.Result{ID: t.ID, Run: t.Run, Index: t.Index, Worker: w.hello.ID}
	w.mu.Lock()
	defer w.mu.Unlock()
	fail := func(format string, args ...any) workermsg.Result {
		now := time.Now().UnixNano()
		res.Start, res.End = now, now
		res.Err = fmt.Sprintf(format, args...)
		return res
	}
	if w.sess == nil || w.key != t.StateKey {
		return fail("the worker does not hold the notebook state %s", t.StateKey)
	}
	fn, ok := w.funcs[t.Func]
	if !ok {
		var err error
		if fn, err = w.sess.Func(ctx, t.Func); err != nil {
			return fail("%v", err)
		}
		w.funcs[t.Func] = fn
	}
	task, err := models.TaskOf(t.Func, fn, t.Index+1)
	if err != nil {
		return fail("%v", err)
	}
	w.running.Store(t.Run)
	w.active.Store(w.sess)
	res.Start = time.Now().UnixNano()
	value, err := task.Do(ctx, t.Index)
	w.running.Store("")
	w.sess.SyncOutput()
	res.End = time.Now().UnixNano()
	if ctx.Err() != nil || w.stopped.Swap(false) {
		w.sess.Resume()
		delete(w.funcs, t.Func) // an interrupted value returns zeros from now on
		if err == nil {
			err = fmt.Errorf("task %d was stopped: its run was interrupted", t.Index)
		}
	}
	workerserve.SetOutcome(&res, value, err)
	res.Globals = workerserve.Changed(models.JSONGlobals(w.sess.Vars(), t.Watch), w.baseline)
	return res
}

// StopRun stops the task in progress if it belongs to run: the notebook
// code it runs returns at its next step (the user interrupted the run).
func (w *Worker) StopRun(run string) {
	if r, _ := w.running.Load().(string); r == "" || r != run {
		return
	}
	if sess := w.active.Load(); sess != nil {
		w.stopped.Store(true)
		sess.Stop()
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// setGlobals sets vars from their JSON; it returns a note per variable it
// could not set.
func setGlobals(vars map[string]reflect.Value, globals map[string]json.RawMessage) []string {
	names := make([]string, 0, len(globals))
	for name := range globals {
		names = append(names, name)
	}
	sort.Strings(names)
	var notes []string
	for _, name := range names {
		v, ok := vars[name]
		if !ok || !v.CanSet() {
			continue
		}
		p := reflect.New(v.Type())
		if err := json.Unmarshal(globals[name], p.Interface()); err != nil {
			notes = append(notes, fmt.Sprintf("%s keeps the value replaying gave it: its value does not cross as JSON (%v)", name, err))
			continue
		}
		v.Set(p.Elem())
	}
	return notes
}

// output is the session's Output: a task's prints go to the worker's
// output function; displays have nowhere to go in a worker.
type output struct{ w *Worker }

func (o output) Stream(name, text string) {
	if o.w.quiet.Load() || o.w.output == nil {
		return
	}
	o.w.output(workermsg.Output{Stream: name, Text: text})
}

func (o output) Display(enginemsg.Event) {}
