package sharing

import (
	"fmt"
	"go/ast"
	"go/token"

	"atonce/internal/gosrc"
)

// unit is one parsed group of a cell, as a file of package-level
// declarations: a statement group keeps only what defines names (its
// top-level `:=` become var declarations).
type unit struct {
	file *ast.File
	tf   *token.File
	src  string // the text the file was parsed from
	cell int    // 1-based
}

// parseCell parses one cell (magics already blanked) into units, its
// positions in file "cellN". A cell with a syntax error yields no unit
// and the error.
func parseCell(fset *token.FileSet, cell int, src string) ([]unit, error) {
	c := gosrc.Parse(src, gosrc.Options{Fset: fset, File: fmt.Sprintf("cell%d", cell)})
	if c.Err != nil {
		return nil, c.Err
	}
	var units []unit
	for _, g := range c.Groups {
		f := g.File
		if g.Kind == gosrc.Stmt {
			f.Decls = lift(f)
		}
		units = append(units, unit{file: f, tf: fset.File(f.FileStart), src: g.Source, cell: cell})
	}
	return units, nil
}

// lift turns a statement group (parsed as the body of func _) into the
// package-level declarations the interpreter makes of it: `a, b := x, y`
// at top level defines package variables a and b, and var, const and type
// declarations among the statements are package-level too. The other
// statements ran once, when the cell did; they are not part of any task.
func lift(f *ast.File) []ast.Decl {
	var decls []ast.Decl
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		for _, s := range fd.Body.List {
			switch s := s.(type) {
			case *ast.AssignStmt:
				if s.Tok != token.DEFINE {
					continue
				}
				spec := &ast.ValueSpec{}
				for _, l := range s.Lhs {
					id, ok := l.(*ast.Ident)
					if !ok {
						id = &ast.Ident{Name: "_", NamePos: l.Pos()}
					}
					spec.Names = append(spec.Names, id)
				}
				spec.Values = s.Rhs
				decls = append(decls, &ast.GenDecl{TokPos: s.Pos(), Tok: token.VAR, Specs: []ast.Spec{spec}})
			case *ast.DeclStmt:
				if gd, ok := s.Decl.(*ast.GenDecl); ok {
					decls = append(decls, gd)
				}
			}
		}
	}
	return decls
}
