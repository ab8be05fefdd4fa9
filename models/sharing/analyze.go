package sharing

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"atonce/internal/gosrc"
	"atonce/internal/nbpkg"
)

// Static is what the task function does to the notebook's package-level
// variables, found by reading the cells (see [Analyze]).
type Static struct {
	// Func is the task function's name as given to Analyze.
	Func string `json:"func"`
	// Vars are the package-level variables the task reads or writes,
	// directly or through the notebook functions it calls, sorted by
	// name. Variables holding a func literal that is only called are
	// functions, not data: they are in Calls.
	Vars []Var `json:"vars,omitempty"`
	// Calls are the notebook's functions the task reaches, in the order
	// first met; methods are written Type.Method. The task itself is not
	// among them.
	Calls []string `json:"calls,omitempty"`
	// Awaits are the await points the task reaches (the notebook's
	// time.Sleep), each as "time.Sleep in work (cell 2 line 4)". Under
	// eventloop these are the only places tasks switch.
	Awaits []string `json:"awaits,omitempty"`
	// Ignored are the cells left out of the analysis because they do not
	// parse, each with the parser's reason.
	Ignored []string `json:"ignored,omitempty"`
}

// Guards of a variable's writes, in [Var.Guard].
const (
	Bare   = "bare"   // no synchronization seen around a write
	Atomic = "atomic" // sync/atomic, or a type that synchronizes itself (sync.Map)
	Mutex  = "mutex"  // between a Lock() and its Unlock() (or a deferred Unlock)
	Mixed  = "mixed"  // some writes guarded one way, some another (or not at all)
)

// Var is one package-level variable the task touches.
type Var struct {
	Name string `json:"name"`
	// Type is the variable's type as Go writes it (int, map[string]int,
	// atomic.Int64), "" when neither the type checker nor the
	// declaration tells.
	Type    string `json:"type,omitempty"`
	Read    bool   `json:"read,omitempty"`
	Written bool   `json:"written,omitempty"`
	// Guard says how the writes are synchronized: Bare, Atomic, Mutex or
	// Mixed; "" when the task does not write the variable.
	Guard string `json:"guard,omitempty"`
	// Map tells a variable whose type is a map: writing it from several
	// goroutines at once crashes the program ("concurrent map writes").
	Map bool `json:"map,omitempty"`
	// Via is the call path from the task to the function that makes the
	// first write (or, for a variable only read, the first read): ["work"]
	// when the task does it itself, ["work", "bump"] when work calls bump
	// which does.
	Via []string `json:"via,omitempty"`
	// Where is that access's position, "cell N line L", N counting the
	// cells given to Analyze from 1; Cell and Line are the same numbers.
	Where string `json:"where,omitempty"`
	Cell  int    `json:"cell,omitempty"`
	Line  int    `json:"line,omitempty"`
	// Op is that access as written, shortened, e.g. "counter++".
	Op string `json:"op,omitempty"`
}

// ErrNoFunc is returned by Analyze when the notebook does not define the
// task function.
var ErrNoFunc = errors.New("the notebook defines no such function")

// typeCheck runs the type checker; tests turn it off to exercise the
// syntactic fallback that covers code the type checker cannot resolve.
var typeCheck = true

// catchPanics turns a panic inside Analyze into an error. Tests turn it
// off to see the panic.
var catchPanics = true

// Analyze reads the notebook's cells and reports which package-level
// variables the function fn, and every notebook function it calls,
// reads and writes, and how each write is guarded.
//
// cells are the notebook's cells that ran successfully, in order, as the
// user typed them: Go declarations (func, method, var, const, type,
// import) and top-level statements, possibly both in one cell. A
// top-level `x := v` or `var x = v` defines a package-level variable; a
// later cell's definition of a name replaces an earlier one. Imports may
// be left out for standard packages (fmt, sync, atomic, time, rand, ...).
// Magic lines (`%name ...`, a first line `%%name ...` whose body is Go,
// `name?`) are skipped. A cell that does not parse is left out and named
// in Static.Ignored.
//
// fn names a function (work), a method (T.M or (*T).M) or a variable
// holding a func literal. The error wraps ErrNoFunc when the notebook has
// none by that name. Analyze is heuristic: it follows calls it can
// resolve, sees a mutex as guarding whatever is written between any
// Lock() and Unlock() in the same function (or in a function called
// there), and does not track pointers stored in data structures.
func Analyze(cells []string, fn string) (st Static, err error) {
	st.Func = fn
	if catchPanics {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("analyzing the notebook's use of shared variables failed (a bug in atonce): %v", r)
			}
		}()
	}
	return analyzeNotebook(load(cells), fn)
}

// analyzeNotebook is Analyze on a loaded notebook.
func analyzeNotebook(nb *notebook, fn string) (Static, error) {
	st := Static{Func: fn, Ignored: nb.Ignored}
	key := funcKey(fn)
	f := nb.funcs[key]
	if f == nil {
		if v := nb.vars[key]; v != nil {
			return st, fmt.Errorf("%w: %s is a variable of type %s, not a function", ErrNoFunc, fn, nb.typeString(v))
		}
		return st, fmt.Errorf("%w: %q%s", ErrNoFunc, fn, nb.known())
	}
	a := &analyzer{nb: nb, root: f, memo: map[memoKey][]access{}, onStack: map[memoKey]bool{}, reached: map[*fnode]bool{f: true}}
	accs := a.summarize(f, false)
	st.Vars = nb.vars2(accs)
	st.Calls = a.calls
	st.Awaits = a.awaits
	return st, nil
}

// funcKey normalizes a function name: (*T).M and T.M are both T.M.
func funcKey(fn string) string {
	fn = strings.TrimSpace(fn)
	fn = strings.NewReplacer("(", "", ")", "", "*", "").Replace(fn)
	return fn
}

// known lists the notebook's functions for an error message.
func (nb *notebook) known() string {
	var names []string
	for k := range nb.funcs {
		names = append(names, k)
	}
	if len(names) == 0 {
		return " (it defines no functions yet)"
	}
	slices.Sort(names)
	if len(names) > 12 {
		names = append(names[:12], "...")
	}
	return " (its functions are " + strings.Join(names, ", ") + ")"
}

// fnode is a notebook function: a declaration, or a func literal held by
// a package-level variable.
type fnode struct {
	key  string
	typ  *ast.FuncType
	recv *ast.FieldList
	body *ast.BlockStmt
}

// gvar is a live package-level variable of the notebook.
type gvar struct {
	name  string
	id    *ast.Ident
	obj   *types.Var
	typ   ast.Expr // the declared type, if any
	value ast.Expr // the initializer, when one per name
	fn    bool     // initialized with a func literal
}

// notebook is the notebook's cells as one package (nbpkg), type-checked
// as far as it goes, with its live functions and variables indexed.
type notebook struct {
	*nbpkg.Package
	funcs   map[string]*fnode
	byObj   map[types.Object]*fnode
	methods map[string][]*fnode // method name to the notebook's methods of that name
	vars    map[string]*gvar
}

// load parses, prunes and type-checks the cells.
func load(cells []string) *notebook {
	nb := &notebook{
		Package: nbpkg.Load(cells),
		funcs:   map[string]*fnode{},
		byObj:   map[types.Object]*fnode{},
		methods: map[string][]*fnode{},
		vars:    map[string]*gvar{},
	}
	if typeCheck {
		// The standard packages are shared between checks.
		checkMu.Lock()
		nb.Check(std)
		checkMu.Unlock()
	}
	nb.index()
	return nb
}

// index finds the live functions and variables.
func (nb *notebook) index() {
	for _, file := range nb.Files {
		for _, d := range file.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				key, method, ok := nbpkg.FuncKey(d)
				if !ok || d.Body == nil {
					continue
				}
				f := &fnode{key: key, typ: d.Type, recv: d.Recv, body: d.Body}
				nb.funcs[key] = f
				if method {
					nb.methods[d.Name.Name] = append(nb.methods[d.Name.Name], f)
				}
				if obj := nb.Info.Defs[d.Name]; obj != nil {
					nb.byObj[obj] = f
				}
			case *ast.GenDecl:
				if d.Tok != token.VAR {
					continue
				}
				for _, s := range d.Specs {
					s, ok := s.(*ast.ValueSpec)
					if !ok {
						continue
					}
					for i, n := range s.Names {
						if n.Name == "_" {
							continue
						}
						v := &gvar{name: n.Name, id: n, typ: s.Type}
						if len(s.Values) == len(s.Names) {
							v.value = s.Values[i]
						}
						if obj, ok := nb.Info.Defs[n].(*types.Var); ok {
							v.obj = obj
						}
						nb.vars[n.Name] = v
						if lit, ok := unparen(v.value).(*ast.FuncLit); ok && lit.Body != nil {
							v.fn = true
							f := &fnode{key: n.Name, typ: lit.Type, body: lit.Body}
							nb.funcs[n.Name] = f
							if v.obj != nil {
								nb.byObj[v.obj] = f
							}
						}
					}
				}
			}
		}
	}
}

// isPkgVar tells whether obj is one of the notebook's live package-level
// variables.
func (nb *notebook) isPkgVar(obj types.Object) (*gvar, bool) {
	v, ok := obj.(*types.Var)
	if !ok || nb.Types == nil || v.Pkg() != nb.Types || v.Parent() != nb.Types.Scope() {
		return nil, false
	}
	g := nb.vars[v.Name()]
	return g, g != nil && g.obj == v
}

// typeOf is a variable's type, nil when unknown.
func (g *gvar) typeOf() types.Type {
	if g.obj == nil {
		return nil
	}
	t := g.obj.Type()
	if t == nil {
		return nil
	}
	if b, ok := t.(*types.Basic); ok && b.Kind() == types.Invalid {
		return nil
	}
	return t
}

// typeString is a variable's type as Go writes it.
func (nb *notebook) typeString(g *gvar) string {
	if t := g.typeOf(); t != nil {
		s := types.TypeString(t, func(p *types.Package) string {
			if p == nb.Types {
				return ""
			}
			return p.Name()
		})
		if !strings.Contains(s, "invalid type") {
			return s
		}
	}
	if g.typ != nil {
		return types.ExprString(g.typ)
	}
	return syntacticType(g.value)
}

// syntacticType guesses an initializer's type from its form.
func syntacticType(e ast.Expr) string {
	switch e := unparen(e).(type) {
	case *ast.CompositeLit:
		if e.Type != nil {
			return types.ExprString(e.Type)
		}
	case *ast.UnaryExpr:
		if e.Op == token.AND {
			if t := syntacticType(e.X); t != "" {
				return "*" + t
			}
		}
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && len(e.Args) > 0 {
			switch id.Name {
			case "make":
				return types.ExprString(e.Args[0])
			case "new":
				return "*" + types.ExprString(e.Args[0])
			}
		}
	case *ast.BasicLit:
		switch e.Kind {
		case token.INT:
			return "int"
		case token.FLOAT:
			return "float64"
		case token.STRING:
			return "string"
		case token.CHAR:
			return "rune"
		case token.IMAG:
			return "complex128"
		}
	case *ast.Ident:
		if e.Name == "true" || e.Name == "false" {
			return "bool"
		}
	}
	return ""
}

// isMap tells whether a variable is a map.
func (nb *notebook) isMap(g *gvar) bool {
	if t := g.typeOf(); t != nil {
		_, ok := t.Underlying().(*types.Map)
		return ok
	}
	if _, ok := g.typ.(*ast.MapType); ok {
		return true
	}
	return strings.HasPrefix(syntacticType(g.value), "map[")
}

// syncKind names the sync or sync/atomic type a variable has, as
// "sync/atomic.Int64" or "sync.Mutex", from its type or its declaration;
// "" for any other type.
func (nb *notebook) syncKind(g *gvar) string {
	if t := g.typeOf(); t != nil {
		return syncKindOf(t)
	}
	s := strings.TrimPrefix(nb.typeString(g), "*")
	if i := strings.Index(s, "["); i > 0 {
		s = s[:i]
	}
	pkg, name, ok := strings.Cut(s, ".")
	if !ok {
		return ""
	}
	return nb.pkgPathOf(pkg) + "." + name
}

// syncKindOf names a type of package sync or sync/atomic (through one
// pointer), "" for others.
func syncKindOf(t types.Type) string {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return ""
	}
	path := n.Obj().Pkg().Path()
	if path != "sync" && path != "sync/atomic" {
		return ""
	}
	return path + "." + n.Obj().Name()
}

// pkgPathOf is the import path a package name stands for in the notebook.
func (nb *notebook) pkgPathOf(name string) string {
	for _, f := range nb.Files {
		for _, s := range f.AST.Imports {
			if im, ok := gosrc.ImportOf(s); ok && im.Name == name {
				return im.Path
			}
		}
	}
	path, _, _ := gosrc.AutoImport(name, nil)
	return path
}

// position is where pos is, as cell and line.
func (nb *notebook) position(pos token.Pos) (cell, line int) {
	cell, line, _ = nb.Position(pos)
	return cell, line
}

// text is the source of a node, on one line, shortened.
func (nb *notebook) text(n ast.Node) string {
	if n == nil || !n.Pos().IsValid() {
		return ""
	}
	f := nb.FileOf(n.Pos())
	if f == nil || f.TF.Offset(n.End()) > len(f.Src) {
		return ""
	}
	return shorten(strings.Join(strings.Fields(f.Text(n)), " "), 60)
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
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

// vars2 aggregates the task's accesses into Vars sorted by name.
func (nb *notebook) vars2(accs []access) []Var {
	byName := map[string]*Var{}
	guards := map[string]map[string]bool{}
	var order []string
	for _, acc := range accs {
		g := nb.vars[acc.target]
		if g == nil {
			continue
		}
		if g.fn && !acc.write {
			continue
		}
		v := byName[acc.target]
		if v == nil {
			v = &Var{Name: g.name, Type: nb.typeString(g), Map: nb.isMap(g)}
			byName[acc.target] = v
			guards[acc.target] = map[string]bool{}
			order = append(order, acc.target)
		}
		first := v.Where == "" || (acc.write && !v.Written)
		if acc.write {
			v.Written = true
			guards[acc.target][acc.guard] = true
		} else {
			v.Read = true
		}
		if first {
			v.Via = acc.via
			v.Cell, v.Line = nb.position(acc.pos)
			if v.Cell > 0 {
				v.Where = fmt.Sprintf("cell %d line %d", v.Cell, v.Line)
			} else {
				v.Where = "?"
			}
			v.Op = nb.text(acc.op)
		}
	}
	out := make([]Var, 0, len(order))
	for _, name := range order {
		v := byName[name]
		if v.Where == "?" {
			v.Where = ""
		}
		switch gs := guards[name]; len(gs) {
		case 0:
		case 1:
			for g := range gs {
				v.Guard = g
			}
		default:
			v.Guard = Mixed
		}
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b Var) int { return strings.Compare(a.Name, b.Name) })
	return out
}
