// Package gosrc reads notebook Go source. A cell is parsed once into a
// Cell: its groups of imports, declarations and statements in order
// (yaegi evaluates each kind on its own), each group's syntax tree, the
// declarations it makes and the names they declare, the imports and the
// names they bind, and the cell's last expression. Execution,
// redefinition, the Go 1.22 rewrites, the data-sharing analysis and the
// choice of a %%models function all read that one value. The package also
// holds the one rule for the name an import binds (ImportName) and the
// interpreter's packages (Lookup, Named, AutoImport).
package gosrc

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// Cell is a notebook cell, parsed once.
type Cell struct {
	// Src is the source parsed: the cell, or its end from Options.Offset.
	Src string
	// Program tells that the cell starts with a package clause, as a
	// whole program pasted in does; the clause is left out of the groups.
	Program bool
	// Groups are the cell's groups in order. A group that does not parse
	// has a nil File and its errors in Err.
	Groups []*Group
	// Last is the cell's final statement when it is an expression (the
	// value the cell shows), in the last group; nil otherwise.
	Last *ast.ExprStmt
	// Err holds the syntax errors of all groups, in order, positioned as
	// Options said.
	Err scanner.ErrorList
	// Fset is the file set the groups were parsed in.
	Fset *token.FileSet

	toks []tok
}

// Group is a run of consecutive top-level items of one kind: the bytes
// Src[Start:End] of the cell, beginning at cell position Line:Col
// (1-based, Col in bytes), parsed.
type Group struct {
	Kind       Kind
	Start, End int
	Line, Col  int
	// File is the group as parsed, wrapped (see Wrap): a group of imports
	// or declarations is the file's declarations, a group of statements
	// the body of its func main (Body). When the group does not parse
	// (Err), File is what the parser made of it, partial, or nil; Decls
	// and Imports are then empty.
	File *ast.File
	// Source is the text File was parsed from; Head is how many bytes of
	// wrapper come before the group's text in it.
	Source string
	Head   int
	Err    scanner.ErrorList
	// Decls are the declarations the group makes at the top level of the
	// notebook, in order; Imports the imports.
	Decls   []TopDecl
	Imports []ImportSpec

	tf *token.File
}

// Text is the group's source, as in the cell.
func (g *Group) Text() string { return g.Source[g.Head : g.Head+g.End-g.Start] }

// Body is the block of a group of statements: the statements as they run
// at the top level of the notebook. nil for other groups and for a group
// that does not parse.
func (g *Group) Body() *ast.BlockStmt {
	if g.Kind != Stmt || g.File == nil || len(g.File.Decls) == 0 {
		return nil
	}
	fd, ok := g.File.Decls[0].(*ast.FuncDecl)
	if !ok {
		return nil
	}
	return fd.Body
}

// Offset is the offset in the cell of a position inside the group.
func (g *Group) Offset(p token.Pos) int { return g.tf.Offset(p) - g.Head + g.Start }

// Options say where and how a cell's groups are parsed and what their
// positions read. The zero value parses in a new file set with positions
// as in the cell, in a file named "cell.go", the way the interpreter
// needs.
type Options struct {
	// Fset is the file set the groups are parsed in: an interpreter
	// compiles only trees parsed in its own. nil means a new one.
	Fset *token.FileSet
	// File is the file name the groups are parsed under and that their
	// positions carry.
	File string
	// LineBase is added to every line number a position carries.
	LineBase int
	// Line and Col (1-based; zero means 1) and Offset are where src
	// starts in its cell: parsing the rest of a cell from one of its
	// groups on. Offsets in the Cell (Group.Start, TopDecl.Span) are then
	// offsets in the whole cell.
	Line, Col int
	Offset    int
	// Mode is the go/parser mode; zero means parser.DeclarationErrors (a
	// name declared twice in a group is an error, as for the compiler).
	// With parser.ParseComments the trees hold the comments, and each
	// top-level item starts at the comments right before it, so that a
	// declaration's doc comment is in its group and its tree.
	Mode parser.Mode
	// Items makes each top-level item (a declaration, or a statement) a
	// group of its own instead of joining the items of its kind right
	// before it: a reader of a cell being written (completion) keeps what
	// parses when one item does not.
	Items bool
}

// Parse cuts a cell into groups, scanning it once, and parses each group
// once, wrapped as Wrap says, with positions as opt says. Syntax errors
// are in Cell.Err and in their group; the other groups are parsed still.
func Parse(src string, opt Options) *Cell {
	if opt.Fset == nil {
		opt.Fset = token.NewFileSet()
	}
	if opt.File == "" {
		opt.File = "cell.go"
	}
	if opt.Mode == 0 {
		opt.Mode = parser.DeclarationErrors
	}
	docs := opt.Mode&parser.ParseComments != 0
	line, col := max(opt.Line, 1), max(opt.Col, 1)
	toks, spans, program := scan(src, line, col, docs, opt.Items)
	for i := range toks {
		toks[i].off += opt.Offset
	}
	c := &Cell{Src: src, Program: program, Fset: opt.Fset, toks: toks}
	for _, sp := range spans {
		g := &Group{Kind: sp.kind, Start: opt.Offset + sp.start, End: opt.Offset + sp.end, Line: sp.line, Col: sp.col}
		c.Groups = append(c.Groups, g)
		directive := Directive(opt.File, opt.LineBase+sp.line, sp.col)
		g.Source, g.Head = Wrap(sp.kind, src[sp.start:sp.end], directive)
		f, err := parser.ParseFile(opt.Fset, opt.File, g.Source, opt.Mode)
		g.File = f
		if f != nil {
			g.tf = opt.Fset.File(f.FileStart)
			if docs {
				dropDirective(f, g.Head-len(directive))
			}
		}
		if err != nil {
			g.Err = parseErrors(err, g, opt.LineBase)
			c.Err = append(c.Err, g.Err...)
			continue
		}
		c.read(g)
	}
	if n := len(c.Groups); n > 0 && c.Groups[n-1].Err == nil {
		if b := c.Groups[n-1].Body(); b != nil && len(b.List) > 0 {
			c.Last, _ = b.List[len(b.List)-1].(*ast.ExprStmt)
		}
	}
	return c
}

// Wrap is the one source wrapper for a group of a cell: a group of
// imports or declarations is the file "package main;" + text, a group of
// statements the body of that file's func main. directive, put right
// before the text on a line of its own, makes positions read as in the
// cell (see Directive). It returns the source and how many bytes come
// before the text.
func Wrap(kind Kind, text, directive string) (src string, head int) {
	h := "package main;\n"
	if kind == Stmt {
		h = "package main; func main() {\n"
	}
	h += directive
	return h + text + tail(kind), len(h)
}

// dropDirective takes the wrapper's line directive, the comment at
// offset off, out of the comments of f. go/parser groups it with a
// comment the group's text starts with (they are on one line), which
// would make the directive part of a declaration's doc comment.
func dropDirective(f *ast.File, off int) {
	if len(f.Comments) == 0 || int(f.Comments[0].Pos()-f.FileStart) != off {
		return
	}
	cg := f.Comments[0]
	cg.List = cg.List[1:]
	if len(cg.List) > 0 {
		return
	}
	f.Comments = f.Comments[1:]
	if len(f.Decls) == 0 {
		return
	}
	switch d := f.Decls[0].(type) {
	case *ast.FuncDecl:
		if d.Doc == cg {
			d.Doc = nil
		}
	case *ast.GenDecl:
		if d.Doc == cg {
			d.Doc = nil
		}
	}
}

// tail is what Wrap puts after the text of a group of kind k.
func tail(k Kind) string {
	if k == Stmt {
		return "\n}"
	}
	return ""
}

// Directive is the line directive that makes the parser count positions
// from line:col of file, whatever comes before the text.
func Directive(file string, line, col int) string {
	return fmt.Sprintf("/*line %s:%d:%d*/", file, line, col)
}

// parseErrors is the parser's error for group g as a list, positioned in
// the cell; an error in the wrapper's tail says the cell ended there.
func parseErrors(err error, g *Group, lineBase int) scanner.ErrorList {
	var errs scanner.ErrorList
	if !errors.As(err, &errs) {
		return scanner.ErrorList{{Pos: token.Position{Line: lineBase + g.Line, Column: g.Col}, Msg: err.Error()}}
	}
	end := strings.NewReplacer("found '}'", "found the end of the cell", "found 'EOF'", "found the end of the cell")
	for _, e := range errs {
		if e.Pos.Offset >= len(g.Source)-len(tail(g.Kind)) {
			e.Msg = end.Replace(e.Msg)
		}
	}
	return errs
}

// LastFunc is the name of the last plain function (not a method) the
// cell declares, "" if none: the task %%models runs when the cell names
// none. Groups that do not parse are passed over.
func (c *Cell) LastFunc() string {
	name := ""
	for _, g := range c.Groups {
		for _, d := range g.Decls {
			if d.Kind == Func && len(d.Names) == 1 {
				name = d.Names[0]
			}
		}
	}
	return name
}

// Names are the names the cell declares at the top level of the
// notebook, in any of its groups: funcs, types, vars (top-level := too),
// consts, and the names its imports bind. Methods are not names.
func (c *Cell) Names() map[string]bool {
	names := map[string]bool{}
	for _, g := range c.Groups {
		for _, d := range g.Decls {
			if d.Kind == Method {
				continue
			}
			for _, n := range d.Names {
				names[n] = true
			}
		}
		for _, im := range g.Imports {
			names[im.Name] = true
		}
	}
	return names
}
