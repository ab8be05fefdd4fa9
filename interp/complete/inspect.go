package complete

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/parser"
	"go/printer"
	"go/token"
	"sort"
	"strings"

	"atonce/internal/gosrc"
)

// Inspect describes the identifier or selector under or just before cursor
// (a rune offset in code), or, when there is none, the function whose call
// parentheses enclose the cursor. Standard library names get their
// declaration and doc comment; notebook names get their declaration's
// source (a function's doc and signature; with detail > 0 its whole body).
// found is false when nothing is known about the name.
func Inspect(sc Scope, code string, cursor int, detail int) (text string, found bool) {
	defer guard("inspect", func() { text, found = "", false })
	off := runeToByte(code, cursor)
	start, end := identStart(code, off), identEnd(code, off)
	if start == end {
		p := enclosingCall(code, off)
		if p < 0 {
			return "", false
		}
		end = p
		for end > 0 && (code[end-1] == ' ' || code[end-1] == '\t') {
			end--
		}
		start = identStart(code, end)
	}
	if inLiteralOrComment(code, start) {
		return "", false
	}
	e, err := parser.ParseExpr(code[chainStart(code, end):end])
	if err != nil {
		return "", false
	}
	r := &resolver{user: userSpace(sc, code)}
	text = r.describe(e, detail)
	return text, text != ""
}

// enclosingCall returns the offset of the unclosed '(' before off, or -1.
func enclosingCall(s string, off int) int {
	depth := 0
	for i := off - 1; i >= 0; i-- {
		switch s[i] {
		case ')', ']', '}':
			depth++
		case '[', '{':
			if depth == 0 {
				return -1
			}
			depth--
		case '(':
			if depth == 0 {
				return i
			}
			depth--
		case '\n':
			if depth == 0 && i < off-1 && strings.TrimSpace(s[i:off]) == "" {
				return -1
			}
		}
	}
	return -1
}

// describe returns the text for an identifier or selector expression.
func (r *resolver) describe(e ast.Expr, detail int) string {
	sp := r.user
	switch e := e.(type) {
	case *ast.Ident:
		if v, ok := sp.values[e.Name]; ok {
			return describeValue(sp, e.Name, v, detail)
		}
		if td, ok := sp.types[e.Name]; ok {
			return describeType(sp, td, detail)
		}
		if pk := r.pkgOf(sp, e.Name); pk != nil {
			return describePackage(pk, detail)
		}
		if u := universe(); u != nil && isBuiltin(e.Name) {
			if v, ok := u.values[e.Name]; ok {
				return describeValue(u, e.Name, v, detail)
			}
			if td, ok := u.types[e.Name]; ok {
				return describeType(u, td, detail)
			}
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if _, shadow := sp.values[x.Name]; !shadow {
				if pk := r.pkgOf(sp, x.Name); pk != nil {
					name := e.Sel.Name
					if !pk.visible(name) {
						return ""
					}
					if v, ok := pk.values[name]; ok {
						return describeValue(pk, name, v, detail)
					}
					if td, ok := pk.types[name]; ok {
						return describeType(pk, td, detail)
					}
					return ""
				}
			}
		}
		if m, ok := r.member(r.exprType(sp, e.X, 0), e.Sel.Name); ok {
			return describeMember(m, detail)
		}
	}
	return ""
}

// describeValue describes a func, var or const.
func describeValue(sp *space, name string, v *valueDecl, detail int) string {
	if v.fn != nil {
		return describeFunc(sp, v.fn, detail)
	}
	if v.grp != nil { // the notebook's
		switch {
		case v.gen != nil:
			return genSource(v.grp, v.gen, v.spec)
		case v.stmt != nil:
			end := v.stmt.End()
			if rs, ok := v.stmt.(*ast.RangeStmt); ok {
				end = rs.Body.Lbrace
			}
			return strings.TrimSpace(text(v.grp, v.stmt.Pos(), end))
		case v.typ != nil:
			return name + " " + text(v.grp, v.typ.Pos(), v.typ.End())
		}
		return ""
	}
	if v.gen == nil {
		return ""
	}
	g := &ast.GenDecl{Tok: v.gen.Tok}
	doc := v.spec.Doc
	if len(v.gen.Specs) > 1 && len(v.gen.Specs) <= 12 {
		g.Lparen, g.Rparen = 1, 1
		for _, s := range v.gen.Specs {
			g.Specs = append(g.Specs, stripSpec(s))
		}
	} else {
		g.Specs = []ast.Spec{stripSpec(v.spec)}
	}
	if doc == nil {
		doc = v.gen.Doc
	}
	return join(printNode(sp, g), docText(doc))
}

// describeFunc describes a function or method.
func describeFunc(sp *space, fd *funcDecl, detail int) string {
	d := fd.decl
	if fd.grp != nil {
		from := d.Pos()
		if d.Doc != nil {
			from = d.Doc.Pos()
		}
		to := d.End()
		if d.Body != nil && detail <= 0 {
			to = d.Body.Lbrace
		}
		return strings.TrimSpace(text(fd.grp, from, to))
	}
	c := *d
	c.Doc, c.Body = nil, nil
	return join(printNode(sp, &c), docText(d.Doc))
}

// describeType describes a type, with its methods.
func describeType(sp *space, td *typeDecl, detail int) string {
	name := td.spec.Name.Name
	var decl, doc string
	if td.grp != nil {
		decl = genSource(td.grp, td.gen, td.spec)
	} else {
		s := stripSpec(td.spec).(*ast.TypeSpec)
		s.Type = exportedOnly(s.Type)
		decl = printNode(sp, &ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{s}})
		doc = td.spec.Doc.Text()
		if doc == "" {
			doc = td.gen.Doc.Text()
		}
		doc = renderDoc(doc)
	}
	var sigs []string
	if sp.path != "" && sp.path != "builtin" {
		for fn, v := range sp.values {
			if v.fn == nil || !ast.IsExported(fn) || v.fn.decl.Type.Results == nil {
				continue
			}
			if rs := v.fn.decl.Type.Results.List; len(rs) > 0 && gosrc.BaseTypeName(rs[0].Type) == name {
				sigs = append(sigs, funcSig(sp, v.fn))
			}
		}
	}
	for mn, fd := range sp.methods[name] {
		if sp.visible(mn) {
			sigs = append(sigs, funcSig(sp, fd))
		}
	}
	// Constructors first, then methods, as go doc lists them.
	sort.Slice(sigs, func(i, j int) bool {
		mi, mj := strings.HasPrefix(sigs[i], "func ("), strings.HasPrefix(sigs[j], "func (")
		if mi != mj {
			return mj
		}
		return sigs[i] < sigs[j]
	})
	return join(decl, doc, strings.Join(sigs, "\n"))
}

// funcSig is a function's signature alone.
func funcSig(sp *space, fd *funcDecl) string {
	d := fd.decl
	if fd.grp != nil {
		to := d.End()
		if d.Body != nil {
			to = d.Body.Lbrace
		}
		return strings.TrimSpace(text(fd.grp, d.Pos(), to))
	}
	c := *d
	c.Doc, c.Body = nil, nil
	return printNode(sp, &c)
}

// describeMember describes a field or method.
func describeMember(m member, detail int) string {
	switch {
	case m.fn != nil:
		return describeFunc(m.sp, m.fn, detail)
	case m.field == nil:
		return ""
	}
	f := m.field
	doc := f.Doc
	if doc == nil {
		doc = f.Comment
	}
	var sig string
	if m.kind == "method" {
		sig = m.name + strings.TrimPrefix(printNode(m.sp, m.typ), "func")
		if m.owner != "" {
			sig = "method " + qualified(m.sp, m.owner) + "." + sig
		}
	} else {
		sig = "field " + m.name + " " + printNode(m.sp, m.typ)
		if m.owner != "" {
			sig += " in " + qualified(m.sp, m.owner)
		}
	}
	if m.sp.path == "" {
		return join(sig, strings.TrimSpace(commentSource(doc)))
	}
	return join(sig, docText(doc))
}

func qualified(sp *space, name string) string {
	if sp.path == "" || sp.path == "builtin" {
		return name
	}
	return sp.name + "." + name
}

// describePackage gives a package's clause and doc comment: its first
// paragraph, or all of it when detail > 0.
func describePackage(pk *space, detail int) string {
	doc := docText(pk.doc)
	if i := strings.Index(doc, "\n\n"); i >= 0 && detail <= 0 {
		doc = doc[:i]
	}
	return join(fmt.Sprintf("package %s // import %q", pk.name, pk.path), doc)
}

// genSource is the notebook source of a declaration: the whole group when
// it has one spec, else just the spec, each with its doc comment.
func genSource(grp *gosrc.Group, g *ast.GenDecl, s ast.Spec) string {
	if !g.Lparen.IsValid() || len(g.Specs) == 1 {
		from := g.Pos()
		if g.Doc != nil {
			from = g.Doc.Pos()
		}
		return strings.TrimSpace(text(grp, from, g.End()))
	}
	from := s.Pos()
	var doc *ast.CommentGroup
	switch s := s.(type) {
	case *ast.ValueSpec:
		doc = s.Doc
	case *ast.TypeSpec:
		doc = s.Doc
	}
	if doc != nil {
		from = doc.Pos()
	}
	return strings.TrimSpace(g.Tok.String() + " " + text(grp, from, s.End()))
}

// stripSpec copies a spec without its comments.
func stripSpec(s ast.Spec) ast.Spec {
	switch s := s.(type) {
	case *ast.ValueSpec:
		c := *s
		c.Doc, c.Comment = nil, nil
		return &c
	case *ast.TypeSpec:
		c := *s
		c.Doc, c.Comment = nil, nil
		return &c
	}
	return s
}

// exportedOnly copies a struct or interface type keeping its exported
// fields and methods, marking the list incomplete when some were dropped.
func exportedOnly(e ast.Expr) ast.Expr {
	filter := func(fl *ast.FieldList, incomplete *bool) *ast.FieldList {
		c := *fl
		c.List = nil
		for _, f := range fl.List {
			var names []*ast.Ident
			for _, n := range f.Names {
				if ast.IsExported(n.Name) {
					names = append(names, n)
				}
			}
			switch {
			case len(f.Names) == 0 && ast.IsExported(embeddedName(f.Type)):
				c.List = append(c.List, f)
			case len(names) > 0:
				g := *f
				g.Names, g.Doc, g.Comment = names, nil, nil
				c.List = append(c.List, &g)
			}
			if len(names) < len(f.Names) || (len(f.Names) == 0 && !ast.IsExported(embeddedName(f.Type))) {
				*incomplete = true
			}
		}
		return &c
	}
	switch t := e.(type) {
	case *ast.StructType:
		c := *t
		c.Fields = filter(t.Fields, &c.Incomplete)
		return &c
	case *ast.InterfaceType:
		c := *t
		c.Methods = filter(t.Methods, &c.Incomplete)
		return &c
	}
	return e
}

// printNode formats a standard library node.
func printNode(sp *space, n any) string {
	var b bytes.Buffer
	fset := sp.fset
	if fset == nil {
		fset = token.NewFileSet()
	}
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
	if err := cfg.Fprint(&b, fset, n); err != nil {
		return ""
	}
	return b.String()
}

// docText renders a doc comment as plain text.
func docText(cg *ast.CommentGroup) string {
	return renderDoc(cg.Text())
}

// renderDoc renders doc comment text as plain text.
func renderDoc(text string) string {
	if text == "" {
		return ""
	}
	var p comment.Parser
	pr := comment.Printer{TextWidth: 80}
	return strings.TrimSpace(string(pr.Text(p.Parse(text))))
}

// commentSource is a comment group as written.
func commentSource(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	var lines []string
	for _, c := range cg.List {
		lines = append(lines, c.Text)
	}
	return strings.Join(lines, "\n")
}

// join puts non-empty parts one blank line apart.
func join(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "\n\n")
}
