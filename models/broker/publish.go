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

// publishRetry bounds how long a task or a result is published again
// when its stream does not take it: on a NATS cluster, the server that led
// the stream may have gone, and the others take seconds to elect another.
const publishRetry = time.Minute

// errQueueGone says a queue's stream was deleted (its run ended).
var errQueueGone = errors.New("the queue was deleted")

// publishStored publishes msg to stream and waits for the stream to store
// it. While the stream does not answer (it has no leader for now) or does
// not confirm, it tries again, up to publishRetry or until ctx is done,
// calling between (if not nil) before each new try. msg must carry a
// Nats-Msg-Id, so that a message the stream stored without confirming is
// not stored twice. It returns an error wrapping errQueueGone when the
// stream is not there.
func (c *Conn) publishStored(ctx context.Context, msg *nats.Msg, stream string, between func(), log *slog.Logger) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(publishRetry)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := c.js.PublishMsg(pctx, msg, jetstream.WithExpectStream(stream))
		cancel()
		if err == nil || c.closedError(err) != nil || ctx.Err() != nil {
			return ack, err
		}
		if c.streamGone(ctx, stream, err) {
			return nil, fmt.Errorf("%w: %w", errQueueGone, err)
		}
		if permanent(err) {
			return nil, err // e.g. a message larger than the stream takes
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		log.Debug("the stream did not take a message; trying again", "stream", stream, "err", err)
		if between != nil {
			between()
		}
		sleep(ctx, wait)
	}
}

// permanent reports whether err is the stream's answer that it will not
// take the message, whoever leads it (a message too large, say): trying
// again cannot help. JetStream answers 503 while it has no leader.
func permanent(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.Code != 0 && api.Code != 503
}

// streamGone reports whether err, the answer to a message published to
// stream, says the stream is not there: it was deleted (its run ended).
// No answer at all is ambiguous, since a stream between two leaders on a
// cluster answers nobody either: then it asks JetStream which.
func (c *Conn) streamGone(ctx context.Context, stream string, err error) bool {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return true
	}
	if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, serr := c.js.Stream(sctx, stream)
	return errors.Is(serr, jetstream.ErrStreamNotFound)
}
