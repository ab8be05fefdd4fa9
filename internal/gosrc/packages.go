package gosrc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/generic"
)

// ImportName is the name an import of path binds when it gives none: the
// name the package declares. For the packages the interpreter provides
// (the standard library, and host packages added with AddPackage) that is
// read from the interpreter's symbol tables, which are keyed
// "path/name": math/rand/v2 binds rand. For any other path it is guessed
// as Go tools guess it: the last element of the path, the one before
// when the last is a major version (v2), cut at the first character that
// cannot be in an identifier, without a go- prefix (gopkg.in/yaml.v3 binds
// yaml, github.com/x/go-foo binds foo).
func ImportName(path string) string {
	if p, ok := Lookup(path); ok {
		return p.Name
	}
	elems := strings.Split(path, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = elems[len(elems)-2]
	}
	name = strings.TrimPrefix(name, "go-")
	if i := strings.IndexFunc(name, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) }); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		return "_"
	}
	return name
}

// Package is a package the interpreter provides.
type Package struct {
	Path    string
	Name    string          // the name it declares
	Members map[string]bool // its exported names
}

// packages indexes the interpreter's packages.
type packages struct {
	byPath map[string]*Package
	byName map[string][]*Package // importable ones (not internal, not vendored), sorted by path
}

var (
	indexOnce sync.Once
	index     packages

	extraMu sync.Mutex
	extra   []Package // from AddPackage
)

// AddPackage makes a host package the interpreter provides (beyond the
// standard library) known: its import path, declared name and exported
// names, so its imports bind the right name and AutoImport may pick it.
// Call it before the first Parse.
func AddPackage(path, name string, members []string) {
	p := Package{Path: path, Name: name, Members: map[string]bool{}}
	for _, m := range members {
		p.Members[m] = true
	}
	extraMu.Lock()
	defer extraMu.Unlock()
	extra = append(extra, p)
}

// known returns the index of the interpreter's packages: yaegi's
// stdlib.Symbols, keyed "importpath/pkgname", plus the generic packages
// yaegi interprets from source (cmp, maps, slices), whose symbol tables
// are empty, plus the packages AddPackage added.
func known() *packages {
	indexOnce.Do(func() {
		index = packages{byPath: map[string]*Package{}, byName: map[string][]*Package{}}
		add := func(p *Package) {
			index.byPath[p.Path] = p
			if !strings.Contains(p.Path, "internal") && !strings.Contains(p.Path, "vendor") {
				index.byName[p.Name] = append(index.byName[p.Name], p)
			}
		}
		for key, syms := range stdlib.Symbols {
			i := strings.LastIndex(key, "/")
			if i < 0 {
				continue
			}
			p := &Package{Path: key[:i], Name: key[i+1:], Members: map[string]bool{}}
			for s := range syms {
				p.Members[s] = true
			}
			add(p)
		}
		for _, src := range generic.Sources {
			f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			p := index.byPath[f.Name.Name]
			if p == nil {
				continue
			}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() {
					p.Members[fd.Name.Name] = true
				}
			}
		}
		extraMu.Lock()
		for _, p := range extra {
			add(&p)
		}
		extraMu.Unlock()
		for _, ps := range index.byName {
			slices.SortFunc(ps, func(a, b *Package) int { return strings.Compare(a.Path, b.Path) })
		}
	})
	return &index
}

// Lookup returns the package the interpreter provides at path.
func Lookup(path string) (Package, bool) {
	p, ok := known().byPath[path]
	if !ok {
		return Package{}, false
	}
	return *p, true
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

// AutoImport picks the package a cell means by name when it selects
// members uses from name without importing anything under that name: of
// the interpreter's packages that declare name, one that has every
// member, the preferred one when several do. A name with one candidate is
// picked even when a member is missing, so that the interpreter's error
// names the member; an ambiguous name that no package fits, or a name no
// package declares, picks nothing (ok false). others are the other
// packages of that name, for a note.
func AutoImport(name string, uses []string) (path string, others []string, ok bool) {
	cands := known().byName[name]
	var fits []string
	for _, p := range cands {
		if hasAll(p.Members, uses) {
			fits = append(fits, p.Path)
		}
	}
	switch {
	case len(fits) > 0:
		path = fits[0]
		for _, p := range preferred[name] {
			if slices.Contains(fits, p) {
				path = p
				break
			}
		}
	case len(cands) == 1:
		path = cands[0].Path
	default:
		return "", nil, false
	}
	for _, p := range cands {
		if p.Path != path {
			others = append(others, p.Path)
		}
	}
	return path, others, true
}

func hasAll(members map[string]bool, uses []string) bool {
	for _, u := range uses {
		if !members[u] {
			return false
		}
	}
	return true
}
