package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"atonce/internal/childproc"
	"atonce/internal/enginemsg"
	"atonce/internal/leakcheck"
	"atonce/internal/scratch"
)

// The test binary doubles as a fake engine: with ATONCE_FAKE_ENGINE set
// it serves enginemsg on fd 3 and 4, keeping "state" as the cells it ran.
func TestMain(m *testing.M) {
	if os.Getenv("ATONCE_FAKE_GRANDCHILD") != "" {
		time.Sleep(time.Hour) // until killed
		return
	}
	if os.Getenv("ATONCE_FAKE_ENGINE") != "" {
		fakeEngine()
		return
	}
	os.Exit(m.Run())
}

func fakeEngine() {
	requests, events, err := childproc.ChildPipes()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	dec := enginemsg.NewDecoder(requests)
	enc := enginemsg.NewEncoder(events)
	enc.Encode(enginemsg.Event{Kind: enginemsg.EventReady, Text: "fake"})
	var state []string
	interrupts := make(chan struct{}, 1)
	work := make(chan enginemsg.Request)
	go func() {
		for {
			var req enginemsg.Request
			if err := dec.Decode(&req); err != nil {
				os.Exit(0)
			}
			if req.Kind == enginemsg.KindInterrupt {
				interrupts <- struct{}{}
				continue
			}
			work <- req
		}
	}()
	for req := range work {
		rep := &enginemsg.Reply{}
		switch {
		case req.Kind == enginemsg.KindReplay:
			for _, c := range req.Cells {
				if c != "state" { // reading the state changes nothing
					state = append(state, c)
				}
			}
			rep.Replayed = len(req.Cells)
		case req.Code == "crash":
			fmt.Fprintln(os.Stderr, "fatal error: concurrent map writes")
			fmt.Fprintln(os.Stderr, "\ngoroutine 7 [running]:")
			os.Exit(2)
		case req.Code == "checkpointed" && req.Resume == nil:
			enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventCheckpoint, Checkpoint: []byte(`{"done":["sequential"]}`)})
			fmt.Fprintln(os.Stderr, "fatal error: concurrent map writes")
			os.Exit(2)
		case req.Code == "checkpointed":
			rep.Result = enginemsg.Bundle{"text/plain": "resumed " + string(req.Resume.Checkpoint) + " after " + req.Resume.Crash + " with " + strings.Join(state, ",")}
		case req.Code == "exit":
			os.Exit(3)
		case req.Code == "orphan-crash":
			// A process the engine started holds its stderr (and stdout)
			// and lives on: the engine's death must be seen anyway.
			g := exec.Command(os.Args[0], "-test.run=^$")
			g.Env = append(os.Environ(), "ATONCE_FAKE_GRANDCHILD=1")
			g.Stdout, g.Stderr = os.Stdout, os.Stderr
			if err := g.Start(); err != nil {
				rep.Err = &enginemsg.Error{Name: "start", Value: err.Error()}
				break
			}
			enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventStream, Name: "stdout", Text: fmt.Sprintf("grandchild %d", g.Process.Pid)})
			fmt.Fprintln(os.Stderr, "fatal error: concurrent map writes")
			os.Exit(2)
		case req.Code == "leave-scratch":
			// Temporary state an engine cannot remove: it dies first.
			dir, err := scratch.MkdirTemp("nats-")
			if err != nil {
				rep.Err = &enginemsg.Error{Name: "scratch", Value: err.Error()}
				break
			}
			enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventStream, Name: "stdout", Text: dir})
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		case req.Code == "hang":
			enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventStream, Name: "stdout", Text: "running"})
			select {} // ignores interrupts
		case req.Code == "stuck":
			enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventStream, Name: "stdout", Text: "running"})
			<-interrupts
			rep.Err = &enginemsg.Error{Name: "Interrupted", Value: "interrupted"}
			rep.Interrupted, rep.Stuck = true, true
		case req.Code == "state":
			enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventStream, Name: "stdout", Text: "pid " + fmt.Sprint(os.Getpid())})
			rep.Result = enginemsg.Bundle{"text/plain": strings.Join(state, ",")}
		case req.Code == "print-raw":
			// The reply follows at once: the supervisor must deliver
			// what fd 1 got first.
			os.Stdout.WriteString("raw fd 1")
		case strings.HasPrefix(req.Code, "fail"):
			rep.Err = &enginemsg.Error{Name: "panic", Value: req.Code}
		default:
			state = append(state, req.Code)
		}
		enc.Encode(enginemsg.Event{ID: req.ID, Kind: enginemsg.EventReply, Reply: rep})
	}
}

type recorder struct {
	mu     sync.Mutex
	events []enginemsg.Event
	// on, if set, is called with each event's text as it arrives.
	on func(text string)
}

func (r *recorder) Event(ev enginemsg.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	on := r.on
	r.mu.Unlock()
	if on != nil {
		on(ev.Text)
	}
}

func (r *recorder) Input(context.Context, string, bool) (string, error) {
	return "", errors.New("no input")
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sb strings.Builder
	for _, ev := range r.events {
		sb.WriteString(ev.Text)
	}
	return sb.String()
}

func newSupervisor(t *testing.T) *Supervisor {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{
		Command: []string{exe, "-test.run=^$"},
		Env:     append(os.Environ(), "ATONCE_FAKE_ENGINE=1"),
		Grace:   300 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func execute(t *testing.T, s *Supervisor, code string) (*enginemsg.Reply, *recorder) {
	t.Helper()
	return executeTo(t, s, code, &recorder{})
}

func executeTo(t *testing.T, s *Supervisor, code string, out *recorder) (*enginemsg.Reply, *recorder) {
	t.Helper()
	rep, err := s.Request(context.Background(), enginemsg.Request{Kind: enginemsg.KindExecute, Code: code}, out)
	if err != nil {
		t.Fatalf("Request(%q): %v", code, err)
	}
	return rep, out
}

func state(t *testing.T, s *Supervisor) string {
	t.Helper()
	rep, _ := execute(t, s, "state")
	v, _ := rep.Result["text/plain"].(string)
	return v
}

func TestCrashesReplayState(t *testing.T) {
	for _, tt := range []struct {
		code, wantName, wantValue string
	}{
		{"crash", "EngineCrashed", "fatal error: concurrent map writes"},
		{"exit", "EngineCrashed", "status 3"},
	} {
		t.Run(tt.code, func(t *testing.T) {
			s := newSupervisor(t)
			execute(t, s, "a")
			execute(t, s, "fail-not-kept")
			execute(t, s, "b")
			rep, _ := execute(t, s, tt.code)
			if rep.Err == nil || rep.Err.Name != tt.wantName || !strings.Contains(rep.Err.Value, tt.wantValue) {
				t.Fatalf("crash reply got %+v, want %s mentioning %q", rep.Err, tt.wantName, tt.wantValue)
			}
			if tb := strings.Join(rep.Err.Traceback, "\n"); !strings.Contains(tb, "replays the 2 cells") {
				t.Errorf("traceback got %q, want it to say 2 cells are replayed", tb)
			}
			if got := state(t, s); got != "a,b" {
				t.Errorf("state after crash got %q, want %q (successful cells replayed, in order)", got, "a,b")
			}
		})
	}
}

// TestInterruptReplacesEngine: a cell that ignores the interrupt (hang)
// is killed after the grace period, and one the engine reports as stuck
// is replaced at once; either way the next cell runs in a new engine
// that has the earlier state.
func TestInterruptReplacesEngine(t *testing.T) {
	for _, tt := range []struct {
		code string
		want func(*enginemsg.Reply) bool
		what string
	}{
		{"hang", func(r *enginemsg.Reply) bool {
			return r.Err != nil && r.Err.Name == "Interrupted" && r.Interrupted
		}, "Interrupted"},
		{"stuck", func(r *enginemsg.Reply) bool {
			return r.Err != nil && strings.Contains(strings.Join(r.Err.Traceback, " "), "did not stop")
		}, "a note that the code did not stop"},
	} {
		t.Run(tt.code, func(t *testing.T) {
			s := newSupervisor(t)
			execute(t, s, "a")
			_, before := execute(t, s, "state")
			// Interrupt once the engine says the cell runs.
			out := &recorder{on: func(text string) {
				if text == "running" {
					s.Interrupt()
				}
			}}
			if rep, _ := executeTo(t, s, tt.code, out); !tt.want(rep) {
				t.Fatalf("%s reply got %+v, want %s", tt.code, rep.Err, tt.what)
			}
			rep, after := execute(t, s, "state")
			if rep.Result["text/plain"] != "a" {
				t.Errorf("state afterwards got %v, want a", rep.Result["text/plain"])
			}
			if before.text() == after.text() {
				t.Errorf("engine pid unchanged (%s): want a new engine", after.text())
			}
		})
	}
}

func TestRawStdoutReachesTheCell(t *testing.T) {
	s := newSupervisor(t)
	_, out := execute(t, s, "print-raw")
	if got := out.text(); got != "raw fd 1" {
		t.Errorf("output got %q, want %q", got, "raw fd 1")
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	s := newSupervisor(t)
	s.mu.Lock()
	pid := s.proc.child.PID()
	s.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("engine %d still alive after Close", pid)
	}
}

// TestDeathSeenDespiteGrandchild: an engine that dies leaving a process
// that holds its stderr is seen to die, explained from its last words,
// and what it left is killed.
func TestDeathSeenDespiteGrandchild(t *testing.T) {
	s := newSupervisor(t)
	execute(t, s, "a")
	rep, out := execute(t, s, "orphan-crash")
	if rep.Err == nil || rep.Err.Name != "EngineCrashed" || rep.Err.Value != "fatal error: concurrent map writes" {
		t.Fatalf("reply error got %+v, want EngineCrashed: fatal error: concurrent map writes", rep.Err)
	}
	var pid int
	if _, err := fmt.Sscanf(out.text(), "grandchild %d", &pid); err != nil {
		t.Fatalf("output %q: %v", out.text(), err)
	}
	if err := leakcheck.WaitGone(pid, 30*time.Second); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the dead engine's grandchild: %v; want it killed with the engine's group", err)
	}
	if got := state(t, s); got != "a" {
		t.Errorf("state after the crash got %q, want %q", got, "a")
	}
}

// TestDeadEnginesStateRemoved: what a killed engine left in its scratch
// directory is removed once its death is seen.
func TestDeadEnginesStateRemoved(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s := newSupervisor(t)
	rep, out := execute(t, s, "leave-scratch")
	if rep.Err == nil || rep.Err.Name != "EngineCrashed" {
		t.Fatalf("reply error got %+v, want EngineCrashed", rep.Err)
	}
	dir := filepath.Dir(out.text())
	if !strings.HasPrefix(filepath.Base(dir), "atonce-") {
		t.Fatalf("the engine said %q, want its scratch directory", out.text())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the dead engine's %s: %v, want it removed", dir, err)
	}
}

func TestCheckpointedRequestResumes(t *testing.T) {
	s := newSupervisor(t)
	execute(t, s, "a")
	rep, _ := execute(t, s, "checkpointed")
	if rep.Err != nil {
		t.Fatalf("got error %+v, want the request resumed in a new engine", rep.Err)
	}
	want := `resumed {"done":["sequential"]} after fatal error: concurrent map writes with a`
	if got := rep.Result["text/plain"]; got != want {
		t.Errorf("result got %q, want %q", got, want)
	}
}
