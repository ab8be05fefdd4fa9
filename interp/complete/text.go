package complete

import (
	"go/scanner"
	"go/token"
	"strings"
	"unicode"
	"unicode/utf8"
)

// runeToByte converts a cursor counted in runes to a byte offset in s,
// clamped to [0, len(s)].
func runeToByte(s string, cursor int) int {
	if cursor <= 0 {
		return 0
	}
	n := 0
	for i := range s {
		if n == cursor {
			return i
		}
		n++
	}
	return len(s)
}

// byteToRune converts a byte offset in s to a count of runes.
func byteToRune(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return utf8.RuneCountInString(s[:off])
}

// isIdentRune reports whether r may appear in a Go identifier.
func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// identStart returns the byte offset where the identifier ending at off begins.
func identStart(s string, off int) int {
	for off > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:off])
		if !isIdentRune(r) {
			break
		}
		off -= size
	}
	return off
}

// identEnd returns the byte offset where the identifier starting at off ends.
func identEnd(s string, off int) int {
	for off < len(s) {
		r, size := utf8.DecodeRuneInString(s[off:])
		if !isIdentRune(r) {
			break
		}
		off += size
	}
	return off
}

// chainStart returns where the operand ending at end (exclusive) begins:
// a chain like a.b(c)[d].e, with balanced brackets. It returns end when
// nothing usable precedes.
func chainStart(s string, end int) int {
	i := end
	for {
		if i == 0 {
			return i
		}
		switch c := s[i-1]; c {
		case ')', ']', '}':
			j := matchOpen(s, i-1)
			if j < 0 {
				return end
			}
			i = j
			// A call, index or composite literal continues with what precedes.
			if i > 0 {
				p := s[i-1]
				if p == ')' || p == ']' || p == '}' {
					continue
				}
				if r, _ := utf8.DecodeLastRuneInString(s[:i]); isIdentRune(r) {
					i = identStart(s, i)
				}
			}
		default:
			r, _ := utf8.DecodeLastRuneInString(s[:i])
			if !isIdentRune(r) {
				return i
			}
			i = identStart(s, i)
		}
		if i > 0 && s[i-1] == '.' {
			i--
			continue
		}
		return i
	}
}

// matchOpen returns the offset of the bracket opening the one closed at
// s[close], or -1.
func matchOpen(s string, close int) int {
	depth := 0
	for i := close; i >= 0; i-- {
		switch s[i] {
		case ')', ']', '}':
			depth++
		case '(', '[', '{':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// inLiteralOrComment reports whether byte offset off in src falls inside
// a string, rune literal or comment (where completion makes no sense).
func inLiteralOrComment(src string, off int) bool {
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, len(src))
	unclosed := map[int]bool{} // offsets of unterminated literals and comments
	var s scanner.Scanner
	s.Init(f, []byte(src), func(p token.Position, msg string) {
		if strings.HasSuffix(msg, "not terminated") {
			unclosed[p.Offset] = true
		}
	}, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return false
		}
		start := f.Offset(pos)
		if start >= off {
			return false
		}
		switch tok {
		case token.STRING, token.CHAR, token.COMMENT:
			end := start + len(lit)
			lineComment := tok == token.COMMENT && strings.HasPrefix(lit, "//")
			if off < end || (off == end && (unclosed[start] || lineComment)) {
				return true
			}
		}
	}
}

// keywords are Go's reserved words.
var keywords = []string{
	"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface",
	"map", "package", "range", "return", "select", "struct", "switch", "type", "var",
}

// builtins are Go's predeclared identifiers that the notebook's interpreter
// (yaegi v0.16.1) supports; min, max and clear are left out because it
// lacks them.
var builtins = []string{
	"any", "append", "bool", "byte", "cap", "close", "comparable", "complex",
	"complex128", "complex64", "copy", "delete", "error", "false", "float32",
	"float64", "imag", "int", "int16", "int32", "int64", "int8", "iota", "len",
	"make", "new", "nil", "panic", "print", "println", "real", "recover", "rune",
	"string", "true", "uint", "uint16", "uint32", "uint64", "uint8", "uintptr",
}

// isBuiltin reports whether name is in builtins.
func isBuiltin(name string) bool {
	for _, b := range builtins {
		if b == name {
			return true
		}
	}
	return false
}
