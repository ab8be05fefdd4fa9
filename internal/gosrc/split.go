package gosrc

import (
	"go/scanner"
	"go/token"
	"slices"
	"strings"
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

// tok is one token of a cell, as the scanner read it; off is its offset
// in the cell.
type tok struct {
	off int
	t   token.Token
	lit string
}

// span is a run of consecutive top-level items of one kind: the bytes
// src[start:end], beginning at line:col (1-based, col in bytes).
type span struct {
	kind       Kind
	start, end int
	line, col  int
}

// item is one top-level declaration or statement found by the scanner.
type item struct {
	kind      Kind
	start     int // offset of its first token
	line, col int
	skip      bool // a package clause: dropped
	fn        int  // for an item starting with func, the index of the token after it
}

// scan reads src's tokens, once, and cuts it into ordered groups of
// imports, declarations and statements. It only scans: syntax errors are
// left to the parser, which reports them with positions once the groups
// are parsed. A package clause is dropped (program tells there was one),
// so a whole program pasted into a cell still runs. line and col are
// where src starts in its cell. An item ends at a semicolon (or the end
// of a line) outside brackets, except in the header of a for, if or
// switch. With docs, an item starts at the comments right before it; with
// items, each item is a group of its own instead of joining the items of
// its kind right before it.
func scan(src string, line, col int, docs, items bool) (toks []tok, groups []span, program bool) {
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, scanner.ScanComments)
	doc := -1 // the offset of the comments right before the next item
	var its []item
	depth := 0
	atStart := true
	header := false
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		off := file.Offset(pos)
		if t == token.COMMENT {
			if atStart && docs && doc < 0 {
				doc = off
			}
			continue
		}
		toks = append(toks, tok{off: off, t: t, lit: lit})
		if atStart && t != token.SEMICOLON {
			start := off
			if doc >= 0 {
				start = doc
			}
			p := file.Position(file.Pos(start))
			it := item{start: start, line: p.Line + line - 1, col: p.Column}
			if p.Line == 1 {
				it.col += col - 1
			}
			switch t {
			case token.PACKAGE:
				it.skip = true
				program = program || len(its) == 0
			case token.IMPORT:
				it.kind = Import
			case token.TYPE, token.VAR, token.CONST:
				it.kind = Decl
			case token.FUNC:
				it.kind = Stmt // decided once its tokens are read, below
				it.fn = len(toks)
			default:
				it.kind = Stmt
			}
			its = append(its, it)
			atStart, doc = false, -1
		}
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
			if t == token.LBRACE && depth == 1 {
				header = false
			}
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth > 0 {
				depth--
			}
		case token.FOR, token.IF, token.SWITCH:
			header = header || depth == 0
		case token.SEMICOLON:
			atStart = depth == 0 && (lit == "\n" || !header)
			if atStart {
				header = false
			}
		}
	}

	for i, it := range its {
		if it.fn > 0 {
			it.kind = funcKind(toks[it.fn:])
		}
		end := len(src)
		if i+1 < len(its) {
			end = its[i+1].start
		}
		if it.skip {
			continue
		}
		if n := len(groups); n > 0 && !items && groups[n-1].kind == it.kind && groups[n-1].end == it.start {
			groups[n-1].end = end
			continue
		}
		groups = append(groups, span{kind: it.kind, start: it.start, end: end, line: it.line, col: it.col})
	}
	return toks, groups, program
}

// funcKind tells a func declaration or method from a statement that starts
// with a func literal, such as func(){...}(). rest holds the tokens after
// "func".
func funcKind(rest []tok) Kind {
	if len(rest) == 0 || rest[0].t == token.IDENT {
		return Decl // func Name(...), or let the parser complain
	}
	if rest[0].t != token.LPAREN {
		return Stmt
	}
	// Either a receiver, func (r T) Name(, or a literal's parameters,
	// func(x int) int { ... }(3). Skip to the matching paren.
	depth := 0
	for j, t := range rest {
		switch t.t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
		if depth == 0 {
			if j+2 < len(rest) && rest[j+1].t == token.IDENT && rest[j+2].t == token.LPAREN {
				return Decl // a method: func (r T) Name(
			}
			return Stmt
		}
	}
	return Stmt
}

// canonical is the tokens of src[start:end] (offsets in the cell) without
// comments and the semicolons that end lines, so that two declarations
// that differ only in layout read the same.
func canonical(toks []tok, start, end int) string {
	var b strings.Builder
	i, _ := slices.BinarySearchFunc(toks, start, func(t tok, off int) int { return t.off - off })
	for _, t := range toks[i:] {
		if t.off >= end {
			break
		}
		if t.t == token.SEMICOLON && t.lit == "\n" {
			continue
		}
		lit := t.lit
		if lit == "" {
			lit = t.t.String()
		}
		b.WriteString(lit)
		b.WriteByte(' ')
	}
	return b.String()
}
