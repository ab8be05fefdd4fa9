package interp

import (
	"go/ast"
	"go/scanner"
	"go/token"
)

// yaegi runs a package's func main after every later compile, as if each
// cell were a new program start. So a cell's func main is renamed to
// mainName, and so is every use of the name main from then on.

// mainName is the name a cell's func main gets inside the interpreter.
const mainName = "__atonce_main"

// declaresMain tells whether n, a parsed group, declares func main.
func declaresMain(n ast.Node) bool {
	f, ok := n.(*ast.File)
	if !ok {
		return false
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "main" {
			return true
		}
	}
	return false
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

// isProgram tells whether a cell starts with a package clause, as a whole
// program pasted in does.
func isProgram(src string) bool {
	fset := token.NewFileSet()
	var s scanner.Scanner
	s.Init(fset.AddFile("", -1, len(src)), []byte(src), nil, 0)
	_, tok, _ := s.Scan()
	return tok == token.PACKAGE
}
