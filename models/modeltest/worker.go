package modeltest

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"atonce/internal/childproc"
	"atonce/internal/cputime"
	"atonce/models"
	"atonce/models/broker"
	"atonce/models/workermsg"
	"atonce/models/workerserve"
)

// Version is the atonce version of the suite's states and workers.
const Version = "modeltest"

// WorkerArg, as a test binary's first argument, makes it a worker of the
// suite (see ServeWorkerIfAsked), followed by -pipe or by the flags a
// cluster gives its local workers (-nats URL -queue NAME).
const WorkerArg = "modeltest-worker"

// ClockSkewEnv names the environment variable that, set to a duration
// ("5s", "-250ms") where the suite's workers start, makes their clocks
// read that much ahead (workerserve.WithClockSkew): workers on this
// machine then look like workers on one whose clock is off, and the
// engine must put their times right.
const ClockSkewEnv = "ATONCE_MODELTEST_CLOCK_SKEW"

// ServeWorkerIfAsked makes the test binary a worker of the suite when it
// was started as one (its first argument is WorkerArg): it serves until
// told to stop, then exits. TestMain calls it first.
func ServeWorkerIfAsked() {
	if len(os.Args) < 2 || os.Args[1] != WorkerArg {
		return
	}
	if err := serveWorker(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", WorkerArg, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serveWorker(args []string) error {
	fs := flag.NewFlagSet(WorkerArg, flag.ContinueOnError)
	pipe := fs.Bool("pipe", false, "serve the engine over fds 3 and 4")
	natsURL := fs.String("nats", "", "the cluster's NATS server")
	queue := fs.String("queue", broker.DefaultQueue, "the work queue")
	fingerprint := fs.String("tls-fingerprint", "", "the server certificate's SHA-256 fingerprint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var opts []workerserve.Option
	if v := os.Getenv(ClockSkewEnv); v != "" {
		skew, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", ClockSkewEnv, err)
		}
		opts = append(opts, workerserve.WithClockSkew(skew))
	}
	r := newRunner()
	if *pipe {
		requests, answers, err := childproc.ChildPipes()
		if err != nil {
			return err
		}
		return workerserve.Pipe(context.Background(), workermsg.NewConn(requests, answers), r, opts...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return workerserve.NATS(ctx, workerserve.NATSOptions{
		URL: *natsURL, Token: os.Getenv("ATONCE_NATS_TOKEN"), Queue: *queue, TLSFingerprint: *fingerprint,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, r, opts...)
}

// Workers gives one check of the suite (t) the workers its runs use, as
// the maker of each run's Task.Remote. Its resources end with t.
type Workers func(t *testing.T) Remote

// Remote makes the Task.Remote of a run of the suite's function fn in
// state st.
type Remote func(fn string, st workermsg.State) *models.Remote

// PipeWorkers gives workers started from the test binary that serve
// their pipes: the processes model's.
func PipeWorkers(*testing.T) Remote {
	return func(fn string, st workermsg.State) *models.Remote {
		return &models.Remote{Func: fn, State: st, Command: []string{os.Args[0], WorkerArg, "-pipe"}}
	}
}

// BurnCPU is the CPU time each task of the suite's function "burn" uses.
const BurnCPU = 50 * time.Millisecond

// taskFunc is one of the suite's task functions: attempt counts the
// times task i was started, this one included, and order the starts of
// any task before this one (the first task to start sees 0).
type taskFunc func(ctx context.Context, i, attempt, order int) (any, error)

// funcs are the suite's task functions by name: in-process models call
// them through Task.Call, the test worker by name.
var funcs = map[string]taskFunc{
	"double": func(_ context.Context, i, _, _ int) (any, error) { return 2 * i, nil },
	"sleep": func(ctx context.Context, _, _, _ int) (any, error) {
		return nil, models.Sleep(ctx, time.Millisecond)
	},
	"called": func(context.Context, int, int, int) (any, error) { return nil, errors.New("called") },
	"odd": func(_ context.Context, i, _, _ int) (any, error) {
		if i%2 == 1 {
			return nil, fmt.Errorf("odd %d", i)
		}
		return i, nil
	},
	"panic": func(_ context.Context, i, _, _ int) (any, error) {
		if i == 3 {
			panic("boom")
		}
		return i, nil
	},
	"sleep-index": func(ctx context.Context, i, _, _ int) (any, error) {
		if err := models.Sleep(ctx, time.Millisecond); err != nil {
			return nil, err
		}
		return i, nil
	},
	"nothing": func(context.Context, int, int, int) (any, error) { return nil, nil },
	"stop-after-2": func(ctx context.Context, i, _, order int) (any, error) {
		if order < 2 { // the first two to start, in whatever order the model takes them
			return i, nil
		}
		return nil, models.Sleep(ctx, time.Hour) // returns when the run stops
	},
	"sleep-2ms": func(ctx context.Context, _, _, _ int) (any, error) {
		return nil, models.Sleep(ctx, 2*time.Millisecond)
	},
	// sleep-spin is blocked for SpinSleep, then computes for as long.
	"sleep-spin": func(ctx context.Context, _, _, _ int) (any, error) {
		if err := models.Sleep(ctx, SpinSleep); err != nil {
			return nil, err
		}
		for end := time.Now().Add(SpinSleep); time.Now().Before(end); {
		}
		return nil, nil
	},
	// burn computes until its process has used BurnCPU more CPU time,
	// however busy the machine.
	"burn": func(context.Context, int, int, int) (any, error) {
		for start := cputime.Self(); cputime.Self()-start < BurnCPU; {
		}
		return nil, nil
	},
	// die-once ends the worker process that first runs task 3.
	"die-once": func(_ context.Context, i, attempt, _ int) (any, error) {
		if i == 3 && attempt == 1 {
			os.Exit(3)
		}
		return i, nil
	},
}

// ledgerMu serializes this process's reads and writes of a ledger.
var ledgerMu sync.Mutex

// record writes down in the ledger at path that task i started, and
// returns how many times it has started, this time included, and how many
// starts the ledger held before this one. Lines are
// appended whole (O_APPEND), so workers in several processes may share a
// ledger; a task's attempts come one after another.
func record(path string, i int) (attempt, order int, err error) {
	ledgerMu.Lock()
	defer ledgerMu.Unlock()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return 0, 0, err
	}
	attempt = 1
	lines := strings.Fields(string(b))
	for _, line := range lines {
		if line == strconv.Itoa(i) {
			attempt++
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%d\n", i); err != nil {
		return 0, 0, err
	}
	return attempt, len(lines), nil
}

// runner is the test worker: a workerserve.Runner that runs the suite's
// funcs. Its "notebook state" is the ledger's path (the one cell).
type runner struct {
	hello workermsg.Hello

	mu     sync.Mutex
	state  workermsg.State
	run    string             // the run of the task in progress
	cancel context.CancelFunc // stops it
}

var _ workerserve.Runner = (*runner)(nil)

func newRunner() *runner {
	return &runner{hello: workerserve.NewHello(Version)}
}

func (r *runner) Hello() workermsg.Hello { return r.hello }

func (r *runner) Loaded() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state.Key
}

func (r *runner) Load(_ context.Context, st workermsg.State) workermsg.Ready {
	if st.Version != Version || len(st.Cells) != 1 {
		return workermsg.Ready{Key: st.Key, Err: fmt.Sprintf("not a state of the suite: version %q, %d cells", st.Version, len(st.Cells))}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = st
	return workermsg.Ready{Key: st.Key}
}

func (r *runner) Run(ctx context.Context, t workermsg.Task) workermsg.Result {
	res := workermsg.Result{ID: t.ID, Run: t.Run, Index: t.Index, Worker: r.hello.ID}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	st := r.state
	r.run, r.cancel = t.Run, cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.run, r.cancel = "", nil
		r.mu.Unlock()
	}()
	f, ok := funcs[t.Func]
	switch {
	case st.Key != t.StateKey:
		res.Err = "the worker does not hold the state " + t.StateKey
	case !ok:
		res.Err = fmt.Sprintf("the suite has no function %q", t.Func)
	}
	res.Start = time.Now().UnixNano()
	if res.Err == "" {
		value, err := call(ctx, f, st.Cells[0], t.Index)
		if err != nil {
			res.Err = err.Error()
		}
		if value != nil {
			b, err := json.Marshal(value)
			if err != nil {
				res.Err = err.Error()
			}
			res.Value = b
		}
	}
	res.End = time.Now().UnixNano()
	return res
}

// call runs task i of f, written down in the ledger, turning a panic
// into an error as the models do.
func call(ctx context.Context, f taskFunc, ledger string, i int) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("task %d panicked: %v", i, p)
		}
	}()
	attempt, order, err := record(ledger, i)
	if err != nil {
		return nil, err
	}
	return f(ctx, i, attempt, order)
}

func (r *runner) StopRun(run string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.run == run && r.cancel != nil {
		r.cancel()
	}
}
