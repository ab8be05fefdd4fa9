package nativerun

import (
	"fmt"
	"strings"

	"atonce/internal/enginemsg"
	"atonce/interp/native"
)

// CompileErrorOf is the cell's error output for code the Go compiler
// refused: each error at the cell and line as the user typed them, with
// the line and a caret under the column, as the interpreter shows its own
// compile errors. cells are the cells the program was generated from;
// current, if not "", is what to call the last of them, when it is the
// code being run ("this cell" for a %%models cell's body, which ran
// first).
func CompileErrorOf(ce *native.CompileError, cells []string, current string) *enginemsg.Error {
	e := &enginemsg.Error{Name: "CompileError"}
	e.Traceback = append(e.Traceback, "the Go compiler refused the notebook's code (it is stricter than the interpreter, which ran it):")
	for i, ce := range ce.Errors {
		msg := where(ce, cells, current) + ": " + ce.Msg
		if i == 0 {
			e.Value = msg
		}
		e.Traceback = append(e.Traceback, msg)
		for _, l := range ce.Excerpt() {
			e.Traceback = append(e.Traceback, "    "+l)
		}
	}
	if n := len(ce.Errors); n > 1 {
		e.Value += fmt.Sprintf(" (and %d more)", n-1)
	}
	e.Traceback = append(e.Traceback, "Native mode compiles every declaration of the notebook: run the corrected declaration in a cell (the last definition wins), and run this again.")
	if len(ce.Errors) == 0 {
		e.Value = "the Go compiler refused the notebook's code"
		e.Traceback = append(e.Traceback, strings.Split(strings.TrimSpace(ce.Output), "\n")...)
	}
	return e
}

// where says where an error is: "this cell, line 3:5", or "the cell
// that begins `func f() {`, line 3:5".
func where(ce native.CellError, cells []string, current string) string {
	pos := fmt.Sprintf("line %d", ce.Line)
	if ce.Col > 0 {
		pos += fmt.Sprintf(":%d", ce.Col)
	}
	switch {
	case ce.Cell == 0:
		return "in the code atonce generated around the cells (a bug in atonce)"
	case ce.Cell == len(cells) && current != "":
		return current + ", " + pos
	case ce.Cell > len(cells):
		return fmt.Sprintf("cell %d, %s", ce.Cell, pos)
	}
	first := strings.TrimSpace(firstCodeLine(cells[ce.Cell-1]))
	if r := []rune(first); len(r) > 40 {
		first = string(r[:37]) + "..."
	}
	return fmt.Sprintf("the cell that begins `%s`, %s", first, pos)
}

// firstCodeLine is the first line of src that is not blank.
func firstCodeLine(src string) string {
	for _, l := range strings.Split(src, "\n") {
		if strings.TrimSpace(l) != "" {
			return l
		}
	}
	return ""
}
