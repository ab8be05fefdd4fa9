package interp

import (
	"cmp"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/traefik/yaegi/interp"
)

// The debugger's view of values: scopes, their variables and the parts of
// structured values, each a handle (Variables), and a small evaluator of
// expressions over them. While a goroutine is stopped its frames' values
// are read in place; nothing runs interpreted code, which a stopped
// goroutine may hold the interpreter for.

// Variable is a value as the debugger shows it.
type Variable struct {
	Name  string
	Value string // one line
	Type  string
	// Ref, when not 0, is the handle whose Variables are its parts (the
	// fields of a struct, the elements of a slice, ...).
	Ref int
	// Indexed is how many elements a slice, array or map has, for paging.
	Indexed int
	// EvaluateName is an expression Evaluate takes for the value.
	EvaluateName string
}

// debugRef is a handle: a frame, a scope, or a value with parts.
type debugRef struct {
	thread int // the stopped goroutine it belongs to; 0 when none
	frame  *interp.DebugFrame
	parts  func() []namedValue // a scope's variables, a value's parts
	paged  bool                // parts are elements: Variables pages them
}

// namedValue is a variable or a part, and an expression for it.
type namedValue struct {
	name, eval string
	v          reflect.Value
}

// maxParts bounds the parts listed of a big value when no page is asked.
const maxParts = 1000

// newRefLocked hands out a handle for r, owned by the stopped goroutine
// thread (forgotten when it goes on) or by none (0).
func (d *Debugger) newRefLocked(thread int, r *debugRef) int {
	d.nextRef++
	r.thread = thread
	d.refs[d.nextRef] = r
	if st, ok := d.stopped[thread]; ok {
		st.refs = append(st.refs, d.nextRef)
	}
	return d.nextRef
}

// Scopes returns a frame's scopes: its locals (the function's variables
// and those its closure captured) and the notebook's globals.
func (d *Debugger) Scopes(frame int) ([]Scope, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.refs[frame]
	if !ok || r.frame == nil {
		return nil, fmt.Errorf("no frame %d: the goroutine went on", frame)
	}
	f := r.frame
	locals := d.newRefLocked(r.thread, &debugRef{parts: func() []namedValue { return frameLocals(f) }})
	globals := d.newRefLocked(r.thread, &debugRef{parts: func() []namedValue { return globalValues(d.s.interpreter()) }})
	return []Scope{{Name: "Locals", Ref: locals}, {Name: "Globals", Ref: globals}}, nil
}

// frameLocals lists a frame's variables, inner scopes first, a name once.
func frameLocals(f *interp.DebugFrame) []namedValue {
	var out []namedValue
	seen := map[string]bool{}
	for _, sc := range f.Scopes() {
		vars := sc.Variables()
		slices.SortStableFunc(vars, func(a, b *interp.DebugVariable) int { return cmp.Compare(a.Name, b.Name) })
		for _, v := range vars {
			if seen[v.Name] || hidden(v.Name) || !v.Value.IsValid() {
				continue
			}
			seen[v.Name] = true
			out = append(out, namedValue{name: v.Name, eval: v.Name, v: v.Value})
		}
	}
	return out
}

// globalValues lists the notebook's package-level variables and
// constants, by name.
func globalValues(in *interp.Interpreter) []namedValue {
	var out []namedValue
	for name, v := range globals(in) {
		if hidden(name) || !v.IsValid() || v.Kind() == reflect.Func {
			continue
		}
		out = append(out, namedValue{name: name, eval: name, v: v})
	}
	slices.SortFunc(out, func(a, b namedValue) int { return cmp.Compare(a.name, b.name) })
	return out
}

// hidden tells the names the session and its rewrites make up.
func hidden(name string) bool {
	return name == "_" || strings.HasPrefix(name, "_atonce") || strings.HasPrefix(name, "__atonce")
}

// Variables lists the parts behind a handle: a scope's variables, a
// value's fields or elements. count 0 lists up to maxParts from start.
func (d *Debugger) Variables(ref, start, count int) ([]Variable, error) {
	d.mu.Lock()
	r, ok := d.refs[ref]
	d.mu.Unlock()
	if !ok || r.parts == nil {
		return nil, fmt.Errorf("no variables %d: the goroutine went on", ref)
	}
	parts := r.parts()
	if start < 0 || start > len(parts) {
		start = len(parts)
	}
	end := len(parts)
	if count <= 0 {
		count = maxParts
	}
	end = min(end, start+count)
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Variable, 0, end-start)
	for _, p := range parts[start:end] {
		out = append(out, d.variableLocked(r.thread, p))
	}
	return out, nil
}

// variableLocked shows one value, with a handle for its parts.
func (d *Debugger) variableLocked(thread int, p namedValue) Variable {
	v := unwrap(p.v)
	out := Variable{Name: p.name, Value: preview(v, 2), Type: typeName(p.v), EvaluateName: p.eval}
	if n, paged := countParts(v); n > 0 {
		out.Ref = d.newRefLocked(thread, &debugRef{parts: func() []namedValue { return partsOf(v, p.eval) }, paged: paged})
		if paged {
			out.Indexed = n
		}
	}
	return out
}

// Globals lists the notebook's variables (inspectVariables, also when
// nothing is stopped). The handles of the previous call are forgotten.
func (d *Debugger) Globals() []Variable {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, r := range d.refs {
		if r.thread == 0 {
			delete(d.refs, id)
		}
	}
	var out []Variable
	for _, p := range globalValues(d.interpreterLocked()) {
		out = append(out, d.variableLocked(0, p))
	}
	return out
}

// interpreter returns the session's interpreter, for reading values
// while a cell may run (holding s.mu): the debugger's, when it is in
// place; it changes only when a rebuild replaces it, with s.mu held.
func (s *Session) interpreter() *interp.Interpreter {
	if s.dbg != nil {
		s.dbg.mu.Lock()
		defer s.dbg.mu.Unlock()
		return s.dbg.interpreterLocked()
	}
	return s.interpreterIdle()
}

// interpreterLocked is interpreter with d.mu held.
func (d *Debugger) interpreterLocked() *interp.Interpreter {
	if d.inst != nil {
		return d.inst.in
	}
	return d.s.interpreterIdle()
}

func (s *Session) interpreterIdle() *interp.Interpreter {
	if s.mu.TryLock() {
		defer s.mu.Unlock()
	}
	return s.in
}

// lookupLocked finds a name as the code at frame sees it: its locals,
// then the notebook's globals. frame 0 looks at the globals only.
func (d *Debugger) lookupLocked(frame int) (func(string) (namedValue, bool), int, error) {
	var locals []namedValue
	thread := 0
	if frame != 0 {
		r, ok := d.refs[frame]
		if !ok || r.frame == nil {
			return nil, 0, fmt.Errorf("no frame %d: the goroutine went on", frame)
		}
		locals, thread = frameLocals(r.frame), r.thread
	}
	var globalVals []namedValue
	return func(name string) (namedValue, bool) {
		for _, v := range locals {
			if v.name == name {
				return v, true
			}
		}
		if globalVals == nil {
			globalVals = globalValues(d.interpreterLocked())
		}
		for _, v := range globalVals {
			if v.name == name {
				return v, true
			}
		}
		return namedValue{}, false
	}, thread, nil
}

// Evaluate evaluates expr where frame is stopped (frame 0: over the
// notebook's globals). It reads values and never runs code: names,
// literals, fields, indexes, len and cap, pointers, and arithmetic,
// comparison and logic on numbers, strings and booleans.
func (d *Debugger) Evaluate(frame int, expr string) (Variable, error) {
	x, err := parser.ParseExpr(expr)
	if err != nil {
		return Variable{}, fmt.Errorf("%s is not a Go expression: %w", expr, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	lookup, thread, err := d.lookupLocked(frame)
	if err != nil {
		return Variable{}, err
	}
	r, err := (evaluator{lookup: lookup}).eval(x)
	if err != nil {
		return Variable{}, err
	}
	return d.variableLocked(thread, namedValue{name: expr, eval: expr, v: r.value()}), nil
}

// Inspect shows a variable as text, fuller than its one-line Value
// (richInspectVariables).
func (d *Debugger) Inspect(frame int, name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lookup, _, err := d.lookupLocked(frame)
	if err != nil {
		return "", err
	}
	v, ok := lookup(name)
	if !ok {
		return "", fmt.Errorf("no variable %s here", name)
	}
	return truncate(preview(unwrap(v.v), 6), maxValueText), nil
}

// unwrap looks through interfaces, yaegi's included, to the dynamic value.
func unwrap(v reflect.Value) reflect.Value {
	for range 16 {
		switch {
		case !v.IsValid():
			return v
		case v.Kind() == reflect.Interface:
			if v.IsNil() {
				return v
			}
			v = v.Elem()
		case isYaegiInterface(v.Type()):
			inner, ok := yaegiInterfaceValue(v)
			if !ok {
				return v
			}
			v = inner
		default:
			return v
		}
	}
	return v
}

// yaegiPkg is the package path of yaegi's interpreter.
const yaegiPkg = "github.com/traefik/yaegi/interp"

var reflectValueType = reflect.TypeOf(reflect.Value{})

// isYaegiInterface tells yaegi's own interface values (valueInterface,
// a node and a reflect.Value), which it stores for interpreted interfaces.
func isYaegiInterface(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.Name() == "valueInterface" && t.PkgPath() == yaegiPkg
}

// yaegiInterfaceValue reads the value inside yaegi's interface value: an
// unexported reflect.Value field, read in place.
func yaegiInterfaceValue(v reflect.Value) (reflect.Value, bool) {
	f, ok := v.Type().FieldByName("value")
	if !ok || f.Type != reflectValueType {
		return reflect.Value{}, false
	}
	if !v.CanAddr() {
		if !v.CanInterface() {
			return reflect.Value{}, false
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	return *(*reflect.Value)(unsafe.Add(v.Addr().UnsafePointer(), f.Offset)), true
}

// isOpaquePointer tells yaegi's stand-in for a pointer to a type that
// refers to itself: what it points to cannot be read as such.
func isOpaquePointer(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Elem().Name() == "dummy" && strings.HasSuffix(t.Elem().PkgPath(), "unsafe2")
}

// fieldName is a struct field's name as the cell wrote it: yaegi
// exports an unexported field by putting an X before it.
func fieldName(f reflect.StructField) string {
	if rest, ok := strings.CutPrefix(f.Name, "X"); ok && rest != "" {
		r, _ := utf8.DecodeRuneInString(rest)
		if unicode.IsLower(r) || r == '_' {
			return rest
		}
	}
	return f.Name
}

// typeName is a value's type as a reader wants it: yaegi's types have no
// names, so a struct is struct{…}.
func typeName(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	if isYaegiInterface(v.Type()) {
		if inner := unwrap(v); inner.IsValid() {
			return typeName(inner)
		}
		return "interface"
	}
	return typeString(v.Type(), 0)
}

func typeString(t reflect.Type, depth int) string {
	if depth > 4 {
		return "…"
	}
	if isOpaquePointer(t) {
		return "*struct{…}"
	}
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.String()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeString(t.Elem(), depth+1)
	case reflect.Slice:
		return "[]" + typeString(t.Elem(), depth+1)
	case reflect.Array:
		return "[" + strconv.Itoa(t.Len()) + "]" + typeString(t.Elem(), depth+1)
	case reflect.Map:
		return "map[" + typeString(t.Key(), depth+1) + "]" + typeString(t.Elem(), depth+1)
	case reflect.Chan:
		return "chan " + typeString(t.Elem(), depth+1)
	case reflect.Struct:
		if t.NumField() == 0 {
			return "struct{}"
		}
		return "struct{…}"
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any"
		}
	}
	return t.String()
}

// preview writes a value on one line, nested values depth levels deep.
func preview(v reflect.Value, depth int) string {
	var b strings.Builder
	writePreview(&b, unwrap(v), depth)
	return truncate(b.String(), 200)
}

func writePreview(b *strings.Builder, v reflect.Value, depth int) {
	if b.Len() > 400 {
		b.WriteString("…")
		return
	}
	if !v.IsValid() {
		b.WriteString("nil")
		return
	}
	if isYaegiInterface(v.Type()) || v.Kind() == reflect.Interface {
		writePreview(b, unwrap(v), depth)
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits()))
	case reflect.Complex64, reflect.Complex128:
		b.WriteString(strconv.FormatComplex(v.Complex(), 'g', -1, v.Type().Bits()))
	case reflect.String:
		b.WriteString(strconv.Quote(truncate(v.String(), 100)))
	case reflect.Pointer:
		switch {
		case v.IsNil():
			b.WriteString("nil")
		case isOpaquePointer(v.Type()):
			fmt.Fprintf(b, "%#x", v.Pointer())
		default:
			b.WriteString("&")
			writePreview(b, v.Elem(), depth)
		}
	case reflect.Struct:
		if depth <= 0 {
			b.WriteString("{…}")
			return
		}
		b.WriteString("{")
		t := v.Type()
		for i := range t.NumField() {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(fieldName(t.Field(i)) + ": ")
			writePreview(b, v.Field(i), depth-1)
		}
		b.WriteString("}")
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("nil")
			return
		}
		writeItems(b, "[", "]", v.Len(), depth, func(i int) { writePreview(b, v.Index(i), depth-1) })
	case reflect.Map:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		keys := sortedKeys(v)
		writeItems(b, "map[", "]", v.Len(), depth, func(i int) {
			writePreview(b, keys[i], depth-1)
			b.WriteString(": ")
			writePreview(b, v.MapIndex(keys[i]), depth-1)
		})
	case reflect.Chan:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		fmt.Fprintf(b, "chan (len %d, cap %d)", v.Len(), v.Cap())
	case reflect.Func:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("func")
	default:
		b.WriteString(v.Type().String())
	}
}

// writeItems writes the first items of a slice, array or map (item
// writes item i) between open and close, or only how many there are
// when depth is spent.
func writeItems(b *strings.Builder, open, close string, n, depth int, item func(i int)) {
	if depth <= 0 {
		fmt.Fprintf(b, "%s…%s (len %d)", open, close, n)
		return
	}
	b.WriteString(open)
	for i := range min(n, 10) {
		if i > 0 {
			b.WriteString(", ")
		}
		item(i)
	}
	if n > 10 {
		fmt.Fprintf(b, ", … (len %d)", n)
	}
	b.WriteString(close)
}

// sortedKeys returns a map's keys in the order of their previews.
func sortedKeys(v reflect.Value) []reflect.Value {
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int {
		if a.CanInt() && b.CanInt() {
			return cmp.Compare(a.Int(), b.Int())
		}
		return cmp.Compare(preview(a, 1), preview(b, 1))
	})
	return keys
}

// countParts tells how many parts a value has, and whether they are
// elements (to page) rather than fields.
func countParts(v reflect.Value) (int, bool) {
	if !v.IsValid() {
		return 0, false
	}
	switch v.Kind() {
	case reflect.Struct:
		return v.NumField(), false
	case reflect.Pointer:
		if v.IsNil() || isOpaquePointer(v.Type()) {
			return 0, false
		}
		if n, paged := countParts(unwrap(v.Elem())); n > 0 {
			return n, paged
		}
		return 1, false
	case reflect.Slice, reflect.Array, reflect.Map:
		return v.Len(), true
	}
	return 0, false
}

// partsOf lists a value's parts; eval is an expression for the value.
func partsOf(v reflect.Value, eval string) []namedValue {
	v = unwrap(v)
	if !v.IsValid() {
		return nil
	}
	var out []namedValue
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name := fieldName(t.Field(i))
			out = append(out, namedValue{name: name, eval: eval + "." + name, v: v.Field(i)})
		}
	case reflect.Pointer:
		if v.IsNil() || isOpaquePointer(v.Type()) {
			return nil
		}
		if n, _ := countParts(unwrap(v.Elem())); n > 0 {
			return partsOf(v.Elem(), eval)
		}
		out = append(out, namedValue{name: "*", eval: "*" + eval, v: v.Elem()})
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			out = append(out, namedValue{name: strconv.Itoa(i), eval: eval + "[" + strconv.Itoa(i) + "]", v: v.Index(i)})
		}
	case reflect.Map:
		for _, k := range sortedKeys(v) {
			key := preview(k, 1)
			out = append(out, namedValue{name: key, eval: eval + "[" + key + "]", v: v.MapIndex(k)})
		}
	}
	return out
}

// evaluator evaluates an expression over values it reads, running no code.
type evaluator struct {
	lookup func(string) (namedValue, bool)
}

// operand is a value or an untyped constant (a literal).
type operand struct {
	v reflect.Value
	c constant.Value
}

func (o operand) value() reflect.Value {
	if o.c == nil {
		return o.v
	}
	switch o.c.Kind() {
	case constant.Bool:
		return reflect.ValueOf(constant.BoolVal(o.c))
	case constant.String:
		return reflect.ValueOf(constant.StringVal(o.c))
	case constant.Int:
		if i, ok := constant.Int64Val(o.c); ok {
			return reflect.ValueOf(int(i))
		}
	case constant.Float:
		f, _ := constant.Float64Val(o.c)
		return reflect.ValueOf(f)
	}
	return reflect.ValueOf(o.c.ExactString())
}

// errRunsCode is the error for what the evaluator will not do.
var errRunsCode = errors.New("the debugger reads values and runs no code here: names, fields, indexes, len, cap, * and arithmetic are evaluated, other calls are not")

func (e evaluator) eval(x ast.Expr) (operand, error) {
	switch x := x.(type) {
	case *ast.ParenExpr:
		return e.eval(x.X)
	case *ast.BasicLit:
		c := constant.MakeFromLiteral(x.Value, x.Kind, 0)
		if c.Kind() == constant.Unknown {
			return operand{}, fmt.Errorf("bad literal %s", x.Value)
		}
		return operand{c: c}, nil
	case *ast.Ident:
		switch x.Name {
		case "true", "false":
			return operand{c: constant.MakeBool(x.Name == "true")}, nil
		case "nil":
			return operand{}, nil
		}
		v, ok := e.lookup(x.Name)
		if !ok {
			return operand{}, fmt.Errorf("undefined: %s", x.Name)
		}
		return operand{v: v.v}, nil
	case *ast.SelectorExpr:
		o, err := e.eval(x.X)
		if err != nil {
			return operand{}, err
		}
		v := unwrap(o.value())
		for v.IsValid() && v.Kind() == reflect.Pointer && !v.IsNil() && !isOpaquePointer(v.Type()) {
			v = unwrap(v.Elem())
		}
		if !v.IsValid() || v.Kind() != reflect.Struct {
			return operand{}, fmt.Errorf("%s has no field %s", exprString(x.X), x.Sel.Name)
		}
		for i := range v.NumField() {
			if fieldName(v.Type().Field(i)) == x.Sel.Name {
				return operand{v: v.Field(i)}, nil
			}
		}
		return operand{}, fmt.Errorf("%s has no field %s (methods are not called here)", exprString(x.X), x.Sel.Name)
	case *ast.IndexExpr:
		o, err := e.eval(x.X)
		if err != nil {
			return operand{}, err
		}
		idx, err := e.eval(x.Index)
		if err != nil {
			return operand{}, err
		}
		return index(unwrap(o.value()), idx)
	case *ast.StarExpr:
		o, err := e.eval(x.X)
		if err != nil {
			return operand{}, err
		}
		v := unwrap(o.value())
		if !v.IsValid() || v.Kind() != reflect.Pointer || isOpaquePointer(v.Type()) {
			return operand{}, fmt.Errorf("%s is not a pointer that can be read", exprString(x.X))
		}
		if v.IsNil() {
			return operand{}, fmt.Errorf("%s is nil", exprString(x.X))
		}
		return operand{v: v.Elem()}, nil
	case *ast.UnaryExpr:
		o, err := e.eval(x.X)
		if err != nil {
			return operand{}, err
		}
		return unary(x.Op, o)
	case *ast.BinaryExpr:
		a, err := e.eval(x.X)
		if err != nil {
			return operand{}, err
		}
		if x.Op == token.LAND || x.Op == token.LOR {
			av, ok := boolOf(a)
			if !ok {
				return operand{}, fmt.Errorf("%s is not a bool", exprString(x.X))
			}
			if av == (x.Op == token.LOR) {
				return operand{c: constant.MakeBool(av)}, nil
			}
		}
		b, err := e.eval(x.Y)
		if err != nil {
			return operand{}, err
		}
		return binary(x.Op, a, b)
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok && (id.Name == "len" || id.Name == "cap") && len(x.Args) == 1 {
			o, err := e.eval(x.Args[0])
			if err != nil {
				return operand{}, err
			}
			if o.c != nil && o.c.Kind() == constant.String && id.Name == "len" {
				return operand{c: constant.MakeInt64(int64(len(constant.StringVal(o.c))))}, nil
			}
			v := unwrap(o.value())
			switch {
			case !v.IsValid():
				return operand{c: constant.MakeInt64(0)}, nil
			case id.Name == "len" && slices.Contains([]reflect.Kind{reflect.String, reflect.Slice, reflect.Array, reflect.Map, reflect.Chan}, v.Kind()):
				return operand{v: reflect.ValueOf(v.Len())}, nil
			case id.Name == "cap" && slices.Contains([]reflect.Kind{reflect.Slice, reflect.Array, reflect.Chan}, v.Kind()):
				return operand{v: reflect.ValueOf(v.Cap())}, nil
			}
			return operand{}, fmt.Errorf("invalid argument for %s: %s", id.Name, typeName(v))
		}
		return operand{}, errRunsCode
	}
	return operand{}, errRunsCode
}

func exprString(x ast.Expr) string {
	var b strings.Builder
	writeExpr(&b, x)
	return b.String()
}

func writeExpr(b *strings.Builder, x ast.Expr) {
	switch x := x.(type) {
	case *ast.Ident:
		b.WriteString(x.Name)
	case *ast.SelectorExpr:
		writeExpr(b, x.X)
		b.WriteString("." + x.Sel.Name)
	case *ast.IndexExpr:
		writeExpr(b, x.X)
		b.WriteString("[")
		writeExpr(b, x.Index)
		b.WriteString("]")
	case *ast.BasicLit:
		b.WriteString(x.Value)
	case *ast.StarExpr:
		b.WriteString("*")
		writeExpr(b, x.X)
	default:
		b.WriteString("the expression")
	}
}

func boolOf(o operand) (bool, bool) {
	if o.c != nil {
		if o.c.Kind() == constant.Bool {
			return constant.BoolVal(o.c), true
		}
		return false, false
	}
	v := unwrap(o.v)
	if v.IsValid() && v.Kind() == reflect.Bool {
		return v.Bool(), true
	}
	return false, false
}

// index is v[i] for strings, slices, arrays and maps.
func index(v reflect.Value, i operand) (operand, error) {
	if !v.IsValid() {
		return operand{}, errors.New("index of nil")
	}
	switch v.Kind() {
	case reflect.Map:
		k, err := convertTo(i, v.Type().Key())
		if err != nil {
			return operand{}, err
		}
		e := v.MapIndex(k)
		if !e.IsValid() {
			return operand{v: reflect.Zero(v.Type().Elem())}, nil
		}
		return operand{v: e}, nil
	case reflect.String, reflect.Slice, reflect.Array:
		n, ok := intOf(i)
		if !ok {
			return operand{}, errors.New("the index is not an integer")
		}
		if n < 0 || n >= int64(v.Len()) {
			return operand{}, fmt.Errorf("index %d out of range [0:%d]", n, v.Len())
		}
		return operand{v: v.Index(int(n))}, nil
	}
	return operand{}, fmt.Errorf("cannot index a %s", typeName(v))
}

func intOf(o operand) (int64, bool) {
	if o.c != nil {
		return constant.Int64Val(constant.ToInt(o.c))
	}
	v := unwrap(o.v)
	switch {
	case !v.IsValid():
		return 0, false
	case v.CanInt():
		return v.Int(), true
	case v.CanUint():
		return int64(v.Uint()), true
	}
	return 0, false
}

// convertTo makes o a value of type t, as Go converts an untyped
// constant, or checks that a value has that type.
func convertTo(o operand, t reflect.Type) (reflect.Value, error) {
	if o.c == nil {
		v := unwrap(o.v)
		if !v.IsValid() {
			return reflect.Zero(t), nil
		}
		if v.Type().ConvertibleTo(t) && v.Kind() == t.Kind() {
			return v.Convert(t), nil
		}
		return reflect.Value{}, fmt.Errorf("mismatched types %s and %s", typeName(v), typeString(t, 0))
	}
	c := o.c
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i, ok := constant.Int64Val(constant.ToInt(c)); ok {
			return reflect.ValueOf(i).Convert(t), nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if i, ok := constant.Uint64Val(constant.ToInt(c)); ok {
			return reflect.ValueOf(i).Convert(t), nil
		}
	case reflect.Float32, reflect.Float64:
		if f, ok := constant.Float64Val(constant.ToFloat(c)); ok {
			return reflect.ValueOf(f).Convert(t), nil
		}
	case reflect.String:
		if c.Kind() == constant.String {
			return reflect.ValueOf(constant.StringVal(c)).Convert(t), nil
		}
	case reflect.Bool:
		if c.Kind() == constant.Bool {
			return reflect.ValueOf(constant.BoolVal(c)).Convert(t), nil
		}
	case reflect.Interface:
		return operand{c: c}.value(), nil
	}
	return reflect.Value{}, fmt.Errorf("cannot use %s as %s", c.ExactString(), typeString(t, 0))
}

func unary(op token.Token, o operand) (operand, error) {
	if o.c != nil {
		if op == token.NOT && o.c.Kind() != constant.Bool {
			return operand{}, errors.New("! needs a bool")
		}
		return operand{c: constant.UnaryOp(op, o.c, 0)}, nil
	}
	v := unwrap(o.v)
	switch {
	case !v.IsValid():
	case op == token.NOT && v.Kind() == reflect.Bool:
		return operand{v: reflect.ValueOf(!v.Bool()).Convert(v.Type())}, nil
	case op == token.SUB || op == token.ADD:
		c, ok := constOf(v)
		if ok {
			r, err := convertTo(operand{c: constant.UnaryOp(op, c, 0)}, v.Type())
			return operand{v: r}, err
		}
	}
	return operand{}, fmt.Errorf("cannot apply %s to a %s", op, typeName(v))
}

// constOf turns a basic value into a constant, for arithmetic.
func constOf(v reflect.Value) (constant.Value, bool) {
	switch {
	case v.CanInt():
		return constant.MakeInt64(v.Int()), true
	case v.CanUint():
		return constant.MakeUint64(v.Uint()), true
	case v.CanFloat():
		return constant.MakeFloat64(v.Float()), true
	case v.Kind() == reflect.String:
		return constant.MakeString(v.String()), true
	case v.Kind() == reflect.Bool:
		return constant.MakeBool(v.Bool()), true
	}
	return nil, false
}

// binary applies op as Go does: constants stay untyped, a constant with a
// value takes the value's type, two values must have the same type.
func binary(op token.Token, a, b operand) (operand, error) {
	var t reflect.Type
	var ca, cb constant.Value
	var ok bool
	for _, x := range []struct {
		o operand
		c *constant.Value
	}{{a, &ca}, {b, &cb}} {
		if x.o.c != nil {
			*x.c = x.o.c
			continue
		}
		v := unwrap(x.o.v)
		if !v.IsValid() {
			return operand{}, fmt.Errorf("cannot apply %s to nil", op)
		}
		if t != nil && v.Type() != t {
			return operand{}, fmt.Errorf("mismatched types %s and %s", typeString(t, 0), typeName(v))
		}
		t = v.Type()
		if *x.c, ok = constOf(v); !ok {
			return operand{}, fmt.Errorf("cannot apply %s to a %s", op, typeName(v))
		}
	}
	switch op {
	case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
		if ca.Kind() != cb.Kind() && !(isNumeric(ca) && isNumeric(cb)) {
			return operand{}, fmt.Errorf("mismatched operands of %s", op)
		}
		return operand{c: constant.MakeBool(constant.Compare(ca, op, cb))}, nil
	case token.SHL, token.SHR:
		s, ok := constant.Uint64Val(constant.ToInt(cb))
		if !ok {
			return operand{}, errors.New("bad shift count")
		}
		r := constant.Shift(ca, op, uint(s))
		if t == nil || a.c != nil {
			return operand{c: r}, nil
		}
		v, err := convertTo(operand{c: r}, t)
		return operand{v: v}, err
	}
	if (op == token.QUO || op == token.REM) && isNumeric(cb) && constant.Sign(cb) == 0 {
		return operand{}, errors.New("division by zero")
	}
	integer := t != nil && (t.Kind() >= reflect.Int && t.Kind() <= reflect.Uintptr)
	if t == nil {
		integer = ca.Kind() == constant.Int && cb.Kind() == constant.Int
	}
	if op == token.QUO && integer {
		op = token.QUO_ASSIGN // integer division, as go/constant spells it
	}
	var r constant.Value
	func() {
		defer func() {
			if recover() != nil {
				r = nil
			}
		}()
		r = constant.BinaryOp(ca, op, cb)
	}()
	if r == nil || r.Kind() == constant.Unknown {
		return operand{}, fmt.Errorf("cannot apply %s here", strings.TrimSuffix(op.String(), "="))
	}
	if t == nil {
		return operand{c: r}, nil
	}
	v, err := convertTo(operand{c: r}, t)
	return operand{v: v}, err
}

func isNumeric(c constant.Value) bool {
	k := c.Kind()
	return k == constant.Int || k == constant.Float || k == constant.Complex
}
