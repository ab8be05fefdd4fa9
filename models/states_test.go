package models_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"atonce/models"
)

// ownID is the calling goroutine's id, from its stack's first line.
func ownID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// parkedAs waits until goroutine id shows, in a dump of every
// goroutine, the wait reason status ("sync.Mutex.Lock", "chan receive",
// "select", "syscall"), or deadline. It orders a test without timing
// luck: the task is in the blocking call before the test releases it,
// however loaded the machine.
func parkedAs(id, status string, deadline time.Time) error {
	want := fmt.Sprintf("goroutine %s [%s", id, status)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		n := runtime.Stack(buf, true)
		if strings.Contains(string(buf[:n]), want) {
			return nil
		}
		runtime.Gosched()
	}
	return fmt.Errorf("goroutine %s never showed [%s]", id, status)
}

// blockedTask is a task of one call that blocks in a way the tracer
// names, and the releaser that lets it go once it is blocked.
type blockedTask struct {
	// block runs in the task: it blocks, after sending its goroutine's id.
	block func(ctx context.Context, id chan<- string) error
	// status is the goroutine dump's name for the blocked call, and
	// release unblocks it; "" when the task blocks for a set time.
	status  string
	release func()
}

// TestStateKinds runs tasks through the models' runner, with the tracer,
// that block on a mutex, a channel, a select, a sleep at an await, a
// pipe's read (a syscall) and a collection they start (runtime.GC), and
// checks that each task's states name it: the kind of its blocked span,
// and for the collection the run's GC and stop-the-world spans.
func TestStateKinds(t *testing.T) {
	var mu sync.Mutex
	ch, a, b := make(chan int), make(chan int), make(chan int)
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		t.Fatalf("pipe: %v", err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])

	for _, tt := range []struct {
		name string
		task blockedTask
		kind string
		min  time.Duration // the least time in that kind
	}{
		{"mutex", blockedTask{
			block: func(_ context.Context, id chan<- string) error {
				id <- ownID()
				mu.Lock()
				defer mu.Unlock() // the test's lock, handed over by its release
				return nil
			},
			status: "sync.Mutex.Lock", release: mu.Unlock,
		}, models.KindMutex, time.Microsecond},
		{"channel", blockedTask{
			block: func(_ context.Context, id chan<- string) error {
				id <- ownID()
				<-ch
				return nil
			},
			status: "chan receive", release: func() { ch <- 1 },
		}, models.KindChannel, time.Microsecond},
		{"select", blockedTask{
			block: func(_ context.Context, id chan<- string) error {
				id <- ownID()
				select {
				case <-a:
				case <-b:
				}
				return nil
			},
			status: "select", release: func() { b <- 1 },
		}, models.KindSelect, time.Microsecond},
		{"sleep at an await", blockedTask{
			block: func(ctx context.Context, id chan<- string) error {
				id <- ownID()
				return models.Sleep(ctx, 5*time.Millisecond)
			},
		}, models.KindAwait, 4 * time.Millisecond},
		{"pipe read", blockedTask{
			block: func(_ context.Context, id chan<- string) error {
				id <- ownID()
				var buf [1]byte
				_, err := syscall.Read(fds[0], buf[:])
				return err
			},
			status: "syscall", release: func() { _, _ = syscall.Write(fds[1], []byte{1}) },
		}, models.KindSyscall, time.Microsecond},
		{"runtime.GC", blockedTask{
			block: func(_ context.Context, id chan<- string) error {
				id <- ownID()
				runtime.GC()
				return nil
			},
		}, models.KindGC, time.Microsecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kind == models.KindMutex {
				mu.Lock() // the task blocks on it until released
			}
			id := make(chan string, 1)
			var releaser sync.WaitGroup
			var releaseErr error
			if tt.task.status != "" {
				releaser.Go(func() {
					select {
					case g := <-id:
						if releaseErr = parkedAs(g, tt.task.status, time.Now().Add(20*time.Second)); releaseErr == nil {
							tt.task.release()
						}
					case <-time.After(20 * time.Second):
						releaseErr = fmt.Errorf("the task never started")
					}
				})
			}
			task := models.Task{N: 1, Call: func(ctx context.Context, _ int) (any, error) { return nil, tt.task.block(ctx, id) }}
			rep, err := models.Sequential{}.Run(context.Background(), task, models.Options{Trace: true})
			releaser.Wait()
			if releaseErr != nil {
				t.Fatal(releaseErr)
			}
			if err != nil || rep.Tasks[0].Err != "" {
				t.Fatalf("Run: %v, task: %s", err, rep.Tasks[0].Err)
			}
			if !rep.Traced {
				t.Skip("the execution tracer was busy")
			}
			var in time.Duration
			for _, s := range rep.Tasks[0].States {
				if s.State == models.Blocked && s.Kind == tt.kind {
					in += s.End - s.Start
				}
			}
			if in < tt.min {
				t.Errorf("blocked on %q for %v in %v; want at least %v", tt.kind, in, rep.Tasks[0].States, tt.min)
			}
			if tt.kind == models.KindGC {
				checkCollected(t, rep)
			}
		})
	}
}

// checkCollected checks that rep, of a run whose task called
// runtime.GC, has the collection's mark phase and its stops of the world
// among its runtime spans, within the run.
func checkCollected(t *testing.T, rep models.Report) {
	t.Helper()
	kinds := map[string]int{}
	for _, s := range rep.Runtime {
		kinds[s.Kind]++
		if s.Start < 0 || s.End > rep.Wall || s.End <= s.Start || s.Worker != -1 {
			t.Errorf("runtime span %+v is outside the run's 0..%v, empty, or not the process's (worker -1)", s, rep.Wall)
		}
	}
	if kinds[models.RuntimeGC] == 0 || kinds[models.RuntimeSTW] == 0 {
		t.Errorf("runtime spans %+v; want the collection (%q) and its stops of the world (%q)", rep.Runtime, models.RuntimeGC, models.RuntimeSTW)
	}
}

// busyWork is a fixed amount of computation, about d on an idle CPU
// (calibrated once): unlike spin, a task that waits for a CPU does not
// finish it sooner.
func busyWork(d time.Duration) uint64 {
	calibrate.Do(func() {
		var x, calls uint64
		for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); calls++ {
			x += compute(1000)
		}
		perMs = max(calls*1000/20, x&1)
	})
	return compute(perMs * uint64(d/time.Millisecond))
}

var (
	calibrate sync.Once
	perMs     uint64
)

// compute does n steps of a xorshift generator.
func compute(n uint64) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// TestWaitKinds: what a runnable task waits for, by model: the event
// loop's token (eventloop: a task back from an await while another
// computes), the GIL (gil: another task holds the one processor), a CPU
// (threads with twice as many goroutines as processors).
func TestWaitKinds(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tt := range []struct {
		model     models.Model
		workers   int
		want, not string
	}{
		{models.EventLoop{}, 2, models.KindLoop, models.KindGIL},
		{models.GIL{}, 2, models.KindGIL, models.KindLoop},
		{models.Threads{}, 2 * procs, models.KindCPU, models.KindGIL},
	} {
		t.Run(tt.model.Name(), func(t *testing.T) {
			// Every task awaits a short sleep, then computes: with more
			// tasks than processors (or one token, or one lock), some
			// must wait while others compute.
			n := tt.workers
			task := models.Task{N: n, Call: func(ctx context.Context, _ int) (any, error) {
				if err := models.Sleep(ctx, time.Millisecond); err != nil {
					return nil, err
				}
				return busyWork(30 * time.Millisecond), nil
			}}
			rep, err := tt.model.Run(context.Background(), task, models.Options{Workers: tt.workers, Trace: true})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Traced {
				t.Skip("the execution tracer was busy")
			}
			waiting := map[string]time.Duration{}
			var running time.Duration
			for _, st := range models.StateTotals(rep) {
				switch st.State {
				case models.Waiting:
					waiting[st.Kind] += st.Time
				case models.Running:
					running += st.Time
				}
			}
			// n tasks on n/2 lanes or fewer: while half of them compute,
			// the other half waits (less the sleep it began with); say
			// for at least a quarter of the computing.
			if waiting[tt.want] < running/4 {
				t.Errorf("running %v, waiting %v (by kind); want at least %v waiting for %q", running, waiting, running/4, tt.want)
			}
			if waiting[tt.not] > 0 {
				t.Errorf("waiting %v (by kind); want none waiting for %q under %s", waiting, tt.not, tt.model.Name())
			}
		})
	}
}
