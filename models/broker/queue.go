package broker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of [QueueOptions].
const (
	DefaultAckWait       = time.Second
	DefaultMaxDeliver    = 3
	DefaultMaxAckPending = 10000
	DefaultMaxAge        = 24 * time.Hour
	DefaultLostAfter     = 90 * time.Second
)

// DefaultQueue is the work queue a kernel and its workers use unless told
// otherwise (ATONCE_NATS_QUEUE, or a kernel's own on a shared server): one
// per NATS server.
const DefaultQueue = "atonce"

// ConsumerName is the durable pull consumer every queue's workers share.
const ConsumerName = "workers"

// Message headers tasks and results carry.
const (
	HeaderTask     = "Atonce-Task"     // the task id
	HeaderDelivery = "Atonce-Delivery" // which attempt produced a result (1, 2, ...)
	HeaderWorker   = "Atonce-Worker"   // the worker that produced a result
	HeaderStatus   = "Atonce-Status"   // "ok", or "error" when the payload is the task's error text
	HeaderAckWait  = "Atonce-Ack-Wait" // the queue's AckWait on a task (a Go duration), pacing keep-alives
)

const (
	statusOK    = "ok"
	statusError = "error"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// TasksStream is the name of the JetStream stream holding queue name's
// tasks.
func TasksStream(name string) string { return "ATONCE_TASKS_" + name }

// ResultsStream is the name of the JetStream stream holding queue name's
// results.
func ResultsStream(name string) string { return "ATONCE_RESULTS_" + name }

// TasksSubject is the subject tasks of queue name are published on; the
// tasks stream holds atonce.NAME.tasks.>.
func TasksSubject(name string) string { return "atonce." + name + ".tasks.run" }

// ResultsSubject is the subject filter that covers every result of
// queue name, atonce.NAME.results.>: the subjects the results stream
// holds, and what to subscribe to for watching a queue's results go by.
// Each task's result has a subject of its own ([TaskResultSubject]).
func ResultsSubject(name string) string { return resultsPrefix(name) + ">" }

// TaskResultSubject is the subject a worker publishes the result of task
// taskID of queue name on: atonce.NAME.results.TOKEN, where TOKEN is the
// task id itself when it is letters, digits, '_', '-' and dots between
// non-empty parts, not starting with "x", and else "x" followed by the
// id's bytes in lowercase hex. Distinct ids get distinct subjects, so the
// results stream can say whether a task's result is stored (the last
// message on its subject) without reading the others.
func TaskResultSubject(name, taskID string) string { return resultsPrefix(name) + resultToken(taskID) }

func resultsPrefix(name string) string { return "atonce." + name + ".results." }

// maxTaskID bounds a task id's length, so that its result's subject fits
// in the line a NATS client sends before a message (4 KiB by default).
const maxTaskID = 512

// plainTaskID matches the task ids that are their results' subject token
// as they are.
var plainTaskID = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// resultToken is the last part of task taskID's result subject: the id,
// or "x" and its hex when it is not a safe subject suffix or starts with
// "x" (so that no plain id is read as an encoded one).
func resultToken(taskID string) string {
	if plainTaskID.MatchString(taskID) && !strings.HasPrefix(taskID, "x") {
		return taskID
	}
	return "x" + hex.EncodeToString([]byte(taskID))
}

// MaxDeliveriesAdvisory is the JetStream advisory subject the server
// publishes on when a task of queue name has used up its deliveries.
func MaxDeliveriesAdvisory(name string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + TasksStream(name) + "." + ConsumerName
}

func checkName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("the queue name %q must be 1 to 64 letters, digits, '-' or '_'", name)
	}
	return nil
}

// QueueOptions configures [NewQueue]. Zero fields take the defaults.
type QueueOptions struct {
	// AckWait is how long a worker may stay silent about a task before the
	// task is given to another worker. Workers send a keep-alive every
	// AckWait/3 while a task runs, so only dead or stuck workers hit it.
	// Default [DefaultAckWait].
	AckWait time.Duration

	// MaxDeliver is how many times a task is handed out before it is
	// reported failed. Default [DefaultMaxDeliver].
	MaxDeliver int

	// MaxAckPending bounds the tasks handed out and not yet acked across
	// all workers. Default [DefaultMaxAckPending].
	MaxAckPending int

	// MaxAge is how long tasks and results stay on the server if nobody
	// takes or reads them (say the kernel died). Default [DefaultMaxAge].
	MaxAge time.Duration

	// LostAfter is how long the queue waits, with no result coming in
	// and no task waiting in the queue or held by a worker, before it
	// looks for the tasks that still have no result and will not get
	// one: a task the server gave up on whose advisory never reached the
	// queue (it is reported failed), and a task acked whose result never
	// reached the results stream (its worker died while the stream
	// changed leaders; it is published again). Default
	// [DefaultLostAfter], past the minute a worker spends publishing a
	// result again.
	LostAfter time.Duration
}

func (o QueueOptions) withDefaults() QueueOptions {
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = DefaultMaxAckPending
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.LostAfter <= 0 {
		o.LostAfter = DefaultLostAfter
	}
	return o
}

// Result is the outcome of one task, reported once per task id by
// [Queue.Results]. Exactly one of three holds: the task succeeded
// (Payload), the task itself failed (Error), or no worker could finish it
// (Failed).
type Result struct {
	// TaskID is the id the task was published with.
	TaskID string
	// Payload is what the worker's handler returned.
	Payload []byte
	// Error is the handler's error text when the task itself failed.
	Error string
	// Failed says why the queue gave up on the task: every worker that
	// took it died or timed out, MaxDeliver times.
	Failed string
	// Delivery is the attempt that produced this result: 1 for the first
	// worker to take the task, 2 after one redelivery, and so on.
	Delivery int
	// Worker is the id of the worker that produced the result; empty when
	// Failed.
	Worker string
}

// Err returns the task's failure as an error, or nil if it succeeded.
func (r Result) Err() error {
	switch {
	case r.Failed != "":
		return fmt.Errorf("task %s: %s", r.TaskID, r.Failed)
	case r.Error != "":
		return fmt.Errorf("task %s: %s", r.TaskID, r.Error)
	}
	return nil
}

// QueueStats counts what a [Queue] has seen.
type QueueStats struct {
	// Published is the number of distinct tasks published.
	Published int
	// Results counts results reported (including Error and Failed ones).
	Results int
	// Errors counts results whose handler returned an error.
	Errors int
	// Failed counts tasks no worker could finish.
	Failed int
	// Duplicates counts results dropped because the task already had one:
	// a task that ran twice (its first worker was presumed dead but was
	// only slow, its result stored after the task went to another worker;
	// or the worker the task went to could not ask the results stream
	// whether its result was stored).
	Duplicates int
}

// Queue is the kernel side of a distributed run: a JetStream work queue of
// tasks and the stream their results come back on. Create it with
// [NewQueue]; workers drain it with [Consume]. Its methods are safe for
// concurrent use.
type Queue struct {
	conn       *Conn
	name       string
	log        *slog.Logger
	tasks      jetstream.Stream
	results    jetstream.Stream
	maxPayload int64
	ackWait    string // the AckWait tasks carry in HeaderAckWait
	lostAfter  time.Duration

	adv *nats.Subscription

	// ccMu guards cc, the reading of the results stream, which
	// watchResults starts again when it stalls; watching waits for
	// watchResults.
	ccMu     sync.Mutex
	cc       jetstream.ConsumeContext
	watching sync.WaitGroup

	mu      sync.Mutex
	seqTask map[uint64]string // stream sequence → task id, from PubAcks, until a result comes
	taskSeq map[string]uint64 // the reverse, to forget a task's sequence
	// sent is each task's message until its result comes, to publish
	// it again if it is lost (recoverLost).
	sent map[string]*nats.Msg
	seen map[string]bool // task ids that have a result
	// readSeq is the results stream's sequence of each task's result
	// read: a reading started again may bring the same message twice.
	readSeq map[string]uint64
	pending []Result
	stats   QueueStats
	reading bool // Results was called
	// onTheirWay are the tasks published with PublishAsync that Flush has
	// not waited for yet.
	onTheirWay []asyncTask
	// lastSeq is the results stream's sequence of the latest result read,
	// and lastRead when it was read (or when the queue was created).
	lastSeq  uint64
	lastRead time.Time
	// lastLost is when recoverLost last looked for lost tasks.
	lastLost time.Time

	notify    chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// NewQueue creates the work queue name on the server conn is connected to
// (or takes over an existing one, emptying it: a queue belongs to one run
// at a time), with its durable consumer for workers and its results
// stream. Names are 1 to 64 letters, digits, '-' or '_'; two kernels
// sharing a server must use different names.
func NewQueue(ctx context.Context, conn *Conn, name string, opt QueueOptions) (*Queue, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	js := conn.js
	q := &Queue{
		conn:       conn,
		name:       name,
		log:        conn.log.With("queue", name),
		maxPayload: conn.nc.MaxPayload(),
		ackWait:    opt.AckWait.String(),
		lostAfter:  opt.LostAfter,
		seqTask:    make(map[uint64]string),
		taskSeq:    make(map[string]uint64),
		sent:       make(map[string]*nats.Msg),
		seen:       make(map[string]bool),
		readSeq:    make(map[string]uint64),
		notify:     make(chan struct{}, 1),
		closed:     make(chan struct{}),
	}
	dupWindow := 2 * time.Minute
	if dupWindow > opt.MaxAge {
		dupWindow = opt.MaxAge
	}
	var err error
	q.tasks, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        TasksStream(name),
		Description: "atonce distributed tasks of queue " + name,
		Subjects:    []string{"atonce." + name + ".tasks.>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.MemoryStorage,
		MaxAge:      opt.MaxAge,
		Duplicates:  dupWindow,
		Replicas:    conn.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("could not create the task queue %q on the NATS server%s: %w", name, conn.ReplicasSaid(), err)
	}
	q.results, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        ResultsStream(name),
		Description: "atonce distributed results of queue " + name,
		Subjects:    []string{ResultsSubject(name)},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.MemoryStorage,
		MaxAge:      opt.MaxAge,
		Duplicates:  dupWindow,
		Replicas:    conn.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("could not create the results stream of queue %q on the NATS server%s: %w", name, conn.ReplicasSaid(), err)
	}
	// A queue belongs to one run: drop what an earlier run left behind.
	for _, s := range []jetstream.Stream{q.tasks, q.results} {
		if err := s.Purge(ctx); err != nil {
			return nil, fmt.Errorf("could not empty the leftovers of queue %q: %w", name, err)
		}
	}
	ccfg := jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "atonce workers of queue " + name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       opt.AckWait,
		MaxDeliver:    opt.MaxDeliver,
		MaxAckPending: opt.MaxAckPending,
		FilterSubject: "atonce." + name + ".tasks.>",
		MaxWaiting:    4096,
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, TasksStream(name), ccfg); err != nil {
		// Older servers refuse some changes to a durable consumer:
		// start it afresh (the stream is empty anyway).
		if derr := js.DeleteConsumer(ctx, TasksStream(name), ConsumerName); derr != nil && !errors.Is(derr, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("could not create the workers' consumer of queue %q: %w", name, err)
		}
		if _, err := js.CreateOrUpdateConsumer(ctx, TasksStream(name), ccfg); err != nil {
			return nil, fmt.Errorf("could not create the workers' consumer of queue %q: %w", name, err)
		}
	}

	q.adv, err = conn.nc.Subscribe(MaxDeliveriesAdvisory(name), q.onAdvisory)
	if err != nil {
		return nil, fmt.Errorf("could not listen for failed tasks of queue %q: %w", name, err)
	}
	q.lastRead = time.Now()
	if q.cc, err = q.readResults(ctx, 1); err != nil {
		q.adv.Unsubscribe()
		return nil, err
	}
	if err := conn.flush(ctx); err != nil {
		q.cc.Stop()
		q.adv.Unsubscribe()
		return nil, fmt.Errorf("the NATS server did not confirm the subscriptions of queue %q: %w", name, err)
	}
	q.watching.Go(q.watchResults)
	return q, nil
}

// readResults starts reading the results stream from sequence from on,
// each result to onResult.
func (q *Queue) readResults(ctx context.Context, from uint64) (jetstream.ConsumeContext, error) {
	oc, err := q.results.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from})
	if err != nil {
		return nil, fmt.Errorf("could not read the results of queue %q: %w", q.name, err)
	}
	cc, err := oc.Consume(q.onResult, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		q.log.Debug("results consumer", "err", err)
	}))
	if err != nil {
		return nil, fmt.Errorf("could not read the results of queue %q: %w", q.name, err)
	}
	return cc, nil
}

// resultsStall is how long the queue waits without a result before it
// asks the results stream whether it holds results not read.
const resultsStall = 3 * time.Second

// watchResults starts reading the results stream again, from the first
// result not read, when the stream holds results the reading has not
// delivered for resultsStall: on a NATS cluster whose server that led
// the stream went away, nats.go's ordered consumer can stay stuck after
// the stream moved to another. Results read twice are dropped by task id
// (deliver).
func (q *Queue) watchResults() {
	t := time.NewTicker(min(resultsStall, q.lostAfter/2))
	defer t.Stop()
	for {
		select {
		case <-q.closed:
			return
		case <-t.C:
		}
		q.mu.Lock()
		idle, from := time.Since(q.lastRead) >= resultsStall, q.lastSeq+1
		q.mu.Unlock()
		if !idle {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), resultsStall)
		info, err := q.results.Info(ctx)
		cancel()
		if err != nil {
			continue
		}
		if info.State.LastSeq < from {
			// Every stored result was read: a task still without one
			// may never get it.
			q.recoverLost()
			continue
		}
		q.log.Info("the results stream holds results not read; reading it again", "from", from, "last", info.State.LastSeq)
		// A stream just given a new leader may take seconds to create
		// the new reading's consumer.
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		q.ccMu.Lock()
		select {
		case <-q.closed:
		default:
			if cc, err := q.readResults(ctx, from); err != nil {
				q.log.Warn("could not read the results stream again", "err", err)
			} else {
				q.cc.Stop()
				q.cc = cc
				q.mu.Lock()
				q.lastRead = time.Now()
				q.mu.Unlock()
			}
		}
		q.ccMu.Unlock()
		cancel()
	}
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Publish adds a task to the queue and waits for the server to take it.
// The task id is the message's Nats-Msg-Id, so publishing the same id
// again within two minutes (a retry after a timeout, say) does not queue
// the task twice; ids must be unique within a run and hold no line
// breaks.
func (q *Queue) Publish(ctx context.Context, taskID string, payload []byte) error {
	msg, err := q.taskMsg(taskID, payload)
	if err != nil {
		return err
	}
	q.keep(taskID, msg)
	ack, err := q.conn.publishStored(ctx, msg, TasksStream(q.name), nil, q.log)
	if err != nil {
		return q.publishError(taskID, err)
	}
	q.taken(taskID, ack)
	return nil
}

// PublishAsync adds a task to the queue as Publish does, but returns as
// soon as the task is on its way, without waiting for the server to take
// it: a run publishes its tasks in one stream instead of a round trip
// each. [Queue.Flush] waits for the server's answers and reports a task
// it did not take.
func (q *Queue) PublishAsync(taskID string, payload []byte) error {
	msg, err := q.taskMsg(taskID, payload)
	if err != nil {
		return err
	}
	q.keep(taskID, msg)
	// A full window of tasks on their way waits for the server's answers
	// rather than failing.
	f, err := q.conn.js.PublishMsgAsync(msg, jetstream.WithExpectStream(TasksStream(q.name)), jetstream.WithStallWait(30*time.Second))
	if err != nil {
		return q.publishError(taskID, err)
	}
	q.mu.Lock()
	q.onTheirWay = append(q.onTheirWay, asyncTask{id: taskID, msg: msg, future: f})
	q.mu.Unlock()
	return nil
}

// Flush waits until the server has taken every task published with
// PublishAsync, or ctx is done; it returns an error naming the first task
// the server did not take.
func (q *Queue) Flush(ctx context.Context) error {
	q.mu.Lock()
	tasks := q.onTheirWay
	q.onTheirWay = nil
	q.mu.Unlock()
	var first error
	for _, t := range tasks {
		select {
		case ack := <-t.future.Ok():
			q.taken(t.id, ack)
		case err := <-t.future.Err():
			if q.conn.closedError(err) == nil {
				// On a cluster the stream may be between two leaders:
				// publish it again until one takes it (the task's
				// Nats-Msg-Id keeps it from being stored twice).
				var ack *jetstream.PubAck
				if ack, err = q.conn.publishStored(ctx, t.msg, TasksStream(q.name), nil, q.log); err == nil {
					q.taken(t.id, ack)
					continue
				}
			}
			if first == nil {
				first = q.publishError(t.id, err)
			}
		case <-ctx.Done():
			if first == nil {
				first = fmt.Errorf("gave up waiting for the NATS server to take task %s: %w", t.id, ctx.Err())
			}
			return first
		}
	}
	return first
}

// asyncTask is a task published with PublishAsync that the server has
// not answered for yet.
type asyncTask struct {
	id     string
	msg    *nats.Msg
	future jetstream.PubAckFuture
}

// taskMsg is the message that carries a task.
func (q *Queue) taskMsg(taskID string, payload []byte) (*nats.Msg, error) {
	if taskID == "" || strings.ContainsAny(taskID, "\r\n") {
		return nil, fmt.Errorf("task id %q must be non-empty and on one line", taskID)
	}
	if len(taskID) > maxTaskID {
		return nil, fmt.Errorf("task id %.40q... is %d bytes; task ids are at most %d bytes", taskID, len(taskID), maxTaskID)
	}
	if n := int64(len(payload)) + int64(2*len(taskID)) + 64; n > q.maxPayload {
		return nil, fmt.Errorf("task %s is %d bytes; the NATS server takes at most %d bytes per message", taskID, len(payload), q.maxPayload)
	}
	msg := nats.NewMsg(TasksSubject(q.name))
	msg.Header.Set(jetstream.MsgIDHeader, taskID)
	msg.Header.Set(HeaderTask, taskID)
	msg.Header.Set(HeaderAckWait, q.ackWait)
	msg.Data = payload
	return msg, nil
}

// keep holds task taskID's message until its result comes.
func (q *Queue) keep(taskID string, msg *nats.Msg) {
	q.mu.Lock()
	if !q.seen[taskID] {
		q.sent[taskID] = msg
	}
	q.mu.Unlock()
}

// recoverLost looks, once the queue has had no result for LostAfter (and
// had not looked for as long; watchResults calls it when every result
// stored was read), for tasks that will never have a result, if no task
// waits in the queue or in a worker's hands: a task still in
// the work queue then is one the server gave up on (MaxDeliver) whose
// advisory did not reach the queue — it is reported failed, as
// onAdvisory does; a task gone from it (acked) without a result lost its
// result on the way — it is published again, under a new Nats-Msg-Id
// and the same task id, so another worker runs it (a result of the
// first run that turns up late is dropped as a duplicate).
func (q *Queue) recoverLost() {
	q.mu.Lock()
	now := time.Now()
	if now.Sub(q.lastRead) < q.lostAfter || now.Sub(q.lastLost) < q.lostAfter || len(q.taskSeq) == 0 {
		q.mu.Unlock()
		return
	}
	q.lastLost = now
	waiting := maps.Clone(q.taskSeq)
	q.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := q.tasks.Consumer(ctx, ConsumerName)
	if err != nil {
		q.log.Debug("looking for lost tasks: no consumer", "err", err)
		return
	}
	info, err := cons.Info(ctx)
	if err != nil {
		q.log.Debug("looking for lost tasks: no consumer info", "err", err)
		return
	}
	if info.NumPending > 0 || info.NumAckPending > 0 {
		return // tasks wait for a worker, or a worker holds them: slow, not lost
	}
	for id, seq := range waiting {
		select {
		case <-q.closed:
			return
		default:
		}
		_, err := q.tasks.GetMsg(ctx, seq)
		switch {
		case err == nil:
			q.log.Warn("the server gave up on a task without telling the queue; reporting it failed", "task", id)
			q.gaveUp(ctx, id, seq, info.Config.MaxDeliver)
		case errors.Is(err, jetstream.ErrMsgNotFound):
			q.publishAgain(ctx, id, seq)
		default:
			q.log.Debug("looking for lost tasks: could not read a task back", "task", id, "err", err)
		}
	}
}

// publishAgain publishes task id, stored at sequence seq and acked
// without a result coming, again under a new Nats-Msg-Id (made from seq,
// which no other message of the stream had).
func (q *Queue) publishAgain(ctx context.Context, id string, seq uint64) {
	q.mu.Lock()
	old, ok := q.sent[id]
	q.mu.Unlock()
	if !ok {
		return
	}
	msg := &nats.Msg{Subject: old.Subject, Header: maps.Clone(old.Header), Data: old.Data}
	msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s#again@%d", id, seq))
	q.log.Warn("a task was acked but its result never came; publishing it again", "task", id)
	ack, err := q.conn.publishStored(ctx, msg, TasksStream(q.name), nil, q.log)
	if err != nil {
		q.log.Warn("could not publish a lost task again", "task", id, "err", err)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen[id] {
		return // its result came meanwhile
	}
	delete(q.seqTask, seq)
	q.seqTask[ack.Sequence] = id
	q.taskSeq[id] = ack.Sequence
}

// publishError says why task taskID could not be published.
func (q *Queue) publishError(taskID string, err error) error {
	if cerr := q.conn.closedError(err); cerr != nil {
		return fmt.Errorf("could not publish task %s: %w", taskID, cerr)
	}
	return fmt.Errorf("the NATS server did not take task %s of queue %q: %w", taskID, q.name, err)
}

// taken records that the server took task taskID: its stream sequence,
// by which a max-deliveries advisory names it.
func (q *Queue) taken(taskID string, ack *jetstream.PubAck) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.seen[taskID] {
		q.seqTask[ack.Sequence] = taskID
		q.taskSeq[taskID] = ack.Sequence
	}
	if !ack.Duplicate {
		q.stats.Published++
	}
}

// Results returns the channel the queue's results arrive on, one per task
// id: the first result wins and later ones are counted in
// [QueueStats.Duplicates]. Results published before the call are not
// lost. The channel is closed when ctx is done or the queue is closed.
// Results may be called only once per queue.
func (q *Queue) Results(ctx context.Context) (<-chan Result, error) {
	q.mu.Lock()
	if q.reading {
		q.mu.Unlock()
		return nil, fmt.Errorf("the results of queue %q are already being read: Results may be called only once", q.name)
	}
	q.reading = true
	q.mu.Unlock()
	out := make(chan Result, 64)
	go func() {
		defer close(out)
		for {
			q.mu.Lock()
			if len(q.pending) > 0 {
				r := q.pending[0]
				q.pending[0] = Result{}
				q.pending = q.pending[1:]
				q.mu.Unlock()
				select {
				case out <- r:
					continue
				case <-ctx.Done():
				case <-q.closed:
				}
				return
			}
			q.mu.Unlock()
			select {
			case <-q.notify:
			case <-ctx.Done():
				return
			case <-q.closed:
				return
			}
		}
	}()
	return out, nil
}

// Stats returns what the queue has counted so far.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

// Close stops reading results and deletes the queue's streams (and so its
// consumer) from the server; workers waiting on it go back to waiting for
// a queue of that name. It is safe to call more than once.
func (q *Queue) Close() error { return q.shut(true) }

// Release stops reading results but leaves the queue's streams and
// consumer on the server, so that workers stay attached for the next run
// of the same name (whose NewQueue empties what this run left). Use it
// between runs; Close when the queue is done for good. Release or Close,
// whichever comes first, is the one that counts.
func (q *Queue) Release() error { return q.shut(false) }

func (q *Queue) shut(deleteStreams bool) error {
	q.closeOnce.Do(func() {
		close(q.closed)
		q.ccMu.Lock()
		q.cc.Stop()
		q.ccMu.Unlock()
		q.watching.Wait()
		q.adv.Unsubscribe()
		if !deleteStreams || q.conn.nc.IsClosed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		q.closeErr = DeleteQueue(ctx, q.conn, q.name)
	})
	return q.closeErr
}

// DeleteQueue deletes the streams of queue name from the server, with
// the tasks and results they hold, as [Queue.Close] does; a queue that is
// not there is no error. Workers serving it wait for it to be created
// again.
func DeleteQueue(ctx context.Context, conn *Conn, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	var errs []error
	for _, s := range []string{TasksStream(name), ResultsStream(name)} {
		if err := conn.js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("could not delete the stream %s of queue %q: %w", s, name, err))
		}
	}
	return errors.Join(errs...)
}

// deliver records a result unless its task already has one; seq is the
// results stream's sequence of the message it came in, 0 for a task the
// server gave up on.
func (q *Queue) deliver(r Result, seq uint64) {
	q.mu.Lock()
	if seq != 0 && q.readSeq[r.TaskID] == seq {
		// The same message read again: a reading of the results
		// stream started again after its stream changed leaders may
		// start over from the beginning of the stream.
		q.mu.Unlock()
		q.log.Debug("ignored a result read again", "task", r.TaskID, "seq", seq)
		return
	}
	if q.seen[r.TaskID] && r.Failed != "" {
		// The server gave up on a task whose result is in: its worker's
		// ack did not reach it (a consumer between two leaders), and the
		// task's later deliveries reached no worker. It did not run twice.
		q.mu.Unlock()
		q.log.Debug("ignored a give-up for a task that has its result", "task", r.TaskID, "deliveries", r.Delivery)
		return
	}
	if q.seen[r.TaskID] {
		q.stats.Duplicates++
		q.mu.Unlock()
		q.log.Debug("dropped a duplicate result", "task", r.TaskID, "delivery", r.Delivery, "worker", r.Worker)
		return
	}
	q.seen[r.TaskID] = true
	if seq != 0 {
		q.readSeq[r.TaskID] = seq
	}
	if taskSeq, ok := q.taskSeq[r.TaskID]; ok {
		delete(q.taskSeq, r.TaskID)
		delete(q.seqTask, taskSeq)
	}
	delete(q.sent, r.TaskID)
	q.stats.Results++
	switch {
	case r.Failed != "":
		q.stats.Failed++
	case r.Error != "":
		q.stats.Errors++
	}
	q.pending = append(q.pending, r)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// onResult turns a message of the results stream into a Result.
func (q *Queue) onResult(m jetstream.Msg) {
	var seq uint64
	if meta, err := m.Metadata(); err == nil {
		seq = meta.Sequence.Stream
		q.mu.Lock()
		q.lastSeq, q.lastRead = max(q.lastSeq, seq), time.Now()
		q.mu.Unlock()
	}
	h := m.Headers()
	r := Result{TaskID: h.Get(HeaderTask), Worker: h.Get(HeaderWorker)}
	if r.TaskID == "" {
		q.log.Warn("ignored a result without a task id", "subject", m.Subject())
		return
	}
	r.Delivery, _ = strconv.Atoi(h.Get(HeaderDelivery))
	if h.Get(HeaderStatus) == statusError {
		r.Error = string(m.Data())
		if r.Error == "" {
			r.Error = "the task failed without saying why"
		}
	} else {
		r.Payload = m.Data()
	}
	q.deliver(r, seq)
}

// maxDeliveriesAdvisory is the part of the server's
// io.nats.jetstream.advisory.v1.max_deliver event the queue reads.
type maxDeliveriesAdvisory struct {
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// onAdvisory reports a task that used up its deliveries as failed and
// removes it from the stream.
func (q *Queue) onAdvisory(m *nats.Msg) {
	var a maxDeliveriesAdvisory
	if err := json.Unmarshal(m.Data, &a); err != nil || a.StreamSeq == 0 {
		q.log.Warn("ignored an unreadable max-deliveries advisory", "err", err)
		return
	}
	select {
	case <-q.closed:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.mu.Lock()
	id, ok := q.seqTask[a.StreamSeq]
	q.mu.Unlock()
	if !ok {
		// Published by someone else: read the id off the stored task.
		raw, err := q.tasks.GetMsg(ctx, a.StreamSeq)
		if err != nil {
			q.log.Warn("a task used up its deliveries but could not be read back", "seq", a.StreamSeq, "err", err)
			return
		}
		if id = raw.Header.Get(HeaderTask); id == "" {
			id = raw.Header.Get(jetstream.MsgIDHeader)
		}
	}
	q.gaveUp(ctx, id, a.StreamSeq, int(a.Deliveries))
}

// gaveUp reports task id, stored at sequence seq, as failed after n
// deliveries, and removes it from the work queue, which keeps unacked
// tasks: so that it does not linger.
func (q *Queue) gaveUp(ctx context.Context, id string, seq uint64, n int) {
	if err := q.tasks.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		q.log.Debug("could not delete a failed task", "task", id, "seq", seq, "err", err)
	}
	q.deliver(Result{
		TaskID:   id,
		Delivery: n,
		Failed:   fmt.Sprintf("no worker could finish this task in %d attempts (each worker that took it died or timed out)", n),
	}, 0)
}
