package interp

import (
	"context"
	"fmt"
	"go/parser"
	"reflect"
	"strconv"
	"strings"

	"atonce/internal/gosrc"
)

// reflectFn is a compiled trampoline: a notebook function of the
// session's that starts a task as a goroutine of its own.
type reflectFn = reflect.Value

// DebugFunc returns the notebook's function name, as Func does. While the
// debugger is in place, each call of the value it returns runs the
// function as a goroutine of its own for the debugger (yaegi tells
// goroutines apart only when a go statement calls a named function), and
// waits for it: a breakpoint in one task stops that task, not the others.
// The function must be a task (no argument or one integer, at most two
// results); otherwise, and for an integer type the notebook declared, the
// value calls the function directly, and every call is goroutine 1.
func (s *Session) DebugFunc(ctx context.Context, name string) (reflect.Value, error) {
	fn, err := s.Func(ctx, name)
	if err != nil || s.dbg == nil || !s.dbg.Installed() {
		return fn, err
	}
	t := fn.Type()
	param := ""
	if t.NumIn() == 1 {
		p := t.In(0)
		if p.PkgPath() != "" || p.Name() != p.Kind().String() || !p.ConvertibleTo(reflect.TypeOf(0)) {
			return fn, nil
		}
		param = p.Name()
	}
	if t.IsVariadic() || t.NumIn() > 1 || t.NumOut() > 2 {
		return fn, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trampolines++
	id := strconv.Itoa(s.trampolines)
	run, goName := "__atonce_dbgrun_"+id, "__atonce_dbggo_"+id
	params, args := "out func(any, error), fail func(any)", "out, fail"
	arg := ""
	if param != "" {
		params, args, arg = "a0 "+param+", "+params, "a0, "+args, "a0"
	}
	var call string
	switch t.NumOut() {
	case 0:
		call = fmt.Sprintf("%s(%s); out(nil, nil)", name, arg)
	case 1:
		call = fmt.Sprintf("r := %s(%s); out(r, nil)", name, arg)
	default:
		call = fmt.Sprintf("r, err := %s(%s); out(r, err)", name, arg)
	}
	text := strings.Join([]string{
		fmt.Sprintf("func %s(%s) {", run, params),
		"\tdefer func() {",
		"\t\tif r := recover(); r != nil {",
		"\t\t\tfail(r)",
		"\t\t}",
		"\t}()",
		"\t" + call,
		"}",
		fmt.Sprintf("func %s(%s) { go %s(%s) }", goName, params, run, args),
	}, "\n")
	src, _ := gosrc.Wrap(gosrc.Decl, text, "")
	f, err := parser.ParseFile(s.in.FileSet(), sourceName, src, 0)
	if err != nil {
		return fn, nil
	}
	prog, err := s.compile(f)
	if err != nil {
		return fn, nil
	}
	if _, err := s.in.ExecuteWithContext(ctx, prog); err != nil {
		return fn, nil
	}
	tramp, err := s.in.EvalWithContext(ctx, goName)
	if err != nil || tramp.Kind() != reflect.Func {
		return fn, nil
	}
	return reflect.MakeFunc(t, func(in []reflect.Value) []reflect.Value {
		return s.callTask(t, tramp, in)
	}), nil
}

// taskEnd is how a task started through a trampoline ended.
type taskEnd struct {
	v         any
	err       error
	panicked  bool
	panicWith any
}

// callTask calls the trampoline and waits for the task's goroutine to
// end, or for an interrupt (the interpreter then stops the goroutine
// before it reports).
func (s *Session) callTask(t reflect.Type, tramp reflect.Value, in []reflect.Value) []reflect.Value {
	done := make(chan taskEnd, 1)
	out := func(v any, err error) { done <- taskEnd{v: v, err: err} }
	fail := func(p any) { done <- taskEnd{panicked: true, panicWith: p} }
	args := make([]reflect.Value, 0, 3)
	if len(in) == 1 {
		args = append(args, in[0].Convert(tramp.Type().In(0)))
	}
	args = append(args, reflect.ValueOf(out), reflect.ValueOf(fail))
	s.intrMu.Lock()
	intr := s.intr
	s.intrMu.Unlock()
	tramp.Call(args)
	results := make([]reflect.Value, t.NumOut())
	for i := range results {
		results[i] = reflect.Zero(t.Out(i))
	}
	var end taskEnd
	select {
	case end = <-done:
	case <-intr:
		return results
	}
	if end.panicked {
		panic(end.panicWith)
	}
	if t.NumOut() >= 1 && end.v != nil {
		results[0] = asType(reflect.ValueOf(end.v), t.Out(0))
	}
	if t.NumOut() == 2 && end.err != nil {
		results[1] = asType(reflect.ValueOf(end.err), t.Out(1))
	}
	return results
}

// asType makes v a value of type t, or t's zero value.
func asType(v reflect.Value, t reflect.Type) reflect.Value {
	switch {
	case v.Type().AssignableTo(t):
		r := reflect.New(t).Elem()
		r.Set(v)
		return r
	case v.Type().ConvertibleTo(t):
		return v.Convert(t)
	}
	return reflect.Zero(t)
}
