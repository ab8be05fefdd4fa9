package sharing

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"regexp"
	"strings"
)

var (
	magicLine = regexp.MustCompile(`^[ \t]*%`)
	helpLine  = regexp.MustCompile(`^[ \t]*%{0,2}[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?\?{1,2}[ \t]*$`)
)

// stripMagics blanks the lines of a cell that are not Go: line magics
// (`%name args`), a cell magic's first line (`%%name args`, whose body is
// Go) and help requests (`name?`). Blank lines keep line numbers. A line
// inside a raw string or a block comment is left alone.
func stripMagics(cell string) string {
	if !strings.Contains(cell, "%") && !strings.Contains(cell, "?") {
		return cell
	}
	lines := strings.Split(cell, "\n")
	changed := false
	for i, l := range lines {
		if !magicLine.MatchString(l) && !helpLine.MatchString(l) {
			continue
		}
		if i > 0 && inLiteral(strings.Join(lines[:i], "\n")) {
			continue
		}
		lines[i] = ""
		changed = true
	}
	if !changed {
		return cell
	}
	return strings.Join(lines, "\n")
}

// inLiteral tells whether Go code ends inside a raw string or a block
// comment.
func inLiteral(code string) bool {
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

// groupKind tells what a run of top-level items of a cell holds.
type groupKind int

const (
	groupDecl groupKind = iota // import, func, method, type, var and const declarations
	groupStmt                  // statements
)

// group is the bytes src[start:end] of a cell, beginning at line:col.
type group struct {
	kind       groupKind
	start, end int
	line, col  int
}

// splitCell cuts a cell into runs of declarations and of statements, the
// way the interpreter evaluates them. It only scans; the parser finds
// syntax errors. A package clause is dropped.
func splitCell(src string) []group {
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

	type item struct {
		kind      groupKind
		start     int
		line, col int
		skip      bool
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
			case token.IMPORT, token.TYPE, token.VAR, token.CONST:
				it.kind = groupDecl
			case token.FUNC:
				it.kind = funcKind(toks[i+1:])
			default:
				it.kind = groupStmt
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

	var groups []group
	for i, it := range items {
		end := len(src)
		if i+1 < len(items) {
			end = items[i+1].start
		}
		if it.skip {
			continue
		}
		if n := len(groups); n > 0 && groups[n-1].kind == it.kind && groups[n-1].end == it.start {
			groups[n-1].end = end
			continue
		}
		groups = append(groups, group{kind: it.kind, start: it.start, end: end, line: it.line, col: it.col})
	}
	return groups
}

// funcKind tells a func declaration or method from a statement that
// starts with a func literal. rest holds the tokens after "func".
func funcKind(rest []token.Token) groupKind {
	if len(rest) == 0 || rest[0] == token.IDENT {
		return groupDecl
	}
	if rest[0] != token.LPAREN {
		return groupStmt
	}
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
				return groupDecl
			}
			return groupStmt
		}
	}
	return groupStmt
}

// unit is one parsed group of a cell, as a file of package-level
// declarations: a statement group keeps only what defines names (its
// top-level `:=` become var declarations).
type unit struct {
	file *ast.File
	tf   *token.File
	src  string // the text the file was parsed from
	cell int    // 1-based
}

// parseCell parses one cell (magics already blanked) into units. A cell
// with a syntax error yields no unit and the error.
func parseCell(fset *token.FileSet, cell int, src string) ([]unit, error) {
	var units []unit
	for gi, g := range splitCell(src) {
		text := src[g.start:g.end]
		directive := fmt.Sprintf("//line cell%d:%d:%d\n", cell, g.line, g.col)
		var code string
		if g.kind == groupDecl {
			code = "package main\n" + directive + text + "\n"
		} else {
			code = "package main\nfunc _() {\n" + directive + text + "\n}\n"
		}
		name := fmt.Sprintf("cell%d.%d", cell, gi)
		f, err := parser.ParseFile(fset, name, code, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if g.kind == groupStmt {
			f.Decls = lift(f)
		}
		var tf *token.File
		if f.FileStart.IsValid() {
			tf = fset.File(f.FileStart)
		}
		units = append(units, unit{file: f, tf: tf, src: code, cell: cell})
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
