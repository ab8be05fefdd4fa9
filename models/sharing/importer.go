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

	"atonce/internal/gosrc"
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
	p := types.NewPackage(path, gosrc.ImportName(path))
	p.MarkComplete()
	return p
}
