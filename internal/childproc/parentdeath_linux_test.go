package childproc_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"atonce/internal/childproc"
	"atonce/internal/leakcheck"
)

func init() {
	roles["parent"] = func() int { return parent(os.Getenv("CHILDPROC_HOW")) }
	if os.Getenv("CHILDPROC_ROLE") == "parent" {
		// Keep the main thread, which Go never ends, to the main
		// goroutine, so that the goroutine parent locks runs on a thread
		// that can end.
		runtime.LockOSThread()
	}
}

// parent starts a lingering "serve" child from a goroutine locked to its
// thread, lets that goroutine (and so its thread) end, then tells on
// stdout whether the child still answers, and waits to be killed.
func parent(how string) int {
	self := []string{os.Args[0], "-test.run=^$"}
	env := append(os.Environ(), "CHILDPROC_ROLE=serve", "CHILDPROC_LINGER=1")
	type started struct {
		pid      int
		req      io.Writer
		ans      io.Reader
		tid      int
		startErr error
	}
	ch := make(chan started)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		s := started{tid: syscall.Gettid()}
		switch how {
		case "childproc":
			p, err := childproc.Start(childproc.Spec{Command: self, Env: env, Pipes: true})
			if err == nil {
				s.pid, s.req, s.ans = p.PID(), p.Requests(), p.Answers()
			}
			s.startErr = err
		case "exec":
			cmd := exec.Command(self[0], self[1:]...)
			cmd.Env = env
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			reqR, reqW, _ := os.Pipe()
			ansR, ansW, _ := os.Pipe()
			cmd.ExtraFiles = []*os.File{reqR, ansW}
			s.startErr = cmd.Start()
			reqR.Close()
			ansW.Close()
			if s.startErr == nil {
				s.pid, s.req, s.ans = cmd.Process.Pid, reqW, ansR
			}
		}
		ch <- s
	}()
	s := <-ch
	if s.startErr != nil {
		fmt.Println("error", s.startErr)
		return 1
	}
	// Wait for the thread to be gone: by then Linux has sent the
	// parent-death signal, if the child was tied to that thread.
	for deadline := time.Now().Add(watchdog); ; {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", s.tid)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			fmt.Println("error the locked thread did not exit")
			return 1
		}
		time.Sleep(time.Millisecond)
	}
	// A child killed by the signal cannot answer: its answer pipe ends.
	fmt.Fprintln(s.req, "ping")
	state := "dead"
	if line, err := bufio.NewReader(s.ans).ReadString('\n'); err == nil && line == "pong\n" {
		state = "alive"
	}
	fmt.Println(state, s.pid)
	time.Sleep(time.Hour) // until the test kills this process
	return 0
}

// TestParentDeath: a child started from a goroutine whose thread then
// exits survives while its parent lives, and dies when the parent dies.
// Started by hand from that thread, with the parent-death signal, it dies
// with the thread: the Linux caveat childproc exists to avoid.
func TestParentDeath(t *testing.T) {
	for _, tt := range []struct {
		how       string
		wantAlive bool
	}{
		{"childproc", true},
		{"exec", false},
	} {
		t.Run(tt.how, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "CHILDPROC_ROLE=parent", "CHILDPROC_HOW="+tt.how)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatalf("the parent said nothing: %v", err)
			}
			var state string
			var pid int
			if _, err := fmt.Sscan(line, &state, &pid); err != nil {
				t.Fatalf("the parent said %q", line)
			}
			if got := state == "alive"; got != tt.wantAlive {
				t.Errorf("after the starting thread exited, the child is %s; want alive: %v", state, tt.wantAlive)
			}
			cmd.Process.Kill()
			if err := leakcheck.WaitGone(pid, watchdog); err != nil {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("after the parent died: %v; want the child dead", err)
			}
		})
	}
}
