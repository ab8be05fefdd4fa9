package modelrun

import (
	"context"
	"fmt"
	"os"
	"sync"

	"atonce/models"
)

// The distributed model's cluster: started on first use, kept for the
// engine's life (its workers stay connected between runs), replaced when
// %workers points the kernel elsewhere.
var (
	clusterMu  sync.Mutex
	cluster    *models.Cluster
	clusterOpt *models.ClusterOptions // nil: from the environment
)

// ClusterFromEnv returns the cluster options the environment asks for:
// ATONCE_NATS_URL (an existing NATS server instead of the embedded one),
// ATONCE_NATS_TOKEN, ATONCE_NATS_QUEUE, and for the embedded server
// ATONCE_NATS_LISTEN, ATONCE_NATS_TLS_CERT and ATONCE_NATS_TLS_KEY (which
// `atonce kernel -listen -tls-cert -tls-key` set).
func ClusterFromEnv() models.ClusterOptions {
	return models.ClusterOptions{
		URL:     os.Getenv("ATONCE_NATS_URL"),
		Token:   os.Getenv("ATONCE_NATS_TOKEN"),
		Queue:   os.Getenv("ATONCE_NATS_QUEUE"),
		Listen:  os.Getenv("ATONCE_NATS_LISTEN"),
		TLSCert: os.Getenv("ATONCE_NATS_TLS_CERT"),
		TLSKey:  os.Getenv("ATONCE_NATS_TLS_KEY"),
	}
}

// Cluster returns the running cluster, starting it if needed.
func Cluster(ctx context.Context) (*models.Cluster, error) {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster != nil {
		return cluster, nil
	}
	opt := ClusterFromEnv()
	if clusterOpt != nil {
		opt = *clusterOpt
	}
	opt.Version = config.Version
	if len(config.WorkerCommand) > 0 {
		opt.WorkerCommand = []string{config.WorkerCommand[0], "worker"}
	}
	c, err := models.StartCluster(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("the distributed model needs a NATS server: %w", err)
	}
	cluster = c
	return c, nil
}

// RestartCluster replaces the cluster by one with opt (its local workers
// stop; workers on other machines must join the new one). If that one
// cannot start, the next use starts the default cluster again.
func RestartCluster(ctx context.Context, opt models.ClusterOptions) (*models.Cluster, error) {
	clusterMu.Lock()
	old := cluster
	cluster, clusterOpt = nil, &opt
	clusterMu.Unlock()
	if old != nil {
		old.Close()
	}
	c, err := Cluster(ctx)
	if err != nil {
		clusterMu.Lock()
		clusterOpt = nil
		clusterMu.Unlock()
	}
	return c, err
}

// Shutdown stops the cluster, if one runs: its local workers and the
// embedded NATS server.
func Shutdown() {
	clusterMu.Lock()
	c := cluster
	cluster = nil
	clusterMu.Unlock()
	if c != nil {
		c.Close()
	}
}
