package verdict

import (
	"time"

	"atonce/models"
	"atonce/models/stats"
)

// part is a share of a task's time in one state.
type part struct {
	state string
	share float64
}

// report makes a run of the model with traits tr: n tasks on workers
// workers, each per long and spending its time in the parts in order,
// the tasks dealt to the workers in turn, the wall time wall.
func report(tr models.Traits, workers, n int, per, wall time.Duration, parts ...part) models.Report {
	r := models.Report{Model: tr.Name, Traits: tr, Workers: workers, Wall: wall, Traced: len(parts) > 0, Mode: models.Interpreted}
	for i := range n {
		k := i % workers
		start := time.Duration(i/workers) * per
		t := models.TaskRecord{Index: i, Worker: k, Start: start, End: start + per}
		at := start
		for _, p := range parts {
			d := time.Duration(p.share * float64(per))
			t.States = append(t.States, models.Span{State: p.state, Start: at, End: at + d})
			at += d
		}
		r.Tasks = append(r.Tasks, t)
	}
	return r
}

// iv is a 95% interval from ten rounds.
func iv(mid, lo, hi float64) stats.Interval {
	return stats.Interval{Mid: mid, Lo: lo, Hi: hi, Conf: 0.979, N: 10}
}

// run is r with its speedup interval.
func run(r models.Report, sp stats.Interval) models.Report {
	r.Speedup = sp
	return r
}

var (
	seqT  = models.TraitsOf("sequential")
	loopT = models.TraitsOf("eventloop")
	gilT  = models.TraitsOf("gil")
	thrT  = models.TraitsOf("threads")
	procT = models.TraitsOf("processes")
	// distT is a model with workers on any machine behind an orchestrator,
	// sharing nothing (registered by atonce/models/distributed, which this
	// package does not import).
	distT = models.Traits{Name: "distributed", Placement: models.InWorkers, Isolation: models.Nothing, Switching: models.Simultaneous,
		Noun: "worker", Nouns: "workers", MSU: "whole task", Sharing: "shares nothing", Parallel: true, Hosts: true}
)

const ms = time.Millisecond

func running(share float64) part { return part{models.Running, share} }
func waiting(share float64) part { return part{models.Waiting, share} }
func blocked(share float64) part { return part{models.Blocked, share} }

// cpuBound is 8 fib-like tasks of 20 ms on 2 cores: threads near 2x,
// the one-at-a-time models near 1x.
func cpuBound() Input {
	return Input{Cores: 2, Runs: []models.Report{
		run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.98)), iv(1, 1, 1)),
		run(report(loopT, 8, 8, 20*ms, 161*ms, running(0.98)), iv(0.99, 0.97, 1.02)),
		run(report(gilT, 4, 8, 80*ms, 162*ms, running(0.25), waiting(0.74)), iv(0.99, 0.96, 1.01)),
		run(report(thrT, 2, 8, 20*ms, 84*ms, running(0.97)), iv(1.91, 1.86, 2.01)),
	}}
}

// awaitBound is 8 tasks sleeping 20 ms each.
func awaitBound() Input {
	return Input{Cores: 2, Runs: []models.Report{
		run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.02), blocked(0.97)), iv(1, 1, 1)),
		run(report(loopT, 8, 8, 20*ms, 22*ms, running(0.02), blocked(0.97)), iv(7.4, 7.1, 7.7)),
		run(report(gilT, 4, 8, 20*ms, 41*ms, running(0.02), blocked(0.97)), iv(3.9, 3.8, 3.95)),
		run(report(thrT, 2, 8, 20*ms, 81*ms, running(0.02), blocked(0.97)), iv(1.97, 1.95, 2.01)),
	}}
}

// mixed is 8 tasks that compute 10 ms and sleep 10 ms.
func mixed() Input {
	return Input{Cores: 2, Runs: []models.Report{
		run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.5), blocked(0.49)), iv(1, 1, 1)),
		run(report(loopT, 8, 8, 20*ms, 90*ms, running(0.5), waiting(0.3), blocked(0.19)), iv(1.78, 1.7, 1.85)),
		run(report(gilT, 4, 8, 20*ms, 92*ms, running(0.5), waiting(0.3), blocked(0.19)), iv(1.74, 1.68, 1.8)),
		run(report(thrT, 2, 8, 20*ms, 80*ms, running(0.5), blocked(0.49)), iv(2.0, 1.9, 2.1)),
	}}
}

// lockBound is 8 tasks that hold one mutex while they compute 20 ms:
// alone they run, together they block on each other; processes, each
// worker with its own mutex, run in parallel.
func lockBound() Input {
	return Input{Cores: 2, Runs: []models.Report{
		run(report(seqT, 1, 8, 20*ms, 160*ms, running(0.98)), iv(1, 1, 1)),
		run(report(loopT, 8, 8, 20*ms, 161*ms, running(0.98)), iv(0.99, 0.97, 1.02)),
		run(report(gilT, 4, 8, 80*ms, 163*ms, running(0.25), blocked(0.74)), iv(0.98, 0.95, 1.0)),
		run(report(thrT, 2, 8, 40*ms, 161*ms, running(0.5), blocked(0.49)), iv(0.99, 0.96, 1.02)),
		run(processes(8, 2, 160*ms, 19*ms, 69*time.Microsecond, 20*ms), iv(1.55, 1.45, 1.62)),
	}}
}

// processes is a run of the processes model: K workers ready after
// startup, n tasks of per each handed out in turn with a hand-off of
// handoff before each (after the previous task on that worker, or after
// the worker was ready), traced as running.
func processes(n, k int, base, startup, handoff, per time.Duration) models.Report {
	r := models.Report{Model: procT.Name, Traits: procT, Workers: k, Startup: startup, Traced: true, Mode: models.Interpreted}
	free := make([]time.Duration, k)
	for w := range k {
		r.Pool = append(r.Pool, models.WorkerRecord{Worker: w, Spawn: 0, Ready: startup})
		free[w] = startup
	}
	var end time.Duration
	for i := range n {
		w := i % k
		queued := free[w]
		start := queued + handoff
		t := models.TaskRecord{Index: i, Worker: w, Queued: queued, Start: start, End: start + per, BytesIn: 200, BytesOut: 100,
			States: []models.Span{{State: models.Running, Start: start, End: start + per}}}
		free[w] = t.End
		end = max(end, t.End)
		r.Tasks = append(r.Tasks, t)
	}
	r.Wall = end
	return r
}
