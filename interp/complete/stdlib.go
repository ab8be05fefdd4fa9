package complete

import (
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"atonce/internal/gosrc"
)

var (
	gorootOnce sync.Once
	gorootDir  string
)

// goroot returns the Go installation whose sources document the standard
// library: $GOROOT or the toolchain's root, else `go env GOROOT`.
func goroot() string {
	gorootOnce.Do(func() {
		has := func(d string) bool {
			st, err := os.Stat(filepath.Join(d, "src", "fmt"))
			return d != "" && err == nil && st.IsDir()
		}
		if d := build.Default.GOROOT; has(d) {
			gorootDir = d
			return
		}
		if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
			if d := strings.TrimSpace(string(out)); has(d) {
				gorootDir = d
				return
			}
		}
		if has("/usr/local/go") {
			gorootDir = "/usr/local/go"
		}
	})
	return gorootDir
}

var (
	stdOnce  sync.Once
	stdNames map[string][]string // package name -> import paths, preferred first
)

// preferred picks the package a bare name means when several share it.
var preferred = map[string]string{
	"rand":     "math/rand",
	"template": "text/template",
	"scanner":  "text/scanner",
	"pprof":    "runtime/pprof",
	"constant": "go/constant",
}

// stdPackages returns the importable standard packages by their name.
func stdPackages() map[string][]string {
	stdOnce.Do(func() {
		stdNames = map[string][]string{}
		root := goroot()
		if root == "" {
			return
		}
		src := filepath.Join(root, "src")
		_ = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(src, p)
			rel = filepath.ToSlash(rel)
			name := d.Name()
			if rel == "." {
				return nil
			}
			if name == "internal" || name == "vendor" || name == "testdata" || rel == "cmd" || rel == "builtin" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if hasGoFiles(p) {
				n := gosrc.ImportName(rel)
				stdNames[n] = append(stdNames[n], rel)
			}
			return nil
		})
		for n, ps := range stdNames {
			want := preferred[n]
			sort.Slice(ps, func(i, j int) bool {
				if (ps[i] == want) != (ps[j] == want) {
					return ps[i] == want
				}
				if len(ps[i]) != len(ps[j]) {
					return len(ps[i]) < len(ps[j])
				}
				return ps[i] < ps[j]
			})
		}
	})
	return stdNames
}

func hasGoFiles(dir string) bool {
	es, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range es {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			return true
		}
	}
	return false
}

// stdPath returns the import path a bare package name most likely means.
func stdPath(name string) (string, bool) {
	ps := stdPackages()[name]
	if len(ps) == 0 {
		return "", false
	}
	return ps[0], true
}

var (
	stdMu    sync.Mutex
	stdCache = map[string]*space{}
)

// loadStd parses a standard package's non-test sources for this platform
// once, and returns its declarations (nil if it cannot be read).
func loadStd(importPath string) *space {
	stdMu.Lock()
	defer stdMu.Unlock()
	if sp, ok := stdCache[importPath]; ok {
		return sp
	}
	sp := parseStd(importPath)
	stdCache[importPath] = sp
	return sp
}

func parseStd(importPath string) *space {
	root := goroot()
	if root == "" || strings.Contains(importPath, "..") {
		return nil
	}
	dir := filepath.Join(root, "src", filepath.FromSlash(importPath))
	var files []string
	name := gosrc.ImportName(importPath)
	if importPath == "builtin" {
		files = []string{"builtin.go"}
	} else {
		bp, err := build.Default.ImportDir(dir, 0)
		if err != nil {
			return nil
		}
		files, name = append(bp.GoFiles, bp.CgoFiles...), bp.Name
	}
	sp := newSpace(importPath, name)
	fset := token.NewFileSet()
	for _, fn := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, fn), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		if f.Doc != nil && (sp.doc == nil || len(f.Doc.List) > len(sp.doc.List)) {
			sp.doc = f.Doc
		}
		for _, s := range f.Imports {
			im, ok := gosrc.ImportOf(s)
			if _, known := sp.imports[im.Name]; ok && !known && im.Name != "_" && im.Name != "." {
				sp.imports[im.Name] = im.Path
			}
		}
		sp.addFile(f, nil)
	}
	sp.fset = fset
	return sp
}

// universe returns the predeclared identifiers, read from package builtin.
func universe() *space { return loadStd("builtin") }

var cellCache sync.Map // cell source -> *gosrc.Cell

// cachedCell parses a cell of the scope once.
func cachedCell(src string) *gosrc.Cell {
	if c, ok := cellCache.Load(src); ok {
		return c.(*gosrc.Cell)
	}
	c := parseCell(src)
	cellCache.Store(src, c)
	return c
}
