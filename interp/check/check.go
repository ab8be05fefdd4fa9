// Package check holds the one-line checks of the classroom notebooks'
// exercises. Cells import it as "atonce/check":
//
//	check.Equal("entries in the merged table", len(merged), 1000)
//	check.AtMost("tasks running at once", run, min(workers, cpus), "a core runs one task at a time")
//
// A check that holds prints what passed, one line on the cell's output. A
// check that does not panics with a *Failure saying what was expected, what
// was got and, when the check gives one, a hint; the interpreter session
// reports it as the cell's error (ename CheckFailed), so that Jupyter,
// nbconvert, nbclient and grading tools see a failed exercise as a failed
// cell.
//
// The session gives each cell the methods of one Checker, which prints on
// the cell's standard output.
package check

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Failure is a check that did not hold: the value a failing check panics
// with.
type Failure struct {
	What string // what was checked, in the notebook's words
	Got  string // the value got, as printed
	Want string // what was wanted: "1000", "at most 2", "more than 1", ...
	Hint string // the check's hint, or ""
}

// Error says what was checked, what was got, what was wanted, and the
// hint.
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.What)
	switch {
	case f.Got == "" && f.Want == "":
	case f.Got == "":
		fmt.Fprintf(&b, ": want %s", f.Want)
	default:
		fmt.Fprintf(&b, ": got %s, want %s", f.Got, f.Want)
	}
	if f.Hint != "" {
		fmt.Fprintf(&b, " (hint: %s)", f.Hint)
	}
	return b.String()
}

// Checker runs checks and prints those that hold on its writer.
type Checker struct {
	w io.Writer
}

// New returns a Checker that prints passed checks on w.
func New(w io.Writer) *Checker { return &Checker{w: w} }

// passed prints a check that held.
func (c *Checker) passed(what, detail string) {
	if c == nil || c.w == nil {
		return
	}
	if detail != "" {
		detail = ": " + detail
	}
	fmt.Fprintf(c.w, "✓ %s%s\n", what, detail)
}

func fail(what, got, want string, hint []string) {
	panic(&Failure{What: what, Got: got, Want: want, Hint: strings.Join(hint, " ")})
}

// show prints a value as a check shows it: strings quoted, durations
// from a millisecond on to the microsecond, floats to 4 significant
// digits (whole below 10000), the rest as %v prints them.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case time.Duration:
		if x >= time.Millisecond || x <= -time.Millisecond {
			return x.Round(time.Microsecond).String()
		}
	case float64:
		return showFloat(x)
	case float32:
		return showFloat(float64(x))
	}
	return fmt.Sprintf("%v", v)
}

func showFloat(x float64) string {
	if math.Abs(x) >= 1e4 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// exact prints a value in full: strings quoted, the rest as %v prints
// them.
func exact(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v", v)
}

// shown prints got and want for a failure: as show prints them, or in
// full when that would print them the same.
func shown(got, want any) (string, string) {
	g, w := show(got), show(want)
	if g == w {
		return exact(got), exact(want)
	}
	return g, w
}

// Equal checks that got equals want: the same number whatever its Go type
// (4, int64(4) and 4.0 are equal, as a result decoded from JSON is a
// float64), the same string, deeply equal values, or values that encode to
// the same JSON (a struct and the map a worker's JSON decoded it to).
func (c *Checker) Equal(what string, got, want any, hint ...string) {
	if !equal(got, want) {
		g, w := shown(got, want)
		fail(what, g, w, hint)
	}
	c.passed(what, show(got))
}

// True checks that cond holds; what says what it means.
func (c *Checker) True(what string, cond bool, hint ...string) {
	if !cond {
		fail(what, "false", "true", hint)
	}
	c.passed(what, "true")
}

// False checks that cond does not hold; what says what it means.
func (c *Checker) False(what string, cond bool, hint ...string) {
	if cond {
		fail(what, "true", "false", hint)
	}
	c.passed(what, "false")
}

// NoError checks that err is no error: nil, a nil error or "" (a task's
// error in a report is a string).
func (c *Checker) NoError(what string, err any, hint ...string) {
	switch e := err.(type) {
	case nil:
	case string:
		if e != "" {
			fail(what, "error "+show(e), "none", hint)
		}
	case error:
		if e != nil {
			fail(what, "error "+show(e.Error()), "none", hint)
		}
	default:
		fail(what, show(err), "no error", append([]string{"NoError takes an error or a string"}, hint...))
	}
	c.passed(what, "no error")
}

// AtMost checks got <= limit. Both are numbers of any type (durations
// too).
func (c *Checker) AtMost(what string, got, limit any, hint ...string) {
	c.order(what, got, limit, "at most", func(d int) bool { return d <= 0 }, hint)
}

// AtLeast checks got >= limit. Both are numbers of any type (durations
// too).
func (c *Checker) AtLeast(what string, got, limit any, hint ...string) {
	c.order(what, got, limit, "at least", func(d int) bool { return d >= 0 }, hint)
}

// Less checks got < limit. Both are numbers of any type (durations too).
func (c *Checker) Less(what string, got, limit any, hint ...string) {
	c.order(what, got, limit, "less than", func(d int) bool { return d < 0 }, hint)
}

// Greater checks got > limit. Both are numbers of any type (durations
// too).
func (c *Checker) Greater(what string, got, limit any, hint ...string) {
	c.order(what, got, limit, "more than", func(d int) bool { return d > 0 }, hint)
}

// order checks that the comparison of got with limit (-1, 0, +1) is ok.
func (c *Checker) order(what string, got, limit any, words string, ok func(int) bool, hint []string) {
	want := words + " " + show(limit)
	d, err := compare(got, limit)
	if err != nil {
		fail(what, show(got), want, append([]string{err.Error()}, hint...))
	}
	if !ok(d) {
		g, l := shown(got, limit)
		fail(what, g, words+" "+l, hint)
	}
	c.passed(what, show(got)+" ("+want+")")
}

// Near checks that got is within tolerance of want: |got - want| <=
// tolerance. All three are numbers of any type (durations too).
func (c *Checker) Near(what string, got, want, tolerance any, hint ...string) {
	wanted := show(want) + " ± " + show(tolerance)
	g, gok := number(got)
	w, wok := number(want)
	t, tok := number(tolerance)
	if !gok || !wok || !tok {
		fail(what, show(got), wanted, append([]string{"Near compares numbers"}, hint...))
	}
	if math.Abs(g.float()-w.float()) > t.float() {
		gs, ws := shown(got, want)
		fail(what, gs, ws+" ± "+show(tolerance), hint)
	}
	c.passed(what, show(got)+" (want "+wanted+")")
}

// num is a number of any Go type: an integer kept exact, or a float.
type num struct {
	isInt bool
	i     int64
	u     uint64 // for unsigned values above MaxInt64
	big   bool   // u holds the value
	f     float64
}

func (n num) float() float64 {
	switch {
	case n.big:
		return float64(n.u)
	case n.isInt:
		return float64(n.i)
	}
	return n.f
}

// number reads v as a number: any integer or float kind, time.Duration
// included.
func number(v any) (num, bool) {
	if v == nil {
		return num{}, false
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return num{isInt: true, i: r.Int()}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := r.Uint()
		if u > math.MaxInt64 {
			return num{isInt: true, big: true, u: u}, true
		}
		return num{isInt: true, i: int64(u)}, true
	case reflect.Float32, reflect.Float64:
		return num{f: r.Float()}, true
	}
	return num{}, false
}

// compare returns -1, 0 or +1 as a is less than, equal to or more than b,
// two numbers; integers compare exactly.
func compare(a, b any) (int, error) {
	x, xok := number(a)
	y, yok := number(b)
	if !xok || !yok {
		return 0, fmt.Errorf("only numbers compare this way, not %s and %s", kind(a), kind(b))
	}
	if x.isInt && y.isInt && !x.big && !y.big {
		switch {
		case x.i < y.i:
			return -1, nil
		case x.i > y.i:
			return 1, nil
		}
		return 0, nil
	}
	xf, yf := x.float(), y.float()
	switch {
	case math.IsNaN(xf) || math.IsNaN(yf):
		return 0, fmt.Errorf("NaN is not a number to compare")
	case xf < yf:
		return -1, nil
	case xf > yf:
		return 1, nil
	}
	return 0, nil
}

// kind names v's type for a message.
func kind(v any) string {
	if v == nil {
		return "nil"
	}
	if _, ok := v.(time.Duration); ok {
		return "a time.Duration"
	}
	name := fmt.Sprintf("%T", v)
	if strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// equal is Equal's rule.
func equal(a, b any) bool {
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			d, err := compare(x.value(), y.value())
			return err == nil && d == 0
		}
		return false
	}
	if _, ok := number(b); ok {
		return false
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// value gives n back as an int64, uint64 or float64.
func (n num) value() any {
	switch {
	case n.big:
		return n.u
	case n.isInt:
		return n.i
	}
	return n.f
}

// std is the Checker of the package's functions: it prints on the
// process's standard output.
var std = New(os.Stdout)

// Equal is Checker.Equal printing on standard output, for host code and
// native programs (cells get the session's Checker).
func Equal(what string, got, want any, hint ...string) { std.Equal(what, got, want, hint...) }

// True is Checker.True printing on standard output.
func True(what string, cond bool, hint ...string) { std.True(what, cond, hint...) }

// False is Checker.False printing on standard output.
func False(what string, cond bool, hint ...string) { std.False(what, cond, hint...) }

// NoError is Checker.NoError printing on standard output.
func NoError(what string, err any, hint ...string) { std.NoError(what, err, hint...) }

// AtMost is Checker.AtMost printing on standard output.
func AtMost(what string, got, limit any, hint ...string) { std.AtMost(what, got, limit, hint...) }

// AtLeast is Checker.AtLeast printing on standard output.
func AtLeast(what string, got, limit any, hint ...string) { std.AtLeast(what, got, limit, hint...) }

// Less is Checker.Less printing on standard output.
func Less(what string, got, limit any, hint ...string) { std.Less(what, got, limit, hint...) }

// Greater is Checker.Greater printing on standard output.
func Greater(what string, got, limit any, hint ...string) { std.Greater(what, got, limit, hint...) }

// Near is Checker.Near printing on standard output.
func Near(what string, got, want, tolerance any, hint ...string) {
	std.Near(what, got, want, tolerance, hint...)
}
