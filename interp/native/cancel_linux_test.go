//go:build linux

package native

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCancelBuild cancels a build while a tool of it runs: Build returns
// the cancellation and no process of the build is left, nor its
// directory. The tool is a script (go build -toolexec) that says which
// process group it is in, then waits: the order is explicit.
func TestCancelBuild(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	script := filepath.Join(dir, "tool.sh")
	body := "#!/bin/sh\ncut -d' ' -f5 /proc/$$/stat > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\nexec sleep 600\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t)
	p, err := b.Generate(context.Background(), cells(t, "vars.cells"), "work")
	if err != nil {
		t.Fatal(err)
	}
	b.toolexec = script + " " + ready
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, p, Options{})
		done <- err
	}()
	var pgid int
	for deadline := time.Now().Add(2 * time.Minute); pgid == 0; {
		select {
		case err := <-done:
			t.Fatalf("the build ended before its tool ran: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the build's tool did not start in 2 minutes")
		}
		if b, err := os.ReadFile(ready); err == nil {
			pgid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(-pgid, 0); err != nil {
		t.Fatalf("the build's process group %d: %v", pgid, err)
	}
	cancel()
	err = <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Build: got %v, want context.Canceled", err)
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after the cancelled build: %v, want none left (ESRCH)", pgid, err)
	}
	left, _ := filepath.Glob(filepath.Join(b.CacheDir, "build-*"))
	if len(left) > 0 {
		t.Errorf("build directories left: %q", left)
	}
}
