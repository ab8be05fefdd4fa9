package gosrc

import (
	"go/ast"
	"go/token"
	"strconv"
)

// DeclKind tells what a top-level declaration declares.
type DeclKind string

// The kinds of declarations; each is also the word a note uses.
const (
	Func   DeclKind = "func"
	Method DeclKind = "method"
	Type   DeclKind = "type"
	Var    DeclKind = "var"
	Const  DeclKind = "const"
)

// TopDecl is one declaration at the top level of the notebook: a func or
// method, a const declaration, one spec of a type or var declaration, or
// a top-level := statement (which declares package-level variables in a
// notebook).
type TopDecl struct {
	Kind DeclKind
	// Names are the names it declares, _ left out; T.M for a method
	// (whatever the receiver's pointer or type parameters).
	Names []string
	// Node is the declaration: *ast.FuncDecl, *ast.GenDecl (const),
	// *ast.TypeSpec or *ast.ValueSpec (in a type or var declaration), or
	// *ast.AssignStmt (:=).
	Node ast.Node
	// Span is its bytes in the cell; Outer the whole top-level item it is
	// in, which differs from Span for a spec of a parenthesized type or
	// var declaration.
	Span, Outer [2]int
	// Canon is its tokens without layout or comments (for a spec, after
	// its keyword): two declarations that read the same are the same.
	Canon string
	// Refs are the identifiers its source uses.
	Refs map[string]bool
}

// Grouped tells whether the declaration is a spec inside a parenthesized
// declaration, var ( ... ) or type ( ... ).
func (d TopDecl) Grouped() bool { return d.Span != d.Outer }

// read finds the declarations and imports of a parsed group.
func (c *Cell) read(g *Group) {
	off := g.Offset
	span := func(n ast.Node) [2]int { return [2]int{off(n.Pos()), off(n.End())} }
	if b := g.Body(); b != nil {
		for _, st := range b.List {
			if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				d := TopDecl{Kind: Var, Node: as, Span: span(as), Outer: span(as), Refs: identsOf(as)}
				for _, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
						d.Names = append(d.Names, id.Name)
					}
				}
				d.Canon = canonical(c.toks, d.Span[0], d.Span[1])
				if len(d.Names) > 0 {
					g.Decls = append(g.Decls, d)
				}
			}
		}
		return
	}
	for _, decl := range g.File.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			d := TopDecl{Kind: Func, Names: []string{decl.Name.Name}, Node: decl, Span: span(decl), Outer: span(decl), Refs: identsOf(decl)}
			if decl.Recv != nil && len(decl.Recv.List) == 1 {
				recv := BaseTypeName(decl.Recv.List[0].Type)
				if recv == "" {
					recv = "?"
				}
				d.Kind, d.Names = Method, []string{recv + "." + decl.Name.Name}
			} else if decl.Name.Name == "_" {
				d.Names = nil
			}
			d.Canon = canonical(c.toks, d.Span[0], d.Span[1])
			g.Decls = append(g.Decls, d)
		case *ast.GenDecl:
			outer := span(decl)
			switch decl.Tok {
			case token.IMPORT:
				for _, sp := range decl.Specs {
					if im, ok := ImportOf(sp.(*ast.ImportSpec)); ok {
						g.Imports = append(g.Imports, im)
					}
				}
			case token.CONST:
				d := TopDecl{Kind: Const, Node: decl, Span: outer, Outer: outer, Refs: identsOf(decl), Canon: canonical(c.toks, outer[0], outer[1])}
				for _, sp := range decl.Specs {
					d.Names = append(d.Names, valueNames(sp.(*ast.ValueSpec))...)
				}
				g.Decls = append(g.Decls, d)
			case token.TYPE, token.VAR:
				for _, sp := range decl.Specs {
					d := TopDecl{Node: sp, Span: outer, Outer: outer, Refs: identsOf(sp)}
					if decl.Lparen.IsValid() {
						d.Span = span(sp)
					}
					s := span(sp)
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						d.Kind, d.Names = Type, []string{sp.Name.Name}
						d.Canon = "type " + canonical(c.toks, s[0], s[1])
					case *ast.ValueSpec:
						d.Kind, d.Names = Var, valueNames(sp)
						d.Canon = "var " + canonical(c.toks, s[0], s[1])
					}
					g.Decls = append(g.Decls, d)
				}
			}
		}
	}
}

// valueNames are the names a var or const spec declares, _ left out.
func valueNames(sp *ast.ValueSpec) []string {
	var names []string
	for _, n := range sp.Names {
		if n.Name != "_" {
			names = append(names, n.Name)
		}
	}
	return names
}

// identsOf is the set of identifiers n uses or declares.
func identsOf(n ast.Node) map[string]bool {
	refs := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			refs[id.Name] = true
		}
		return true
	})
	return refs
}

// ImportSpec is one import of a cell.
type ImportSpec struct {
	Path string
	// Name is the name the import binds: the one it gives, or the one
	// the package declares (see ImportName). "_" and "." as given.
	Name string
	// Named tells that the import gives the name.
	Named bool
	Spec  *ast.ImportSpec
}

// ImportOf reads an import spec: its path and the name it binds. false
// when the path is not a string.
func ImportOf(s *ast.ImportSpec) (ImportSpec, bool) {
	path, err := strconv.Unquote(s.Path.Value)
	if err != nil {
		return ImportSpec{}, false
	}
	im := ImportSpec{Path: path, Name: ImportName(path), Spec: s}
	if s.Name != nil {
		im.Name, im.Named = s.Name.Name, true
	}
	return im, true
}
