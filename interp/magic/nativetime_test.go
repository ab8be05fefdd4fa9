package magic

import (
	"strings"
	"testing"

	"atonce/interp/native"
)

func TestNativeFlag(t *testing.T) {
	for _, tt := range []struct {
		args, rest string
		ok         bool
	}{
		{"-native fib(20)", "fib(20)", true},
		{"  -native\tfib(20) ", "fib(20)", true},
		{"-native", "", true},
		{"fib(20)", "fib(20)", false},
		{"-nativeX(1)", "-nativeX(1)", false},
	} {
		if rest, ok := nativeFlag(tt.args); rest != tt.rest || ok != tt.ok {
			t.Errorf("nativeFlag(%q) got %q, %t; want %q, %t", tt.args, rest, ok, tt.rest, tt.ok)
		}
	}
}

// TestNativeTimeitCell: the statement starts on stmtLine, so that errors
// can give its lines as typed; an unused value is the only error retried
// as `_ = stmt`.
func TestNativeTimeitCell(t *testing.T) {
	for _, useValue := range []bool{false, true} {
		lines := strings.Split(nativeTimeitCell("a := 1\nb(a)", useValue), "\n")
		want := "a := 1"
		if useValue {
			want = "_ = a := 1"
		}
		if lines[stmtLine-1] != want || lines[stmtLine] != "b(a)" || !strings.HasPrefix(lines[stmtLine-2], "func "+nativeTimeitFunc+"()") || lines[stmtLine-3] != "//go:noinline" {
			t.Errorf("the cell got %q, want the statement from line %d, under a func kept from inlining", lines, stmtLine)
		}
	}
	cells := []string{"x := 1", nativeTimeitCell("x + 1", false)}
	for _, tt := range []struct {
		name string
		errs []native.CellError
		want bool
	}{
		{"unused value", []native.CellError{{Cell: 2, Line: stmtLine, Msg: "x + 1 (value of type int) is not used"}}, true},
		{"another error too", []native.CellError{{Cell: 2, Line: stmtLine, Msg: "x + 1 (value of type int) is not used"}, {Cell: 2, Line: stmtLine, Msg: "undefined: y"}}, false},
		{"an earlier cell's", []native.CellError{{Cell: 1, Line: 1, Msg: "x (value of type int) is not used"}}, false},
		{"none", nil, false},
	} {
		if got := valueUnused(&native.CompileError{Errors: tt.errs}, len(cells)); got != tt.want {
			t.Errorf("%s: valueUnused got %t, want %t", tt.name, got, tt.want)
		}
	}
	e := timedCompileError(&native.CompileError{Errors: []native.CellError{{Cell: 2, Line: stmtLine + 1, Col: 3, Msg: "undefined: y", Source: "\ty()"}}}, cells)
	if e.Value != "the timed statement, line 2:3: undefined: y" {
		t.Errorf("the statement's error got %q, want it on the statement's line 2", e.Value)
	}
}
