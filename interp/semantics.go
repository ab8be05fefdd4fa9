package interp

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"log/slog"
	"reflect"
	"strconv"
	"strings"

	"atonce/internal/enginemsg"
	"atonce/internal/gosrc"
	"atonce/interp/display"
	"atonce/interp/rewrite"
)

// cellEnv is what the rewriter knows of the notebook while one cell is
// compiled: the names earlier cells defined and the names this cell
// declares, in any of its groups (gosrc.Cell.Names). It collects what the
// rewrites need done before the cell runs.
type cellEnv struct {
	s       *Session
	names   map[string]bool // declared at the top level of this cell
	imports []string        // std packages to import first
	notes   []string
	prelude []string
}

// Defined implements rewrite.Env.
func (e *cellEnv) Defined(name string) bool {
	s := e.s
	if e.names[name] || s.defined[name] || s.imports[name] != "" {
		return true
	}
	_, ok := globals(s.in)[name]
	return ok
}

// RecoverGoroutines implements rewrite.GoroutineRecoverer: the session
// provides rewrite.GoPanicFunc (see goPanic).
func (e *cellEnv) RecoverGoroutines() bool { return true }

// KindOf implements rewrite.Env.
func (e *cellEnv) KindOf(name string) (reflect.Kind, bool) {
	v, ok := globals(e.s.in)[name]
	if !ok || !v.IsValid() {
		return reflect.Invalid, false
	}
	return v.Kind(), true
}

func (e *cellEnv) add(res rewrite.Result) {
	for _, p := range res.Imports {
		if !contains(e.imports, p) {
			e.imports = append(e.imports, p)
		}
	}
	for _, n := range res.Notes {
		if !contains(e.notes, n) {
			e.notes = append(e.notes, n)
		}
	}
	for _, p := range res.Prelude {
		if !contains(e.prelude, p) {
			e.prelude = append(e.prelude, p)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// rewrite adapts freshly parsed nodes to Go 1.26 semantics (see package
// rewrite). setStmts receives the statements when the rewrite replaced
// them.
func (s *Session) rewrite(decls []ast.Decl, stmts []ast.Stmt, setStmts func([]ast.Stmt)) scanner.ErrorList {
	if s.rw == nil {
		return nil
	}
	res, err := rewrite.Cell(s.in.FileSet(), decls, stmts, s.rw)
	if err != nil {
		var errs scanner.ErrorList
		if errors.As(err, &errs) {
			return errs
		}
		return scanner.ErrorList{{Msg: err.Error()}}
	}
	if setStmts != nil {
		setStmts(res.Stmts)
	}
	s.rw.add(res)
	return nil
}

// prepare runs what the cell's rewrites asked for before the cell: the
// helper prelude (once per session) and the imports the cell left out.
func (s *Session) prepare(ctx context.Context, label int64) (Result, bool) {
	fail := func(err error) (Result, bool) {
		return Result{Err: &enginemsg.Error{Name: "CompileError", Value: "preparing the cell: " + err.Error(), Traceback: []string{err.Error()}}}, true
	}
	for _, src := range s.rw.prelude {
		if s.defined[rewrite.PreludeSentinel] {
			break
		}
		if err := s.runFile(ctx, label, src); err != nil {
			return fail(err)
		}
		s.defined[rewrite.PreludeSentinel] = true
	}
	var missing []string
	for _, path := range s.rw.imports {
		if s.imports[gosrc.ImportName(path)] != path {
			missing = append(missing, strconv.Quote(path))
		}
	}
	if len(missing) == 0 {
		return Result{}, false
	}
	if err := s.runFile(ctx, label, "package main; import ("+strings.Join(missing, "; ")+")"); err != nil {
		return fail(err)
	}
	for _, q := range missing {
		path, _ := strconv.Unquote(q)
		s.imports[gosrc.ImportName(path)] = path
	}
	return Result{}, false
}

// runFile parses, compiles and runs a whole source file of the session's
// own (a prelude, imports) in the cells' file scope.
func (s *Session) runFile(ctx context.Context, label int64, src string) error {
	f, err := parser.ParseFile(s.in.FileSet(), sourceName, src, 0)
	if err != nil {
		return err
	}
	prog, err := s.compile(f)
	if err != nil {
		return err
	}
	return s.run(ctx, label, prog)
}

// noteDefined records the package-level names a group that ran declared.
func (s *Session) noteDefined(g *gosrc.Group) {
	for _, d := range g.Decls {
		if d.Kind == gosrc.Method {
			continue
		}
		for _, n := range d.Names {
			s.defined[n] = true
		}
	}
}

// goPanic reports a panic that a goroutine started by a cell recovered
// (see rewrite.GoPanicFunc): the engine survives, the user reads why on
// stderr, attributed to the cell running now.
func (s *Session) goPanic(r any, line, col int) {
	_, l := cellLine(line)
	msg := fmt.Sprintf("panic in a goroutine (started by the go statement at %d:%d of its cell): %v\n", l, col, r)
	if err, ok := r.(error); ok {
		msg = fmt.Sprintf("panic in a goroutine (started by the go statement at %d:%d of its cell): %v\n", l, col, err.Error())
	}
	if _, err := s.stderr.w.WriteString(msg); err != nil {
		slog.Warn("reporting a goroutine's panic", "err", err)
	}
}

// displayable captures the bundle a cell's final value rendered with its
// Display method: the cell shows it.
func (s *Session) displayable(b display.Bundle) {
	if len(b) == 0 {
		b = enginemsg.Bundle{"text/plain": "(empty display)"}
	}
	s.setCaptured([]any{shown(b)}, true)
}

// shown marks a bundle a cell's value already rendered.
type shown enginemsg.Bundle
