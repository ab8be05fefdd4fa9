package gosrc

import (
	"fmt"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// groupsString shows a cell's groups as "kind@line:col: text" lines, text
// trimmed; with firstLine, only the text's first line.
func groupsString(c *Cell, firstLine bool) string {
	var b strings.Builder
	for _, g := range c.Groups {
		text := strings.TrimSpace(g.Text())
		if firstLine {
			text, _, _ = strings.Cut(text, "\n")
		}
		fmt.Fprintf(&b, "%s@%d:%d: %s\n", g.Kind, g.Line, g.Col, text)
	}
	return b.String()
}

func TestParseGroups(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string // a name "items: ..." parses with Options.Items
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
		{"items: statements", "x := 1\ny := 2", "stmt@1:1: x := 1\nstmt@2:1: y := 2\n"},
		{"items: declarations", "type T int\nvar v T", "decl@1:1: type T int\ndecl@2:1: var v T\n"},
		{"items: semicolons", "x := 1; y := 2", "stmt@1:1: x := 1;\nstmt@1:9: y := 2\n"},
		{"items: for header", "for i := 0; i < 3; i++ {\n}\nx := 1", "stmt@1:1: for i := 0; i < 3; i++ {\n}\nstmt@3:1: x := 1\n"},
		{"items: if header, then a statement", "if x := 1; x > 0 { println(x) }; y := 2", "stmt@1:1: if x := 1; x > 0 { println(x) };\nstmt@1:34: y := 2\n"},
		{"items: else if header", "if a {\n} else if x := f(); x {\n}", "stmt@1:1: if a {\n} else if x := f(); x {\n}\n"},
		{"items: labeled for", "L: for i := 0; i < 1; i++ {}", "stmt@1:1: L: for i := 0; i < 1; i++ {}\n"},
		{"items: switch header", "switch x := 2; x {\n}", "stmt@1:1: switch x := 2; x {\n}\n"},
		{"items: comments stay behind without ParseComments", "x := 1\n// doc\nfunc f() {}", "stmt@1:1: x := 1\n// doc\ndecl@3:1: func f() {}\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := groupsString(Parse(tt.src, Options{Items: strings.HasPrefix(tt.name, "items: ")}), false); got != tt.want {
				t.Errorf("Parse(%q) groups:\ngot\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

// TestParseFixtures parses each testdata/split/*.cell and compares its
// groups with the .groups file beside it.
func TestParseFixtures(t *testing.T) {
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
			c := Parse(string(src), Options{})
			if got := groupsString(c, true); got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			if c.Err != nil {
				t.Errorf("Err: got %v, want none", c.Err)
			}
		})
	}
}

// declsString shows a cell's declarations as "kind names [span]" lines,
// with "grouped" for a spec in parentheses.
func declsString(c *Cell) string {
	var b strings.Builder
	for _, g := range c.Groups {
		for _, d := range g.Decls {
			fmt.Fprintf(&b, "%s %s %q", d.Kind, strings.Join(d.Names, ","), c.Src[d.Span[0]:d.Span[1]])
			if d.Grouped() {
				b.WriteString(" grouped")
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestParseDecls(t *testing.T) {
	for _, tt := range []struct {
		name, src, want string
	}{
		{"func and method", "func f() {}\nfunc (t *T[K]) M() {}",
			"func f \"func f() {}\"\nmethod T.M \"func (t *T[K]) M() {}\"\n"},
		{"init, main and _", "func init() {}\nfunc main() {}\nfunc _() {}",
			"func init \"func init() {}\"\nfunc main \"func main() {}\"\nfunc  \"func _() {}\"\n"},
		{"type and var", "type T int\nvar a, _, b = 1, 2, 3",
			"type T \"type T int\"\nvar a,b \"var a, _, b = 1, 2, 3\"\n"},
		{"parenthesized", "var (\n\ta = 1\n\tb int\n)\ntype (\n\tU struct{}\n)",
			"var a \"a = 1\" grouped\nvar b \"b int\" grouped\ntype U \"U struct{}\" grouped\n"},
		{"const is one declaration", "const (\n\tc = iota\n\td\n)",
			"const c,d \"const (\\n\\tc = iota\\n\\td\\n)\"\n"},
		{"top-level :=", "x, _ := 1, 2\nif true { y := 3; _ = y }\nz := x",
			"var x \"x, _ := 1, 2\"\nvar z \"z := x\"\n"},
		{"after other text", "fmt.Println()\nfunc g() int { return 1 }", "func g \"func g() int { return 1 }\"\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := declsString(Parse(tt.src, Options{})); got != tt.want {
				t.Errorf("Parse(%q) decls:\ngot\n%s\nwant\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func TestCanonIgnoresLayout(t *testing.T) {
	canon := func(src string) string { return Parse(src, Options{}).Groups[0].Decls[0].Canon }
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"func f() int { return 1 }", "func f() int {\n\t// one\n\treturn 1\n}", true},
		{"func f() int { return 1 }", "func f() int { return 2 }", false},
		{"type T struct{ A int }", "type (\n\tT struct {\n\t\tA int\n\t}\n)", true},
		{"var x = 1", "var (\n\tx = 1\n)", true},
	} {
		if got := canon(tt.a) == canon(tt.b); got != tt.same {
			t.Errorf("Canon(%q) == Canon(%q): got %v, want %v (%q, %q)", tt.a, tt.b, got, tt.same, canon(tt.a), canon(tt.b))
		}
	}
}

func TestLastFunc(t *testing.T) {
	for _, tt := range []struct{ code, want string }{
		{"func A() {}\nfunc B(i int) int { return i }", "B"},
		{"func (t T) M() {}\nfunc Task(i int) {}\nx := 1", "Task"},
		{"func Task(i int) {}\nfunc (t T) M() {}", "Task"},
		{"x := 1", ""},
		{"func A() {}\nx := 1\nfunc B() {}\ny := 2", "B"},
		{"func A() {}\nx := )", "A"},
		{"func A() {}\nfunc _() {}", "A"},
	} {
		if got := Parse(tt.code, Options{}).LastFunc(); got != tt.want {
			t.Errorf("Parse(%q).LastFunc() got %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestImportName(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"fmt", "fmt"},
		{"math/rand/v2", "rand"},
		{"math/rand", "rand"},
		{"encoding/json", "json"},
		{"go/ast", "ast"},
		{"gopkg.in/yaml.v3", "yaml"},
		{"github.com/x/go-foo", "foo"},
		{"github.com/x/foo/v3", "foo"},
		{"github.com/x/foo-bar", "foo"},
		{"example.com/v2", "example"},
	} {
		if got := ImportName(tt.path); got != tt.want {
			t.Errorf("ImportName(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestParseImports(t *testing.T) {
	c := Parse("import (\n\t\"fmt\"\n\tr \"math/rand/v2\"\n\t\"gopkg.in/yaml.v3\"\n\t_ \"embed\"\n)\nx := 1", Options{})
	var got []string
	for _, g := range c.Groups {
		for _, im := range g.Imports {
			got = append(got, fmt.Sprintf("%s=%s named=%v", im.Name, im.Path, im.Named))
		}
	}
	want := "fmt=fmt named=false r=math/rand/v2 named=true yaml=gopkg.in/yaml.v3 named=false _=embed named=true"
	if strings.Join(got, " ") != want {
		t.Errorf("imports: got %q, want %q", strings.Join(got, " "), want)
	}
	names := c.Names()
	for _, n := range []string{"fmt", "r", "yaml", "x"} {
		if !names[n] {
			t.Errorf("Names(): %q missing from %v", n, names)
		}
	}
}

func TestParseLast(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"x := 1\nx + 1", "x + 1"},
		{"f()", "f()"},
		{"x := 1", ""},
		{"x + 1\nfunc f() {}", ""},
		{"for {}", ""},
	} {
		c := Parse(tt.src, Options{})
		got := ""
		if c.Last != nil {
			var b strings.Builder
			if err := printer.Fprint(&b, c.Fset, c.Last.X); err != nil {
				t.Fatal(err)
			}
			got = b.String()
		}
		if got != tt.want {
			t.Errorf("Parse(%q).Last = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestParsePositionsAndErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		opt  Options
		want string // the first error, file:line:col: msg
	}{
		{"in the cell", "x := 1\ny := )", Options{File: "c"}, "c:2:6: expected operand, found ')'"},
		{"line base", "x := 1\ny := )", Options{File: "_.go", LineBase: 300}, "_.go:302:6: expected operand, found ')'"},
		{"from the middle of a cell", "y := )", Options{File: "c", Line: 5, Col: 9}, "c:5:14: expected operand, found ')'"},
		{"end of the cell", "x := 1 +", Options{File: "c"}, "c:2:1: expected operand, found the end of the cell"},
		{"a later group still parses", "func f() { x := }\ny := 1", Options{File: "c"}, "c:1:17: expected operand, found '}'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Parse(tt.src, tt.opt)
			if len(c.Err) == 0 {
				t.Fatalf("Parse(%q): got no error, want %q", tt.src, tt.want)
			}
			if got := c.Err[0].Error(); got != tt.want {
				t.Errorf("Parse(%q) error: got %q, want %q", tt.src, got, tt.want)
			}
		})
	}
	c := Parse("bad(\nx := 1", Options{})
	if len(c.Groups) != 1 || c.Groups[0].Err == nil || len(c.Groups[0].Decls) != 0 || c.Last != nil {
		t.Errorf("a broken group: got %s, want one group with errors, no declarations and no last expression", groupsString(c, true))
	}
	c = Parse("func f() { x := }\nx := 1", Options{})
	if len(c.Groups) != 2 || c.Groups[1].File == nil || len(c.Groups[1].Decls) != 1 {
		t.Errorf("after a broken group: got %s, want x := 1 parsed and declared", groupsString(c, true))
	}
}

func TestParseInTheGivenFileSet(t *testing.T) {
	fset := token.NewFileSet()
	c := Parse("x := 1\nx", Options{Fset: fset, File: "_.go", LineBase: 100})
	if c.Fset != fset {
		t.Fatal("Cell.Fset: got another file set")
	}
	pos := fset.Position(c.Last.Pos())
	if pos.Filename != "_.go" || pos.Line != 102 || pos.Column != 1 {
		t.Errorf("Last at %v, want _.go:102:1", pos)
	}
	g := c.Groups[0]
	if got := g.Offset(c.Last.Pos()); got != 7 {
		t.Errorf("Offset(Last): got %d, want 7", got)
	}
	if src, head := Wrap(Stmt, "x", ""); src[head:head+1] != "x" || !strings.Contains(src, "func main() {") {
		t.Errorf("Wrap(Stmt): got %q, %d", src, head)
	}
}

func TestProgram(t *testing.T) {
	for src, want := range map[string]bool{"package main\nfunc main() {}": true, "// a program\npackage main": true, "x := 1\npackage main": false, "x := 1": false} {
		if got := Parse(src, Options{}).Program; got != want {
			t.Errorf("Parse(%q).Program = %v, want %v", src, got, want)
		}
	}
}

func TestAutoImport(t *testing.T) {
	for _, tt := range []struct {
		name string
		uses []string
		want string // "" when nothing is picked
	}{
		{"fmt", []string{"Println"}, "fmt"},
		{"rand", []string{"IntN"}, "math/rand/v2"},
		{"rand", []string{"Intn"}, "math/rand"},
		{"rand", []string{"Read"}, "crypto/rand"},
		{"atomic", []string{"AddInt64"}, "sync/atomic"},
		{"json", []string{"NoSuchThing"}, "encoding/json"},
		{"template", []string{"HTMLEscapeString"}, "text/template"},
		{"rand", []string{"NoSuchThing"}, ""},
		{"nosuchpackage", []string{"X"}, ""},
	} {
		got, _, ok := AutoImport(tt.name, tt.uses)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("AutoImport(%s, %v) = %q, %v; want %q", tt.name, tt.uses, got, ok, tt.want)
		}
	}
}

func TestBaseTypeName(t *testing.T) {
	for src, want := range map[string]string{"T": "T", "*T": "T", "(*T)": "T", "T[K]": "T", "*T[K, V]": "T", "[]T": "", "map[K]V": ""} {
		e, err := parser.ParseExpr(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := BaseTypeName(e); got != want {
			t.Errorf("BaseTypeName(%s) = %q, want %q", src, got, want)
		}
	}
}

func TestInLiteral(t *testing.T) {
	for code, want := range map[string]bool{"x := `open": true, "/* open": true, "x := `closed`": false, "// line comment": false, "s := \"%x\"": false} {
		if got := InLiteral(code); got != want {
			t.Errorf("InLiteral(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestParseRestOfACell(t *testing.T) {
	cell := "fmt.Println()\nfunc f() {}\nx := 1"
	whole := Parse(cell, Options{})
	from := whole.Groups[1]
	rest := Parse(cell[from.Start:], Options{Line: from.Line, Col: from.Col, Offset: from.Start})
	if len(rest.Groups) != 2 {
		t.Fatalf("rest: got %s, want 2 groups", groupsString(rest, false))
	}
	for i, g := range rest.Groups {
		w := whole.Groups[i+1]
		if g.Start != w.Start || g.End != w.End || g.Line != w.Line || g.Col != w.Col {
			t.Errorf("group %d: got %d-%d at %d:%d, want %d-%d at %d:%d", i, g.Start, g.End, g.Line, g.Col, w.Start, w.End, w.Line, w.Col)
		}
		if got, want := declsString(&Cell{Src: cell, Groups: []*Group{g}}), declsString(&Cell{Src: cell, Groups: []*Group{w}}); got != want {
			t.Errorf("group %d decls: got %q, want %q", i, got, want)
		}
		if g.Decls[0].Canon != w.Decls[0].Canon {
			t.Errorf("group %d canon: got %q, want %q", i, g.Decls[0].Canon, w.Decls[0].Canon)
		}
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("a", 150) + "X" + strings.Repeat("b", 150)
	for _, tt := range []struct {
		name      string
		src       string
		line, col int
		want      []string
	}{
		{"caret", "x := 1\n\ty := z", 2, 7, []string{"    \ty := z", "    \t     ^"}},
		{"past the end", "ab", 1, 9, []string{"    ab", "      ^"}},
		{"no such line", "ab", 3, 1, nil},
		{"long line", long, 1, 151, []string{"    " + long[100:200], "    " + strings.Repeat(" ", 50) + "^"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Excerpt(tt.src, tt.line, tt.col); !slices.Equal(got, tt.want) {
				t.Errorf("Excerpt(%q, %d, %d) = %q, want %q", tt.src, tt.line, tt.col, got, tt.want)
			}
		})
	}
}
