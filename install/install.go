// Package install writes the Jupyter kernelspec for the atonce kernel
// (kernel.json and two logos) where Jupyter looks for kernels, and
// removes it again.
//
// The directories follow jupyter_core's rules as Debian's /usr/bin/python3
// applies them on Linux:
//
//   - User: $JUPYTER_DATA_DIR/kernels/atonce, or
//     ${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/kernels/atonce.
//   - SysPrefix: <sys.prefix of /usr/bin/python3>/share/jupyter/kernels/atonce
//     (/usr on Debian).
//   - Prefix: <Prefix>/share/jupyter/kernels/atonce.
//
// JUPYTER_PATH is read, never written: Jupyter searches its directories
// before all others, so Main warns when one of them holds another atonce
// kernelspec that would hide the one just installed, and when a Prefix
// install lands where Jupyter will not look.
package install

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// KernelName is the kernelspec's name: the directory name under kernels/
// and what `jupyter kernelspec list` shows.
const KernelName = "atonce"

// DisplayName is the name notebook front ends show in their kernel menus.
const DisplayName = "Go (atonce)"

// Python is the interpreter whose Jupyter installation atonce targets. The
// pyenv or virtualenv python3 a user may have first on PATH often lacks
// jupyter, so atonce always names Debian's own.
const Python = "/usr/bin/python3"

//go:embed kernelspec/logo-32x32.png kernelspec/logo-64x64.png
var logos embed.FS

// Mode says which Jupyter data directory a kernelspec goes to.
type Mode int

// The install modes, matching `jupyter kernelspec install`'s flags.
const (
	User      Mode = iota // the user's Jupyter data directory (the default)
	SysPrefix             // the share/jupyter of /usr/bin/python3's sys.prefix
	Prefix                // the share/jupyter of Options.Prefix
)

// String returns the command-line flag that selects m.
func (m Mode) String() string {
	switch m {
	case User:
		return "--user"
	case SysPrefix:
		return "--sys-prefix"
	case Prefix:
		return "--prefix"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options says where to install the kernelspec and which binary it starts.
type Options struct {
	Mode   Mode
	Prefix string // the install prefix for Mode Prefix; ignored otherwise
	Binary string // absolute path of the atonce binary; Install needs it, Uninstall does not
}

// ErrNotInstalled is returned (wrapped) by Uninstall when there is no
// atonce kernelspec in the directory the options select.
var ErrNotInstalled = errors.New("the atonce kernelspec is not installed")

// kernelSpec is kernel.json, in the field order Jupyter's docs use.
type kernelSpec struct {
	Argv          []string       `json:"argv"`
	DisplayName   string         `json:"display_name"`
	Language      string         `json:"language"`
	InterruptMode string         `json:"interrupt_mode"`
	Metadata      map[string]any `json:"metadata"`
}

// KernelJSON returns the kernel.json that starts binary, which must be an
// absolute path, as `binary kernel -f {connection_file}`. Interrupts are
// sent as interrupt_request messages, not signals, because the kernel
// forwards them to its engine process.
func KernelJSON(binary string) ([]byte, error) {
	if !filepath.IsAbs(binary) {
		return nil, fmt.Errorf("the kernelspec needs an absolute path to the atonce binary, got %q", binary)
	}
	spec := kernelSpec{
		Argv:          []string{binary, "kernel", "-f", "{connection_file}"},
		DisplayName:   DisplayName,
		Language:      "go",
		InterruptMode: "message",
		// JupyterLab shows its debugger for a kernelspec that says so.
		Metadata: map[string]any{"debugger": true},
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding kernel.json: %w", err)
	}
	return append(b, '\n'), nil
}

// Dir returns the kernelspec directory opt selects, without touching it.
func Dir(opt Options) (string, error) {
	data, err := dataDir(opt)
	if err != nil {
		return "", err
	}
	return filepath.Join(data, "kernels", KernelName), nil
}

// dataDir returns the Jupyter data directory (the one holding kernels/)
// that opt selects.
func dataDir(opt Options) (string, error) {
	switch opt.Mode {
	case User:
		return userDataDir()
	case SysPrefix:
		return filepath.Join(sysPrefix(), "share", "jupyter"), nil
	case Prefix:
		if opt.Prefix == "" {
			return "", errors.New("--prefix needs a directory")
		}
		p, err := filepath.Abs(opt.Prefix)
		if err != nil {
			return "", fmt.Errorf("resolving prefix %q: %w", opt.Prefix, err)
		}
		return filepath.Join(p, "share", "jupyter"), nil
	}
	return "", fmt.Errorf("unknown install mode %v", opt.Mode)
}

// userDataDir mirrors jupyter_core.paths.jupyter_data_dir on Linux.
func userDataDir() (string, error) {
	if d := os.Getenv("JUPYTER_DATA_DIR"); d != "" {
		return d, nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "jupyter"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding your home directory for a --user install (set JUPYTER_DATA_DIR or use --prefix): %w", err)
	}
	return filepath.Join(home, ".local", "share", "jupyter"), nil
}

// sysPrefix asks /usr/bin/python3 for its sys.prefix, falling back to /usr,
// which is what Debian's python3 answers.
var sysPrefix = func() string {
	out, err := exec.Command(Python, "-c", "import sys; print(sys.prefix)").Output()
	if p := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(p) {
		return p
	}
	return "/usr"
}

// Install writes kernel.json and the logos to the kernelspec directory opt
// selects, replacing any kernelspec already there, and returns that
// directory. Directories are created 0755 and files written 0644.
func Install(opt Options) (dir string, err error) {
	spec, err := KernelJSON(opt.Binary)
	if err != nil {
		return "", err
	}
	dir, err = Dir(opt)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return dir, fmt.Errorf("creating the kernelspec directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		return dir, fmt.Errorf("creating the kernelspec directory: %w", err)
	}
	files := map[string][]byte{"kernel.json": spec}
	for _, name := range []string{"logo-32x32.png", "logo-64x64.png"} {
		b, err := logos.ReadFile("kernelspec/" + name)
		if err != nil {
			return dir, fmt.Errorf("reading embedded %s: %w", name, err)
		}
		files[name] = b
	}
	for name, b := range files {
		if err := writeFile(filepath.Join(dir, name), b); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// writeFile writes b to path through a temporary file and a rename, so a
// Jupyter reading the directory at the same time never sees half a file.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Uninstall removes the kernelspec directory opt selects and returns it.
// If there is no atonce kernelspec there it returns an error wrapping
// ErrNotInstalled and removes nothing.
func Uninstall(opt Options) (dir string, err error) {
	dir, err = Dir(opt)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "kernel.json")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return dir, fmt.Errorf("%w in %s", ErrNotInstalled, dir)
		}
		return dir, fmt.Errorf("checking the kernelspec in %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return dir, fmt.Errorf("removing the kernelspec: %w", err)
	}
	return dir, nil
}

// searchPath returns the data directories Jupyter searches before dataDir,
// in jupyter_core's order (JUPYTER_PATH's entries, the user's data
// directory, sys.prefix's, /usr/local's, /usr's), and whether dataDir is
// on that path at all.
func searchPath(dataDir string) (before []string, found bool) {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("JUPYTER_PATH")) {
		if d != "" {
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	if u, err := userDataDir(); err == nil {
		dirs = append(dirs, filepath.Clean(u))
	}
	dirs = append(dirs, filepath.Join(sysPrefix(), "share", "jupyter"), "/usr/local/share/jupyter", "/usr/share/jupyter")
	dataDir = filepath.Clean(dataDir)
	for _, d := range dirs {
		if d == dataDir {
			return before, true
		}
		before = append(before, d)
	}
	return before, false
}

// shadows returns the warnings a user should see after installing into
// dir: other atonce kernelspecs Jupyter would pick first, or dir being
// off Jupyter's search path.
func shadows(dir string) []string {
	data := filepath.Dir(filepath.Dir(dir))
	before, found := searchPath(data)
	var warn []string
	for _, d := range before {
		other := filepath.Join(d, "kernels", KernelName)
		if _, err := os.Stat(filepath.Join(other, "kernel.json")); err == nil {
			warn = append(warn, fmt.Sprintf("warning: Jupyter will use the atonce kernelspec in %s instead of this one; remove it if you want this one", other))
		}
	}
	if !found {
		warn = append(warn, fmt.Sprintf("warning: Jupyter does not look in %s by default; add it to JUPYTER_PATH to use this kernelspec", data))
	}
	return warn
}
