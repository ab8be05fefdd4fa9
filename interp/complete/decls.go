package complete

import (
	"go/ast"
	"go/token"

	"atonce/internal/gosrc"
)

// A space is one namespace: a standard package, the universe (package
// builtin), or the notebook's own declarations.
type space struct {
	path    string            // import path; "" for the notebook
	name    string            // package name
	doc     *ast.CommentGroup // package doc comment
	imports map[string]string // local package name -> import path
	types   map[string]*typeDecl
	values  map[string]*valueDecl           // funcs, vars and consts
	methods map[string]map[string]*funcDecl // receiver base type -> method name
	fset    *token.FileSet                  // positions of a standard package
}

func newSpace(path, name string) *space {
	return &space{
		path: path, name: name,
		imports: map[string]string{},
		types:   map[string]*typeDecl{},
		values:  map[string]*valueDecl{},
		methods: map[string]map[string]*funcDecl{},
	}
}

// A typeDecl is a type declaration.
type typeDecl struct {
	spec *ast.TypeSpec
	gen  *ast.GenDecl
	grp  *gosrc.Group
}

// A funcDecl is a function or method declaration.
type funcDecl struct {
	decl *ast.FuncDecl
	grp  *gosrc.Group
}

// A valueDecl is a var, const, func or := variable. Its type comes from typ
// when declared, else from val (the idx-th result when one call fills
// several names).
type valueDecl struct {
	kind string // "var", "const", "func"
	typ  ast.Expr
	val  ast.Expr
	idx  int
	fn   *funcDecl
	spec *ast.ValueSpec // for var and const declarations
	gen  *ast.GenDecl
	stmt ast.Stmt // for := and range variables
	grp  *gosrc.Group
}

// visible reports whether a name of this space is visible from the notebook.
func (sp *space) visible(name string) bool {
	return sp.path == "" || ast.IsExported(name)
}

// addFile records the top-level declarations of a file: of a group of the
// notebook's declarations (grp), or of the standard library (grp nil;
// function bodies are dropped to save memory).
func (sp *space) addFile(f *ast.File, grp *gosrc.Group) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if grp == nil {
				d.Body = nil
			}
			if d.Name.Name == "_" {
				continue
			}
			fd := &funcDecl{decl: d, grp: grp}
			if d.Recv != nil && len(d.Recv.List) > 0 {
				base := gosrc.BaseTypeName(d.Recv.List[0].Type)
				if sp.methods[base] == nil {
					sp.methods[base] = map[string]*funcDecl{}
				}
				sp.methods[base][d.Name.Name] = fd
				continue
			}
			sp.values[d.Name.Name] = &valueDecl{kind: "func", fn: fd, grp: grp}
		case *ast.GenDecl:
			sp.addGenDecl(d, grp)
		}
	}
}

func (sp *space) addGenDecl(d *ast.GenDecl, grp *gosrc.Group) {
	var last *ast.ValueSpec // for consts that repeat the previous spec
	for _, s := range d.Specs {
		switch s := s.(type) {
		case *ast.ImportSpec:
			if im, ok := gosrc.ImportOf(s); ok && im.Name != "_" && im.Name != "." {
				sp.imports[im.Name] = im.Path
			}
		case *ast.TypeSpec:
			sp.types[s.Name.Name] = &typeDecl{spec: s, gen: d, grp: grp}
		case *ast.ValueSpec:
			typ, vals := s.Type, s.Values
			if d.Tok == token.CONST && typ == nil && len(vals) == 0 && last != nil {
				typ, vals = last.Type, last.Values
			} else {
				last = s
			}
			for i, n := range s.Names {
				v := &valueDecl{kind: d.Tok.String(), typ: typ, spec: s, gen: d, grp: grp}
				setValue(v, vals, i)
				sp.values[n.Name] = v
			}
		}
	}
}

// setValue sets the value expression for the i-th of several names.
func setValue(v *valueDecl, vals []ast.Expr, i int) {
	switch {
	case i < len(vals) && len(vals) > 1:
		v.val = vals[i]
	case len(vals) == 1:
		v.val, v.idx = vals[0], i
	}
}

// addStmt records the variables a statement declares.
func (sp *space) addStmt(s ast.Stmt, grp *gosrc.Group) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		if s.Tok != token.DEFINE {
			return
		}
		for i, l := range s.Lhs {
			id, ok := l.(*ast.Ident)
			if !ok || id.Name == "_" {
				continue
			}
			v := &valueDecl{kind: "var", stmt: s, grp: grp}
			setValue(v, s.Rhs, i)
			if i > 0 && len(s.Rhs) == 1 {
				if _, isCall := s.Rhs[0].(*ast.CallExpr); !isCall {
					v.val = nil // comma-ok forms: v, ok := m[k]
				}
			}
			sp.values[id.Name] = v
		}
	case *ast.DeclStmt:
		if g, ok := s.Decl.(*ast.GenDecl); ok {
			sp.addGenDecl(g, grp)
		}
	case *ast.RangeStmt:
		if s.Tok != token.DEFINE {
			return
		}
		for i, e := range []ast.Expr{s.Key, s.Value} {
			if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
				sp.values[id.Name] = &valueDecl{kind: "var", stmt: s, val: &rangeElem{x: s.X, value: i == 1}, grp: grp}
			}
		}
	}
}

// rangeElem stands for the key or value of a range clause in a valueDecl.
type rangeElem struct {
	ast.Expr
	x     ast.Expr
	value bool
}

// addParams records the parameters of a function type.
func (sp *space) addParams(ft *ast.FuncType, grp *gosrc.Group) {
	for _, fl := range []*ast.FieldList{ft.Params, ft.Results} {
		if fl == nil {
			continue
		}
		for _, f := range fl.List {
			for _, n := range f.Names {
				sp.values[n.Name] = &valueDecl{kind: "var", typ: f.Type, grp: grp}
			}
		}
	}
}

// userSpace builds the notebook's namespace from the scope's cells (top
// level only) and the current code (every declaration, including locals,
// so that completion works inside a function being written).
func userSpace(sc Scope, code string) *space {
	sp := newSpace("", "main")
	for _, c := range sc.Cells {
		for _, g := range cachedCell(c).Groups {
			sp.addGroup(g, false)
		}
	}
	for _, g := range parseCell(code).Groups {
		sp.addGroup(g, true)
	}
	return sp
}

// addGroup records what a group of a cell declares at the top level, and
// with locals its functions' parameters and local variables too.
func (sp *space) addGroup(grp *gosrc.Group, locals bool) {
	if grp.File == nil {
		return
	}
	body := grp.Body()
	if grp.Kind != gosrc.Stmt {
		sp.addFile(grp.File, grp)
	} else {
		for _, s := range stmts(grp) {
			sp.addStmt(s, grp)
		}
	}
	if !locals {
		return
	}
	ast.Inspect(grp.File, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Recv != nil {
				for _, f := range n.Recv.List {
					for _, id := range f.Names {
						sp.values[id.Name] = &valueDecl{kind: "var", typ: f.Type, grp: grp}
					}
				}
			}
			sp.addParams(n.Type, grp)
		case *ast.FuncLit:
			sp.addParams(n.Type, grp)
		case *ast.BlockStmt:
			if n == nil {
				return false
			}
			if n == body {
				return true // the wrapper's statements are already recorded
			}
			for _, s := range n.List {
				sp.addStmt(s, grp)
			}
		case *ast.IfStmt:
			if n.Init != nil {
				sp.addStmt(n.Init, grp)
			}
		case *ast.ForStmt:
			if n.Init != nil {
				sp.addStmt(n.Init, grp)
			}
		case *ast.RangeStmt:
			sp.addStmt(n, grp)
		case *ast.SwitchStmt:
			if n.Init != nil {
				sp.addStmt(n.Init, grp)
			}
		}
		return true
	})
}
