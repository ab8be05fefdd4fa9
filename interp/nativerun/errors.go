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

// PanicSite finds where in the cells a native panic happened, from the
// stack its message carries (models/native puts the panicking goroutine's
// frames after a blank line; the generator's //line directives make their
// positions the cells', "cell2:7"): the innermost frame in a cell, with
// its line's source. lineOffset is taken off the line of a position in
// the last cell (a timing's statement starts below the lines atonce
// adds). ok is false when the message carries no position in a cell.
func (b *Build) PanicSite(msg string, lineOffset int) (site native.CellError, ok bool) {
	_, stack, found := strings.Cut(msg, "\n\n")
	if !found {
		return site, false
	}
	for _, l := range strings.Split(stack, "\n") {
		if !strings.HasPrefix(l, "\t") {
			continue
		}
		cell, line, col, ok := native.ParsePosition(l)
		if !ok {
			continue
		}
		if cell == len(b.Program.Cells) {
			line = max(line-lineOffset, 1)
			site = b.Program.At(cell, line+lineOffset, col, "")
			site.Line = line
			return site, true
		}
		return b.Program.At(cell, line, col, ""), true
	}
	return site, false
}

// WherePanicked rewrites a native task's error so that its first line
// says where in the cells it panicked, "task 3 panicked: boom (this cell,
// line 5)", the stack kept below; other errors stay as they are. current
// names the last cell, as in CompileErrorOf.
func (b *Build) WherePanicked(msg, current string) string {
	site, ok := b.PanicSite(msg, 0)
	if !ok {
		return msg
	}
	first, rest, _ := strings.Cut(msg, "\n")
	return first + " (" + where(site, b.Program.Cells, current) + ")\n" + rest
}

// Where says where site is, in the words of CompileErrorOf: "this cell,
// line 5", "the cell that begins `func f() {`, line 5".
func (b *Build) Where(site native.CellError, current string) string {
	return where(site, b.Program.Cells, current)
}
