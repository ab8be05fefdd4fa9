package worker

import (
	"context"
	"log/slog"

	"atonce/models/workerserve"
)

// NATSOptions say how a distributed worker reaches its kernel.
type NATSOptions struct {
	URL   string // nats://[TOKEN@]HOST:PORT
	Token string // overrides a token in URL
	// Queue is the work queue to serve (the kernel's; see
	// broker.DefaultQueue).
	Queue string
	// TLSFingerprint pins the server's certificate (hex SHA-256), as the
	// kernel's join command prints it; empty for a plain connection.
	TLSFingerprint string
	Version        string
	Logger         *slog.Logger
}

// ServeNATS is a distributed worker of the given version: it connects to
// the kernel's NATS server, announces itself, and takes the queue's tasks
// one at a time (see workerserve.NATS). It is also a launcher of the
// native programs the kernel ships (package nativeship): a native run
// needs no Go toolchain on this machine. It returns when ctx is done, or
// with an error when it cannot connect.
func ServeNATS(ctx context.Context, opt NATSOptions) error {
	wk := New(opt.Version, nil)
	defer wk.Close()
	return workerserve.NATS(ctx, workerserve.NATSOptions{
		URL: opt.URL, Token: opt.Token, Queue: opt.Queue,
		TLSFingerprint: opt.TLSFingerprint, Launch: true, Logger: opt.Logger,
	}, wk)
}
