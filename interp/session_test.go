package interp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"atonce/internal/enginemsg"
)

// recorder is an Output that keeps everything, in order.
type recorder struct {
	mu     sync.Mutex
	events []enginemsg.Event // streams as EventStream with Name and Text
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) Stream(name, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.events); n > 0 && r.events[n-1].Kind == enginemsg.EventStream && r.events[n-1].Name == name {
		r.events[n-1].Text += text
	} else {
		r.events = append(r.events, enginemsg.Event{Kind: enginemsg.EventStream, Name: name, Text: text})
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) Display(ev enginemsg.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// take returns and forgets the events so far.
func (r *recorder) take() []enginemsg.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// peek tells whether stream name has shown want so far.
func (r *recorder) peek(name, want string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, ev := range r.events {
		if ev.Kind == enginemsg.EventStream && ev.Name == name {
			b.WriteString(ev.Text)
		}
	}
	return strings.Contains(b.String(), want)
}

// text returns and forgets the text of stream name.
func (r *recorder) text(name string) string {
	var b strings.Builder
	for _, ev := range r.take() {
		if ev.Kind == enginemsg.EventStream && ev.Name == name {
			b.WriteString(ev.Text)
		}
	}
	return b.String()
}

func newSession(t *testing.T, opt Options) (*Session, *recorder) {
	t.Helper()
	rec := newRecorder()
	if opt.Output == nil {
		opt.Output = rec
	}
	s, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// run executes cells in order and fails the test on the first error.
func run(t *testing.T, s *Session, cells ...string) Result {
	t.Helper()
	var r Result
	for _, c := range cells {
		r = s.Execute(context.Background(), c)
		if r.Err != nil {
			t.Fatalf("Execute(%q): %s: %s\n%s", c, r.Err.Name, r.Err.Value, strings.Join(r.Err.Traceback, "\n"))
		}
	}
	return r
}

func plain(b enginemsg.Bundle) any {
	if b == nil {
		return nil
	}
	return b["text/plain"]
}

func TestExecuteValue(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, "func two() (int, error) { return 2, nil }\nfunc none() {}\nx := 42")
	for _, tt := range []struct {
		name, code string
		want       any // text/plain, or nil for no value
		wantOut    string
	}{
		{"println has two values", `fmt.Println("x")`, nil, "x\n"},
		{"sum", "1+2", "3", ""},
		{"string quoted", `"a"`, `"a"`, ""},
		{"variable", "x", "42", ""},
		{"two values", "two()", nil, ""},
		{"no value", "none()", nil, ""},
		{"builtin without value", `println("p")`, nil, "p\n"}, // yaegi's println writes to stdout
		{"short variable declaration", "y := 1", nil, ""},
		{"assignment", "x = 43", nil, ""},
		{"declaration", "func f() int { return 1 }", nil, ""},
		{"statements then value", "z := x * 2\nz", "86", ""},
		{"value after print", "fmt.Print(\"p\")\nx + 1", "44", "p"},
		{"nil error", "var e error\ne", "<nil>", ""},
		{"slice", "[]int{1, 2}", "[1 2]", ""},
		{"struct", "type P struct{ X, Y int }\nP{1, 2}", "{X:1 Y:2}", ""},
		{"method value call", "func (p P) Sum() int { return p.X + p.Y }\nP{3, 4}.Sum()", "7", ""},
		{"if statement last", "if x > 0 { x++ }", nil, ""},
		{"long value cut", `strings.Repeat("ab", 1500)`, nil, ""}, // checked below
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "long value cut" {
				run(t, s, `import "strings"`)
				r := run(t, s, tt.code)
				got, _ := plain(r.Value).(string)
				if want := "… (1002 more characters)"; !strings.HasSuffix(got, want) || len(got) > 2100 {
					t.Errorf("got %d bytes ending %q, want ~2000 ending %q", len(got), got[max(0, len(got)-30):], want)
				}
				return
			}
			r := run(t, s, tt.code)
			if got := plain(r.Value); got != tt.want {
				t.Errorf("value of %q: got %v, want %v", tt.code, got, tt.want)
			}
			if got := rec.text("stdout"); got != tt.wantOut {
				t.Errorf("stdout of %q: got %q, want %q", tt.code, got, tt.wantOut)
			}
		})
	}
}

func TestMixedCell(t *testing.T) {
	s, rec := newSession(t, Options{})
	src, err := os.ReadFile("../internal/gosrc/testdata/split/mixed.cell")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, s, string(src))
	if got, want := plain(r.Value), "14"; got != want {
		t.Errorf("value: got %v, want %v", got, want)
	}
	if got, want := rec.text("stdout"), strings.Repeat("=", 13)+"\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
}

// Result.LastFunc is the last plain func of the cell as written, also
// when the cell runs again and its identical declarations are left out.
func TestLastFunc(t *testing.T) {
	s, _ := newSession(t, Options{})
	for i, tt := range []struct{ code, want string }{
		{"func Task(i int) {}\nfunc (t T) M() {}\ntype T int", "Task"},
		{"func Task(i int) {}\nfunc (t T) M() {}\ntype T int", "Task"},
		{"x := 1", ""},
		{"func A() {}\nfunc B(i int) { A() }\ny := 2", "B"},
	} {
		if got := run(t, s, tt.code).LastFunc; got != tt.want {
			t.Errorf("cell %d %q: LastFunc got %q, want %q", i+1, tt.code, got, tt.want)
		}
	}
}

func TestStateAcrossCells(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s,
		`import "fmt"`,
		"count := 1",
		"type counter struct{ n int }\nfunc (c *counter) inc() { c.n++ }",
		"c := &counter{}\nc.inc()\ncount += c.n",
		"func report() { fmt.Println(\"count\", count) }",
	)
	r := run(t, s, "report()\ncount")
	if got, want := plain(r.Value), "2"; got != want {
		t.Errorf("count: got %v, want %v", got, want)
	}
	if got, want := rec.text("stdout"), "count 2\n"; got != want {
		t.Errorf("stdout: got %q, want %q", got, want)
	}
}

func TestProgramCell(t *testing.T) {
	prog, err := os.ReadFile("../internal/gosrc/testdata/split/program.cell")
	if err != nil {
		t.Fatal(err)
	}
	noCall := strings.TrimSuffix(strings.TrimSpace(string(prog)), "main()")
	for _, tt := range []struct {
		name, code string
		wantNotes  int
	}{
		{"calls main itself", string(prog), 0},
		{"main run for it", noCall, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, rec := newSession(t, Options{})
			r := run(t, s, tt.code)
			if len(r.Notes) != tt.wantNotes {
				t.Errorf("notes: got %q, want %d", r.Notes, tt.wantNotes)
			}
			run(t, s, "1 + 1", "x := 3")
			if got, want := rec.text("stdout"), "HI\n"; got != want {
				t.Errorf("stdout: got %q, want %q (main must run once)", got, want)
			}
			run(t, s, "main()")
			if got, want := rec.text("stdout"), "HI\n"; got != want {
				t.Errorf("stdout of main(): got %q, want %q", got, want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	s, _ := newSession(t, Options{})
	run(t, s, `import "fmt"`)
	for _, tt := range []struct {
		name, code string
		wantValue  string   // Err.Value
		wantTB     []string // lines the traceback must hold, in order
	}{
		{"undefined on line 1", "fmt.Println(undefinedName)", "1:13: undefined: undefinedName",
			[]string{"1:13: undefined: undefinedName", "    fmt.Println(undefinedName)", "                ^"}},
		{"type mismatch on line 3", "a := 1\nb := 2\n\tc := a + \"s\"\n_ = b + c", "3:7: ",
			[]string{"\tc := a + \"s\"", "\t     ^"}},
		{"parse errors all at once", "x := ]\nfunc f() {}\ny := )", "1:6: ",
			[]string{"1:6: ", "    x := ]", "3:6: ", "    y := )"}},
		{"in a declaration after statements", "x := 1\nfunc f() int { return \"s\" }", "2:23: ",
			[]string{"2:23: ", "    func f() int { return \"s\" }"}},
		{"unknown package", "import \"no/such/pkg\"", "1:8: ", []string{"1:8: "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Execute(context.Background(), tt.code)
			if r.Err == nil || r.Err.Name != "CompileError" {
				t.Fatalf("got Err %+v, want a CompileError", r.Err)
			}
			if !strings.HasPrefix(r.Err.Value, tt.wantValue) {
				t.Errorf("Value: got %q, want prefix %q", r.Err.Value, tt.wantValue)
			}
			tb := strings.Join(r.Err.Traceback, "\n")
			rest := tb
			for _, w := range tt.wantTB {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("traceback:\n%s\nwant it to hold %q (in order)", tb, w)
					break
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestPanic(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, "func div(a, b int) int {\n\treturn a / b\n}")
	for _, tt := range []struct {
		name, code, wantValue string
		wantTB                []string
	}{
		{"explicit panic", "fmt.Println(\"before\")\npanic(\"boom\")", "boom", []string{"panic: boom", "in the cell's top-level code"}},
		{"panic in func literal", "func() {\n\tpanic(\"lit\")\n}()", "lit", []string{"panic: lit", "2:2", "\tpanic(\"lit\")"}},
		{"runtime error in earlier cell's func", "div(1, 0)", "runtime error: integer divide by zero",
			[]string{"(in an earlier cell) 2:9 in div", "\treturn a / b", "1:1", "    div(1, 0)"}},
		{"panic with error", "panic(fmt.Errorf(\"wrapped: %d\", 3))", "wrapped: 3", []string{"panic: wrapped: 3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Execute(context.Background(), tt.code)
			if r.Err == nil || r.Err.Name != "panic" || r.Err.Value != tt.wantValue {
				t.Fatalf("got Err %+v, want panic %q", r.Err, tt.wantValue)
			}
			tb := strings.Join(r.Err.Traceback, "\n")
			for _, w := range tt.wantTB {
				if !strings.Contains(tb, w) {
					t.Errorf("traceback:\n%s\nwant it to hold %q", tb, w)
				}
			}
			if got := rec.text("stderr"); strings.Contains(got, "panic:") {
				t.Errorf("stderr: got %q, want the interpreter's panic lines taken out", got)
			}
		})
	}
	if got := plain(run(t, s, "div(6, 3)").Value); got != "2" {
		t.Errorf("after panics: got %v, want 2", got)
	}
}

// TestCheckFailed: a check of package atonce/check that holds prints what
// passed, in order with the cell's prints; one that does not fails the
// cell with ename CheckFailed, its message as the value, the hint on a
// line of the traceback and where the check is.
func TestCheckFailed(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, "func atMost(n int) {\n\tcheck.AtMost(\"tasks running at once\", n, 2, \"a core runs one task at a time\")\n}")
	for _, tt := range []struct {
		name, code, wantOut, wantValue string
		wantTB                         []string
	}{
		{"holds", "fmt.Println(\"before\")\ncheck.Equal(\"entries\", 1000, 1000)\nfmt.Println(\"after\")",
			"before\n✓ entries: 1000\nafter\n", "", nil},
		{"fails at top level", "check.Equal(\"entries\", 812, 1000)\nfmt.Println(\"not reached\")", "",
			"entries: got 812, want 1000", []string{"CheckFailed: entries: got 812, want 1000"}},
		{"fails in a func of an earlier cell", "atMost(3)", "",
			"tasks running at once: got 3, want at most 2 (hint: a core runs one task at a time)",
			[]string{"CheckFailed: tasks running at once: got 3, want at most 2", "hint: a core runs one task at a time", "(in an earlier cell) 2:2 in atMost"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Execute(context.Background(), tt.code)
			if out := rec.text("stdout"); out != tt.wantOut {
				t.Errorf("stdout: got %q, want %q", out, tt.wantOut)
			}
			if tt.wantValue == "" {
				if r.Err != nil {
					t.Fatalf("got Err %+v, want none", r.Err)
				}
				return
			}
			if r.Err == nil || r.Err.Name != "CheckFailed" || r.Err.Value != tt.wantValue {
				t.Fatalf("got Err %+v, want CheckFailed %q", r.Err, tt.wantValue)
			}
			tb := strings.Join(r.Err.Traceback, "\n")
			for _, w := range tt.wantTB {
				if !strings.Contains(tb, w) {
					t.Errorf("traceback:\n%s\nwant it to hold %q", tb, w)
				}
			}
		})
	}
}

func TestStdin(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stdin io.Reader
		want  string
	}{
		{"reader", strings.NewReader("gopher\n"), `"gopher"`},
		{"none", nil, `"this notebook cannot read standard input (the client does not allow input)"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSession(t, Options{Stdin: tt.stdin})
			r := run(t, s, `import "fmt"`, "var name string\n_, err := fmt.Scanln(&name)\nif err != nil {\n\tname = err.Error()\n}\nname")
			if got := plain(r.Value); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEval(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, "x := 42\nfunc two() (int, int) { return 1, 2 }")
	for _, tt := range []struct {
		name, expr, want, wantErr string
	}{
		{"variable", "x + 1", "43", ""},
		{"string", `fmt.Sprint("v", x)`, `"v42"`, ""},
		{"undefined", "nope", "", "CompileError"},
		{"syntax", "x +", "", "CompileError"},
		{"statement", "x := 1", "", "CompileError"},
		{"two values", "two()", "", "ValueError"},
		{"prints nothing", `fmt.Println("hidden")`, "", "ValueError"},
		{"panic", "[]int{}[x]", "", "panic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.Eval(context.Background(), tt.expr)
			var ee *enginemsg.Error
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Eval(%q): got error %v, want %s", tt.expr, err, tt.want)
			case tt.wantErr != "" && (!errors.As(err, &ee) || ee.Name != tt.wantErr):
				t.Fatalf("Eval(%q): got %v, %v; want a %s", tt.expr, b, err, tt.wantErr)
			}
			if got := plain(b); tt.wantErr == "" && got != tt.want {
				t.Errorf("Eval(%q): got %v, want %v", tt.expr, got, tt.want)
			}
			if ev := rec.take(); len(ev) > 0 {
				t.Errorf("Eval(%q) output: got %+v, want none", tt.expr, ev)
			}
		})
	}
	if got := plain(run(t, s, "x").Value); got != "42" {
		t.Errorf("after Eval: got %v, want 42", got)
	}
}

func TestDisplay(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, `import "atonce/display"`)
	run(t, s, "fmt.Println(\"before\")\nh := display.HTML(\"<b>hi</b>\")\nfmt.Println(\"after\")\nh.Update(\"<i>bye</i>\")\ndisplay.Clear(true)")
	ev := rec.take()
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	want := []string{enginemsg.EventStream, enginemsg.EventDisplay, enginemsg.EventStream, enginemsg.EventUpdateDisplay, enginemsg.EventClearOutput}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("events: got %v, want %v", kinds, want)
	}
	if d := ev[1]; d.Data["text/html"] != "<b>hi</b>" || d.Data["text/plain"] != "hi" || d.DisplayID == "" || d.ID != 0 {
		t.Errorf("display: got %+v, want text/html <b>hi</b>, text/plain hi and a display id", d)
	}
	if u := ev[3]; u.Data["text/html"] != "<i>bye</i>" || u.DisplayID != ev[1].DisplayID {
		t.Errorf("update: got %+v, want text/html <i>bye</i> under display id %s", u, ev[1].DisplayID)
	}
	if c := ev[4]; !c.Wait {
		t.Errorf("clear: got %+v, want Wait", c)
	}
}

func TestSyncOutputOrder(t *testing.T) {
	s, rec := newSession(t, Options{})
	run(t, s, `import "fmt"`, `import "os"`)
	run(t, s, "for i := 0; i < 200; i++ {\n\tfmt.Println(i)\n\tfmt.Fprintln(os.Stderr, i)\n}")
	var out, errOut strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintln(&out, i)
	}
	errOut.WriteString(out.String())
	ev := rec.take()
	got := map[string]string{}
	for _, e := range ev {
		got[e.Name] += e.Text
	}
	if got["stdout"] != out.String() || got["stderr"] != errOut.String() {
		t.Errorf("got stdout %d bytes, stderr %d bytes; want %d each, all delivered before Execute returns",
			len(got["stdout"]), len(got["stderr"]), out.Len())
	}
}

// yaegi says "constant definition loop" or "incomplete type" for a name
// defined nowhere; the cell's error names it instead.
func TestUndefinedNameIsNamed(t *testing.T) {
	s, _ := newSession(t, Options{})
	if r := s.Execute(context.Background(), "known := 2"); r.Err != nil {
		t.Fatal(r.Err)
	}
	for code, want := range map[string]string{
		"y := undefinedThing + known":                   "1:6: undefined: undefinedThing",
		"var z = nowhere + 1":                           "1:9: undefined: nowhere",
		"func F() int { return absent }":                "1:23: undefined: absent",
		"type P struct{ X int }\nq := P{X: 1}.X + gone": "2:18: undefined: gone",
		// The rewrites' own names (clear's helper) are not the user's.
		"s := []int{1}\nclear(s)\nv := nowhere + known": "3:6: undefined: nowhere",
	} {
		r := s.Execute(context.Background(), code)
		if r.Err == nil || r.Err.Value != want {
			t.Errorf("%q: error %v, want %q", code, r.Err, want)
		}
	}
}

// Top-level compound statements get their own scope, as in Go: a
// multi-value := in a loop body works, and loop variables do not leak.
func TestTopLevelCompoundStatements(t *testing.T) {
	s, rec := newSession(t, Options{})
	for _, c := range []string{
		"total := 0.0\nfor _, w := range []string{\"1.5\", \"2\"} {\n\tv, _ := strconv.ParseFloat(w, 64)\n\ttotal += v\n}",
		"m := map[string]int{\"a\": 4}\nif got, ok := m[\"a\"]; ok {\n\tfmt.Println(\"found\", got)\n}",
	} {
		if r := s.Execute(context.Background(), c); r.Err != nil {
			t.Fatalf("%q: %s: %s", c, r.Err.Name, r.Err.Value)
		}
	}
	r := s.Execute(context.Background(), "total")
	if r.Err != nil || r.Value["text/plain"] != "3.5" {
		t.Errorf("total = %v (err %v), want 3.5", r.Value, r.Err)
	}
	if s.SyncOutput(); !strings.Contains(rec.text("stdout"), "found 4") {
		t.Errorf("output %q lacks %q", rec.text("stdout"), "found 4")
	}
	for _, leaked := range []string{"w", "v", "got", "ok"} {
		if _, ok := s.Vars()[leaked]; ok {
			t.Errorf("the loop's %s leaked into the notebook's variables", leaked)
		}
	}
}

// yaegi cannot type some top-level definitions of host struct values;
// the error says what works instead of only "constant definition loop".
func TestDefinitionLoopSaysWhatWorks(t *testing.T) {
	s, _ := newSession(t, Options{})
	if r := s.Execute(context.Background(), "import \"atonce/models\"\nvar mr = []models.Report{{Tasks: []models.TaskRecord{{Index: 1}, {Index: 2}}}}"); r.Err != nil {
		t.Fatal(r.Err)
	}
	r := s.Execute(context.Background(), "t4 := mr[0].Tasks[1]")
	if r.Err == nil {
		t.Skip("yaegi now types this definition: the hint is no longer needed")
	}
	if !strings.Contains(r.Err.Value, "it works inside a func") {
		t.Errorf("error %q gives no way forward", r.Err.Value)
	}
	if r := s.Execute(context.Background(), "func pick() models.TaskRecord { return mr[0].Tasks[1] }\npick().Index"); r.Err != nil || r.Value["text/plain"] != "2" {
		t.Errorf("the way the hint suggests: value %v, err %v", r.Value, r.Err)
	}
}
