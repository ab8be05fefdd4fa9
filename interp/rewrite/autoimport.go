package rewrite

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"sync"

	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/generic"
)

// stdIndex knows the standard packages yaegi provides.
type stdIndex struct {
	byName  map[string][]string        // package name to import paths, sorted
	members map[string]map[string]bool // import path to exported names
	name    map[string]string          // import path to package name
}

var (
	indexOnce sync.Once
	index     stdIndex

	extraMu sync.Mutex
	extra   = map[string][]string{} // import path to exported names, from AddPackage
)

// AddPackage makes a host package the session provides (beyond the
// standard library) importable automatically: path is its import path,
// members its exported names. Call it before the first Cell.
func AddPackage(path string, members []string) {
	extraMu.Lock()
	defer extraMu.Unlock()
	extra[path] = members
}

// std returns the index of yaegi's standard library: stdlib.Symbols, keyed
// "importpath/pkgname", plus the generic packages yaegi interprets from
// source (cmp, maps, slices), whose symbol tables are empty.
func std() *stdIndex {
	indexOnce.Do(func() {
		index = stdIndex{byName: map[string][]string{}, members: map[string]map[string]bool{}, name: map[string]string{}}
		for key, syms := range stdlib.Symbols {
			i := strings.LastIndex(key, "/")
			if i < 0 {
				continue
			}
			path, name := key[:i], key[i+1:]
			if strings.Contains(path, "internal") || strings.Contains(path, "vendor") {
				continue
			}
			index.byName[name] = append(index.byName[name], path)
			index.name[path] = name
			m := map[string]bool{}
			for s := range syms {
				m[s] = true
			}
			index.members[path] = m
		}
		for _, src := range generic.Sources {
			f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			m := index.members[f.Name.Name]
			if m == nil {
				continue
			}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
					m[fd.Name.Name] = true
				}
			}
		}
		extraMu.Lock()
		for path, members := range extra {
			name := path[strings.LastIndex(path, "/")+1:]
			index.byName[name] = append(index.byName[name], path)
			index.name[path] = name
			m := map[string]bool{}
			for _, s := range members {
				m[s] = true
			}
			index.members[path] = m
		}
		extraMu.Unlock()
		for _, paths := range index.byName {
			slices.Sort(paths)
		}
	})
	return &index
}

// pathName is the package name of a standard import path yaegi knows.
func pathName(path string) (string, bool) {
	name, ok := std().name[path]
	return name, ok
}

// preferred orders packages that share a name, most expected first: what a
// Go programmer most likely means when several have the member. rand.Read
// goes to crypto/rand because math/rand's Read is deprecated; rand.IntN to
// math/rand/v2, rand.Intn to math/rand (the only ones that have them).
var preferred = map[string][]string{
	"rand":     {"math/rand/v2", "crypto/rand", "math/rand"},
	"template": {"text/template", "html/template"},
	"pprof":    {"runtime/pprof", "net/http/pprof"},
	"scanner":  {"text/scanner", "go/scanner"},
}

// autoImports picks a standard package for each name the cell selects from
// without importing it: one that has every member the cell uses, the
// preferred one when several do. A name with one candidate package is
// imported even when a member is missing, so the interpreter's error names
// the member; an ambiguous name where no package fits is left alone.
func (w *walker) autoImports() (imports, notes []string) {
	idx := std()
	for _, name := range w.pkgOrder {
		paths := idx.byName[name]
		if len(paths) == 0 {
			continue
		}
		uses := w.pkgUses[name]
		var fits []string
		for _, p := range paths {
			if hasAll(idx.members[p], uses) {
				fits = append(fits, p)
			}
		}
		var pick string
		switch {
		case len(fits) > 0:
			pick = fits[0]
			for _, p := range preferred[name] {
				if slices.Contains(fits, p) {
					pick = p
					break
				}
			}
		case len(paths) == 1:
			pick = paths[0]
		default:
			continue
		}
		imports = append(imports, pick)
		if len(paths) > 1 {
			others := slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == pick })
			notes = append(notes, fmt.Sprintf("atonce: imported %q for %s.%s (also named %s: %s)",
				pick, name, uses[0], name, strings.Join(others, ", ")))
		}
	}
	return imports, notes
}

func hasAll(members map[string]bool, uses []string) bool {
	for _, u := range uses {
		if !members[u] {
			return false
		}
	}
	return true
}
