package nativerun

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"atonce/interp/native"
)

var cells = []string{
	"import \"fmt\"\n\nfunc greet() string {\n\tunused := 1\n\treturn fmt.Sprint(\"hi\")\n}",
	"func Boom(i int) int {\n\tif i == 2 {\n\t\tpanic(\"boom\")\n\t}\n\treturn i\n}",
}

func TestCompileErrorOf(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     native.CellError
		current string
		value   string
		excerpt string
	}{
		{"this cell", native.CellError{Cell: 2, Line: 3, Col: 3, Msg: "m", Source: "\t\tpanic(\"boom\")"}, "this cell", "this cell, line 3:3: m", "\t\tpanic(\"boom\")"},
		{"an earlier cell", native.CellError{Cell: 1, Line: 4, Col: 2, Msg: "declared and not used: unused", Source: "\tunused := 1"}, "this cell", "the cell that begins `import \"fmt\"`, line 4:2: declared and not used: unused", "\tunused := 1"},
		{"the last cell, not the one being run", native.CellError{Cell: 2, Line: 3, Msg: "m"}, "", "the cell that begins `func Boom(i int) int {`, line 3: m", ""},
		{"atonce's own code", native.CellError{Msg: "./main.go:3: m"}, "this cell", "in the code atonce generated around the cells (a bug in atonce): ./main.go:3: m", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := CompileErrorOf(&native.CompileError{Errors: []native.CellError{tt.err}}, cells, tt.current)
			if e.Name != "CompileError" || e.Value != tt.value {
				t.Errorf("got %s %q, want CompileError %q", e.Name, e.Value, tt.value)
			}
			tb := strings.Join(e.Traceback, "\n")
			if tt.excerpt != "" && (!strings.Contains(tb, tt.excerpt) || !strings.Contains(tb, "^")) {
				t.Errorf("traceback got %q, want the line %q and a caret", tb, tt.excerpt)
			}
		})
	}
	e := CompileErrorOf(&native.CompileError{Errors: []native.CellError{{Cell: 1, Line: 1, Msg: "a"}, {Cell: 2, Line: 1, Msg: "b"}}}, cells, "")
	if !strings.HasSuffix(e.Value, "(and 1 more)") {
		t.Errorf("two errors got value %q, want the first and (and 1 more)", e.Value)
	}
}

func TestWherePanicked(t *testing.T) {
	b := &Build{Program: &native.Program{Cells: cells}}
	stack := "goroutine 7 [running]:\npanic({0x7ad3c0?, 0x873d90?})\n\t/usr/local/go/src/runtime/panic.go:860 +0x13a\nmain.Boom(0x2)\n\tcell2:3 +0x25\n"
	for _, tt := range []struct {
		name, msg, current, want string
	}{
		{"a panic in this cell", "task 2 panicked: boom\n\n" + stack, "this cell", "task 2 panicked: boom (this cell, line 3)\n\n" + stack},
		{"a panic in an earlier cell", "task 2 panicked: boom\n\n" + stack, "", "task 2 panicked: boom (the cell that begins `func Boom(i int) int {`, line 3)\n\n" + stack},
		{"no stack", "task 2 failed: odd", "this cell", "task 2 failed: odd"},
		{"no cell in the stack", "task 2 panicked: x\n\ngoroutine 1 [running]:\nruntime.f()\n\t/usr/local/go/src/runtime/x.go:1 +0x1\n", "", "task 2 panicked: x\n\ngoroutine 1 [running]:\nruntime.f()\n\t/usr/local/go/src/runtime/x.go:1 +0x1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.WherePanicked(tt.msg, tt.current); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	// A timing's statement starts below lines atonce adds: its line is
	// the statement's.
	site, ok := b.PanicSite("boom\n\n"+stack, 2)
	if !ok || site.Cell != 2 || site.Line != 1 || site.Source != "\t\tpanic(\"boom\")" {
		t.Errorf("PanicSite with an offset got %+v, %t; want cell 2, line 1, the source of the cell's line 3", site, ok)
	}
}

func TestUnavailable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w: no go on PATH", native.ErrNoToolchain), true},
		{fmt.Errorf("%w, and it moved", native.ErrNoSource), true},
		{&native.CompileError{}, false},
		{errors.New("disk full"), false},
	} {
		if got := Unavailable(tt.err); got != tt.want {
			t.Errorf("Unavailable(%v) got %t, want %t", tt.err, got, tt.want)
		}
	}
}
