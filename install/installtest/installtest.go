// Package installtest helps integration tests run the real atonce binary
// under a real Jupyter client without touching the user's home directory:
// it builds the binary, installs its kernelspec into a temporary Jupyter
// tree, and finds a Python that has jupyter_client.
package installtest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"atonce/install"
)

// ExecPython is the Python interpreter the tests drive Jupyter with.
const ExecPython = install.Python

// aptHint is the command that installs everything the integration tests need.
const aptHint = "sudo apt-get install python3-jupyter-client python3-ipykernel python3-nbclient (or run install/setup-deps.sh)"

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the absolute path of an atonce binary to test. If
// $ATONCE_BIN names an existing file it is used as is (`make test` builds
// it first); otherwise the binary is built once per test process with
// `go build` into a directory under os.TempDir() keyed by the module's
// location, so parallel test processes of one checkout share it. A build
// failure fails the test.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ATONCE_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err == nil {
			if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
				return abs
			}
		}
		t.Logf("ATONCE_BIN=%s does not name a file; building atonce instead", p)
	}
	buildOnce.Do(func() { buildPath, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building the atonce binary: %v", buildErr)
	}
	return buildPath
}

// build compiles package atonce (the module's main package) and returns
// the binary's path. It writes to a temporary name and renames, so another
// test process running the previous binary is not disturbed.
func build() (string, error) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = "/usr/local/go/bin/go"
	}
	out, err := exec.Command(gocmd, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("the test is not running inside the atonce module")
	}
	sum := sha256.Sum256([]byte(gomod))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("atonce-installtest-%x", sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "atonce-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	// The source directory lets the binary build its race-detector worker (%%models -race).
	cmd := exec.Command(gocmd, "build", "-ldflags", "-X main.sourceDir="+filepath.Dir(gomod), "-o", tmp.Name(), "atonce")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build atonce: %w\n%s", err, out)
	}
	bin := filepath.Join(dir, "atonce")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// KernelEnv installs the atonce kernelspec (for Binary(t)) into a fresh
// temporary Jupyter tree and returns os.Environ() with JUPYTER_PATH
// pointing at it and JUPYTER_DATA_DIR, JUPYTER_CONFIG_DIR,
// JUPYTER_RUNTIME_DIR and IPYTHONDIR set to empty temporary directories,
// so a Jupyter client started with it finds only this atonce and writes
// nothing under $HOME. The tree is removed when the test ends.
func KernelEnv(t testing.TB) []string {
	t.Helper()
	bin := Binary(t)
	root := t.TempDir()
	if _, err := install.Install(install.Options{Mode: install.Prefix, Prefix: root, Binary: bin}); err != nil {
		t.Fatalf("installing the kernelspec for the test: %v", err)
	}
	vars := map[string]string{
		"JUPYTER_PATH":        filepath.Join(root, "share", "jupyter"),
		"JUPYTER_DATA_DIR":    filepath.Join(root, "data"),
		"JUPYTER_CONFIG_DIR":  filepath.Join(root, "config"),
		"JUPYTER_RUNTIME_DIR": filepath.Join(root, "runtime"),
		"IPYTHONDIR":          filepath.Join(root, "ipython"),
	}
	return withVars(t, os.Environ(), vars)
}

// withVars returns env without any of vars' names, followed by vars
// (created as directories, except JUPYTER_PATH) in a stable order.
func withVars(t testing.TB, env []string, vars map[string]string) []string {
	t.Helper()
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := vars[name]; !ok {
			out = append(out, kv)
		}
	}
	for _, name := range []string{"JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"} {
		v, ok := vars[name]
		if !ok {
			continue
		}
		if name != "JUPYTER_PATH" {
			if err := os.MkdirAll(v, 0o700); err != nil {
				t.Fatalf("creating %s: %v", name, err)
			}
		}
		out = append(out, name+"="+v)
	}
	return out
}

var (
	pythonOnce sync.Once
	pythonErr  error
)

// Python returns "/usr/bin/python3" once it has checked that it can import
// jupyter_client, and skips the test with the command to install it
// otherwise. Tests use it rather than "python3" because a pyenv or
// virtualenv python3 first on PATH usually lacks Jupyter.
func Python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		out, err := exec.Command(ExecPython, "-c", "import jupyter_client").CombinedOutput()
		if err != nil {
			pythonErr = fmt.Errorf("%s cannot import jupyter_client: %w: %s", ExecPython, err, strings.TrimSpace(string(out)))
		}
	})
	if pythonErr != nil {
		t.Skipf("%v; install it with: %s", pythonErr, aptHint)
	}
	return ExecPython
}
