package complete

import (
	"go/scanner"
	"go/token"
	"strings"

	"atonce/internal/gosrc"
)

// IsComplete tells whether code is a whole cell ("complete"), needs more
// lines ("incomplete", with indent the suggested indentation of the next
// line: one tab per open bracket level, one more after a dangling
// operator), or can never become valid ("invalid"). Cells may mix
// declarations and statements. The lines gosrc.Magics finds (magics,
// help requests) are not Go: a cell of nothing else, or empty, is
// complete.
func IsComplete(code string) (status, indent string) {
	defer guard("is_complete", func() { status, indent = "unknown", "" })
	src := gosrc.BlankMagics(code)
	if strings.TrimSpace(src) == "" {
		return "complete", ""
	}
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, len(src))
	var msgs []string
	var s scanner.Scanner
	s.Init(f, []byte(src), func(_ token.Position, msg string) { msgs = append(msgs, msg) }, scanner.ScanComments)

	type opener struct {
		tok  token.Token
		line int
	}
	var stack []opener
	last := token.ILLEGAL
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		switch {
		case tok == token.COMMENT, tok == token.SEMICOLON && lit == "\n":
			continue
		case tok == token.LPAREN, tok == token.LBRACK, tok == token.LBRACE:
			stack = append(stack, opener{tok, f.Line(pos)})
		case tok == token.RPAREN, tok == token.RBRACK, tok == token.RBRACE:
			if len(stack) == 0 || closerOf(stack[len(stack)-1].tok) != tok {
				return "invalid", ""
			}
			stack = stack[:len(stack)-1]
		}
		last = tok
	}
	if len(msgs) > 0 {
		if m := msgs[0]; m == "raw string literal not terminated" || m == "comment not terminated" {
			return "incomplete", ""
		}
		return "invalid", ""
	}
	levels := 0
	for i, o := range stack {
		if i == 0 || o.line != stack[i-1].line {
			levels++
		}
	}
	tabs := strings.Repeat("\t", levels)
	if st, ind := parseStatus(src); st != "incomplete" || (len(stack) == 0 && continues(last) == 0) {
		return st, ind
	}
	switch {
	case len(stack) > 0 && last != token.COMMA && continues(last) == 2:
		return "incomplete", tabs + "\t"
	case len(stack) > 0:
		return "incomplete", tabs
	case continues(last) == 2:
		return "incomplete", "\t"
	}
	return "incomplete", ""
}

func closerOf(open token.Token) token.Token {
	switch open {
	case token.LPAREN:
		return token.RPAREN
	case token.LBRACK:
		return token.RBRACK
	}
	return token.RBRACE
}

// continues tells whether a line ending in tok must go on: 2 for an
// operator or comma (the rest of an expression follows, indented), 1 for a
// keyword that needs more, 0 otherwise.
func continues(tok token.Token) int {
	switch {
	case tok.IsOperator():
		switch tok {
		case token.INC, token.DEC, token.LPAREN, token.LBRACK, token.LBRACE, token.RPAREN, token.RBRACK, token.RBRACE,
			token.SEMICOLON, token.ELLIPSIS:
			return 0
		}
		return 2
	case tok.IsKeyword():
		switch tok {
		case token.BREAK, token.CONTINUE, token.FALLTHROUGH, token.RETURN:
			return 0
		}
		return 1
	}
	return 0
}

// parseStatus parses each top-level item of a balanced cell (magics
// blanked): a syntax error at the very end (after the last item's text,
// the white space that ends it aside) means more is needed, elsewhere
// that the cell is invalid.
func parseStatus(src string) (status, indent string) {
	groups := parse(src).Groups
	for i, g := range groups {
		if g.Err == nil {
			continue
		}
		if end := g.Head + len(strings.TrimRight(g.Text(), " \t\r\n")); i == len(groups)-1 && g.Err[0].Pos.Offset >= end {
			return "incomplete", ""
		}
		return "invalid", ""
	}
	return "complete", ""
}
