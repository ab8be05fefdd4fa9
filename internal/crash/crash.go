// Package crash tells, in one line a notebook user understands, why a Go
// child process (the engine, a worker) died: from its exit status and the
// Go runtime's last words on its stderr, which Recorder keeps.
package crash

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// crashPrefixes start the Go runtime's reports of a dying process.
var crashPrefixes = []string{"runtime: goroutine stack exceeds", "fatal error: ", "panic: "}

// IsStart reports whether line starts a Go runtime crash report.
func IsStart(line string) bool {
	for _, p := range crashPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// Explain says in one line why the process who ("the engine", "worker
// 2") exited, from its exit error and the last lines of its stderr, and
// returns a few lines of detail.
func Explain(who string, exitErr error, tail []string) (reason string, detail []string) {
	for i, line := range tail {
		for _, prefix := range crashPrefixes {
			if !strings.HasPrefix(line, prefix) {
				continue
			}
			reason = strings.TrimSpace(line)
			if prefix == "runtime: goroutine stack exceeds" {
				reason = "stack overflow (" + strings.TrimPrefix(reason, "runtime: ") + "): a recursion that never ends?"
			}
			return reason, excerpt(tail[i:])
		}
	}
	var ee *exec.ExitError
	if errors.As(exitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig := ws.Signal()
			reason = fmt.Sprintf("%s was killed by signal %d (%v)", who, int(sig), sig)
			if sig == syscall.SIGKILL {
				reason += ": out of memory, or killed from outside"
			}
			return reason, excerpt(tail)
		}
		return fmt.Sprintf("%s exited with status %d (did the code call os.Exit?)", who, ee.ExitCode()), excerpt(tail)
	}
	if exitErr != nil {
		return who + " stopped: " + exitErr.Error(), excerpt(tail)
	}
	return who + " exited with status 0 (did the code call os.Exit(0)?)", excerpt(tail)
}

// excerpt keeps the first lines of a crash report: the message and the
// first goroutine's top frames, not the whole dump.
func excerpt(lines []string) []string {
	const most = 12
	var out []string
	for _, l := range lines {
		if len(out) >= most {
			out = append(out, "...")
			break
		}
		out = append(out, l)
	}
	return out
}

// ReadLines calls f for each line read from r (without its newline) until
// r ends. Long lines are split rather than dropped.
func ReadLines(r io.Reader, f func(string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			f(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

// maxHead is how many lines of a crash report's start are kept: a stack
// overflow prints thousands of frames after its one telling line.
const maxHead = 40

// maxTail is how many other stderr lines are kept.
const maxTail = 400

// Recorder keeps what Explain needs of a process's stderr: the start of
// a crash report, and the last lines. It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	head []string
	tail []string
}

// Keep records one line of stderr.
func (r *Recorder) Keep(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.head) > 0 && len(r.head) < maxHead {
		r.head = append(r.head, line)
		return
	}
	if len(r.head) == 0 && IsStart(line) {
		r.head = append(r.head, line)
		return
	}
	r.tail = append(r.tail, line)
	if len(r.tail) > maxTail {
		r.tail = r.tail[len(r.tail)-maxTail:]
	}
}

// Lines returns the start of the crash report, if any, then the last
// lines kept.
func (r *Recorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(append([]string(nil), r.head...), r.tail...)
}
