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
	"strconv"
	"strings"
	"sync/atomic"

	"atonce/internal/enginemsg"
	"atonce/interp/rewrite"

	"github.com/traefik/yaegi/interp"
)

// unit is one group of a cell, parsed and ready to compile.
type unit struct {
	group
	text string   // the group's source, as in the cell
	node ast.Node // *ast.File for imports and declarations, *ast.BlockStmt for statements
	// last is the final statement when it is an expression, whose value
	// the cell shows: its offsets in text.
	last       *ast.ExprStmt
	lastOffset [2]int
	main       bool              // declares func main
	imports    map[string]string // package name to path, imported by this unit
}

// captureCall wraps a cell's final expression: it hands the values the
// expression yields to Session.capture.
const captureCall = "__atonce_capture.Value("

// displayCall and displayEnd wrap a final expression whose type has a
// method Display() display.Bundle, calling it in interpreted code (yaegi
// cannot hand such a value to the host as an interface); the wrapped
// code does not compile for other values.
const (
	displayCall = "__atonce_capture.Displayable(("
	displayEnd  = ").Display())"
)

// Execute runs one cell. It returns when the cell is done, failed or was
// interrupted through ctx; by then everything the cell wrote has been
// handed to the Output.
func (s *Session) Execute(ctx context.Context, code string) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{Err: &enginemsg.Error{Name: "SessionClosed", Value: "the interpreter session is closed"}}
	}
	return s.executeCell(ctx, code)
}

// cellRun tells how a cell's run went, beyond its Result.
type cellRun struct {
	ranStmts bool // a group of statements ran (or started to)
	skipped  int  // groups of statements that failed and were skipped (lenient runs)
}

// runCell runs code as one cell: it is what Execute does once the cell's
// redefinitions are sorted out (see executeCell). When lenient is set, a
// group of statements that fails to compile or panics is skipped instead
// of failing the cell: replaying the notebook uses it.
func (s *Session) runCell(ctx context.Context, code string, lenient bool) (Result, cellRun) {
	var info cellRun
	cell := s.newCell(code)
	label := runLabels.Add(1)
	s.SyncOutput()
	s.stderr.takePanics() // left by goroutines of earlier cells

	var units []unit
	var errs scanner.ErrorList
	s.vague = map[[2]int]bool{}
	groups := splitCell(code)
	s.rw = s.newCellEnv(cell, code, groups)
	defer func() { s.rw = nil }()
	for _, g := range groups {
		u, err := s.parseUnit(cell, code, g)
		if err != nil {
			errs = append(errs, err...)
			continue
		}
		if b, ok := u.node.(*ast.BlockStmt); ok && len(b.List) > 1 {
			s.vague[[2]int{g.Line, g.Col}] = true
		}
		units = append(units, u)
	}
	if len(errs) > 0 {
		return Result{Err: s.compileError(cell, errs)}, info
	}
	notes := s.rw.notes
	if u, ok := s.programMain(cell, code, units); ok {
		units = append(units, u)
		notes = append(notes, "ran main(), the program's entry point")
	}
	if r, failed := s.prepare(ctx, cell, label); failed {
		return r, info
	}

	s.setCaptured(nil, false)
	for i, u := range units {
		if ctx.Err() != nil {
			return s.interrupted(label), info
		}
		prog, err := s.compileUnit(cell, u, i == len(units)-1)
		if err != nil {
			s.SyncOutput()
			if lenient && u.Kind == groupStmt {
				info.skipped++
				continue
			}
			return Result{Err: s.yaegiError(cell, "CompileError", err)}, info
		}
		if u.Kind == groupStmt {
			info.ranStmts = true
		}
		if err := s.run(ctx, label, prog); err != nil {
			if ctx.Err() != nil {
				return s.interrupted(label), info
			}
			s.SyncOutput()
			if lenient && u.Kind == groupStmt {
				s.stderr.takePanics()
				info.skipped++
				continue
			}
			return Result{Err: s.runError(cell, err)}, info
		}
		for name, path := range u.imports {
			s.imports[name] = path
		}
		s.noteDefined(u.node)
	}
	s.SyncOutput()
	res := Result{Notes: notes}
	if vals, ok := s.takeCaptured(); ok && len(vals) == 1 {
		res.Value = formatValue(vals[0])
	}
	return res, info
}

// Eval evaluates one expression, for user_expressions, and returns its
// value as a MIME bundle. Nothing it prints or displays is shown. The
// error is an *enginemsg.Error when the expression fails.
func (s *Session) Eval(ctx context.Context, expr string) (enginemsg.Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	s.SyncOutput()
	s.quiet.Store(true)
	defer func() {
		s.SyncOutput()
		s.quiet.Store(false)
	}()
	s.setCaptured(nil, false)
	src := captureCall + lineDirective(cell, 1, 1) + expr + ")"
	u, perr := s.parseUnit(cell, src, group{Kind: groupStmt, End: len(src), Line: 1, Col: 1})
	if perr != nil {
		return nil, s.compileError(cell, perr)
	}
	prog, err := s.compile(u.node)
	if err != nil {
		return nil, s.yaegiError(cell, "CompileError", err)
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

// newCell numbers a new cell and remembers its source. Numbers are
// slots that wrap around after cellSlots cells, which keeps line numbers
// within what a line directive allows (2^30) and bounds the sources kept
// for tracebacks; a traceback into a cell that many cells old is rare.
func (s *Session) newCell(code string) int {
	s.cells++
	slot := s.cells%cellSlots + 1
	s.sources[slot] = code
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

// lineDirective makes the parser count positions from line:col of the
// cell, whatever wraps the cell's text.
func lineDirective(cell, line, col int) string {
	return fmt.Sprintf("/*line %s:%d:%d*/", sourceName, cell*lineBase+line, col)
}

// cellLine splits a reported line number into cell and line.
func cellLine(line int) (cell, l int) {
	return line / lineBase, line % lineBase
}

// parseUnit parses group g of code in the interpreter's FileSet, wrapped
// as yaegi wants it, with positions as in the cell.
func (s *Session) parseUnit(cell int, code string, g group) (unit, scanner.ErrorList) {
	u := unit{group: g, text: code[g.Start:g.End]}
	head := "package main;"
	tail := ""
	if g.Kind == groupStmt {
		head = "package main; func main() {"
		tail = "\n}"
	}
	head += lineDirective(cell, g.Line, g.Col)
	fset := s.in.FileSet()
	f, err := parser.ParseFile(fset, sourceName, head+u.text+tail, parser.DeclarationErrors)
	if err != nil {
		var errs scanner.ErrorList
		if !errors.As(err, &errs) {
			errs = scanner.ErrorList{{Pos: token.Position{Line: cell*lineBase + g.Line, Column: g.Col}, Msg: err.Error()}}
		}
		for _, e := range errs {
			if e.Pos.Offset >= len(head)+len(u.text) { // in the wrapper's tail
				e.Msg = strings.NewReplacer("found '}'", "found the end of the cell", "found 'EOF'", "found the end of the cell").Replace(e.Msg)
			}
		}
		return u, errs
	}
	u.node = f
	if g.Kind != groupStmt {
		u.imports = s.dropKnownImports(f)
	}
	if declaresMain(f) {
		s.hasMain = true
		u.main = true
	}
	if s.hasMain {
		renameMain(f)
	}
	if g.Kind != groupStmt {
		if errs := s.rewrite(f.Decls, nil, nil); errs != nil {
			return u, errs
		}
		return u, nil
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	if errs := s.rewrite(nil, body.List, func(l []ast.Stmt) { body.List = l }); errs != nil {
		return u, errs
	}
	body.List = rewrite.ScopeCompound(body.List)
	u.node = body
	if n := len(body.List); n > 0 {
		if es, ok := body.List[n-1].(*ast.ExprStmt); ok && !rewrite.IsScoped(es) {
			file := fset.File(es.Pos())
			u.last = es
			u.lastOffset = [2]int{file.Offset(es.Pos()) - len(head), file.Offset(es.End()) - len(head)}
		}
	}
	return u, nil
}

// compileUnit compiles u. When u ends the cell with an expression, it
// first tries the version that captures the expression's values; that
// fails to compile when the expression has no value.
func (s *Session) compileUnit(cell int, u unit, lastUnit bool) (*interp.Program, error) {
	if lastUnit && u.last != nil {
		pos := s.in.FileSet().Position(u.last.Pos())
		_, line := cellLine(pos.Line)
		a, b := u.lastOffset[0], u.lastOffset[1]
		// A value whose type has a Display method renders itself; any
		// other value is captured as it is.
		for _, wrap := range [][2]string{{displayCall, displayEnd}, {captureCall, ")"}} {
			text := u.text[:a] + wrap[0] + lineDirective(cell, line, pos.Column) + u.text[a:b] + wrap[1] + u.text[b:]
			if w, errs := s.parseUnit(cell, text, group{Kind: groupStmt, End: len(text), Line: u.Line, Col: u.Col}); errs == nil {
				if prog, err := s.compile(w.node); err == nil {
					return prog, nil
				}
			}
		}
	}
	return s.compile(u.node)
}

// compile turns a parsed unit into a program, turning the interpreter's
// panics into errors.
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

// programMain returns a unit that calls main when the cell is a whole
// program: a package clause, a func main and no statements of its own.
func (s *Session) programMain(cell int, code string, units []unit) (unit, bool) {
	if !isProgram(code) {
		return unit{}, false
	}
	var decl *unit
	for i, u := range units {
		if u.Kind == groupStmt {
			return unit{}, false
		}
		if u.main {
			decl = &units[i]
		}
	}
	if decl == nil {
		return unit{}, false
	}
	const call = "main()"
	u, errs := s.parseUnit(cell, call, group{Kind: groupStmt, End: len(call), Line: decl.Line, Col: decl.Col})
	return u, errs == nil
}

// dropKnownImports removes from f the imports an earlier cell already
// made (yaegi refuses to import a name twice), and returns the others as
// package name to path.
func (s *Session) dropKnownImports(f *ast.File) map[string]string {
	added := map[string]string{}
	var decls []ast.Decl
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			decls = append(decls, d)
			continue
		}
		var specs []ast.Spec
		for _, sp := range gd.Specs {
			is := sp.(*ast.ImportSpec)
			path, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				specs = append(specs, sp)
				continue
			}
			name := importName(path)
			if is.Name != nil {
				name = is.Name.Name
			}
			if name != "_" && name != "." && s.imports[name] == path {
				continue
			}
			added[name] = path
			specs = append(specs, sp)
		}
		if len(specs) > 0 {
			gd.Specs = specs
			decls = append(decls, gd)
		}
	}
	f.Decls = decls
	f.Imports = nil
	for _, d := range decls {
		if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.IMPORT {
			for _, sp := range gd.Specs {
				f.Imports = append(f.Imports, sp.(*ast.ImportSpec))
			}
		}
	}
	return added
}

// importName is the name an import path is known by without an explicit
// name: its last element, skipping a major-version suffix such as /v2.
func importName(path string) string {
	parts := strings.Split(path, "/")
	name := parts[len(parts)-1]
	if len(parts) > 1 && len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = parts[len(parts)-2]
	}
	return name
}
