package modelrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"atonce/models/broker"
	"atonce/models/distributed"
)

// The distributed model's cluster: started on first use, kept for the
// engine's life (its workers stay connected between runs), replaced when
// %workers points the kernel elsewhere, and brought back by the next
// engine when this one crashes (from what it saved in config.StateDir),
// so that workers that joined it stay joined.
var (
	clusterMu  sync.Mutex
	cluster    *distributed.Cluster
	clusterOpt *distributed.ClusterOptions // nil: from the environment
	restoring  sync.WaitGroup              // RestoreCluster's start
)

// ClusterFromEnv returns the cluster options the environment asks for:
// ATONCE_NATS_URL (an existing NATS server instead of the embedded one),
// ATONCE_NATS_TOKEN (its token, or the embedded server's), ATONCE_NATS_QUEUE,
// and for the embedded server ATONCE_NATS_LISTEN, ATONCE_NATS_TLS_CERT and
// ATONCE_NATS_TLS_KEY (which `atonce kernel -listen -tls-cert -tls-key`
// set).
func ClusterFromEnv() distributed.ClusterOptions {
	return distributed.ClusterOptions{
		URL:     os.Getenv("ATONCE_NATS_URL"),
		Token:   os.Getenv("ATONCE_NATS_TOKEN"),
		Queue:   os.Getenv("ATONCE_NATS_QUEUE"),
		Listen:  os.Getenv("ATONCE_NATS_LISTEN"),
		TLSCert: os.Getenv("ATONCE_NATS_TLS_CERT"),
		TLSKey:  os.Getenv("ATONCE_NATS_TLS_KEY"),
	}
}

// Cluster returns the running cluster, starting it if needed.
func Cluster(ctx context.Context) (*distributed.Cluster, error) {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	return clusterLocked(ctx)
}

// clusterLocked is Cluster with clusterMu held. The cluster it starts is,
// in order: the one %workers chose in this engine, the one an earlier
// engine of this kernel saved, the environment's.
func clusterLocked(ctx context.Context) (*distributed.Cluster, error) {
	if cluster != nil {
		return cluster, nil
	}
	opt := ClusterFromEnv()
	if clusterOpt != nil {
		opt = *clusterOpt
	}
	opt.Version, opt.StateDir, opt.Logger = config.Version, config.StateDir, config.logger()
	if len(config.WorkerCommand) > 0 {
		opt.WorkerCommand = []string{config.WorkerCommand[0], "worker"}
	}
	if opt.URL != "" && opt.Queue == "" {
		opt.Queue = kernelQueue(config.StateDir)
	}
	restored := false
	if clusterOpt == nil {
		saved, ok, err := distributed.SavedCluster(config.StateDir, opt)
		switch {
		case err != nil:
			opt.Logger.Warn("distributed: starting a new cluster", "err", err)
			if err := distributed.ForgetCluster(config.StateDir); err != nil {
				opt.Logger.Warn("distributed", "err", err)
			}
		case ok:
			opt, restored = saved, true
		}
	}
	c, err := distributed.StartCluster(ctx, opt)
	if err != nil && restored {
		return nil, fmt.Errorf("the distributed model could not bring back the NATS server it had before the engine restarted (%w); %%workers -listen ADDR or %%workers -nats URL starts another", err)
	}
	if err != nil {
		return nil, fmt.Errorf("the distributed model needs a NATS server: %w", err)
	}
	cluster = c
	return c, nil
}

// kernelQueue is the work queue of the kernel whose state directory is
// stateDir on a NATS server others may share (an external one): derived
// from the kernel (its state directory, which each of its engines is
// given, and the host), so two kernels on one server keep apart without
// the user naming queues, and a restarted engine, or a second %workers
// -nats, keeps the queue its joined workers serve. Empty (the default
// queue) without a state directory.
func kernelQueue(stateDir string) string {
	if stateDir == "" {
		return ""
	}
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + stateDir))
	return broker.DefaultQueue + "-" + hex.EncodeToString(sum[:4])
}

// RestoreCluster brings back, in the background, the cluster an earlier
// engine of this kernel saved in config.StateDir (one that crashed), so
// that the workers that joined it find it again at once rather than when
// the notebook next uses it. The first use of the cluster waits for it,
// and so does Shutdown.
func RestoreCluster() {
	if _, ok, _ := distributed.SavedCluster(config.StateDir, distributed.ClusterOptions{}); !ok {
		return
	}
	clusterMu.Lock()
	restoring.Go(func() {
		defer clusterMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := clusterLocked(ctx); err != nil {
			config.logger().Warn("distributed: the cluster could not be brought back", "err", err)
		}
	})
}

// RestartCluster replaces the cluster by one with opt (its local workers
// stop; workers on other machines must join the new one). If that one
// cannot start, the next use starts the default cluster again.
func RestartCluster(ctx context.Context, opt distributed.ClusterOptions) (*distributed.Cluster, error) {
	clusterMu.Lock()
	old := cluster
	cluster, clusterOpt = nil, &opt
	clusterMu.Unlock()
	if old != nil {
		old.Close()
	}
	if err := distributed.ForgetCluster(config.StateDir); err != nil {
		config.logger().Warn("distributed", "err", err)
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
// embedded NATS server. What it saved stays for the next engine; the
// kernel removes it when it stops.
func Shutdown() {
	restoring.Wait()
	clusterMu.Lock()
	c := cluster
	cluster = nil
	clusterMu.Unlock()
	if c != nil {
		c.Close()
	}
}
