package distributed

import (
	"context"
	"log/slog"
)

// WithQueue starts a cluster on c's NATS server whose work queue is queue
// and whose local workers are started by workerCommand and must say
// version: how native mode runs the distributed model, its tasks taken
// only by workers of the notebook's build (the native program itself,
// `prog -nats URL -queue NAME`), apart from the interpreter's workers on
// c's queue. It shares c's server but not its connection: Close it
// before c, which stops its local workers.
func (c *Cluster) WithQueue(ctx context.Context, queue, version string, workerCommand []string, logger *slog.Logger) (*Cluster, error) {
	if logger == nil {
		logger = c.log
	}
	return StartCluster(ctx, ClusterOptions{
		URL: c.url, Token: c.token, TLSFingerprint: c.fp,
		Queue: queue, Version: version, WorkerCommand: workerCommand, Logger: logger,
	})
}
