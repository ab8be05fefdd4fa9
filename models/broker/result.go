package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// resultRetry bounds how long a worker tries to publish a result that
// the results stream does not take: on a NATS cluster, the server that
// led the stream may have gone, and the others take seconds to elect
// another.
const resultRetry = time.Minute

// errQueueGone says a task's queue was deleted (its run ended) while the
// task ran.
var errQueueGone = errors.New("the queue was deleted")

// publishResult publishes res, the result of the task msg, and waits for
// the results stream to store it. While the stream does not answer (it
// has no leader for now) or does not confirm, it tries again, up to
// resultRetry, telling the server the task is still in progress so that
// it is not handed to another worker meanwhile. res carries the task's
// id as its Nats-Msg-Id, so a result the stream stored without
// confirming is not stored twice. It returns an error wrapping
// errQueueGone when the stream is not there.
func (w *worker) publishResult(msg jetstream.Msg, res *nats.Msg, log *slog.Logger) error {
	stream := ResultsStream(w.name)
	deadline := time.Now().Add(resultRetry)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := w.conn.js.PublishMsg(ctx, res, jetstream.WithExpectStream(stream))
		cancel()
		if err == nil || w.conn.closedError(err) != nil {
			return err
		}
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("%w: %w", errQueueGone, err)
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			// Deleted, or between two leaders: ask JetStream which.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, serr := w.conn.js.Stream(ctx, stream)
			cancel()
			if errors.Is(serr, jetstream.ErrStreamNotFound) {
				return fmt.Errorf("%w: %w", errQueueGone, err)
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		log.Debug("the results stream did not take the task's result; trying again", "err", err)
		if err := msg.InProgress(); err != nil {
			log.Debug("could not send a keep-alive", "err", err)
		}
		time.Sleep(wait)
	}
}
