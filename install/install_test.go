package install_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"atonce/install"
	"atonce/install/installtest"
)

func TestKernelJSON(t *testing.T) {
	const bin = "/opt/atonce/bin/atonce"
	b, err := install.KernelJSON(bin)
	if err != nil {
		t.Fatalf("KernelJSON(%q): %v", bin, err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("kernel.json is not JSON: %v\n%s", err, b)
	}
	for _, tt := range []struct {
		field string
		want  any
	}{
		{"argv", []any{bin, "kernel", "-f", "{connection_file}"}},
		{"display_name", "Go (atonce)"},
		{"language", "go"},
		{"interrupt_mode", "message"},
		{"metadata", map[string]any{"debugger": true}},
	} {
		t.Run(tt.field, func(t *testing.T) {
			if got := spec[tt.field]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("kernel.json %s: got %#v, want %#v", tt.field, got, tt.want)
			}
		})
	}
	if len(spec) != 5 {
		t.Errorf("kernel.json has %d fields, want 5: %s", len(spec), b)
	}
}

func TestKernelJSONRejectsRelativeBinary(t *testing.T) {
	for _, bin := range []string{"", "atonce", "bin/atonce", "./atonce"} {
		t.Run(bin, func(t *testing.T) {
			if b, err := install.KernelJSON(bin); err == nil {
				t.Errorf("KernelJSON(%q) = %s, nil; want an error", bin, b)
			}
		})
	}
}

func TestDir(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		opt  install.Options
		want string
	}{
		{"user data dir", map[string]string{"JUPYTER_DATA_DIR": "/j/data", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"},
			install.Options{Mode: install.User}, "/j/data/kernels/atonce"},
		{"user xdg", map[string]string{"JUPYTER_DATA_DIR": "", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"},
			install.Options{Mode: install.User}, "/xdg/jupyter/kernels/atonce"},
		{"user home", map[string]string{"JUPYTER_DATA_DIR": "", "XDG_DATA_HOME": "", "HOME": "/home/u"},
			install.Options{Mode: install.User}, "/home/u/.local/share/jupyter/kernels/atonce"},
		{"sys-prefix", nil, install.Options{Mode: install.SysPrefix}, "/usr/share/jupyter/kernels/atonce"},
		{"prefix", nil, install.Options{Mode: install.Prefix, Prefix: "/opt/x"}, "/opt/x/share/jupyter/kernels/atonce"},
		{"prefix cleaned", nil, install.Options{Mode: install.Prefix, Prefix: "/opt/x/../y/"}, "/opt/y/share/jupyter/kernels/atonce"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := install.Dir(tt.opt)
			if err != nil || got != tt.want {
				t.Errorf("Dir(%+v) = %q, %v; want %q", tt.opt, got, err, tt.want)
			}
		})
	}
	if got, err := install.Dir(install.Options{Mode: install.Prefix}); err == nil {
		t.Errorf("Dir with an empty prefix = %q, nil; want an error", got)
	}
}

func TestInstallUninstall(t *testing.T) {
	root := t.TempDir()
	opt := install.Options{Mode: install.Prefix, Prefix: root, Binary: "/opt/atonce/bin/atonce"}
	dir, err := install.Install(opt)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if want := filepath.Join(root, "share", "jupyter", "kernels", "atonce"); dir != want {
		t.Errorf("Install dir: got %q, want %q", dir, want)
	}
	checkMode(t, dir, 0o755|os.ModeDir)
	wantJSON, _ := install.KernelJSON(opt.Binary)
	for _, tt := range []struct {
		file string
		size int // logo width and height; 0 for kernel.json
	}{
		{"kernel.json", 0},
		{"logo-32x32.png", 32},
		{"logo-64x64.png", 64},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			checkMode(t, path, 0o644)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.size == 0 {
				if !bytes.Equal(b, wantJSON) {
					t.Errorf("kernel.json: got %s, want %s", b, wantJSON)
				}
				return
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decoding %s: %v", tt.file, err)
			}
			if got := img.Bounds().Size(); got.X != tt.size || got.Y != tt.size {
				t.Errorf("%s size: got %v, want %dx%d", tt.file, got, tt.size, tt.size)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("kernelspec directory holds %d entries, want 3 (no leftover temp files)", len(entries))
	}

	// Installing again replaces the kernelspec in place.
	opt.Binary = "/usr/local/bin/atonce"
	if _, err := install.Install(opt); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "kernel.json"))
	if !bytes.Contains(b, []byte(`"/usr/local/bin/atonce"`)) {
		t.Errorf("reinstalled kernel.json: got %s, want argv[0] /usr/local/bin/atonce", b)
	}

	got, err := install.Uninstall(install.Options{Mode: install.Prefix, Prefix: root})
	if err != nil || got != dir {
		t.Fatalf("Uninstall = %q, %v; want %q, nil", got, err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Uninstall, stat %s: got %v, want not exist", dir, err)
	}
	if _, err := install.Uninstall(opt); !errors.Is(err, install.ErrNotInstalled) {
		t.Errorf("second Uninstall: got %v, want ErrNotInstalled", err)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode(); got != want {
		t.Errorf("mode of %s: got %v, want %v", path, got, want)
	}
}

// TestMainCLI runs `atonce install` steps in order against one temporary
// Jupyter tree; later steps depend on earlier ones.
func TestMainCLI(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	t.Setenv("JUPYTER_DATA_DIR", data)
	t.Setenv("JUPYTER_PATH", "")
	prefix := filepath.Join(root, "pfx")
	for _, tt := range []struct {
		name       string
		args       []string
		code       int
		out, err   string // substrings of stdout and stderr
		userExists bool   // whether data/kernels/atonce/kernel.json exists afterwards
	}{
		{"bad flag", []string{"--nope"}, 2, "", "flag provided but not defined: -nope", false},
		{"two modes", []string{"--user", "--sys-prefix"}, 2, "", "choose one of --user, --sys-prefix and --prefix DIR", false},
		{"prefix and user", []string{"--prefix", prefix, "--user"}, 2, "", "choose one of", false},
		{"empty prefix", []string{"--prefix="}, 2, "", "--prefix needs a directory", false},
		{"argument", []string{"extra"}, 2, "", `unexpected argument "extra"`, false},
		{"help", []string{"-h"}, 0, "usage: atonce install", "", false},
		{"uninstall missing", []string{"--uninstall"}, 1, "", "the atonce kernelspec is not installed in " + data, false},
		{"install default", nil, 0, "Installed the atonce kernelspec in " + filepath.Join(data, "kernels", "atonce"), "", true},
		{"install user again", []string{"--user"}, 0, "Installed", "", true},
		{"install prefix", []string{"--prefix", prefix}, 0, "Installed the atonce kernelspec in " + filepath.Join(prefix, "share", "jupyter", "kernels", "atonce"), "add it to JUPYTER_PATH", true},
		{"uninstall prefix", []string{"--prefix", prefix, "--uninstall"}, 0, "Removed the atonce kernelspec from " + filepath.Join(prefix, "share", "jupyter", "kernels", "atonce"), "", true},
		{"uninstall user", []string{"--uninstall"}, 0, "Removed the atonce kernelspec from " + filepath.Join(data, "kernels", "atonce"), "", false},
		{"uninstall user again", []string{"--uninstall", "--user"}, 1, "", "not installed", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := install.Main(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("Main(%q) exit code: got %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.code, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("Main(%q) stdout: got %q, want it to contain %q", tt.args, &stdout, tt.out)
			}
			if !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("Main(%q) stderr: got %q, want it to contain %q", tt.args, &stderr, tt.err)
			}
			_, err := os.Stat(filepath.Join(data, "kernels", "atonce", "kernel.json"))
			if got := err == nil; got != tt.userExists {
				t.Errorf("after Main(%q), user kernelspec exists: got %v, want %v", tt.args, got, tt.userExists)
			}
		})
	}
}

func TestMainWarnsWhenShadowed(t *testing.T) {
	root := t.TempDir()
	first := filepath.Join(root, "first")
	if _, err := install.Install(install.Options{Mode: install.Prefix, Prefix: first, Binary: "/old/atonce"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JUPYTER_PATH", filepath.Join(first, "share", "jupyter"))
	t.Setenv("JUPYTER_DATA_DIR", filepath.Join(root, "data"))
	var stdout, stderr bytes.Buffer
	if code := install.Main([]string{"--user"}, &stdout, &stderr); code != 0 {
		t.Fatalf("Main exit code: got %d, want 0; stderr: %s", code, &stderr)
	}
	want := "Jupyter will use the atonce kernelspec in " + filepath.Join(first, "share", "jupyter", "kernels", "atonce")
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr: got %q, want it to contain %q", &stderr, want)
	}
}

// TestKernelspecList checks that Jupyter itself finds what Install wrote.
func TestKernelspecList(t *testing.T) {
	py := installtest.Python(t)
	root := t.TempDir()
	const bin = "/opt/atonce/bin/atonce"
	dir, err := install.Install(install.Options{Mode: install.Prefix, Prefix: root, Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-m", "jupyter", "kernelspec", "list", "--json")
	cmd.Env = append(os.Environ(),
		"JUPYTER_PATH="+filepath.Join(root, "share", "jupyter"),
		"JUPYTER_DATA_DIR="+filepath.Join(root, "data"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(root, "config"),
		"JUPYTER_RUNTIME_DIR="+filepath.Join(root, "runtime"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jupyter kernelspec list: %v\n%s", err, &stderr)
	}
	var list struct {
		Kernelspecs map[string]struct {
			ResourceDir string `json:"resource_dir"`
			Spec        struct {
				Argv          []string `json:"argv"`
				DisplayName   string   `json:"display_name"`
				Language      string   `json:"language"`
				InterruptMode string   `json:"interrupt_mode"`
			} `json:"spec"`
		} `json:"kernelspecs"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("decoding kernelspec list: %v\n%s", err, out)
	}
	ks, ok := list.Kernelspecs["atonce"]
	if !ok {
		t.Fatalf("kernelspec list: got %s, want an entry \"atonce\"", out)
	}
	for _, tt := range []struct{ name, got, want string }{
		{"resource_dir", ks.ResourceDir, dir},
		{"argv", fmt.Sprint(ks.Spec.Argv), fmt.Sprint([]string{bin, "kernel", "-f", "{connection_file}"})},
		{"display_name", ks.Spec.DisplayName, "Go (atonce)"},
		{"language", ks.Spec.Language, "go"},
		{"interrupt_mode", ks.Spec.InterruptMode, "message"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("jupyter's %s: got %q, want %q", tt.name, tt.got, tt.want)
			}
		})
	}
}

func ExampleKernelJSON() {
	b, err := install.KernelJSON("/usr/local/bin/atonce")
	if err != nil {
		panic(err)
	}
	fmt.Print(string(b))
	// Output:
	// {
	//   "argv": [
	//     "/usr/local/bin/atonce",
	//     "kernel",
	//     "-f",
	//     "{connection_file}"
	//   ],
	//   "display_name": "Go (atonce)",
	//   "language": "go",
	//   "interrupt_mode": "message",
	//   "metadata": {
	//     "debugger": true
	//   }
	// }
}
