package complete

import (
	"go/ast"
	"go/parser"
	"go/token"

	"atonce/internal/gosrc"
)

// parseCell reads a cell as the kernel does (gosrc.Magics: the lines that
// are not Go are blanked) and parses it through gosrc: each top-level item
// on its own, so that one being written does not hide the rest, with
// comments (doc comments, for inspection).
func parseCell(code string) *gosrc.Cell {
	return parse(gosrc.BlankMagics(code))
}

// parse parses Go source (magics already blanked) as parseCell does.
func parse(src string) *gosrc.Cell {
	return gosrc.Parse(src, gosrc.Options{Mode: parser.ParseComments | parser.SkipObjectResolution, Items: true})
}

// text is the source of group g between two positions of its tree.
func text(g *gosrc.Group, from, to token.Pos) string {
	if !from.IsValid() || !to.IsValid() {
		return ""
	}
	a, b := g.Offset(from)-g.Start+g.Head, g.Offset(to)-g.Start+g.Head
	if a < 0 || b > len(g.Source) || a > b {
		return ""
	}
	return g.Source[a:b]
}

// stmts are the statements of a group of statements, as far as they
// parsed.
func stmts(g *gosrc.Group) []ast.Stmt {
	if b := g.Body(); b != nil {
		return b.List
	}
	return nil
}
