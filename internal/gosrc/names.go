package gosrc

import (
	"go/ast"
	"go/scanner"
	"go/token"
	"strings"
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

// Excerpt shows line (from 1) of src, indented, with a caret under column
// col (from 1, in bytes) on the next line; a long line is cut to a window
// around the column. nil when src has no such line.
func Excerpt(src string, line, col int) []string {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return nil
	}
	text := strings.TrimRight(lines[line-1], "\r")
	col = min(max(col, 1), len(text)+1)
	// Long lines: keep a window around the column.
	const width = 100
	if len(text) > width {
		start := max(0, col-1-width/2)
		for start > 0 && !isRuneStart(text[start]) {
			start--
		}
		end := min(len(text), start+width)
		for end < len(text) && !isRuneStart(text[end]) {
			end++
		}
		col -= start
		text = text[start:end]
	}
	var caret strings.Builder
	for _, r := range text[:col-1] {
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
	}
	return []string{"    " + text, "    " + caret.String() + "^"}
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
