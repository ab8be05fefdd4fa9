// Package workerserve is the worker side of the engine↔worker protocols,
// for any task runner: it speaks workermsg over a worker's pipes (the
// processes model, the race check) and takes tasks from a NATS work queue
// (the distributed model), and leaves the tasks to a Runner. The
// interpreter's worker (interp/worker, `atonce worker`) and the
// conformance suite's test worker (models/modeltest) both serve through
// it; native mode's compiled worker will too.
package workerserve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"atonce/internal/cputime"
	"atonce/models/broker"
	"atonce/models/nativeship"
	"atonce/models/workermsg"
)

// Runner holds one notebook state at a time and runs tasks in it. Load
// and Run are called one at a time; StopRun may be called concurrently
// with Run.
type Runner interface {
	// Hello is how the worker introduces itself.
	Hello() workermsg.Hello
	// Loaded returns the Key of the state held, "" if none.
	Loaded() string
	// Load makes st the state held; Ready.Err says why it could not.
	Load(ctx context.Context, st workermsg.State) workermsg.Ready
	// Run runs a task in the state held; its failures are the Result's
	// Err.
	Run(ctx context.Context, t workermsg.Task) workermsg.Result
	// StopRun stops the task in progress if it belongs to run.
	StopRun(run string)
}

// Racer is a Runner that can run a notebook function under an in-process
// model with the race detector watching (a worker built with -race).
type Racer interface {
	Race(ctx context.Context, r workermsg.Race) workermsg.Races
}

// ModelRunner is a Runner that can run a notebook function under an
// in-process model in its own process and answer with the report (a
// native program: see RunModel). It is called like Load and Run, one
// call at a time.
type ModelRunner interface {
	RunModel(ctx context.Context, r workermsg.Run) workermsg.Ran
}

// NewHello returns how a worker process of the given version introduces
// itself: a fresh ID, this machine and process.
func NewHello(version string) workermsg.Hello {
	host, _ := os.Hostname()
	return workermsg.Hello{ID: uuid.NewString(), Version: version, Host: host, PID: os.Getpid(), CPUs: runtime.NumCPU()}
}

// Pipe serves the engine over conn (the worker's pipes): it says hello,
// then answers what the engine sends, one message at a time — the time
// on its clock, a state to load, a task to run (under the execution
// tracer when the task asks; the tracer is started ahead when asked), a
// model run or race check for the Runners that can — until the request
// pipe closes (nil) or ctx is done.
func Pipe(ctx context.Context, conn *workermsg.Conn, r Runner, opts ...Option) error {
	s := newServer(r, opts)
	defer s.serve()()
	hello := r.Hello()
	if _, err := conn.Send(workermsg.Message{Kind: workermsg.KindHello, Hello: &hello}); err != nil {
		return fmt.Errorf("greeting the engine: %w", err)
	}
	for ctx.Err() == nil {
		m, _, err := conn.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading from the engine: %w", err)
		}
		var reply workermsg.Message
		if m.Kind == workermsg.KindRun || m.Kind == workermsg.KindRace {
			s.stopTracing() // a model run or race check traces by itself
		}
		switch {
		case m.Kind == workermsg.KindClock:
			clock := s.clock()
			reply = workermsg.Message{Kind: workermsg.KindClock, Clock: &clock}
		case m.Kind == workermsg.KindTrace:
			s.traceAhead(m.Keep)
			reply = workermsg.Message{Kind: workermsg.KindTrace}
		case m.Kind == workermsg.KindState && m.State != nil:
			ready := r.Load(ctx, *m.State)
			reply = workermsg.Message{Kind: workermsg.KindReady, Ready: &ready}
		case m.Kind == workermsg.KindRace && m.Race != nil:
			races := workermsg.Races{Model: m.Race.Model, Err: "this worker cannot check for data races"}
			if rc, ok := r.(Racer); ok {
				races = rc.Race(ctx, *m.Race)
			}
			reply = workermsg.Message{Kind: workermsg.KindRace, Races: &races}
		case m.Kind == workermsg.KindRun && m.Run != nil:
			ran := workermsg.Ran{Model: m.Run.Model, Err: "this worker cannot run a model in its own process"}
			if mr, ok := r.(ModelRunner); ok {
				ran = mr.RunModel(ctx, *m.Run)
			}
			reply = workermsg.Message{Kind: workermsg.KindRun, Ran: &ran}
		case m.Kind == workermsg.KindTask && m.Task != nil:
			res := s.run(ctx, *m.Task)
			reply = workermsg.Message{Kind: workermsg.KindResult, Result: &res}
		default:
			return fmt.Errorf("the engine sent a %q message the worker does not know", m.Kind)
		}
		if _, err := conn.Send(reply); err != nil {
			return fmt.Errorf("answering the engine: %w", err)
		}
	}
	return ctx.Err()
}

// NATSOptions say how a distributed worker reaches its kernel.
type NATSOptions struct {
	URL   string // nats://[TOKEN@]HOST:PORT
	Token string // overrides a token in URL
	// Queue is the work queue to serve (the kernel's; see
	// broker.DefaultQueue).
	Queue string
	// TLSFingerprint pins the server's certificate (hex SHA-256), as the
	// kernel's join command prints it; empty for a plain connection.
	TLSFingerprint string
	// Launch makes the worker a launcher of the native programs the kernel
	// ships (package nativeship): it says so in its presence, and runs
	// one worker process of the kernel's current native build, fetched
	// from the server, so that native runs need no Go toolchain here. For
	// an `atonce worker` that joined; not for a native program itself.
	Launch bool
	Logger *slog.Logger
}

// NATS is a distributed worker: it connects to the kernel's NATS server,
// announces itself (a launcher of native programs, with opt.Launch),
// answers the kernel's "what time is it?" on its ClockSubject, and takes
// the queue's tasks one at a time (under the execution tracer when a task
// asks), loading each task's notebook state from the server the first
// time it meets it (cells travel once per state, not with every task). A
// run the kernel interrupts has its task in progress stopped and its
// later tasks refused. It returns when ctx is done, or with an error when
// it cannot connect or its version is not the kernel's.
func NATS(ctx context.Context, opt NATSOptions, r Runner, opts ...Option) error {
	s := newServer(r, opts)
	defer s.serve()()
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	var copts []broker.ConnectOption
	copts = append(copts, broker.WithName("atonce worker"), broker.WithLogger(log))
	if opt.TLSFingerprint != "" {
		copts = append(copts, broker.WithTLSFingerprint(opt.TLSFingerprint))
	}
	conn, err := broker.Connect(ctx, opt.URL, opt.Token, copts...)
	if err != nil {
		return err
	}
	defer conn.Close()

	hello := r.Hello()
	info := broker.NewWorkerInfo(hello.Version)
	info.ID = hello.ID
	info.Queue = opt.Queue
	// Ready to tell the time before announcing itself: the kernel
	// measures a worker's clock when it announces itself.
	clockSub, err := conn.NATS().Subscribe(workermsg.ClockSubject(opt.Queue, info.ID), func(m *nats.Msg) {
		b, _ := json.Marshal(s.clock())
		if err := m.Respond(b); err != nil {
			log.Debug("could not tell the kernel the time", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("answering the kernel's clock: %w", err)
	}
	defer clockSub.Unsubscribe()
	traceSub, err := conn.NATS().Subscribe(workermsg.TraceSubject(opt.Queue, info.ID), func(m *nats.Msg) {
		s.traceAhead(string(m.Data) == workermsg.TraceKeep)
		if err := m.Respond(nil); err != nil {
			log.Debug("could not tell the kernel the tracer runs", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("listening for the kernel's tracing: %w", err)
	}
	defer traceSub.Unsubscribe()
	if opt.Launch {
		// Listening before the worker announces itself a launcher: no
		// announcement of a build is missed.
		l, err := nativeship.NewLauncher(conn, nativeship.LaunchOptions{
			Queue: opt.Queue, Worker: info.ID, URL: opt.URL, Token: opt.Token,
			TLSFingerprint: opt.TLSFingerprint, Logger: log,
		})
		if err != nil {
			return err
		}
		info.Launcher = true
		launchCtx, stopLaunching := context.WithCancel(ctx)
		var launching sync.WaitGroup
		launching.Go(func() { l.Run(launchCtx) })
		// Before the connection closes: the native worker stops and its
		// binary goes.
		defer launching.Wait()
		defer stopLaunching()
	}
	if err := broker.ServeWorkerInfo(ctx, conn, info); err != nil {
		return fmt.Errorf("announcing the worker: %w", err)
	}
	var stoppedMu sync.Mutex
	stopped := map[string]bool{} // runs the kernel interrupted
	sub, err := conn.NATS().Subscribe(workermsg.CancelSubject(opt.Queue), func(m *nats.Msg) {
		var c workermsg.Cancel
		if json.Unmarshal(m.Data, &c) == nil && c.Run != "" {
			stoppedMu.Lock()
			stopped[c.Run] = true
			stoppedMu.Unlock()
			r.StopRun(c.Run)
		}
	})
	if err != nil {
		return fmt.Errorf("listening for interrupts: %w", err)
	}
	defer sub.Unsubscribe()
	log.Info("worker ready", "server", conn.Server(), "queue", opt.Queue, "id", info.ID)

	// A worker of another version must not run the kernel's tasks (replay
	// needs identical symbol tables): it hands its task back and leaves.
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	var refused error
	handle := func(ctx context.Context, taskID string, payload []byte, delivery int) ([]byte, error) {
		var t workermsg.Task
		if err := json.Unmarshal(payload, &t); err != nil {
			return nil, fmt.Errorf("a malformed task: %w", err)
		}
		stoppedMu.Lock()
		interrupted := stopped[t.Run]
		stoppedMu.Unlock()
		if interrupted {
			return nil, fmt.Errorf("task %d was not started: its run was interrupted", t.Index)
		}
		cpuStart := cputime.Self()
		var loadStart, loadEnd int64
		if r.Loaded() != t.StateKey {
			loadStart = time.Now().UnixNano() // stamped with the result
			data, err := broker.GetState(ctx, conn, opt.Queue, t.StateKey)
			if err != nil {
				return nil, fmt.Errorf("fetching the notebook state: %w", err)
			}
			var st workermsg.State
			if err := json.Unmarshal(data, &st); err != nil {
				return nil, fmt.Errorf("a malformed notebook state: %w", err)
			}
			if st.Version != hello.Version {
				refused = fmt.Errorf("this worker is atonce %s but the kernel is atonce %s: a worker must run the same atonce build as the kernel (replaying the notebook needs identical symbol tables); the worker leaves and its task goes to another", hello.Version, st.Version)
				log.Error(refused.Error())
				stopConsuming()
				return nil, refused
			}
			if ready := r.Load(ctx, st); ready.Err != "" {
				return nil, errors.New(ready.Err)
			}
			loadEnd = time.Now().UnixNano()
		}
		res := s.run(ctx, t)
		res.LoadStart, res.LoadEnd = s.stampLoad(loadStart, loadEnd)
		res.CPUStart, res.CPUEnd = cpuStart.Nanoseconds(), cputime.Self().Nanoseconds()
		return json.Marshal(res)
	}
	err = broker.Consume(consumeCtx, conn, opt.Queue, handle, broker.WithWorkerID(info.ID))
	if refused != nil {
		return refused
	}
	return err
}
