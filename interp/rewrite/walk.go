package rewrite

import (
	"go/ast"
	"go/scanner"
	"go/token"
	"reflect"

	"atonce/internal/gosrc"
)

// binding is a local name: a variable, constant, type or type parameter
// declared inside a function, a block or a loop header.
type binding struct {
	funcDepth int  // depth of the function that declares it; 0 for top-level statements
	captured  bool // a closure, & or slicing may keep it past its iteration
	isInt     bool // known to have an integer type
	isFunc    bool // known to be a function value
	scope     int  // index of the declaring scope in walker.scopes
	// refs are the identifiers that refer to it, in walk order; a loop
	// rewrite renames those in the body.
	refs []*ast.Ident
}

// global is what the cell knows about one of its package-level names.
type global struct {
	isInt   bool
	isFunc  bool
	returns ast.Expr // a func declaration's single result type, if any
}

// loopFrame is a loop being walked.
type loopFrame struct {
	vars      []*binding
	funcDepth int
	scope     int            // index of the loop's own scope in walker.scopes
	goDefer   bool           // its body has a go or defer statement
	bodyRefs  [][]*ast.Ident // per variable, the body's references to it
}

// walker walks a cell with scopes, resolving identifiers, and rewrites it.
type walker struct {
	fset      *token.FileSet
	env       Env
	globals   map[string]global // package-level names the cell declares
	imported  map[string]bool   // package names the cell imports
	scopes    []map[string]*binding
	funcDepth int
	loops     []*loopFrame
	errs      scanner.ErrorList
	seq       int // numbers synthesized names

	pkgOrder []string            // package names used without import, in order
	pkgUses  map[string][]string // their selected members
	pkgPos   map[string]token.Pos

	// deferScope, when > 0, is the scope index of the innermost loop
	// around the defer statement being walked: referring to a variable
	// declared at or below it is an error (see DeferStmt in stmt).
	deferScope int
	deferPos   token.Pos
	deferErr   bool

	// top is the global declaration being walked, if any, and topCalls
	// the helper calls of min and max directly in it (see splitTop).
	top      ast.Node
	topCalls []*ast.CallExpr

	needMinMax, needClear bool
}

func newWalker(fset *token.FileSet, env Env) *walker {
	return &walker{
		fset:     fset,
		env:      env,
		globals:  map[string]global{},
		imported: map[string]bool{},
		pkgUses:  map[string][]string{},
		pkgPos:   map[string]token.Pos{},
	}
}

// collect records the cell's package-level names before the walk, so a
// declaration is known wherever it is used.
func (w *walker) collect(decls []ast.Decl, stmts []ast.Stmt) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil {
				continue
			}
			g := global{isFunc: true}
			if r := d.Type.Results; r != nil && len(r.List) == 1 && len(r.List[0].Names) <= 1 {
				g.returns = r.List[0].Type
			}
			w.globals[d.Name.Name] = g
		case *ast.GenDecl:
			w.collectGen(d)
		}
	}
	// Top-level statements run in the global scope: what they declare is
	// package-level for later cells, but the walk binds it as it goes.
	for _, s := range stmts {
		if ds, ok := s.(*ast.DeclStmt); ok {
			if gd, ok := ds.Decl.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
				w.collectGen(gd)
			}
		}
	}
}

func (w *walker) collectGen(d *ast.GenDecl) {
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.ImportSpec:
			if im, ok := gosrc.ImportOf(s); ok {
				w.imported[im.Name] = true
				w.globals[im.Name] = global{}
			}
		case *ast.TypeSpec:
			w.globals[s.Name.Name] = global{}
		case *ast.ValueSpec:
			for i, n := range s.Names {
				var v ast.Expr
				if i < len(s.Values) {
					v = s.Values[i]
				}
				w.globals[n.Name] = global{isInt: w.typeIsInt(s.Type, v), isFunc: w.typeIsFunc(s.Type, v)}
			}
		}
	}
}

func (w *walker) push() { w.scopes = append(w.scopes, map[string]*binding{}) }
func (w *walker) pop()  { w.scopes = w.scopes[:len(w.scopes)-1] }

// bind declares a local name in the innermost scope.
func (w *walker) bind(id *ast.Ident, b *binding) *binding {
	if b == nil {
		b = &binding{}
	}
	b.funcDepth = w.funcDepth
	b.scope = len(w.scopes) - 1
	if id != nil && id.Name != "_" {
		w.scopes[len(w.scopes)-1][id.Name] = b
	}
	return b
}

// lookup finds the local binding of name; nil means it is package-level
// or predeclared.
func (w *walker) lookup(name string) *binding {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if b, ok := w.scopes[i][name]; ok {
			return b
		}
	}
	return nil
}

// userDefined reports whether name is a package-level name of the cell or
// of an earlier cell.
func (w *walker) userDefined(name string) bool {
	if _, ok := w.globals[name]; ok {
		return true
	}
	return w.env.Defined(name)
}

// predeclared reports whether name refers to Go's predeclared identifier
// at this point: not shadowed locally, in the cell or in the notebook.
func (w *walker) predeclared(name string) bool {
	return w.lookup(name) == nil && !w.userDefined(name)
}

// use records a reference to an identifier.
func (w *walker) use(id *ast.Ident) {
	if b := w.touch(id); b != nil {
		b.refs = append(b.refs, id)
	}
}

// touch notes a use of id that a rewrite must not rename, such as a key in
// a composite literal, which may be a field name.
func (w *walker) touch(id *ast.Ident) *binding {
	b := w.lookup(id.Name)
	if b == nil {
		return nil
	}
	if b.funcDepth < w.funcDepth {
		b.captured = true
	}
	if w.deferScope > 0 && b.scope >= w.deferScope && !w.deferErr {
		w.deferErr = true
		w.errorf(w.deferPos, "a defer inside a loop that uses the loop's variables is not supported: the interpreter evaluates the deferred call and its arguments when the function returns, not at the defer statement; move the loop body into a function")
	}
	return b
}

// decl walks a top-level declaration.
func (w *walker) decl(d ast.Decl) {
	switch d := d.(type) {
	case *ast.GenDecl:
		w.genDecl(d, false)
	case *ast.FuncDecl:
		w.push()
		w.funcDepth++
		if d.Recv != nil {
			w.fieldList(d.Recv, true)
		}
		w.funcType(d.Type)
		if d.Body != nil {
			w.stmts(d.Body.List)
		}
		w.funcDepth--
		w.pop()
	}
}

// funcType walks a signature and binds its type parameters, parameters and
// results in the current scope.
func (w *walker) funcType(t *ast.FuncType) {
	if t.TypeParams != nil {
		for _, f := range t.TypeParams.List {
			for _, n := range f.Names {
				w.bind(n, nil)
			}
		}
		w.fieldList(t.TypeParams, false)
	}
	w.fieldList(t.Params, true)
	w.fieldList(t.Results, true)
}

// fieldList walks the types of a field list and, when bindNames, binds the
// names.
func (w *walker) fieldList(fl *ast.FieldList, bindNames bool) {
	if fl == nil {
		return
	}
	for _, f := range fl.List {
		w.expr(&f.Type)
	}
	if !bindNames {
		return
	}
	for _, f := range fl.List {
		for _, n := range f.Names {
			w.bind(n, &binding{isInt: w.typeIsInt(f.Type, nil), isFunc: w.typeIsFunc(f.Type, nil)})
		}
	}
}

// genDecl walks a var, const, type or import declaration; local ones bind
// their names.
func (w *walker) genDecl(d *ast.GenDecl, local bool) {
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			if local {
				w.bind(s.Name, nil)
			}
			if s.TypeParams != nil {
				w.push()
				for _, f := range s.TypeParams.List {
					for _, n := range f.Names {
						w.bind(n, nil)
					}
				}
				w.fieldList(s.TypeParams, false)
			}
			w.expr(&s.Type)
			if s.TypeParams != nil {
				w.pop()
			}
		case *ast.ValueSpec:
			if s.Type != nil {
				w.expr(&s.Type)
			}
			for i := range s.Values {
				w.expr(&s.Values[i])
			}
			if local {
				for i, n := range s.Names {
					var v ast.Expr
					if i < len(s.Values) {
						v = s.Values[i]
					}
					w.bind(n, &binding{isInt: w.typeIsInt(s.Type, v), isFunc: w.typeIsFunc(s.Type, v)})
				}
			}
		}
	}
}

func (w *walker) stmts(list []ast.Stmt) {
	for i := range list {
		w.stmt(&list[i])
	}
}

func (w *walker) block(b *ast.BlockStmt) {
	if b == nil {
		return
	}
	w.push()
	w.stmts(b.List)
	w.pop()
}

// stmt walks the statement in *p and may replace it.
func (w *walker) stmt(p *ast.Stmt) {
	switch s := (*p).(type) {
	case *ast.BlockStmt:
		w.block(s)
	case *ast.ExprStmt:
		w.expr(&s.X)
	case *ast.SendStmt:
		w.expr(&s.Chan)
		w.expr(&s.Value)
	case *ast.IncDecStmt:
		w.expr(&s.X)
	case *ast.AssignStmt:
		w.assign(s)
	case *ast.GoStmt:
		w.markGoDefer()
		w.call(nil, s.Call)
	case *ast.DeferStmt:
		w.markGoDefer()
		// yaegi v0.16.1 evaluates a deferred call, its function value and
		// its arguments when the function returns (measured: a loop of
		// defer fmt.Print(i) prints 333). Inside a loop that is wrong as
		// soon as the call uses a variable of the loop.
		saved := w.deferScope
		for i := len(w.loops) - 1; i >= 0 && w.loops[i].funcDepth == w.funcDepth; i-- {
			w.deferScope, w.deferPos, w.deferErr = w.loops[i].scope, s.Defer, false
		}
		w.call(nil, s.Call)
		w.deferScope = saved
	case *ast.ReturnStmt:
		w.exprs(s.Results)
	case *ast.DeclStmt:
		if gd, ok := s.Decl.(*ast.GenDecl); ok {
			w.genDecl(gd, true)
		}
	case *ast.LabeledStmt:
		switch l := s.Stmt.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			pre, loop := w.loop(l, s.Label.Name)
			s.Stmt = loop
			if pre != nil {
				*p = &ast.BlockStmt{Lbrace: s.Pos(), List: append(pre, s), Rbrace: s.End() - 1}
			}
		default:
			w.stmt(&s.Stmt)
		}
	case *ast.IfStmt:
		w.push()
		if s.Init != nil {
			w.stmt(&s.Init)
		}
		w.expr(&s.Cond)
		w.block(s.Body)
		if s.Else != nil {
			w.stmt(&s.Else)
		}
		w.pop()
	case *ast.SwitchStmt:
		w.push()
		if s.Init != nil {
			w.stmt(&s.Init)
		}
		if s.Tag != nil {
			w.expr(&s.Tag)
		}
		for _, c := range s.Body.List {
			cc := c.(*ast.CaseClause)
			w.exprs(cc.List)
			w.push()
			w.stmts(cc.Body)
			w.pop()
		}
		w.pop()
	case *ast.TypeSwitchStmt:
		w.push()
		if s.Init != nil {
			w.stmt(&s.Init)
		}
		var sym *ast.Ident
		switch a := s.Assign.(type) {
		case *ast.AssignStmt:
			if len(a.Lhs) == 1 {
				sym, _ = a.Lhs[0].(*ast.Ident)
			}
			if len(a.Rhs) == 1 {
				w.expr(&a.Rhs[0])
			}
		case *ast.ExprStmt:
			w.expr(&a.X)
		}
		for _, c := range s.Body.List {
			cc := c.(*ast.CaseClause)
			w.exprs(cc.List)
			w.push()
			if sym != nil {
				w.bind(sym, nil)
			}
			w.stmts(cc.Body)
			w.pop()
		}
		w.pop()
	case *ast.SelectStmt:
		for _, c := range s.Body.List {
			cc := c.(*ast.CommClause)
			w.push()
			if cc.Comm != nil {
				w.stmt(&cc.Comm)
			}
			w.stmts(cc.Body)
			w.pop()
		}
	case *ast.ForStmt, *ast.RangeStmt:
		pre, loop := w.loop(s, "")
		if pre != nil {
			*p = &ast.BlockStmt{Lbrace: s.Pos(), List: append(pre, loop), Rbrace: s.End() - 1}
		} else {
			*p = loop
		}
	}
}

// assign walks an assignment; := binds the new names on its left.
func (w *walker) assign(s *ast.AssignStmt) {
	w.exprs(s.Rhs)
	if s.Tok != token.DEFINE {
		w.exprs(s.Lhs)
		return
	}
	top := w.scopes[len(w.scopes)-1]
	for i, l := range s.Lhs {
		id, ok := l.(*ast.Ident)
		if !ok {
			continue
		}
		if _, redecl := top[id.Name]; redecl {
			w.use(id)
			continue
		}
		b := &binding{}
		if len(s.Lhs) == len(s.Rhs) {
			b.isInt = w.isInt(s.Rhs[i])
			b.isFunc = w.isFuncValue(s.Rhs[i])
		}
		w.bind(id, b)
	}
}

// markGoDefer marks the loops of the current function as starting work
// that may outlive the iteration.
func (w *walker) markGoDefer() {
	for i := len(w.loops) - 1; i >= 0 && w.loops[i].funcDepth == w.funcDepth; i-- {
		w.loops[i].goDefer = true
	}
}

// markAddr marks the variable at the root of an addressed operand as
// captured: &v, &v.f, &v[i], v[:].
func (w *walker) markAddr(x ast.Expr) {
	for {
		switch e := x.(type) {
		case *ast.ParenExpr:
			x = e.X
		case *ast.SelectorExpr:
			x = e.X
		case *ast.IndexExpr:
			x = e.X
		case *ast.Ident:
			if b := w.lookup(e.Name); b != nil {
				b.captured = true
			}
			return
		default:
			return
		}
	}
}

func (w *walker) exprs(list []ast.Expr) {
	for i := range list {
		w.expr(&list[i])
	}
}

// expr walks the expression in *p and may replace it.
func (w *walker) expr(p *ast.Expr) {
	switch e := (*p).(type) {
	case *ast.Ident:
		w.use(e)
	case *ast.FuncLit:
		w.push()
		w.funcDepth++
		w.funcType(e.Type)
		w.stmts(e.Body.List)
		w.funcDepth--
		w.pop()
	case *ast.CompositeLit:
		if e.Type != nil {
			w.expr(&e.Type)
		}
		for i := range e.Elts {
			if kv, ok := e.Elts[i].(*ast.KeyValueExpr); ok {
				if id, ok := kv.Key.(*ast.Ident); ok {
					w.touch(id) // a field name or a map key: not renamed
				} else {
					w.expr(&kv.Key)
				}
				w.expr(&kv.Value)
				continue
			}
			w.expr(&e.Elts[i])
		}
	case *ast.ParenExpr:
		w.expr(&e.X)
	case *ast.SelectorExpr:
		w.selector(e)
	case *ast.IndexExpr:
		w.expr(&e.X)
		w.expr(&e.Index)
	case *ast.IndexListExpr:
		w.expr(&e.X)
		w.exprs(e.Indices)
	case *ast.SliceExpr:
		w.markAddr(e.X)
		w.expr(&e.X)
		for _, q := range []*ast.Expr{&e.Low, &e.High, &e.Max} {
			if *q != nil {
				w.expr(q)
			}
		}
	case *ast.TypeAssertExpr:
		w.expr(&e.X)
		if e.Type != nil {
			w.expr(&e.Type)
		}
	case *ast.CallExpr:
		w.call(p, e)
	case *ast.StarExpr:
		w.expr(&e.X)
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			w.markAddr(e.X)
		}
		w.expr(&e.X)
	case *ast.BinaryExpr:
		w.expr(&e.X)
		w.expr(&e.Y)
	case *ast.KeyValueExpr:
		w.expr(&e.Key)
		w.expr(&e.Value)
	case *ast.ArrayType:
		if e.Len != nil {
			w.expr(&e.Len)
		}
		w.expr(&e.Elt)
	case *ast.StructType:
		w.fieldList(e.Fields, false)
	case *ast.FuncType:
		w.push()
		w.funcType(e)
		w.pop()
	case *ast.InterfaceType:
		w.fieldList(e.Methods, false)
	case *ast.MapType:
		w.expr(&e.Key)
		w.expr(&e.Value)
	case *ast.ChanType:
		w.expr(&e.Value)
	case *ast.Ellipsis:
		if e.Elt != nil {
			w.expr(&e.Elt)
		}
	}
}

// selector walks x.Sel; an x that names no variable, package or type of the
// notebook may be a standard package to import.
func (w *walker) selector(e *ast.SelectorExpr) {
	id, ok := e.X.(*ast.Ident)
	if !ok || !w.predeclared(id.Name) {
		w.expr(&e.X)
		return
	}
	if _, isUniverse := universe[id.Name]; isUniverse {
		return
	}
	if _, seen := w.pkgUses[id.Name]; !seen {
		w.pkgOrder = append(w.pkgOrder, id.Name)
		w.pkgPos[id.Name] = id.Pos()
	}
	w.pkgUses[id.Name] = append(w.pkgUses[id.Name], e.Sel.Name)
}

// universe holds Go's predeclared names, which are never packages.
var universe = map[string]struct{}{
	"bool": {}, "byte": {}, "comparable": {}, "complex64": {}, "complex128": {}, "error": {},
	"float32": {}, "float64": {}, "int": {}, "int8": {}, "int16": {}, "int32": {}, "int64": {},
	"rune": {}, "string": {}, "uint": {}, "uint8": {}, "uint16": {}, "uint32": {}, "uint64": {},
	"uintptr": {}, "any": {}, "true": {}, "false": {}, "iota": {}, "nil": {},
}

// intTypes are the predeclared integer types.
var intTypes = map[string]bool{
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true, "uint": true, "uint8": true,
	"uint16": true, "uint32": true, "uint64": true, "uintptr": true, "byte": true, "rune": true,
}

// isInt reports whether e is known to be of an integer type or an untyped
// integer constant.
func (w *walker) isInt(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.INT || e.Kind == token.CHAR
	case *ast.ParenExpr:
		return w.isInt(e.X)
	case *ast.UnaryExpr:
		return (e.Op == token.ADD || e.Op == token.SUB || e.Op == token.XOR) && w.isInt(e.X)
	case *ast.BinaryExpr:
		switch e.Op {
		case token.SHL, token.SHR:
			return w.isInt(e.X)
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.AND_NOT:
			return w.isInt(e.X) && w.isInt(e.Y)
		}
	case *ast.CallExpr:
		id, ok := e.Fun.(*ast.Ident)
		if !ok || !w.predeclared(id.Name) {
			return false
		}
		return id.Name == "len" || id.Name == "cap" || intTypes[id.Name] && len(e.Args) == 1
	case *ast.Ident:
		if b := w.lookup(e.Name); b != nil {
			return b.isInt
		}
		if g, ok := w.globals[e.Name]; ok {
			return g.isInt
		}
		if k, ok := w.env.KindOf(e.Name); ok {
			switch k {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint,
				reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
				return true
			}
		}
	}
	return false
}

// typeIsInt tells whether a declaration with type t (may be nil) and value v
// (may be nil) declares an integer.
func (w *walker) typeIsInt(t, v ast.Expr) bool {
	if t != nil {
		id, ok := t.(*ast.Ident)
		return ok && intTypes[id.Name] && w.predeclared(id.Name)
	}
	return v != nil && w.isInt(v)
}

// typeIsFunc tells whether a declaration with type t and value v declares a
// function value.
func (w *walker) typeIsFunc(t, v ast.Expr) bool {
	if t != nil {
		_, ok := t.(*ast.FuncType)
		return ok
	}
	return v != nil && w.isFuncValue(v)
}

// isFuncValue reports whether e is known to be a function value.
func (w *walker) isFuncValue(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.ParenExpr:
		return w.isFuncValue(e.X)
	case *ast.FuncLit:
		return true
	case *ast.Ident:
		if b := w.lookup(e.Name); b != nil {
			return b.isFunc
		}
		if g, ok := w.globals[e.Name]; ok {
			return g.isFunc
		}
		k, ok := w.env.KindOf(e.Name)
		return ok && k == reflect.Func
	case *ast.CallExpr:
		return w.returnsFunc(e)
	}
	return false
}
