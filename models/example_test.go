package models_test

import (
	"context"
	"fmt"
	"time"

	"atonce/models"
)

// A task that waits at an await point: under the event loop, the four
// coroutines sleep at the same time.
func Example() {
	task := models.Task{Name: "square", N: 4, Call: func(ctx context.Context, i int) (any, error) {
		if err := models.Sleep(ctx, 10*time.Millisecond); err != nil {
			return nil, err
		}
		return i * i, nil
	}}
	rep, err := models.EventLoop{}.Run(context.Background(), task, models.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d coroutines, MSU: %s\n", rep.Model, rep.Workers, rep.MSU)
	for _, r := range rep.Tasks {
		fmt.Println(r.Index, r.Result)
	}
	// Output:
	// eventloop: 4 coroutines, MSU: code between two awaits
	// 0 0
	// 1 1
	// 2 4
	// 3 9
}

func ExampleCompare() {
	task := models.Task{Name: "wait", N: 8, Call: func(ctx context.Context, i int) (any, error) {
		return nil, models.Sleep(ctx, time.Millisecond)
	}}
	reports, err := models.Compare(context.Background(), task, []string{"sequential", "eventloop", "gil", "threads"}, models.CompareOptions{Repeat: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range reports {
		fmt.Println(r.Model, len(r.Tasks), r.Parallel)
	}
	// Output:
	// sequential 8 false
	// eventloop 8 false
	// gil 8 false
	// threads 8 true
}

func ExampleTable() {
	reports := []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: 800 * time.Millisecond, CPU: 800 * time.Millisecond,
			Tasks: []models.TaskRecord{{Index: 0}, {Index: 1}}},
		{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Wall: 400 * time.Millisecond, CPU: 800 * time.Millisecond,
			Tasks: []models.TaskRecord{{Index: 0, Worker: 0}, {Index: 1, Worker: 1}}},
	}
	text, _ := models.Table(reports)
	fmt.Print(text)
	// Output:
	// model       wall ms  CPU ms  speedup  efficiency  workers  tasks/worker  MSU                  sharing                                                 errors
	// sequential  800.0    800.0   1.00x    100%        1        2.0           whole task           shares notebook state; one task at a time
	// threads     400.0    800.0   2.00x    100%        2        1.0           machine instruction  shares notebook state; unsynchronized updates get lost
}
