package broker

import (
	"log/slog"
	"testing"
)

// TestDeliverCountsEachResultOnce feeds a queue's bookkeeping what a
// cluster changing leaders brings: the same stored result read twice, a
// second result stored for a task, and a give-up for a task whose result
// is in.
func TestDeliverCountsEachResultOnce(t *testing.T) {
	ok := Result{TaskID: "t1", Payload: []byte("p"), Delivery: 1, Worker: "a"}
	again := Result{TaskID: "t1", Payload: []byte("p"), Delivery: 2, Worker: "b"}
	gaveUp := Result{TaskID: "t1", Delivery: 3, Failed: "no worker could finish this task"}
	tests := []struct {
		name    string
		deliver func(q *Queue)
		want    QueueStats
		pending int
	}{
		{"one result", func(q *Queue) { q.deliver(ok, 1) },
			QueueStats{Results: 1}, 1},
		{"the same message read again", func(q *Queue) { q.deliver(ok, 1); q.deliver(ok, 1) },
			QueueStats{Results: 1}, 1},
		{"a second result stored", func(q *Queue) { q.deliver(ok, 1); q.deliver(again, 2) },
			QueueStats{Results: 1, Duplicates: 1}, 1},
		{"a give-up after the result", func(q *Queue) { q.deliver(ok, 1); q.deliver(gaveUp, 0) },
			QueueStats{Results: 1}, 1},
		{"a give-up before a result", func(q *Queue) { q.deliver(gaveUp, 0); q.deliver(ok, 1) },
			QueueStats{Results: 1, Failed: 1, Duplicates: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &Queue{log: slog.New(slog.DiscardHandler), seqTask: map[uint64]string{}, taskSeq: map[string]uint64{},
				seen: map[string]bool{}, readSeq: map[string]uint64{}, notify: make(chan struct{}, 1)}
			tt.deliver(q)
			if got := q.Stats(); got != tt.want {
				t.Errorf("stats got %+v, want %+v", got, tt.want)
			}
			if got := len(q.pending); got != tt.pending {
				t.Errorf("results to report got %d, want %d", got, tt.pending)
			}
		})
	}
}
