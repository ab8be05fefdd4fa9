package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"atonce/models/broker/natsserver"
)

// testLogger logs to the test at debug level when ATONCE_TEST_DEBUG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ATONCE_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startServer(t testing.TB, opt natsserver.Options) *natsserver.Server {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = testLogger(t)
	}
	s, err := natsserver.Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, url, token string, opts ...ConnectOption) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l := testLogger(t); l != nil {
		opts = append(opts, WithLogger(l))
	}
	c, err := Connect(ctx, url, token, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func queueName(t testing.TB) string {
	n := nonName.ReplaceAllString(t.Name(), "_")
	if len(n) > 64 {
		n = n[len(n)-64:]
	}
	return n
}

func newQueue(t testing.TB, conn *Conn, opt QueueOptions) (*Queue, <-chan Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := NewQueue(ctx, conn, queueName(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Error(err)
		}
	})
	results, err := q.Results(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return q, results
}

// workerRun is a Consume running in a goroutine: done is closed when it
// returns, then err holds what it returned; stop ends it and waits.
type workerRun struct {
	done chan struct{}
	err  error
	stop func()
}

// startWorker runs Consume on conn until the test ends.
func startWorker(t testing.TB, conn *Conn, name, id string, h Handler, opts ...ConsumeOption) *workerRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &workerRun{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = Consume(ctx, conn, name, h, append([]ConsumeOption{WithWorkerID(id)}, opts...)...)
	}()
	w.stop = func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			t.Errorf("worker %s did not stop", id)
		}
	}
	t.Cleanup(w.stop)
	return w
}

func publish(t testing.TB, q *Queue, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range ids {
		if err := q.Publish(ctx, id, []byte("payload of "+id)); err != nil {
			t.Fatal(err)
		}
	}
}

// collect reads n results, failing on a second result for a task id.
func collect(t testing.TB, results <-chan Result, n int, timeout time.Duration) map[string]Result {
	t.Helper()
	got := make(map[string]Result)
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case r, ok := <-results:
			if !ok {
				t.Fatalf("the results channel closed after %d of %d results", len(got), n)
			}
			if _, dup := got[r.TaskID]; dup {
				t.Fatalf("task %s reported twice", r.TaskID)
			}
			got[r.TaskID] = r
		case <-deadline:
			t.Fatalf("only %d of %d results after %s: %v", len(got), n, timeout, got)
		}
	}
	return got
}

// expectNoMore fails if another result arrives within d.
func expectNoMore(t testing.TB, results <-chan Result, d time.Duration) {
	t.Helper()
	select {
	case r := <-results:
		t.Fatalf("unexpected extra result %+v", r)
	case <-time.After(d):
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func echo(ctx context.Context, taskID string, payload []byte, delivery int) ([]byte, error) {
	return bytes.ToUpper(payload), nil
}

func TestWrongToken(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	ctx := t.Context()
	for _, tok := range []string{"wrong", ""} {
		_, err := Connect(ctx, s.URL(), tok)
		if err == nil || !strings.Contains(err.Error(), "the NATS server refused the token") {
			t.Errorf("token %q: err = %v, want a refused token", tok, err)
		}
		if err != nil && strings.Contains(err.Error(), s.Token()) {
			t.Errorf("the error shows the real token: %v", err)
		}
	}
	// Nobody listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, err := Connect(ctx, "nats://secret@"+addr, "")
	if err == nil || !strings.Contains(err.Error(), "could not reach") || strings.Contains(err.Error(), "secret") {
		t.Errorf("no server: err = %v", err)
	}
}

func TestQueueRoundTrip(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	roundTrip(t, s.URL(), s.Token())
}

// roundTrip runs tasks through one worker and checks every result arrives
// exactly once, with the handler's errors and panics reported as the
// tasks' errors.
func roundTrip(t *testing.T, url, token string) {
	kernel := connect(t, url, token)
	q, results := newQueue(t, kernel, QueueOptions{})
	worker := connect(t, url, token)
	startWorker(t, worker, q.Name(), "w1", func(ctx context.Context, id string, p []byte, d int) ([]byte, error) {
		switch id {
		case "bad":
			return nil, errors.New("division by zero")
		case "panic":
			panic("boom")
		}
		return echo(ctx, id, p, d)
	})
	tasks := ids("t", 50)
	publish(t, q, tasks...)
	publish(t, q, "bad", "panic")
	publish(t, q, "t000") // a retried publish: de-duplicated by Nats-Msg-Id
	got := collect(t, results, len(tasks)+2, 10*time.Second)
	for _, id := range tasks {
		r := got[id]
		if want := "PAYLOAD OF " + strings.ToUpper(id); string(r.Payload) != want || r.Err() != nil {
			t.Errorf("task %s: %+v, want payload %q", id, r, want)
		}
		if r.Worker != "w1" || r.Delivery != 1 {
			t.Errorf("task %s: worker %q delivery %d", id, r.Worker, r.Delivery)
		}
	}
	if r := got["bad"]; r.Error != "division by zero" || r.Failed != "" || r.Payload != nil {
		t.Errorf("bad task: %+v", r)
	}
	if r := got["panic"]; !strings.Contains(r.Error, "panicked: boom") {
		t.Errorf("panicking task: %+v", r)
	}
	expectNoMore(t, results, 200*time.Millisecond)
	st := q.Stats()
	if st.Published != 52 || st.Results != 52 || st.Errors != 2 || st.Duplicates != 0 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	// Acked tasks leave the work queue.
	info, err := q.tasks.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("%d tasks left in the work queue", info.State.Msgs)
	}
}

func TestTwoWorkersShare(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	q, results := newQueue(t, kernel, QueueOptions{})
	var mu sync.Mutex
	inFlight := map[string]int{}
	for _, id := range []string{"a", "b"} {
		c := connect(t, s.URL(), s.Token())
		startWorker(t, c, q.Name(), id, func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
			mu.Lock()
			inFlight[id]++
			n := inFlight[id]
			mu.Unlock()
			defer func() { mu.Lock(); inFlight[id]--; mu.Unlock() }()
			if n > 1 {
				return nil, fmt.Errorf("worker %s runs %d tasks at once", id, n)
			}
			time.Sleep(10 * time.Millisecond)
			return p, nil
		})
	}
	publish(t, q, ids("t", 40)...)
	got := collect(t, results, 40, 10*time.Second)
	per := map[string]int{}
	for _, r := range got {
		if r.Err() != nil {
			t.Error(r.Err())
		}
		per[r.Worker]++
	}
	t.Logf("tasks per worker: %v", per)
	if per["a"] == 0 || per["b"] == 0 {
		t.Errorf("the work was not shared: %v", per)
	}
}

func TestKilledWorkerRedelivered(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	// The survivor's keep-alives (every AckWait/3) must beat AckWait on a
	// loaded machine: a second leaves them room to be late.
	const ackWait = time.Second
	q, results := newQueue(t, kernel, QueueOptions{AckWait: ackWait})
	var killed atomic.Value
	runs := map[string]*workerRun{}
	for _, id := range []string{"a", "b"} {
		c := connect(t, s.URL(), s.Token())
		runs[id] = startWorker(t, c, q.Name(), id, func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
			if task == "victim" && d == 1 {
				killed.Store(id)
				c.Close() // the worker dies before publishing a result
				return []byte("never seen"), nil
			}
			return p, nil
		})
	}
	start := time.Now()
	publish(t, q, "victim")
	r := collect(t, results, 1, 10*time.Second)["victim"]
	dead, _ := killed.Load().(string)
	if dead == "" {
		t.Fatal("no worker took the victim task first")
	}
	if r.Delivery != 2 || r.Worker == dead || string(r.Payload) != "payload of victim" {
		t.Errorf("victim result %+v; worker %s died with it", r, dead)
	}
	if el := time.Since(start); el < ackWait*3/4 { // the server's ack timer is not exact
		t.Errorf("redelivered after %s, before AckWait %s", el, ackWait)
	}
	select {
	case <-runs[dead].done:
		if err := runs[dead].err; err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("the dead worker's Consume returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the dead worker's Consume did not return")
	}
	// More work still flows through the survivor.
	publish(t, q, "after")
	collect(t, results, 1, 5*time.Second)
	expectNoMore(t, results, 2*ackWait)
	if st := q.Stats(); st.Duplicates != 0 || st.Results != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestKilledWorkerHoldingBatch kills a worker, which takes two tasks at
// a time, while it holds its second batch: the one it runs and one it
// has not started. Every task's result arrives exactly once: the first
// batch's from the dying worker (they are not run again: their results
// were stored, and their acks went to the server ahead of the next
// fetch), the two it held from the next worker.
func TestKilledWorkerHoldingBatch(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	const ackWait = time.Second
	q, results := newQueue(t, kernel, QueueOptions{AckWait: ackWait})
	tasks := ids("t", 10)
	// The tasks are queued before the worker starts, so that its
	// fetches take them two by two.
	publish(t, q, tasks...)
	c := connect(t, s.URL(), s.Token())
	var ran []string
	dying := startWorker(t, c, q.Name(), "dying", func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
		ran = append(ran, task)
		if len(ran) == 3 {
			c.Close() // the worker dies holding the rest of its batch
			return []byte("never seen"), nil
		}
		return p, nil
	}, withFixedBatch(2))
	select {
	case <-dying.done:
		if err := dying.err; err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("the dead worker's Consume returned %v, want a closed connection", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dying worker's Consume did not return")
	}
	if want := tasks[:3]; !slices.Equal(ran, want) {
		t.Fatalf("the dying worker ran %v, want %v", ran, want)
	}
	startWorker(t, connect(t, s.URL(), s.Token()), q.Name(), "survivor", echo)
	got := collect(t, results, len(tasks), 10*time.Second)
	for _, id := range tasks {
		r := got[id]
		if err := r.Err(); err != nil {
			t.Errorf("task %s: %v", id, err)
			continue
		}
		switch id {
		case tasks[0], tasks[1]: // the first batch, finished
			if r.Worker != "dying" || r.Delivery != 1 || string(r.Payload) != "payload of "+id {
				t.Errorf("task %s: worker %s, delivery %d, payload %q; want the dying worker's, delivery 1", id, r.Worker, r.Delivery, r.Payload)
			}
		case tasks[2], tasks[3]: // the second batch, held without a result
			if r.Worker != "survivor" || r.Delivery != 2 {
				t.Errorf("task %s: worker %s, delivery %d; want the survivor, delivery 2", id, r.Worker, r.Delivery)
			}
		default: // never taken by the dying worker
			if r.Worker != "survivor" || r.Delivery != 1 {
				t.Errorf("task %s: worker %s, delivery %d; want the survivor, delivery 1", id, r.Worker, r.Delivery)
			}
		}
	}
	expectNoMore(t, results, 2*ackWait)
	if st := q.Stats(); st.Results != len(tasks) {
		t.Errorf("stats %+v, want %d results", st, len(tasks))
	}
}

// TestRefusedResult has the server refuse a task's result (larger than
// the results stream takes): the task is acked already, so an error
// result saying why takes its place, once, and the task is not run again.
func TestRefusedResult(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	q, results := newQueue(t, kernel, QueueOptions{AckWait: time.Second})
	ctx := t.Context()
	st, err := kernel.JetStream().Stream(ctx, ResultsStream(q.Name()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxMsgSize = 1024
	if _, err := kernel.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	startWorker(t, connect(t, s.URL(), s.Token()), q.Name(), "w", func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
		runs.Add(1)
		if task == "big" {
			return bytes.Repeat([]byte("x"), 4096), nil
		}
		return p, nil
	})
	publish(t, q, "big", "small")
	got := collect(t, results, 2, 10*time.Second)
	if r := got["big"]; r.Error == "" || !strings.Contains(r.Error, "refused the task's result") || r.Delivery != 1 {
		t.Errorf("the big task's result: Error %q, Delivery %d; want the server's refusal, delivery 1", r.Error, r.Delivery)
	}
	if r := got["small"]; r.Err() != nil || string(r.Payload) != "payload of small" {
		t.Errorf("the small task's result %+v, want its payload", r)
	}
	expectNoMore(t, results, 2*time.Second)
	if n := runs.Load(); n != 2 {
		t.Errorf("the handler ran %d times, want 2 (no task run again)", n)
	}
}

// TestPoisonTask runs a task that kills every worker that takes it, among
// tasks that succeed; workers are restarted as they die, like a
// supervisor would.
func TestPoisonTask(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	poison(t, s.URL(), s.Token())
}

func poison(t *testing.T, url, token string) {
	kernel := connect(t, url, token)
	// Each of the poison task's deliveries waits out AckWait, while the
	// other tasks' keep-alives (every AckWait/3) must beat it on a loaded
	// machine: a second leaves them room to be late.
	const ackWait = time.Second
	q, results := newQueue(t, kernel, QueueOptions{AckWait: ackWait, MaxDeliver: 3})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var deaths atomic.Int32
	t.Cleanup(func() { cancel(); wg.Wait() })
	for slot := range 2 {
		wg.Go(func() {
			for gen := 0; ctx.Err() == nil; gen++ {
				c, err := Connect(ctx, url, token, WithLogger(testLogger(t)))
				if err != nil {
					return
				}
				id := fmt.Sprintf("w%d.%d", slot, gen)
				err = Consume(ctx, c, q.Name(), func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
					if task == "poison" {
						deaths.Add(1)
						c.Close()
						return nil, nil
					}
					time.Sleep(5 * time.Millisecond)
					return p, nil
				}, WithWorkerID(id))
				c.Close()
				if err == nil {
					return
				}
			}
		})
	}
	tasks := ids("t", 20)
	publish(t, q, tasks[:10]...)
	publish(t, q, "poison")
	publish(t, q, tasks[10:]...)
	got := collect(t, results, 21, 15*time.Second)
	for _, id := range tasks {
		if r := got[id]; r.Err() != nil || string(r.Payload) != "payload of "+id {
			t.Errorf("task %s: %+v", id, r)
		}
	}
	p := got["poison"]
	want := "no worker could finish this task in 3 attempts (each worker that took it died or timed out)"
	if p.Failed != want || p.Delivery != 3 || p.Payload != nil {
		t.Errorf("poison result %+v, want Failed %q", p, want)
	}
	if n := deaths.Load(); n != 3 {
		t.Errorf("the poison task killed %d workers, want 3", n)
	}
	t.Logf("poison: %v", p.Err())
	st := q.Stats()
	if st.Failed != 1 || st.Results != 21 || st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
	info, err := q.tasks.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("%d tasks left in the work queue after the poison task failed", info.State.Msgs)
	}
}

func TestKeepAlive(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	// Tasks run three AckWaits, kept alive every AckWait/3: a keep-alive
	// late by up to two thirds of AckWait must not count as a dead worker,
	// so AckWait is long enough for a loaded machine's late ones.
	const ackWait = time.Second
	q, results := newQueue(t, kernel, QueueOptions{AckWait: ackWait})
	var deliveries atomic.Int32
	for _, id := range []string{"a", "b"} {
		c := connect(t, s.URL(), s.Token())
		startWorker(t, c, q.Name(), id, func(ctx context.Context, task string, p []byte, d int) ([]byte, error) {
			deliveries.Add(1)
			time.Sleep(3 * ackWait)
			return p, nil
		})
	}
	publish(t, q, "long1", "long2")
	got := collect(t, results, 2, 10*time.Second)
	for id, r := range got {
		if r.Delivery != 1 || r.Err() != nil {
			t.Errorf("task %s: %+v", id, r)
		}
	}
	expectNoMore(t, results, 2*ackWait)
	if n := deliveries.Load(); n != 2 {
		t.Errorf("2 long tasks were delivered %d times", n)
	}
	if st := q.Stats(); st.Duplicates != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestWorkerOutlivesQueues starts a worker before its queue exists and
// keeps it across two runs of the same queue name.
func TestWorkerOutlivesQueues(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	worker := connect(t, s.URL(), s.Token())
	name := queueName(t)
	startWorker(t, worker, name, "w", echo)
	time.Sleep(300 * time.Millisecond) // the worker is waiting for the queue
	for run := range 2 {
		ctx := t.Context()
		q, err := NewQueue(ctx, kernel, name, QueueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		results, err := q.Results(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Results(ctx); err == nil {
			t.Error("Results could be called twice")
		}
		publish(t, q, ids(fmt.Sprint("r", run, "-"), 5)...)
		collect(t, results, 5, 15*time.Second)
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if _, ok := <-results; ok {
			t.Error("the results channel is open after Close")
		}
	}
	if _, err := kernel.JetStream().Stream(t.Context(), TasksStream(name)); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the tasks stream survived Close: %v", err)
	}
}

func TestConsumeStopsOnCancel(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	q, results := newQueue(t, kernel, QueueOptions{AckWait: 5 * time.Second})
	worker := connect(t, s.URL(), s.Token())
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Consume(ctx, worker, q.Name(), func(hctx context.Context, id string, p []byte, d int) ([]byte, error) {
			if d == 1 {
				close(started)
				<-hctx.Done()
				return nil, hctx.Err()
			}
			return p, nil
		}, WithWorkerID("quitter"))
	}()
	publish(t, q, "x")
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Consume returned %v after cancel, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Consume did not stop")
	}
	// The task was handed back at once (no 5 s AckWait) to the next worker.
	startWorker(t, worker, q.Name(), "next", echo)
	r := collect(t, results, 1, 2*time.Second)["x"]
	if r.Worker != "next" || r.Delivery != 2 {
		t.Errorf("result %+v", r)
	}
}

func TestState(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	a := connect(t, s.URL(), s.Token())
	b := connect(t, s.URL(), s.Token())
	ctx := t.Context()
	if _, err := GetState(ctx, b, "q", "nothing"); !errors.Is(err, ErrStateNotFound) {
		t.Errorf("missing state before any put: %v", err)
	}
	small := []byte("package main\n\nvar x = 1\n")
	large := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MB
	for key, data := range map[string][]byte{"sha256.abc123": small, "big": large} {
		if err := PutState(ctx, a, "q", key, data); err != nil {
			t.Fatal(err)
		}
		got, err := GetState(ctx, b, "q", key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("state %s: got %d bytes, want %d", key, len(got), len(data))
		}
	}
	if _, err := GetState(ctx, b, "q", "missing"); !errors.Is(err, ErrStateNotFound) {
		t.Errorf("missing state: %v", err)
	}
	// Each queue (each kernel's) has buckets of its own.
	for _, key := range []string{"sha256.abc123", "big"} {
		if _, err := GetState(ctx, b, "other", key); !errors.Is(err, ErrStateNotFound) {
			t.Errorf("queue q's state %s through queue other: got %v, want ErrStateNotFound", key, err)
		}
	}
	if err := PutState(ctx, a, "other", "sha256.abc123", []byte("other's")); err != nil {
		t.Fatal(err)
	}
	for queue, want := range map[string]string{"q": string(small), "other": "other's"} {
		if got, err := GetState(ctx, b, queue, "sha256.abc123"); err != nil || string(got) != want {
			t.Errorf("queue %s's state: got %q, %v; want %q", queue, got, err, want)
		}
	}
	if _, err := GetState(ctx, b, "no spaces", "k"); err == nil {
		t.Error("a bad queue name was accepted")
	}
	if err := PutState(ctx, a, "q", "no spaces", small); err == nil {
		t.Error("a bad key was accepted")
	}
	err := PutState(ctx, a, "q", "huge", make([]byte, MaxStateSize+1))
	if err == nil || !strings.Contains(err.Error(), "at most 64 MB") {
		t.Errorf("too large state: %v", err)
	}
}

func TestListWorkers(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	kernel := connect(t, s.URL(), s.Token())
	ctx := t.Context()
	hellos, err := WatchWorkers(ctx, kernel)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w1", "w2"} {
		c := connect(t, s.URL(), s.Token())
		info := NewWorkerInfo("v1.0")
		info.ID = id
		if err := ServeWorkerInfo(ctx, c, info); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case w := <-hellos:
			if w.Version != "v1.0" || w.PID != os.Getpid() || w.CPUs < 1 || w.GOOS != runtime.GOOS || w.GOARCH != runtime.GOARCH {
				t.Errorf("hello %+v, want version v1.0, pid %d, CPUs, platform %s/%s", w, os.Getpid(), runtime.GOOS, runtime.GOARCH)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("no hello")
		}
	}
	start := time.Now()
	ws, err := ListWorkers(ctx, kernel, 0)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("ListWorkers took %s", el)
	}
	if len(ws) != 2 || ws[0].ID != "w1" || ws[1].ID != "w2" || ws[0].VersionMismatch {
		t.Errorf("workers %+v", ws)
	}
	ws, err = PingWorkers(ctx, kernel, "v2.0", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || !ws[0].VersionMismatch || ws[0].KernelVersion != "v2.0" {
		t.Errorf("workers pinged by another version %+v", ws)
	}
}

func TestTLS(t *testing.T) {
	cert, key, err := natsserver.WriteSelfSignedCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{cert, key} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("%s mode got %v, want %v", filepath.Base(f), got, want)
		}
	}
	s := startServer(t, natsserver.Options{TLSCert: cert, TLSKey: key})
	if !s.TLS() || !strings.HasPrefix(s.URL(), "tls://127.0.0.1:") || len(s.TLSFingerprint()) != 64 {
		t.Fatalf("TLS server: url %s fingerprint %q", s.URL(), s.TLSFingerprint())
	}
	ctx := t.Context()
	// Pinned by fingerprint.
	c := connect(t, s.URL(), s.Token(), WithTLSFingerprint(s.TLSFingerprint()))
	q, results := newQueue(t, c, QueueOptions{})
	startWorker(t, connect(t, s.ClientURL(), "", WithCACertPEM(s.TLSCertPEM())), q.Name(), "w", echo)
	publish(t, q, "x")
	collect(t, results, 1, 5*time.Second)
	// Not trusted, or pinned to another certificate.
	if _, err := Connect(ctx, s.URL(), s.Token()); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if _, err := Connect(ctx, s.URL(), s.Token(), WithTLSFingerprint(strings.Repeat("ab", 32))); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Errorf("wrong fingerprint: %v", err)
	}
	plain := strings.Replace(s.URL(), "tls://", "nats://", 1)
	if _, err := Connect(ctx, plain, s.Token()); err == nil {
		t.Error("a plain connection to a TLS server succeeded")
	} else {
		t.Logf("plain connection: %v", err)
	}
}

// TestExternalServer runs the queue round trip through Debian's
// nats-server binary instead of the embedded server.
func TestExternalServer(t *testing.T) {
	bin, port := natsServerBin(t), freePort(t)
	token, err := natsserver.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--auth", token, "-sd", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("nats-server output:\n%s", out.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("nats-server exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server is not listening on %s:\n%s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	url := "nats://" + addr
	if _, err := Connect(t.Context(), url, "wrong"); err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Errorf("wrong token: %v", err)
	}
	c := connect(t, url, token)
	t.Logf("external nats-server %s", c.NATS().ConnectedServerVersion())
	t.Run("RoundTrip", func(t *testing.T) { roundTrip(t, url, token) })
	t.Run("Poison", func(t *testing.T) { poison(t, url, token) })
	t.Run("LostAck", func(t *testing.T) { lostAck(t, url, token) })
	if err := PutState(t.Context(), c, "q", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := GetState(t.Context(), connect(t, url, token), "q", "k"); err != nil || string(v) != "v" {
		t.Errorf("state through the external server: %q, %v", v, err)
	}
}

func TestReleaseKeepsWorkersAttached(t *testing.T) {
	srv := startServer(t, natsserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kernel := connect(t, srv.URL(), srv.Token())
	worker := connect(t, srv.URL(), srv.Token())
	go Consume(ctx, worker, "keep", func(ctx context.Context, id string, p []byte, d int) ([]byte, error) { return p, nil })
	for run := 0; run < 3; run++ {
		q, err := NewQueue(ctx, kernel, "keep", QueueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		results, err := q.Results(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Publish(ctx, fmt.Sprintf("r%d", run), []byte("x")); err != nil {
			t.Fatal(err)
		}
		r := <-results
		if r.TaskID != fmt.Sprintf("r%d", run) || string(r.Payload) != "x" {
			t.Fatalf("run %d: result %+v", run, r)
		}
		if err := q.Release(); err != nil {
			t.Fatal(err)
		}
		if _, err := kernel.JetStream().Stream(ctx, TasksStream("keep")); err != nil {
			t.Fatalf("run %d: Release deleted the task stream: %v", run, err)
		}
	}
}

// TestWorkerRejoinsRestartedServer stops a server under a connected worker
// and starts another on the same address with the same token (and
// certificate): the worker gets back by itself, announces itself again,
// and takes the new server's tasks once the queue is created there again
// (the new server starts without the old one's in-memory streams).
func TestWorkerRejoinsRestartedServer(t *testing.T) {
	for _, tt := range []struct {
		name string
		tls  bool
	}{
		{"plain", false},
		{"tls", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := natsserver.Options{Listen: "127.0.0.1:0", StoreDir: filepath.Join(t.TempDir(), "nats")}
			var copts []ConnectOption
			if tt.tls {
				var err error
				if opt.TLSCert, opt.TLSKey, err = natsserver.WriteSelfSignedCert(t.TempDir()); err != nil {
					t.Fatal(err)
				}
			}
			first := startServer(t, opt)
			if tt.tls {
				copts = append(copts, WithTLSFingerprint(first.TLSFingerprint()))
			}
			worker := connect(t, first.URL(), first.Token(), copts...)
			info := NewWorkerInfo("v1")
			info.ID = "survivor"
			ctx := t.Context()
			if err := ServeWorkerInfo(ctx, worker, info); err != nil {
				t.Fatal(err)
			}
			name := queueName(t)
			startWorker(t, worker, name, info.ID, echo)

			roundTrip := func(s *natsserver.Server, run string) {
				t.Helper()
				kernel := connect(t, s.URL(), s.Token(), copts...)
				// The worker's state handles, made on the first server,
				// serve on the second.
				if err := PutState(ctx, kernel, "q", "state-"+run, []byte(run)); err != nil {
					t.Fatal(err)
				}
				if got, err := GetState(ctx, worker, "q", "state-"+run); err != nil || string(got) != run {
					t.Errorf("GetState got %q, %v; want %q", got, err, run)
				}
				q, err := NewQueue(ctx, kernel, name, QueueOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer q.Release()
				results, err := q.Results(ctx)
				if err != nil {
					t.Fatal(err)
				}
				publish(t, q, ids(run, 3)...)
				for id, r := range collect(t, results, 3, 15*time.Second) {
					if r.Worker != info.ID || r.Err() != nil {
						t.Errorf("%s: result %+v, want one from %s", id, r, info.ID)
					}
				}
			}
			roundTrip(first, "before-")

			// The same server again, as a restarted engine starts it.
			first.Shutdown()
			opt.Listen = fmt.Sprintf("127.0.0.1:%d", first.Port())
			opt.Token = first.Token()
			second := startServer(t, opt)
			if second.TLSFingerprint() != first.TLSFingerprint() {
				t.Fatalf("fingerprint got %s, want %s", second.TLSFingerprint(), first.TLSFingerprint())
			}
			kernel := connect(t, second.URL(), second.Token(), copts...)
			hellos, err := WatchWorkers(ctx, kernel)
			if err != nil {
				t.Fatal(err)
			}
			select {
			case w := <-hellos:
				if w.ID != info.ID {
					t.Errorf("hello from %s, want %s", w.ID, info.ID)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the worker did not announce itself to the restarted server")
			}
			roundTrip(second, "after-")
		})
	}
}

func TestSplitToken(t *testing.T) {
	for _, tt := range []struct {
		url, token         string
		wantURL, wantToken string
	}{
		{"nats://s3cret@10.0.0.1:4222", "", "nats://10.0.0.1:4222", "s3cret"},
		{"nats://s3cret@10.0.0.1:4222", "given", "nats://10.0.0.1:4222", "given"},
		{"nats://10.0.0.1:4222", "given", "nats://10.0.0.1:4222", "given"},
		{"tls://s3cret@host:4222", "", "tls://host:4222", "s3cret"},
		{"nats://user:pw@host:4222", "", "nats://user:pw@host:4222", ""},
		{"nats://a@h1:4222,nats://a@h2:4222", "", "nats://h1:4222,nats://h2:4222", "a"},
		{"nats://a@h1:4222, nats://h2:4222,nats://h3:4222", "", "nats://h1:4222,nats://h2:4222,nats://h3:4222", "a"},
		{"nats://h1:4222,nats://a@h2:4222", "given", "nats://h1:4222,nats://h2:4222", "given"},
		{"nats://a@h1:4222,nats://u:pw@h2:4222", "", "nats://a@h1:4222,nats://u:pw@h2:4222", ""},
	} {
		t.Run(tt.url, func(t *testing.T) {
			u, tok := SplitToken(tt.url, tt.token)
			if u != tt.wantURL || tok != tt.wantToken {
				t.Errorf("SplitToken(%q, %q) = %q, %q; want %q, %q", tt.url, tt.token, u, tok, tt.wantURL, tt.wantToken)
			}
		})
	}
}
