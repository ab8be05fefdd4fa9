package interp

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"slices"
	"sort"
	"strings"

	"atonce/internal/gosrc"
)

// Redefinition. yaegi v0.16.1 keeps functions compiled earlier bound to
// the func, const or var slot they saw, and ignores a redefined type or
// method. A notebook user expects a redefinition to replace the old one
// everywhere, as if the program had been written that way. So, before a
// cell runs, its top-level declarations, as parsed (gosrc.TopDecl), are
// compared with the notebook's:
//
//   - the same func, type, method or const again (a cell run twice) is
//     dropped from the cell: nothing changes;
//   - a var declared again (var x = v, x := v) becomes an assignment
//     (x = v), so the slot stays and functions see the new value; when
//     the assignment does not compile where it stands (the value has
//     another type: the interpreter's type check decides, nothing reads
//     its messages), the declaration runs instead, declaring x anew;
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
	kind  gosrc.DeclKind
	canon string          // see gosrc.TopDecl.Canon
	refs  map[string]bool // identifiers its source uses
}

// site is a top-level declaration of a cell with the texts redefinition
// makes of it.
type site struct {
	gosrc.TopDecl
	spec       string // type and var: the spec's text ("T struct{}", "x = 1")
	standalone string // the declaration on its own ("type T struct{}")
	define     bool   // a statement x := v; defineTok is the offset of :=
	defineTok  int
	assign     string // var: the same as an assignment, when it can be made
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
func declKey(kind gosrc.DeclKind, name string) string { return string(kind) + " " + name }

// redefinable tells whether redefinition handles d: not init, nor main
// (the program's, see programMain), nor a declaration of _ only.
func redefinable(d gosrc.TopDecl) bool {
	return len(d.Names) > 0 && !(d.Kind == gosrc.Func && (d.Names[0] == "init" || d.Names[0] == "main"))
}

// sites reads the declarations of groups that redefinition handles; text
// is the cell the groups were parsed from.
func sites(text string, groups []*gosrc.Group) []site {
	var out []site
	for _, g := range groups {
		src := func(a, b token.Pos) string { return text[g.Offset(a):g.Offset(b)] }
		for _, d := range g.Decls {
			if !redefinable(d) {
				continue
			}
			st := site{TopDecl: d, standalone: text[d.Span[0]:d.Span[1]]}
			switch n := d.Node.(type) {
			case *ast.AssignStmt:
				st.define, st.defineTok = true, g.Offset(n.TokPos)
				st.spec = src(n.Lhs[0].Pos(), n.Lhs[len(n.Lhs)-1].End()) + " = " + src(n.Rhs[0].Pos(), n.Rhs[len(n.Rhs)-1].End())
				st.standalone = "var " + st.spec
				st.assign = src(n.Pos(), n.TokPos) + "=" + src(n.TokPos+2, n.End())
			case *ast.TypeSpec:
				st.spec = src(n.Pos(), n.End())
				st.standalone = "type " + st.spec
			case *ast.ValueSpec:
				st.spec = src(n.Pos(), n.End())
				st.standalone = "var " + st.spec
				st.assign = varAssign(n, src)
			}
			out = append(out, st)
		}
	}
	return out
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

// edit replaces code[start:end] with text.
type edit struct {
	start, end int
	text       string
	// conv is 1 + the index of the conversion of a var declared again
	// into an assignment that this edit makes, or 0; off is the text
	// when the conversion falls back to a declaration.
	conv int
	off  string
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

// cellPlan is what execute does to a cell before it runs.
type cellPlan struct {
	code    string
	edits   []edit // drops and conversions
	convs   [][]string
	keep    []string // existing vars declared again without conversion
	rebuild []string // keys that need a rebuild, for the note
	redefs  []site   // the new declarations a rebuild puts in place
}

// plan compares the cell's declarations with the notebook's.
func (s *Session) plan(c *gosrc.Cell) *cellPlan {
	code := c.Src
	p := &cellPlan{code: code}
	for _, st := range sites(code, c.Groups) {
		var existing, same, kindChanged int
		for _, n := range st.Names {
			d, ok := s.decls[n]
			if !ok {
				continue
			}
			existing++
			if d.kind != st.Kind {
				kindChanged++
			} else if d.canon == st.Canon {
				same++
			}
		}
		switch {
		case existing == 0:
		case kindChanged > 0:
			p.addRebuild(st)
		case st.Kind == gosrc.Var:
			if existing < len(st.Names) || (!st.define && st.assign == "") {
				for _, n := range st.Names {
					if _, ok := s.decls[n]; ok {
						p.keep = append(p.keep, n)
					}
				}
				continue
			}
			p.convs = append(p.convs, st.Names)
			c := len(p.convs)
			switch {
			case st.define:
				p.edits = append(p.edits, edit{start: st.defineTok, end: st.defineTok + 2, text: "=", conv: c, off: ":="})
			case !st.Grouped():
				p.edits = append(p.edits, edit{start: st.Span[0], end: st.Span[1], text: st.assign, conv: c, off: code[st.Span[0]:st.Span[1]]})
			default:
				p.edits = append(p.edits, edit{start: st.Span[0], end: st.Span[1], text: blank(code[st.Span[0]:st.Span[1]])},
					edit{start: st.Outer[1], end: st.Outer[1], text: "; " + st.assign, conv: c, off: "; " + st.standalone})
			}
		case same == len(st.Names):
			p.edits = append(p.edits, edit{start: st.Span[0], end: st.Span[1], text: blank(code[st.Span[0]:st.Span[1]])})
		case st.Kind == gosrc.Type || st.Kind == gosrc.Method || s.usedByOthers(st.Names):
			p.addRebuild(st)
		}
	}
	return p
}

func (p *cellPlan) addRebuild(st site) {
	for _, n := range st.Names {
		p.rebuild = append(p.rebuild, declKey(st.Kind, n))
	}
	p.redefs = append(p.redefs, st)
}

// usedByOthers tells whether a func, method, type or const other than
// names themselves uses one of names: compiled code that would keep the
// old definition.
func (s *Session) usedByOthers(names []string) bool {
	for name, d := range s.decls {
		if d.kind == gosrc.Var || slices.Contains(names, name) {
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

// render applies the plan's edits, with the conversions in off fallen
// back to declarations. It returns the text and, for each conversion,
// the bytes of the text that its assignment or declaration holds.
func (p *cellPlan) render(off map[int]bool) (string, map[int][2]int) {
	es := slices.Clone(p.edits)
	sort.SliceStable(es, func(i, j int) bool { return es[i].start < es[j].start })
	var b strings.Builder
	convs := map[int][2]int{}
	at := 0
	for _, e := range es {
		if e.start < at {
			continue // overlapping: keep the first
		}
		b.WriteString(p.code[at:e.start])
		text := e.text
		if e.conv != 0 && off[e.conv] {
			text = e.off
		}
		// What the texts share at their start ("; ") is not the statement.
		lead := 0
		for lead < min(len(e.text), len(e.off)) && e.text[lead] == e.off[lead] {
			lead++
		}
		start := b.Len() + lead
		b.WriteString(text)
		if e.conv != 0 {
			convs[e.conv] = [2]int{start, b.Len()}
		}
		at = e.end
	}
	b.WriteString(p.code[at:])
	return b.String(), convs
}

// edited is the run of a parsed cell with the plan's edits: the cell as
// parsed when there are none, else its text rendered and parsed once more.
func (s *Session) edited(cell int, parsed *gosrc.Cell, p *cellPlan) *cellRun {
	if len(p.edits) == 0 {
		return newRun(cell, parsed)
	}
	text, _ := p.render(nil)
	// A var of a pasted program declared again is an assignment now, a
	// statement; the program's main is called in the text instead, so
	// that History replays it too.
	callsMain := mainToRun(parsed.Program, parsed.Groups) != nil
	if callsMain {
		text += "\nmain()"
	}
	s.sources[cell] = text
	run := newRun(cell, s.parse(cell, text, nil))
	run.plan, run.callsMain = p, callsMain
	return run
}

// fallBack is called when unit u, a group of run, does not compile. The
// assignments the plan made there of vars declared again are checked
// with the interpreter's type check (see fits); those that do not fit
// their variable (the new value has another type) fall back to their
// declarations. fallBack then parses the rest of the cell again from u's
// group on and returns it ready to compile (ok), or a Result that says
// why not. It returns ok false when every assignment fits: the error is
// the cell's own.
func (s *Session) fallBack(ctx context.Context, run *cellRun, u unit, label int64) (rest []unit, r Result, ok bool) {
	g := u.g
	body, isStmts := u.node.(*ast.BlockStmt)
	k := slices.Index(run.groups, g)
	if run.plan == nil || g == nil || !isStmts || k < 0 || run.fellBack[g.Start] {
		return nil, Result{}, false
	}
	run.fellBack[g.Start] = true
	_, convs := run.plan.render(run.off)
	var off []int
	for c := 1; c <= len(run.plan.convs); c++ {
		if sp, ok := convs[c]; ok && !run.off[c] && sp[0] < g.End && sp[1] > g.Start && !s.fits(g, body.List, convs, off, c) {
			off = append(off, c)
		}
	}
	if len(off) == 0 {
		return nil, Result{}, false
	}
	for _, c := range off {
		run.off[c] = true
	}
	run.text, _ = run.plan.render(run.off)
	s.sources[run.cell] = run.text
	parsed := s.parse(run.cell, run.text[g.Start:], g)
	run.groups = append(run.groups[:k:k], parsed.Groups...)
	run.last = parsed.Last
	rest, errs := s.units(parsed.Groups)
	if len(errs) > 0 {
		return nil, Result{Err: s.compileError(run.cell, errs)}, true
	}
	if r, failed := s.prepare(ctx, label); failed {
		return nil, r, true
	}
	return rest, Result{}, true
}

// fits tells whether conversion c, an assignment among stmts (a group
// g's statements, rewritten), fits its variable. It compiles, and never
// runs, probes that hold the statements up to the assignment in a func
// literal, where := declares nothing in the notebook, with the
// assignments of the conversions off made declarations: c does not fit
// when the probe fails with its assignment and compiles with its
// declaration. convs are the conversions' bytes in the cell.
func (s *Session) fits(g *gosrc.Group, stmts []ast.Stmt, convs map[int][2]int, off []int, c int) bool {
	stmtAt := func(offset int) int {
		for j, st := range stmts {
			if g.Offset(st.Pos()) <= offset && offset < g.Offset(st.End()) {
				return j
			}
		}
		return -1
	}
	last := stmtAt(convs[c][0])
	if last < 0 {
		return false
	}
	probe := func(declared ...int) bool {
		list := slices.Clone(stmts[:last+1])
		for _, d := range declared {
			if j := stmtAt(convs[d][0]); j >= 0 && j <= last {
				if as, ok := list[j].(*ast.AssignStmt); ok && as.Tok == token.ASSIGN {
					decl := *as
					decl.Tok = token.DEFINE
					list[j] = &decl
				}
			}
		}
		pos, end := list[0].Pos(), list[last].End()
		lit := &ast.FuncLit{Type: &ast.FuncType{Func: pos, Params: &ast.FieldList{Opening: pos, Closing: pos}}, Body: &ast.BlockStmt{Lbrace: pos, List: list, Rbrace: end}}
		_, err := s.compile(&ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{
			&ast.AssignStmt{Lhs: []ast.Expr{ident("_", pos)}, TokPos: pos, Tok: token.ASSIGN, Rhs: []ast.Expr{lit}},
		}, Rbrace: end})
		return err == nil
	}
	return probe(off...) || !probe(append(off, c)...)
}

// rebuildForVars rebuilds the state after a cell that declared variables
// anew (their type changed) that functions use: these would keep reading
// the old slot.
func (s *Session) rebuildForVars(ctx context.Context, res Result, run *cellRun, p *cellPlan) Result {
	var changed []string
	for c, off := range run.off {
		if off {
			changed = append(changed, p.convs[c-1]...)
		}
	}
	changed = append(changed, p.keep...)
	var used []string
	for _, n := range changed {
		if s.usedByOthers([]string{n}) {
			used = append(used, n)
		}
	}
	if len(used) == 0 {
		return res
	}
	var redefs []site
	var keys []string
	for _, st := range sites(run.text, run.groups) {
		if st.Kind == gosrc.Var && slices.ContainsFunc(st.Names, func(n string) bool { return slices.Contains(used, n) }) {
			redefs = append(redefs, st)
			for _, n := range st.Names {
				if slices.Contains(used, n) {
					keys = append(keys, declKey(gosrc.Var, n))
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
		cell := s.newCell(c)
		parsed := s.parse(cell, c, nil)
		var r Result
		if parsed.Err != nil {
			r.Err = s.compileError(cell, parsed.Err)
		} else {
			run := s.edited(cell, parsed, &cellPlan{code: c, edits: hoist(parsed, redefs, placed)})
			r = s.runGroups(ctx, run, true)
			skipped += run.skipped
			if r.Err == nil && !r.Interrupted {
				s.record(run)
			}
		}
		s.replayed++
		if r.Interrupted {
			restore()
			return r, "", false
		}
		if r.Err != nil {
			return failed(fmt.Sprintf("replaying cell %d of %d: %s", i+1, len(cells), r.Err.Value))
		}
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

// hoist returns the edits that put the new declarations redefs in place
// of their first old declaration in a cell (placed tells which are done)
// and blank out the other old ones.
func hoist(c *gosrc.Cell, redefs []site, placed map[int]bool) []edit {
	code := c.Src
	var es []edit
	for _, old := range sites(code, c.Groups) {
		i := slices.IndexFunc(redefs, func(n site) bool {
			return slices.ContainsFunc(n.Names, func(name string) bool { return slices.Contains(old.Names, name) })
		})
		if i < 0 {
			continue
		}
		nw := redefs[i]
		switch {
		case placed[i]:
			es = append(es, edit{start: old.Span[0], end: old.Span[1], text: blank(code[old.Span[0]:old.Span[1]])})
		case !old.Grouped():
			es = append(es, edit{start: old.Span[0], end: old.Span[1], text: nw.standalone})
		case old.Kind == nw.Kind && nw.spec != "":
			es = append(es, edit{start: old.Span[0], end: old.Span[1], text: nw.spec})
		default:
			es = append(es, edit{start: old.Span[0], end: old.Span[1], text: blank(code[old.Span[0]:old.Span[1]])},
				edit{start: old.Outer[1], end: old.Outer[1], text: "; " + nw.standalone})
		}
		placed[i] = true
	}
	return es
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
