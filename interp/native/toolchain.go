package native

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// MinGo is the oldest Go toolchain that builds atonce's source.
const MinGo = "go1.26"

// ErrNoToolchain is returned, wrapped with what was found, when there is
// no Go toolchain recent enough to build the notebook.
var ErrNoToolchain = errors.New("native mode builds the notebook with the Go toolchain, " + MinGo + " or later")

// ErrNoSource is returned, wrapped with why, when atonce's source tree,
// which the native program is built against, cannot be found.
var ErrNoSource = errors.New("native mode builds the notebook against atonce's own source")

// install says what to do when there is no usable toolchain.
const install = "install Go from https://go.dev/dl (or your system's golang package, if it is " + MinGo +
	" or later) and start Jupyter with that `go` on its PATH. Interpreted runs still work"

// toolchain is the Go toolchain found.
type toolchain struct {
	goBin   string // the go command
	goroot  string
	version string // go1.26.8
}

// findToolchain looks for the go command on PATH, then in $GOROOT/bin,
// then, when GOROOT is not set, where the installers of go.dev/dl put it
// (a kernel started from a desktop may have a short PATH).
func findToolchain(ctx context.Context) (*toolchain, error) {
	var tried []string
	candidates := []string{}
	if p, err := exec.LookPath("go"); err == nil {
		candidates = append(candidates, p)
	} else {
		tried = append(tried, "no `go` on PATH")
	}
	if root, ok := os.LookupEnv("GOROOT"); ok {
		candidates = append(candidates, filepath.Join(root, "bin", "go"+exeSuffix(runtime.GOOS)))
		tried = append(tried, "none in GOROOT ("+root+")")
	} else {
		root := defaultGOROOT[runtime.GOOS]
		if root == "" {
			root = "/usr/local/go"
		}
		candidates = append(candidates, filepath.Join(root, "bin", "go"+exeSuffix(runtime.GOOS)))
		tried = append(tried, "none in "+root)
	}
	var old []string
	for _, c := range candidates {
		if fi, err := os.Stat(c); err != nil || fi.IsDir() {
			continue
		}
		tc, err := describe(ctx, c)
		if err != nil {
			old = append(old, fmt.Sprintf("%s does not run (%v)", c, err))
			continue
		}
		if version.Compare(tc.version, MinGo) < 0 {
			old = append(old, fmt.Sprintf("the `go` at %s is %s", c, tc.version))
			continue
		}
		return tc, nil
	}
	if len(old) > 0 {
		return nil, fmt.Errorf("%w: %s; %s", ErrNoToolchain, strings.Join(old, ", "), install)
	}
	return nil, fmt.Errorf("%w: %s; %s", ErrNoToolchain, strings.Join(tried, ", "), install)
}

// describe finds the GOROOT and version of the go command at goBin: from
// the VERSION file of the tree it sits in when there is one (no process
// started), else from `go env`.
func describe(ctx context.Context, goBin string) (*toolchain, error) {
	real, err := filepath.EvalSymlinks(goBin)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(filepath.Dir(real))
	if b, err := os.ReadFile(filepath.Join(root, "VERSION")); err == nil {
		v, _, _ := strings.Cut(string(b), "\n")
		if version.IsValid(strings.TrimSpace(v)) {
			return &toolchain{goBin: goBin, goroot: root, version: strings.TrimSpace(v)}, nil
		}
	}
	cmd := exec.CommandContext(ctx, goBin, "env", "GOVERSION", "GOROOT")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(bytes.TrimSpace(out)), "\n")
	if len(lines) != 2 || !version.IsValid(strings.TrimSpace(lines[0])) {
		return nil, fmt.Errorf("go env said %q", out)
	}
	return &toolchain{goBin: goBin, goroot: strings.TrimSpace(lines[1]), version: strings.TrimSpace(lines[0])}, nil
}

// defaultGOROOT is where the installers of go.dev/dl put Go, by GOOS
// (/usr/local/go elsewhere).
var defaultGOROOT = map[string]string{"windows": `C:\Program Files\Go`}

func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// findSource checks that dir holds atonce's source: a go.mod of module
// atonce.
func findSource(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w, and this atonce binary does not know where that is: build atonce with `make build` in its repository", ErrNoSource)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return fmt.Errorf("%w, and it is not at %s any more (moved or deleted?): build atonce again with `make build` where its source is now", ErrNoSource, dir)
	}
	if !bytes.HasPrefix(b, []byte("module atonce\n")) {
		return fmt.Errorf("%w, and %s holds another module: build atonce again with `make build` where its source is", ErrNoSource, dir)
	}
	return nil
}
