package distributed_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/broker"
	"atonce/models/distributed"
	"atonce/models/modeltest"
	"atonce/models/workermsg"
)

// ChaosSeedEnv names the environment variable that replays a TestChaos
// run: the seed its log printed.
const ChaosSeedEnv = "ATONCE_CHAOS_SEED"

// TestChaos runs ten runs of 1,000 tasks on four local workers and, in
// each, kills one of them (SIGKILL) chosen at random, after a random
// number of results came back: the moment is the run's own progress
// hook, which the run calls after each result, so the kill comes
// mid-run whatever the machine's speed. Each run must report every
// task once with its right result (none lost, none duplicated), and the
// results stream on the server must hold exactly one result per task.
// The choices come from a seed the log prints; ATONCE_CHAOS_SEED=SEED
// makes them again.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("ten runs of 1,000 tasks with workers killed: skipped with -short")
	}
	const runs, n, workers = 10, 1000, 4
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(ChaosSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", ChaosSeedEnv, s, err)
		}
	}
	t.Logf("seed %d: %s=%d replays these runs' choices", seed, ChaosSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	c := testCluster(t)
	// The suite's "sleep-index" task: a millisecond's sleep, then i (each
	// start written in the ledger), so a worker spends most of its time
	// in a task and the one killed most often holds one.
	ledger := filepath.Join(t.TempDir(), "ledger")
	state := workermsg.NewState(modeltest.Version, []string{ledger}, nil)

	// Bounded in time as in count: three minutes for the ten runs.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	var lostAll, dupAll int
	for run := range runs {
		at := 1 + rng.IntN(n-1) // results seen before the kill
		victim := 0
		progress := func(_ string, done, _ int) {
			if done != at {
				return
			}
			pids := c.LocalPIDs()
			slices.Sort(pids)
			if len(pids) == 0 {
				t.Errorf("run %d: no worker to kill after %d results", run, done)
				return
			}
			victim = pids[rng.IntN(len(pids))]
			if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
				t.Errorf("run %d: killing worker %d: %v", run, victim, err)
			}
		}
		task := models.Task{Name: "sleep-index", N: n, Remote: &models.Remote{Func: "sleep-index", State: state, Cluster: c}}
		rep, err := distributed.Model{}.Run(ctx, task, models.Options{Workers: workers, Progress: progress})
		if err != nil {
			t.Fatalf("run %d (kill after %d results): %v", run, at, err)
		}
		if victim == 0 {
			t.Fatalf("run %d: no worker was killed (after %d results)", run, at)
		}
		seen := map[int]int{}
		redelivered := 0
		for _, r := range rep.Tasks {
			seen[r.Index]++
			if r.Err != "" || fmt.Sprint(r.Result) != strconv.Itoa(r.Index) {
				t.Errorf("run %d: task %d got %v (error %q), want %d", run, r.Index, r.Result, r.Err, r.Index)
			}
			if r.Attempts > 1 {
				redelivered++
			}
		}
		lost, dup := 0, 0
		for i := range n {
			switch k := seen[i]; {
			case k == 0:
				lost++
			case k > 1:
				dup += k - 1
			}
		}
		stored := storedResults(t, ctx, c)
		t.Logf("run %d: worker %d killed after %d results; %d tasks reported, lost %d, duplicated %d, %d redelivered, %d results stored; %v",
			run, victim, at, len(rep.Tasks), lost, dup, redelivered, stored, rep.Wall.Round(time.Millisecond))
		if lost != 0 || dup != 0 || stored != n {
			t.Errorf("run %d: lost %d, duplicated %d, %d results stored on the server; want none lost, none duplicated, %d stored", run, lost, dup, stored, n)
		}
		lostAll += lost
		dupAll += dup
	}
	t.Logf("%d runs of %d tasks in %v: lost %d, duplicated %d", runs, n, time.Since(start).Round(time.Second), lostAll, dupAll)
}

// storedResults is how many results the results stream of c's queue
// holds: the latest run's, until the next run empties it.
func storedResults(t *testing.T, ctx context.Context, c *distributed.Cluster) int {
	t.Helper()
	s, err := c.Conn().JetStream().Stream(ctx, broker.ResultsStream(c.Queue()))
	if err != nil {
		t.Fatalf("the results stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("the results stream: %v", err)
	}
	return int(info.State.Msgs)
}
