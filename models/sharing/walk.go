package sharing

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"atonce/internal/gosrc"
)

// access is one read or write a function makes, directly or through a
// function it calls.
type access struct {
	// target is a package-level variable's name, or a slot of the
	// function's own: "$0", "$1", ... for its parameters and "$r" for its
	// receiver, meaning whatever the caller passes there (a write through
	// a pointer parameter is a write to the caller's variable).
	target string
	write  bool
	guard  string // for writes: Bare, Atomic or Mutex
	pos    token.Pos
	op     ast.Node
	via    []string
}

type memoKey struct {
	f      *fnode
	locked bool
}

// analyzer follows the calls from the task function.
type analyzer struct {
	nb      *notebook
	root    *fnode
	memo    map[memoKey][]access
	onStack map[memoKey]bool
	reached map[*fnode]bool
	calls   []string
	awaits  []string
	seenAw  map[string]bool
}

// summarize returns f's accesses when it is entered with a mutex held
// (locked) or not. Recursive calls contribute nothing more.
func (a *analyzer) summarize(f *fnode, locked bool) []access {
	k := memoKey{f, locked}
	if s, ok := a.memo[k]; ok {
		return s
	}
	if a.onStack[k] {
		return nil
	}
	a.onStack[k] = true
	w := &walker{a: a, f: f, alias: map[string]string{}, locals: map[string]bool{}, seen: map[accKey]bool{}}
	if locked {
		w.locked = 1
	}
	w.bindParams()
	w.collectLocals()
	w.block(f.body)
	delete(a.onStack, k)
	a.memo[k] = w.accs
	return w.accs
}

func (a *analyzer) reach(f *fnode) {
	if !a.reached[f] {
		a.reached[f] = true
		a.calls = append(a.calls, f.key)
	}
}

func (a *analyzer) await(what string, f *fnode, pos token.Pos) {
	cell, line := a.nb.position(pos)
	s := what + " in " + f.key
	if cell > 0 {
		s += fmt.Sprintf(" (cell %d line %d)", cell, line)
	}
	if a.seenAw == nil {
		a.seenAw = map[string]bool{}
	}
	if !a.seenAw[s] {
		a.seenAw[s] = true
		a.awaits = append(a.awaits, s)
	}
}

type accKey struct {
	target string
	write  bool
	guard  string
}

// walker walks one function's body in order, keeping track of whether a
// mutex is held.
type walker struct {
	a      *analyzer
	f      *fnode
	locked int
	// alias maps a local name to what it refers to: a parameter slot, or
	// a package-level variable it points into (p := &counter, m := counts).
	alias  map[string]string
	locals map[string]bool // every name the function declares, for code the type checker could not resolve
	accs   []access
	seen   map[accKey]bool
}

func (w *walker) info() *types.Info { return w.a.nb.Info }

// bindParams maps the receiver and the parameters to their slots.
func (w *walker) bindParams() {
	if w.f.recv != nil && len(w.f.recv.List) > 0 {
		for _, n := range w.f.recv.List[0].Names {
			w.alias[n.Name] = "$r"
		}
	}
	if w.f.typ == nil || w.f.typ.Params == nil {
		return
	}
	i := 0
	for _, field := range w.f.typ.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name != "_" {
				w.alias[n.Name] = "$" + strconv.Itoa(i)
			}
			i++
		}
	}
}

// collectLocals notes every name the function declares.
func (w *walker) collectLocals() {
	add := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				w.locals[n.Name] = true
			}
		}
	}
	add(w.f.recv)
	if w.f.typ != nil {
		add(w.f.typ.Params)
		add(w.f.typ.Results)
	}
	ast.Inspect(w.f.body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						w.locals[id.Name] = true
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						w.locals[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				w.locals[id.Name] = true
			}
		case *ast.TypeSpec:
			w.locals[n.Name.Name] = true
		case *ast.FuncType:
			add(n.Params)
			add(n.Results)
		}
		return true
	})
}

// global is the package-level variable id refers to, or nil.
func (w *walker) global(id *ast.Ident) *gvar {
	if id == nil || id.Name == "_" {
		return nil
	}
	nb := w.a.nb
	if obj := w.info().Uses[id]; obj != nil {
		g, _ := nb.isPkgVar(obj)
		return g
	}
	if w.info().Defs[id] != nil || w.locals[id.Name] {
		return nil
	}
	return nb.vars[id.Name]
}

// target is what an identifier stands for: a package-level variable's
// name, a slot or a variable an alias points into; "" for other locals.
func (w *walker) target(id *ast.Ident) (t string, direct bool) {
	if g := w.global(id); g != nil {
		return g.name, true
	}
	if id == nil {
		return "", false
	}
	if obj := w.info().Uses[id]; obj != nil {
		if _, ok := obj.(*types.Var); !ok {
			return "", false
		}
	}
	return w.alias[id.Name], false
}

// isPkg tells whether e names an imported package.
func (w *walker) isPkg(e ast.Expr) (string, bool) {
	id, ok := e.(*ast.Ident)
	if !ok {
		return "", false
	}
	if obj := w.info().Uses[id]; obj != nil {
		if pn, ok := obj.(*types.PkgName); ok {
			return pn.Imported().Path(), true
		}
		return "", false
	}
	if w.locals[id.Name] || w.a.nb.vars[id.Name] != nil || w.a.nb.funcs[id.Name] != nil {
		return "", false
	}
	if p := w.a.nb.pkgPathOf(id.Name); p != "" {
		return p, true
	}
	return "", false
}

func (w *walker) record(t string, write bool, guard string, pos token.Pos, op ast.Node) {
	if t == "" {
		return
	}
	k := accKey{t, write, guard}
	if w.seen[k] {
		return
	}
	w.seen[k] = true
	w.accs = append(w.accs, access{target: t, write: write, guard: guard, pos: pos, op: op, via: []string{w.f.key}})
}

// guard is how a write here is guarded, unless it is atomic.
func (w *walker) guard() string {
	if w.locked > 0 {
		return Mutex
	}
	return Bare
}

func (w *walker) block(b *ast.BlockStmt) {
	if b == nil {
		return
	}
	saved := w.locked
	for _, s := range b.List {
		w.stmt(s)
	}
	w.locked = saved
}

func (w *walker) stmts(list []ast.Stmt) {
	saved := w.locked
	for _, s := range list {
		w.stmt(s)
	}
	w.locked = saved
}

func (w *walker) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case nil:
	case *ast.BlockStmt:
		w.block(s)
	case *ast.ExprStmt:
		if c, ok := unparen(s.X).(*ast.CallExpr); ok {
			if d, recv := w.lockDelta(c); d != 0 {
				w.expr(recv)
				w.locked = max(w.locked+d, 0)
				return
			}
		}
		w.expr(s.X)
	case *ast.DeferStmt:
		if d, recv := w.lockDelta(s.Call); d < 0 {
			// defer mu.Unlock(): the mutex stays held to the end.
			w.expr(recv)
			return
		}
		w.expr(s.Call)
	case *ast.GoStmt:
		saved := w.locked
		w.locked = 0
		w.expr(s.Call)
		w.locked = saved
	case *ast.AssignStmt:
		w.assign(s)
	case *ast.IncDecStmt:
		w.write(s.X, s, true, "")
	case *ast.SendStmt:
		w.expr(s.Chan)
		w.expr(s.Value)
	case *ast.DeclStmt:
		gd, ok := s.Decl.(*ast.GenDecl)
		if !ok {
			return
		}
		for _, sp := range gd.Specs {
			vs, ok := sp.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for _, v := range vs.Values {
				w.expr(v)
			}
			for i, n := range vs.Names {
				delete(w.alias, n.Name)
				if len(vs.Values) == len(vs.Names) {
					w.bind(n.Name, vs.Values[i])
				}
			}
		}
	case *ast.IfStmt:
		saved := w.locked
		w.stmt(s.Init)
		w.expr(s.Cond)
		w.block(s.Body)
		w.locked = saved
		w.stmt(s.Else)
		w.locked = saved
	case *ast.ForStmt:
		saved := w.locked
		w.stmt(s.Init)
		w.expr(s.Cond)
		w.stmt(s.Post)
		w.block(s.Body)
		w.locked = saved
	case *ast.RangeStmt:
		saved := w.locked
		w.expr(s.X)
		switch s.Tok {
		case token.ASSIGN:
			if s.Key != nil {
				w.write(s.Key, s, false, "")
			}
			if s.Value != nil {
				w.write(s.Value, s, false, "")
			}
		case token.DEFINE:
			if id, ok := s.Key.(*ast.Ident); ok {
				delete(w.alias, id.Name)
			}
			if id, ok := s.Value.(*ast.Ident); ok {
				w.bind(id.Name, s.X)
			}
		}
		w.block(s.Body)
		w.locked = saved
	case *ast.SwitchStmt:
		saved := w.locked
		w.stmt(s.Init)
		w.expr(s.Tag)
		w.clauses(s.Body)
		w.locked = saved
	case *ast.TypeSwitchStmt:
		saved := w.locked
		w.stmt(s.Init)
		w.stmt(s.Assign)
		w.clauses(s.Body)
		w.locked = saved
	case *ast.SelectStmt:
		w.clauses(s.Body)
	case *ast.LabeledStmt:
		w.stmt(s.Stmt)
	case *ast.ReturnStmt:
		for _, r := range s.Results {
			w.expr(r)
		}
	}
}

func (w *walker) clauses(b *ast.BlockStmt) {
	if b == nil {
		return
	}
	for _, c := range b.List {
		switch c := c.(type) {
		case *ast.CaseClause:
			for _, e := range c.List {
				w.expr(e)
			}
			w.stmts(c.Body)
		case *ast.CommClause:
			saved := w.locked
			w.stmt(c.Comm)
			w.stmts(c.Body)
			w.locked = saved
		}
	}
}

// lockDelta tells a Lock() call (+1) and an Unlock() call (-1) on
// anything but a package, and returns the receiver. RLock guards reads,
// not writes, so it counts as neither.
func (w *walker) lockDelta(c *ast.CallExpr) (int, ast.Expr) {
	if c == nil || len(c.Args) != 0 {
		return 0, nil
	}
	sel, ok := unparen(c.Fun).(*ast.SelectorExpr)
	if !ok {
		return 0, nil
	}
	if _, pkg := w.isPkg(sel.X); pkg {
		return 0, nil
	}
	switch sel.Sel.Name {
	case "Lock":
		return 1, sel.X
	case "Unlock":
		return -1, sel.X
	}
	return 0, nil
}

func (w *walker) assign(s *ast.AssignStmt) {
	for _, r := range s.Rhs {
		w.expr(r)
	}
	switch s.Tok {
	case token.DEFINE:
		for i, l := range s.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok {
				continue
			}
			delete(w.alias, id.Name)
			if len(s.Lhs) == len(s.Rhs) {
				w.bind(id.Name, s.Rhs[i])
			}
		}
	case token.ASSIGN:
		for i, l := range s.Lhs {
			if id, ok := unparen(l).(*ast.Ident); ok && w.global(id) == nil {
				// Rebinding a local: it now points wherever the value does.
				delete(w.alias, id.Name)
				if len(s.Lhs) == len(s.Rhs) {
					w.bind(id.Name, s.Rhs[i])
				}
				continue
			}
			w.write(l, s, false, "")
		}
	default: // +=, -=, ...
		for _, l := range s.Lhs {
			w.write(l, s, true, "")
		}
	}
}

// bind records that the local name holds a value pointing into what e
// refers to (&counter, a map or slice variable, a parameter).
func (w *walker) bind(name string, e ast.Expr) {
	if t := w.rootTarget(e); t != "" {
		w.alias[name] = t
	}
}

// rootTarget is what the variable at the root of e refers to: for
// &counter, stats.hits, s[i] or *p, the target of counter, stats, s or p.
func (w *walker) rootTarget(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.UnaryExpr:
			if x.Op != token.AND {
				return ""
			}
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.SelectorExpr:
			if _, ok := w.isPkg(x.X); ok {
				return ""
			}
			if sel := w.info().Selections[x]; sel != nil && sel.Kind() != types.FieldVal {
				return ""
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.SliceExpr:
			e = x.X
		case *ast.Ident:
			t, _ := w.target(x)
			return t
		default:
			return ""
		}
	}
}

// lvalue finds the variable at the root of an assignment's left side,
// and whether the path to the assigned location goes through a pointer,
// map or slice (so a write to a local copy still reaches shared data).
// It walks the index expressions on the way as reads.
func (w *walker) lvalue(e ast.Expr) (root *ast.Ident, indirect bool) {
	switch x := e.(type) {
	case *ast.Ident:
		return x, false
	case *ast.ParenExpr:
		return w.lvalue(x.X)
	case *ast.SelectorExpr:
		if _, ok := w.isPkg(x.X); ok {
			return nil, false
		}
		r, ind := w.lvalue(x.X)
		return r, ind || w.isRef(x.X, false)
	case *ast.IndexExpr:
		w.expr(x.Index)
		r, ind := w.lvalue(x.X)
		return r, ind || w.isRef(x.X, true)
	case *ast.IndexListExpr:
		for _, i := range x.Indices {
			w.expr(i)
		}
		r, ind := w.lvalue(x.X)
		return r, ind || w.isRef(x.X, true)
	case *ast.StarExpr:
		r, _ := w.lvalue(x.X)
		return r, true
	case *ast.SliceExpr:
		w.expr(x.Low)
		w.expr(x.High)
		w.expr(x.Max)
		r, _ := w.lvalue(x.X)
		return r, true
	default:
		w.expr(e)
		return nil, false
	}
}

// isRef tells whether reaching through a value of e's type (by a field
// selector, or by indexing when index) reaches shared memory: a pointer,
// or when indexing a map or a slice. Unknown types count as shared.
func (w *walker) isRef(e ast.Expr, index bool) bool {
	tv, ok := w.info().Types[e]
	if !ok || tv.Type == nil {
		return true
	}
	switch u := tv.Type.Underlying().(type) {
	case *types.Pointer:
		return true
	case *types.Map, *types.Slice:
		return index
	case *types.Basic:
		return u.Kind() == types.Invalid
	}
	return false
}

// write records a write to what e's root refers to. A local's write
// counts only when it goes through a pointer, map or slice. guard ""
// means by the current mutex state.
func (w *walker) write(e ast.Expr, op ast.Node, alsoRead bool, guard string) {
	root, indirect := w.lvalue(e)
	if root == nil {
		return
	}
	t, direct := w.target(root)
	if t == "" || (!direct && !indirect) {
		return
	}
	if guard == "" {
		guard = w.guard()
	}
	if alsoRead {
		w.record(t, false, "", op.Pos(), op)
	}
	w.record(t, true, guard, op.Pos(), op)
}

// writeThrough records a write to the memory a pointer expression
// points to (&counter, p), as sync/atomic functions do.
func (w *walker) writeThrough(p ast.Expr, op ast.Node, guard string) {
	if u, ok := unparen(p).(*ast.UnaryExpr); ok && u.Op == token.AND {
		w.write(u.X, op, false, guard)
		return
	}
	w.write(&ast.StarExpr{Star: p.Pos(), X: p}, op, false, guard)
}

func (w *walker) readThrough(p ast.Expr, op ast.Node) {
	if t := w.rootTarget(p); t != "" {
		w.record(t, false, "", op.Pos(), op)
	}
}

func (w *walker) exprs(list []ast.Expr) {
	for _, e := range list {
		w.expr(e)
	}
}

func (w *walker) expr(e ast.Expr) {
	switch x := e.(type) {
	case nil:
	case *ast.Ident:
		w.ident(x)
	case *ast.FuncLit:
		saved := w.locked
		w.block(x.Body)
		w.locked = saved
	case *ast.SelectorExpr:
		if _, ok := w.isPkg(x.X); ok {
			return
		}
		if sel := w.info().Selections[x]; sel != nil && sel.Kind() == types.MethodVal {
			if f := w.a.nb.byObj[methodOrigin(sel.Obj())]; f != nil {
				// A method value, t.M: it may be called later.
				w.callNotebook(f, nil, x.X)
			}
		}
		w.expr(x.X)
	case *ast.CallExpr:
		w.call(x)
	case *ast.UnaryExpr:
		w.expr(x.X)
	case *ast.BinaryExpr:
		w.expr(x.X)
		w.expr(x.Y)
	case *ast.ParenExpr:
		w.expr(x.X)
	case *ast.StarExpr:
		w.expr(x.X)
	case *ast.IndexExpr:
		w.expr(x.X)
		w.expr(x.Index)
	case *ast.IndexListExpr:
		w.expr(x.X)
		w.exprs(x.Indices)
	case *ast.SliceExpr:
		w.expr(x.X)
		w.expr(x.Low)
		w.expr(x.High)
		w.expr(x.Max)
	case *ast.TypeAssertExpr:
		w.expr(x.X)
	case *ast.KeyValueExpr:
		w.expr(x.Key)
		w.expr(x.Value)
	case *ast.CompositeLit:
		for _, el := range x.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if id, ok := kv.Key.(*ast.Ident); ok {
					if _, isVar := w.info().Uses[id].(*types.Var); !isVar || w.global(id) == nil {
						// A struct field's name, not a variable.
						w.expr(kv.Value)
						continue
					}
				}
			}
			w.expr(el)
		}
	}
}

// ident handles a name used as a value: a read of a variable, or a
// reference to a notebook function (which may be called).
func (w *walker) ident(id *ast.Ident) {
	if f := w.funcOf(id); f != nil {
		w.callNotebook(f, nil, nil)
		return
	}
	if t, _ := w.target(id); t != "" {
		w.record(t, false, "", id.Pos(), id)
	}
}

// funcOf is the notebook function an identifier names, if any.
func (w *walker) funcOf(id *ast.Ident) *fnode {
	nb := w.a.nb
	if obj := w.info().Uses[id]; obj != nil {
		if f, ok := obj.(*types.Func); ok {
			obj = f.Origin()
		}
		return nb.byObj[obj]
	}
	if w.info().Defs[id] != nil || w.locals[id.Name] || w.alias[id.Name] != "" {
		return nil
	}
	if f := nb.funcs[id.Name]; f != nil && !strings.Contains(f.key, ".") {
		return f
	}
	return nil
}

func methodOrigin(obj types.Object) types.Object {
	if f, ok := obj.(*types.Func); ok {
		return f.Origin()
	}
	return obj
}

var atomicWrites = []string{"Add", "Store", "Swap", "CompareAndSwap", "And", "Or"}

func isAtomicWrite(name string) bool {
	for _, p := range atomicWrites {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// syncMapWrites are the methods of sync.Map that change it.
var syncMapWrites = map[string]bool{
	"Store": true, "LoadOrStore": true, "LoadAndDelete": true, "Delete": true,
	"Swap": true, "CompareAndSwap": true, "CompareAndDelete": true, "Clear": true,
}

func (w *walker) call(c *ast.CallExpr) {
	fun := unparen(c.Fun)
	info := w.info()
	if tv, ok := info.Types[fun]; ok && tv.IsType() {
		w.exprs(c.Args) // a conversion
		return
	}
	switch f := fun.(type) {
	case *ast.Ident:
		if w.builtin(f, c) {
			return
		}
		if fn := w.funcOf(f); fn != nil {
			w.exprs(c.Args)
			w.callNotebook(fn, c.Args, nil)
			return
		}
	case *ast.SelectorExpr:
		if path, ok := w.isPkg(f.X); ok {
			w.pkgCall(path, f.Sel.Name, c)
			return
		}
		if w.methodCall(f, c) {
			return
		}
	case *ast.IndexExpr: // a generic function instantiated: f[int](x)
		if id, ok := f.X.(*ast.Ident); ok {
			if fn := w.funcOf(id); fn != nil {
				w.exprs(c.Args)
				w.callNotebook(fn, c.Args, nil)
				return
			}
		}
	}
	w.expr(fun)
	w.exprs(c.Args)
}

// builtin handles delete, clear and copy, which write their first
// argument; it reports whether id is a builtin.
func (w *walker) builtin(id *ast.Ident, c *ast.CallExpr) bool {
	if obj := w.info().Uses[id]; obj != nil {
		if _, ok := obj.(*types.Builtin); !ok {
			return false
		}
	} else if w.locals[id.Name] || w.a.nb.funcs[id.Name] != nil || w.a.nb.vars[id.Name] != nil {
		return false
	}
	switch id.Name {
	case "delete", "clear", "copy":
		if len(c.Args) > 0 {
			// The map or slice itself is shared: write through it.
			w.write(&ast.IndexExpr{X: c.Args[0], Lbrack: c.Args[0].Pos()}, c, true, "")
			w.exprs(c.Args[1:])
		}
		return true
	case "append", "len", "cap", "make", "new", "panic", "print", "println",
		"min", "max", "complex", "real", "imag", "recover", "close":
		w.exprs(c.Args)
		return true
	}
	return false
}

// pkgCall handles a call of another package's function.
func (w *walker) pkgCall(path, name string, c *ast.CallExpr) {
	switch {
	case path == "sync/atomic" && len(c.Args) > 0:
		if strings.HasPrefix(name, "Load") {
			w.readThrough(c.Args[0], c)
		} else if isAtomicWrite(name) {
			w.writeThrough(c.Args[0], c, Atomic)
		}
		w.exprs(c.Args[1:])
		return
	case path == "time" && name == "Sleep", strings.HasSuffix(path, "/models") && (name == "Sleep" || name == "Await"):
		w.a.await(gosrc.ImportName(path)+"."+name, w.f, c.Pos())
	}
	quiet := path == "fmt" && !strings.HasPrefix(name, "Sscan") && !strings.HasPrefix(name, "Fscan") && !strings.HasPrefix(name, "Scan") || path == "log"
	for _, arg := range c.Args {
		if u, ok := unparen(arg).(*ast.UnaryExpr); ok && u.Op == token.AND && !quiet {
			// &v handed to a function that may fill it (json.Unmarshal, fmt.Sscan).
			w.write(u.X, c, false, "")
		}
		w.expr(arg)
	}
}

// methodCall handles x.M(...) when M is a method; it reports whether it
// did.
func (w *walker) methodCall(f *ast.SelectorExpr, c *ast.CallExpr) bool {
	info := w.info()
	sel := info.Selections[f]
	var recvKind string // the sync type of the receiver, if any
	var ptrRecv bool
	if sel != nil {
		if sel.Kind() != types.MethodVal {
			return false // a func-valued field: an ordinary call
		}
		if fn := w.a.nb.byObj[methodOrigin(sel.Obj())]; fn != nil {
			w.expr(f.X)
			w.exprs(c.Args)
			w.callNotebook(fn, c.Args, f.X)
			return true
		}
		recvKind = syncKindOf(sel.Recv())
		if sig, ok := sel.Obj().Type().(*types.Signature); ok && sig.Recv() != nil {
			_, ptrRecv = sig.Recv().Type().(*types.Pointer)
		}
	} else {
		// Not type-checked: go by the receiver variable's declaration, or a
		// method name only one notebook type has.
		if id, ok := rootIdent(f.X); ok {
			if g := w.global(id); g != nil && id == unparen(f.X) {
				recvKind = w.a.nb.syncKind(g)
			}
		}
		if recvKind == "" {
			if ms := w.a.nb.methods[f.Sel.Name]; len(ms) == 1 {
				w.expr(f.X)
				w.exprs(c.Args)
				w.callNotebook(ms[0], c.Args, f.X)
				return true
			}
		}
	}
	name := f.Sel.Name
	switch {
	case strings.HasPrefix(recvKind, "sync/atomic."):
		if strings.HasPrefix(name, "Load") {
			w.readThrough(f.X, c)
		} else if isAtomicWrite(name) {
			w.write(f.X, c, false, Atomic)
		}
	case recvKind == "sync.Map":
		if syncMapWrites[name] {
			w.write(f.X, c, false, Atomic)
		} else {
			w.readThrough(f.X, c)
		}
	case recvKind != "":
		// Mutexes, WaitGroups, Once: synchronized by design; using one
		// reads it.
		w.readThrough(f.X, c)
	case ptrRecv:
		// A method that may change its receiver (bytes.Buffer.Write,
		// rand.Rand.IntN), called on a shared variable.
		w.write(f.X, c, true, "")
	default:
		w.expr(f.X)
		w.exprs(c.Args)
		return true
	}
	w.exprs(c.Args)
	return true
}

func rootIdent(e ast.Expr) (*ast.Ident, bool) {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x, true
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.UnaryExpr:
			e = x.X
		default:
			return nil, false
		}
	}
}

// callNotebook adds a notebook function's accesses, seen from here: its
// parameter and receiver slots become what the arguments refer to.
func (w *walker) callNotebook(f *fnode, args []ast.Expr, recv ast.Expr) {
	if f != w.a.root {
		w.a.reach(f)
	}
	sum := w.a.summarize(f, w.locked > 0)
	if len(sum) == 0 {
		return
	}
	slot := func(s string) string {
		if s == "$r" {
			if recv == nil {
				return ""
			}
			return w.rootTarget(recv)
		}
		i, err := strconv.Atoi(s[1:])
		if err != nil || i < 0 || i >= len(args) {
			return ""
		}
		return w.rootTarget(args[i])
	}
	for _, acc := range sum {
		t := acc.target
		if strings.HasPrefix(t, "$") {
			t = slot(t)
			if t == "" {
				continue
			}
		}
		k := accKey{t, acc.write, acc.guard}
		if w.seen[k] {
			continue
		}
		w.seen[k] = true
		via := make([]string, 0, len(acc.via)+1)
		via = append(via, w.f.key)
		via = append(via, acc.via...)
		w.accs = append(w.accs, access{target: t, write: acc.write, guard: acc.guard, pos: acc.pos, op: acc.op, via: via})
	}
}
