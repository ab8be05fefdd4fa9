package distributed_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"atonce/internal/cputime"
	"atonce/models"
	"atonce/models/distributed"
	"atonce/models/workermsg"
)

// The load benchmarks run the distributed model on the embedded NATS
// server with local `atonce worker -nats` processes (interpreted tasks,
// tracing off), from the binary ATONCE_BIN names (make bench sets it):
//
//	ATONCE_BIN=$PWD/bin/atonce go test -run '^$' -bench Load -benchtime 5x ./models/distributed/
//
// Each iteration is one run of the model; the metrics are medians over
// the iterations (a run's figures over its tasks), with the machine's
// load average beside them, since other programs share its cores.

// loadCells are the notebook the load benchmarks' workers replay.
var loadCells = []string{
	`import "time"`,
	`func Empty(i int) {}`,
	`func Nap(i int) { time.Sleep(20 * time.Millisecond) }`,
}

// atonceBin returns ATONCE_BIN and the version its workers have, or
// skips the benchmark.
func atonceBin(b *testing.B) (string, string) {
	bin := os.Getenv("ATONCE_BIN")
	if bin == "" {
		b.Skip("ATONCE_BIN is not set: the load benchmarks' workers are `atonce worker` processes (make bench sets it)")
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		b.Fatalf("%s version: %v", bin, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || f[0] != "atonce" {
		b.Fatalf("%s version printed %q, want \"atonce VERSION ...\"", bin, out)
	}
	return bin, f[1]
}

// loadCluster starts a cluster whose local workers are bin's, closed
// when b ends: on an embedded server, or on the NATS server or cluster
// ATONCE_BENCH_NATS_URL names (nats://TOKEN@HOST:PORT,...).
func loadCluster(b *testing.B, bin, version string) *distributed.Cluster {
	c, err := distributed.StartCluster(context.Background(), distributed.ClusterOptions{
		URL:           os.Getenv("ATONCE_BENCH_NATS_URL"),
		Version:       version,
		WorkerCommand: []string{bin, "worker"},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		b.Fatalf("starting a cluster: %v", err)
	}
	b.Cleanup(c.Close)
	return c
}

// loadRun is one run of fn, n times, on the cluster's workers.
func loadRun(b *testing.B, c *distributed.Cluster, st workermsg.State, fn string, n, workers int) models.Report {
	task := models.Task{Name: fn, N: n, Remote: &models.Remote{Func: fn, State: st, Cluster: c}}
	rep, err := distributed.Model{}.Run(context.Background(), task, models.Options{Workers: workers})
	if err != nil {
		b.Fatalf("a run of %d x %s on %d workers: %v", n, fn, workers, err)
	}
	if len(rep.Tasks) != n {
		b.Fatalf("a run of %d x %s reported %d tasks", n, fn, len(rep.Tasks))
	}
	for _, r := range rep.Tasks {
		if r.Err != "" {
			b.Fatalf("task %d failed: %s", r.Index, r.Err)
		}
	}
	return rep
}

// gaps returns, for each worker of rep, the time between one task's end
// and its next task's start: what the worker spends per task besides
// running it.
func gaps(rep models.Report) []time.Duration {
	per := map[int][]models.TaskRecord{}
	for _, r := range rep.Tasks {
		per[r.Worker] = append(per[r.Worker], r)
	}
	var out []time.Duration
	for _, rs := range per {
		slices.SortFunc(rs, func(a, b models.TaskRecord) int { return int(a.Start - b.Start) })
		for k := 1; k < len(rs); k++ {
			out = append(out, rs[k].Start-rs[k-1].End)
		}
	}
	return out
}

// quantile returns the q-quantile of ds (sorted here), 0 for none.
func quantile[T int64 | float64 | time.Duration](ds []T, q float64) T {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// load1 returns the machine's load average over the last minute, or -1.
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// rssMB returns the resident memory of process pid in MB, or 0.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// BenchmarkLoadEmpty measures empty tasks on 1, 2, 4 and 8 workers:
// tasks/s is the run's throughput (tasks over its wall time, which
// counts putting the state and creating the queue), gap-p50-µs and
// gap-p99-µs what a worker spends between one task's end and its next
// task's start, wall-µs/task the run's wall time per task, cpu-µs/task
// the kernel's and its local workers' CPU per task, kernel-cpu-µs/task
// the kernel's part (with the NATS server, which runs in its process).
func BenchmarkLoadEmpty(b *testing.B) {
	bin, version := atonceBin(b)
	st := workermsg.NewState(version, loadCells, nil)
	const n = 2000
	for _, workers := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			c := loadCluster(b, bin, version)
			loadRun(b, c, st, "Empty", n, workers) // workers start and load the state
			var tput, wall, cpu, kcpu, loads []float64
			var p50, p99 []time.Duration
			for b.Loop() {
				loads = append(loads, load1())
				self := cputime.Self()
				rep := loadRun(b, c, st, "Empty", n, workers)
				kcpu = append(kcpu, float64((cputime.Self()-self).Microseconds())/n)
				tput = append(tput, float64(n)/rep.Wall.Seconds())
				wall = append(wall, float64(rep.Wall.Microseconds())/n)
				cpu = append(cpu, float64(rep.CPU.Microseconds())/n)
				g := gaps(rep)
				p50 = append(p50, quantile(g, 0.5))
				p99 = append(p99, quantile(g, 0.99))
			}
			b.ReportMetric(quantile(tput, 0.5), "tasks/s")
			b.ReportMetric(float64(quantile(p50, 0.5).Microseconds()), "gap-p50-µs")
			b.ReportMetric(float64(quantile(p99, 0.5).Microseconds()), "gap-p99-µs")
			b.ReportMetric(quantile(wall, 0.5), "wall-µs/task")
			b.ReportMetric(quantile(cpu, 0.5), "cpu-µs/task")
			b.ReportMetric(quantile(kcpu, 0.5), "kernel-cpu-µs/task")
			b.ReportMetric(quantile(loads, 0.5), "load1")
		})
	}
}

// BenchmarkLoadSleep measures 1,000 tasks sleeping 20 ms on 32 workers:
// speedup is 1,000 x 20 ms (what one worker would take at best) over the
// run's wall time, busy/wall the tasks' summed time over it (how many
// ran at once, on average), gap-p50-µs the median time between one
// task's end and the next task's start on a worker, first-start-ms when
// the first task started and after-last-ms how long the run took after
// the last task ended (medians over the runs), MB/worker the workers'
// median resident memory after the runs.
func BenchmarkLoadSleep(b *testing.B) {
	bin, version := atonceBin(b)
	st := workermsg.NewState(version, loadCells, nil)
	const n, workers = 1000, 32
	c := loadCluster(b, bin, version)
	loadRun(b, c, st, "Nap", workers, workers) // workers start and load the state
	var speedup, parallel, loads, rss []float64
	var heads, tails, p50 []time.Duration
	for b.Loop() {
		loads = append(loads, load1())
		rep := loadRun(b, c, st, "Nap", n, workers)
		var busy time.Duration
		for _, r := range rep.Tasks {
			busy += r.End - r.Start
		}
		speedup = append(speedup, (n*20*time.Millisecond).Seconds()/rep.Wall.Seconds())
		parallel = append(parallel, busy.Seconds()/rep.Wall.Seconds())
		first, last := rep.Wall, time.Duration(0)
		for _, r := range rep.Tasks {
			first, last = min(first, r.Start), max(last, r.End)
		}
		heads = append(heads, first)
		tails = append(tails, rep.Wall-last)
		g := gaps(rep)
		p50 = append(p50, quantile(g, 0.5))
	}
	for _, pid := range c.LocalPIDs() {
		rss = append(rss, rssMB(pid))
	}
	b.ReportMetric(quantile(speedup, 0.5), "speedup")
	b.ReportMetric(quantile(parallel, 0.5), "busy/wall")
	b.ReportMetric(float64(quantile(p50, 0.5).Microseconds()), "gap-p50-µs")
	b.ReportMetric(float64(quantile(heads, 0.5).Milliseconds()), "first-start-ms")
	b.ReportMetric(float64(quantile(tails, 0.5).Milliseconds()), "after-last-ms")
	b.ReportMetric(quantile(rss, 0.5), "MB/worker")
	b.ReportMetric(quantile(loads, 0.5), "load1")
}
