package interp

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync/atomic"

	"atonce/internal/enginemsg"
	"atonce/internal/gosrc"
	"atonce/interp/rewrite"

	"github.com/traefik/yaegi/interp"
)

// How a cell runs, top-down: Execute parses the cell once (gosrc.Parse,
// in the interpreter's FileSet), plans its redefinitions from the parsed
// declarations (redefine.go), runs each group (runGroups: rewrite,
// compile, run), and records it: its declarations and the text that ran,
// for History.

// Execute runs one cell. It returns when the cell is done, failed or was
// interrupted through ctx; by then everything the cell wrote has been
// handed to the Output.
func (s *Session) Execute(ctx context.Context, code string) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{Err: &enginemsg.Error{Name: "SessionClosed", Value: "the interpreter session is closed"}}
	}
	return s.execute(ctx, code)
}

// execute runs a cell the way a notebook user expects redefinitions to
// work (see redefine.go) and records it.
func (s *Session) execute(ctx context.Context, code string) Result {
	cell := s.newCell(code)
	parsed := s.parse(cell, code, nil)
	if parsed.Err != nil {
		return Result{Err: s.compileError(cell, parsed.Err)}
	}
	p := s.plan(parsed)
	var notes []string
	if len(p.redefs) > 0 {
		r, note, ok := s.rebuild(ctx, s.history, p.redefs, joinKeys(p.rebuild))
		if r.Interrupted {
			return r
		}
		notes = append(notes, note)
		if ok {
			// The new interpreter has a FileSet of its own, and the
			// redefinitions are the same now.
			parsed = s.parse(cell, code, nil)
			p = s.plan(parsed)
			// The debugger follows the new interpreter.
			if note := s.debugPrepareLocked(); note != "" {
				notes = append(notes, note)
			}
		}
	}
	run := s.edited(cell, parsed, p)
	res := s.runGroups(ctx, run, false)
	res.Notes = append(notes, res.Notes...)
	if res.Err != nil {
		return res
	}
	s.record(run)
	res.LastFunc = parsed.LastFunc()
	return s.rebuildForVars(ctx, res, run, p)
}

// record notes a cell that ran: its text, for History, and its
// declarations.
func (s *Session) record(run *cellRun) {
	s.history = append(s.history, run.text)
	for _, g := range run.groups {
		for _, d := range g.Decls {
			if !redefinable(d) {
				continue
			}
			for _, n := range d.Names {
				s.decls[n] = decl{kind: d.Kind, canon: d.Canon, refs: d.Refs}
			}
		}
	}
}

// cellRun is a cell as it runs: its text after the redefinition edits,
// and the groups parsed from that text.
type cellRun struct {
	cell      int // the cell's number, see newCell
	text      string
	groups    []*gosrc.Group
	last      *ast.ExprStmt // the cell's final expression, see gosrc.Cell.Last
	names     map[string]bool
	program   bool         // a whole program pasted in, see gosrc.Cell.Program
	callsMain bool         // the session calls the program's main, see programMain
	plan      *cellPlan    // the edits text was rendered from; nil when none
	off       map[int]bool // conversions of the plan that fell back to declarations
	fellBack  map[int]bool // the starts of the groups fallBack was called for
	skipped   int          // groups of statements that failed and were skipped (lenient runs)
}

// newRun is a run of parsed as it is.
func newRun(cell int, parsed *gosrc.Cell) *cellRun {
	return &cellRun{cell: cell, text: parsed.Src, groups: parsed.Groups, last: parsed.Last, names: parsed.Names(), program: parsed.Program, off: map[int]bool{}, fellBack: map[int]bool{}}
}

// runText parses text as a new cell and runs it as it is, without
// redefinitions and without recording it: the session's own setup.
func (s *Session) runText(ctx context.Context, text string) Result {
	cell := s.newCell(text)
	parsed := s.parse(cell, text, nil)
	if parsed.Err != nil {
		return Result{Err: s.compileError(cell, parsed.Err)}
	}
	return s.runGroups(ctx, newRun(cell, parsed), false)
}

// unit is one group of a cell made ready to compile: its tree after the
// session's own edits and the rewrites.
type unit struct {
	g       *gosrc.Group // nil for the call of a pasted program's main
	node    ast.Node     // *ast.File for imports and declarations, *ast.BlockStmt for statements
	imports map[string]string
}

// runGroups runs the cell's groups in order: each is rewritten (all of
// them before the first runs, since the rewrites may need a prelude or
// imports first), compiled and run. When a group does not compile because
// a var declared again was made an assignment, the assignment falls back
// to the declaration (see Session.fallBack). When lenient is set, a group
// of statements that fails to compile or panics is skipped instead of
// failing the cell.
func (s *Session) runGroups(ctx context.Context, run *cellRun, lenient bool) Result {
	label := runLabels.Add(1)
	s.SyncOutput()
	s.stderr.takePanics() // left by goroutines of earlier cells
	s.vague = map[[2]int]bool{}
	s.rw = &cellEnv{s: s, names: run.names}
	defer func() { s.rw = nil }()

	units, errs := s.units(run.groups)
	if len(errs) > 0 {
		return Result{Err: s.compileError(run.cell, errs)}
	}
	notes := s.rw.notes
	if u, ok := s.programMain(run); ok {
		units = append(units, u)
		run.callsMain = true
	}
	if run.callsMain {
		notes = append(notes, "ran main(), the program's entry point")
	}
	if r, failed := s.prepare(ctx, label); failed {
		return r
	}

	s.setCaptured(nil, false)
	for i := 0; i < len(units); i++ {
		u := units[i]
		if ctx.Err() != nil {
			return s.interrupted(label)
		}
		prog, err := s.compileUnit(u, run.last)
		if err != nil {
			if rest, r, ok := s.fallBack(ctx, run, u, label); ok {
				if r.Err != nil {
					return r
				}
				// The groups from this one on, parsed again; the call of a
				// pasted program's main stays last.
				n := i
				for n < len(units) && units[n].g != nil {
					n++
				}
				units = append(append(units[:i:i], rest...), units[n:]...)
				i--
				continue
			}
			s.SyncOutput()
			if lenient && u.g != nil && u.g.Kind == gosrc.Stmt {
				run.skipped++
				continue
			}
			return Result{Err: s.compileFailure(run.cell, run.groups, err)}
		}
		s.debugCompiled(run.cell, prog)
		if err := s.run(ctx, label, prog); err != nil {
			if ctx.Err() != nil {
				return s.interrupted(label)
			}
			s.SyncOutput()
			if lenient && u.g != nil && u.g.Kind == gosrc.Stmt {
				s.stderr.takePanics()
				run.skipped++
				continue
			}
			return Result{Err: s.runError(run.cell, err)}
		}
		for name, path := range u.imports {
			s.imports[name] = path
		}
		if u.g != nil {
			s.noteDefined(u.g)
		}
	}
	s.SyncOutput()
	res := Result{Notes: notes}
	if vals, ok := s.takeCaptured(); ok && len(vals) == 1 {
		res.Value = formatValue(vals[0])
	}
	return res
}

// units makes groups ready to compile: imports an earlier cell made are
// left out (yaegi refuses to import a name twice), func main is renamed
// (mainfunc.go), and the rewrites adapt the trees to Go 1.26 (package
// rewrite). Statements in groups of more than one are marked vague: yaegi
// places a panic in top-level code at the start of its group.
func (s *Session) units(groups []*gosrc.Group) ([]unit, scanner.ErrorList) {
	var units []unit
	var errs scanner.ErrorList
	for _, g := range groups {
		if g.Err != nil {
			errs = append(errs, g.Err...)
			continue
		}
		u := unit{g: g, node: g.File}
		if g.Kind != gosrc.Stmt {
			u.imports = s.dropKnownImports(g)
		}
		if mainDecl(g) != nil {
			s.hasMain = true
		}
		if s.hasMain {
			renameMain(g.File)
		}
		if g.Kind != gosrc.Stmt {
			if e := s.rewrite(g.File.Decls, nil, nil); e != nil {
				errs = append(errs, e...)
			}
			units = append(units, u)
			continue
		}
		body := g.Body()
		if e := s.rewrite(nil, body.List, func(l []ast.Stmt) { body.List = l }); e != nil {
			errs = append(errs, e...)
		}
		body.List = rewrite.ScopeCompound(body.List)
		u.node = body
		if len(body.List) > 1 {
			s.vague[[2]int{g.Line, g.Col}] = true
		}
		units = append(units, u)
	}
	return units, errs
}

// compileUnit compiles u. When u ends the cell with an expression, it
// first tries versions that show the expression's value: its own Display
// bundle (a type with a method Display() display.Bundle), or its values
// captured as they are; these do not compile when the expression has no
// value (yaegi itself returns the first of several values, so it cannot
// tell).
func (s *Session) compileUnit(u unit, last *ast.ExprStmt) (*interp.Program, error) {
	if b, ok := u.node.(*ast.BlockStmt); ok && last != nil && len(b.List) > 0 && b.List[len(b.List)-1] == ast.Stmt(last) {
		for _, wrap := range []func(ast.Expr) ast.Expr{displayed, captured} {
			list := slices.Clone(b.List)
			list[len(list)-1] = &ast.ExprStmt{X: wrap(last.X)}
			if prog, err := s.compile(&ast.BlockStmt{Lbrace: b.Lbrace, List: list, Rbrace: b.Rbrace}); err == nil {
				return prog, nil
			}
		}
	}
	return s.compile(u.node)
}

// captureHelper is the name of the session's helper package in the
// cells' scope (see captureImport).
const captureHelper = "__atonce_capture"

// captured is __atonce_capture.Value(x): the helper hands the values of x
// to Session.capture.
func captured(x ast.Expr) ast.Expr { return helperCall("Value", x) }

// displayed is __atonce_capture.Displayable((x).Display()): a value whose
// type has a method Display() display.Bundle renders itself, in
// interpreted code (yaegi cannot hand such a value to the host as an
// interface).
func displayed(x ast.Expr) ast.Expr {
	display := &ast.CallExpr{Fun: &ast.SelectorExpr{X: &ast.ParenExpr{Lparen: x.Pos(), X: x, Rparen: x.End()}, Sel: ident("Display", x.End())}, Lparen: x.End(), Rparen: x.End()}
	return helperCall("Displayable", display)
}

// helperCall is a call of the capture helper's function fn with arg,
// placed where arg is.
func helperCall(fn string, arg ast.Expr) ast.Expr {
	pos := arg.Pos()
	return &ast.CallExpr{Fun: &ast.SelectorExpr{X: ident(captureHelper, pos), Sel: ident(fn, pos)}, Lparen: pos, Args: []ast.Expr{arg}, Rparen: arg.End()}
}

func ident(name string, pos token.Pos) *ast.Ident { return &ast.Ident{Name: name, NamePos: pos} }

// compile turns a tree into a program, turning the interpreter's panics
// into errors.
func (s *Session) compile(n ast.Node) (prog *interp.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the interpreter failed on this code: %v", r)
		}
	}()
	return s.in.CompileAST(n)
}

// labelKey labels the goroutines of a cell in goroutine profiles, so the
// session can tell whether they stopped after an interrupt.
const labelKey = "atonce_cell"

// runLabels numbers the runs of all sessions, for labelKey.
var runLabels atomic.Int64

// run executes prog, cancelled by ctx, with the goroutines it starts
// labelled with label.
func (s *Session) run(ctx context.Context, label int64, prog *interp.Program) (err error) {
	pprof.Do(ctx, pprof.Labels(labelKey, strconv.FormatInt(label, 10)), func(ctx context.Context) {
		_, err = s.in.ExecuteWithContext(ctx, prog)
	})
	return err
}

// Eval evaluates one expression, for user_expressions, and returns its
// value as a MIME bundle. Nothing it prints or displays is shown. The
// error is an *enginemsg.Error when the expression fails.
func (s *Session) Eval(ctx context.Context, expr string) (enginemsg.Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eval(ctx, expr)
}

// TryEval is Eval when nothing else runs in the session (no cell, no
// other evaluation), and ok false at once otherwise: the debugger asks
// for values while a cell may be running.
func (s *Session) TryEval(ctx context.Context, expr string) (b enginemsg.Bundle, ok bool, err error) {
	if !s.mu.TryLock() {
		return nil, false, nil
	}
	defer s.mu.Unlock()
	b, err = s.eval(ctx, expr)
	return b, true, err
}

// eval is Eval with s.mu held.
func (s *Session) eval(ctx context.Context, expr string) (enginemsg.Bundle, error) {
	if s.closed {
		return nil, &enginemsg.Error{Name: "SessionClosed", Value: "the interpreter session is closed"}
	}
	cell := s.newCell(expr)
	if _, err := parser.ParseExpr(expr); err != nil {
		var errs scanner.ErrorList
		if !errors.As(err, &errs) {
			errs = scanner.ErrorList{{Pos: token.Position{Line: 1, Column: 1}, Msg: err.Error()}}
		}
		for _, e := range errs {
			e.Pos.Line += cell * lineBase
		}
		return nil, s.compileError(cell, errs)
	}
	parsed := s.parse(cell, expr, nil)
	if parsed.Err != nil {
		return nil, s.compileError(cell, parsed.Err)
	}
	if parsed.Last == nil {
		return nil, &enginemsg.Error{Name: "CompileError", Value: expr + " is not an expression"}
	}
	s.SyncOutput()
	s.quiet.Store(true)
	defer func() {
		s.SyncOutput()
		s.quiet.Store(false)
	}()
	s.setCaptured(nil, false)
	if s.hasMain {
		renameMain(parsed.Last)
	}
	// yaegi finds a file's imports (the capture helper's) from positions.
	last := parsed.Last
	prog, err := s.compile(&ast.BlockStmt{Lbrace: last.Pos(), List: []ast.Stmt{&ast.ExprStmt{X: captured(last.X)}}, Rbrace: last.End()})
	if err != nil {
		return nil, s.compileFailure(cell, parsed.Groups, err)
	}
	label := runLabels.Add(1)
	if err := s.run(ctx, label, prog); err != nil {
		if ctx.Err() != nil {
			return nil, s.interrupted(label).Err
		}
		return nil, s.runError(cell, err)
	}
	vals, _ := s.takeCaptured()
	if len(vals) != 1 {
		return nil, &enginemsg.Error{Name: "ValueError", Value: fmt.Sprintf("%s has %d values; want one", expr, len(vals))}
	}
	return formatValue(vals[0]), nil
}

// capture receives the values of a cell's final expression.
func (s *Session) capture(v ...any) {
	s.setCaptured(v, true)
}

func (s *Session) setCaptured(v []any, set bool) {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	s.captured, s.capSet = v, set
}

func (s *Session) takeCaptured() ([]any, bool) {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	v, ok := s.captured, s.capSet
	s.captured, s.capSet = nil, false
	return v, ok
}

// newCell numbers a new cell and remembers its source. Numbers are
// slots that wrap around after cellSlots cells, which keeps line numbers
// within what a line directive allows (2^30) and bounds the sources kept
// for tracebacks; a traceback into a cell that many cells old is rare.
func (s *Session) newCell(code string) int {
	s.cells++
	slot := s.cells%cellSlots + 1
	s.sources[slot] = code
	s.debugNewCell(slot, code)
	return slot
}

// cellSlots is how many cells' numbers and sources are kept apart.
const cellSlots = 10_000

// sourceName is the file name every cell is parsed under. yaegi keeps
// imports per file name, so it must not change from cell to cell; yaegi
// also leaves this name out of its messages.
const sourceName = interp.DefaultSourceName

// lineBase separates the cells' line numbers: line l of cell n is
// reported as line n*lineBase+l, so a position says which cell it is in.
// (cellSlots+1)*lineBase must stay below 2^30.
const lineBase = 100_000

// cellLine splits a reported line number into cell and line.
func cellLine(line int) (cell, l int) {
	return line / lineBase, line % lineBase
}

// parse parses code as cell number cell, once, in the interpreter's
// FileSet, with positions as in the cell (see lineBase). from, when not
// nil, is the group of the cell code starts at: the rest of a cell is
// parsed again from there.
func (s *Session) parse(cell int, code string, from *gosrc.Group) *gosrc.Cell {
	opt := gosrc.Options{Fset: s.in.FileSet(), File: sourceName, LineBase: cell * lineBase}
	if from != nil {
		opt.Line, opt.Col, opt.Offset = from.Line, from.Col, from.Start
	}
	return gosrc.Parse(code, opt)
}

// programMain returns a unit that calls main when the cell is a whole
// program: a package clause, a func main and no statements of its own.
func (s *Session) programMain(run *cellRun) (unit, bool) {
	decl := mainToRun(run.program, run.groups)
	if decl == nil {
		return unit{}, false
	}
	pos := decl.Pos()
	call := &ast.ExprStmt{X: &ast.CallExpr{Fun: ident(mainName, pos), Lparen: pos, Rparen: pos}}
	return unit{node: &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{call}, Rbrace: pos}}, true
}

// dropKnownImports removes from g's file the imports an earlier cell
// already made (yaegi refuses to import a name twice), and returns the
// others as package name to path.
func (s *Session) dropKnownImports(g *gosrc.Group) map[string]string {
	added := map[string]string{}
	known := map[*ast.ImportSpec]bool{}
	for _, im := range g.Imports {
		if im.Name != "_" && im.Name != "." && s.imports[im.Name] == im.Path {
			known[im.Spec] = true
			continue
		}
		added[im.Name] = im.Path
	}
	if len(known) == 0 {
		return added
	}
	f := g.File
	var decls []ast.Decl
	f.Imports = nil
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			decls = append(decls, d)
			continue
		}
		gd.Specs = slices.DeleteFunc(gd.Specs, func(sp ast.Spec) bool { return known[sp.(*ast.ImportSpec)] })
		if len(gd.Specs) > 0 {
			decls = append(decls, gd)
			for _, sp := range gd.Specs {
				f.Imports = append(f.Imports, sp.(*ast.ImportSpec))
			}
		}
	}
	f.Decls = decls
	return added
}
