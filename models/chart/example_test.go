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
			{Index: 1, Worker: 1, Start: 0, End: 100 * time.Millisecond},
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
	// threads: 2 tasks on 2 goroutines, 100 ms, 2.00x
	// color = task index.
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
