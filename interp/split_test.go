package interp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// groupsString shows groups as "kind@line:col: text" lines, text trimmed;
// with firstLine, only the text's first line.
func groupsString(src string, gs []group, firstLine bool) string {
	var b strings.Builder
	for _, g := range gs {
		text := strings.TrimSpace(src[g.Start:g.End])
		if firstLine {
			text, _, _ = strings.Cut(text, "\n")
		}
		fmt.Fprintf(&b, "%s@%d:%d: %s\n", g.Kind, g.Line, g.Col, text)
	}
	return b.String()
}

func TestSplitCell(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"comment only", "// nothing\n", ""},
		{"one statement", "x := 1", "stmt@1:1: x := 1\n"},
		{"statements", "x := 1\ny := 2", "stmt@1:1: x := 1\ny := 2\n"},
		{"import then statement", "import \"fmt\"\nfmt.Println(1)",
			"import@1:1: import \"fmt\"\nstmt@2:1: fmt.Println(1)\n"},
		{"grouped import", "import (\n\t\"fmt\"\n\t\"os\"\n)\nfmt.Fprintln(os.Stdout)",
			"import@1:1: import (\n\t\"fmt\"\n\t\"os\"\n)\nstmt@5:1: fmt.Fprintln(os.Stdout)\n"},
		{"func decl", "func f() {}", "decl@1:1: func f() {}\n"},
		{"generic func", "func F[T any](x T) T { return x }", "decl@1:1: func F[T any](x T) T { return x }\n"},
		{"method", "func (r T) M() int { return 1 }", "decl@1:1: func (r T) M() int { return 1 }\n"},
		{"pointer method", "func (r *T) M() {}", "decl@1:1: func (r *T) M() {}\n"},
		{"func literal call", "func(){ println() }()", "stmt@1:1: func(){ println() }()\n"},
		{"func literal with args", "func(x int) int { return x }(3)", "stmt@1:1: func(x int) int { return x }(3)\n"},
		{"func literal with result", "func() (int) { return 1 }()", "stmt@1:1: func() (int) { return 1 }()\n"},
		{"decls merge", "type T int\nvar v T\nconst c = 1\nfunc f() {}",
			"decl@1:1: type T int\nvar v T\nconst c = 1\nfunc f() {}\n"},
		{"order kept", "x := 1\nfunc f() int { return x }\ny := f()\nimport \"os\"\nos.Exit",
			"stmt@1:1: x := 1\ndecl@2:1: func f() int { return x }\nstmt@3:1: y := f()\nimport@4:1: import \"os\"\nstmt@5:1: os.Exit\n"},
		{"semicolons on one line", "x := 1; func f() {}; f()", "stmt@1:1: x := 1;\ndecl@1:9: func f() {};\nstmt@1:22: f()\n"},
		{"nested braces stay together", "if true {\n\tfunc() {}()\n\tx := 1\n\t_ = x\n}\nvar z = 2",
			"stmt@1:1: if true {\n\tfunc() {}()\n\tx := 1\n\t_ = x\n}\ndecl@6:1: var z = 2\n"},
		{"package clause dropped", "package main\n\nfunc main() {}", "decl@3:1: func main() {}\n"},
		{"indented", "\n\n  x := 1", "stmt@3:3: x := 1\n"},
		{"unbalanced", "for {\nx := 1", "stmt@1:1: for {\nx := 1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupsString(tt.src, splitCell(tt.src), false); got != tt.want {
				t.Errorf("splitCell(%q):\ngot\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

// TestSplitCellFixtures splits each testdata/split/*.cell and compares
// with the .groups file beside it.
func TestSplitCellFixtures(t *testing.T) {
	cells, err := filepath.Glob("testdata/split/*.cell")
	if err != nil || len(cells) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range cells {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(path, ".cell") + ".groups")
			if err != nil {
				t.Fatal(err)
			}
			if got := groupsString(string(src), splitCell(string(src)), true); got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}
