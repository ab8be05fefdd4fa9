package gosrc

import (
	"regexp"
	"strings"
)

// MagicKind tells what a line of a cell that is not Go asks for.
type MagicKind int

// The kinds of lines that are not Go.
const (
	LineMagic MagicKind = iota + 1 // %name args
	CellMagic                      // %%name args
	Help                           // name? or name??: a request for documentation
)

// Magic is a line of a cell that is not Go: a magic or a help request.
type Magic struct {
	// Line is the line's index in the cell, from 0.
	Line int
	Kind MagicKind
	// Name is the magic's name without its % signs; for Help, what is
	// asked about, as written: "%time", "time", "fmt.Println".
	Name string
	// Args is the rest of a magic's line, trimmed.
	Args string
}

var (
	magicLine = regexp.MustCompile(`^[ \t]*%([A-Za-z][\w-]*)(.*)$`)
	cellMagic = regexp.MustCompile(`^[ \t]*%%([A-Za-z][\w-]*)(.*)$`)
	helpLine  = regexp.MustCompile(`^[ \t]*(%{0,2}[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)?)\?{1,2}[ \t]*$`)
)

// Magics returns the lines of a cell that are not Go, in order. It is
// the one rule by which the kernel runs a cell and by which completion,
// inspection and the sharing analysis read one.
//
// A cell whose first non-blank line is `%%name args` is that cell
// magic's: the lines after it are its body (Go, for atonce's magics), and
// it is the only Magic; `name?` as the first non-blank line and the
// cell's last is a help request. Otherwise a line is a magic when it
// starts with % and a letter (%% and a letter: a cell magic not on the
// first line), and a help request when it is just a name, a selector or a
// magic followed by ? or ??, unless it is inside a raw string or a block
// comment of the Go code before it.
func Magics(cell string) []Magic {
	if !strings.ContainsAny(cell, "%?") {
		return nil
	}
	lines := strings.Split(cell, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if m := helpLine.FindStringSubmatch(l); m != nil && i == len(lines)-1 {
			return []Magic{{Line: i, Kind: Help, Name: m[1]}}
		}
		if m := cellMagic.FindStringSubmatch(l); m != nil {
			return []Magic{{Line: i, Kind: CellMagic, Name: m[1], Args: strings.TrimSpace(m[2])}}
		}
		break
	}
	var out []Magic
	start := 0 // the first line of the Go code since the last magic
	for i, l := range lines {
		// Only a line that looks like a magic needs the scan that tells
		// whether it is inside a literal of the Go code before it. Magic
		// lines are left out of that scan: their text is not Go.
		if !maybeMagic(l) || InLiteral(strings.Join(lines[start:i], "\n")) {
			continue
		}
		out = append(out, magicOf(i, l))
		start = i + 1
	}
	return out
}

// maybeMagic tells whether line has the form of a magic, a cell magic or
// a help request.
func maybeMagic(line string) bool {
	return magicLine.MatchString(line) || cellMagic.MatchString(line) || helpLine.MatchString(line)
}

// magicOf reads line i, which has the form of a magic (maybeMagic): a
// help request first, since %%name? is one.
func magicOf(i int, line string) Magic {
	if m := helpLine.FindStringSubmatch(line); m != nil {
		return Magic{Line: i, Kind: Help, Name: m[1]}
	}
	if m := cellMagic.FindStringSubmatch(line); m != nil {
		return Magic{Line: i, Kind: CellMagic, Name: m[1], Args: strings.TrimSpace(m[2])}
	}
	m := magicLine.FindStringSubmatch(line)
	return Magic{Line: i, Kind: LineMagic, Name: m[1], Args: strings.TrimSpace(m[2])}
}

// BlankMagics returns the cell with the lines Magics finds made blanks
// (spaces): the Go code left keeps every byte offset, line and column.
func BlankMagics(cell string) string {
	ms := Magics(cell)
	if len(ms) == 0 {
		return cell
	}
	lines := strings.Split(cell, "\n")
	for _, m := range ms {
		lines[m.Line] = strings.Repeat(" ", len(lines[m.Line]))
	}
	return strings.Join(lines, "\n")
}
