package gosrc

import (
	"go/ast"
	"go/scanner"
	"go/token"
)

// BaseTypeName returns T for a receiver or type expression T, *T, T[K] or
// *T[K], or "" for anything else.
func BaseTypeName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// InLiteral tells whether Go code ends inside a raw string or a /*
// comment, so that the line after it is part of that literal.
func InLiteral(code string) bool {
	open := false
	var s scanner.Scanner
	file := token.NewFileSet().AddFile("", -1, len(code))
	s.Init(file, []byte(code), func(_ token.Position, msg string) {
		if msg == "raw string literal not terminated" || msg == "comment not terminated" {
			open = true
		}
	}, scanner.ScanComments)
	for {
		if _, tok, _ := s.Scan(); tok == token.EOF {
			return open
		}
	}
}
