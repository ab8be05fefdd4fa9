// Package magic is the kernel's magics framework: it splits a cell into
// Go code and magic invocations (`%name args` lines, a `%%name args`
// first line, `name?` help requests), keeps the table of magics with
// their documentation, and runs a cell step by step. The concurrency
// magics register themselves here like the built-in ones.
package magic

import (
	"regexp"
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

var (
	magicLine = regexp.MustCompile(`^[ \t]*%([A-Za-z][\w-]*)(.*)$`)
	cellMagic = regexp.MustCompile(`^[ \t]*%%([A-Za-z][\w-]*)(.*)$`)
	helpLine  = regexp.MustCompile(`^[ \t]*(%{0,2}[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)?)\?{1,2}[ \t]*$`)
)

// Has reports whether the cell contains anything but Go code.
func Has(cell string) bool {
	for _, st := range Parse(cell) {
		if st.Magic != nil || st.Help != "" {
			return true
		}
	}
	return false
}

// Parse splits a cell into steps, in order. A cell whose first non-blank
// line is `%%name args` is one cell magic. Otherwise lines that start
// with % and a letter, or that are just `name?`, are magic or help steps
// unless they are inside a string or comment; the rest is Go code.
func Parse(cell string) []Step {
	lines := strings.Split(cell, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if m := helpLine.FindStringSubmatch(l); m != nil && len(lines[i+1:]) == 0 {
			return []Step{{Help: m[1]}}
		}
		if m := cellMagic.FindStringSubmatch(l); m != nil {
			return []Step{{Magic: &Call{
				Name: m[1], Args: strings.TrimSpace(m[2]), Cell: true, Line: i + 1,
				Body: strings.Repeat("\n", i+1) + strings.Join(lines[i+1:], "\n"),
			}}}
		}
		break
	}
	var steps []Step
	start := 0 // first line of the pending Go chunk
	flush := func(end int) {
		chunk := strings.Join(lines[start:end], "\n")
		if strings.TrimSpace(chunk) != "" {
			steps = append(steps, Step{Code: strings.Repeat("\n", start) + chunk})
		}
	}
	for i, l := range lines {
		// Only a line that looks like a magic needs the scan that tells
		// whether it is inside a string or comment of the pending Go code.
		// Magic lines are left out of that scan: their text is not Go.
		if !maybeMagic(l) || gosrc.InLiteral(strings.Join(lines[start:i], "\n")) {
			continue
		}
		if m := helpLine.FindStringSubmatch(l); m != nil {
			flush(i)
			steps = append(steps, Step{Help: m[1]})
			start = i + 1
			continue
		}
		if m := cellMagic.FindStringSubmatch(l); m != nil {
			flush(i)
			steps = append(steps, Step{Magic: &Call{Name: m[1], Args: strings.TrimSpace(m[2]), Cell: true, Line: i + 1, Misplaced: true}})
			start = i + 1
			continue
		}
		if m := magicLine.FindStringSubmatch(l); m != nil {
			flush(i)
			steps = append(steps, Step{Magic: &Call{Name: m[1], Args: strings.TrimSpace(m[2]), Line: i + 1}})
			start = i + 1
		}
	}
	flush(len(lines))
	return steps
}

// maybeMagic tells whether line has the form of a magic, a cell magic or
// a help request.
func maybeMagic(line string) bool {
	return magicLine.MatchString(line) || cellMagic.MatchString(line) || helpLine.MatchString(line)
}
