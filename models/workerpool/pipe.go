package workerpool

import (
	"context"
	"fmt"
	"log/slog"

	"atonce/internal/childproc"
	"atonce/internal/clocksync"
	"atonce/models/workermsg"
)

// Pipe launches workers that speak workermsg on their pipes (requests on
// fd 3, answers on fd 4) and rebuild a notebook: `atonce worker -pipe`,
// its race-detector build, the conformance suite's test worker. A worker
// greets with its Hello, then loads State; it must be State's version.
type Pipe struct {
	// Command is the worker's binary and arguments.
	Command []string
	// Env is the worker's whole environment; nil means the engine's.
	Env []string
	// State is the notebook every worker rebuilds before it is ready.
	State workermsg.State
	// Trace starts each worker's execution tracer as it greets, for a
	// run whose tasks ask for their states: starting it costs
	// milliseconds, counted as the worker's start-up instead of
	// delaying its first task.
	Trace bool
	// KeepTrace, with Trace, has the tracer keep its trace: the run's
	// tasks will ask for it (workermsg.Task.KeepTrace).
	KeepTrace bool
}

var _ Launcher = Pipe{}

// Spec implements Launcher.
func (l Pipe) Spec() childproc.Spec {
	return childproc.Spec{Command: l.Command, Env: l.Env, Pipes: true}
}

// Greet implements Launcher: hello, a version check, the worker's clock
// measured against the engine's (Worker.Clock), the state loaded.
func (l Pipe) Greet(ctx context.Context, w *Worker) (workermsg.Hello, error) {
	m, _, err := w.Receive()
	if err != nil {
		return workermsg.Hello{}, err
	}
	if m.Kind != workermsg.KindHello || m.Hello == nil {
		return workermsg.Hello{}, fmt.Errorf("the worker began with a %q message instead of hello", m.Kind)
	}
	hello := *m.Hello
	if hello.Version != l.State.Version {
		return hello, Refuse(fmt.Errorf("%s is atonce %s but the kernel is atonce %s: workers must run the kernel's own binary", w.Name(), hello.Version, l.State.Version))
	}
	if w.clock, err = clocksync.Measure(ctx, 0, w.askClock); err != nil {
		return hello, err
	}
	if l.Trace {
		if m, _, err = w.request(workermsg.Message{Kind: workermsg.KindTrace, Keep: l.KeepTrace}); err != nil {
			return hello, err
		}
		if m.Kind != workermsg.KindTrace {
			return hello, fmt.Errorf("the worker answered the start of its tracer with a %q message", m.Kind)
		}
	}
	st := l.State
	if _, err := w.Send(workermsg.Message{Kind: workermsg.KindState, State: &st}); err != nil {
		return hello, err
	}
	if m, _, err = w.Receive(); err != nil {
		return hello, err
	}
	if m.Kind != workermsg.KindReady || m.Ready == nil {
		return hello, fmt.Errorf("the worker answered the notebook state with a %q message", m.Kind)
	}
	if m.Ready.Err != "" {
		return hello, Refuse(fmt.Errorf("%s could not rebuild the notebook: %s", w.Name(), m.Ready.Err))
	}
	for _, note := range m.Ready.Notes {
		slog.Debug("worker replay", "worker", w.Name(), "note", note)
	}
	return hello, nil
}

// request sends m and returns the worker's answer.
func (w *Worker) request(m workermsg.Message) (workermsg.Message, int, error) {
	if _, err := w.Send(m); err != nil {
		return workermsg.Message{}, 0, err
	}
	return w.Receive()
}

// askClock asks the worker the time on its clock, over its pipes.
func (w *Worker) askClock(context.Context) (int64, error) {
	m, _, err := w.request(workermsg.Message{Kind: workermsg.KindClock})
	if err != nil {
		return 0, err
	}
	if m.Kind != workermsg.KindClock || m.Clock == nil {
		return 0, fmt.Errorf("the worker answered the time with a %q message", m.Kind)
	}
	return m.Clock.Time, nil
}
