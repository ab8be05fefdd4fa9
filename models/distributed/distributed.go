// Package distributed is the "distributed" concurrency model: tasks go
// through a NATS JetStream work queue (package broker) to workers on this
// machine or others, gathered in a [Cluster] — the NATS server (the one
// the kernel embeds, package natsserver, or an existing one), the
// kernel's connection, the workers that announced themselves, the join
// command, the local workers. Its init registers the model with
// models.Register, so a program offers it by importing this package (for
// its effect alone: import _ "atonce/models/distributed"); the models
// package itself knows nothing of NATS, and a program that only runs the
// other models links neither NATS server nor client.
package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"atonce/internal/cputime"
	"atonce/models"
	"atonce/models/broker"
	"atonce/models/workermsg"
)

// Model runs the tasks on workers behind NATS, an existing distributed
// messaging system: each task is a message in a JetStream work queue,
// taken by one worker at a time, acknowledged only after its result is
// published, and handed to another worker when its worker dies (after the
// queue's ack wait, about a second). A task no worker could finish in
// three attempts is reported failed. Workers share nothing with the
// notebook: each rebuilds it from the cells, fetched once per state from
// the server. Task.Remote.Cluster, a *[Cluster], says where; the run
// starts local workers until Options.Workers (default runtime.NumCPU())
// are connected. With a *[Native] (Cluster.Native) the workers are a
// native program's instead, on every machine: see [Native].
type Model struct{}

var _ models.Model = Model{}

func init() { models.Register(Model{}) }

// traits are the distributed model's: see [Model.Traits].
var traits = models.Traits{
	Name:           "distributed",
	StandsFor:      "distributed tasks",
	Placement:      models.InWorkers,
	Isolation:      models.Nothing,
	Switching:      models.Simultaneous,
	Noun:           "worker",
	Nouns:          "workers",
	DefaultWorkers: "one per CPU",
	MSU:            "whole task",
	Sharing:        "shares nothing while it runs: each worker rebuilds its own copy from the cells and the run's starting values; arguments and results cross as JSON",
	Parallel:       true,
	Hosts:          true,
}

// Name returns "distributed".
func (Model) Name() string { return traits.Name }

// Traits returns the distributed model's traits: workers behind NATS, on
// any machine, sharing nothing.
func (Model) Traits() models.Traits { return traits }

// queueOptions configure the work queue: a task whose worker sends no
// keep-alive for a second goes to another worker; a task handed out three
// times without a result is reported failed.
var queueOptions = broker.QueueOptions{AckWait: time.Second, MaxDeliver: 3}

// Run runs t under the distributed model; see [models.Model] for the
// contract.
func (Model) Run(ctx context.Context, t models.Task, opt models.Options) (models.Report, error) {
	name := traits.Name
	rep := models.NewReport(traits, t)
	fail := func(err error) (models.Report, error) {
		rep.Err = err.Error()
		return rep, err
	}
	if err := models.CheckRemote(name, t, opt); err != nil {
		return fail(err)
	}
	r := t.Remote
	var c *Cluster
	var nat *Native
	switch cl := r.Cluster.(type) {
	case *Cluster:
		c = cl
	case *Native:
		if cl != nil {
			c, nat = cl.c, cl
		}
	}
	if c == nil {
		return fail(fmt.Errorf("%s: no NATS cluster to run on", name))
	}
	want := runtime.NumCPU()
	if opt.Workers > 0 {
		want = opt.Workers
	}

	release, err := models.AcquireRun(ctx, name)
	if err != nil {
		return fail(err)
	}
	defer release()

	f := c.fleet()
	if nat != nil {
		// Building for the workers' platforms and sending them the program
		// is not the run's work: it is done before the clock starts, and
		// the notes say what it cost.
		if f, err = nat.fleet(ctx, r.State.Version); err != nil {
			return fail(fmt.Errorf("%s: readying the native program's workers: %w", name, err))
		}
		rep.Notes = append(rep.Notes, f.notes...)
	}
	// The clocks of the workers already there, measured when they
	// announced themselves (and again in the background if that was long
	// ago), and their tracers started, before the run's own clock starts.
	there := workerIDs(f.ready())
	if _, err := c.clockOffsets(ctx, there); err != nil {
		return fail(fmt.Errorf("%s: measuring the workers' clocks: %w", name, err))
	}
	if opt.Trace {
		c.traceAhead(ctx, there, opt.KeepTrace)
	}
	cpu0, local0, localPIDs := cputime.Self(), c.localCPU(), c.LocalPIDs()
	start := time.Now()
	run := uuid.NewString()
	// Enough workers, and the notebook's state where they can fetch it.
	known := f.ready()
	spawned := time.Since(start)
	if len(known) < want {
		if err := f.addLocal(ctx, want-len(known)); err != nil {
			return fail(fmt.Errorf("%s: starting workers: %w", name, err))
		}
		known = f.ready()
		if opt.Trace {
			c.traceAhead(ctx, slices.DeleteFunc(workerIDs(known), func(id string) bool { return slices.Contains(there, id) }), opt.KeepTrace)
		}
	}
	rep.Workers = len(known)
	// Measured above, or when they announced themselves (workers the run
	// started).
	clocks, err := c.clockOffsets(ctx, workerIDs(known))
	if err != nil {
		return fail(fmt.Errorf("%s: measuring the workers' clocks: %w", name, err))
	}
	state, err := json.Marshal(r.State)
	if err != nil {
		return fail(fmt.Errorf("%s: encoding the notebook state: %w", name, err))
	}
	if err := c.putState(ctx, f.queue, r.State.Key, state); err != nil {
		return fail(fmt.Errorf("%s: sending the notebook's cells to the NATS server: %w", name, err))
	}

	q, err := broker.NewQueue(ctx, c.Conn(), f.queue, queueOptions)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	// The queue stays on the server between runs, so workers stay
	// attached to it: re-attaching costs them a poll of up to 200 ms.
	defer q.Release()
	results, err := q.Results(ctx)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}
	queued := make([]time.Duration, t.N)
	sizes := make([]int, t.N)
	ids := map[string]int{}
	for i := range t.N {
		task := workermsg.Task{ID: fmt.Sprintf("%s.%d", run, i), Run: run, StateKey: r.State.Key, Func: r.Func, Index: i, Watch: r.Watch, Trace: opt.Trace, KeepTrace: opt.Trace && opt.KeepTrace}
		payload, err := json.Marshal(task)
		if err != nil {
			return fail(fmt.Errorf("%s: encoding task %d: %w", name, i, err))
		}
		ids[task.ID] = i
		queued[i], sizes[i] = time.Since(start), len(payload)
		if err := q.PublishAsync(task.ID, payload); err != nil {
			return fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	// The tasks went out in one stream; the server has taken them all
	// (workers are already running the first ones).
	if err := q.Flush(ctx); err != nil {
		return fail(fmt.Errorf("%s: %w", name, err))
	}

	info := map[string]broker.WorkerInfo{}
	for _, w := range known {
		info[w.ID] = w
	}
	workerIndex := map[string]int{}
	pool := []*models.WorkerRecord{}
	workerOf := func(id string) *models.WorkerRecord {
		k, ok := workerIndex[id]
		if !ok {
			k = len(pool)
			workerIndex[id] = k
			w, ok := info[id]
			if !ok { // a worker that joined during the run (a replacement)
				for _, r := range f.ready() {
					info[r.ID] = r
				}
				w = info[id]
			}
			rec := &models.WorkerRecord{Worker: k, Host: w.Host, PID: w.PID, CPUs: w.CPUs, Spawn: spawned, Ready: spawned}
			clock, ok := clocks[id]
			if !ok { // a worker that joined during the run
				if more, err := c.clockOffsets(ctx, []string{id}); err == nil {
					clock = more[id]
				}
			}
			rec.SetClock(clock)
			pool = append(pool, rec)
		}
		return pool[k]
	}
	answered, traced := 0, 0 // results from workers, and of those traced
	reported := reportedCPU{}
	recs := make([]models.TaskRecord, t.N)
	got := make([]bool, t.N)
	finished := 0
	// Local workers that die (a task that kills its worker) are replaced,
	// so that the queue can hand the task to another worker until its
	// delivery limit says it failed, and the other tasks still run.
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	replacements, adding := want+t.N, make(chan struct{}, 1)
	// Replacements start in the background, owned by the run: it stops
	// them and waits before it returns.
	addCtx, stopAdding := context.WithCancel(ctx)
	var adders sync.WaitGroup
	defer adders.Wait()
	defer stopAdding()
	for finished < t.N {
		var res broker.Result
		ok := true
		select {
		case res, ok = <-results:
		case <-ctx.Done():
			ok = false
		case <-check.C:
			if missing := want - len(f.ready()); missing > 0 && replacements > 0 && len(adding) == 0 {
				n := min(missing, replacements)
				replacements -= n
				adding <- struct{}{}
				adders.Go(func() {
					defer func() { <-adding }()
					if err := f.addLocal(addCtx, n); err != nil && addCtx.Err() == nil {
						c.log.Warn("distributed: replacing dead workers", "err", err)
					}
				})
			}
			continue
		}
		if !ok {
			break
		}
		i, known := ids[res.TaskID]
		if !known || got[i] {
			continue
		}
		rec := models.TaskRecord{Index: i, Queued: queued[i], BytesIn: sizes[i], Attempts: res.Delivery}
		switch {
		case res.Failed != "":
			now := time.Since(start)
			rec.Start, rec.End, rec.Err = now, now, res.Failed
		case res.Error != "":
			w := workerOf(res.Worker)
			now := time.Since(start)
			rec.Worker, rec.Start, rec.End, rec.Err = w.Worker, now, now, res.Error
		default:
			var wr workermsg.Result
			if err := json.Unmarshal(res.Payload, &wr); err != nil {
				rec.Err = fmt.Sprintf("a malformed result from worker %s: %v", res.Worker, err)
				break
			}
			w := workerOf(res.Worker)
			rec = models.RemoteRecord(wr, *w, start)
			rep.AddWorkerResult(wr, *w, start)
			reported.add(res.Worker, wr)
			rec.Queued, rec.BytesIn, rec.BytesOut, rec.Attempts = queued[i], sizes[i], len(res.Payload), res.Delivery
			if wr.LoadEnd > 0 {
				w.Spawn = w.OnRunClock(wr.LoadStart, start)
				w.Ready = w.OnRunClock(wr.LoadEnd, start)
			}
			answered++
			if wr.Traced {
				traced++
			}
			w.AddGlobals(wr.Globals)
		}
		if res.Delivery > 1 {
			rec.Note = fmt.Sprintf("handed out %d times: an earlier worker died or stopped answering", res.Delivery)
		}
		recs[i], got[i] = rec, true
		finished++
		if opt.Progress != nil {
			opt.Progress(name, finished, t.N)
		}
	}
	rep.Wall = time.Since(start)
	rep.Traced = opt.Trace && traced > 0 && traced == answered
	// The kernel's own CPU, its local workers' (read here), and what the
	// others said with their results.
	rep.CPU = cputime.Self() - cpu0 + max(c.localCPU()-local0, 0) +
		c.remoteCPU(reported, info, append(localPIDs, c.LocalPIDs()...))
	if ctx.Err() != nil {
		c.cancelRun(f.queue, run)
	}
	rep.Notes = append(rep.Notes, f.died()...)
	for i, ok := range got {
		if ok {
			rep.Tasks = append(rep.Tasks, recs[i])
		}
	}
	for _, w := range pool {
		rep.Pool = append(rep.Pool, *w)
		rep.Startup = max(rep.Startup, w.Ready)
	}
	if st := q.Stats(); st.Duplicates > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d task(s) ran twice (a worker thought dead finished after all); the first result of each counts", st.Duplicates))
	}
	if finished < t.N {
		err := ctx.Err()
		if err == nil {
			err = errors.New("the queue closed")
		}
		return fail(fmt.Errorf("%s: stopped after %d of %d tasks: %w", name, finished, t.N, err))
	}
	return rep, nil
}

// workerIDs returns the IDs of ws.
func workerIDs(ws []broker.WorkerInfo) []string {
	ids := make([]string, len(ws))
	for k, w := range ws {
		ids[k] = w.ID
	}
	return ids
}

// cancelRun asks the workers of queue to stop the run's tasks in
// progress.
func (c *Cluster) cancelRun(queue, run string) {
	b, _ := json.Marshal(workermsg.Cancel{Run: run})
	if err := c.conn.NATS().Publish(workermsg.CancelSubject(queue), b); err != nil {
		c.log.Debug("distributed: publishing a cancel", "err", err)
	}
	_ = c.conn.NATS().Flush()
}
