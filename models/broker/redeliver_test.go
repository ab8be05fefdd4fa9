package broker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/models/broker/natsserver"
)

// TestTaskResultSubject checks each task's result subject: the id when
// it is a safe subject suffix, else "x" and its hex, which reads back as
// the id, and no two ids share a subject (an id that looks like an
// encoded one is encoded too).
func TestTaskResultSubject(t *testing.T) {
	tests := []struct {
		id, want string
	}{
		{"t1", "atonce.q.results.t1"},
		{"0b6f1c2e-8d4a-4c1b-9f7e-2a6d3c5b7e90.17", "atonce.q.results.0b6f1c2e-8d4a-4c1b-9f7e-2a6d3c5b7e90.17"},
		{"A_b-9", "atonce.q.results.A_b-9"},
		{"X1", "atonce.q.results.X1"},
		{" ", "atonce.q.results.x20"},
		{"x20", "atonce.q.results.x783230"},
		{"x", "atonce.q.results.x78"},
		{"a b", "atonce.q.results.x612062"},
		{"a..b", "atonce.q.results.x612e2e62"},
		{".a", "atonce.q.results.x2e61"},
		{"a.", "atonce.q.results.x612e"},
		{"*", "atonce.q.results.x2a"},
		{">", "atonce.q.results.x3e"},
		{"é", "atonce.q.results.xc3a9"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := TaskResultSubject("q", tt.id)
		if got != tt.want {
			t.Errorf("TaskResultSubject(q, %q) got %q, want %q", tt.id, got, tt.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("tasks %q and %q share the subject %q", other, tt.id, got)
		}
		seen[got] = tt.id
		token := strings.TrimPrefix(got, "atonce.q.results.")
		back := token
		if strings.HasPrefix(token, "x") {
			b, err := hex.DecodeString(token[1:])
			if err != nil {
				t.Errorf("task %q: the token %q is not x and hex: %v", tt.id, token, err)
			}
			back = string(b)
		}
		if back != tt.id {
			t.Errorf("task %q: its token %q reads back as %q", tt.id, token, back)
		}
	}
	if got, want := ResultsSubject("q"), "atonce.q.results.>"; got != want {
		t.Errorf("ResultsSubject(q) got %q, want %q", got, want)
	}
}

// TestTaskIDTooLong checks that a task id whose result subject would not
// fit in a NATS client's line is refused with a clear error.
func TestTaskIDTooLong(t *testing.T) {
	q := &Queue{name: "q", maxPayload: 1 << 20}
	tests := []struct {
		id      string
		wantErr string
	}{
		{strings.Repeat("a", maxTaskID), ""},
		{strings.Repeat(" ", maxTaskID), ""},
		{strings.Repeat("a", maxTaskID+1), "task ids are at most 512 bytes"},
	}
	for _, tt := range tests {
		_, err := q.taskMsg(tt.id, nil)
		if got := errString(err); !strings.Contains(got, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
			t.Errorf("an id of %d bytes: got error %q, want %q", len(tt.id), got, tt.wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestLostAckNotRunAgain has a worker store a task's result but never
// ack the task, as if its ack was lost when it died: after AckWait the
// task goes to a second worker, which finds the result stored and acks
// the task without running it; the kernel has the first worker's result,
// once. When the stored result is gone from the stream (the lookup finds
// nothing), the second worker runs the task, and the kernel still counts
// its result once.
func TestLostAckNotRunAgain(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	lostAck(t, s.URL(), s.Token())
}

// lostAck is TestLostAckNotRunAgain on the server at url (also an
// external one: see TestExternalServer).
func lostAck(t *testing.T, url, token string) {
	tests := []struct {
		name string
		id   string
		fail bool // the first worker's handler returns an error
		// dropResult deletes the stored result before the task comes
		// back, so the second worker runs it.
		dropResult bool
	}{
		{name: "ok result", id: "t1"},
		{name: "error result", id: "bad", fail: true},
		{name: "id not a subject token", id: "task 7 > *.x"},
		{name: "result gone from the stream", id: "t2", dropResult: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kernel := connect(t, url, token)
			const ackWait = time.Second
			q, results := newQueue(t, kernel, QueueOptions{AckWait: ackWait})
			first := startWorker(t, connect(t, url, token), q.Name(), "first", func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
				if tt.fail {
					return nil, errors.New("division by zero")
				}
				return p, nil
			}, withoutAck(tt.id))
			publish(t, q, tt.id)
			r := collect(t, results, 1, 10*time.Second)[tt.id]
			if r.Worker != "first" || r.Delivery != 1 {
				t.Fatalf("the result came from worker %q, delivery %d; want the first worker's, delivery 1", r.Worker, r.Delivery)
			}
			if wantErr := map[bool]string{true: "division by zero"}[tt.fail]; r.Error != wantErr {
				t.Errorf("the result's error got %q, want %q", r.Error, wantErr)
			}
			// The first worker stops holding nothing: the task, never
			// acked, is not handed back but waits out AckWait.
			first.stop()

			ctx := t.Context()
			stream, err := kernel.JetStream().Stream(ctx, ResultsStream(q.Name()))
			if err != nil {
				t.Fatal(err)
			}
			stored, err := stream.GetLastMsgForSubject(ctx, TaskResultSubject(q.Name(), tt.id))
			if err != nil {
				t.Fatalf("the task's result is not on its subject %s: %v", TaskResultSubject(q.Name(), tt.id), err)
			}
			if tt.dropResult {
				if err := stream.DeleteMsg(ctx, stored.Sequence); err != nil {
					t.Fatal(err)
				}
			}

			var mu sync.Mutex
			var ran []string
			startWorker(t, connect(t, url, token), q.Name(), "second", func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
				mu.Lock()
				ran = append(ran, fmt.Sprintf("%s delivery %d", task, d))
				mu.Unlock()
				return p, nil
			})
			// The task is redelivered after AckWait, to the second worker,
			// the only one left: the work queue is empty once it acked it.
			waitTasksDone(t, q, 3*ackWait+5*time.Second)
			// A task published now reaches the results stream after
			// anything the second worker did for the first task, and the
			// queue reads the stream in order: once its result is in,
			// nothing of the first task is still on its way.
			publish(t, q, "after")
			if after := collect(t, results, 1, 10*time.Second)["after"]; after.Worker != "second" {
				t.Errorf("the task published last came from worker %q, want the second", after.Worker)
			}
			mu.Lock()
			got := strings.Join(ran, ", ")
			mu.Unlock()
			want := "after delivery 1"
			if tt.dropResult {
				want = tt.id + " delivery 2, " + want
			}
			if got != want {
				t.Errorf("the second worker ran %q, want %q", got, want)
			}
			if st := q.Stats(); st.Results != 2 || st.Duplicates != 0 || st.Failed != 0 {
				t.Errorf("stats %+v, want 2 results, no duplicate, none failed", st)
			}
		})
	}
}

// waitTasksDone waits until the queue's work queue holds no task: every
// task acked.
func waitTasksDone(t *testing.T, q *Queue, timeout time.Duration) {
	t.Helper()
	waitQueue(t, timeout, func() (bool, string) {
		info, err := q.tasks.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs == 0, fmt.Sprintf("%d tasks still in the work queue", info.State.Msgs)
	})
}

// waitQueue polls done until it says yes, failing the test with what it
// said last once timeout has passed.
func waitQueue(t *testing.T, timeout time.Duration, done func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after %s", state, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
