package sharing

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// stdImporter type-checks standard packages from GOROOT's source, one
// level deep: the packages a standard package imports in turn are empty
// stand-ins, and function bodies are skipped. That is all the analysis
// needs (the names, types and methods a notebook uses: sync.Mutex,
// atomic.Int64, atomic.AddInt64, time.Sleep, fmt.Println), and it costs a
// few milliseconds per package the first time instead of type-checking
// the runtime. Packages are cached for the life of the process. Without
// GOROOT's source every package is an empty stand-in and the analysis
// falls back to syntax.
type stdImporter struct {
	mu   sync.Mutex
	fset *token.FileSet
	pkgs map[string]*types.Package
}

// maxSource is the most Go source, in bytes, a standard package may
// have to be type-checked rather than stood in for.
const maxSource = 1 << 20

var std = &stdImporter{fset: token.NewFileSet(), pkgs: map[string]*types.Package{}}

// checkMu serializes type checks: they share the cached standard
// packages, and a notebook's analysis is quick.
var checkMu sync.Mutex

// Import returns the package at path, or an empty stand-in when its
// source cannot be read or parsed. It never fails.
func (s *stdImporter) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pkgs[path]; ok {
		return p, nil
	}
	p := s.load(path)
	s.pkgs[path] = p
	return p, nil
}

// load type-checks path's exported API from source.
func (s *stdImporter) load(path string) *types.Package {
	fake := standIn(path)
	if build.Default.GOROOT == "" || strings.HasPrefix(path, ".") || strings.Contains(path, "..") {
		return fake
	}
	bp, err := build.Default.Import(path, "", build.IgnoreVendor)
	if err != nil || !bp.Goroot || len(bp.GoFiles) == 0 {
		return fake
	}
	// A huge package (runtime, syscall) would cost a notebook's first
	// analysis a fifth of a second; nothing a task shares is declared there.
	size := int64(0)
	for _, name := range bp.GoFiles {
		if fi, err := os.Stat(filepath.Join(bp.Dir, name)); err == nil {
			size += fi.Size()
		}
	}
	if size > maxSource {
		return fake
	}
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(s.fset, filepath.Join(bp.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		files = append(files, f)
	}
	conf := types.Config{
		Importer:         shallow{},
		Error:            func(error) {},
		IgnoreFuncBodies: true,
		FakeImportC:      true,
	}
	pkg, _ := conf.Check(path, s.fset, files, nil)
	if pkg == nil {
		return fake
	}
	pkg.MarkComplete()
	return pkg
}

// shallow is the importer for the imports of a standard package: empty
// stand-ins.
type shallow struct{}

func (shallow) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	return standIn(path), nil
}

// standIn is an empty, complete package for path.
func standIn(path string) *types.Package {
	p := types.NewPackage(path, defaultName(path))
	p.MarkComplete()
	return p
}

// defaultName is the package name an import path gets by convention:
// its last element, skipping a major-version suffix (math/rand/v2 is
// rand).
func defaultName(path string) string {
	elems := strings.Split(path, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = elems[len(elems)-2]
	}
	name = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, name)
	if name == "" {
		name = "_"
	}
	return name
}

// autoImport maps the package names a cell may use without importing
// them to the standard package the kernel imports for them. Names not
// here are tried as a top-level standard package path (fmt, sync, ...).
var autoImport = map[string]string{
	"atomic":    "sync/atomic",
	"rand":      "math/rand/v2",
	"bits":      "math/bits",
	"big":       "math/big",
	"cmplx":     "math/cmplx",
	"json":      "encoding/json",
	"csv":       "encoding/csv",
	"hex":       "encoding/hex",
	"base64":    "encoding/base64",
	"binary":    "encoding/binary",
	"http":      "net/http",
	"url":       "net/url",
	"filepath":  "path/filepath",
	"utf8":      "unicode/utf8",
	"heap":      "container/heap",
	"list":      "container/list",
	"ring":      "container/ring",
	"debug":     "runtime/debug",
	"pprof":     "runtime/pprof",
	"trace":     "runtime/trace",
	"exec":      "os/exec",
	"signal":    "os/signal",
	"template":  "text/template",
	"fs":        "io/fs",
	"sha256":    "crypto/sha256",
	"md5":       "crypto/md5",
	"slog":      "log/slog",
	"tabwriter": "text/tabwriter",
}

// topLevelStd are standard packages whose path is their name.
var topLevelStd = map[string]bool{
	"bufio": true, "bytes": true, "cmp": true, "context": true, "errors": true,
	"fmt": true, "io": true, "iter": true, "log": true, "maps": true, "math": true,
	"os": true, "path": true, "reflect": true, "regexp": true, "runtime": true,
	"slices": true, "sort": true, "strconv": true, "strings": true, "sync": true,
	"time": true, "unicode": true, "unique": true, "weak": true, "hash": true,
	"html": true, "image": true, "net": true, "crypto": true, "expvar": true,
}

// importPath is the package the name X in X.Sel stands for when the
// notebook did not import it explicitly.
func importPath(name string) string {
	if p, ok := autoImport[name]; ok {
		return p
	}
	if topLevelStd[name] {
		return name
	}
	return ""
}
