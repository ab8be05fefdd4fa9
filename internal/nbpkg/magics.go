package nbpkg

import (
	"regexp"
	"strings"

	"atonce/internal/gosrc"
)

var (
	magicLine = regexp.MustCompile(`^[ \t]*%`)
	helpLine  = regexp.MustCompile(`^[ \t]*%{0,2}[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?\?{1,2}[ \t]*$`)
)

// stripMagics blanks the lines of a cell that are not Go: line magics
// (`%name args`), a cell magic's first line (`%%name args`, whose body is
// Go) and help requests (`name?`). Blank lines keep line numbers. A line
// inside a raw string or a block comment is left alone.
func stripMagics(cell string) string {
	if !strings.Contains(cell, "%") && !strings.Contains(cell, "?") {
		return cell
	}
	lines := strings.Split(cell, "\n")
	changed := false
	for i, l := range lines {
		if !magicLine.MatchString(l) && !helpLine.MatchString(l) {
			continue
		}
		if i > 0 && gosrc.InLiteral(strings.Join(lines[:i], "\n")) {
			continue
		}
		lines[i] = ""
		changed = true
	}
	if !changed {
		return cell
	}
	return strings.Join(lines, "\n")
}
