package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"atonce/models/broker"
	"atonce/models/workermsg"
)

// NATSOptions say how a distributed worker reaches its kernel.
type NATSOptions struct {
	URL   string // nats://[TOKEN@]HOST:PORT
	Token string // overrides a token in URL
	// Queue is the work queue to serve (the kernel's; see
	// models.DefaultQueue).
	Queue string
	// TLSFingerprint pins the server's certificate (hex SHA-256), as the
	// kernel's join command prints it; empty for a plain connection.
	TLSFingerprint string
	Version        string
	Logger         *slog.Logger
}

// ServeNATS is a distributed worker: it connects to the kernel's NATS
// server, announces itself, and takes the queue's tasks one at a time,
// loading each task's notebook state from the server the first time it
// meets it (cells travel once per state, not with every task). It returns
// when ctx is done, or with an error when it cannot connect.
func ServeNATS(ctx context.Context, opt NATSOptions) error {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	var copts []broker.ConnectOption
	copts = append(copts, broker.WithName("atonce worker"), broker.WithLogger(log))
	if opt.TLSFingerprint != "" {
		copts = append(copts, broker.WithTLSFingerprint(opt.TLSFingerprint))
	}
	conn, err := broker.Connect(ctx, opt.URL, opt.Token, copts...)
	if err != nil {
		return err
	}
	defer conn.Close()

	wk := New(opt.Version, nil)
	defer wk.Close()
	info := broker.NewWorkerInfo(opt.Version)
	info.ID = wk.Hello().ID
	info.Queue = opt.Queue
	if err := broker.ServeWorkerInfo(ctx, conn, info); err != nil {
		return fmt.Errorf("announcing the worker: %w", err)
	}
	sub, err := conn.NATS().Subscribe(workermsg.CancelSubject(opt.Queue), func(m *nats.Msg) {
		var c workermsg.Cancel
		if json.Unmarshal(m.Data, &c) == nil {
			wk.StopRun(c.Run)
		}
	})
	if err != nil {
		return fmt.Errorf("listening for interrupts: %w", err)
	}
	defer sub.Unsubscribe()
	log.Info("worker ready", "server", conn.Server(), "queue", opt.Queue, "id", info.ID)

	// A worker of another version must not run the kernel's tasks (replay
	// needs identical symbol tables): it hands its task back and leaves.
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	var refused error
	handle := func(ctx context.Context, taskID string, payload []byte, delivery int) ([]byte, error) {
		var t workermsg.Task
		if err := json.Unmarshal(payload, &t); err != nil {
			return nil, fmt.Errorf("a malformed task: %w", err)
		}
		var loadStart, loadEnd int64
		if wk.Loaded() != t.StateKey {
			loadStart = time.Now().UnixNano()
			data, err := broker.GetState(ctx, conn, t.StateKey)
			if err != nil {
				return nil, fmt.Errorf("fetching the notebook state: %w", err)
			}
			var st workermsg.State
			if err := json.Unmarshal(data, &st); err != nil {
				return nil, fmt.Errorf("a malformed notebook state: %w", err)
			}
			if st.Version != opt.Version {
				refused = fmt.Errorf("this worker is atonce %s but the kernel is atonce %s: a worker must run the same atonce build as the kernel (replaying the notebook needs identical symbol tables); the worker leaves and its task goes to another", opt.Version, st.Version)
				log.Error(refused.Error())
				stopConsuming()
				return nil, refused
			}
			if ready := wk.Load(ctx, st); ready.Err != "" {
				return nil, errors.New(ready.Err)
			}
			loadEnd = time.Now().UnixNano()
		}
		res := wk.Run(ctx, t)
		res.LoadStart, res.LoadEnd = loadStart, loadEnd
		return json.Marshal(res)
	}
	err = broker.Consume(consumeCtx, conn, opt.Queue, handle, broker.WithWorkerID(info.ID))
	if refused != nil {
		return refused
	}
	return err
}
