// Package assign makes the student version of a notebook written with
// nbgrader's cell metadata and markers, as `nbgrader generate_assignment`
// does, for Go cells: solution regions become a stub that still compiles,
// hidden tests go, outputs are cleared, graded and locked cells are made
// read-only.
//
// A solution region is the lines from `// BEGIN SOLUTION` to
// `// END SOLUTION` (each a line of its own) in a solution cell; a
// hidden-tests region is the lines from `// BEGIN HIDDEN TESTS` to
// `// END HIDDEN TESTS` in a graded cell. A solution region becomes
// `// YOUR CODE HERE`, indented like its BEGIN line, and, when it is in
// the body of a function with results, `panic("not implemented")` after
// it, so the student's version of the cell compiles and the function
// fails when called. A solution cell with no region is replaced whole.
//
// Teachers who run nbgrader itself get the same regions with
//
//	c.ClearSolutions.code_stub = {"go": "// YOUR CODE HERE\npanic(\"not implemented\")"}
//
// (nbgrader puts the panic after every region: in the classroom notebooks,
// whose regions are all in function bodies, a function without results
// then panics instead of doing nothing, and its exercise's check fails
// either way).
package assign

import (
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"strings"

	"atonce/internal/gosrc"
	"atonce/notebooks/ipynb"
)

// nbgrader's markers, and the stubs that replace solutions.
const (
	BeginSolution = "BEGIN SOLUTION"
	EndSolution   = "END SOLUTION"
	BeginHidden   = "BEGIN HIDDEN TESTS"
	EndHidden     = "END HIDDEN TESTS"

	CodeStub  = "// YOUR CODE HERE"
	PanicStub = `panic("not implemented")`
	TextStub  = "YOUR ANSWER HERE"
)

// Release returns the student version of nb, the teacher's (solution)
// version, which is not changed. Each error names the cell and the line.
func Release(nb *ipynb.Notebook) (*ipynb.Notebook, error) {
	if err := nb.CheckNbgrader(); err != nil {
		return nil, err
	}
	out := nb.Clone()
	for i, c := range out.Cells {
		if err := releaseCell(c); err != nil {
			return nil, fmt.Errorf("%s: %w", nb.Name(i), err)
		}
	}
	return out, nil
}

// releaseCell makes one cell the student's.
func releaseCell(c *ipynb.Cell) error {
	m, _, err := c.Nbgrader()
	if err != nil {
		return err
	}
	src := c.Source()
	code := c.Type() == ipynb.Code
	hidden, err := regions(src, BeginHidden, EndHidden, code)
	if err != nil {
		return err
	}
	if len(hidden) > 0 && !m.Grade {
		return errors.New("it has hidden tests but is not a graded cell: give it nbgrader metadata with \"grade\": true")
	}
	solutions, err := regions(src, BeginSolution, EndSolution, code)
	if err != nil {
		return err
	}
	if len(solutions) > 0 && !m.Solution {
		return errors.New("it has a solution region but is not a solution cell: give it nbgrader metadata with \"solution\": true")
	}
	if err := disjoint(hidden, solutions); err != nil {
		return err
	}
	switch {
	case len(solutions) > 0 && code:
		if src, err = ClearSolutions(src); err != nil {
			return err
		}
	case len(solutions) > 0:
		src = replace(src, solutions, func(region) []string { return []string{TextStub} })
	case m.Solution && code:
		src = CodeStub + "\n"
	case m.Solution:
		src = TextStub + "\n"
	}
	src = replace(src, reRegions(src, BeginHidden, EndHidden, code), func(region) []string { return nil })
	c.SetSource(src)
	c.ClearOutputs()
	// The test suite's expectations are not the student's.
	if err := c.SetMetadata("atonce", nil); err != nil {
		return err
	}
	// Locked as nbgrader locks them: tests and read-only cells cannot be
	// edited or deleted, solution cells cannot be deleted.
	switch {
	case (m.Grade && !m.Solution) || m.Locked:
		if err := c.SetMetadata("editable", false); err != nil {
			return err
		}
		return c.SetMetadata("deletable", false)
	case m.Solution:
		return c.SetMetadata("deletable", false)
	}
	return nil
}

// reRegions finds the regions of src again once they are known to be
// well formed.
func reRegions(src, begin, end string, code bool) []region {
	r, _ := regions(src, begin, end, code)
	return r
}

// ClearSolutions replaces the solution regions of a Go cell's source by
// the stub: `// YOUR CODE HERE`, indented like the region's BEGIN line,
// and `panic("not implemented")` when the region is in the body of a
// function with results. The cell must parse as Go (its magic lines
// aside).
func ClearSolutions(src string) (string, error) {
	rs, err := regions(src, BeginSolution, EndSolution, true)
	if err != nil || len(rs) == 0 {
		return src, err
	}
	results, err := needsValue(src)
	if err != nil {
		return "", err
	}
	return replace(src, rs, func(r region) []string {
		if results(r.begin) {
			return []string{CodeStub, PanicStub}
		}
		return []string{CodeStub}
	}), nil
}

// region is the lines begin..end (0-based, markers included) of a
// source, and the indent of its BEGIN line.
type region struct {
	begin, end int
	indent     string
}

// regions finds the regions between the begin and end markers in src. In
// code a marker is a Go comment on a line of its own (`// BEGIN
// SOLUTION`); a line that mentions a marker otherwise is an error, since
// nbgrader would take it for one. In text a line containing the marker is
// one. Regions do not nest and each BEGIN has its END.
func regions(src, begin, end string, code bool) ([]region, error) {
	var out []region
	open := -1
	var indent string
	for i, line := range strings.Split(src, "\n") {
		isBegin, err := marker(line, begin, code)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		isEnd, err := marker(line, end, code)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		switch {
		case isBegin && open >= 0:
			return nil, fmt.Errorf("line %d: %s inside the region that line %d begins; regions do not nest (end it first)", i+1, begin, open+1)
		case isBegin:
			open = i
			indent = line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		case isEnd && open < 0:
			return nil, fmt.Errorf("line %d: %s without a %s before it", i+1, end, begin)
		case isEnd:
			out = append(out, region{begin: open, end: i, indent: indent})
			open = -1
		}
	}
	if open >= 0 {
		return nil, fmt.Errorf("line %d: %s has no %s after it", open+1, begin, end)
	}
	return out, nil
}

// marker tells whether line is the marker m.
func marker(line, m string, code bool) (bool, error) {
	if !strings.Contains(line, m) {
		return false, nil
	}
	if !code {
		return true, nil
	}
	t := strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(t, "//"); ok && strings.TrimSpace(rest) == m {
		return true, nil
	}
	return false, fmt.Errorf("%q mentions %s: write the marker as a comment on a line of its own, // %s", t, m, m)
}

// disjoint checks that no hidden-tests region and solution region overlap.
func disjoint(a, b []region) error {
	for _, x := range a {
		for _, y := range b {
			if x.begin <= y.end && y.begin <= x.end {
				return fmt.Errorf("lines %d-%d: a hidden-tests region and a solution region overlap", max(x.begin, y.begin)+1, min(x.end, y.end)+1)
			}
		}
	}
	return nil
}

// replace replaces each region of src, markers included, by the lines
// stub gives, indented like the region.
func replace(src string, rs []region, stub func(region) []string) string {
	lines := strings.Split(src, "\n")
	var out []string
	next := 0
	for _, r := range rs {
		out = append(out, lines[next:r.begin]...)
		for _, s := range stub(r) {
			out = append(out, r.indent+s)
		}
		next = r.end + 1
	}
	out = append(out, lines[next:]...)
	return strings.Join(out, "\n")
}

// needsValue parses a Go cell and returns whether a line (0-based) is in
// the body of a function with results: a func declaration, a method or a
// func literal, the innermost that holds the line.
func needsValue(src string) (func(line int) bool, error) {
	cell := gosrc.Parse(gosrc.BlankMagics(src), gosrc.Options{})
	if len(cell.Err) > 0 {
		return nil, fmt.Errorf("the cell does not parse as Go, so its solution regions cannot be placed: %v", cell.Err[0])
	}
	type body struct {
		from, to int // lines of the braces, 1-based
		results  bool
	}
	var bodies []body
	for _, g := range cell.Groups {
		ast.Inspect(g.File, func(n ast.Node) bool {
			var ft *ast.FuncType
			var b *ast.BlockStmt
			switch f := n.(type) {
			case *ast.FuncDecl:
				ft, b = f.Type, f.Body
			case *ast.FuncLit:
				ft, b = f.Type, f.Body
			}
			if b != nil && b.Lbrace.IsValid() && b.Rbrace.IsValid() {
				bodies = append(bodies, body{
					from:    line(cell.Fset, b.Lbrace),
					to:      line(cell.Fset, b.Rbrace),
					results: ft.Results != nil && len(ft.Results.List) > 0,
				})
			}
			return true
		})
	}
	return func(l int) bool {
		l++ // 1-based, as positions are
		inner := -1
		for i, b := range bodies {
			if b.from < l && l < b.to && (inner < 0 || b.from >= bodies[inner].from) {
				inner = i
			}
		}
		return inner >= 0 && bodies[inner].results
	}, nil
}

func line(fset *token.FileSet, p token.Pos) int { return fset.Position(p).Line }
