// Package kernel is the Jupyter side of atonce: the five ZeroMQ channels,
// the dispatch of each message type, and every rule of the messaging
// protocol (https://jupyter-client.readthedocs.io/en/latest/messaging.html):
// busy/idle around each request, the execution counter, execute_input,
// replies on the channel the request came from, stop_on_error, stdin.
//
// It knows nothing of Go. Code runs in an Engine (see engine.go); the
// kernel passes it source text and publishes what comes back.
package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"atonce/internal/cellpath"
	"atonce/internal/enginemsg"
	"atonce/kernel/wire"
)

// Info is what kernel_info_reply says about the kernel and its language.
type Info struct {
	Implementation        string         // e.g. "atonce"
	ImplementationVersion string         // the kernel's version
	LanguageInfo          map[string]any // name, version, mimetype, file_extension, ...
	Banner                string
	HelpLinks             []map[string]string
}

// Options configure a Kernel. They should not be reused after New.
type Options struct {
	Connection *wire.Connection
	Engine     Engine // a Debugger too, for Jupyter's debugger
	Info       Info
	Logger     *slog.Logger // nil: slog.Default()
	// DebugDir is where the debugger's dumpCell writes cells' sources
	// (debugInfo's tmpFilePrefix). "": a directory of the system's
	// temporary directory, which the kernel removes when it stops.
	DebugDir string
}

// Kernel serves one Jupyter connection.
type Kernel struct {
	conn    *wire.Connection
	engine  Engine
	info    Info
	log     *slog.Logger
	signer  *wire.Signer
	session string // this kernel's session id, in the headers it sends

	socks *sockets
	queue *shellQueue

	counter    int    // execution count; shell goroutine only
	aborting   *abort // set by a failed execute, answered after its idle; shell goroutine only
	hist       history
	lastParent atomic.Pointer[wire.Message] // the last execute_request, parent of background output

	inputMu      sync.Mutex
	inputWaiting chan *wire.Message // set while a cell waits for input_reply

	dbg       Debugger       // the engine, when it serves the debugger
	dbgState  debugState     // see debug.go
	asides    sync.WaitGroup // shell requests answered aside (serveAside)
	asideWake chan struct{}  // a cell stopped: answer queued requests aside

	stopOnce sync.Once
	stopped  chan struct{}
}

// New checks the options and returns a Kernel that is not yet listening.
func New(opt Options) (*Kernel, error) {
	if opt.Connection == nil {
		return nil, errors.New("kernel: no connection")
	}
	if err := opt.Connection.Validate(); err != nil {
		return nil, err
	}
	if opt.Engine == nil {
		return nil, errors.New("kernel: no engine")
	}
	signer, err := wire.NewSigner(opt.Connection.SignatureScheme, opt.Connection.Key)
	if err != nil {
		return nil, err
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	k := &Kernel{
		conn:      opt.Connection,
		engine:    opt.Engine,
		info:      opt.Info,
		log:       log,
		signer:    signer,
		session:   uuid.NewString(),
		queue:     newShellQueue(),
		stopped:   make(chan struct{}),
		asideWake: make(chan struct{}, 1),
	}
	k.dbg, _ = opt.Engine.(Debugger)
	k.dbgState = debugState{dir: opt.DebugDir, breakpoints: map[string]json.RawMessage{}, stopped: map[int]bool{}}
	if k.dbgState.dir == "" {
		k.dbgState.dir = filepath.Join(os.TempDir(), fmt.Sprintf("%satonce-cells-%d", cellpath.DirMarker, os.Getpid()))
		k.dbgState.madeDir = true
	}
	return k, nil
}

// Run listens on the connection's ports and serves until ctx is done or a
// client asks for shutdown. It closes the engine before returning.
func (k *Kernel) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	socks, err := openSockets(ctx, k.conn, k.signer, k.log)
	if err != nil {
		return err
	}
	k.socks = socks
	k.log.Info("kernel listening", "ip", k.conn.IP, "shell", k.conn.ShellPort, "transport", k.conn.Transport)
	k.publish(nil, "status", map[string]any{"execution_state": "starting"})

	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	run(k.heartbeatLoop)
	run(k.controlLoop)
	run(k.stdinLoop)
	run(k.shellReadLoop)
	run(k.shellLoop)
	run(k.asideLoop)

	select {
	case <-ctx.Done():
	case <-k.stopped:
	}
	cancel()
	k.queue.close()
	socks.close()
	if err := k.engine.Close(); err != nil {
		k.log.Warn("closing the engine", "err", err)
	}
	wg.Wait()
	k.asides.Wait()
	k.removeDebugDir()
	return nil
}

// Stopped is closed when a client asked the kernel to shut down.
func (k *Kernel) Stopped() <-chan struct{} { return k.stopped }

func (k *Kernel) stop() { k.stopOnce.Do(func() { close(k.stopped) }) }

// Interrupt interrupts the running cell, as interrupt_request does. It is
// what SIGINT does too.
func (k *Kernel) Interrupt() {
	if err := k.engine.Interrupt(); err != nil {
		k.log.Warn("interrupting the engine", "err", err)
	}
}

func (k *Kernel) heartbeatLoop(ctx context.Context) {
	for {
		m, err := k.socks.hb.Recv()
		if err != nil {
			return
		}
		if err := k.socks.hb.Send(m); err != nil && ctx.Err() == nil {
			k.log.Warn("heartbeat echo", "err", err)
		}
	}
}

func (k *Kernel) stdinLoop(ctx context.Context) {
	for {
		m, err := k.socks.stdin.recv()
		if err != nil {
			return
		}
		if m.Header.MsgType != "input_reply" {
			k.log.Warn("unexpected message on stdin", "msg_type", m.Header.MsgType)
			continue
		}
		k.inputMu.Lock()
		waiting := k.inputWaiting
		k.inputMu.Unlock()
		if waiting == nil {
			k.log.Warn("input_reply with no cell waiting for input")
			continue
		}
		select {
		case waiting <- m:
		default:
			k.log.Warn("dropping a second input_reply")
		}
	}
}

func (k *Kernel) shellReadLoop(ctx context.Context) {
	for {
		m, err := k.socks.shell.recv()
		if err != nil {
			return
		}
		// A cell stopped at a breakpoint holds the shell: completion and
		// inspection, which run nothing, are answered aside.
		if k.asidable(m) && k.debugStopped() {
			k.serveAside(ctx, m)
			continue
		}
		k.queue.push(m)
	}
}

func (k *Kernel) shellLoop(ctx context.Context) {
	for {
		m, ok := k.queue.pop()
		if !ok {
			return
		}
		k.dispatch(ctx, k.socks.shell, m, k.shellHandler(m.Header.MsgType))
		if a := k.aborting; a != nil {
			k.aborting = nil
			a.answer(k)
		}
	}
}

func (k *Kernel) controlLoop(ctx context.Context) {
	for {
		m, err := k.socks.control.recv()
		if err != nil {
			return
		}
		k.dispatch(ctx, k.socks.control, m, k.controlHandler(m.Header.MsgType))
	}
}

type handler func(ctx context.Context, ch *channel, m *wire.Message)

// dispatch runs h between busy and idle. A nil handler is an unknown
// message type: logged, and answered with nothing but the status pair.
// A panicking handler is logged; the kernel goes on.
func (k *Kernel) dispatch(ctx context.Context, ch *channel, m *wire.Message, h handler) {
	start := time.Now()
	k.publish(m, "status", map[string]any{"execution_state": "busy"})
	defer func() {
		k.publish(m, "status", map[string]any{"execution_state": "idle"})
		k.log.Debug("handled", "channel", ch.name, "msg_type", m.Header.MsgType, "took", time.Since(start))
	}()
	if h == nil {
		k.log.Warn("unknown message type", "channel", ch.name, "msg_type", m.Header.MsgType)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			k.log.Error("handler panicked", "msg_type", m.Header.MsgType, "panic", r)
		}
	}()
	h(ctx, ch, m)
}

// publish sends a message on iopub with parent as its parent (nil: none).
func (k *Kernel) publish(parent *wire.Message, msgType string, content any) {
	m, err := wire.NewMessage(k.session, msgType, parent, content)
	if err != nil {
		k.log.Error("building message", "msg_type", msgType, "err", err)
		return
	}
	m.Identities = [][]byte{[]byte("kernel." + msgType)}
	k.socks.iopub.send(m)
}

// reply answers parent on the channel it came from.
func (k *Kernel) reply(ch *channel, parent *wire.Message, msgType string, content any) {
	m, err := wire.NewMessage(k.session, msgType, parent, content)
	if err != nil {
		k.log.Error("building reply", "msg_type", msgType, "err", err)
		return
	}
	ch.send(m)
}

// errorContent is the error part of a reply or an error message.
func errorContent(e *enginemsg.Error) map[string]any {
	tb := e.Traceback
	if tb == nil {
		tb = []string{}
	}
	return map[string]any{"ename": e.Name, "evalue": e.Value, "traceback": tb}
}

func internalError(err error) *enginemsg.Error {
	return &enginemsg.Error{
		Name:      "EngineError",
		Value:     err.Error(),
		Traceback: []string{fmt.Sprintf("EngineError: %v", err)},
	}
}
