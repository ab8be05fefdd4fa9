// Package magic is the kernel's magics framework: it splits a cell into
// Go code and magic invocations (`%name args` lines, a `%%name args`
// first line, `name?` help requests), keeps the table of magics with
// their documentation, and runs a cell step by step. The concurrency
// magics register themselves here like the built-in ones.
package magic

import (
	"strings"

	"atonce/internal/gosrc"
)

// Call is one magic invocation.
type Call struct {
	Name string // without the % signs
	Args string // the rest of the magic's line
	Body string // a cell magic's body: the lines after the first
	Cell bool   // %%name rather than %name
	Line int    // the line of the cell it is on, from 1
	// Misplaced marks a %%name line that is not the cell's first.
	Misplaced bool
}

// Step is one piece of a cell: Go code, a magic call or a help request.
type Step struct {
	// Code is Go source. It is preceded by blank lines so that line
	// numbers in errors match the cell's.
	Code  string
	Magic *Call
	// Help names what `name?` asks about: a magic ("%time", "time") or a
	// Go identifier or selector ("fmt.Println").
	Help string
}

// Parse splits a cell into steps, in order: the lines gosrc.Magics finds
// are magic or help steps (a cell magic on the first line takes the whole
// cell; one on another line is Misplaced), the rest is Go code.
func Parse(cell string) []Step {
	lines := strings.Split(cell, "\n")
	var steps []Step
	start := 0 // first line of the pending Go chunk
	flush := func(end int) {
		chunk := strings.Join(lines[start:end], "\n")
		if strings.TrimSpace(chunk) != "" {
			steps = append(steps, Step{Code: strings.Repeat("\n", start) + chunk})
		}
	}
	for _, m := range gosrc.Magics(cell) {
		i := m.Line
		switch {
		case m.Kind == gosrc.CellMagic && strings.TrimSpace(strings.Join(lines[:i], "")) == "":
			return []Step{{Magic: &Call{
				Name: m.Name, Args: m.Args, Cell: true, Line: i + 1,
				Body: strings.Repeat("\n", i+1) + strings.Join(lines[i+1:], "\n"),
			}}}
		case m.Kind == gosrc.Help:
			flush(i)
			steps = append(steps, Step{Help: m.Name})
		default:
			flush(i)
			steps = append(steps, Step{Magic: &Call{Name: m.Name, Args: m.Args, Cell: m.Kind == gosrc.CellMagic, Line: i + 1, Misplaced: m.Kind == gosrc.CellMagic}})
		}
		start = i + 1
	}
	flush(len(lines))
	return steps
}
