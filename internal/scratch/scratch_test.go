package scratch

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With SCRATCH_TEST_CHILD set, the test binary makes its scratch
// directory, puts a file in it, says where, and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("SCRATCH_TEST_CHILD") != "" {
		dir, err := MkdirTemp("nats-")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		os.WriteFile(filepath.Join(dir, "key.pem"), []byte("secret"), 0o600)
		fmt.Println(dir)
		// Until killed. (Not select {}: with no other goroutine the runtime
		// calls that a deadlock and ends the process at once, which made
		// the "child alive" case see a dead child.)
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSweepRemovesTheDeadsOnly(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SCRATCH_TEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.HasPrefix(line, "error") {
		cmd.Process.Kill()
		t.Fatalf("the child said %q, %v", line, err)
	}
	childDir := filepath.Dir(strings.TrimSpace(line))
	mine, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	defer Remove()
	other := filepath.Join(os.TempDir(), "atonce-notatag") // not a scratch directory
	os.Mkdir(other, 0o700)

	for _, tt := range []struct {
		name      string
		kill      bool
		wantGone  []string
		wantStays []string
	}{
		{"child alive", false, nil, []string{childDir, mine, other}},
		{"child killed", true, []string{childDir}, []string{mine, other}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kill {
				cmd.Process.Kill()
				cmd.Wait()
			}
			removed, err := Sweep()
			if err != nil {
				t.Fatal(err)
			}
			if len(removed) != len(tt.wantGone) {
				t.Errorf("Sweep removed %v, want %v", removed, tt.wantGone)
			}
			for _, d := range tt.wantGone {
				if _, err := os.Stat(d); !os.IsNotExist(err) {
					t.Errorf("%s: got %v, want it removed", d, err)
				}
			}
			for _, d := range tt.wantStays {
				if _, err := os.Stat(d); err != nil {
					t.Errorf("%s: got %v, want it kept", d, err)
				}
			}
		})
	}
}

func TestGone(t *testing.T) {
	for _, tt := range []struct {
		name, owner string
		want        bool
	}{
		{"this process", Owner(), false},
		{"this pid, another start", fmt.Sprintf("%d-1", os.Getpid()), true},
		{"no such process", "999999999-5", true},
		{"not a tag", "race", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Gone(tt.owner); got != tt.want {
				t.Errorf("Gone(%q) = %v, want %v", tt.owner, got, tt.want)
			}
		})
	}
}
