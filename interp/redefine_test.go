package interp

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestRedefine(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cells   []string // each must succeed
		failing string   // a cell run after them that must fail (its effects stay)
		redef   string   // the redefining cell
		expr    string   // evaluated last
		want    string   // its value
		note    string   // a note of redef must hold this; "" means no note
		replays bool     // the redefinition replays cells
	}{
		{name: "func used by an earlier func",
			cells: []string{"func f() int { return 1 }", "func g() int { return f() }"},
			redef: "func f() int { return 2 }", expr: "g()", want: "2",
			note: "atonce: redefined func f: rebuilt the notebook state by replaying 2 cells (output hidden)", replays: true},
		{name: "func used by nobody else",
			cells: []string{"func f() int { return 1 }", "f()"},
			redef: "func f() int { return 2 }", expr: "f()", want: "2"},
		{name: "same func again",
			cells: []string{"func f() int { return 1 }", "func g() int { return f() }"},
			redef: "func f() int { return 1 }", expr: "g()", want: "1"},
		{name: "same func again, reformatted",
			cells: []string{"func f() int { return 1 }", "func g() int { return f() }"},
			redef: "func f() int {\n\treturn 1\n}", expr: "g()", want: "1"},
		{name: "type with a new field",
			cells: []string{"type T struct{ A int }", "func mk() T { return T{A: 1} }", "v := mk()"},
			redef: "type T struct{ A, B int }", expr: "mk().A*100 + T{B: 3}.B*10 + v.B", want: "130",
			note: "redefined type T", replays: true},
		{name: "method, also through an interface",
			cells: []string{"type T struct{ n int }", "func (t T) M() int { return 1 }", "type I interface{ M() int }", "func call(i I) int { return i.M() }"},
			redef: "func (t T) M() int { return 2 }", expr: "call(T{})*10 + T{}.M()", want: "22",
			note: "redefined method T.M", replays: true},
		{name: "method with a pointer receiver",
			cells: []string{"type T struct{ n int }", "func (t *T) M() int { return 1 }", "func call(t *T) int { return t.M() }"},
			redef: "func (t *T) M() int { return t.n + 2 }", expr: "call(&T{n: 1})", want: "3",
			note: "redefined method T.M", replays: true},
		{name: "const used by a func",
			cells: []string{"const c = 1", "func getc() int { return c }"},
			redef: "const c = 2", expr: "getc()", want: "2", note: "redefined const c", replays: true},
		{name: "var declared again, same type",
			cells: []string{"var x int", "func inc() { x++ }", "x = 3"},
			redef: "var x int = 10\ninc()", expr: "x", want: "11"},
		{name: "var declared again without value",
			cells: []string{"var x int", "func get() int { return x }", "x = 3"},
			redef: "var x int", expr: "get()", want: "0"},
		{name: "short declaration run again keeps one slot",
			cells: []string{"x := 5", "func get() int { return x }"},
			redef: "x := 7", expr: "get()", want: "7"},
		{name: "var in parentheses declared again",
			cells: []string{"var (\n\ta = 1\n\tb = 2\n)", "func sum() int { return a + b }"},
			redef: "var (\n\tb = 20\n\tc = 300\n)", expr: "sum() + c", want: "321"},
		{name: "var whose type changed",
			cells: []string{`import "fmt"`, "x := 5", "func show() string { return fmt.Sprint(x, \"!\") }"},
			redef: `x := "s"`, expr: "show()", want: `"s!"`, note: "redefined var x: rebuilt", replays: true},
		{name: "var whose type changed, used by nobody",
			cells: []string{"x := 5"},
			redef: `x := "s"`, expr: "x", want: `"s"`},
		{name: "var whose type changed, after statements of the cell ran",
			cells: []string{"x := 5"},
			redef: "y := 1\nfunc f() int { return y }\nx := \"s\"", expr: "x", want: `"s"`},
		{name: "typed var whose type changed",
			cells: []string{"var x int"},
			redef: "var x string = \"s\"", expr: "x", want: `"s"`},
		{name: "var in parentheses whose type changed",
			cells: []string{"var (\n\ta = 1\n)", "func get() any { return a }"},
			redef: "var (\n\ta = \"s\"\n\tb = 2\n)", expr: "get()", want: `"s"`,
			note: "redefined var a: rebuilt", replays: true},
		{name: "only the var whose type changed is declared anew",
			cells: []string{"a := 1", "b := 2", "func getA() int { return a }"},
			redef: "a := 10\nb := \"s\"", expr: "getA()", want: "10"},
		{name: "values survive a rebuild",
			cells:   []string{"counter := 0", "func f() int { return 1 }", "func g() int { return f() }"},
			failing: "counter += 5\npanic(\"after the increment\")",
			redef:   "func f() int { return 2 }", expr: "counter*10 + g()", want: "52",
			note: "redefined func f", replays: true},
		{name: "replay that cannot work falls back",
			cells: []string{"type T struct{ A int }", "func getA(t T) int { return t.A }"},
			redef: "type T struct{ B int }", expr: "getA(T{})", want: "0",
			note: "atonce: redefined type T, but rebuilding the notebook state failed (replaying cell 2 of 2: ", replays: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSession(t, Options{})
			run(t, s, tt.cells...)
			if tt.failing != "" {
				if r := s.Execute(context.Background(), tt.failing); r.Err == nil {
					t.Fatalf("Execute(%q): got no error, want one", tt.failing)
				}
			}
			before := s.replayed
			r := run(t, s, tt.redef)
			notes := strings.Join(r.Notes, "\n")
			if tt.note == "" && notes != "" || !strings.Contains(notes, tt.note) {
				t.Errorf("notes: got %q, want %q", notes, tt.note)
			}
			if got := s.replayed > before; got != tt.replays {
				t.Errorf("replayed cells: got %d, want replays %v", s.replayed-before, tt.replays)
			}
			if got := plain(run(t, s, tt.expr).Value); got != tt.want {
				t.Errorf("%s: got %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}

func TestRedefineOutputAndHistory(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, `fmt.Println("side effect")`, "func f() int { return 1 }", "func g() int { return f() }")
	rec.take()
	run(t, s, "func f() int { return 2 }\nfmt.Println(g())")
	if got, want := rec.text("stdout"), "2\n"; got != want {
		t.Errorf("stdout: got %q, want %q (the new f from the first line on, the replay hidden)", got, want)
	}
	hist := s.History()
	for _, tt := range []struct {
		cell      int
		want, not string
	}{
		{2, "func f() int { return 2 }", ""},
		{4, "fmt.Println(g())", "func f"},
	} {
		if tt.cell >= len(hist) || !strings.Contains(hist[tt.cell], tt.want) || tt.not != "" && strings.Contains(hist[tt.cell], tt.not) {
			t.Errorf("History()[%d]: got %q, want it to hold %q and not %q (all: %q)", tt.cell, hist[min(tt.cell, len(hist)-1)], tt.want, tt.not, hist)
		}
	}
	// The history rebuilds the state in a new session, without rebuilds.
	s2, _ := newSession(t, Options{})
	for _, c := range hist {
		if r := run(t, s2, c); len(r.Notes) > 0 {
			t.Errorf("replaying %q: got notes %q, want none", c, r.Notes)
		}
	}
	if got := plain(run(t, s2, "g()").Value); got != "2" {
		t.Errorf("g() after replaying History(): got %v, want 2", got)
	}
}

func TestRedefineInterrupted(t *testing.T) {
	s, _ := newSession(t, Options{})
	run(t, s, "func f() int { return 1 }", "func g() int { return f() }")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := s.Execute(ctx, "func f() int { return 2 }"); !r.Interrupted {
		t.Errorf("redefinition under a cancelled context: got %+v, want Interrupted", r)
	}
	if got := plain(run(t, s, "g()").Value); got != "1" {
		t.Errorf("g() after the interrupted rebuild: got %v, want 1 (the old state)", got)
	}
	if got := len(s.History()); got != 3 {
		t.Errorf("history: got %d cells, want 3 (not the interrupted one)", got)
	}
}

func TestRedefineProgramCellTwice(t *testing.T) {
	prog, err := os.ReadFile("../internal/gosrc/testdata/split/program.cell")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, prog, want string
		notes            int // notes each run must give
	}{
		{"calls main itself", string(prog), "HI\n", 0},
		// The var declared again becomes an assignment, a statement:
		// main must still run, and History must replay that.
		{"main called for it, with a var", "package main\n\nimport \"fmt\"\n\nvar n = 1\n\nfunc main() {\n\tn++\n\tfmt.Println(n)\n}\n", "2\n", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := newSession(t, Options{})
			for i := range 2 {
				r := run(t, s, tt.prog)
				if len(r.Notes) != tt.notes {
					t.Errorf("run %d: got notes %q, want %d", i+1, r.Notes, tt.notes)
				}
				if got := rec.text("stdout"); got != tt.want {
					t.Errorf("run %d: got stdout %q, want %q", i+1, got, tt.want)
				}
			}
			s2, rec2 := newSession(t, Options{})
			for _, c := range s.History() {
				run(t, s2, c)
			}
			if got, want := rec2.text("stdout"), tt.want+tt.want; got != want {
				t.Errorf("replaying History(): got stdout %q, want %q", got, want)
			}
		})
	}
}
