package kernel

import (
	"sync"

	"atonce/kernel/wire"
)

// shellQueue holds shell requests received but not yet handled, so that a
// failed cell can abort the execute requests queued behind it
// (stop_on_error) while other requests keep their order.
type shellQueue struct {
	mu     sync.Mutex
	items  []*wire.Message
	notify chan struct{}
	closed bool
}

func newShellQueue() *shellQueue {
	return &shellQueue{notify: make(chan struct{}, 1)}
}

func (q *shellQueue) push(m *wire.Message) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// pop blocks for the next message; ok is false once the queue is closed.
func (q *shellQueue) pop() (m *wire.Message, ok bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		if len(q.items) > 0 {
			m = q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return m, true
		}
		q.mu.Unlock()
		<-q.notify
	}
}

// takeExecutes removes and returns the queued execute requests, leaving
// the other messages in order.
func (q *shellQueue) takeExecutes() []*wire.Message {
	return q.take(func(m *wire.Message) bool { return m.Header.MsgType == "execute_request" })
}

// take removes and returns the queued messages that match, in order,
// leaving the others in order.
func (q *shellQueue) take(match func(*wire.Message) bool) []*wire.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	var taken, kept []*wire.Message
	for _, m := range q.items {
		if match(m) {
			taken = append(taken, m)
		} else {
			kept = append(kept, m)
		}
	}
	q.items = kept
	return taken
}

func (q *shellQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}
