package native

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"atonce/internal/gosrc"
)

// CompileError is the Go compiler's refusal of a notebook's program, its
// errors positioned in the cells as the user typed them.
type CompileError struct {
	Errors []CellError
	// Output is what the go command said, as it said it.
	Output string
}

// CellError is one compiler error.
type CellError struct {
	// Cell is the cell's position in the history given to Generate, from
	// 1; 0 for an error in the code atonce generated around the cells (a
	// bug in atonce).
	Cell int
	// Line and Col are the position in the cell (Col from 1, in bytes; 0
	// when the compiler gave none).
	Line, Col int
	Msg       string
	// Source is the cell's line the error is on.
	Source string
}

// Excerpt is the error's line with a caret under its column, as the
// interpreter's compile errors show it; the line alone when the column is
// not known (a panic's traceback gives none).
func (e CellError) Excerpt() []string {
	if e.Source == "" {
		return nil
	}
	x := gosrc.Excerpt(e.Source, 1, max(e.Col, 1))
	if e.Col == 0 {
		return x[:1]
	}
	return x
}

// At is msg at cell, line and col (0 when not known) of the program's
// cells, with the line's source: for a position a panic's traceback or
// the race detector names (see ParsePosition).
func (p *Program) At(cell, line, col int, msg string) CellError {
	e := CellError{Cell: cell, Line: line, Col: col, Msg: msg}
	if cell >= 1 && cell <= len(p.Cells) {
		if lines := strings.Split(p.Cells[cell-1], "\n"); line >= 1 && line <= len(lines) {
			e.Source = lines[line-1]
		}
	}
	return e
}

// ParsePosition reads a position in a cell as the program's tracebacks
// and the race detector write it, "cell2:7" or "cell2:7:3" (the first in
// s); ok false when s holds none.
func ParsePosition(s string) (cell, line, col int, ok bool) {
	m := cellPos.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, 0, false
	}
	cell, _ = strconv.Atoi(m[1])
	line, _ = strconv.Atoi(m[2])
	col, _ = strconv.Atoi(m[3])
	return cell, line, col, true
}

// String is "cell 2, line 4:5: declared and not used: x".
func (e CellError) String() string {
	if e.Cell == 0 {
		return "in the code atonce generated around the cells (a bug in atonce): " + e.Msg
	}
	if e.Col == 0 {
		return fmt.Sprintf("cell %d, line %d: %s", e.Cell, e.Line, e.Msg)
	}
	return fmt.Sprintf("cell %d, line %d:%d: %s", e.Cell, e.Line, e.Col, e.Msg)
}

// Error lists the errors, each with its excerpt.
func (e *CompileError) Error() string {
	var b strings.Builder
	b.WriteString("the Go compiler refused the notebook's code (it is stricter than the interpreter):")
	for _, ce := range e.Errors {
		b.WriteString("\n" + ce.String())
		for _, l := range ce.Excerpt() {
			b.WriteString("\n" + l)
		}
	}
	return b.String()
}

var (
	// errLine is a compiler error's first line: "cell2:4:5: msg", or
	// "./main.go:3:1: msg" in the generated code.
	errLine = regexp.MustCompile(`^(?:\./)?([\w.-]+?):(\d+)(?::(\d+))?: (.*)$`)
	// cellPos is a position inside a message ("other declaration of x
	// at cell1:2:6").
	cellPos = regexp.MustCompile(`(?:\./)?cell(\d+):(\d+)(?::(\d+))?`)
)

// buildError explains a failed build of p: a *CompileError when the
// compiler refused the code, else the go command's words.
func buildError(p *Program, err error) error {
	var ge *goError
	if !errors.As(err, &ge) {
		return fmt.Errorf("building the native program: %w", err)
	}
	ce := parseCompileErrors(p, ge.stderr)
	if ce == nil {
		return fmt.Errorf("building the native program failed: %w", err)
	}
	return ce
}

// parseCompileErrors reads the compiler's errors out of the go command's
// standard error; nil when there are none (a failure of another kind).
func parseCompileErrors(p *Program, out string) *CompileError {
	ce := &CompileError{Output: out}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "\t") && len(ce.Errors) > 0 {
			last := &ce.Errors[len(ce.Errors)-1]
			last.Msg += "\n" + cleanMsg(line)
			continue
		}
		m := errLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		l, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		e := CellError{Line: l, Col: col, Msg: cleanMsg(m[4])}
		if n, ok := strings.CutPrefix(m[1], "cell"); ok {
			if c, err := strconv.Atoi(n); err == nil && c >= 1 && c <= len(p.Cells) {
				e = p.At(c, l, col, e.Msg)
			}
		}
		if e.Cell == 0 {
			if !strings.HasSuffix(m[1], ".go") {
				continue
			}
			e.Msg = fmt.Sprintf("%s:%d: %s", m[1], l, e.Msg)
			e.Line, e.Col = 0, 0
		}
		ce.Errors = append(ce.Errors, e)
	}
	if len(ce.Errors) == 0 {
		return nil
	}
	// In the notebook's order; the generated code's errors last.
	slices.SortStableFunc(ce.Errors, func(a, b CellError) int {
		if (a.Cell == 0) != (b.Cell == 0) {
			return cmp.Compare(b.Cell, a.Cell)
		}
		return cmp.Or(cmp.Compare(a.Cell, b.Cell), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return ce
}

// cleanMsg writes a compiler message in the notebook's words: positions
// as cells and lines, the renamed main and the runtime's Sleep as the
// user wrote them.
func cleanMsg(msg string) string {
	msg = strings.NewReplacer(mainName, "main", "__atonce.Sleep", "time.Sleep").Replace(msg)
	return cellPos.ReplaceAllStringFunc(msg, func(s string) string {
		m := cellPos.FindStringSubmatch(s)
		return fmt.Sprintf("cell %s line %s", m[1], m[2])
	})
}
