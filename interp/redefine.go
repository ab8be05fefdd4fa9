package interp

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"atonce/internal/gosrc"
)

// Redefinition. yaegi v0.16.1 keeps functions compiled earlier bound to
// the func, const or var slot they saw, and ignores a redefined type or
// method. A notebook user expects a redefinition to replace the old one
// everywhere, as if the program had been written that way. So, before a
// cell runs, its top-level declarations are compared with the notebook's:
//
//   - the same func, type, method or const again (a cell run twice) is
//     dropped from the cell: nothing changes;
//   - a var declared again (var x = v, x := v) becomes an assignment
//     (x = v), so the slot stays and functions see the new value; when
//     that does not compile (the type changed) it is declared anew;
//   - a changed type or method, a changed func or const that other
//     declarations use, and a var with a new type that functions use,
//     need a rebuild: a fresh interpreter replays the history of
//     successful cells quietly, with the new declaration in place of the
//     first old one (so cells in between compile against it) and the
//     other old ones left out, then takes over the values of variables
//     whose types did not change.
//
// A rebuild that fails leaves the old interpreter in place and tells the
// user which definitions callers may still see.

// decl is what the session knows of one top-level name.
type decl struct {
	kind  string          // "func", "method", "type", "var" or "const"
	canon string          // the declaration, printed by go/printer
	refs  map[string]bool // identifiers its source uses (func, method, type, const)
}

// site is one top-level declaration in a cell's text.
type site struct {
	kind  string   // "func", "method", "type", "var" or "const"
	names []string // the names it declares; "T.M" for a method
	canon string
	refs  map[string]bool
	// span is the bytes of the cell that hold it: a whole top-level item
	// (whole) or a spec inside a parenthesized type or var declaration,
	// whose declaration is outer.
	span, outer [2]int
	whole       bool
	spec        string // type and var: the spec's text ("T struct{}", "x = 1")
	standalone  string // the declaration on its own ("type T struct{}")
	define      bool   // a statement x := v; defineTok is the offset of :=
	defineTok   int
	assign      string // var: the same as an assignment, when it can be made
}

// History returns the cells that ran successfully, oldest first, as they
// ran: a declaration made again identically is blanked out and a var
// declared again is an assignment, so running them in order in a new
// session rebuilds this session's state.
func (s *Session) History() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.history)
}

// declKey is how a note names a declaration.
func declKey(kind, name string) string { return kind + " " + name }

// analyzeCell finds the top-level declarations in code: funcs, methods,
// types, consts, vars, and the variables of top-level := statements.
// Groups that do not parse are skipped (running the cell reports them).
func analyzeCell(code string) []site {
	var sites []site
	for _, g := range splitCell(code) {
		if g.Kind == groupImport {
			continue
		}
		head := "package main;"
		tail := ""
		if g.Kind == groupStmt {
			head = "package main; func main() {"
			tail = "\n}"
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "", head+code[g.Start:g.End]+tail, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		off := func(p token.Pos) int { return fset.Position(p).Offset - len(head) + g.Start }
		text := func(a, b token.Pos) string { return code[off(a):off(b)] }
		if g.Kind == groupStmt {
			for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
				if st, ok := st.(*ast.AssignStmt); ok && st.Tok == token.DEFINE {
					sites = append(sites, defineSite(st, off, text))
				}
			}
			continue
		}
		for _, d := range f.Decls {
			sites = append(sites, declSites(d, off, text)...)
		}
	}
	return sites
}

func defineSite(st *ast.AssignStmt, off func(token.Pos) int, text func(a, b token.Pos) string) site {
	st0 := site{kind: "var", span: [2]int{off(st.Pos()), off(st.End())}, whole: true, define: true, defineTok: off(st.TokPos)}
	for _, l := range st.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
			st0.names = append(st0.names, id.Name)
		}
	}
	st0.spec = text(st.Lhs[0].Pos(), st.Lhs[len(st.Lhs)-1].End()) + " = " + text(st.Rhs[0].Pos(), st.Rhs[len(st.Rhs)-1].End())
	st0.standalone = "var " + st0.spec
	st0.assign = text(st.Pos(), st.TokPos) + "=" + text(st.TokPos+2, st.End())
	return st0
}

func declSites(d ast.Decl, off func(token.Pos) int, text func(a, b token.Pos) string) []site {
	switch d := d.(type) {
	case *ast.FuncDecl:
		name := d.Name.Name
		kind := "func"
		if d.Recv != nil && len(d.Recv.List) == 1 {
			kind = "method"
			name = recvName(d.Recv.List[0].Type) + "." + name
		} else if name == "init" || name == "main" || name == "_" {
			return nil // many inits are fine; main is the program's, see programMain
		}
		return []site{{kind: kind, names: []string{name}, canon: canonical(text(d.Pos(), d.End())), refs: identsOf(d),
			span: [2]int{off(d.Pos()), off(d.End())}, whole: true, standalone: text(d.Pos(), d.End())}}
	case *ast.GenDecl:
		whole := [2]int{off(d.Pos()), off(d.End())}
		switch d.Tok {
		case token.CONST:
			st := site{kind: "const", canon: canonical(text(d.Pos(), d.End())), refs: identsOf(d), span: whole, whole: true, standalone: text(d.Pos(), d.End())}
			for _, sp := range d.Specs {
				for _, n := range sp.(*ast.ValueSpec).Names {
					if n.Name != "_" {
						st.names = append(st.names, n.Name)
					}
				}
			}
			if len(st.names) == 0 {
				return nil
			}
			return []site{st}
		case token.TYPE, token.VAR:
			var sites []site
			for _, sp := range d.Specs {
				st := site{span: whole, whole: true, outer: whole, spec: text(sp.Pos(), sp.End())}
				if d.Lparen.IsValid() {
					st.span, st.whole = [2]int{off(sp.Pos()), off(sp.End())}, false
				}
				switch sp := sp.(type) {
				case *ast.TypeSpec:
					st.kind, st.names = "type", []string{sp.Name.Name}
					st.canon, st.refs = canonical("type "+st.spec), identsOf(sp)
					st.standalone = "type " + st.spec
				case *ast.ValueSpec:
					st.kind = "var"
					for _, n := range sp.Names {
						if n.Name != "_" {
							st.names = append(st.names, n.Name)
						}
					}
					st.canon = canonical("var " + st.spec)
					st.standalone = "var " + st.spec
					st.assign = varAssign(sp, text)
				}
				if len(st.names) > 0 {
					sites = append(sites, st)
				}
			}
			return sites
		}
	}
	return nil
}

// varAssign turns var a, b T = v, w into a, b = (T)(v), (T)(w): the same
// values for existing variables. Without values it assigns zero values.
func varAssign(sp *ast.ValueSpec, text func(a, b token.Pos) string) string {
	var names, vals []string
	for _, n := range sp.Names {
		names = append(names, n.Name)
	}
	typ := ""
	if sp.Type != nil {
		typ = text(sp.Type.Pos(), sp.Type.End())
	}
	switch {
	case len(sp.Values) == 0 && typ != "":
		for range sp.Names {
			vals = append(vals, "*new("+typ+")")
		}
	case typ != "" && len(sp.Values) == len(sp.Names):
		for _, v := range sp.Values {
			vals = append(vals, "("+typ+")("+text(v.Pos(), v.End())+")")
		}
	case len(sp.Values) > 0:
		vals = append(vals, text(sp.Values[0].Pos(), sp.Values[len(sp.Values)-1].End()))
	default:
		return ""
	}
	return strings.Join(names, ", ") + " = " + strings.Join(vals, ", ")
}

// recvName is the type name of a method's receiver: T for T, *T, T[K].
func recvName(e ast.Expr) string {
	if name := gosrc.BaseTypeName(e); name != "" {
		return name
	}
	return "?"
}

// canonical is src's tokens, without comments and the semicolons that
// end lines: two declarations that differ only in layout are the same.
func canonical(src string) string {
	fset := token.NewFileSet()
	var sc scanner.Scanner
	sc.Init(fset.AddFile("", -1, len(src)), []byte(src), nil, 0)
	var b strings.Builder
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			return b.String()
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue
		}
		if lit == "" {
			lit = tok.String()
		}
		b.WriteString(lit)
		b.WriteByte(' ')
	}
}

func identsOf(n ast.Node) map[string]bool {
	refs := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			refs[id.Name] = true
		}
		return true
	})
	return refs
}

// edit replaces code[start:end] with text.
type edit struct {
	start, end int
	text       string
	conv       int // 1 + the index of the conversion it belongs to, or 0
}

// blank is code with every byte but newlines made a space: the cell's
// positions stay.
func blank(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		return ' '
	}, code)
}

// cellPlan is what executeCell does to a cell before it runs.
type cellPlan struct {
	code    string
	edits   []edit // drops and conversions
	convs   [][]string
	keep    []string // existing vars declared again without conversion
	rebuild []string // keys that need a rebuild, for the note
	redefs  []site   // the new declarations a rebuild puts in place
}

// planCell compares the cell's declarations with the notebook's.
func (s *Session) planCell(code string) cellPlan {
	p := cellPlan{code: code}
	for _, st := range analyzeCell(code) {
		var existing, same, kindChanged int
		for _, n := range st.names {
			d, ok := s.decls[n]
			if !ok {
				continue
			}
			existing++
			if d.kind != st.kind {
				kindChanged++
			} else if d.canon == st.canon {
				same++
			}
		}
		switch {
		case existing == 0:
		case kindChanged > 0:
			p.addRebuild(st)
		case st.kind == "var":
			if existing < len(st.names) || (!st.define && st.assign == "") {
				for _, n := range st.names {
					if _, ok := s.decls[n]; ok {
						p.keep = append(p.keep, n)
					}
				}
				continue
			}
			p.convs = append(p.convs, st.names)
			c := len(p.convs)
			switch {
			case st.define:
				p.edits = append(p.edits, edit{start: st.defineTok, end: st.defineTok + 2, text: "=", conv: c})
			case st.whole:
				p.edits = append(p.edits, edit{start: st.span[0], end: st.span[1], text: st.assign, conv: c})
			default:
				p.edits = append(p.edits, edit{start: st.span[0], end: st.span[1], text: blank(code[st.span[0]:st.span[1]]), conv: c},
					edit{start: st.outer[1], end: st.outer[1], text: "; " + st.assign, conv: c})
			}
		case same == len(st.names):
			p.edits = append(p.edits, edit{start: st.span[0], end: st.span[1], text: blank(code[st.span[0]:st.span[1]])})
		case st.kind == "type" || st.kind == "method" || s.usedByOthers(st.names):
			p.addRebuild(st)
		}
	}
	return p
}

func (p *cellPlan) addRebuild(st site) {
	for _, n := range st.names {
		p.rebuild = append(p.rebuild, declKey(st.kind, n))
	}
	p.redefs = append(p.redefs, st)
}

// usedByOthers tells whether a func, method, type or const other than
// names themselves uses one of names: compiled code that would keep the
// old definition.
func (s *Session) usedByOthers(names []string) bool {
	for name, d := range s.decls {
		if d.kind == "var" || slices.Contains(names, name) {
			continue
		}
		for _, n := range names {
			if d.refs[n] {
				return true
			}
		}
	}
	return false
}

// render applies the plan's edits but the disabled conversions'. It
// returns the text and, for each enabled conversion, the lines it spans.
func (p *cellPlan) render(disabled map[int]bool) (string, map[int][2]int) {
	var es []edit
	for _, e := range p.edits {
		if e.conv == 0 || !disabled[e.conv] {
			es = append(es, e)
		}
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].start < es[j].start })
	var b strings.Builder
	lines := map[int][2]int{}
	at := 0
	for _, e := range es {
		if e.start < at {
			continue // overlapping: keep the first
		}
		b.WriteString(p.code[at:e.start])
		first := strings.Count(b.String(), "\n") + 1
		b.WriteString(e.text)
		if e.conv != 0 {
			last := strings.Count(b.String(), "\n") + 1
			r, ok := lines[e.conv]
			if !ok {
				r = [2]int{first, last}
			}
			lines[e.conv] = [2]int{min(r[0], first), max(r[1], last)}
		}
		at = e.end
	}
	b.WriteString(p.code[at:])
	return b.String(), lines
}

// errLine matches the cell line an error message starts with.
var errLine = regexp.MustCompile(`^(\d+):\d+: `)

// executeCell runs a cell the way a notebook user expects redefinitions
// to work (see the top of this file), then records it in the history.
func (s *Session) executeCell(ctx context.Context, code string) Result {
	p := s.planCell(code)
	var notes []string
	if len(p.redefs) > 0 {
		what := joinKeys(p.rebuild)
		r, note, ok := s.rebuild(ctx, s.history, p.redefs, what)
		if r.Interrupted {
			return r
		}
		notes = append(notes, note)
		if ok {
			p = s.planCell(code) // the redefinitions are the same now
		}
	}
	disabled := map[int]bool{}
	for {
		text, lines := p.render(disabled)
		res, info := s.runCell(ctx, text, false)
		if res.Err != nil && res.Err.Name == "CompileError" && !info.ranStmts {
			if m := errLine.FindStringSubmatch(res.Err.Value); m != nil {
				l, _ := strconv.Atoi(m[1])
				retry := false
				for c, r := range lines {
					if r[0] <= l && l <= r[1] {
						disabled[c], retry = true, true
					}
				}
				if retry {
					continue
				}
			}
		}
		res.Notes = append(notes, res.Notes...)
		if res.Err != nil {
			return res
		}
		// Variables declared anew (their type changed) that functions
		// use: they would keep reading the old slot.
		var changed []string
		for c := range disabled {
			changed = append(changed, p.convs[c-1]...)
		}
		changed = append(changed, p.keep...)
		var used []string
		for _, n := range changed {
			if s.usedByOthers([]string{n}) {
				used = append(used, n)
			}
		}
		s.history = append(s.history, text)
		s.record(text)
		if len(used) == 0 {
			return res
		}
		var redefs []site
		var keys []string
		for _, st := range analyzeCell(text) {
			if st.kind == "var" && slices.ContainsFunc(st.names, func(n string) bool { return slices.Contains(used, n) }) {
				redefs = append(redefs, st)
				for _, n := range st.names {
					if slices.Contains(used, n) {
						keys = append(keys, declKey("var", n))
					}
				}
			}
		}
		r, note, _ := s.rebuild(ctx, s.history, redefs, joinKeys(keys))
		if r.Interrupted {
			res.Stuck = r.Stuck
			note = fmt.Sprintf("atonce: redefined %s, but rebuilding the notebook state was interrupted: code defined in earlier cells may still use the old definition", joinKeys(keys))
		}
		res.Notes = append(res.Notes, note)
		return res
	}
}

// record notes the declarations of a cell that ran.
func (s *Session) record(code string) {
	for _, st := range analyzeCell(code) {
		for _, n := range st.names {
			s.decls[n] = decl{kind: st.kind, canon: st.canon, refs: st.refs}
		}
	}
}

func joinKeys(keys []string) string {
	switch len(keys) {
	case 0:
		return "nothing"
	case 1:
		return keys[0]
	}
	return strings.Join(keys[:len(keys)-1], ", ") + " and " + keys[len(keys)-1]
}

// rebuild replaces the interpreter by a fresh one that replays cells
// quietly with the declarations redefs in place of the old ones, then
// takes over the values of the variables whose types did not change.
// On failure the old interpreter stays. It returns the note for the
// user, and a Result only when ctx was cancelled (Interrupted set).
func (s *Session) rebuild(ctx context.Context, cells []string, redefs []site, what string) (Result, string, bool) {
	old := s.in
	saved := struct {
		imports map[string]string
		defined map[string]bool
		decls   map[string]decl
		hasMain bool
		history []string
	}{s.imports, s.defined, s.decls, s.hasMain, s.history}
	restore := func() {
		s.in = old
		s.imports, s.defined, s.decls, s.hasMain, s.history = saved.imports, saved.defined, saved.decls, saved.hasMain, saved.history
	}
	s.SyncOutput()
	s.quiet.Store(true)
	defer func() {
		s.SyncOutput()
		s.quiet.Store(false)
	}()
	failed := func(why string) (Result, string, bool) {
		restore()
		return Result{}, fmt.Sprintf("atonce: redefined %s, but rebuilding the notebook state failed (%s): code defined in earlier cells may still use the old definition", what, why), false
	}
	if ctx.Err() != nil {
		restore()
		return s.interrupted(runLabels.Add(1)), "", false
	}
	if err := s.setup(context.WithoutCancel(ctx)); err != nil {
		return failed(err.Error())
	}
	placed := map[int]bool{}
	skipped := 0
	for i, c := range cells {
		text := hoist(c, redefs, placed)
		r, info := s.runCell(ctx, text, true)
		s.replayed++
		if r.Interrupted {
			restore()
			return r, "", false
		}
		if r.Err != nil {
			return failed(fmt.Sprintf("replaying cell %d of %d: %s", i+1, len(cells), r.Err.Value))
		}
		skipped += info.skipped
		s.history = append(s.history, text)
		s.record(text)
	}
	copyGlobals(globals(old), globals(s.in))
	plural := "s"
	if len(cells) == 1 {
		plural = ""
	}
	note := fmt.Sprintf("atonce: redefined %s: rebuilt the notebook state by replaying %d cell%s (output hidden) so every caller uses the new definitions", what, len(cells), plural)
	if skipped > 0 {
		note += fmt.Sprintf("; %d groups of statements failed with them and were skipped", skipped)
	}
	return Result{}, note, true
}

// hoist puts the new declarations redefs in place of their first old
// declaration in the cells (placed tells which are done) and blanks out
// the other old ones.
func hoist(code string, redefs []site, placed map[int]bool) string {
	var es []edit
	for _, old := range analyzeCell(code) {
		i := slices.IndexFunc(redefs, func(n site) bool {
			return slices.ContainsFunc(n.names, func(name string) bool { return slices.Contains(old.names, name) })
		})
		if i < 0 {
			continue
		}
		nw := redefs[i]
		switch {
		case placed[i]:
			es = append(es, edit{start: old.span[0], end: old.span[1], text: blank(code[old.span[0]:old.span[1]])})
		case old.whole:
			es = append(es, edit{start: old.span[0], end: old.span[1], text: nw.standalone})
		case old.kind == nw.kind && nw.spec != "":
			es = append(es, edit{start: old.span[0], end: old.span[1], text: nw.spec})
		default:
			es = append(es, edit{start: old.span[0], end: old.span[1], text: blank(code[old.span[0]:old.span[1]])},
				edit{start: old.outer[1], end: old.outer[1], text: "; " + nw.standalone})
		}
		placed[i] = true
	}
	p := cellPlan{code: code, edits: es}
	text, _ := p.render(nil)
	return text
}

// copyGlobals sets the variables of to to the values of the same
// variables in from, where their types are the same and hold no funcs or
// interfaces (those values would keep the old interpreter's code).
func copyGlobals(from, to map[string]reflect.Value) {
	for name, v := range from {
		w, ok := to[name]
		if !ok || !v.IsValid() || !w.IsValid() || v.Type() != w.Type() || !w.CanSet() || !copyable(v.Type(), map[reflect.Type]bool{}) {
			continue
		}
		w.Set(v)
	}
}

// copyable tells whether a value of type t holds only data.
func copyable(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return true
	}
	seen[t] = true
	if strings.Contains(t.PkgPath(), "yaegi") {
		return false
	}
	switch t.Kind() {
	case reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return false
	case reflect.Array, reflect.Slice, reflect.Pointer, reflect.Chan:
		return copyable(t.Elem(), seen)
	case reflect.Map:
		return copyable(t.Key(), seen) && copyable(t.Elem(), seen)
	case reflect.Struct:
		if t.Name() != "" && t.PkgPath() != "" {
			return true // a host type: its fields are its package's business
		}
		for i := range t.NumField() {
			if !copyable(t.Field(i).Type, seen) {
				return false
			}
		}
	}
	return true
}
