package rewrite

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"slices"
	"strconv"
)

// prelude declares the helpers that stand in for the built-ins min, max
// and clear (Go 1.21), which yaegi v0.16.1 lacks. Its imports use private
// names so that they never clash with the user's. The helpers follow the
// spec: a NaN argument makes the result NaN, and min prefers -0.0 to 0.0,
// max 0.0 to -0.0.
const prelude = `package main

import (
	_atonce_math "math"
	_atonce_reflect "reflect"
)

type _atonce_ordered interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr |
		~float32 | ~float64 | ~string
}

func _atonce_min[T _atonce_ordered](x T, ys ...T) T {
	for _, y := range ys {
		if x != x {
			return x
		}
		if y != y || y < x || y == x && _atonce_negzero(y) {
			x = y
		}
	}
	return x
}

func _atonce_max[T _atonce_ordered](x T, ys ...T) T {
	for _, y := range ys {
		if x != x {
			return x
		}
		if y != y || y > x || y == x && _atonce_negzero(x) {
			x = y
		}
	}
	return x
}

func _atonce_negzero(v any) bool {
	r := _atonce_reflect.ValueOf(v)
	switch r.Kind() {
	case _atonce_reflect.Float32, _atonce_reflect.Float64:
		return r.Float() == 0 && _atonce_math.Signbit(r.Float())
	}
	return false
}

func _atonce_clear(v any) {
	_atonce_reflect.ValueOf(v).Clear()
}
`

// call walks a call and rewrites calls of the built-ins min, max and clear
// unless the notebook defines those names. p is where the call sits, nil
// when it cannot be replaced (go and defer statements).
func (w *walker) call(p *ast.Expr, e *ast.CallExpr) {
	id, ok := e.Fun.(*ast.Ident)
	if !ok || (id.Name != "min" && id.Name != "max" && id.Name != "clear") || !w.predeclared(id.Name) {
		w.expr(&e.Fun)
		w.exprs(e.Args)
		return
	}
	w.exprs(e.Args)
	if e.Ellipsis.IsValid() {
		w.errorf(e.Ellipsis, fmt.Sprintf("invalid use of ... with built-in %s", id.Name))
		return
	}
	if id.Name == "clear" {
		if len(e.Args) != 1 {
			w.errorf(e.Pos(), fmt.Sprintf("clear takes exactly one argument (a map or a slice), found %d", len(e.Args)))
			return
		}
		id.Name = Prefix + "clear"
		w.needClear = true
		return
	}
	if len(e.Args) == 0 {
		w.errorf(e.Rparen, fmt.Sprintf("not enough arguments for %s() (expected 1, found 0)", id.Name))
		return
	}
	if len(e.Args) == 1 && p != nil {
		*p = &ast.ParenExpr{Lparen: e.Pos(), X: e.Args[0], Rparen: e.End() - 1}
		return
	}
	if p != nil {
		folded, ok, err := foldMinMax(id.Name, e)
		if err != "" {
			w.errorf(e.Pos(), err)
			return
		}
		if ok {
			*p = folded
			return
		}
	}
	// yaegi infers the type parameter from the first argument, so an
	// untyped constant first would fix T wrongly: min(1, f) must be
	// float64. Constants have no side effects: moving them after the
	// other arguments keeps the order of evaluation.
	slices.SortStableFunc(e.Args, func(a, b ast.Expr) int {
		return cmp.Compare(b2i(isConst(a)), b2i(isConst(b)))
	})
	id.Name = Prefix + id.Name
	w.needMinMax = true
	if w.top != nil && w.funcDepth == 0 && len(w.scopes) <= 1 {
		w.topCalls = append(w.topCalls, e)
	}
}

// splitTop works around yaegi v0.16.1 mistyping a generic call in a global
// declaration (measured: `x := _atonce_min(a, b)` at the top level panics
// with "nil reflect type", `var x int = _atonce_min(a, b)` silently gives
// a wrong value, while an assignment works). It turns the top-level
// statement s, `x := min(a, b)` or `var x = min(a, b)`, into
// `x := a; x = min(x, b)`, and `var x T = min(a, b)` into
// `var x T; x = min(a, b)`. Other declarations holding min or max at the
// top level are errors.
func (w *walker) splitTop(n ast.Node) []ast.Stmt {
	s, _ := n.(ast.Stmt)
	calls := w.topCalls
	w.topCalls = nil
	if len(calls) == 0 {
		return []ast.Stmt{s}
	}
	call := calls[0]
	var name *ast.Ident
	var typed bool
	var first ast.Stmt
	switch s := s.(type) {
	case *ast.AssignStmt:
		if len(calls) == 1 && len(s.Lhs) == 1 && len(s.Rhs) == 1 && ast.Unparen(s.Rhs[0]) == call {
			name, _ = s.Lhs[0].(*ast.Ident)
			first = s
		}
	case *ast.DeclStmt:
		gd := s.Decl.(*ast.GenDecl)
		if vs, ok := gd.Specs[0].(*ast.ValueSpec); ok && gd.Tok == token.VAR && len(calls) == 1 && len(gd.Specs) == 1 &&
			len(vs.Names) == 1 && len(vs.Values) == 1 && ast.Unparen(vs.Values[0]) == call {
			name, typed, first = vs.Names[0], vs.Type != nil, s
		}
	}
	if name == nil || name.Name == "_" {
		w.errorf(call.Pos(), topDeclMsg)
		return []ast.Stmt{s}
	}
	pos := call.Pos()
	second := &ast.AssignStmt{Lhs: []ast.Expr{ident(name.Name, pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{call}}
	var seedVal ast.Expr
	if !typed {
		seed := 0
		for i, a := range call.Args {
			if !isConst(a) {
				seed = i
				break
			}
		}
		seedVal = call.Args[seed]
		call.Args[seed] = ident(name.Name, seedVal.Pos())
	}
	switch f := first.(type) {
	case *ast.AssignStmt:
		f.Rhs[0] = seedVal
	case *ast.DeclStmt:
		vs := f.Decl.(*ast.GenDecl).Specs[0].(*ast.ValueSpec)
		if typed {
			vs.Values = nil
		} else {
			vs.Values[0] = seedVal
		}
	}
	return []ast.Stmt{first, second}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Kinds of untyped constants, ordered as the spec orders them for min and
// max: the result has the largest kind of its arguments.
const (
	kindString = iota
	kindInt
	kindRune
	kindFloat
	kindComplex
)

// foldMinMax evaluates min or max of constant arguments as the compiler
// does, keeping the result an untyped constant: min(1, 2.5) is the untyped
// float constant 1.0. ok is false when some argument is not a literal
// constant expression; err is set for arguments Go rejects.
func foldMinMax(name string, e *ast.CallExpr) (ast.Expr, bool, string) {
	type arg struct {
		v    constant.Value
		kind int
		expr ast.Expr
	}
	var args []arg
	maxKind, nstr := 0, 0
	for _, a := range e.Args {
		v, kind, ok := constValue(a)
		if !ok {
			return nil, false, ""
		}
		args = append(args, arg{v, kind, a})
		maxKind = max(maxKind, kind)
		if kind == kindString {
			nstr++
		}
	}
	if maxKind == kindComplex {
		return nil, false, fmt.Sprintf("invalid argument: %s of complex constants is not defined", name)
	}
	if nstr != 0 && nstr != len(args) {
		return nil, false, fmt.Sprintf("invalid argument: mismatched types (untyped string and untyped number) in %s", name)
	}
	op := token.LSS
	if name == "max" {
		op = token.GTR
	}
	best := args[0]
	for _, a := range args[1:] {
		if constant.Compare(a.v, op, best.v) {
			best = a
		}
	}
	pos, end := e.Pos(), e.End()-1
	if best.kind == maxKind {
		return &ast.ParenExpr{Lparen: pos, X: best.expr, Rparen: end}, true, ""
	}
	// An integer or rune wins over a float or rune: spell its value in the
	// larger kind.
	neg := constant.Sign(best.v) < 0
	abs := best.v
	if neg {
		abs = constant.UnaryOp(token.SUB, best.v, 0)
	}
	var lit *ast.BasicLit
	switch maxKind {
	case kindFloat:
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.FLOAT, Value: abs.ExactString() + ".0"}
	case kindRune:
		r, exact := constant.Int64Val(abs)
		if !exact || r > 0x10FFFF || r >= 0xD800 && r < 0xE000 {
			return nil, false, ""
		}
		lit = &ast.BasicLit{ValuePos: pos, Kind: token.CHAR, Value: strconv.QuoteRune(rune(r))}
	default:
		return nil, false, ""
	}
	var x ast.Expr = lit
	if neg {
		x = &ast.UnaryExpr{OpPos: pos, Op: token.SUB, X: lit}
	}
	return &ast.ParenExpr{Lparen: pos, X: x, Rparen: end}, true, ""
}

// constValue evaluates a constant expression made of literals.
func constValue(e ast.Expr) (constant.Value, int, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		v := constant.MakeFromLiteral(e.Value, e.Kind, 0)
		if v.Kind() == constant.Unknown {
			return nil, 0, false
		}
		switch e.Kind {
		case token.INT:
			return v, kindInt, true
		case token.CHAR:
			return v, kindRune, true
		case token.FLOAT:
			return v, kindFloat, true
		case token.IMAG:
			return v, kindComplex, true
		case token.STRING:
			return v, kindString, true
		}
	case *ast.ParenExpr:
		return constValue(e.X)
	case *ast.UnaryExpr:
		v, kind, ok := constValue(e.X)
		if !ok || kind == kindString || e.Op != token.ADD && e.Op != token.SUB && e.Op != token.XOR {
			return nil, 0, false
		}
		if e.Op == token.XOR && (kind != kindInt && kind != kindRune) {
			return nil, 0, false
		}
		return constant.UnaryOp(e.Op, v, 0), kind, true
	case *ast.BinaryExpr:
		x, kx, ok := constValue(e.X)
		if !ok {
			return nil, 0, false
		}
		y, ky, ok := constValue(e.Y)
		if !ok {
			return nil, 0, false
		}
		switch e.Op {
		case token.SHL, token.SHR:
			s, exact := constant.Uint64Val(y)
			if kx != kindInt && kx != kindRune || !exact || s > 1<<12 {
				return nil, 0, false
			}
			return constant.Shift(x, e.Op, uint(s)), kx, true
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.AND_NOT:
		default:
			return nil, 0, false
		}
		kind := max(kx, ky)
		if (kx == kindString) != (ky == kindString) || kind == kindString && e.Op != token.ADD {
			return nil, 0, false
		}
		if (e.Op == token.QUO || e.Op == token.REM) && constant.Sign(y) == 0 {
			return nil, 0, false
		}
		op := e.Op
		if op == token.QUO && kind <= kindRune {
			op = token.QUO_ASSIGN // integer division
		}
		if (op == token.REM || op == token.AND || op == token.OR || op == token.XOR || op == token.AND_NOT) && kind > kindRune {
			return nil, 0, false
		}
		return constant.BinaryOp(x, op, y), kind, true
	}
	return nil, 0, false
}
