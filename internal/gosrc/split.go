// Package gosrc holds the small readings of notebook Go source that the
// interpreter and the data-sharing analysis both make: cutting a cell into
// groups of imports, declarations and statements (each evaluated on its
// own), naming a receiver's base type, and telling whether code ends
// inside a literal.
package gosrc

import (
	"go/scanner"
	"go/token"
)

// Kind tells what a group of top-level items in a cell holds. yaegi
// evaluates either declarations or statements in one go, and imports must
// come before other declarations, so each kind is evaluated on its own.
type Kind int

// The kinds of groups.
const (
	Import Kind = iota // import declarations
	Decl               // func, method, type, var and const declarations
	Stmt               // statements and expressions
)

// String names the kind: "import", "decl" or "stmt".
func (k Kind) String() string {
	switch k {
	case Import:
		return "import"
	case Decl:
		return "decl"
	default:
		return "stmt"
	}
}

// Group is a run of consecutive top-level items of one kind: the bytes
// src[Start:End] of the cell, beginning at cell position Line:Col (1-based,
// Col in bytes).
type Group struct {
	Kind       Kind
	Start, End int
	Line, Col  int
}

// item is one top-level declaration or statement found by the scanner.
type item struct {
	kind      Kind
	start     int // offset of its first token
	line, col int
	skip      bool // a package clause: dropped
}

// Split cuts a cell into ordered groups of imports, declarations and
// statements. It only scans: syntax errors are left to the parser, which
// reports them with positions once the groups are parsed. A package clause
// is dropped, so a whole program pasted into a cell still runs.
func Split(src string) []Group {
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, 0)

	var toks []token.Token
	var poss []token.Pos
	for {
		pos, t, _ := s.Scan()
		if t == token.EOF {
			break
		}
		toks = append(toks, t)
		poss = append(poss, pos)
	}

	var items []item
	depth := 0
	atStart := true
	for i, t := range toks {
		if atStart && t != token.SEMICOLON {
			p := fset.Position(poss[i])
			it := item{start: p.Offset, line: p.Line, col: p.Column}
			switch t {
			case token.PACKAGE:
				it.skip = true
			case token.IMPORT:
				it.kind = Import
			case token.TYPE, token.VAR, token.CONST:
				it.kind = Decl
			case token.FUNC:
				it.kind = funcKind(toks[i+1:])
			default:
				it.kind = Stmt
			}
			items = append(items, it)
			atStart = false
		}
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth > 0 {
				depth--
			}
		case token.SEMICOLON:
			atStart = depth == 0
		}
	}

	var groups []Group
	for i, it := range items {
		end := len(src)
		if i+1 < len(items) {
			end = items[i+1].start
		}
		if it.skip {
			continue
		}
		if n := len(groups); n > 0 && groups[n-1].Kind == it.kind && groups[n-1].End == it.start {
			groups[n-1].End = end
			continue
		}
		groups = append(groups, Group{Kind: it.kind, Start: it.start, End: end, Line: it.line, Col: it.col})
	}
	return groups
}

// funcKind tells a func declaration or method from a statement that starts
// with a func literal, such as func(){...}(). rest holds the tokens after
// "func".
func funcKind(rest []token.Token) Kind {
	if len(rest) == 0 || rest[0] == token.IDENT {
		return Decl // func Name(...), or let the parser complain
	}
	if rest[0] != token.LPAREN {
		return Stmt
	}
	// Either a receiver, func (r T) Name(, or a literal's parameters,
	// func(x int) int { ... }(3). Skip to the matching paren.
	depth := 0
	for j, t := range rest {
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
		if depth == 0 {
			if j+2 < len(rest) && rest[j+1] == token.IDENT && rest[j+2] == token.LPAREN {
				return Decl // a method: func (r T) Name(
			}
			return Stmt
		}
	}
	return Stmt
}
