package childproc_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"atonce/internal/childproc"
	"atonce/internal/leakcheck"
)

// watchdog bounds every wait in these tests; none should come near it.
const watchdog = 30 * time.Second

// The test binary doubles as the children: CHILDPROC_ROLE says which.
func TestMain(m *testing.M) {
	if role := os.Getenv("CHILDPROC_ROLE"); role != "" {
		os.Exit(child(role))
	}
	os.Exit(m.Run())
}

func child(role string) int {
	switch role {
	case "serve": // answer "pong" to each request line until the pipe closes
		req, ans, err := childproc.ChildPipes()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		sc := bufio.NewScanner(req)
		for sc.Scan() {
			fmt.Fprintln(ans, "pong")
		}
		if os.Getenv("CHILDPROC_LINGER") != "" {
			time.Sleep(time.Hour) // only the parent-death signal ends it
		}
		return 0
	case "orphan": // leave a grandchild holding fd 1 and 2, then crash
		g := exec.Command(os.Args[0], "-test.run=^$")
		g.Env = append(os.Environ(), "CHILDPROC_ROLE=sleep")
		g.Stdout, g.Stderr = os.Stdout, os.Stderr
		if err := g.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("grandchild %d\n", g.Process.Pid)
		fmt.Fprintln(os.Stderr, "fatal error: boom")
		fmt.Fprintln(os.Stderr, "\ngoroutine 1 [running]:")
		return 2
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	case "loud": // a lot of output, an answer, a last line without newline, exit
		_, ans, err := childproc.ChildPipes()
		if err != nil {
			return 2
		}
		os.Stdout.WriteString(strings.Repeat("x", loudBytes))
		fmt.Fprintln(ans, "bye")
		fmt.Fprint(os.Stderr, "panic: last words")
		return 3
	case "echo-then-answer": // for each request: write it to fd 1, then answer
		req, ans, err := childproc.ChildPipes()
		if err != nil {
			return 2
		}
		sc := bufio.NewScanner(req)
		for sc.Scan() {
			os.Stdout.WriteString(sc.Text() + "\n")
			fmt.Fprintln(ans, "done "+sc.Text())
		}
		return 0
	}
	if f, ok := roles[role]; ok {
		return f()
	}
	fmt.Fprintln(os.Stderr, "unknown role", role)
	return 2
}

const loudBytes = 300 << 10 // several times a pipe's buffer

// roles are the children that only some systems' tests need.
var roles = map[string]func() int{}

// TestExitSeenDespiteGrandchild: a child that leaves a grandchild holding
// its stdout and stderr is seen to exit, with its last words explained.
func TestExitSeenDespiteGrandchild(t *testing.T) {
	var stdout output
	p, err := childproc.Start(childproc.Spec{
		Command: []string{os.Args[0], "-test.run=^$"},
		Env:     append(os.Environ(), "CHILDPROC_ROLE=orphan"),
		Group:   true,
		Stdout:  stdout.write,
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(watchdog):
		p.Kill()
		t.Fatal("the child's exit was not seen while its grandchild holds stdout and stderr")
	}
	if reason, _ := p.Explain("the child"); reason != "fatal error: boom" {
		t.Errorf("Explain = %q, want %q", reason, "fatal error: boom")
	}
	var gpid int
	if _, err := fmt.Sscanf(stdout.String(), "grandchild %d", &gpid); err != nil {
		t.Fatalf("stdout %q: %v", stdout.String(), err)
	}
	if !leakcheck.Alive(gpid) {
		t.Fatalf("grandchild %d is not running; the test needs it to hold the pipes", gpid)
	}
	p.Reap() // kills what is left of the child's group
	if err := leakcheck.WaitGone(gpid, watchdog); err != nil {
		syscall.Kill(gpid, syscall.SIGKILL)
		t.Errorf("grandchild after Reap: %v", err)
	}
}

// TestLastOutputKept: what a child writes just before it exits (more than
// a pipe holds on stdout, its answer, a last stderr line without newline)
// all arrives.
func TestLastOutputKept(t *testing.T) {
	var got int
	p, err := childproc.Start(childproc.Spec{
		Command: []string{os.Args[0], "-test.run=^$"},
		Env:     append(os.Environ(), "CHILDPROC_ROLE=loud"),
		Pipes:   true,
		Stdout:  func(b []byte) { got += len(b) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	answers, err := io.ReadAll(p.Answers())
	if err != nil || string(answers) != "bye\n" {
		t.Errorf("answers = %q, %v; want %q", answers, err, "bye\n")
	}
	werr := p.Wait()
	if got != loudBytes {
		t.Errorf("stdout: got %d bytes, want %d", got, loudBytes)
	}
	if reason, _ := p.Explain("the child"); reason != "panic: last words" {
		t.Errorf("Explain = %q, want %q", reason, "panic: last words")
	}
	if ee, ok := werr.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("Wait = %v, want exit status 3", werr)
	}
}

// TestSyncStdout: what a child writes to fd 1 before it answers is
// delivered before the parent, having read the answer, goes on.
func TestSyncStdout(t *testing.T) {
	var out output
	p, err := childproc.Start(childproc.Spec{
		Command: []string{os.Args[0], "-test.run=^$"},
		Env:     append(os.Environ(), "CHILDPROC_ROLE=echo-then-answer"),
		Pipes:   true,
		Stdout:  out.write,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	answers := bufio.NewReader(p.Answers())
	for i := range 200 {
		msg := "line " + strconv.Itoa(i)
		fmt.Fprintln(p.Requests(), msg)
		if a, err := answers.ReadString('\n'); err != nil || a != "done "+msg+"\n" {
			t.Fatalf("answer %q, %v", a, err)
		}
		p.SyncStdout()
		got := out.String()
		if !strings.HasSuffix(got, msg+"\n") {
			t.Fatalf("after the answer to %q, stdout ends %q; want the line written before the answer", msg, got[max(0, len(got)-20):])
		}
	}
}

// TestStop: a child serving its pipes ends when they close; one without
// pipes gets SIGTERM; neither counts as killed.
func TestStop(t *testing.T) {
	for _, tt := range []struct {
		role   string
		pipes  bool
		status string
	}{
		{"serve", true, "exit status 0"},
		{"sleep", false, "signal: terminated"},
	} {
		t.Run(tt.role, func(t *testing.T) {
			p, err := childproc.Start(childproc.Spec{
				Command: []string{os.Args[0], "-test.run=^$"},
				Env:     append(os.Environ(), "CHILDPROC_ROLE="+tt.role),
				Pipes:   tt.pipes,
			})
			if err != nil {
				t.Fatal(err)
			}
			p.Stop(watchdog)
			if err := p.Wait(); fmt.Sprint(err) != tt.status && !(err == nil && tt.status == "exit status 0") {
				t.Errorf("Wait = %v, want %s", err, tt.status)
			}
			if p.Killed() {
				t.Errorf("Killed = true, want false: the child ended when asked")
			}
		})
	}
}

// TestFilesClosed: starting a child, failing or not, and stopping it
// leaves this process with the file descriptors it had.
func TestFilesClosed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts /proc/self/fd")
	}
	self := []string{os.Args[0], "-test.run=^$"}
	for _, tt := range []struct {
		name    string
		spec    childproc.Spec
		wantErr bool
	}{
		{"no command", childproc.Spec{}, true},
		{"missing binary", childproc.Spec{Command: []string{"/nonexistent/atonce"}, Pipes: true, Stdout: func([]byte) {}}, true},
		{"not executable", childproc.Spec{Command: []string{"/etc/passwd"}, Pipes: true}, true},
		{"bad directory", childproc.Spec{Command: self, Dir: "/nonexistent", Pipes: true, Stdout: func([]byte) {}}, true},
		{"started and stopped", childproc.Spec{Command: self, Env: append(os.Environ(), "CHILDPROC_ROLE=serve"), Pipes: true, Stdout: func([]byte) {}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := openFiles(t)
			p, err := childproc.Start(tt.spec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Start error = %v, want error: %v", err, tt.wantErr)
			}
			if p != nil {
				p.Stop(watchdog)
			}
			if after := openFiles(t); after != before {
				t.Errorf("open files: got %d after, want %d as before", after, before)
			}
		})
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(des)
}

// TestOnDone: f runs once ctx is done; release after that waits for it;
// release before it keeps f from running. No goroutine is left.
func TestOnDone(t *testing.T) {
	snap := leakcheck.Goroutines()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	release := childproc.OnDone(ctx, func() { close(ran) })
	cancel()
	release()
	select {
	case <-ran:
	default:
		t.Error("release returned before f, which ctx's end started")
	}

	ctx, cancel = context.WithCancel(context.Background())
	called := false
	release = childproc.OnDone(ctx, func() { called = true })
	release()
	cancel()
	if called {
		t.Error("f ran although release came first")
	}
	snap.Check(t)
}

// output collects what a child writes to stdout.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) write(b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(b)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
