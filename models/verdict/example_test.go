package verdict_test

import (
	"fmt"
	"time"

	"atonce/models"
	"atonce/models/stats"
	"atonce/models/verdict"
)

// A CPU-bound task: sequential ran its 4 tasks of 50 ms on a CPU, gil no
// faster, threads on 2 goroutines nearly twice as fast, each speedup's
// interval from ten rounds.
func ExampleOf() {
	ms := time.Millisecond
	run := func(name string, workers int, wall time.Duration, state string, sp stats.Interval) models.Report {
		r := models.Report{Model: name, Traits: models.TraitsOf(name), Workers: workers, Wall: wall, Traced: true, Speedup: sp}
		for i := range 4 {
			start := time.Duration(i/workers) * 50 * ms
			r.Tasks = append(r.Tasks, models.TaskRecord{Index: i, Worker: i % workers, Start: start, End: start + 50*ms,
				States: []models.Span{{State: state, Start: start, End: start + 50*ms}}})
		}
		return r
	}
	in := verdict.Input{Cores: 2, Runs: []models.Report{
		run("sequential", 1, 200*ms, models.Running, stats.Interval{Mid: 1, Lo: 1, Hi: 1, Conf: 0.98, N: 10}),
		run("gil", 1, 202*ms, models.Running, stats.Interval{Mid: 0.99, Lo: 0.97, Hi: 1.01, Conf: 0.98, N: 10}),
		run("threads", 2, 104*ms, models.Running, stats.Interval{Mid: 1.92, Lo: 1.88, Hi: 2.0, Conf: 0.98, N: 10}),
	}}
	v := verdict.Of(in)
	fmt.Println(v.Kind, v.With(verdict.Helps), v.With(verdict.Same))
	fmt.Println(v.Text)
	// Output:
	// cpu-bound [threads] [gil]
	// The task is CPU-bound. Run alone (sequential), its 4 tasks of 50 ms each spent 100% of their time running and 0% blocked at awaits. Helps: threads 1.92x [1.88–2.00] with 2 goroutines (as fast as the 2 cores allow): under threads the tasks run on several cores at once (MSU: machine instruction). No faster than sequential: gil 0.99x [0.97–1.01]: under gil one task runs at a time, and a task that waits at no await gives them nothing to overlap: at most 1.0x.
}
