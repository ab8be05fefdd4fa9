package interp

import (
	"errors"
	"fmt"
	"go/scanner"
	"regexp"
	"strconv"
	"strings"

	"atonce/internal/enginemsg"
	"atonce/internal/gosrc"
	"atonce/interp/check"
	"atonce/interp/rewrite"

	"github.com/traefik/yaegi/interp"
)

// maxFrames bounds the frames a panic's traceback shows.
const maxFrames = 6

// compileError reports the parse errors of cell.
func (s *Session) compileError(cell int, errs scanner.ErrorList) *enginemsg.Error {
	errs.Sort()
	e := &enginemsg.Error{Name: "CompileError"}
	for i, pe := range errs {
		c, line, col := s.position(pe.Pos.Line, pe.Pos.Column)
		msg := fmt.Sprintf("%d:%d: %s", line, col, s.cleanPositions(pe.Msg))
		if i == 0 {
			e.Value = msg
		}
		e.Traceback = append(e.Traceback, s.where(cell, c, msg))
		e.Traceback = append(e.Traceback, s.excerpt(c, line, col)...)
	}
	if n := len(errs); n > 1 {
		e.Value += fmt.Sprintf(" (and %d more)", n-1)
	}
	return e
}

// errPos matches an error message that starts with a position, as yaegi
// writes them: "7000002:5: undefined: x".
var errPos = regexp.MustCompile(`(?s)^(?:_\.go:)?(\d+):(\d+): (.*)$`)

// yaegiError reports an error yaegi returned for cell, with its position
// relative to the cell.
func (s *Session) yaegiError(cell int, ename string, err error) *enginemsg.Error {
	msg := err.Error()
	m := errPos.FindStringSubmatch(msg)
	if m == nil {
		msg = s.cleanPositions(msg)
		return &enginemsg.Error{Name: ename, Value: msg, Traceback: []string{ename + ": " + msg}}
	}
	l, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	c, line, col := s.position(l, col)
	value := fmt.Sprintf("%d:%d: %s", line, col, s.cleanPositions(m[3]))
	tb := append([]string{s.where(cell, c, value)}, s.excerpt(c, line, col)...)
	return &enginemsg.Error{Name: ename, Value: value, Traceback: tb}
}

// compileFailure reports a group of cell that yaegi did not compile.
// yaegi's messages for a name defined nowhere are cryptic: then the names
// the cell's groups use that nothing defines are named instead, read from
// the trees as they compiled (the cell is not parsed again).
func (s *Session) compileFailure(cell int, groups []*gosrc.Group, err error) *enginemsg.Error {
	if msg := err.Error(); crypticUndefined.MatchString(msg) {
		// Names the rewrites made up and a renamed main are not the
		// user's.
		known := func(name string) bool {
			return s.knownName(name) || name == mainName || strings.HasPrefix(name, rewrite.Prefix)
		}
		if names := undefinedNames(groups, known); len(names) > 0 {
			return s.undefinedError(cell, names)
		}
		if definitionLoop.MatchString(msg) {
			// Every name is defined: yaegi failed to type a top-level
			// definition (seen with struct values taken out of a
			// slice of host structs). Say what works instead.
			err = fmt.Errorf("%w (the interpreter could not work out this top-level definition's type; it works inside a func, e.g. func pick() T { return ... }, or with the value used directly)", err)
		}
	}
	return s.yaegiError(cell, "CompileError", err)
}

// runError reports an error a cell's run returned: a panic, or an error of
// the interpreter.
func (s *Session) runError(cell int, err error) *enginemsg.Error {
	var p interp.Panic
	if !errors.As(err, &p) {
		return s.yaegiError(cell, "RuntimeError", err)
	}
	s.SyncOutput()
	msg := fmt.Sprint(p.Value)
	e := &enginemsg.Error{Name: "panic", Value: msg, Traceback: []string{"panic: " + msg}}
	if f, ok := p.Value.(*check.Failure); ok {
		// An exercise's check that did not hold: what was wanted and got,
		// the hint on a line of its own, then where the check is.
		e = checkFailed(f)
	}
	var last string
	frames := 0
	for _, l := range s.stderr.takePanics() {
		m := panicLine.FindStringSubmatch(l)
		if m == nil || l == last {
			continue
		}
		last = l
		if frames++; frames > maxFrames {
			e.Traceback = append(e.Traceback, "  ...")
			break
		}
		rawLine, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		c, line, col := s.position(rawLine, col)
		if c == cell && s.vague[[2]int{line, col}] {
			e.Traceback = append(e.Traceback, "  in the cell's top-level code")
			continue
		}
		at := fmt.Sprintf("%d:%d", line, col)
		if fn := strings.ReplaceAll(strings.TrimPrefix(m[3], "main."), mainName, "main"); fn != "" && fn != "main" {
			at += " in " + fn
		}
		e.Traceback = append(e.Traceback, "  "+s.where(cell, c, at))
		for _, x := range s.excerpt(c, line, col) {
			e.Traceback = append(e.Traceback, "  "+x)
		}
	}
	return e
}

// checkFailed is the error of a cell whose check did not hold (package
// check): ename CheckFailed, the failure as its value; the traceback
// says it again with the hint on a line of its own, and runError adds
// where the check is.
func checkFailed(f *check.Failure) *enginemsg.Error {
	plain := *f
	plain.Hint = ""
	tb := []string{"CheckFailed: " + plain.Error()}
	if f.Hint != "" {
		tb = append(tb, "hint: "+f.Hint)
	}
	return &enginemsg.Error{Name: "CheckFailed", Value: f.Error(), Traceback: tb}
}

// position decodes a reported line:col into cell, line and column, with
// line:col kept inside the cell's source: parse errors at the end of a
// cell are reported past it, in the wrapper the session adds.
func (s *Session) position(rawLine, col int) (cell, line, column int) {
	cell, line = cellLine(rawLine)
	src, ok := s.sources[cell]
	if !ok {
		return cell, line, col
	}
	lines := strings.Split(src, "\n")
	if line > len(lines) {
		line = len(lines)
		col = len(lines[line-1]) + 1
	}
	return cell, line, col
}

// otherPos matches positions inside messages, such as "previous
// declaration at 7000002:5".
var otherPos = regexp.MustCompile(`(?:_\.go:)?(\d{7,}):(\d+)`)

// cleanPositions rewrites the positions inside msg relative to their
// cell, and gives main back its name.
func (s *Session) cleanPositions(msg string) string {
	msg = strings.ReplaceAll(msg, mainName, "main")
	return otherPos.ReplaceAllStringFunc(msg, func(p string) string {
		m := otherPos.FindStringSubmatch(p)
		l, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		_, line, col := s.position(l, col)
		return fmt.Sprintf("%d:%d", line, col)
	})
}

// where prefixes msg, about a position in cell posCell, with "(in an
// earlier cell)" when that is not the current cell.
func (s *Session) where(cell, posCell int, msg string) string {
	if posCell == cell || posCell == 0 {
		return msg
	}
	return "(in an earlier cell) " + msg
}

// excerpt shows the line of cell's source with a caret under col.
func (s *Session) excerpt(cell, line, col int) []string {
	src, ok := s.sources[cell]
	if !ok {
		return nil
	}
	return gosrc.Excerpt(src, line, col)
}

// definitionLoop matches yaegi's message for a top-level definition it
// could not type.
var definitionLoop = regexp.MustCompile(`(constant|variable) definition loop`)

// knownName tells whether the notebook defines name: an earlier cell's
// declaration, or an imported package.
func (s *Session) knownName(name string) bool {
	_, imported := s.imports[name]
	return s.defined[name] || imported
}

// undefinedError says which names a cell uses without defining them,
// pointing at the first use of the first.
func (s *Session) undefinedError(cell int, names []string) *enginemsg.Error {
	value := "undefined: " + strings.Join(names, ", ")
	src := s.sources[cell]
	line, col := 1, 1
	if i := firstWord(src, names[0]); i >= 0 {
		line = strings.Count(src[:i], "\n") + 1
		col = i - strings.LastIndexByte(src[:i], '\n')
		value = fmt.Sprintf("%d:%d: %s", line, col, value)
	}
	tb := append([]string{s.where(cell, cell, value)}, s.excerpt(cell, line, col)...)
	return &enginemsg.Error{Name: "CompileError", Value: value, Traceback: tb}
}

// firstWord returns the offset of the first whole-word occurrence of word
// in src, or -1.
func firstWord(src, word string) int {
	re := regexp.MustCompile(`\b` + regexp.QuoteMeta(word) + `\b`)
	if loc := re.FindStringIndex(src); loc != nil {
		return loc[0]
	}
	return -1
}
