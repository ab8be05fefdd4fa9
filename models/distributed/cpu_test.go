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

// TestJoinedWorkersCPUAndClock runs tasks that each use
// modeltest.BurnCPU of CPU on a worker that joined the cluster as one on
// another machine does, its clock 5 s ahead of the kernel's. The kernel
// did not start it, so it cannot read the worker's CPU itself: the
// report's CPU counts what the worker says it used, and no more than the
// kernel and the worker used. The worker's clock offset was measured,
// and its tasks' bars are on the run's clock, within the run.
func TestJoinedWorkersCPUAndClock(t *testing.T) {
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
	const skew = 5 * time.Second
	cmd.Env = append(os.Environ(), "ATONCE_NATS_TOKEN="+c.token, modeltest.ClockSkewEnv+"="+skew.String())
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

	if len(rep.Pool) != 1 {
		t.Fatalf("Report.Pool has %d workers, want the joined one", len(rep.Pool))
	}
	if w := rep.Pool[0]; w.ClockUncertainty <= 0 || (w.ClockOffset-skew).Abs() > w.ClockUncertainty {
		t.Errorf("the joined worker's clock offset %v ± %v, want %v within its uncertainty", w.ClockOffset, w.ClockUncertainty, skew)
	}
	for _, r := range rep.Tasks {
		if r.Start < 0 || r.End < r.Start || r.End > rep.Wall {
			t.Errorf("task %d ran from %v to %v on the run's clock, want within the run's 0 to %v", r.Index, r.Start, r.End, rep.Wall)
		}
	}
}
