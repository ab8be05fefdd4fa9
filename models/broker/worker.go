package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler runs one task on a worker: taskID and payload as published,
// delivery the attempt (1 the first time, more after redeliveries). What
// it returns goes back to the kernel as the task's result; a returned
// error is the task's own failure and is reported, not retried. ctx is
// done when the worker stops.
type Handler func(ctx context.Context, taskID string, payload []byte, delivery int) ([]byte, error)

// ConsumeOption configures [Consume].
type ConsumeOption func(*consumeConfig)

type consumeConfig struct {
	worker   string
	maxBatch int
	// fixedBatch, when above 0, is the size of every fetch instead of
	// one judged from the tasks' times: tests take batches they can
	// count on.
	fixedBatch int
	// noAck names tasks whose acks are never sent: tests play a worker
	// whose ack is lost after its result was stored.
	noAck map[string]bool
	// noResult names tasks acked without their result: tests play a
	// result lost on its way (its worker died while the results stream
	// changed leaders) after its ack was stored.
	noResult map[string]bool
}

// WithWorkerID sets the worker id results carry ([Result.Worker]); the
// default is [DefaultWorkerID].
func WithWorkerID(id string) ConsumeOption {
	return func(c *consumeConfig) { c.worker = id }
}

// WithMaxBatch bounds how many tasks a worker takes from the queue at
// once (see [Consume]); the default is [DefaultMaxBatch], and 1 takes
// one task at a time.
func WithMaxBatch(n int) ConsumeOption {
	return func(c *consumeConfig) { c.maxBatch = n }
}

// DefaultMaxBatch is how many tasks a worker takes at once at most: short
// tasks come in batches, so that the trips to the server are shared
// among them.
const DefaultMaxBatch = 32

// batchBudget is about how much work a worker takes at once beyond the
// task it is about to run, judged by how long its recent tasks took: a
// batch of short tasks shares one trip to the server, while tasks of a
// few milliseconds or more come one at a time and stay in the queue for
// whichever worker is free first.
const batchBudget = 2 * time.Millisecond

// DefaultWorkerID names this process: "HOST-PID".
func DefaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Consume is a worker's loop: it takes the tasks of queue name and runs
// handle on each, one at a time. Short tasks are taken in batches (up to
// [DefaultMaxBatch], about [batchBudget] of work judged by the worker's
// recent tasks, starting from one task again whenever the queue ran
// dry), so that one trip to the server fetches many; longer ones one at
// a time. While it holds tasks (the one running and those of its batch
// not started yet) it tells the server they are in progress every
// AckWait/3, so they are not handed to another worker. When handle
// returns, the result is published on the task's own subject
// ([TaskResultSubject]) and the task acked behind it on the same
// connection, and the next task starts as soon as both are written out,
// without waiting for the server to answer either.
//
// A task given to a worker again (its delivery above 1) is first looked
// up in the results stream: if its result is stored there, the task
// finished already (its worker died or stalled after the result left,
// before the server had the ack), and Consume acks it without running
// it. So every task's result reaches the kernel once; a task whose
// result the server stored never runs again (unless that lookup fails
// otherwise than by finding nothing: then it runs, and its second result
// is dropped); and a task whose worker died before its result left it
// (the one running, those of its batch not started) runs again on
// another worker after AckWait. See the package's "Delivery guarantees".
//
// If the queue does not exist yet, or is deleted and created again
// between runs, Consume waits for it; the same when the server went away
// and came back (a kernel's engine restarted after a crash) without the
// queue, which the kernel creates there again. Consume returns nil when
// ctx is done (the task running then and the batch's tasks not started
// are handed back to the queue at once), and an error when the
// connection is closed.
func Consume(ctx context.Context, conn *Conn, name string, handle Handler, opts ...ConsumeOption) error {
	if err := checkName(name); err != nil {
		return err
	}
	cfg := consumeConfig{maxBatch: DefaultMaxBatch}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.worker == "" {
		cfg.worker = DefaultWorkerID()
	}
	cfg.maxBatch = max(cfg.maxBatch, 1)
	w := &worker{conn: conn, name: name, id: cfg.worker, handle: handle,
		log:   conn.log.With("queue", name, "worker", cfg.worker),
		noAck: cfg.noAck, noResult: cfg.noResult,
		held: map[jetstream.Msg]*heldTask{}, wake: make(chan struct{}, 1),
		results: make(chan pendingResult, 2*cfg.maxBatch), stopping: make(chan struct{})}

	// The keep-alives and the check of the results' answers run beside
	// the loop, which stops them and waits for them when it returns; what
	// is still held then goes back to the queue.
	var bg sync.WaitGroup
	kctx, stopKeepAlives := context.WithCancel(context.Background())
	bg.Go(func() { w.keepAlives(kctx) })
	bg.Go(func() {
		for p := range w.results {
			w.settle(p)
		}
	})
	defer func() {
		close(w.stopping)
		close(w.results)
		stopKeepAlives()
		bg.Wait()
		w.handBack(w.heldTasks())
	}()

	// A request waiting when the connection gets back to a server (that
	// restarted) waits for an answer the new server will never give (a
	// pull request it never heard of, a lookup sent before it had the
	// queue): stop it, so the worker takes the new server's tasks at once.
	var opMu sync.Mutex
	stopOp := context.CancelFunc(func() {})
	forget := conn.hooks.add(func() {
		opMu.Lock()
		defer opMu.Unlock()
		stopOp()
	})
	defer forget()
	// op bounds one request to the server: 5 s, or until a reconnect.
	op := func() (context.Context, context.CancelFunc) {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		opMu.Lock()
		stopOp = cancel
		opMu.Unlock()
		return octx, cancel
	}

	var cons jetstream.Consumer
	waiting := false
	batch := 1
	if cfg.fixedBatch > 0 {
		batch = cfg.fixedBatch
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		if cons == nil {
			octx, cancel := op()
			c, err := conn.js.Consumer(octx, TasksStream(name), ConsumerName)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if cerr := conn.closedError(err); cerr != nil {
					return cerr
				}
				if !waiting {
					w.log.Debug("waiting for the queue to exist", "err", err)
					waiting = true
				}
				sleep(ctx, 200*time.Millisecond)
				continue
			}
			waiting = false
			cons = c
			w.keepAlive = c.CachedInfo().Config.AckWait / 3
			w.log.Debug("consuming tasks")
		}
		msgs, dry, err := w.fetch(cons, batch, op)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if cerr := conn.closedError(err); cerr != nil {
				return cerr
			}
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoMessages) {
				batch = 1
				continue
			}
			// The consumer was deleted (the run ended) or the server is
			// away: look the queue up again.
			w.log.Debug("could not fetch a task; looking the queue up again", "err", err)
			cons = nil
			sleep(ctx, 50*time.Millisecond)
			continue
		}
		w.hold(msgs)
		started := time.Now()
		for k, msg := range msgs {
			if ctx.Err() != nil {
				w.handBack(msgs[k:])
				break
			}
			if k > 0 {
				// The last task's result and ack leave the process
				// before this task starts (the fetch did that for the
				// first): a task that kills its worker does not take the
				// one before with it.
				w.sent()
			}
			if err := w.run(ctx, msg); err != nil {
				w.handBack(msgs[k+1:])
				return err
			}
		}
		batch = nextBatch(batch, len(msgs), time.Since(started), dry, cfg.maxBatch)
		if cfg.fixedBatch > 0 {
			batch = cfg.fixedBatch
		}
	}
}

// nextBatch is how many tasks to take next, after n took d: one when the
// queue ran dry (a new run's tasks may be long), else double while the
// tasks are short, or as many as fit in batchBudget, at most most.
func nextBatch(batch, n int, d time.Duration, dry bool, most int) int {
	if dry || n == 0 {
		return 1
	}
	per := d / time.Duration(n)
	switch {
	case per <= 0:
		return min(2*batch, most)
	case per*time.Duration(2*batch) <= batchBudget:
		return min(2*batch, most)
	}
	return max(1, min(int(batchBudget/per), most))
}

// fetch takes up to batch tasks that are in the queue now; when there
// are none, it waits for one (dry is then true: the queue ran dry).
func (w *worker) fetch(cons jetstream.Consumer, batch int, op func() (context.Context, context.CancelFunc)) (msgs []jetstream.Msg, dry bool, err error) {
	if batch > 1 {
		b, err := cons.FetchNoWait(batch)
		if err != nil {
			return nil, false, err
		}
		for m := range b.Messages() {
			msgs = append(msgs, m)
		}
		if err := b.Error(); err != nil && len(msgs) == 0 {
			return nil, false, err
		}
		if len(msgs) > 0 {
			return msgs, false, nil
		}
		dry = true
	}
	fctx, cancel := op()
	defer cancel()
	msg, err := cons.Next(jetstream.FetchContext(fctx))
	if err != nil {
		return nil, dry, err
	}
	return []jetstream.Msg{msg}, dry, nil
}

type worker struct {
	conn      *Conn
	name      string
	id        string
	handle    Handler
	log       *slog.Logger
	keepAlive time.Duration
	noAck     map[string]bool // tasks not to ack ([withoutAck])
	noResult  map[string]bool // tasks whose results are not published ([withoutResult])

	// results carries the results published, in order, to the
	// goroutine that checks the server's answers (settle).
	results chan pendingResult
	// stopping is closed when the loop returns.
	stopping chan struct{}

	mu   sync.Mutex
	held map[jetstream.Msg]*heldTask // tasks taken and not yet acked or handed back
	wake chan struct{}               // the keep-alives have a new earliest due
}

// heldTask is a task in a worker's hands: when it is next due a
// keep-alive, and how often.
type heldTask struct {
	every time.Duration
	due   time.Time
}

// pendingResult is a result on its way to the server, its task acked
// (or about to be).
type pendingResult struct {
	res    *nats.Msg
	future jetstream.PubAckFuture
	sent   time.Time // when it was published
	log    *slog.Logger
}

// keepAliveOf returns how often msg needs a keep-alive: a third of the
// AckWait it carries, else of the consumer's.
func (w *worker) keepAliveOf(msg jetstream.Msg) time.Duration {
	if d, err := time.ParseDuration(msg.Headers().Get(HeaderAckWait)); err == nil && d > 0 {
		return d / 3
	}
	return w.keepAlive
}

// hold records msgs as in the worker's hands.
func (w *worker) hold(msgs []jetstream.Msg) {
	now := time.Now()
	w.mu.Lock()
	first := len(w.held) == 0
	for _, m := range msgs {
		if every := w.keepAliveOf(m); every > 0 {
			w.held[m] = &heldTask{every: every, due: now.Add(every)}
		} else {
			w.held[m] = &heldTask{}
		}
	}
	w.mu.Unlock()
	if first {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// release forgets msg: it was acked or handed back.
func (w *worker) release(msg jetstream.Msg) {
	w.mu.Lock()
	delete(w.held, msg)
	w.mu.Unlock()
}

// heldTasks returns the tasks in the worker's hands.
func (w *worker) heldTasks() []jetstream.Msg {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]jetstream.Msg, 0, len(w.held))
	for m := range w.held {
		out = append(out, m)
	}
	return out
}

// handBack returns msgs to the queue at once, for other workers.
func (w *worker) handBack(msgs []jetstream.Msg) {
	for _, m := range msgs {
		if err := m.Nak(); err != nil {
			w.log.Debug("could not hand a task back", "err", err)
		}
		w.release(m)
	}
}

// keepAlives tells the server, for each task in the worker's hands, that
// it is in progress, each when due, until ctx is done.
func (w *worker) keepAlives(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		var next time.Time
		for _, h := range w.held {
			if h.every > 0 && (next.IsZero() || h.due.Before(next)) {
				next = h.due
			}
		}
		w.mu.Unlock()
		var tick <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			continue
		case <-tick:
		}
		now := time.Now()
		var due []jetstream.Msg
		w.mu.Lock()
		for m, h := range w.held {
			if h.every > 0 && !h.due.After(now) {
				due = append(due, m)
				h.due = now.Add(h.every)
			}
		}
		w.mu.Unlock()
		for _, m := range due {
			if err := m.InProgress(); err != nil {
				w.log.Debug("could not send a keep-alive", "err", err)
			}
		}
	}
}

// confirmWait is how long after publishing a result a worker waits for
// the server to confirm it before it publishes the result again (the
// Nats-Msg-Id keeps a result stored once): on a cluster, a results
// stream whose leader died answers nothing for what it had not stored.
const confirmWait = 5 * time.Second

// confirmed waits for the server's answer to a result published at
// sent: nil when it stored the result. It waits until confirmWait after
// sent, not after the call: results lost together (their stream's
// leader died) are all tried again about confirmWait after they were
// published, not one confirmWait after another. A closed connection
// never answers: once the loop stops, a closed connection is the answer.
func (w *worker) confirmed(f jetstream.PubAckFuture, sent time.Time) error {
	timeout := time.NewTimer(time.Until(sent.Add(confirmWait)))
	defer timeout.Stop()
	stopping := w.stopping
	for {
		select {
		case <-f.Ok():
			return nil
		case err := <-f.Err():
			return err
		case <-timeout.C:
			return fmt.Errorf("the server did not confirm the result within %s", confirmWait)
		case <-stopping:
			if w.conn.nc.IsClosed() {
				return nats.ErrConnectionClosed
			}
			stopping = nil // the server still answers: wait for it
		}
	}
}

// settle waits for the server's answer to a published result whose task
// is acked already. A result the server refused (not for a closed
// connection or a queue that is gone) is published again, and if the
// server refuses it again, an error result saying why takes its place:
// the task will not come back, and the kernel must not wait for it.
func (w *worker) settle(p pendingResult) {
	err := w.confirmed(p.future, p.sent)
	switch {
	case err == nil:
		return
	case w.conn.closedError(err) != nil:
		// The result went to the server ahead of the task's ack: a task
		// whose ack the server has has its result stored too, and one
		// whose ack it has not comes back to a worker, which finds its
		// result stored, or runs it again if the result did not get there.
		p.log.Debug("the connection closed before the server confirmed a result", "err", err)
		return
	case w.conn.streamGone(context.Background(), ResultsStream(w.name), err):
		// No answer is not enough to say so: a results stream between
		// two leaders answers nobody either, and its result must not be
		// dropped (the task is acked).
		p.log.Debug("the queue is gone; dropping the task's result", "err", err)
		return
	}
	p.log.Warn("the server did not store a task's result; publishing it again", "err", err)
	// On a cluster the results stream may be between two leaders:
	// publishStored tries again until one takes it. The task is acked
	// already, so it needs no keep-alive meanwhile.
	_, perr := w.conn.publishStored(context.Background(), p.res, ResultsStream(w.name), nil, p.log)
	if perr == nil || w.conn.closedError(perr) != nil || errors.Is(perr, errQueueGone) {
		return
	}
	failed := maps.Clone(p.res.Header)
	failed.Set(HeaderStatus, statusError)
	instead := &nats.Msg{Subject: p.res.Subject, Header: failed,
		Data: fmt.Appendf(nil, "the NATS server refused the task's result: %v", perr)}
	if _, perr = w.conn.publishStored(context.Background(), instead, ResultsStream(w.name), nil, p.log); perr == nil || w.conn.closedError(perr) != nil || errors.Is(perr, errQueueGone) {
		return
	}
	p.log.Error("could not publish a task's result; the kernel will not see it", "err", err)
}

// run handles one task of the worker's hands: the handler, then its
// result published on the task's subject and the task acked. The result
// goes ahead of the ack on the same connection, so the server reads the
// result before the ack; the server's answers are not waited for
// (Consume starts the next task once both are written out: see sent),
// and settle checks the one to the result in the background. A task
// delivered again whose result the results stream holds already (its
// first worker's ack was lost) is acked without running (see [Consume]).
// It returns an error only when the worker must stop.
func (w *worker) run(ctx context.Context, msg jetstream.Msg) error {
	delivery := 1
	if meta, err := msg.Metadata(); err == nil {
		delivery = int(meta.NumDelivered)
	}
	h := msg.Headers()
	taskID := h.Get(HeaderTask)
	if taskID == "" {
		taskID = h.Get(jetstream.MsgIDHeader)
	}
	log := w.log.With("task", taskID, "delivery", delivery)
	if delivery > 1 {
		stored := w.resultStored(ctx, taskID, log)
		if ctx.Err() != nil {
			w.handBack([]jetstream.Msg{msg})
			return nil
		}
		if stored {
			log.Debug("the task's result is stored already; acking it without running it again")
			return w.ack(msg, taskID, log)
		}
	}
	log.Debug("task started")

	out, herr := callHandler(ctx, w.handle, taskID, msg.Data(), delivery)
	if ctx.Err() != nil {
		// The worker is stopping: hand the task back at once.
		w.handBack([]jetstream.Msg{msg})
		return nil
	}

	if w.noResult[taskID] {
		log.Debug("acking the task without its result (a test's lost result)")
		return w.ack(msg, taskID, log)
	}
	res := nats.NewMsg(TaskResultSubject(w.name, taskID))
	res.Header.Set(HeaderTask, taskID)
	// One result per task on the server: a task handed to another worker
	// whose lookup of the result came too early stores no second result
	// (the results stream drops a repeated id).
	res.Header.Set(jetstream.MsgIDHeader, taskID)
	res.Header.Set(HeaderDelivery, strconv.Itoa(delivery))
	res.Header.Set(HeaderWorker, w.id)
	if herr != nil {
		res.Header.Set(HeaderStatus, statusError)
		res.Data = []byte(herr.Error())
	} else {
		res.Header.Set(HeaderStatus, statusOK)
		res.Data = out
	}
	if max := w.conn.nc.MaxPayload(); int64(len(res.Data))+1024 > max {
		res.Header.Set(HeaderStatus, statusError)
		res.Data = fmt.Appendf(nil, "the task's result is %d bytes; NATS carries at most %d bytes per message", len(res.Data), max)
	}
	sent := time.Now()
	f, err := w.conn.js.PublishMsgAsync(res, jetstream.WithExpectStream(ResultsStream(w.name)), jetstream.WithStallWait(10*time.Second))
	if err != nil {
		w.handBack([]jetstream.Msg{msg})
		if cerr := w.conn.closedError(err); cerr != nil {
			return cerr
		}
		log.Warn("could not publish a task's result; the task goes back to the queue", "err", err)
		return nil
	}
	err = w.ack(msg, taskID, log)
	w.results <- pendingResult{res: res, future: f, sent: sent, log: log}
	if err == nil {
		log.Debug("task done")
	}
	return err
}

// ack tells the server task taskID (msg) is done, without waiting for its
// answer, and releases it from the worker's hands. It returns an error
// only when the connection is closed.
func (w *worker) ack(msg jetstream.Msg, taskID string, log *slog.Logger) error {
	defer w.release(msg)
	if w.noAck[taskID] {
		log.Debug("not acking the task (a test's lost ack)")
		return nil
	}
	err := msg.Ack()
	if err == nil {
		return nil
	}
	if cerr := w.conn.closedError(err); cerr != nil {
		return cerr
	}
	// The server is away: the task comes back to a worker if the run
	// still wants it, and finds its result stored if it got there.
	log.Debug("could not ack the task", "err", err)
	return nil
}

// resultStored reports whether the results stream holds task taskID's
// result: the last message on the task's subject. A lookup that fails
// otherwise than by finding nothing reports false, and the task runs
// again: the results stream and the kernel's queue keep the first result.
func (w *worker) resultStored(ctx context.Context, taskID string, log *slog.Logger) bool {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := w.conn.js.Stream(lctx, ResultsStream(w.name))
	if err != nil {
		log.Debug("could not look the task's result up; running it", "err", err)
		return false
	}
	m, err := s.GetLastMsgForSubject(lctx, TaskResultSubject(w.name, taskID))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false
	case err != nil:
		log.Debug("could not look the task's result up; running it", "err", err)
		return false
	}
	return m.Header.Get(HeaderTask) == taskID
}

// sentWait bounds how long [worker.sent] waits: a connection that is
// getting back to a server keeps what it buffers until it is back.
const sentWait = 50 * time.Millisecond

// sent waits until what the worker published (the last task's result and
// ack) has left its connection's buffer for the socket, which is quick:
// nats.go's writer goroutine writes it out as soon as it runs. It is no
// round trip to the server, but once a result and its ack are in the
// socket, the server gets them even if the process dies the next moment.
func (w *worker) sent() {
	deadline := time.Now().Add(sentWait)
	for spins := 0; ; spins++ {
		if n, err := w.conn.nc.Buffered(); err != nil || n == 0 || !w.conn.nc.IsConnected() || time.Now().After(deadline) {
			return
		}
		if spins < 8 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// callHandler runs a handler, turning a panic into the task's error.
func callHandler(ctx context.Context, handle Handler, taskID string, payload []byte, delivery int) (out []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("the task panicked: %v", p)
		}
	}()
	return handle(ctx, taskID, payload, delivery)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// withFixedBatch makes every fetch take up to n tasks, whatever their
// times (for tests).
func withFixedBatch(n int) ConsumeOption {
	return func(c *consumeConfig) { c.fixedBatch = n }
}

// withoutAck makes the worker never ack the tasks ids, as if their acks
// were lost after their results were stored (for tests).
func withoutAck(ids ...string) ConsumeOption {
	return func(c *consumeConfig) { c.noAck = idSet(ids) }
}

// withoutResult makes the worker ack tasks ids without publishing their
// results (for tests).
func withoutResult(ids ...string) ConsumeOption {
	return func(c *consumeConfig) { c.noResult = idSet(ids) }
}

// idSet is ids as a set.
func idSet(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
