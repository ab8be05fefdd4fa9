package verdict

import (
	"math"
	"slices"
	"time"

	"atonce/models"
)

// workerCosts is what running the tasks in worker processes cost a run,
// as measured, and the work above which that pays off.
//
// The model: n tasks whose work takes W on the baseline run on K workers
// in S + W/g + n·c/K, where S is the workers' start-up, c the cost of
// handing one task to a worker and its result back, and g the parallel
// gain on the work itself (at most K, and at most the cores for
// CPU-bound work). That beats the baseline's W once
//
//	W > (S + n·c/K) / (1 − 1/g),
//
// the break-even; with g ≤ 1 no amount of work pays.
type workerCosts struct {
	workers, tasks int
	startup        time.Duration // Report.Startup: until the last worker was ready
	perTask        time.Duration // median hand-off (see handoffs)
	bytes          int           // median bytes to and from a worker per task
	gain           float64       // g, measured (see gainOf)
	work           time.Duration // this run's work: the baseline's wall time
	// breakEven is the work above which the model beats the baseline;
	// pays is false when it never does (no parallel gain measured).
	breakEven time.Duration
	pays      bool
}

// minGain is the least parallel gain that counts as one: below it the
// workers ran the work no faster together than one would.
const minGain = 1.05

// costsOf measures r's worker costs against the baseline base; ok is
// false when r does not run tasks in worker processes or has nothing to
// measure (no task ran, fewer than two workers).
func costsOf(r, base models.Report) (workerCosts, bool) {
	if r.Placement != models.InWorkers || r.Err != "" || r.Wall <= 0 || base.Wall <= 0 || len(r.Tasks) == 0 {
		return workerCosts{}, false
	}
	hs := handoffs(r)
	if len(hs) == 0 {
		return workerCosts{}, false
	}
	c := workerCosts{workers: max(r.Workers, 1), tasks: len(r.Tasks), startup: r.Startup, perTask: medianDuration(hs), work: base.Wall}
	var sizes []int
	for _, t := range r.Tasks {
		if t.BytesIn+t.BytesOut > 0 {
			sizes = append(sizes, t.BytesIn+t.BytesOut)
		}
	}
	if len(sizes) > 0 {
		slices.Sort(sizes)
		c.bytes = sizes[(len(sizes)-1)/2]
	}
	c.gain = gainOf(r, base, c)
	if c.gain >= minGain {
		over := float64(c.startup) + float64(c.tasks)*float64(c.perTask)/float64(c.workers)
		c.breakEven = time.Duration(over / (1 - 1/c.gain))
		c.pays = true
	}
	return c, true
}

// handoffs are the gaps a worker spent between tasks, on the run's
// clock: from the end of its previous task (the result's way back, the
// next task's way out) to the start of the next; for a worker's first
// task, from when the task was handed out or the worker was ready,
// whichever came later. Failed tasks and their neighbours are left out.
func handoffs(r models.Report) []time.Duration {
	ready := map[int]time.Duration{}
	for _, w := range r.Pool {
		ready[w.Worker] = w.Ready
	}
	byWorker := map[int][]models.TaskRecord{}
	for _, t := range r.Tasks {
		byWorker[t.Worker] = append(byWorker[t.Worker], t)
	}
	var firsts, gaps []time.Duration
	for k, ts := range byWorker {
		slices.SortFunc(ts, func(a, b models.TaskRecord) int { return int(a.Start - b.Start) })
		for i, t := range ts {
			if t.Err != "" || t.Attempts > 1 {
				continue
			}
			if i == 0 {
				from := max(t.Queued, ready[k])
				if t.Start >= from && from > 0 {
					firsts = append(firsts, t.Start-from)
				}
				continue
			}
			prev := ts[i-1]
			if prev.Err == "" && t.Start >= prev.End {
				gaps = append(gaps, t.Start-prev.End)
			}
		}
	}
	if len(gaps) > 0 {
		return gaps
	}
	return firsts
}

// gainOf is the parallel gain g the workers got on the work: the
// baseline's wall time over what r's wall spent on the work (its wall less
// the start-up and the hand-offs each worker did in turn), within
// [1, K]. A run whose work is drowned by its overheads gets K, its best
// case: a break-even computed with it is a lower bound.
func gainOf(r, base models.Report, c workerCosts) float64 {
	k := float64(c.workers)
	onWork := float64(r.Wall-c.startup) - float64(c.tasks)*float64(c.perTask)/k
	if onWork <= 0 {
		return k
	}
	g := float64(base.Wall) / onWork
	if math.IsNaN(g) {
		return 1
	}
	return math.Max(1, math.Min(k, g))
}

// medianDuration is the median of ds (the lower middle one of an even
// count).
func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
