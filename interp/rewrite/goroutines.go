package rewrite

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
)

// GoPanicFunc is the host function a goroutine started by a cell calls
// when it panics, with the panic value and the go statement's line and
// column as the parser saw them. The session provides it; a panic that
// escapes a goroutine would otherwise kill the whole engine.
const GoPanicFunc = "__atonce_capture.GoPanic"

// recoverGoroutines rewrites every go statement under the given nodes so
// the goroutine recovers its own panic and reports it through
// GoPanicFunc. Arguments that could behave differently when evaluated
// inside the new goroutine (calls, receives) are evaluated first, as Go
// evaluates them in the go statement itself.
func recoverGoroutines(fset *token.FileSet, decls []ast.Decl, stmts []ast.Stmt) error {
	var err error
	var fixList func(list []ast.Stmt)
	visit := func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BlockStmt:
			fixList(n.List)
		case *ast.CaseClause:
			fixList(n.Body)
		case *ast.CommClause:
			fixList(n.Body)
		case *ast.LabeledStmt:
			if gs, ok := n.Stmt.(*ast.GoStmt); ok {
				var rep ast.Stmt
				if rep, err = wrapGo(fset, gs); err == nil {
					n.Stmt = rep
				}
			}
		}
		return err == nil
	}
	fixList = func(list []ast.Stmt) {
		for i, st := range list {
			gs, ok := st.(*ast.GoStmt)
			if !ok {
				continue
			}
			rep, e := wrapGo(fset, gs)
			if e != nil {
				err = e
				return
			}
			list[i] = rep
		}
	}
	for _, d := range decls {
		ast.Inspect(d, visit)
	}
	fixList(stmts)
	for _, st := range stmts {
		ast.Inspect(st, visit)
	}
	return err
}

// wrapGo returns the replacement for one go statement:
//
//	{ a0 := <arg>; go func() { defer <recover and report>(); f(a0, ...) }() }
func wrapGo(fset *token.FileSet, gs *ast.GoStmt) (ast.Stmt, error) {
	p := fset.Position(gs.Pos())
	src := fmt.Sprintf(`package p
func _() {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				%s(r, %d, %d)
			}
		}()
		_atonce_call()
	}()
}`, GoPanicFunc, p.Line, p.Column)
	f, err := parser.ParseFile(fset, "", src, 0)
	if err != nil {
		return nil, fmt.Errorf("rewrite: go statement template: %w", err)
	}
	tmplGo := f.Decls[0].(*ast.FuncDecl).Body.List[0].(*ast.GoStmt)
	body := tmplGo.Call.Fun.(*ast.FuncLit).Body
	call := gs.Call
	var pre []ast.Stmt
	bind := func(e ast.Expr) ast.Expr {
		if !evaluatesEagerly(e) {
			return e
		}
		name := ast.NewIdent(fmt.Sprintf("%sgo%d", Prefix, len(pre)))
		name.NamePos = e.Pos()
		pre = append(pre, &ast.AssignStmt{Lhs: []ast.Expr{name}, TokPos: e.Pos(), Tok: token.DEFINE, Rhs: []ast.Expr{e}})
		return ast.NewIdent(name.Name)
	}
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok && evaluatesEagerly(sel.X) {
		call.Fun = &ast.SelectorExpr{X: bind(sel.X), Sel: sel.Sel}
	}
	for i, a := range call.Args {
		call.Args[i] = bind(a)
	}
	body.List[1] = &ast.ExprStmt{X: call}
	tmplGo.Go = gs.Go
	if len(pre) == 0 {
		return tmplGo, nil
	}
	return &ast.BlockStmt{Lbrace: gs.Pos(), List: append(pre, tmplGo), Rbrace: gs.End()}, nil
}

// evaluatesEagerly tells whether evaluating e later, in the goroutine,
// could differ from evaluating it in the go statement: it calls
// something or receives from a channel.
func evaluatesEagerly(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // a func literal is a value; its body runs later anyway
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "len" || id.Name == "cap") {
				return true
			}
			found = true
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				found = true
			}
		}
		return !found
	})
	return found
}
