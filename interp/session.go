// Package interp runs Go cells with yaegi inside the engine process.
// It knows nothing of Jupyter or ZeroMQ: it takes source text and
// writes to an Output.
package interp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp/display"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// Output receives what cells produce. Methods may be called from any
// goroutine, also after Execute returned (goroutines a cell left running).
type Output interface {
	// Stream delivers text a cell wrote; name is "stdout" or "stderr".
	Stream(name, text string)
	// Display delivers an event of kind enginemsg.EventDisplay,
	// EventUpdateDisplay or EventClearOutput, with ID left 0.
	Display(ev enginemsg.Event)
}

// Options configure a Session.
type Options struct {
	// Output receives the cells' output. Required.
	Output Output
	// Stdin is what cells read from fmt.Scan* and friends; nil means
	// reading fails with an error that says input is not available.
	Stdin io.Reader
	// Exit, if set, is what os.Exit does in cells; by default it panics
	// (yaegi's sandbox), which keeps the process alive. A worker process
	// sets it to really exit, as a Python worker process does.
	Exit func(code int)
}

// Result is what one cell did.
type Result struct {
	// Value is the final expression's value as a MIME bundle (at least
	// "text/plain"); nil when the cell does not end with an expression
	// that has exactly one value.
	Value enginemsg.Bundle
	// Err is the user's error: compile error, panic, interrupt. nil on
	// success.
	Err *enginemsg.Error
	// Notes are one-line notes for the user.
	Notes []string
	// Interrupted tells that ctx was cancelled while the cell ran.
	Interrupted bool
	// Stuck tells that after the cancel some of the cell's goroutines
	// did not stop within stuckWait: the process should be replaced.
	Stuck bool
	// LastFunc is the last plain function (not a method) the cell
	// declares, "" if none (gosrc.Cell.LastFunc): the task %%models runs
	// when the cell names none. Set when the cell ran.
	LastFunc string
}

// Session is one interpreter with the state cells build up. Execute and
// Eval calls are serialized; SyncOutput and Close may be called from any
// goroutine.
type Session struct {
	out            Output
	stdin          io.Reader // Options.Stdin, or noStdin
	exit           func(int) // Options.Exit
	in             *interp.Interpreter
	stdout, stderr *stream
	quiet          atomic.Bool // drop output: Eval must not print
	stopped        atomic.Bool // Close was called

	syncMu sync.Mutex // one SyncOutput at a time

	mu      sync.Mutex // serializes Execute, Eval and Close
	closed  bool
	cells   int               // cells run so far, for lineDirective
	sources map[int]string    // cell number to source, for excerpts in tracebacks
	imports map[string]string // package names imported so far, to their paths
	defined map[string]bool   // package-level names earlier cells declared
	rw      *cellEnv          // the rewriter's view while a cell compiles
	hasMain bool              // a cell declared func main: see renameMain
	history []string          // successful cells, as run: see History
	decls   map[string]decl   // top-level declarations, by name: see redefine.go
	// replayed counts the cells replayed to rebuild the state, for tests.
	replayed int
	// vague holds the starts of the current cell's statement groups of
	// more than one statement: yaegi places a panic in top-level code
	// there, whichever statement it is in.
	vague map[[2]int]bool

	capMu    sync.Mutex
	captured []any // values the final expression produced
	capSet   bool  // captured was set during this cell

	intrMu sync.Mutex
	intr   chan struct{} // closed by an interrupt; replaced by resume
	// intrDown tells that intr is closed: sleeps return at once.
	intrDown bool

	dbgOnce     sync.Once
	dbg         *Debugger // see Debugger; nil until asked for
	trampolines int       // DebugFunc's trampolines so far, for their names
}

// stuckWait is how long an interrupted cell's goroutines get to stop.
const stuckWait = 300 * time.Millisecond

// syncWait bounds how long SyncOutput waits for the readers.
const syncWait = 10 * time.Second

// captureImport is how the session's own helper package is imported into
// the cells' scope.
const captureImport = `import __atonce_capture "atonce/internal/capture"`

// New starts a session. Its yaegi interpreter has the whole standard
// library and the packages "atonce/display", "atonce/check" and
// "atonce/models".
func New(opt Options) (*Session, error) {
	if opt.Output == nil {
		return nil, errors.New("interp: Options.Output is required")
	}
	// A runaway recursion should die fast instead of eating a gigabyte.
	debug.SetMaxStack(512 << 20)

	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("interp: making the output sentinel: %w", err)
	}
	sentinel := []byte("\x00atonce-sync-" + hex.EncodeToString(rnd[:]) + "\x00")

	s := &Session{out: opt.Output, sources: map[int]string{}, intr: make(chan struct{}), exit: opt.Exit}
	var err error
	if s.stdout, err = newStream("stdout", sentinel, &s.quiet, s.out.Stream, false); err != nil {
		return nil, fmt.Errorf("interp: %w", err)
	}
	if s.stderr, err = newStream("stderr", sentinel, &s.quiet, s.out.Stream, true); err != nil {
		s.stdout.close()
		return nil, fmt.Errorf("interp: %w", err)
	}
	stdin := opt.Stdin
	if stdin == nil {
		stdin = noStdin{}
	}
	s.stdin = stdin
	if err := s.setup(context.Background()); err != nil {
		s.closeStreams()
		return nil, fmt.Errorf("interp: %w", err)
	}
	display.SetPublisher(s.publish)
	return s, nil
}

// setup gives the session a fresh yaegi interpreter, writing to the
// session's pipes, with the standard library, the session's exports and
// the capture helper imported, and forgets what the cells built: imports,
// names, declarations and history. New uses it, and so does a rebuild
// (see redefine.go).
func (s *Session) setup(ctx context.Context) error {
	s.in = interp.New(interp.Options{Stdin: s.stdin, Stdout: s.stdout.w, Stderr: s.stderr.w, Unrestricted: true})
	for _, ex := range []interp.Exports{stdlib.Symbols, s.exports()} {
		if err := s.in.Use(ex); err != nil {
			return fmt.Errorf("loading packages: %w", err)
		}
	}
	s.imports = map[string]string{}
	s.defined = map[string]bool{}
	s.decls = map[string]decl{}
	s.hasMain = false
	s.history = nil
	if r := s.runText(ctx, captureImport); r.Err != nil {
		return fmt.Errorf("setting up the session: %w", r.Err)
	}
	return nil
}

// publish is the display hook: output printed before the display shows
// before it.
func (s *Session) publish(ev enginemsg.Event) {
	if s.stopped.Load() {
		return
	}
	s.SyncOutput()
	if s.quiet.Load() {
		return
	}
	s.out.Display(ev)
}

// SyncOutput returns once everything cells wrote to stdout and stderr so
// far has been handed to the Output.
func (s *Session) SyncOutput() {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	var wait []*stream
	for _, st := range []*stream{s.stdout, s.stderr} {
		select {
		case <-st.synced: // a late answer to an earlier sync that timed out
		default:
		}
		if err := st.sync(); err == nil {
			wait = append(wait, st)
		}
	}
	timeout := time.NewTimer(syncWait)
	defer timeout.Stop()
	for _, st := range wait {
		select {
		case <-st.synced:
		case <-st.done:
		case <-timeout.C:
			slog.Warn("cell output did not drain", "stream", st.name)
			return
		}
	}
}

// Close stops the session: the output pipes are closed once drained.
// Goroutines a cell left running lose their output.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopped.Store(true)
	s.interrupt()
	s.debugClose()
	return s.closeStreams()
}

func (s *Session) closeStreams() error {
	return errors.Join(s.stdout.close(), s.stderr.close())
}

// noStdin is the standard input of a session that has none.
type noStdin struct{}

func (noStdin) Read([]byte) (int, error) {
	return 0, errors.New("this notebook cannot read standard input (the client does not allow input)")
}
