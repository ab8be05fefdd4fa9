package complete

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"

	"atonce/internal/gosrc"
)

// A segment is one top-level piece of a cell: a declaration or a run of
// statement text, ending at a newline outside any brackets.
type segment struct {
	start, end int         // byte offsets in the cell
	first      token.Token // first token that is not a comment
}

// segments splits a cell into its top-level pieces.
func segments(src string) []segment {
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(f, []byte(src), func(token.Position, string) {}, scanner.ScanComments)
	var segs []segment
	depth, start, inHeader := 0, -1, false
	first := token.ILLEGAL
	flush := func(end int) {
		if start >= 0 && first != token.ILLEGAL {
			segs = append(segs, segment{start: start, end: end, first: first})
		}
		start, first = -1, token.ILLEGAL
	}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			flush(len(src))
			return segs
		}
		off := f.Offset(pos)
		// A newline ends a piece; so does an explicit semicolon, except in
		// the header of a for, if or switch.
		if tok == token.SEMICOLON && depth == 0 && (lit == "\n" || !inHeader) {
			flush(off)
			inHeader = false
			continue
		}
		if start < 0 {
			start = off
		}
		switch tok {
		case token.COMMENT:
			continue
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth > 0 {
				depth--
			}
		}
		if first == token.ILLEGAL {
			first = tok
			inHeader = tok == token.FOR || tok == token.IF || tok == token.SWITCH
		}
		if tok == token.LBRACE && depth == 1 {
			inHeader = false
		}
	}
}

// A unit is one parsed segment: a synthetic file holding either the
// segment's declarations or its statements wrapped in a function.
type unit struct {
	fset   *token.FileSet
	file   *ast.File
	src    []byte // the synthetic source
	stmts  bool   // the segment is statements, in file.Decls[0]'s body
	err    error  // the parse error, if any
	prefix int    // bytes added before the segment's text
}

const (
	declPrefix = "package p\n"
	stmtPrefix = "package p\nfunc _() {\n"
	stmtSuffix = "\n}\n"
)

// parseSegment parses one segment of src as declarations or as
// statements, whichever its first token calls for; a func segment is tried
// both ways (declaration or function literal).
func parseSegment(src string, sg segment) *unit {
	text := src[sg.start:sg.end]
	switch sg.first {
	case token.PACKAGE:
		return parseUnit(text, "", "", false)
	case token.IMPORT, token.TYPE, token.CONST, token.VAR:
		return parseUnit(text, declPrefix, "", false)
	case token.FUNC:
		u := parseUnit(text, declPrefix, "", false)
		if u.err == nil {
			return u
		}
		if v := parseUnit(text, stmtPrefix, stmtSuffix, true); v.err == nil {
			return v
		}
		return u
	}
	return parseUnit(text, stmtPrefix, stmtSuffix, true)
}

func parseUnit(text, prefix, suffix string, stmts bool) *unit {
	src := prefix + text + suffix
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cell.go", src, parser.ParseComments|parser.SkipObjectResolution)
	return &unit{fset: fset, file: f, src: []byte(src), stmts: stmts, err: err, prefix: len(prefix)}
}

// parseCell parses every segment of a cell.
func parseCell(src string) []*unit {
	src = gosrc.BlankMagics(src)
	var us []*unit
	for _, sg := range segments(src) {
		if u := parseSegment(src, sg); u.file != nil {
			us = append(us, u)
		}
	}
	return us
}

// text returns the synthetic source between two positions of the unit.
func (u *unit) text(from, to token.Pos) string {
	tf := u.fset.File(from)
	if tf == nil || !to.IsValid() {
		return ""
	}
	a, b := tf.Offset(from), tf.Offset(to)
	if a < 0 || b > len(u.src) || a > b {
		return ""
	}
	return string(u.src[a:b])
}

// body returns the statements of a statement unit.
func (u *unit) body() []ast.Stmt {
	if !u.stmts || len(u.file.Decls) == 0 {
		return nil
	}
	fd, ok := u.file.Decls[0].(*ast.FuncDecl)
	if !ok || fd.Body == nil {
		return nil
	}
	return fd.Body.List
}
