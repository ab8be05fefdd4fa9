package interp

import (
	"go/ast"

	"atonce/internal/gosrc"
)

// yaegi runs a package's func main after every later compile, as if each
// cell were a new program start. So a cell's func main is renamed to
// mainName, and so is every use of the name main from then on.

// mainName is the name a cell's func main gets inside the interpreter.
const mainName = "__atonce_main"

// mainDecl returns the func main a parsed group declares, or nil.
func mainDecl(g *gosrc.Group) *ast.FuncDecl {
	for _, d := range g.Decls {
		if fd, ok := d.Node.(*ast.FuncDecl); ok && d.Kind == gosrc.Func && d.Names[0] == "main" {
			return fd
		}
	}
	return nil
}

// mainToRun returns the func main of a whole program pasted into a cell
// (program: it starts with a package clause) when the cell has no
// statements of its own: the session then calls it, as running the
// program would. nil otherwise.
func mainToRun(program bool, groups []*gosrc.Group) *ast.FuncDecl {
	if !program {
		return nil
	}
	var decl *ast.FuncDecl
	for _, g := range groups {
		if g.Kind == gosrc.Stmt {
			return nil
		}
		if fd := mainDecl(g); fd != nil {
			decl = fd
		}
	}
	return decl
}

// renameMain renames the identifiers main in n to mainName, except field,
// method and package names.
func renameMain(n ast.Node) {
	skip := map[*ast.Ident]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.File:
			skip[x.Name] = true
		case *ast.SelectorExpr:
			skip[x.Sel] = true
		case *ast.FuncDecl:
			if x.Recv != nil {
				skip[x.Name] = true
			}
		case *ast.StructType:
			skipFieldNames(skip, x.Fields)
		case *ast.InterfaceType:
			skipFieldNames(skip, x.Methods)
		case *ast.CompositeLit:
			for _, e := range x.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok {
						skip[id] = true
					}
				}
			}
		case *ast.Ident:
			if x.Name == "main" && !skip[x] {
				x.Name = mainName
			}
		}
		return true
	})
}

func skipFieldNames(skip map[*ast.Ident]bool, fl *ast.FieldList) {
	if fl == nil {
		return
	}
	for _, f := range fl.List {
		for _, id := range f.Names {
			skip[id] = true
		}
	}
}
