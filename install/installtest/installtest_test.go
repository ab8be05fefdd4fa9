package installtest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"atonce/install/installtest"
)

func TestKernelEnv(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "atonce")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ATONCE_BIN", fake)
	t.Setenv("JUPYTER_PATH", "/somewhere/else")
	env := installtest.KernelEnv(t)

	vars := map[string][]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = append(vars[k], v)
	}
	home, _ := os.UserHomeDir()
	for _, name := range []string{"JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"} {
		t.Run(name, func(t *testing.T) {
			got := vars[name]
			if len(got) != 1 {
				t.Fatalf("%s: got %q, want exactly one value", name, got)
			}
			if !filepath.IsAbs(got[0]) || (home != "" && strings.HasPrefix(got[0], home+"/")) || got[0] == "/somewhere/else" {
				t.Errorf("%s: got %q, want an absolute temporary directory outside $HOME", name, got[0])
			}
		})
	}
	spec := filepath.Join(vars["JUPYTER_PATH"][0], "kernels", "atonce", "kernel.json")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatalf("reading the installed kernelspec: %v", err)
	}
	var ks struct{ Argv []string }
	if err := json.Unmarshal(b, &ks); err != nil || len(ks.Argv) == 0 || ks.Argv[0] != fake {
		t.Errorf("kernel.json argv: got %q (%v), want it to start with %q", ks.Argv, err, fake)
	}

	// A real Jupyter client with this environment finds this kernelspec.
	py := installtest.Python(t)
	cmd := exec.Command(py, "-m", "jupyter", "kernelspec", "list", "--json")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jupyter kernelspec list: %v", err)
	}
	var list struct {
		Kernelspecs map[string]struct {
			ResourceDir string `json:"resource_dir"`
		} `json:"kernelspecs"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("decoding kernelspec list: %v\n%s", err, out)
	}
	if got, want := list.Kernelspecs["atonce"].ResourceDir, filepath.Dir(spec); got != want {
		t.Errorf("jupyter's atonce resource_dir: got %q, want %q", got, want)
	}
}

func TestBinary(t *testing.T) {
	if os.Getenv("ATONCE_BIN") == "" && testing.Short() {
		t.Skip("building atonce is slow; skipped in -short mode")
	}
	bin := installtest.Binary(t)
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("Binary returned %q: %v", bin, err)
	}
	if !filepath.IsAbs(bin) || fi.Mode()&0o111 == 0 {
		t.Errorf("Binary: got %q with mode %v, want an absolute path to an executable", bin, fi.Mode())
	}
	if again := installtest.Binary(t); again != bin {
		t.Errorf("second Binary call: got %q, want %q", again, bin)
	}
}
