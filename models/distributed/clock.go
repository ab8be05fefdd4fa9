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

// clockAge is how long a worker's measured clock offset is trusted: a
// clock that NTP does not discipline drifts by tens of microseconds a
// second, so a run more than this after the last measurement measures
// again.
const clockAge = time.Minute

// clockWait bounds each round trip of a clock measurement: a worker that
// does not answer within it (gone, or busy beyond reason) is left
// unmeasured, and its times are taken as they come.
const clockWait = 2 * time.Second

// clockReading is one measurement of a worker's clock, in progress until
// done is closed.
type clockReading struct {
	done   chan struct{}
	offset clocksync.Offset // zero when the measurement failed
	at     time.Time        // when it ended
}

// clocks are the workers' clock offsets by worker ID: measured in the
// background when a worker announces itself, and again when a run needs
// one that is missing or older than clockAge.
type clocks struct {
	mu       sync.Mutex
	readings map[string]*clockReading
	// ctx ends the measurements in progress (the cluster closes), and
	// measuring waits for them.
	ctx       context.Context
	measuring sync.WaitGroup
}

// measure starts measuring worker id's clock unless a measurement is in
// progress or fresh, and returns the reading to wait for.
func (c *Cluster) measure(id string) *clockReading {
	cl := &c.clocks
	cl.mu.Lock()
	defer cl.mu.Unlock()
	r := cl.readings[id]
	if r != nil {
		select {
		case <-r.done:
			if r.offset.Measured() && time.Since(r.at) < clockAge {
				return r
			}
		default:
			return r // in progress
		}
	}
	r = &clockReading{done: make(chan struct{})}
	if cl.ctx.Err() != nil { // the cluster is closed
		close(r.done)
		return r
	}
	cl.readings[id] = r
	cl.measuring.Go(func() {
		defer close(r.done)
		o, err := clocksync.Measure(cl.ctx, 0, func(ctx context.Context) (int64, error) { return c.askClock(ctx, id) })
		if err != nil {
			c.log.Debug("distributed: the worker's times are taken as they come", "worker", id, "err", err)
		}
		r.offset, r.at = o, time.Now()
	})
	return r
}

// askClock asks worker id the time on its clock, over NATS.
func (c *Cluster) askClock(ctx context.Context, id string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, clockWait)
	defer cancel()
	m, err := c.conn.NATS().RequestWithContext(ctx, workermsg.ClockSubject(c.opt.Queue, id), nil)
	if err != nil {
		return 0, fmt.Errorf("asking worker %s the time: %w", id, err)
	}
	var clock workermsg.Clock
	if err := json.Unmarshal(m.Data, &clock); err != nil {
		return 0, fmt.Errorf("worker %s answered the time with %q: %w", id, m.Data, err)
	}
	return clock.Time, nil
}

// clockOffsets returns the clock offsets of the workers ids, measuring
// those not measured lately (all at once), or ctx's error if it is done
// first. A worker whose clock could not be measured has the zero Offset.
func (c *Cluster) clockOffsets(ctx context.Context, ids []string) (map[string]clocksync.Offset, error) {
	readings := map[string]*clockReading{}
	for _, id := range ids {
		readings[id] = c.measure(id)
	}
	out := map[string]clocksync.Offset{}
	for id, r := range readings {
		select {
		case <-r.done:
			out[id] = r.offset
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}
