package assign

import (
	"strings"
	"testing"

	"atonce/notebooks/ipynb"
)

func TestClearSolutions(t *testing.T) {
	for _, tt := range []struct {
		name, in, want, wantErr string
	}{
		{"func with results gets the panic",
			"func max2(a, b int) int {\n\t// BEGIN SOLUTION\n\treturn max(a, b)\n\t// END SOLUTION\n}\n",
			"func max2(a, b int) int {\n\t// YOUR CODE HERE\n\tpanic(\"not implemented\")\n}\n", ""},
		{"func without results gets the comment",
			"func Record(i int) {\n\t// BEGIN SOLUTION\n\tjournal = append(journal, i)\n\t// END SOLUTION\n}\n",
			"func Record(i int) {\n\t// YOUR CODE HERE\n}\n", ""},
		{"top level gets the comment",
			"// BEGIN SOLUTION\nloops := 5\n// END SOLUTION\nfmt.Println(loops)\n",
			"// YOUR CODE HERE\nfmt.Println(loops)\n", ""},
		{"a %%models cell's function",
			"%%models -n 4 -models sequential,eventloop -o ex2\nfunc Hop(i int) int {\n    // BEGIN SOLUTION\n    return 1\n    // END SOLUTION\n}",
			"%%models -n 4 -models sequential,eventloop -o ex2\nfunc Hop(i int) int {\n    // YOUR CODE HERE\n    panic(\"not implemented\")\n}", ""},
		{"method with results",
			"type T struct{}\n\nfunc (T) Area() float64 {\n\t// BEGIN SOLUTION\n\treturn 1\n\t// END SOLUTION\n}\n",
			"type T struct{}\n\nfunc (T) Area() float64 {\n\t// YOUR CODE HERE\n\tpanic(\"not implemented\")\n}\n", ""},
		{"func literal with results inside a func without",
			"func f() {\n\tg := func() int {\n\t\t// BEGIN SOLUTION\n\t\treturn 2\n\t\t// END SOLUTION\n\t}\n\t_ = g\n}\n",
			"func f() {\n\tg := func() int {\n\t\t// YOUR CODE HERE\n\t\tpanic(\"not implemented\")\n\t}\n\t_ = g\n}\n", ""},
		{"func without results inside a func with: the inner one counts",
			"func f() int {\n\tgo func() {\n\t\t// BEGIN SOLUTION\n\t\twork()\n\t\t// END SOLUTION\n\t}()\n\treturn 0\n}\n",
			"func f() int {\n\tgo func() {\n\t\t// YOUR CODE HERE\n\t}()\n\treturn 0\n}\n", ""},
		{"part of a body, in a branch",
			"func Beat(i int) int {\n\tif i == 0 {\n\t\t// BEGIN SOLUTION\n\t\treturn 7\n\t\t// END SOLUTION\n\t}\n\treturn 0\n}\n",
			"func Beat(i int) int {\n\tif i == 0 {\n\t\t// YOUR CODE HERE\n\t\tpanic(\"not implemented\")\n\t}\n\treturn 0\n}\n", ""},
		{"two regions",
			"func a() int {\n// BEGIN SOLUTION\nreturn 1\n// END SOLUTION\n}\nfunc b() {\n  // BEGIN SOLUTION\n  x()\n  // END SOLUTION\n}",
			"func a() int {\n// YOUR CODE HERE\npanic(\"not implemented\")\n}\nfunc b() {\n  // YOUR CODE HERE\n}", ""},
		{"markers with extra spaces", "func f() int {\n\t//   BEGIN SOLUTION  \n\treturn 1\n\t//END SOLUTION\n}",
			"func f() int {\n\t// YOUR CODE HERE\n\tpanic(\"not implemented\")\n}", ""},
		{"no region", "x := 1\n", "x := 1\n", ""},
		{"nested", "func f() int {\n// BEGIN SOLUTION\n// BEGIN SOLUTION\nreturn 1\n// END SOLUTION\n// END SOLUTION\n}", "",
			"line 3: BEGIN SOLUTION inside the region that line 2 begins; regions do not nest (end it first)"},
		{"missing END", "func f() int {\n\t// BEGIN SOLUTION\n\treturn 1\n}", "",
			"line 2: BEGIN SOLUTION has no END SOLUTION after it"},
		{"END without BEGIN", "func f() int {\n\treturn 1\n\t// END SOLUTION\n}", "",
			"line 3: END SOLUTION without a BEGIN SOLUTION before it"},
		{"marker not on a line of its own", "x := 1 // BEGIN SOLUTION\n", "",
			`line 1: "x := 1 // BEGIN SOLUTION" mentions BEGIN SOLUTION: write the marker as a comment on a line of its own, // BEGIN SOLUTION`},
		{"does not parse", "func f() int {\n\t// BEGIN SOLUTION\n\treturn 1 +\n\t// END SOLUTION\n}", "",
			"the cell does not parse as Go, so its solution regions cannot be placed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClearSolutions(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ClearSolutions(%q): got error %v, want one saying %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ClearSolutions(%q)\n got %q, %v\nwant %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// cell is a cell of a test notebook.
type cell struct {
	typ, src, meta string
}

// notebook makes a notebook of cells; meta is a cell's metadata JSON.
func notebook(t *testing.T, cells ...cell) *ipynb.Notebook {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"language": "go", "name": "atonce"}}, "cells": [`)
	for i, c := range cells {
		if i > 0 {
			b.WriteString(",")
		}
		meta := c.meta
		if meta == "" {
			meta = "{}"
		}
		out := ""
		if c.typ == "code" {
			out = `, "outputs": [{"output_type": "stream", "name": "stdout", "text": "old"}], "execution_count": 3`
		}
		b.WriteString(`{"cell_type": "` + c.typ + `", "metadata": ` + meta + `, "source": ` + quote(c.src) + out + `}`)
	}
	b.WriteString("]}")
	nb, err := ipynb.Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("test notebook: %v", err)
	}
	return nb
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

const (
	solutionMeta = `{"nbgrader": {"grade": false, "grade_id": "ex1-solution", "locked": false, "solution": true, "schema_version": 3}, "atonce": {"expect": ["x"]}}`
	gradeMeta    = `{"nbgrader": {"grade": true, "grade_id": "ex1-check", "locked": true, "points": 2, "solution": false, "schema_version": 3}}`
)

func TestRelease(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cells   []cell
		want    []string // each cell's source in the student version
		wantErr string
	}{
		{"solution and hidden tests",
			[]cell{
				{"markdown", "### Exercise 1", ""},
				{"code", "func f() int {\n\t// BEGIN SOLUTION\n\treturn 1\n\t// END SOLUTION\n}\n", solutionMeta},
				{"code", "check.Equal(\"f()\", f(), 1)\n// BEGIN HIDDEN TESTS\ncheck.True(\"f is 1 again\", f() == 1)\n// END HIDDEN TESTS\nfmt.Println(\"done\")\n", gradeMeta},
			},
			[]string{"### Exercise 1", "func f() int {\n\t// YOUR CODE HERE\n\tpanic(\"not implemented\")\n}\n", "check.Equal(\"f()\", f(), 1)\nfmt.Println(\"done\")\n"}, ""},
		{"a solution cell without markers is replaced whole",
			[]cell{{"code", "x := 41\nx++\n", solutionMeta}},
			[]string{"// YOUR CODE HERE\n"}, ""},
		{"a written answer",
			[]cell{{"markdown", "Because:\n=== BEGIN SOLUTION ===\nof the loop\n=== END SOLUTION ===\n", `{"nbgrader": {"grade": true, "grade_id": "why", "locked": false, "points": 1, "solution": true, "schema_version": 3}}`}},
			[]string{"Because:\nYOUR ANSWER HERE\n"}, ""},
		{"a solution region outside a solution cell",
			[]cell{{"code", "func f() int {\n\t// BEGIN SOLUTION\n\treturn 1\n\t// END SOLUTION\n}\n", ""}},
			nil, `cell 1 ("func f() int {"): it has a solution region but is not a solution cell`},
		{"hidden tests outside a graded cell",
			[]cell{{"code", "// BEGIN HIDDEN TESTS\ncheck.True(\"x\", true)\n// END HIDDEN TESTS\n", solutionMeta}},
			nil, "it has hidden tests but is not a graded cell"},
		{"hidden tests without an end",
			[]cell{{"code", "check.True(\"x\", true)\n// BEGIN HIDDEN TESTS\ncheck.True(\"y\", true)\n", gradeMeta}},
			nil, `cell 1 ("check.True(\"x\", true)"): line 2: BEGIN HIDDEN TESTS has no END HIDDEN TESTS after it`},
		{"overlapping regions",
			[]cell{{"code", "// BEGIN HIDDEN TESTS\n// BEGIN SOLUTION\nx := 1\n// END HIDDEN TESTS\n// END SOLUTION\n", `{"nbgrader": {"grade": true, "grade_id": "both", "locked": false, "points": 1, "solution": true, "schema_version": 3}}`}},
			nil, "a hidden-tests region and a solution region overlap"},
		{"a graded cell without points",
			[]cell{{"code", "check.True(\"x\", true)\n", `{"nbgrader": {"grade": true, "grade_id": "ex1", "locked": true, "solution": false, "schema_version": 3}}`}},
			nil, `it is graded (grade_id "ex1") but its nbgrader metadata gives no points`},
		{"two cells, one grade_id",
			[]cell{{"code", "a()\n", gradeMeta}, {"code", "b()\n", gradeMeta}},
			nil, `cell 1 ("a()") and cell 2 ("b()") have the same grade_id "ex1-check"`},
		{"an old schema",
			[]cell{{"code", "a()\n", `{"nbgrader": {"grade": false, "grade_id": "x", "locked": true, "solution": false, "schema_version": 1}}`}},
			nil, "schema_version 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nb := notebook(t, tt.cells...)
			before, _ := nb.Marshal()
			got, err := Release(nb)
			if after, _ := nb.Marshal(); string(after) != string(before) {
				t.Errorf("Release changed the teacher's notebook")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range got.Cells {
				if c.Source() != tt.want[i] {
					t.Errorf("cell %d: got %q, want %q", i+1, c.Source(), tt.want[i])
				}
			}
		})
	}
}

// TestReleaseCells: outputs are cleared, the test suite's expectations
// dropped, tests locked and solution cells kept from deletion, as nbgrader
// does.
func TestReleaseCells(t *testing.T) {
	nb := notebook(t,
		cell{"code", "fmt.Println(1)\n", `{"atonce": {"expect": ["1"]}}`},
		cell{"code", "func f() int {\n\t// BEGIN SOLUTION\n\treturn 1\n\t// END SOLUTION\n}\n", solutionMeta},
		cell{"code", "check.Equal(\"f()\", f(), 1)\n", gradeMeta},
	)
	got, err := Release(nb)
	if err != nil {
		t.Fatal(err)
	}
	b, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ipynb.Parse(b)
	if err != nil {
		t.Fatalf("the student version does not read back: %v", err)
	}
	for i, tt := range []struct {
		editable, deletable any // nil: not set
	}{{nil, nil}, {nil, false}, {false, false}} {
		c := back.Cells[i]
		var expect any
		if has, _ := c.Metadata("atonce", &expect); has {
			t.Errorf("cell %d: got atonce metadata %v, want none", i+1, expect)
		}
		for key, want := range map[string]any{"editable": tt.editable, "deletable": tt.deletable} {
			var v any
			has, _ := c.Metadata(key, &v)
			if (want == nil && has) || (want != nil && v != want) {
				t.Errorf("cell %d: %s got %v (set: %v), want %v", i+1, key, v, has, want)
			}
		}
	}
	if !strings.Contains(string(b), `"outputs": []`) || strings.Contains(string(b), `"old"`) || strings.Contains(string(b), `"execution_count": 3`) {
		t.Errorf("outputs not cleared:\n%s", b)
	}
}
