package check_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"atonce/interp/check"
)

// run calls one check and returns what it printed and the failure it
// panicked with, if any.
func run(f func(c *check.Checker)) (printed string, failure *check.Failure) {
	var out strings.Builder
	c := check.New(&out)
	defer func() {
		if r := recover(); r != nil {
			err, ok := r.(error)
			if !ok || !errors.As(err, &failure) {
				panic(r)
			}
		}
		printed = out.String()
	}()
	f(c)
	return out.String(), nil
}

func TestChecks(t *testing.T) {
	type point struct{ X, Y int }
	for _, tt := range []struct {
		name    string
		call    func(c *check.Checker)
		printed string // what a check that holds prints
		failed  string // the failure's message, when it does not hold
	}{
		{"equal ints", func(c *check.Checker) { c.Equal("entries", 1000, 1000) }, "✓ entries: 1000\n", ""},
		{"equal int and JSON float", func(c *check.Checker) { c.Equal("pieces", 4.0, 4) }, "✓ pieces: 4\n", ""},
		{"equal int64 and int", func(c *check.Checker) { c.Equal("hits", int64(800000), 800000) }, "✓ hits: 800000\n", ""},
		{"equal strings", func(c *check.Checker) { c.Equal("motto", "A", "A") }, "✓ motto: \"A\"\n", ""},
		{"equal struct and decoded map", func(c *check.Checker) {
			c.Equal("result", map[string]any{"X": 2.0, "Y": 4.0}, point{2, 4})
		}, "✓ result: map[X:2 Y:4]\n", ""},
		{"not equal", func(c *check.Checker) {
			c.Equal("entries in the cache", 812, 1000, "two tasks read the same length")
		}, "", "entries in the cache: got 812, want 1000 (hint: two tasks read the same length)"},
		{"nil is not a number", func(c *check.Checker) { c.Equal("task 0's result", nil, 4) }, "", "task 0's result: got <nil>, want 4"},
		{"a string is not a number", func(c *check.Checker) { c.Equal("n", "4", 4) }, "", `n: got "4", want 4`},
		{"different strings", func(c *check.Checker) { c.Equal("heard", "TASK 1 WAS HERE", "TASK 0 WAS HERE") }, "",
			`heard: got "TASK 1 WAS HERE", want "TASK 0 WAS HERE"`},
		{"true", func(c *check.Checker) { c.True("one task at a time", true) }, "✓ one task at a time: true\n", ""},
		{"not true", func(c *check.Checker) { c.True("one task at a time", false, "look at the task stream") }, "",
			"one task at a time: got false, want true (hint: look at the task stream)"},
		{"false", func(c *check.Checker) { c.False("a result changed on its way", false) }, "✓ a result changed on its way: false\n", ""},
		{"no error", func(c *check.Checker) { c.NoError("the tasks", "") }, "✓ the tasks: no error\n", ""},
		{"no error: nil", func(c *check.Checker) { c.NoError("the tasks", nil) }, "✓ the tasks: no error\n", ""},
		{"an error string", func(c *check.Checker) { c.NoError("the tasks", "task 0: panicked: not implemented", "write Hop") }, "",
			`the tasks: got error "task 0: panicked: not implemented", want none (hint: write Hop)`},
		{"an error", func(c *check.Checker) { c.NoError("opening", errors.New("no such file")) }, "", `opening: got error "no such file", want none`},
		{"not an error", func(c *check.Checker) { c.NoError("n", 3) }, "", "n: got 3, want no error (hint: NoError takes an error or a string)"},
		{"at most", func(c *check.Checker) { c.AtMost("tasks running at once", 2, 2) }, "✓ tasks running at once: 2 (at most 2)\n", ""},
		{"more than at most", func(c *check.Checker) { c.AtMost("tasks running at once", 3, 2, "a core runs one task at a time") }, "",
			"tasks running at once: got 3, want at most 2 (hint: a core runs one task at a time)"},
		{"at least durations", func(c *check.Checker) {
			c.AtLeast("wall time", 81*time.Millisecond, 80*time.Millisecond)
		}, "✓ wall time: 81ms (at least 80ms)\n", ""},
		{"less than at least", func(c *check.Checker) { c.AtLeast("wall time", 79*time.Millisecond, 80*time.Millisecond) }, "",
			"wall time: got 79ms, want at least 80ms"},
		{"less", func(c *check.Checker) { c.Less("lateness", 1.5, 2) }, "✓ lateness: 1.5 (less than 2)\n", ""},
		{"not less", func(c *check.Checker) { c.Less("lateness", 2, 2) }, "", "lateness: got 2, want less than 2"},
		{"greater", func(c *check.Checker) { c.Greater("in flight", 4, 1) }, "✓ in flight: 4 (more than 1)\n", ""},
		{"not greater", func(c *check.Checker) { c.Greater("in flight", 1, 1) }, "", "in flight: got 1, want more than 1"},
		{"large integers compare exactly", func(c *check.Checker) { c.Less("n", int64(1<<62), int64(1<<62)+1) }, "✓ n: 4611686018427387904 (less than 4611686018427387905)\n", ""},
		{"unsigned above int64", func(c *check.Checker) { c.Greater("n", uint64(1<<63), 1) }, "✓ n: 9223372036854775808 (more than 1)\n", ""},
		{"order of non-numbers", func(c *check.Checker) { c.AtMost("n", "3", 2) }, "",
			`n: got "3", want at most 2 (hint: only numbers compare this way, not a string and an int)`},
		{"near", func(c *check.Checker) { c.Near("speedup", 1.04, 1, 0.05) }, "✓ speedup: 1.04 (want 1 ± 0.05)\n", ""},
		{"near durations", func(c *check.Checker) {
			c.Near("d", 21*time.Millisecond, 20*time.Millisecond, time.Millisecond)
		}, "✓ d: 21ms (want 20ms ± 1ms)\n", ""},
		{"not near", func(c *check.Checker) { c.Near("speedup", 1.2, 1, 0.05) }, "", "speedup: got 1.2, want 1 ± 0.05"},
		{"durations to the microsecond", func(c *check.Checker) {
			c.AtMost("busy", 251737819*time.Nanosecond, 284304955*time.Nanosecond)
		}, "✓ busy: 251.738ms (at most 284.305ms)\n", ""},
		{"short durations in full", func(c *check.Checker) { c.Greater("span", 1500*time.Nanosecond, 0) }, "✓ span: 1.5µs (more than 0)\n", ""},
		{"floats to 4 digits", func(c *check.Checker) { c.AtMost("cores busy", 1.8538373842761964, 2.1) }, "✓ cores busy: 1.854 (at most 2.1)\n", ""},
		{"large floats whole", func(c *check.Checker) { c.Equal("value", 998001.0, 998001) }, "✓ value: 998001\n", ""},
		{"in full when rounding hides the difference", func(c *check.Checker) { c.Equal("ratio", 1.00001, 1) }, "", "ratio: got 1.00001, want 1"},
		{"in full when rounding hides an order", func(c *check.Checker) {
			c.AtMost("wall", 80000400*time.Nanosecond, 80000300*time.Nanosecond)
		}, "", "wall: got 80.0004ms, want at most 80.0003ms"},
		{"hints join", func(c *check.Checker) { c.True("x", false, "one", "two") }, "", "x: got false, want true (hint: one two)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			printed, failure := run(tt.call)
			got := ""
			if failure != nil {
				got = failure.Error()
			}
			if got != tt.failed {
				t.Errorf("failure got %q, want %q", got, tt.failed)
			}
			if printed != tt.printed {
				t.Errorf("printed %q, want %q", printed, tt.printed)
			}
		})
	}
}
