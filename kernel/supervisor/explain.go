package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
)

// explainExit says in one line why the engine exited, from its exit error
// and the last lines of its stderr, and returns a few lines of detail.
// crashPrefixes start the Go runtime's reports of a dying process.
var crashPrefixes = []string{"runtime: goroutine stack exceeds", "fatal error: ", "panic: "}

func isCrashStart(line string) bool {
	for _, p := range crashPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func explainExit(exitErr error, tail []string) (reason string, detail []string) {
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
			reason = fmt.Sprintf("the engine was killed by signal %d (%v)", int(sig), sig)
			if sig == syscall.SIGKILL {
				reason += ": out of memory, or killed from outside"
			}
			return reason, excerpt(tail)
		}
		return fmt.Sprintf("the engine exited with status %d (did the code call os.Exit?)", ee.ExitCode()), excerpt(tail)
	}
	if exitErr != nil {
		return "the engine stopped: " + exitErr.Error(), excerpt(tail)
	}
	return "the engine exited with status 0 (did the code call os.Exit(0)?)", excerpt(tail)
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

// readLines calls f for each line read from r (without its newline) until
// r ends. Long lines are split rather than dropped.
func readLines(r io.Reader, f func(string)) {
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
