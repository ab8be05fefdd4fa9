package statedir

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a kernel: with STATEDIR_TEST_KERNEL=PARENT it
// makes a state directory in PARENT, prints its path and waits to be
// killed.
func TestMain(m *testing.M) {
	if parent := os.Getenv("STATEDIR_TEST_KERNEL"); parent != "" {
		d, err := Create(parent)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(d.Path(), "secret"), []byte("token"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(d.Path())
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startKernel runs the test binary as a kernel holding a state directory
// in parent, and returns it with the directory's path.
func startKernel(t *testing.T, parent string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STATEDIR_TEST_KERNEL="+parent)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the kernel printed no state directory: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

func TestCreate(t *testing.T) {
	parent := t.TempDir()
	d, err := Create(parent)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("mode got %v, want %v", got, want)
	}
	if got := filepath.Dir(d.Path()); got != parent {
		t.Errorf("made in %s, want %s", got, parent)
	}
	// Held by this kernel: another kernel's sweep leaves it alone.
	if removed, err := Sweep(parent); err != nil || len(removed) != 0 {
		t.Errorf("Sweep got %v, %v; want nothing removed", removed, err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path()); !os.IsNotExist(err) {
		t.Errorf("after Remove, Stat got %v, want not exist", err)
	}
	if err := d.Remove(); err != nil {
		t.Errorf("a second Remove got %v, want nil", err)
	}
}

func TestSweep(t *testing.T) {
	parent := t.TempDir()
	live, livePath := startKernel(t, parent)
	dead, deadPath := startKernel(t, parent)
	other := filepath.Join(parent, "not-a-kernel")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := dead.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	dead.Wait()

	removed, err := Sweep(parent)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{deadPath}; !slices.Equal(removed, want) {
		t.Errorf("Sweep removed %v, want %v", removed, want)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{livePath, true},
		{deadPath, false},
		{other, true},
	} {
		_, err := os.Stat(tt.path)
		if got := err == nil; got != tt.want {
			t.Errorf("%s exists: got %v, want %v", filepath.Base(tt.path), got, tt.want)
		}
	}

	// A kernel starting sweeps too.
	live.Process.Kill()
	live.Wait()
	d, err := Create(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Remove()
	if _, err := os.Stat(livePath); !os.IsNotExist(err) {
		t.Errorf("the killed kernel's state directory survived the next Create: %v", err)
	}
}
