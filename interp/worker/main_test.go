package worker_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"atonce/internal/scratch"
	"atonce/interp/worker"
	"atonce/models/broker"
)

// joinedWorkerEnv, set in the environment of the test binary, makes it a
// worker that joined a kernel, as `atonce worker -nats URL [-queue NAME]
// [-tls-fingerprint SHA256]` is (see serveJoined).
const joinedWorkerEnv = "ATONCE_TEST_JOINED_WORKER"

func TestMain(m *testing.M) {
	if version := os.Getenv(joinedWorkerEnv); version != "" {
		os.Exit(serveJoined(version, os.Args[1:]))
	}
	code := m.Run()
	scratch.Remove() // the embedded NATS servers' store directories
	os.Exit(code)
}

// serveJoined is `atonce worker -nats ...` of the given version, in a
// process that must find no Go toolchain: it refuses to serve if it finds
// one, so that a test using it shows that none is needed.
func serveJoined(version string, args []string) int {
	fs := flag.NewFlagSet("joined worker", flag.ContinueOnError)
	natsURL := fs.String("nats", "", "the kernel's NATS server")
	queue := fs.String("queue", broker.DefaultQueue, "the work queue")
	fingerprint := fs.String("tls-fingerprint", "", "the server certificate's SHA-256")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if p, err := exec.LookPath("go"); err == nil || os.Getenv("GOROOT") != "" {
		fmt.Fprintf(os.Stderr, "joined worker: this worker must find no Go toolchain, but finds %q (GOROOT=%q)\n", p, os.Getenv("GOROOT"))
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer scratch.Remove() // as atonce worker does
	err := worker.ServeNATS(ctx, worker.NATSOptions{
		URL: *natsURL, Token: os.Getenv("ATONCE_NATS_TOKEN"), Queue: *queue, TLSFingerprint: *fingerprint,
		Version: version, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "joined worker: %v\n", err)
		return 1
	}
	return 0
}
