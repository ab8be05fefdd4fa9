package complete

import (
	"go/ast"
	"go/token"
)

// maxDepth bounds every recursive type walk (cycles, deep chains).
const maxDepth = 12

// A tref is a type expression together with the space that declares it.
type tref struct {
	expr ast.Expr
	sp   *space
}

func (t tref) ok() bool { return t.expr != nil && t.sp != nil }

// A member is a field or method of a type.
type member struct {
	name  string
	kind  string // "field" or "method"
	typ   ast.Expr
	sp    *space
	owner string     // the type that declares it
	field *ast.Field // field, or interface method
	fn    *funcDecl  // declared method
}

// A resolver answers questions about names in the notebook's space.
type resolver struct {
	user *space
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// pkgOf returns the package a name denotes in sp, or nil. In the notebook
// a standard package may be named before it is imported.
func (r *resolver) pkgOf(sp *space, name string) *space {
	if p, ok := sp.imports[name]; ok {
		return loadStd(p)
	}
	if sp != r.user {
		return nil
	}
	if _, ok := sp.values[name]; ok {
		return nil
	}
	if _, ok := sp.types[name]; ok {
		return nil
	}
	if p, ok := stdPath(name); ok {
		return loadStd(p)
	}
	return nil
}

// value finds a value name in sp or in the universe.
func (r *resolver) value(sp *space, name string) (*valueDecl, *space) {
	if v, ok := sp.values[name]; ok {
		return v, sp
	}
	if u := universe(); u != nil && u != sp {
		if v, ok := u.values[name]; ok {
			return v, u
		}
	}
	return nil, nil
}

// typeDecl finds the declaration of a named type expression (T or pkg.T).
func (r *resolver) typeDecl(sp *space, e ast.Expr) (*typeDecl, *space, string) {
	switch e := e.(type) {
	case *ast.Ident:
		if td, ok := sp.types[e.Name]; ok {
			return td, sp, e.Name
		}
		if u := universe(); u != nil {
			if td, ok := u.types[e.Name]; ok {
				return td, u, e.Name
			}
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if pk := r.pkgOf(sp, x.Name); pk != nil {
				if td, ok := pk.types[e.Sel.Name]; ok {
					return td, pk, e.Sel.Name
				}
			}
		}
	}
	return nil, nil, ""
}

// isType reports whether e denotes a type in sp.
func (r *resolver) isType(sp *space, e ast.Expr) bool {
	switch e := unparen(e).(type) {
	case *ast.Ident:
		if _, ok := sp.values[e.Name]; ok {
			return false
		}
		td, _, _ := r.typeDecl(sp, e)
		return td != nil
	case *ast.SelectorExpr:
		td, _, _ := r.typeDecl(sp, e)
		return td != nil
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.StructType, *ast.InterfaceType:
		return true
	case *ast.StarExpr:
		return r.isType(sp, e.X)
	case *ast.IndexExpr:
		return r.isType(sp, e.X)
	case *ast.IndexListExpr:
		return r.isType(sp, e.X)
	}
	return false
}

// valueType returns the type of a declared value.
func (r *resolver) valueType(v *valueDecl, sp *space, depth int) tref {
	switch {
	case depth > maxDepth:
		return tref{}
	case v.typ != nil:
		return tref{v.typ, sp}
	case v.fn != nil:
		return tref{v.fn.decl.Type, sp}
	case v.val != nil:
		if re, ok := v.val.(*rangeElem); ok {
			return r.rangeType(sp, re, depth+1)
		}
		return r.exprTypeN(sp, v.val, v.idx, depth+1)
	}
	return tref{}
}

func (r *resolver) rangeType(sp *space, re *rangeElem, depth int) tref {
	t := r.underlying(r.exprType(sp, re.x, depth), depth)
	intType := tref{ast.NewIdent("int"), sp}
	switch x := t.expr.(type) {
	case *ast.ArrayType:
		if re.value {
			return tref{x.Elt, t.sp}
		}
		return intType
	case *ast.MapType:
		if re.value {
			return tref{x.Value, t.sp}
		}
		return tref{x.Key, t.sp}
	case *ast.ChanType:
		return tref{x.Value, t.sp}
	}
	return tref{}
}

// underlying follows named types to their definition (not past structs and
// interfaces, which members handles) and drops pointers.
func (r *resolver) underlying(t tref, depth int) tref {
	for i := 0; t.ok() && i < maxDepth; i++ {
		switch e := unparen(t.expr).(type) {
		case *ast.StarExpr:
			t.expr = e.X
		case *ast.IndexExpr:
			t.expr = e.X
		case *ast.IndexListExpr:
			t.expr = e.X
		case *ast.Ident, *ast.SelectorExpr:
			td, tsp, _ := r.typeDecl(t.sp, e)
			if td == nil {
				return t
			}
			if id, ok := td.spec.Type.(*ast.Ident); ok && tsp.path == "builtin" && id.Name == td.spec.Name.Name {
				return t // int, string...: declared as themselves in package builtin
			}
			t = tref{td.spec.Type, tsp}
		default:
			return t
		}
	}
	return t
}

// exprType returns the type of an expression, as far as declarations tell.
func (r *resolver) exprType(sp *space, e ast.Expr, depth int) tref {
	return r.exprTypeN(sp, e, 0, depth)
}

// exprTypeN returns the type of the idx-th value of e (a call may have many).
func (r *resolver) exprTypeN(sp *space, e ast.Expr, idx, depth int) tref {
	if depth > maxDepth || e == nil {
		return tref{}
	}
	depth++
	switch e := e.(type) {
	case *ast.ParenExpr:
		return r.exprTypeN(sp, e.X, idx, depth)
	case *ast.Ident:
		if v, vsp := r.value(sp, e.Name); v != nil {
			return r.valueType(v, vsp, depth)
		}
	case *ast.BasicLit:
		names := map[token.Token]string{token.INT: "int", token.FLOAT: "float64", token.IMAG: "complex128", token.CHAR: "rune", token.STRING: "string"}
		return tref{ast.NewIdent(names[e.Kind]), sp}
	case *ast.CompositeLit:
		if e.Type != nil {
			return tref{e.Type, sp}
		}
	case *ast.FuncLit:
		return tref{e.Type, sp}
	case *ast.UnaryExpr:
		t := r.exprType(sp, e.X, depth)
		switch e.Op {
		case token.AND:
			if t.ok() {
				return tref{&ast.StarExpr{X: t.expr}, t.sp}
			}
		case token.ARROW:
			if c, ok := r.underlying(t, depth).expr.(*ast.ChanType); ok {
				return tref{c.Value, t.sp}
			}
		default:
			return t
		}
	case *ast.StarExpr:
		t := r.exprType(sp, e.X, depth)
		if s, ok := unparen(t.expr).(*ast.StarExpr); ok {
			return tref{s.X, t.sp}
		}
		return t
	case *ast.TypeAssertExpr:
		if e.Type != nil {
			return tref{e.Type, sp}
		}
	case *ast.SliceExpr:
		return r.exprType(sp, e.X, depth)
	case *ast.IndexExpr:
		t := r.underlying(r.exprType(sp, e.X, depth), depth)
		switch x := t.expr.(type) {
		case *ast.ArrayType:
			return tref{x.Elt, t.sp}
		case *ast.MapType:
			return tref{x.Value, t.sp}
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if _, shadow := sp.values[x.Name]; !shadow {
				if pk := r.pkgOf(sp, x.Name); pk != nil {
					if v, ok := pk.values[e.Sel.Name]; ok {
						return r.valueType(v, pk, depth)
					}
					return tref{}
				}
			}
		}
		if m, ok := r.member(r.exprType(sp, e.X, depth), e.Sel.Name); ok {
			return tref{m.typ, m.sp}
		}
	case *ast.CallExpr:
		return r.callType(sp, e, idx, depth)
	}
	return tref{}
}

func (r *resolver) callType(sp *space, c *ast.CallExpr, idx, depth int) tref {
	fun := unparen(c.Fun)
	if id, ok := fun.(*ast.Ident); ok && len(c.Args) > 0 {
		if v, vsp := r.value(sp, id.Name); v != nil && vsp.path == "builtin" {
			switch id.Name {
			case "new":
				return tref{&ast.StarExpr{X: c.Args[0]}, sp}
			case "make":
				return tref{c.Args[0], sp}
			case "append":
				return r.exprType(sp, c.Args[0], depth)
			}
		}
	}
	if r.isType(sp, fun) {
		return tref{fun, sp} // a conversion
	}
	ft := r.underlying(r.exprType(sp, fun, depth), depth)
	f, ok := ft.expr.(*ast.FuncType)
	if !ok || f.Results == nil {
		return tref{}
	}
	i := 0
	for _, fl := range f.Results.List {
		n := max(len(fl.Names), 1)
		if idx < i+n {
			return tref{fl.Type, ft.sp}
		}
		i += n
	}
	return tref{}
}

// member finds one field or method of a type.
func (r *resolver) member(t tref, name string) (member, bool) {
	for _, m := range r.members(t, 0) {
		if m.name == name {
			return m, true
		}
	}
	return member{}, false
}

// members lists the fields and methods of a type visible from the
// notebook, shallowest first, each name once.
func (r *resolver) members(t tref, depth int) []member {
	if !t.ok() || depth > maxDepth {
		return nil
	}
	var out []member
	seen := map[string]bool{}
	add := func(ms ...member) {
		for _, m := range ms {
			if !seen[m.name] && m.sp.visible(m.name) {
				seen[m.name] = true
				out = append(out, m)
			}
		}
	}
	e := unparen(t.expr)
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = unparen(x.X)
			continue
		case *ast.IndexExpr:
			e = x.X
			continue
		case *ast.IndexListExpr:
			e = x.X
			continue
		}
		break
	}
	switch x := e.(type) {
	case *ast.Ident, *ast.SelectorExpr:
		td, tsp, name := r.typeDecl(t.sp, x)
		if td == nil {
			return nil
		}
		if td.spec.Assign.IsValid() {
			return r.members(tref{td.spec.Type, tsp}, depth+1)
		}
		for mname, fd := range tsp.methods[name] {
			add(member{name: mname, kind: "method", typ: fd.decl.Type, sp: tsp, owner: name, fn: fd})
		}
		sub := r.members(tref{td.spec.Type, tsp}, depth+1)
		_, isIface := r.underlying(tref{td.spec.Type, tsp}, depth).expr.(*ast.InterfaceType)
		for _, m := range sub {
			if m.kind == "field" || isIface || !isNamed(td.spec.Type) {
				if m.owner == "" {
					m.owner = name
				}
				add(m)
			}
		}
		sortMembers(out)
	case *ast.StructType:
		var promoted []member
		for _, f := range x.Fields.List {
			if len(f.Names) == 0 {
				n := embeddedName(f.Type)
				add(member{name: n, kind: "field", typ: f.Type, sp: t.sp, field: f})
				promoted = append(promoted, r.members(tref{f.Type, t.sp}, depth+1)...)
				continue
			}
			for _, n := range f.Names {
				add(member{name: n.Name, kind: "field", typ: f.Type, sp: t.sp, field: f})
			}
		}
		add(promoted...)
	case *ast.InterfaceType:
		for _, f := range x.Methods.List {
			if len(f.Names) == 0 {
				add(r.members(tref{f.Type, t.sp}, depth+1)...)
				continue
			}
			for _, n := range f.Names {
				add(member{name: n.Name, kind: "method", typ: f.Type, sp: t.sp, field: f})
			}
		}
	}
	return out
}

// isNamed reports whether a type expression names another type.
func isNamed(e ast.Expr) bool {
	switch e.(type) {
	case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr, *ast.IndexListExpr:
		return true
	}
	return false
}

func embeddedName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return embeddedName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.IndexExpr:
		return embeddedName(x.X)
	case *ast.IndexListExpr:
		return embeddedName(x.X)
	case *ast.Ident:
		return x.Name
	}
	return ""
}
