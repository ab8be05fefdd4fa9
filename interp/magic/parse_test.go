package magic

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		name, cell string
		want       string // steps: code:<first non-blank line> | magic:%name args | cell:%%name args | help:target
	}{
		{"plain go", "x := 1\ny := x % 2", "code:x := 1"},
		{"line magic between go", "x := 1\n%time f(x)\ny := 2", "code:x := 1 | magic:%time f(x) | code:y := 2"},
		{"cell magic", "%%models -n 4\nfunc Task(i int) {}", "cell:%%models -n 4"},
		{"cell magic after blank lines", "\n\n%%time\nx := 1", "cell:%%time"},
		{"misplaced cell magic", "x := 1\n%%time", "code:x := 1 | misplaced:%%time"},
		{"help on go name", "fmt.Println?", "help:fmt.Println"},
		{"help on magic", "%timeit?", "help:%timeit"},
		{"double question mark", "time??", "help:time"},
		{"percent in raw string", "s := `\n%not a magic\n`\nfmt.Println(s)", "code:s := `"},
		{"percent in comment", "/*\n%nope\n*/\nx := 1", "code:/*"},
		{"modulo continuation", "y := 7 %\n3", "code:y := 7 %"},
		{"backquote on a magic line", "%env X=`\nx := 1\n%who", "magic:%env X=` | code:x := 1 | magic:%who"},
		{"comment opener on a magic line", "%env X=/*\nx := 1\n%who", "magic:%env X=/* | code:x := 1 | magic:%who"},
		{"raw string ends before a magic", "s := `a\n%b`\n%who", "code:s := `a | magic:%who"},
		{"backquote in a line comment", "x := 1 // `\n%who", "code:x := 1 // ` | magic:%who"},
		{"magic in a string", "x := \"%who\"\n%who", "code:x := \"%who\" | magic:%who"},
		{"help then code", "x?\ny := 1", "help:x | code:y := 1"},
		{"not a help selector", "a.b.c?", "code:a.b.c?"},
		{"indented magic", "if true {\n\t%time f()\n}", "code:if true { | magic:%time f() | code:}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, st := range Parse(tt.cell) {
				switch {
				case st.Help != "":
					got = append(got, "help:"+st.Help)
				case st.Magic != nil && st.Magic.Misplaced:
					got = append(got, "misplaced:%%"+st.Magic.Name)
				case st.Magic != nil && st.Magic.Cell:
					got = append(got, strings.TrimSpace("cell:%%"+st.Magic.Name+" "+st.Magic.Args))
				case st.Magic != nil:
					got = append(got, strings.TrimSpace("magic:%"+st.Magic.Name+" "+st.Magic.Args))
				default:
					got = append(got, "code:"+strings.Split(strings.TrimLeft(st.Code, "\n"), "\n")[0])
				}
			}
			if g := strings.Join(got, " | "); g != tt.want {
				t.Errorf("Parse(%q) got %q, want %q", tt.cell, g, tt.want)
			}
		})
	}
}

func TestCodeKeepsLineNumbers(t *testing.T) {
	steps := Parse("a := 1\n%who\nb := 2")
	if len(steps) != 3 || steps[2].Code != "\n\nb := 2" {
		t.Fatalf("third step got %q, want the code preceded by two newlines", steps[2].Code)
	}
	c := Parse("%%time\nx := 1")[0].Magic
	if c.Body != "\nx := 1" {
		t.Errorf("cell magic body got %q, want %q", c.Body, "\nx := 1")
	}
}

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cell    bool
		wantErr string
	}{
		{"time", false, ""},
		{"time", true, ""},
		{"who", true, "is not a cell magic"},
		{"nope", false, "unknown magic %nope; the magics are: "},
	} {
		_, err := Lookup(tt.name, tt.cell)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Lookup(%q, %v) got %v, want %q", tt.name, tt.cell, err, tt.wantErr)
		}
	}
}

func TestTimeitReport(t *testing.T) {
	for _, tt := range []struct {
		name  string
		per   []float64
		loops int
		want  []string
	}{
		{"steady", []float64{1e-6, 1.1e-6, 1e-6, 1.2e-6, 1e-6, 1e-6, 1.05e-6}, 100000, []string{"1.00 µs ± ", "of 7 runs, 100,000 loops each; min 1.00 µs) [interpreted by yaegi]"}},
		{"cached", []float64{1e-3, 5e-3, 1e-3}, 1, []string{"of 3 runs, 1 loops each", "The slowest run took 5.00 times longer than the fastest."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := timeitReport(tt.per, tt.loops, "interpreted by yaegi")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("timeitReport got %q, want it to contain %q", got, w)
				}
			}
		})
	}
}

func TestHuman(t *testing.T) {
	for _, tt := range []struct {
		in   float64 // seconds
		want string
	}{{0, "0 ns"}, {5e-9, "5.00 ns"}, {1.234e-5, "12.3 µs"}, {0.2501, "250 ms"}, {3.5, "3.50 s"}} {
		if got := human(secs(tt.in)); got != tt.want {
			t.Errorf("human(%v s) got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func secs(s float64) time.Duration { return time.Duration(s * 1e9) }
