// Package childproc starts and watches atonce's child processes: the
// engine the kernel supervises and the worker processes of every model.
//
// One place gets the hard parts right:
//
//   - The child dies with its parent. On Linux the parent-death signal
//     (Pdeathsig) fires when the *thread* that started the child exits,
//     not the process, and a Go thread exits whenever a goroutine locked
//     to it ends; so every child is started from one goroutine locked to
//     a thread that never exits (see Start). Elsewhere a child learns of
//     its parent's death from its request pipe closing.
//   - Exit is detected by Wait, not by the end of stderr: a grandchild
//     that inherited fd 2 and lives on must not hide the child's death.
//   - Nothing the child wrote before it exited is lost: after Wait, its
//     stdout, stderr and answer pipe are read to what is left in them,
//     and only then does the child count as exited.
//   - Every file descriptor is closed, on success and on every error path.
//   - Why the child died is said from the Go runtime's last words on its
//     stderr (package crash).
package childproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"atonce/internal/crash"
)

// Spec says how to start a child process.
type Spec struct {
	// Command is the binary and its arguments.
	Command []string
	// Env is the child's whole environment; nil means the parent's.
	Env []string
	// Dir is the child's working directory; "" means the parent's.
	Dir string
	// Pipes gives the child a request pipe on fd 3, which it reads, and an
	// answer pipe on fd 4, which it writes: Proc.Requests and
	// Proc.Answers. The child takes them with [ChildPipes].
	Pipes bool
	// Group puts the child in a process group of its own, so that Kill
	// ends it together with every process it started.
	Group bool
	// Stdout, if set, receives what the child writes to fd 1, in chunks
	// as they arrive (the slice is valid only during the call); nil
	// discards it. Calls are never concurrent.
	Stdout func([]byte)
	// Stderr, if set, sees each line the child writes to fd 2, without
	// its newline; a line for which it returns true is taken (a log line,
	// say) and not kept for Explain. Calls are never concurrent.
	Stderr func(line string) (taken bool)
}

// PIDLabel is the profiler label (runtime/pprof) that marks the
// goroutines watching a child with its process id, so that a goroutine
// profile tells whose they are.
const PIDLabel = "atonce.childproc.pid"

// Proc is a running child process. Its owner must end it with Stop (or
// Kill, then Wait): that also waits for the goroutines watching it.
type Proc struct {
	cmd      *exec.Cmd
	group    bool
	requests *os.File    // the parent's end of fd 3, nil without Pipes
	answers  *pipeReader // the parent's end of fd 4, nil without Pipes
	stdout   *pipeReader // nil when Spec.Stdout is nil
	stderr   *pipeReader

	closeReqOnce sync.Once
	readers      sync.WaitGroup // the stdout and stderr readers
	stdoutFn     func([]byte)
	stdoutDone   chan struct{} // closed when the stdout reader ended
	syncMu       sync.Mutex
	syncWaiters  []chan struct{} // SyncStdout calls waiting for the reader
	rec          crash.Recorder  // the runtime's last words
	exited       chan struct{}   // closed after Wait and the readers ended
	err          error           // the exit error, once exited is closed
	killed       atomic.Bool
}

// Start starts the child s describes and returns at once. The child is
// started from a thread that lives as long as this process, so that on
// Linux it is killed (SIGKILL) when this process dies, however the
// goroutine that called Start ends.
func Start(s Spec) (*Proc, error) {
	if len(s.Command) == 0 || s.Command[0] == "" {
		return nil, errors.New("no command to start a process")
	}
	var parentEnds, childEnds []*os.File
	closeAll := func(files []*os.File) {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err != nil {
			closeAll(parentEnds)
			closeAll(childEnds)
			return nil, nil, fmt.Errorf("making a pipe for %s: %w", s.Command[0], err)
		}
		return r, w, nil
	}

	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	cmd.Env, cmd.Dir = s.Env, s.Dir
	cmd.SysProcAttr = sysProcAttr(s.Group)
	p := &Proc{cmd: cmd, group: s.Group, exited: make(chan struct{})}

	errR, errW, err := pipe()
	if err != nil {
		return nil, err
	}
	parentEnds, childEnds = append(parentEnds, errR), append(childEnds, errW)
	cmd.Stderr = errW
	if s.Stdout != nil {
		outR, outW, err := pipe()
		if err != nil {
			return nil, err
		}
		parentEnds, childEnds = append(parentEnds, outR), append(childEnds, outW)
		cmd.Stdout = outW
		p.stdout = newPipeReader(outR)
	}
	if s.Pipes {
		reqR, reqW, err := pipe()
		if err != nil {
			return nil, err
		}
		parentEnds, childEnds = append(parentEnds, reqW), append(childEnds, reqR)
		ansR, ansW, err := pipe()
		if err != nil {
			return nil, err
		}
		parentEnds, childEnds = append(parentEnds, ansR), append(childEnds, ansW)
		cmd.ExtraFiles = []*os.File{reqR, ansW} // fd 3 and fd 4 in the child
		p.requests, p.answers = reqW, newPipeReader(ansR)
	}
	p.stderr = newPipeReader(errR)

	err = onSpawnThread(cmd.Start)
	closeAll(childEnds) // the child has its copies, or there is no child
	if err != nil {
		closeAll(parentEnds)
		return nil, fmt.Errorf("starting %s: %w", s.Command[0], err)
	}

	labels := pprof.WithLabels(context.Background(), pprof.Labels(PIDLabel, strconv.Itoa(p.PID())))
	p.readers.Add(1)
	go func() {
		defer p.readers.Done()
		pprof.SetGoroutineLabels(labels)
		defer p.stderr.Close()
		crash.ReadLines(p.stderr, func(line string) {
			if s.Stderr != nil && s.Stderr(line) {
				return
			}
			p.rec.Keep(line)
		})
	}()
	if p.stdout != nil {
		p.stdoutFn, p.stdoutDone = s.Stdout, make(chan struct{})
		p.readers.Add(1)
		go func() {
			defer p.readers.Done()
			pprof.SetGoroutineLabels(labels)
			p.readStdout()
		}()
	}
	go func() {
		pprof.SetGoroutineLabels(labels)
		err := cmd.Wait()
		// The child is gone: what it wrote is in the pipes. Read that
		// much, then stop, even if a grandchild still holds a write end.
		p.stderr.endWhenEmpty()
		if p.stdout != nil {
			p.stdout.endWhenEmpty()
		}
		if p.answers != nil {
			p.answers.endWhenEmpty()
		}
		p.readers.Wait()
		p.closeRequests()
		p.err = err
		close(p.exited)
	}()
	return p, nil
}

// PID is the child's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Requests is the parent's end of the child's request pipe (fd 3 in the
// child), nil without Spec.Pipes. Closing it tells a pipe-serving child to
// exit.
func (p *Proc) Requests() io.WriteCloser {
	if p.requests == nil {
		return nil
	}
	return requestWriter{p}
}

// Answers is the parent's end of the child's answer pipe (fd 4 in the
// child), nil without Spec.Pipes. Once the child has exited, reads return
// what it wrote and then io.EOF, even when a process it started still
// holds the pipe. Only one goroutine may read it.
func (p *Proc) Answers() io.Reader {
	if p.answers == nil {
		return nil
	}
	return p.answers
}

// Exited is closed once the child has exited and what it wrote to stdout
// and stderr was read (and handed to Spec.Stdout and Spec.Stderr).
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Wait waits until the child has exited (see Exited) and returns its exit
// error, as exec.Cmd.Wait does.
func (p *Proc) Wait() error {
	<-p.exited
	return p.err
}

// Kill kills the child with SIGKILL (its whole process group with
// Spec.Group). It is safe to call at any time, also after the child
// exited.
func (p *Proc) Kill() {
	p.killed.Store(true)
	p.signal(syscall.SIGKILL)
}

// Killed tells whether Kill was called.
func (p *Proc) Killed() bool { return p.killed.Load() }

// Stop ends the child and waits for it: it closes the request pipe
// (which ends a child that serves its pipes) or, without pipes, sends
// SIGTERM; a child still running after grace is killed. With Spec.Group,
// processes the child started and left behind are killed too.
func (p *Proc) Stop(grace time.Duration) {
	if p.requests != nil {
		p.closeRequests()
	} else {
		p.signal(syscall.SIGTERM)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.Kill()
		<-p.exited
	}
	p.Reap()
}

// Reap, once the child has exited, kills what is left of its process
// group (with Spec.Group) and closes the parent's ends of its pipes. It
// waits for the child to exit.
func (p *Proc) Reap() {
	<-p.exited
	if p.group {
		killGroup(p.PID())
	}
	if p.answers != nil {
		p.answers.Close()
	}
}

// KillOnDone kills the child once ctx is done, unless release is called
// first; release waits for the kill if it already started.
func (p *Proc) KillOnDone(ctx context.Context) (release func()) {
	return OnDone(ctx, p.Kill)
}

// Explain says in one line why the child exited, from its exit status and
// the last lines of its stderr, with a few lines of detail; who names it
// ("the engine", "worker 2"). It waits for the child to exit.
func (p *Proc) Explain(who string) (reason string, detail []string) {
	<-p.exited
	return crash.Explain(who, p.err, p.rec.Lines())
}

// CPU returns the user and system CPU time of the child once it has
// exited, and 0 before.
func (p *Proc) CPU() time.Duration {
	select {
	case <-p.exited:
	default:
		return 0
	}
	if ps := p.cmd.ProcessState; ps != nil {
		return ps.UserTime() + ps.SystemTime()
	}
	return 0
}

// readStdout hands what the child writes to fd 1 to Spec.Stdout until
// the pipe ends, reading what it holds at once for SyncStdout.
func (p *Proc) readStdout() {
	defer close(p.stdoutDone)
	defer p.stdout.Close()
	buf := make([]byte, 32<<10)
	for {
		p.syncMu.Lock()
		waiters := p.syncWaiters
		p.syncWaiters = nil
		p.syncMu.Unlock()
		if len(waiters) > 0 {
			for {
				n, err := p.stdout.readNow(buf)
				if n > 0 {
					p.stdoutFn(buf[:n])
				}
				if err != nil {
					break // the pipe is empty (or ended)
				}
			}
			for _, w := range waiters {
				close(w)
			}
			continue
		}
		n, err := p.stdout.Read(buf)
		if n > 0 {
			p.stdoutFn(buf[:n])
		}
		if errors.Is(err, errWoken) {
			continue
		}
		if err != nil {
			return
		}
	}
}

// SyncStdout returns once what the child wrote to fd 1 before the call
// has been handed to Spec.Stdout. A child that writes to fd 1 and then
// answers on fd 4 has its output delivered before its answer when the
// parent calls SyncStdout on reading the answer: writes to a pipe are in
// it when write returns.
func (p *Proc) SyncStdout() {
	if p.stdout == nil {
		return
	}
	w := make(chan struct{})
	p.syncMu.Lock()
	p.syncWaiters = append(p.syncWaiters, w)
	p.syncMu.Unlock()
	p.stdout.wake()
	select {
	case <-w:
	case <-p.stdoutDone: // the pipe ended: everything was handed over
	}
}

func (p *Proc) closeRequests() {
	if p.requests != nil {
		p.closeReqOnce.Do(func() { p.requests.Close() })
	}
}

func (p *Proc) signal(sig syscall.Signal) {
	select {
	case <-p.exited:
		if sig == syscall.SIGKILL && p.group {
			killGroup(p.PID()) // what the child left behind
		}
		return
	default:
	}
	if p.group {
		signalGroup(p.PID(), sig)
	}
	_ = p.cmd.Process.Signal(sig)
}

// requestWriter writes to the request pipe; Close closes it once.
type requestWriter struct{ p *Proc }

func (w requestWriter) Write(b []byte) (int, error) { return w.p.requests.Write(b) }
func (w requestWriter) Close() error {
	w.p.closeRequests()
	return nil
}

// OnDone calls f once ctx is done, unless release is called first;
// release waits for f to return if it already started. It is
// context.AfterFunc with an owner: no goroutine outlives release.
func OnDone(ctx context.Context, f func()) (release func()) {
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		f()
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			if !stop() {
				<-done
			}
		})
	}
}

// ChildPipes returns, in a child started with Spec.Pipes, its request pipe
// (fd 3) and answer pipe (fd 4). It marks them close-on-exec, so that the
// processes the child starts do not hold them, which would hide the
// child's death from its parent. It fails when fds 3 and 4 are not pipes
// (the process was not started by a parent that gave it pipes).
func ChildPipes() (requests, answers *os.File, err error) {
	for _, fd := range []int{3, 4} {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			return nil, nil, fmt.Errorf("fd %d is not a pipe: this process must be started by its parent, which gives it pipes on fds 3 and 4", fd)
		}
		syscall.CloseOnExec(fd)
	}
	return os.NewFile(3, "requests"), os.NewFile(4, "answers"), nil
}
