package nativeship_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"atonce/internal/leakcheck"
	"atonce/internal/scratch"
	"atonce/models/broker"
	"atonce/models/broker/natsserver"
	"atonce/models/nativeship"
	"atonce/models/workermsg"
)

// programEnv, set in the environment of the test binary, makes it the
// program a launcher runs: it waits for SIGTERM, as a native program
// does, and exits.
const programEnv = "ATONCE_TEST_NATIVESHIP_PROGRAM"

func TestMain(m *testing.M) {
	if os.Getenv(programEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		<-ctx.Done()
		os.Exit(0)
	}
	code := m.Run()
	scratch.Remove() // the NATS servers' store directories
	os.Exit(code)
}

const queue = "shiptest"

// testLogger logs the launcher's doings when ATONCE_TEST_DEBUG is set.
func testLogger() *slog.Logger {
	if os.Getenv("ATONCE_TEST_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// server starts an embedded NATS server and connects to it.
func server(t *testing.T) (*natsserver.Server, *broker.Conn) {
	t.Helper()
	s, err := natsserver.Start(natsserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	conn, err := broker.Connect(t.Context(), s.URL(), s.Token())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return s, conn
}

// file writes data to a new file and returns its path.
func file(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "program")
	if err := os.WriteFile(p, data, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// objects lists queue's bucket.
func objects(t *testing.T, conn *broker.Conn) []string {
	t.Helper()
	obs, err := conn.JetStream().ObjectStore(t.Context(), nativeship.Bucket(queue))
	if err != nil {
		t.Fatal(err)
	}
	list, err := obs.List(t.Context())
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Fatal(err)
	}
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	slices.Sort(names)
	return names
}

// TestStore: a binary is sent once per build and platform, sent again
// when the stored object changed, old builds' pruned, and the bucket
// removed.
func TestStore(t *testing.T) {
	_, conn := server(t)
	ctx := t.Context()
	if err := nativeship.Prune(ctx, conn, queue, "none"); err != nil {
		t.Errorf("Prune without a bucket got %v, want nil", err)
	}
	prog := bytes.Repeat([]byte("a program "), 300_000) // 3 MB: chunked
	path := file(t, prog)
	b := nativeship.Binary{Source: "s1", GOOS: "linux", GOARCH: "arm64", Path: path}
	for _, step := range []struct {
		name       string
		before     func(t *testing.T)
		wantStored bool
	}{
		{"first", nil, true},
		{"again", nil, false},
		{"changed on the server", func(t *testing.T) {
			obs, err := conn.JetStream().ObjectStore(ctx, nativeship.Bucket(queue))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := obs.PutBytes(ctx, "s1/linux-arm64", []byte("something else")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"again after", nil, false},
	} {
		t.Run(step.name, func(t *testing.T) {
			if step.before != nil {
				step.before(t)
			}
			nb, stored, err := nativeship.Store(ctx, conn, queue, b)
			want := workermsg.NativeBinary{Object: "s1/linux-arm64", Size: int64(len(prog)), SHA256: sha(prog)}
			if err != nil || nb != want || stored != step.wantStored {
				t.Errorf("Store got %+v, stored %t, %v; want %+v, stored %t", nb, stored, err, want, step.wantStored)
			}
		})
	}
	obs, err := conn.JetStream().ObjectStore(ctx, nativeship.Bucket(queue))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := obs.GetBytes(ctx, "s1/linux-arm64"); err != nil || !bytes.Equal(got, prog) {
		t.Errorf("the stored object got %d bytes, %v; want the program's %d", len(got), err, len(prog))
	}
	if _, _, err := nativeship.Store(ctx, conn, queue, nativeship.Binary{Source: "s2", GOOS: "linux", GOARCH: "amd64", Path: file(t, []byte("two"))}); err != nil {
		t.Fatal(err)
	}
	if err := nativeship.Prune(ctx, conn, queue, "s2"); err != nil {
		t.Fatal(err)
	}
	if got, want := objects(t, conn), []string{"s2/linux-amd64"}; !slices.Equal(got, want) {
		t.Errorf("after Prune the bucket holds %v, want %v", got, want)
	}
	if _, _, err := nativeship.Store(ctx, conn, queue, nativeship.Binary{Source: "s3", GOOS: "linux", GOARCH: "amd64", Path: "/nonexistent/program"}); err == nil ||
		!strings.Contains(err.Error(), "reading the native program built for linux/amd64") {
		t.Errorf("Store of a missing file got %v, want an error saying so", err)
	}
	if err := nativeship.DeleteBucket(ctx, conn, queue); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.JetStream().ObjectStore(ctx, nativeship.Bucket(queue)); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("after DeleteBucket opening the bucket got %v, want ErrBucketNotFound", err)
	}
	if err := nativeship.DeleteBucket(ctx, conn, queue); err != nil {
		t.Errorf("DeleteBucket of no bucket got %v, want nil", err)
	}
}

// TestLauncher drives a launcher, which runs this test binary as its
// program (see TestMain), through the announcements a kernel makes.
func TestLauncher(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before := leakcheck.Goroutines()
	s, conn := server(t)
	ctx := t.Context()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	here := nativeship.Platform(runtime.GOOS, runtime.GOARCH)
	t.Setenv(programEnv, "1") // the launcher's children inherit it

	// The launcher's own connection, with the token in its URL.
	lconn, err := broker.Connect(ctx, s.ClientURL(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer lconn.Close()
	dir := filepath.Join(t.TempDir(), "bins")
	l, err := nativeship.NewLauncher(lconn, nativeship.LaunchOptions{
		Queue: queue, Worker: "L", URL: s.ClientURL(), Dir: dir,
		Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var running sync.WaitGroup
	running.Go(func() { l.Run(runCtx) })
	defer func() { stop(); running.Wait() }()

	exits := make(chan *nats.Msg, 16)
	sub, err := conn.NATS().ChanSubscribe(workermsg.NativeExitSubject(queue), exits)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	exitOf := func(t *testing.T, pid int) workermsg.NativeExit {
		t.Helper()
		select {
		case m := <-exits:
			var e workermsg.NativeExit
			if err := json.Unmarshal(m.Data, &e); err != nil || e.PID != pid || e.Worker != "L" {
				t.Fatalf("exit report got %+v, %v; want one of launcher L's worker %d", e, err, pid)
			}
			return e
		case <-time.After(30 * time.Second):
			t.Fatalf("no exit report of worker %d", pid)
		}
		return workermsg.NativeExit{}
	}
	announce := func(t *testing.T, b workermsg.NativeBuild) workermsg.NativeStarted {
		t.Helper()
		b.Bucket, b.Launchers = nativeship.Bucket(queue), []string{"L"}
		answers, err := nativeship.Announce(ctx, conn, queue, b, 30*time.Second)
		a, ok := answers["L"]
		if err != nil || !ok || a.Source != b.Source {
			t.Fatalf("the launcher's answer got %+v (%t), %v; want one for build %s", a, ok, err, b.Source)
		}
		return a
	}
	nb, _, err := nativeship.Store(ctx, conn, queue, nativeship.Binary{Source: "s1", GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Path: exe})
	if err != nil {
		t.Fatal(err)
	}
	s1 := workermsg.NativeBuild{Source: "s1", Queue: queue + "_ns1", Binaries: map[string]workermsg.NativeBinary{here: nb}}
	binary := filepath.Join(dir, "notebook-s1")

	var pid int
	t.Run("runs the program", func(t *testing.T) {
		a := announce(t, s1)
		if a.Err != "" || a.PID == 0 || a.Died != nil {
			t.Fatalf("the answer got %+v, want a process", a)
		}
		pid = a.PID
		if got, err := os.ReadFile(binary); err != nil || !bytes.Equal(got, prog) {
			t.Errorf("the binary written got %d bytes, %v; want the program's %d", len(got), err, len(prog))
		}
		if fi, err := os.Stat(binary); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("the binary's mode got %v, %v; want 0700", fi.Mode(), err)
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if got, want := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00"), []string{binary, "-nats", s.URL(), "-queue", queue + "_ns1"}; !slices.Equal(got, want) {
			t.Errorf("the program's command line got %q, want %q (no token)", got, want)
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if !slices.Contains(strings.Split(string(env), "\x00"), nativeship.TokenEnv+"="+s.Token()) {
			t.Errorf("the program's environment lacks the token in %s", nativeship.TokenEnv)
		}
		if a := announce(t, s1); a.PID != pid || a.Err != "" {
			t.Errorf("announced again, the answer got %+v, want the same process %d", a, pid)
		}
	})

	t.Run("a death is reported, then told and replaced", func(t *testing.T) {
		if pid <= 0 {
			t.Fatalf("no process to kill (pid %d)", pid)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		e := exitOf(t, pid)
		if e.Stopped || e.Source != "s1" || !strings.Contains(e.Reason, "killed by signal 9") {
			t.Errorf("the exit report got %+v, want a death by signal 9", e)
		}
		a := announce(t, s1)
		if a.Died == nil || a.Died.PID != pid || a.PID == 0 || a.PID == pid {
			t.Errorf("the answer got %+v, want the death of %d told and another process", a, pid)
		}
		pid = a.PID
	})

	t.Run("no binary for this platform", func(t *testing.T) {
		b := workermsg.NativeBuild{Source: "s2", Queue: queue + "_ns2", Binaries: map[string]workermsg.NativeBinary{"plan9/mips": nb}}
		a := announce(t, b)
		if want := "the kernel built its native program for plan9/mips, not for this worker's " + here; a.Err != want || a.PID != 0 {
			t.Errorf("the answer got %+v, want the error %q", a, want)
		}
		// The old build's worker was stopped, its binary removed.
		if e := exitOf(t, pid); !e.Stopped {
			t.Errorf("the exit report got %+v, want a stop", e)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("the launcher's directory holds %v, want nothing", left)
		}
	})

	t.Run("stopped when no build runs", func(t *testing.T) {
		a := announce(t, s1)
		if a.PID == 0 {
			t.Fatalf("the answer got %+v, want a process", a)
		}
		if _, err := nativeship.Announce(ctx, conn, queue, workermsg.NativeBuild{}, time.Second); err != nil {
			t.Fatal(err)
		}
		if e := exitOf(t, a.PID); !e.Stopped {
			t.Errorf("the exit report got %+v, want a stop", e)
		}
		if err := leakcheck.WaitGone(a.PID, 5*time.Second); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(binary); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the binary got %v, want it removed", err)
		}
	})

	t.Run("Run's end stops the program", func(t *testing.T) {
		a := announce(t, s1)
		stop()
		running.Wait()
		if err := leakcheck.WaitGone(a.PID, 5*time.Second); err != nil {
			t.Error(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("the launcher's directory holds %v, want nothing", left)
		}
	})
	if kids, err := leakcheck.Children(); err == nil && len(kids) > 0 {
		t.Errorf("processes left behind: %v", kids)
	}
	sub.Unsubscribe()
	lconn.Close()
	conn.Close()
	s.Shutdown()
	before.Check(t)
}
