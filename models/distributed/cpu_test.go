package distributed

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"atonce/internal/cputime"
	"atonce/models"
	"atonce/models/modeltest"
	"atonce/models/workermsg"
)

// TestReportCountsJoinedWorkersCPU runs tasks that each use
// modeltest.BurnCPU of CPU on a worker that joined the cluster as one on
// another machine does (the kernel did not start it, so it cannot read
// the worker's CPU itself): the report's CPU counts what the worker says
// it used, and no more than the kernel and the worker used.
func TestReportCountsJoinedWorkersCPU(t *testing.T) {
	c, err := StartCluster(t.Context(), ClusterOptions{
		Version: modeltest.Version,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatalf("starting a cluster: %v", err)
	}
	defer c.Close()
	args := []string{modeltest.WorkerArg, "-nats", c.dialURL(), "-queue", c.Queue()}
	if c.fp != "" {
		args = append(args, "-tls-fingerprint", c.fp)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ATONCE_NATS_TOKEN="+c.token)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the joined worker: %v", err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(15 * time.Second)
	for len(c.Ready()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the joined worker did not announce itself within 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	const n = 4
	st := workermsg.NewState(modeltest.Version, []string{t.TempDir() + "/ledger"}, nil)
	task := models.Task{Name: "burn", N: n, Remote: &models.Remote{Func: "burn", State: st, Cluster: c}}
	kernel0 := cputime.Self()
	rep, err := Model{}.Run(context.Background(), task, models.Options{Workers: 1})
	kernel := cputime.Self() - kernel0
	if err != nil || rep.Err != "" {
		t.Fatalf("Run = error %v, Report.Err %q", err, rep.Err)
	}
	if got := len(c.LocalPIDs()); got != 0 {
		t.Fatalf("the run started %d local workers, want none (the joined worker is enough)", got)
	}
	worker := cputime.Process(cmd.Process.Pid)
	want := n * modeltest.BurnCPU
	if kernel >= want {
		t.Fatalf("the kernel used %v of CPU itself, as much as the tasks (%v): the check cannot tell the worker's part", kernel, want)
	}
	if rep.CPU < want {
		t.Errorf("Report.CPU %v, want at least the tasks' %v (the kernel used %v itself)", rep.CPU, want, kernel)
	}
	// Linux counts a process's CPU in ticks of 10 ms.
	if most := kernel + worker + 10*time.Millisecond; rep.CPU > most {
		t.Errorf("Report.CPU %v, more than the kernel's %v and the worker process's %v", rep.CPU, kernel, worker)
	}
}
