// Package complete answers completion, inspection and is-complete
// questions about Go cell text. It reads the notebook's earlier cells and
// the standard library's sources (GOROOT) with go/parser and knows nothing
// of the interpreter or of Jupyter.
//
// Cursors are counted in Unicode code points (runes), as Jupyter 5.2+
// does. All functions are safe for concurrent use.
package complete

import (
	"go/ast"
	"go/parser"
	"log/slog"
	"sort"
	"strings"
)

// Scope is what the notebook has defined so far: cells that ran
// successfully, in order. The session gives it.
type Scope struct {
	Cells []string // sources of successful cells, oldest first
}

// Completion is the answer to a completion request: the candidates that
// may replace the code between CursorStart and CursorEnd.
type Completion struct {
	Matches     []string
	CursorStart int // in Unicode code points (runes), as Jupyter 5.2+ counts
	CursorEnd   int
}

// Complete returns the completions of the identifier or selector (pkg.Pre,
// x.Pre) that ends at cursor, a rune offset in code. Matches are sorted and
// unique; the cursor range covers exactly the partial identifier. Inside a
// string or comment there are no matches.
func Complete(sc Scope, code string, cursor int) (c Completion) {
	defer guard("complete", func() { c = Completion{CursorStart: cursor, CursorEnd: cursor} })
	off := runeToByte(code, cursor)
	cursor = byteToRune(code, off)
	start := identStart(code, off)
	c = Completion{CursorStart: byteToRune(code, start), CursorEnd: cursor}
	if inLiteralOrComment(code, off) {
		return c
	}
	prefix := code[start:off]
	r := &resolver{user: userSpace(sc, code)}
	var names []string
	if start > 0 && code[start-1] == '.' {
		xs := chainStart(code, start-1)
		if xs == start-1 {
			return c
		}
		names = r.selectorNames(code[xs : start-1])
	} else {
		if len(prefix) > 0 && prefix[0] >= '0' && prefix[0] <= '9' {
			return c // a number
		}
		names = r.bareNames()
	}
	c.Matches = filterSorted(names, prefix)
	return c
}

// selectorNames lists what may follow "x." for the expression text x.
func (r *resolver) selectorNames(x string) []string {
	e, err := parser.ParseExpr(x)
	if err != nil {
		return nil
	}
	var names []string
	if id, ok := e.(*ast.Ident); ok {
		if pk := r.pkgOf(r.user, id.Name); pk != nil {
			for n := range pk.values {
				names = append(names, n)
			}
			for n := range pk.types {
				names = append(names, n)
			}
			return visibleOnly(pk, names)
		}
	}
	for _, m := range r.members(r.exprType(r.user, e, 0), 0) {
		names = append(names, m.name)
	}
	return names
}

// bareNames lists every name a bare identifier may start: the notebook's,
// Go's keywords and builtins, and standard package names.
func (r *resolver) bareNames() []string {
	sp := r.user
	names := append([]string{}, keywords...)
	names = append(names, builtins...)
	for n := range sp.values {
		names = append(names, n)
	}
	for n := range sp.types {
		names = append(names, n)
	}
	for n := range sp.imports {
		names = append(names, n)
	}
	for n := range stdPackages() {
		names = append(names, n)
	}
	return names
}

func visibleOnly(sp *space, names []string) []string {
	out := names[:0]
	for _, n := range names {
		if sp.visible(n) && n != "_" {
			out = append(out, n)
		}
	}
	return out
}

// filterSorted keeps the names starting with prefix, sorted and unique.
func filterSorted(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if n != "_" && n != "" && strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	uniq := out[:0]
	for i, n := range out {
		if i == 0 || n != out[i-1] {
			uniq = append(uniq, n)
		}
	}
	if len(uniq) == 0 {
		return nil
	}
	return uniq
}

// guard turns a panic (a bug here) into an empty answer, so that a
// question about odd code never takes the engine down.
func guard(what string, reset func()) {
	if r := recover(); r != nil {
		slog.Error("complete: recovered from a panic", "request", what, "panic", r)
		reset()
	}
}

func sortMembers(ms []member) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
}
