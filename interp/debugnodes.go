package interp

import (
	"go/token"
	"reflect"

	"github.com/traefik/yaegi/interp"
)

// Where a line breakpoint stops. yaegi's SetBreakpoints marks, for a
// line, the first node of the program's tree on that line (its walk is
// parents first): for `x := f(y)` that is the assignment, which runs
// after the call, so the cell would stop only once f had run. A
// breakpoint must stop before the line runs, at the first node it runs:
// the entry of that node's part of the control flow graph (node.start).
//
// yaegi's API has no way to name a node, but a BreakpointTarget is a
// function yaegi calls with a callback taking the roots to search; the
// session calls it with each line's entry node, found by reading the
// program's tree. That reads unexported fields of yaegi v0.16.1's node
// (child, start, pos, action, exec); TestDebugNodeFields fails if they
// change.

// nodeFields are the unexported fields of yaegi's node the session reads.
var nodeFields = []string{"child", "start", "pos", "action", "exec"}

// entryNodes returns the entry nodes of the given lines (as reported,
// cell*lineBase+line) of program p, as values to hand to yaegi.
func entryNodes(fset *token.FileSet, p *interp.Program, lines []int) []reflect.Value {
	root := programRoot(p)
	if !root.IsValid() {
		return nil
	}
	want := map[int]bool{}
	for _, l := range lines {
		want[l] = true
	}
	first := map[int]reflect.Value{} // the node yaegi would pick, per line
	var walk func(n reflect.Value)
	walk = func(n reflect.Value) {
		if n.IsNil() {
			return
		}
		e := n.Elem()
		if pos := token.Pos(e.FieldByName("pos").Int()); pos.IsValid() {
			line := fset.Position(pos).Line
			if _, seen := first[line]; want[line] && !seen && runs(e) {
				first[line] = n
			}
		}
		children := e.FieldByName("child")
		for i := range children.Len() {
			walk(children.Index(i))
		}
	}
	walk(root)
	var roots []reflect.Value
	for line, n := range first {
		entry := n
		if start := n.Elem().FieldByName("start"); !start.IsNil() && start.Pointer() != n.Pointer() && runs(start.Elem()) &&
			fset.Position(token.Pos(start.Elem().FieldByName("pos").Int())).Line == line {
			entry = start
		}
		if w := writable(entry); w.IsValid() {
			roots = append(roots, w)
		}
	}
	return roots
}

// nodesTarget is a BreakpointTarget whose roots are the given nodes.
func nodesTarget(roots []reflect.Value) interp.BreakpointTarget {
	targetType := reflect.TypeFor[interp.BreakpointTarget]()
	target := reflect.MakeFunc(targetType, func(args []reflect.Value) []reflect.Value {
		for _, r := range roots {
			args[1].Call([]reflect.Value{r})
		}
		return nil
	})
	return target.Interface().(interp.BreakpointTarget)
}

// runs tells whether yaegi runs the node e (a node struct): it is not a
// no-op. (Its code may not be generated yet: a program's breakpoints are
// set before it first runs.)
func runs(e reflect.Value) bool {
	return e.FieldByName("action").Uint() != 0
}

// programRoot reads p's root node.
func programRoot(p *interp.Program) reflect.Value {
	if p == nil {
		return reflect.Value{}
	}
	f := reflect.ValueOf(p).Elem().FieldByName("root")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return reflect.Value{}
	}
	return f
}

// writable returns the pointer v (read through unexported fields, so
// reflect will not pass it on) as a value reflect calls with; invalid
// when v has no address (a field or an element has one).
func writable(v reflect.Value) reflect.Value {
	if !v.CanAddr() {
		return reflect.Value{}
	}
	return reflect.NewAt(v.Type(), v.Addr().UnsafePointer()).Elem()
}
