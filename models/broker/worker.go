package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
	worker string
}

// WithWorkerID sets the worker id results carry ([Result.Worker]); the
// default is [DefaultWorkerID].
func WithWorkerID(id string) ConsumeOption {
	return func(c *consumeConfig) { c.worker = id }
}

// DefaultWorkerID names this process: "HOST-PID".
func DefaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Consume is a worker's loop: it takes the tasks of queue name one at a
// time and runs handle on each. While handle runs it tells the server the
// task is in progress every AckWait/3, so a long task is not handed to
// another worker; when handle returns it publishes the result and only
// then acks the task, so a worker killed mid-task has its task redelivered
// to another worker after AckWait, and no result is ever lost.
//
// If the queue does not exist yet, or is deleted and created again
// between runs, Consume waits for it; the same when the server went away
// and came back (a kernel's engine restarted after a crash) without the
// queue, which the kernel creates there again. Consume returns nil when
// ctx is done (a task running then is handed back to the queue at once),
// and an error when the connection is closed.
func Consume(ctx context.Context, conn *Conn, name string, handle Handler, opts ...ConsumeOption) error {
	if err := checkName(name); err != nil {
		return err
	}
	cfg := consumeConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.worker == "" {
		cfg.worker = DefaultWorkerID()
	}
	w := &worker{conn: conn, name: name, id: cfg.worker, handle: handle,
		log: conn.log.With("queue", name, "worker", cfg.worker)}

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
		fctx, cancel := op()
		msg, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if cerr := conn.closedError(err); cerr != nil {
				return cerr
			}
			if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoMessages) {
				continue
			}
			// The consumer was deleted (the run ended) or the server is
			// away: look the queue up again.
			w.log.Debug("could not fetch a task; looking the queue up again", "err", err)
			cons = nil
			sleep(ctx, 50*time.Millisecond)
			continue
		}
		if err := w.run(ctx, msg); err != nil {
			return err
		}
	}
}

type worker struct {
	conn      *Conn
	name      string
	id        string
	handle    Handler
	log       *slog.Logger
	keepAlive time.Duration
}

// run handles one task: keep-alives while the handler runs, then the
// result, then the ack. It returns an error only when the worker must
// stop.
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
	keepAlive := w.keepAlive
	if d, err := time.ParseDuration(h.Get(HeaderAckWait)); err == nil && d > 0 {
		keepAlive = d / 3
	}
	log := w.log.With("task", taskID, "delivery", delivery)
	log.Debug("task started")

	hctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	if keepAlive > 0 {
		wg.Go(func() {
			t := time.NewTicker(keepAlive)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					if err := msg.InProgress(); err != nil {
						log.Debug("could not send a keep-alive", "err", err)
					}
				}
			}
		})
	}
	out, herr := callHandler(hctx, w.handle, taskID, msg.Data(), delivery)
	close(done)
	wg.Wait()
	cancel()

	if ctx.Err() != nil {
		// The worker is stopping: hand the task back at once.
		if err := msg.Nak(); err != nil {
			log.Debug("could not hand the task back", "err", err)
		}
		return nil
	}

	res := nats.NewMsg(ResultsSubject(w.name))
	res.Header.Set(HeaderTask, taskID)
	// One result per task on the server: a task handed to another worker
	// after this one published its result but died before acking stores
	// no second result (the results stream drops a repeated id).
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
	if err := w.publishResult(msg, res, log); err != nil {
		if cerr := w.conn.closedError(err); cerr != nil {
			return cerr
		}
		if errors.Is(err, errQueueGone) {
			// The run ended (its queue was closed) while the task ran.
			log.Debug("the queue is gone; dropping the task's result", "err", err)
			return nil
		}
		log.Warn("could not publish a task's result; the task goes back to the queue", "err", err)
		if err := msg.Nak(); err != nil {
			log.Debug("could not hand the task back", "err", err)
		}
		return nil
	}
	if err := msg.Ack(); err != nil {
		if cerr := w.conn.closedError(err); cerr != nil {
			return cerr
		}
		log.Debug("could not ack the task", "err", err)
	}
	log.Debug("task done", "error", herr != nil)
	return nil
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
