package workerpool_test

import (
	"context"
	"fmt"

	"atonce/models/modeltest"
	"atonce/models/workermsg"
	"atonce/models/workerpool"
)

// A pool of pipe workers (here the test binary, serving modeltest's task
// functions): start one, send it a task, read its result.
func ExamplePool() {
	st := state(modeltest.Version)
	pool := workerpool.New(workerpool.Pipe{Command: worker, State: st})
	defer pool.Close()
	w, err := pool.Start(context.Background(), workerpool.StartOptions{Name: "worker 0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	task := workermsg.Task{ID: "t1", StateKey: st.Key, Func: "double", Index: 21}
	if _, err := w.Send(workermsg.Message{Kind: workermsg.KindTask, Task: &task}); err != nil {
		fmt.Println(err)
		return
	}
	m, _, err := w.Receive()
	if err != nil {
		fmt.Println(w.Explain(err))
		return
	}
	fmt.Println(m.Kind, string(m.Result.Value))
	// Output: result 42
}
