package models_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/modeltest"
	"atonce/models/workermsg"
)

// BenchmarkWorkerTrace measures what tracing costs a task in a worker:
// the round trip of an empty task (sent down the pipe, run, answered) to
// one worker process of the processes model, with and without its states
// traced, as the time between two tasks' hand-outs ("ns/task", median of
// the runs); the test binary is the worker, compiled Go as a native
// program is.
//
//	go test -run '^$' -bench WorkerTrace -benchtime 10x ./models/
func BenchmarkWorkerTrace(b *testing.B) {
	const n = 200
	ledger := filepath.Join(b.TempDir(), "ledger")
	st := workermsg.NewState(modeltest.Version, []string{ledger}, nil)
	for _, trace := range []bool{false, true} {
		b.Run(fmt.Sprintf("trace=%v", trace), func(b *testing.B) {
			var per []time.Duration
			for b.Loop() {
				if err := os.Remove(ledger); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
				task := models.Task{Name: "nothing", N: n, Remote: modeltest.PipeWorkers(nil)("nothing", st)}
				rep, err := models.Processes{}.Run(context.Background(), task, models.Options{Workers: 1, Trace: trace})
				if err != nil || len(rep.Tasks) != n || rep.Traced != trace {
					b.Fatalf("got %d tasks, Traced %v, %v; want %d, Traced %v", len(rep.Tasks), rep.Traced, err, n, trace)
				}
				per = append(per, (rep.Tasks[n-1].Queued-rep.Tasks[0].Queued)/(n-1))
			}
			slices.Sort(per)
			b.ReportMetric(float64(per[len(per)/2]), "ns/task")
		})
	}
}
