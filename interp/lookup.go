package interp

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"

	"atonce/internal/gosrc"

	"github.com/traefik/yaegi/interp"
)

// Func returns the notebook's function name as a value the host can call
// (from any goroutine). Fetch it again after an interrupt: yaegi's
// wrappers of an interrupted run silently return zero values.
func (s *Session) Func(ctx context.Context, name string) (reflect.Value, error) {
	if !token.IsIdentifier(name) {
		return reflect.Value{}, fmt.Errorf("%q is not a function name", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.in.EvalWithContext(ctx, name)
	if err != nil {
		return reflect.Value{}, fmt.Errorf("no function %s is defined in the notebook: %w", name, err)
	}
	if !v.IsValid() || v.Kind() != reflect.Func {
		kind := "nothing"
		if v.IsValid() {
			kind = "a " + v.Type().String()
		}
		return reflect.Value{}, fmt.Errorf("%s is %s, not a function", name, kind)
	}
	return v, nil
}

// Vars returns the notebook's package-level variables by name, as
// settable values (yaegi's own frame slots), leaving out the session's
// helpers. Setting one changes the notebook's variable.
func (s *Session) Vars() map[string]reflect.Value {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]reflect.Value{}
	for name, v := range globals(s.in) {
		if strings.HasPrefix(name, "__atonce") || strings.HasPrefix(name, "_atonce") || !v.IsValid() || !v.CanSet() {
			continue
		}
		out[name] = v
	}
	return out
}

// globals returns yaegi's package-level variables. Interpreter.Globals
// indexes the frame by symbols a failed or not yet run compilation may
// have added, and panics then; it reports nothing rather than crash.
func globals(in *interp.Interpreter) (g map[string]reflect.Value) {
	defer func() {
		if recover() != nil {
			g = map[string]reflect.Value{}
		}
	}()
	return in.Globals()
}

// Stop makes interpreted code that the host called (a function value
// from Func, run by a model or %timeit) return at its next step, as an
// interrupt does to a cell; sleeps wake too, and return at once until
// Resume. Values fetched with Func before Stop return zeros afterwards:
// fetch them again.
func (s *Session) Stop() {
	s.interrupt()
	src, _ := gosrc.Wrap(gosrc.Stmt, "", "")
	f, err := parser.ParseFile(s.in.FileSet(), "", src, 0)
	if err != nil {
		return
	}
	prog, err := s.compile(f.Decls[0].(*ast.FuncDecl).Body)
	if err != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context makes yaegi stop every run in progress.
	_, _ = s.in.ExecuteWithContext(ctx, prog)
	// Goroutines stopped in the debugger return at their next step.
	s.debugInterrupted()
}
