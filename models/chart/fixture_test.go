package chart

import (
	"slices"
	"time"

	"atonce/models"
	_ "atonce/models/distributed" // the distributed model's traits, for its reports
)

const ms = time.Millisecond

// phase is a stretch of a simulated task: on a CPU, or blocked at an
// await.
type phase struct {
	cpu bool
	d   time.Duration
}

// fixturePhases is every fixture task: 60 ms of CPU, an await of 30 ms,
// 40 ms of CPU.
var fixturePhases = []phase{{true, 60 * ms}, {false, 30 * ms}, {true, 40 * ms}}

// simulate runs n tasks of the given phases on workers that take tasks
// from a shared queue and share cpus CPUs, switching a running worker out
// after quantum when another one waits (never when quantum is 0), in
// steps of a millisecond, and reports it as a traced in-process run.
func simulate(model string, workers, cpus int, quantum time.Duration, n int, phases []phase) models.Report {
	type worker struct {
		task, phase int
		left, used  time.Duration
	}
	// What a runnable task waits for under the model.
	waitKind := map[string]string{"eventloop": models.KindLoop, "gil": models.KindGIL}[model]
	if waitKind == "" {
		waitKind = models.KindCPU
	}
	ws := make([]worker, workers)
	recs := make([]models.TaskRecord, n)
	var queue, running []int
	var t time.Duration
	next, done := 0, 0
	assign := func(w int) {
		ws[w] = worker{task: -1}
		if next < n {
			ws[w] = worker{task: next, left: phases[0].d}
			recs[next] = models.TaskRecord{Index: next, Worker: w, Start: t}
			next++
			if phases[0].cpu {
				queue = append(queue, w)
			}
		}
	}
	for w := range ws {
		assign(w)
	}
	for done < n {
		for len(running) < cpus && len(queue) > 0 {
			running = append(running, queue[0])
			queue = queue[1:]
			ws[running[len(running)-1]].used = 0
		}
		state := map[int]string{}
		for _, w := range running {
			state[w] = models.Running
		}
		for _, w := range queue {
			state[w] = models.Waiting
		}
		for w := range ws {
			if ws[w].task < 0 {
				continue
			}
			s, ok := state[w]
			kind := waitKind
			if !ok {
				s, kind = models.Blocked, models.KindAwait
			}
			if s == models.Running {
				kind = ""
			}
			r := &recs[ws[w].task]
			r.States = appendMerged(r.States, models.Span{State: s, Kind: kind, Start: t, End: t + ms})
			switch s {
			case models.Running:
				ws[w].left -= ms
				ws[w].used += ms
			case models.Blocked:
				ws[w].left -= ms
			}
		}
		t += ms
		var stillRunning []int
		for _, w := range running {
			if ws[w].left > 0 {
				stillRunning = append(stillRunning, w)
			}
		}
		running = stillRunning
		for w := range ws {
			if ws[w].task < 0 || ws[w].left > 0 {
				continue
			}
			ws[w].phase++
			if ws[w].phase == len(phases) {
				recs[ws[w].task].End = t
				done++
				assign(w)
				continue
			}
			ws[w].left = phases[ws[w].phase].d
			if phases[ws[w].phase].cpu {
				queue = append(queue, w)
			}
		}
		if quantum > 0 && len(queue) > 0 {
			var keep []int
			for _, w := range running {
				if ws[w].used >= quantum {
					queue = append(queue, w)
				} else {
					keep = append(keep, w)
				}
			}
			running = keep
		}
	}
	return models.Report{
		Model: model, Traits: models.TraitsOf(model), Task: "work", Workers: workers, Wall: t, CPU: t,
		Tasks: recs, Traced: true,
	}
}

// remote reports a run in worker processes: each worker gets the next
// task once it finished the last, transfer takes xfer, a task 130 ms.
func remote(model string, pool []models.WorkerRecord, n int, xfer time.Duration, failed int) models.Report {
	free := make([]time.Duration, len(pool))
	var startup time.Duration
	for k, w := range pool {
		free[k] = w.Ready
		startup = max(startup, w.Ready)
	}
	recs := make([]models.TaskRecord, n)
	var wall time.Duration
	for i := range n {
		k := 0
		for j := range free {
			if free[j] < free[k] {
				k = j
			}
		}
		q := free[k]
		start := q + xfer
		end := start + 130*ms
		recs[i] = models.TaskRecord{Index: i, Worker: k, Queued: q, Start: start, End: end, BytesIn: 40, BytesOut: 12, Attempts: 1}
		if i == failed {
			recs[i].Err = "panic: boom"
		}
		free[k] = end
		wall = max(wall, end)
	}
	return models.Report{
		Model: model, Traits: models.TraitsOf(model), Task: "work", Workers: len(pool), Wall: wall, Tasks: recs,
		Pool: pool, Startup: startup,
	}
}

// fixedReports is one run of 8 tasks under each of the six models.
func fixedReports() []models.Report {
	const n = 8
	return []models.Report{
		simulate("sequential", 1, 1, 0, n, fixturePhases),
		simulate("eventloop", n, 1, 0, n, fixturePhases),
		simulate("gil", 4, 1, 10*ms, n, fixturePhases),
		simulate("threads", 2, 2, 0, n, fixturePhases),
		remote("processes", []models.WorkerRecord{
			{Worker: 0, PID: 101, Spawn: 0, Ready: 150 * ms},
			{Worker: 1, PID: 102, Spawn: 2 * ms, Ready: 160 * ms},
		}, n, 3*ms, -1),
		remote("distributed", []models.WorkerRecord{
			{Worker: 0, Host: "node-a", Spawn: 0, Ready: 40 * ms},
			{Worker: 1, Host: "node-b", Spawn: 0, Ready: 45 * ms},
			{Worker: 2, Host: "node-b", Spawn: 0, Ready: 50 * ms},
		}, n, 8*ms, 5),
	}
}

// manyReports is 100 tasks of 20 ms waits under sequential, and under an
// event loop of 100 coroutines.
func manyReports() []models.Report {
	phases := []phase{{true, 1 * ms}, {false, 20 * ms}, {true, 1 * ms}}
	return []models.Report{
		simulate("sequential", 1, 1, 0, 100, phases),
		simulate("eventloop", 100, 1, 0, 100, phases),
		simulate("threads", 4, 4, 0, 100, phases),
	}
}

// traced gives each task of a report of worker processes (remote) the
// states its worker's tracer would record: running 50 ms, waiting 20 ms,
// blocked 30 ms, then running to its end; without kinds, as a report
// from before kinds had them.
func traced(r models.Report) models.Report {
	tasks := slices.Clone(r.Tasks)
	for k := range tasks {
		t := &tasks[k]
		a, b, c := t.Start+50*ms, t.Start+70*ms, t.Start+100*ms
		t.States = []models.Span{
			{State: models.Running, Start: t.Start, End: a},
			{State: models.Waiting, Start: a, End: b},
			{State: models.Blocked, Start: b, End: c},
			{State: models.Running, Start: c, End: t.End},
		}
	}
	r.Tasks, r.Traced = tasks, true
	return r
}
