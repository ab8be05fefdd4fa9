// Package rewrite adapts a parsed notebook cell so that yaegi v0.16.1, which
// lags the Go language, runs it with the semantics of Go 1.26: per-iteration
// loop variables, range over integers, the min, max and clear built-ins, and
// standard-library packages used without an import. What it cannot adapt, such
// as range over a function, it reports as an error instead of letting the
// interpreter give a wrong answer.
//
// Rewrites happen in place on the go/ast nodes the session parsed. User nodes
// keep their positions, so error messages still point at the user's line and
// column; synthesized nodes carry the position of the node they stand for.
package rewrite

import (
	"go/ast"
	"go/scanner"
	"go/token"
	"reflect"
)

// topDeclMsg explains why min or max inside a global declaration is refused.
const topDeclMsg = "min or max inside this declaration at the top level of a cell is not supported by the interpreter " +
	"(yaegi mistypes generic calls in global declarations); declare the variable on its own line first, " +
	"e.g. x := min(a, b) or var x int; x = min(a, b) + 1"

// Env answers questions about the notebook state before this cell.
// Implementations must be safe for use by one Cell call at a time.
type Env interface {
	// Defined reports whether a package-level name (var, func, type,
	// const or import name) already exists, including the helpers a
	// Prelude declared (see Result.Prelude).
	Defined(name string) bool
	// KindOf tells the kind of an existing package-level variable or
	// constant, if known. reflect.Func marks a function value.
	KindOf(name string) (reflect.Kind, bool)
}

// GoroutineRecoverer is an Env that provides GoPanicFunc: Cell then makes
// every goroutine the cell starts recover its own panic and report it
// there, instead of killing the process.
type GoroutineRecoverer interface {
	RecoverGoroutines() bool
}

// Result tells the session what else a rewritten cell needs.
type Result struct {
	// Stmts are the cell's top-level statements after the rewrite. The
	// session runs these instead of the slice it passed to Cell, which may
	// have grown: a top-level `x := min(a, b)` becomes two statements.
	Stmts []ast.Stmt
	// Imports are standard-library import paths the cell uses without
	// importing them, in order of first use. The session imports each
	// under its package name before it runs the cell.
	Imports []string
	// Notes are one line each for the user, about ambiguous auto-imports.
	Notes []string
	// Prelude holds whole Go source files ("package main" and imports
	// under private aliases, then declarations) that the session must
	// evaluate once, in order, before this cell. They declare the helper
	// PreludeSentinel; Cell returns no Prelude once Env.Defined reports
	// that name.
	Prelude []string
}

// Prefix starts every name the rewrites make up: the Prelude's helpers
// and the copies of loop variables. No user's code uses such names, so a
// reader of rewritten trees can tell them from the user's.
const Prefix = "_atonce_"

// PreludeSentinel is a name the Prelude declares. When Env.Defined reports
// it, Cell assumes the helpers are in place.
const PreludeSentinel = Prefix + "min"

// Cell rewrites the cell's top-level nodes in place. decls are the cell's
// declarations (*ast.GenDecl including imports, *ast.FuncDecl); stmts are its
// top-level statements, which yaegi runs in the global scope. Both must come
// from fset. env may be nil for an empty notebook.
//
// A construct yaegi cannot run correctly and that Cell cannot rewrite makes
// Cell return a scanner.ErrorList whose entries carry the user's position and
// say plainly what is not supported. The nodes may then be partly rewritten
// and must not be run.
func Cell(fset *token.FileSet, decls []ast.Decl, stmts []ast.Stmt, env Env) (Result, error) {
	if env == nil {
		env = emptyEnv{}
	}
	w := newWalker(fset, env)
	w.collect(decls, stmts)
	for _, d := range decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.VAR {
			w.top, w.topCalls = d, nil
			w.decl(d)
			w.top = nil
			w.splitTop(d)
			continue
		}
		w.decl(d)
	}
	var res Result
	w.push()
	for i := range stmts {
		w.top, w.topCalls = nil, nil
		switch s := stmts[i].(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				w.top = s
			}
		case *ast.DeclStmt:
			w.top = s
		}
		w.stmt(&stmts[i])
		w.top = nil
		res.Stmts = append(res.Stmts, w.splitTop(stmts[i])...)
	}
	w.pop()
	if len(w.errs) > 0 {
		w.errs.Sort()
		return Result{}, w.errs
	}
	if r, ok := env.(GoroutineRecoverer); ok && r.RecoverGoroutines() {
		if err := recoverGoroutines(fset, decls, res.Stmts); err != nil {
			return Result{}, err
		}
	}
	res.Imports, res.Notes = w.autoImports()
	if (w.needMinMax || w.needClear) && !env.Defined(PreludeSentinel) {
		res.Prelude = []string{prelude}
	}
	return res, nil
}

// emptyEnv is the state of a fresh notebook.
type emptyEnv struct{}

func (emptyEnv) Defined(string) bool                { return false }
func (emptyEnv) KindOf(string) (reflect.Kind, bool) { return reflect.Invalid, false }

// errorf records an error at pos.
func (w *walker) errorf(pos token.Pos, msg string) {
	w.errs = append(w.errs, &scanner.Error{Pos: w.fset.Position(pos), Msg: msg})
}
