package native

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"slices"
	"strings"

	"atonce/internal/nbpkg"
)

// exportImporter type-checks the notebook against the compiler's export
// data for its imports, found with one `go list -export` for the paths
// not yet known (a new build compiles them then, the build cache keeps
// them). The files are remembered for the Builder's life, per toolchain
// and atonce source.
func (b *Builder) importer(ctx context.Context, env *buildEnv, fset *token.FileSet, pkg *nbpkg.Package) (types.Importer, error) {
	var paths []string
	for _, f := range pkg.Files {
		for _, spec := range f.AST.Imports {
			if p := strings.Trim(spec.Path.Value, "`\""); !slices.Contains(paths, p) && p != "unsafe" && p != "C" {
				paths = append(paths, p)
			}
		}
	}
	b.mu.Lock()
	if b.exportsFor != env.key {
		b.exports, b.exportsFor = map[string]string{}, env.key
	}
	var missing []string
	for _, p := range paths {
		file, ok := b.exports[p]
		if !ok {
			missing = append(missing, p)
			continue
		}
		if _, err := os.Stat(file); err != nil && file != "" {
			missing = append(missing, p) // trimmed from the build cache
		}
	}
	b.mu.Unlock()
	if len(missing) > 0 {
		found, err := b.listExports(ctx, env, missing)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		for _, p := range missing {
			b.exports[p] = found[p] // "" for a path go list cannot build
		}
		b.mu.Unlock()
	}
	lookup := func(path string) (io.ReadCloser, error) {
		b.mu.Lock()
		file := b.exports[path]
		b.mu.Unlock()
		if file == "" {
			return nil, fmt.Errorf("package %s is not in the standard library nor in atonce", path)
		}
		return os.Open(file)
	}
	return importer.ForCompiler(fset, "gc", lookup), nil
}

// listExports runs go list -export for paths (cells' import paths,
// mapped to atonce's own) and returns their export data files by the
// cells' paths; a path go list cannot build is left out (the build says
// why).
func (b *Builder) listExports(ctx context.Context, env *buildEnv, paths []string) (map[string]string, error) {
	real := map[string]string{}
	args := []string{"list", "-e", "-export", "-f", "{{.ImportPath}}\t{{.Export}}"}
	for _, p := range paths {
		real[realPath(p)] = p
		args = append(args, realPath(p))
	}
	var out bytes.Buffer
	if err := b.goCommand(ctx, env, env.modDir, &out, args...); err != nil {
		return nil, fmt.Errorf("reading the types of the notebook's imports (go list -export): %w", err)
	}
	found := map[string]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		path, file, _ := strings.Cut(sc.Text(), "\t")
		if p, ok := real[path]; ok && file != "" {
			found[p] = file
		}
	}
	return found, nil
}
