package broker

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atonce/models/broker/natsserver"
)

// TestLostTasksRecovered plays the two ways a task can be left with no
// result and nothing on its way, which would keep a run waiting forever:
// its result lost after its ack was stored (a worker that died while the
// results stream changed leaders), and its last delivery's give-up not
// reaching the queue (the advisory is core NATS: a kernel reconnecting
// misses it). Once the queue has had no result for LostAfter and no task
// waits or is held, the first is published again and run by another
// worker, the second reported failed; each task has one result.
func TestLostTasksRecovered(t *testing.T) {
	const lostAfter = 2 * time.Second
	tests := []struct {
		name string
		opt  QueueOptions
		// first is how the first worker loses the task.
		first      []ConsumeOption
		missAdvice bool // the queue does not hear the server give up
		wantFailed bool
	}{
		{name: "result lost after the ack", opt: QueueOptions{LostAfter: lostAfter}, first: []ConsumeOption{withoutResult("lost")}},
		{name: "give-up not heard", opt: QueueOptions{LostAfter: lostAfter, MaxDeliver: 1, AckWait: time.Second}, first: []ConsumeOption{withoutResult("lost"), withoutAck("lost")}, missAdvice: true, wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, natsserver.Options{})
			kernel := connect(t, s.URL(), s.Token())
			q, results := newQueue(t, kernel, tt.opt)
			if tt.missAdvice {
				if err := q.adv.Unsubscribe(); err != nil {
					t.Fatal(err)
				}
			}
			var firstRan atomic.Int32
			first := startWorker(t, connect(t, s.URL(), s.Token()), q.Name(), "first", func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
				firstRan.Add(1)
				return p, nil
			}, tt.first...)
			publish(t, q, "lost")
			// The first worker has taken the task and let it go (acked
			// without its result, or not acked and never to be
			// delivered again) once the work queue holds no task
			// pending: then it stops, and a second worker comes.
			waitNothingPending(t, q, 10*time.Second)
			first.stop()
			if firstRan.Load() != 1 {
				t.Fatalf("the first worker ran the task %d times, want once", firstRan.Load())
			}
			startWorker(t, connect(t, s.URL(), s.Token()), q.Name(), "second", echo)
			r := collect(t, results, 1, lostAfter+resultsStall+15*time.Second)["lost"]
			if tt.wantFailed {
				if !strings.Contains(r.Failed, "no worker could finish this task in 1 attempts") {
					t.Errorf("the task's result %+v, want it failed after 1 attempt", r)
				}
			} else if r.Worker != "second" || r.Delivery != 1 || r.Err() != nil {
				t.Errorf("the task's result %+v, want the second worker's", r)
			}
			expectNoMore(t, results, lostAfter+resultsStall)
			if st := q.Stats(); st.Results != 1 || st.Duplicates != 0 {
				t.Errorf("stats %+v, want one result, no duplicate", st)
			}
		})
	}
}

// waitNothingPending waits until the queue's workers' consumer has no
// task waiting to be delivered and none delivered and not acked.
func waitNothingPending(t *testing.T, q *Queue, timeout time.Duration) {
	t.Helper()
	waitQueue(t, timeout, func() (bool, string) {
		cons, err := q.tasks.Consumer(t.Context(), ConsumerName)
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Consumer > 0,
			fmt.Sprintf("the queue still has %d tasks waiting and %d held", info.NumPending, info.NumAckPending)
	})
}
