package kernel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"atonce/install/installtest"
)

// TestJupyterClient runs the Python suites in testdata/ against the real
// binary with Debian's jupyter_client: jupyter_kernel_test's conformance
// suite and atonce's own protocol tests.
func TestJupyterClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real kernels: skipped with -short")
	}
	py := installtest.Python(t)
	env := installtest.KernelEnv(t)
	for _, suite := range []string{"test_conformance", "test_behaviour", "test_magics", "test_processes", "test_distributed", "test_natscluster", "test_native", "test_verdict", "test_debugger"} {
		t.Run(suite, func(t *testing.T) {
			cmd := exec.Command(py, "-m", "unittest", "-v", suite)
			cmd.Dir = "testdata"
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s failed: %v\n%s", suite, err, out)
			}
			if !strings.Contains(string(out), "\nOK") {
				t.Fatalf("%s did not report OK:\n%s", suite, out)
			}
			t.Logf("%s", lastLines(string(out), 5))
		})
	}
}

// TestMalformedConnectionFile checks that the kernel refuses a bad
// connection file with a clear message and exit status 2.
func TestMalformedConnectionFile(t *testing.T) {
	bin := installtest.Binary(t)
	for _, tt := range []struct {
		name, body, want string
	}{
		{"not json", "{not json", "not valid JSON"},
		{"no ports", `{"ip":"127.0.0.1","transport":"tcp","key":"k","signature_scheme":"hmac-sha256"}`, "port"},
		{"missing", "", "reading the connection file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "conn.json")
			if tt.body != "" {
				if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out, err := exec.Command(bin, "kernel", "-f", path).CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit got %v, want status 2; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output got %q, want it to mention %q", out, tt.want)
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
