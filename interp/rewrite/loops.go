package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
)

// loop walks a for or range statement labelled label ("" for none) and
// rewrites it. pre, when not nil, holds statements that must run just
// before the loop, in a block of their own together with it.
func (w *walker) loop(s ast.Stmt, label string) (pre []ast.Stmt, loop ast.Stmt) {
	switch s := s.(type) {
	case *ast.ForStmt:
		return nil, w.forStmt(s, label)
	case *ast.RangeStmt:
		return w.rangeStmt(s)
	}
	return nil, s
}

// forStmt gives a three-clause loop per-iteration variables (Go 1.22) when
// its body may keep them past the iteration:
//
//	for i := 0; i < n; i++ { body }
//
// becomes
//
//	for i := 0; i < n; i++ { _atonce_iN := i; { body with i renamed _atonce_iN }; i = _atonce_iN }
//
// with the copy back also before every continue of this loop, so changes
// the body makes still drive the loop. The copy gets a fresh name instead
// of shadowing i: yaegi runs top-level statements in the global scope,
// where it does not keep shadowing variables apart (measured: i := i in
// such a loop body loops forever).
func (w *walker) forStmt(s *ast.ForStmt, label string) ast.Stmt {
	w.push()
	if s.Init != nil {
		w.stmt(&s.Init)
	}
	var names []string
	var bs []*binding
	if a, ok := s.Init.(*ast.AssignStmt); ok && a.Tok == token.DEFINE {
		top := w.scopes[len(w.scopes)-1]
		for _, l := range a.Lhs {
			if id, ok := l.(*ast.Ident); ok && top[id.Name] != nil {
				names = append(names, id.Name)
				bs = append(bs, top[id.Name])
			}
		}
	}
	if s.Cond != nil {
		w.expr(&s.Cond)
	}
	if s.Post != nil {
		w.stmt(&s.Post)
	}
	body := w.loopBody(s.Body, bs)
	w.pop()
	if len(names) > 0 && body.escapes() {
		w.perIteration(s, names, body, label)
	}
	return s
}

// loopBody walks a loop body with the loop's variables bs in the current
// scope, and returns the body's frame: for each variable, the references
// the body makes to it.
func (w *walker) loopBody(body *ast.BlockStmt, bs []*binding) *loopFrame {
	fr := &loopFrame{vars: bs, funcDepth: w.funcDepth, scope: len(w.scopes) - 1}
	marks := make([]int, len(bs))
	for i, b := range bs {
		marks[i] = len(b.refs)
	}
	w.loops = append(w.loops, fr)
	w.block(body)
	w.loops = w.loops[:len(w.loops)-1]
	for i, b := range bs {
		fr.bodyRefs = append(fr.bodyRefs, b.refs[marks[i]:])
	}
	return fr
}

// copyNames renames the body's references to each loop variable to a fresh
// name and returns the fresh names.
func (w *walker) copyNames(names []string, fr *loopFrame) []string {
	w.seq++
	fresh := make([]string, len(names))
	for i, n := range names {
		fresh[i] = fmt.Sprintf("%s%s%d", Prefix, n, w.seq)
		for _, id := range fr.bodyRefs[i] {
			id.Name = fresh[i]
		}
	}
	return fresh
}

// escapes reports whether the loop's variables may outlive an iteration.
func (fr *loopFrame) escapes() bool {
	if fr.goDefer {
		return true
	}
	for _, b := range fr.vars {
		if b.captured {
			return true
		}
	}
	return false
}

func (w *walker) perIteration(s *ast.ForStmt, names []string, fr *loopFrame, label string) {
	fresh := w.copyNames(names, fr)
	assign := func(pos token.Pos, dst, src []string) ast.Stmt {
		var l, r []ast.Expr
		for i := range dst {
			l = append(l, ident(dst[i], pos))
			r = append(r, ident(src[i], pos))
		}
		tok := token.ASSIGN
		if dst[0] != names[0] {
			tok = token.DEFINE
		}
		return &ast.AssignStmt{Lhs: l, TokPos: pos, Tok: tok, Rhs: r}
	}
	copyBack := func(pos token.Pos) ast.Stmt { return assign(pos, names, fresh) }
	body := s.Body
	replaceContinues(body.List, label, false, copyBack)
	s.Body = &ast.BlockStmt{
		Lbrace: body.Lbrace,
		List:   []ast.Stmt{assign(body.Lbrace, fresh, names), body, copyBack(body.Rbrace)},
		Rbrace: body.Rbrace,
	}
}

// replaceContinues puts mk's statement before each continue in list that
// targets the loop labelled label; nested tells that list is inside an inner
// loop, where an unlabelled continue belongs to that loop.
func replaceContinues(list []ast.Stmt, label string, nested bool, mk func(token.Pos) ast.Stmt) {
	for i := range list {
		replaceContinue(&list[i], label, nested, mk)
	}
}

func replaceContinue(p *ast.Stmt, label string, nested bool, mk func(token.Pos) ast.Stmt) {
	switch s := (*p).(type) {
	case *ast.BranchStmt:
		if s.Tok != token.CONTINUE || s.Label == nil && nested || s.Label != nil && s.Label.Name != label {
			return
		}
		*p = &ast.BlockStmt{Lbrace: s.Pos(), List: []ast.Stmt{mk(s.Pos()), s}, Rbrace: s.End() - 1}
	case *ast.BlockStmt:
		replaceContinues(s.List, label, nested, mk)
	case *ast.LabeledStmt:
		replaceContinue(&s.Stmt, label, nested, mk)
	case *ast.IfStmt:
		replaceContinues(s.Body.List, label, nested, mk)
		if s.Else != nil {
			replaceContinue(&s.Else, label, nested, mk)
		}
	case *ast.SwitchStmt:
		for _, c := range s.Body.List {
			replaceContinues(c.(*ast.CaseClause).Body, label, nested, mk)
		}
	case *ast.TypeSwitchStmt:
		for _, c := range s.Body.List {
			replaceContinues(c.(*ast.CaseClause).Body, label, nested, mk)
		}
	case *ast.SelectStmt:
		for _, c := range s.Body.List {
			replaceContinues(c.(*ast.CommClause).Body, label, nested, mk)
		}
	case *ast.ForStmt:
		replaceContinues(s.Body.List, label, true, mk)
	case *ast.RangeStmt:
		replaceContinues(s.Body.List, label, true, mk)
	}
}

// rangeStmt walks a range loop. Over an integer it becomes a three-clause
// loop (see rangeInt); over a function it is an error; otherwise, when the
// body may keep the iteration variables, `_atonce_kN, _atonce_vN := k, v`
// starts the body and the body's references are renamed (see forStmt).
func (w *walker) rangeStmt(s *ast.RangeStmt) (pre []ast.Stmt, loop ast.Stmt) {
	w.expr(&s.X)
	overInt := w.isInt(s.X)
	if !overInt && w.isFuncValue(s.X) {
		w.errorf(s.X.Pos(), "range over a function (Go 1.23 iterators) is not supported by the interpreter; collect the values into a slice and range over that")
	}
	w.push()
	var names []string
	var bs []*binding
	if s.Tok == token.DEFINE {
		for i, e := range []ast.Expr{s.Key, s.Value} {
			id, ok := e.(*ast.Ident)
			if !ok {
				continue
			}
			b := w.bind(id, &binding{isInt: i == 0 && overInt})
			if id.Name != "_" {
				names = append(names, id.Name)
				bs = append(bs, b)
			}
		}
	} else {
		if s.Key != nil {
			w.expr(&s.Key)
		}
		if s.Value != nil {
			w.expr(&s.Value)
		}
	}
	fr := w.loopBody(s.Body, bs)
	w.pop()
	if overInt {
		return w.rangeInt(s)
	}
	if len(names) > 0 && fr.escapes() {
		pos := s.Body.Lbrace
		fresh := w.copyNames(names, fr)
		var lhs, rhs []ast.Expr
		for i, n := range names {
			lhs = append(lhs, ident(fresh[i], pos))
			rhs = append(rhs, ident(n, pos))
		}
		body := s.Body
		s.Body = &ast.BlockStmt{
			Lbrace: body.Lbrace,
			List:   []ast.Stmt{&ast.AssignStmt{Lhs: lhs, TokPos: pos, Tok: token.DEFINE, Rhs: rhs}, body},
			Rbrace: body.Rbrace,
		}
	}
	return nil, s
}

// rangeInt rewrites `for i := range n { body }` over an integer n to
//
//	_atonce_nN := n
//	for _atonce_kN := _atonce_nN - _atonce_nN; _atonce_kN < _atonce_nN; _atonce_kN++ { i := _atonce_kN; { body } }
//
// which evaluates n once, gives i the type of n and a fresh variable per
// iteration, and lets the body change i without changing the iteration.
// A constant n needs no copy and counts from 0 as an int.
func (w *walker) rangeInt(s *ast.RangeStmt) (pre []ast.Stmt, loop ast.Stmt) {
	w.seq++
	pos := s.For
	k := fmt.Sprintf("%sk%d", Prefix, w.seq)
	var limit, start ast.Expr
	if isConst(s.X) {
		limit = s.X
		start = &ast.BasicLit{ValuePos: pos, Kind: token.INT, Value: "0"}
	} else {
		n := fmt.Sprintf("%sn%d", Prefix, w.seq)
		pre = []ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{ident(n, pos)}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{s.X}}}
		limit = ident(n, pos)
		start = &ast.BinaryExpr{X: ident(n, pos), OpPos: pos, Op: token.SUB, Y: ident(n, pos)}
	}
	body := s.Body
	if key, ok := s.Key.(*ast.Ident); s.Key != nil && (!ok || key.Name != "_") {
		tok := token.ASSIGN
		if s.Tok == token.DEFINE {
			tok = token.DEFINE
		}
		body = &ast.BlockStmt{
			Lbrace: body.Lbrace,
			List:   []ast.Stmt{&ast.AssignStmt{Lhs: []ast.Expr{s.Key}, TokPos: pos, Tok: tok, Rhs: []ast.Expr{ident(k, pos)}}, body},
			Rbrace: body.Rbrace,
		}
	}
	return pre, &ast.ForStmt{
		For:  s.For,
		Init: &ast.AssignStmt{Lhs: []ast.Expr{ident(k, pos)}, TokPos: pos, Tok: token.DEFINE, Rhs: []ast.Expr{start}},
		Cond: &ast.BinaryExpr{X: ident(k, pos), OpPos: pos, Op: token.LSS, Y: limit},
		Post: &ast.IncDecStmt{X: ident(k, pos), TokPos: pos, Tok: token.INC},
		Body: body,
	}
}

// isConst reports whether e is a constant expression made of literals.
func isConst(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.ParenExpr:
		return isConst(e.X)
	case *ast.UnaryExpr:
		return isConst(e.X)
	case *ast.BinaryExpr:
		return isConst(e.X) && isConst(e.Y)
	}
	return false
}

// ident makes an identifier at pos.
func ident(name string, pos token.Pos) *ast.Ident {
	return &ast.Ident{NamePos: pos, Name: name}
}

// iterFuncs are standard functions that return iterators (Go 1.23+).
var iterFuncs = map[string]bool{
	"maps.Keys": true, "maps.Values": true, "maps.All": true,
	"slices.All": true, "slices.Values": true, "slices.Backward": true, "slices.Chunk": true,
	"strings.Lines": true, "strings.SplitSeq": true, "strings.SplitAfterSeq": true,
	"strings.FieldsSeq": true, "strings.FieldsFuncSeq": true,
	"bytes.Lines": true, "bytes.SplitSeq": true, "bytes.SplitAfterSeq": true,
	"bytes.FieldsSeq": true, "bytes.FieldsFuncSeq": true,
}

// returnsFunc reports whether call is known to return a function, such as
// an iterator.
func (w *walker) returnsFunc(call *ast.CallExpr) bool {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		if w.lookup(f.Name) != nil {
			return false
		}
		g, ok := w.globals[f.Name]
		return ok && isFuncType(g.returns)
	case *ast.SelectorExpr:
		pkg, ok := f.X.(*ast.Ident)
		if !ok || w.lookup(pkg.Name) != nil {
			return false
		}
		return iterFuncs[pkg.Name+"."+f.Sel.Name]
	}
	return false
}

// isFuncType reports whether t spells a function type or iter.Seq/Seq2.
func isFuncType(t ast.Expr) bool {
	switch t := t.(type) {
	case *ast.FuncType:
		return true
	case *ast.ParenExpr:
		return isFuncType(t.X)
	case *ast.IndexExpr:
		return isFuncType(t.X)
	case *ast.IndexListExpr:
		return isFuncType(t.X)
	case *ast.SelectorExpr:
		pkg, ok := t.X.(*ast.Ident)
		return ok && pkg.Name == "iter" && (t.Sel.Name == "Seq" || t.Sel.Name == "Seq2")
	}
	return false
}
