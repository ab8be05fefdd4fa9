package chart_test

import (
	"fmt"
	"slices"
	"time"

	"atonce/models"
	"atonce/models/chart"
)

// A task stream of two runs, as the MIME bundle a notebook displays.
func ExampleTaskStream() {
	reports := []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: 200 * time.Millisecond, Tasks: []models.TaskRecord{
			{Index: 0, Worker: 0, Start: 0, End: 100 * time.Millisecond},
			{Index: 1, Worker: 0, Start: 100 * time.Millisecond, End: 200 * time.Millisecond},
		}},
		{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Wall: 100 * time.Millisecond, Tasks: []models.TaskRecord{
			{Index: 0, Worker: 0, Start: 0, End: 100 * time.Millisecond},
			{Index: 1, Worker: 1, Start: 0, End: 60 * time.Millisecond},
		}},
	}
	c, err := chart.TaskStream(reports)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, metadata := c.Bundle()
	var keys []string
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Println(keys)
	fmt.Println(metadata["image/png"])
	fmt.Println(c.Summary)
	// Output:
	// [image/png image/svg+xml text/plain]
	// map[height:188 width:800]
	// Task stream: one row per worker, one bar per task, time axis 0 to 200 ms.
	// sequential: 2 tasks on 1 loop, 200 ms
	// threads: 2 tasks on 2 goroutines, 100 ms, 2.00x; idle 20% of worker time (most: goroutine 1, 40%)
	// color = task index; white in a worker's lane = idle.
}

// The speedup of each model over sequential.
func ExampleSpeedup() {
	reports := []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: 800 * time.Millisecond},
		{Model: "gil", Traits: models.TraitsOf("gil"), Workers: 4, Wall: 820 * time.Millisecond},
		{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, CPUs: 2, Wall: 430 * time.Millisecond},
	}
	c, err := chart.Speedup(reports)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Summary)
	// Output:
	// Speedup over sequential (wall 800 ms), per model; ideal for CPU-bound work is the number of workers for a parallel model (at most the cores), 1 for the others.
	// sequential: 1.00x on 1 loop, efficiency 100%, ideal 1x, wall 800 ms
	// gil: 0.98x on 4 threads, efficiency 24%, ideal 1x, wall 820 ms
	// threads: 1.86x on 2 goroutines, efficiency 93%, ideal 2x, wall 430 ms
}

// Speedup against workers: threads at 1, 2 and 4 goroutines on 2 cores,
// over two rounds, with Amdahl's law fitted.
func ExampleScaling() {
	ms := time.Millisecond
	s := models.Scaling{Model: "threads", Traits: models.TraitsOf("threads"), Baseline: "sequential", Cores: 2, Workers: []int{1, 2, 4}}.
		Measure([]time.Duration{200 * ms, 210 * ms}, [][]time.Duration{{200 * ms, 105 * ms, 105 * ms}, {210 * ms, 110 * ms, 111 * ms}})
	c, err := chart.Scaling([]models.Scaling{s})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Summary)
	// Output:
	// Scaling: speedup over sequential against workers (median of 2 rounds, intervals of only 50% confidence: too few rounds for 95%); ideal: speedup = workers; this machine has 2 cores.
	// threads: 1 → 1.00x [1.00–1.00], 2 → 1.91x [1.90–1.91], 4 → 1.90x [1.89–1.90]; Amdahl's serial fraction 5.1% [5.0–5.2%] (on min(workers, cores) processors)
}
