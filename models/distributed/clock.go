package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"atonce/internal/clocksync"
	"atonce/models/workermsg"
)

// clockAge is how long a worker's measured clock offset is taken as it
// is: a clock that NTP does not discipline drifts by tens of microseconds
// a second, so a run more than this after the last measurement has it
// measured again, in the background (the run uses the last one).
const clockAge = time.Minute

// clockWait bounds each round trip of a clock measurement: a worker that
// does not answer within it (gone, or busy beyond reason) is left
// unmeasured until clockAge has passed, and its times are taken as they
// come.
const clockWait = 500 * time.Millisecond

// workerClock is what the cluster knows of one worker's clock.
type workerClock struct {
	offset clocksync.Offset // the last measurement's; zero if it failed
	at     time.Time        // when it ended; zero before the first ended
	// measuring is closed when the measurement in progress ends; nil when
	// none is.
	measuring chan struct{}
}

// clocks are the workers' clock offsets by worker ID: measured in the
// background when a worker announces itself, and again when a run finds
// the last measurement older than clockAge.
type clocks struct {
	mu      sync.Mutex
	workers map[string]*workerClock
	// ctx ends the measurements in progress (the cluster closes), and
	// measuring waits for them.
	ctx       context.Context
	measuring sync.WaitGroup
}

// measure starts measuring worker id's clock, unless a measurement is in
// progress or the last one is fresh; it returns the channel to wait on
// for a worker never measured yet, nil for one that was.
func (c *Cluster) measure(id string) <-chan struct{} {
	cl := &c.clocks
	cl.mu.Lock()
	defer cl.mu.Unlock()
	wc := cl.workers[id]
	if wc == nil {
		wc = &workerClock{}
		cl.workers[id] = wc
	}
	if wc.measuring == nil && (wc.at.IsZero() || time.Since(wc.at) > clockAge) && cl.ctx.Err() == nil {
		done := make(chan struct{})
		wc.measuring = done
		cl.measuring.Go(func() {
			o, err := clocksync.Measure(cl.ctx, 0, func(ctx context.Context) (int64, error) { return c.askClock(ctx, id) })
			if err != nil {
				c.log.Debug("distributed: the worker's times are taken as they come", "worker", id, "err", err)
			}
			cl.mu.Lock()
			wc.offset, wc.at, wc.measuring = o, time.Now(), nil
			cl.mu.Unlock()
			close(done)
		})
	}
	if wc.at.IsZero() {
		return wc.measuring // nil once the cluster is closed: nothing to wait for
	}
	return nil
}

// askClock asks worker id the time on its clock, over NATS.
func (c *Cluster) askClock(ctx context.Context, id string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, clockWait)
	defer cancel()
	m, err := c.conn.NATS().RequestWithContext(ctx, workermsg.ClockSubject(c.queueOf(id), id), nil)
	if err != nil {
		return 0, fmt.Errorf("asking worker %s the time: %w", id, err)
	}
	var clock workermsg.Clock
	if err := json.Unmarshal(m.Data, &clock); err != nil {
		return 0, fmt.Errorf("worker %s answered the time with %q: %w", id, m.Data, err)
	}
	return clock.Time, nil
}

// clockOffsets returns the clock offsets of the workers ids: the last
// measured, waiting (all at once) for workers never measured yet, and
// measuring again in the background those measured long ago; or ctx's
// error if it is done first. A worker whose clock could not be measured
// has the zero Offset.
func (c *Cluster) clockOffsets(ctx context.Context, ids []string) (map[string]clocksync.Offset, error) {
	var waits []<-chan struct{}
	for _, id := range ids {
		if w := c.measure(id); w != nil {
			waits = append(waits, w)
		}
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cl := &c.clocks
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := map[string]clocksync.Offset{}
	for _, id := range ids {
		if wc := cl.workers[id]; wc != nil {
			out[id] = wc.offset
		}
	}
	return out, nil
}

// traceAhead asks the workers ids, all at once, to start their execution
// tracers ahead of a traced run's tasks (keeping their traces, with
// keep): starting one costs milliseconds, which would otherwise delay
// each worker's first task. A worker that does not answer within
// clockWait starts its tracer with its first task.
func (c *Cluster) traceAhead(ctx context.Context, ids []string, keep bool) {
	var body []byte
	if keep {
		body = []byte(workermsg.TraceKeep)
	}
	ctx, cancel := context.WithTimeout(ctx, clockWait)
	defer cancel()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if _, err := c.conn.NATS().RequestWithContext(ctx, workermsg.TraceSubject(c.queueOf(id), id), body); err != nil {
				c.log.Debug("distributed: the worker starts its tracer with its first task", "worker", id, "err", err)
			}
		})
	}
	wg.Wait()
}

// queueOf returns the queue worker id serves (a native program's worker
// serves its build's queue), the cluster's own when it does not say.
func (c *Cluster) queueOf(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.known[id]; ok && w.Queue != "" {
		return w.Queue
	}
	return c.opt.Queue
}
