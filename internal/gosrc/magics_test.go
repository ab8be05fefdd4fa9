package gosrc

import (
	"fmt"
	"strings"
	"testing"
)

// magicsString shows a cell's Magics as "line:kind:name args" entries
// joined by " | ", kind one of %, %%, ?.
func magicsString(ms []Magic) string {
	var out []string
	for _, m := range ms {
		kind := map[MagicKind]string{LineMagic: "%", CellMagic: "%%", Help: "?"}[m.Kind]
		out = append(out, strings.TrimSpace(fmt.Sprintf("%d:%s:%s %s", m.Line, kind, m.Name, m.Args)))
	}
	return strings.Join(out, " | ")
}

// The cases the kernel's step parser, completion's and the sharing
// analysis's magic stripping each handled when they had rules of their own.
func TestMagics(t *testing.T) {
	for _, tt := range []struct {
		name, cell string
		want       string // see magicsString
		blank      string // the cell after BlankMagics; "" when it is the cell
	}{
		{"plain go", "x := 1\ny := x % 2", "", ""},
		{"no magic, a question mark in a string", "s := \"why?\"", "", ""},
		{"line magic between go", "x := 1\n%time f(x)\ny := 2", "1:%:time f(x)", "x := 1\n          \ny := 2"},
		{"line magic alone", "%time f()", "0:%:time f()", "         "},
		{"line magic then go", "%time\nx := 1", "0:%:time", "     \nx := 1"},
		{"cell magic", "%%models -n 4\nfunc Task(i int) {}", "0:%%:models -n 4", "             \nfunc Task(i int) {}"},
		{"cell magic alone", "%%time\n", "0:%%:time", "      \n"},
		{"cell magic then an open func", "%%time\nfunc f() {", "0:%%:time", "      \nfunc f() {"},
		{"cell magic after blank lines", "\n\n%%time\nx := 1", "2:%%:time", "\n\n      \nx := 1"},
		{"a cell magic's body is Go", "%%time\n%who\nx := 1", "0:%%:time", "      \n%who\nx := 1"},
		{"misplaced cell magic", "x := 1\n%%time", "1:%%:time", "x := 1\n      "},
		{"help on a go name", "fmt.Println?", "0:?:fmt.Println", "            "},
		{"help on a magic", "%timeit?", "0:?:%timeit", "        "},
		{"help on a cell magic", "%%models?", "0:?:%%models", "         "},
		{"a cell magic asked ? with a body", "%%models?\nx := 1", "0:%%:models ?", "         \nx := 1"},
		{"double question mark", "time??", "0:?:time", "      "},
		{"help then code", "x?\ny := 1", "0:?:x", "  \ny := 1"},
		{"help after a func", "func work() {}\nwork?", "1:?:work", "func work() {}\n     "},
		{"not a help selector", "a.b.c?", "", ""},
		{"indented magic", "if true {\n\t%time f()\n}", "1:%:time f()", "if true {\n          \n}"},
		{"magic inside a func body", "%who\nfunc work(i int) {\n\t%not go\n\tcounter++\n}\nwork?",
			"0:%:who | 2:%:not go | 5:?:work", "    \nfunc work(i int) {\n        \n\tcounter++\n}\n     "},
		{"percent and no letter is go", "% 2\n%1", "", ""},
		{"percent in raw string", "s := `\n%not a magic\n`\nfmt.Println(s)", "", ""},
		{"help in raw string", "s := `\nx?\n`", "", ""},
		{"percent in block comment", "/*\n%nope\n*/\nx := 1", "", ""},
		{"modulo continuation", "y := 7 %\n3", "", ""},
		{"backquote on a magic line", "%env X=`\nx := 1\n%who", "0:%:env X=` | 2:%:who", "        \nx := 1\n    "},
		{"comment opener on a magic line", "%env X=/*\nx := 1\n%who", "0:%:env X=/* | 2:%:who", "         \nx := 1\n    "},
		{"raw string ends before a magic", "s := `a\n%b`\n%who", "2:%:who", "s := `a\n%b`\n    "},
		{"backquote in a line comment", "x := 1 // `\n%who", "1:%:who", "x := 1 // `\n    "},
		{"magic in a string", "x := \"%who\"\n%who", "1:%:who", "x := \"%who\"\n    "},
		{"non-ASCII args keep byte offsets", "%env X=é\nx", "0:%:env X=é", "         \nx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := magicsString(Magics(tt.cell)); got != tt.want {
				t.Errorf("Magics(%q) got %q, want %q", tt.cell, got, tt.want)
			}
			want := tt.blank
			if want == "" {
				want = tt.cell
			}
			got := BlankMagics(tt.cell)
			if got != want {
				t.Errorf("BlankMagics(%q) got %q, want %q", tt.cell, got, want)
			}
			if len(got) != len(tt.cell) || strings.Count(got, "\n") != strings.Count(tt.cell, "\n") {
				t.Errorf("BlankMagics(%q) = %q moved the Go code: got %d bytes, %d lines; want %d, %d",
					tt.cell, got, len(got), strings.Count(got, "\n"), len(tt.cell), strings.Count(tt.cell, "\n"))
			}
		})
	}
}
