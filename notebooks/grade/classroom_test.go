package grade_test

import (
	"path/filepath"
	"strings"
	"testing"

	"atonce/notebooks/assign"
	"atonce/notebooks/grade"
	"atonce/notebooks/ipynb"
)

// classroom returns the notebooks of notebooks/ that have graded cells.
func classroom(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("../*.ipynb")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		nb := read(t, p)
		for _, c := range nb.Cells {
			if m, ok, _ := c.Nbgrader(); ok && m.Grade {
				out = append(out, p)
				break
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no notebook in notebooks/ has graded cells")
	}
	return out
}

// partly is the student version with the solution cells before the first
// graded cell taken from the teacher's version: the first exercise solved.
func partly(t *testing.T, teacher, student *ipynb.Notebook) (*ipynb.Notebook, string) {
	t.Helper()
	nb := student.Clone()
	for _, c := range teacher.Cells {
		m, ok, _ := c.Nbgrader()
		if !ok {
			continue
		}
		if m.Grade {
			return nb, m.GradeID
		}
		if m.Solution {
			nb.Cells[nb.ByGradeID(m.GradeID)] = c.Clone()
		}
	}
	t.Fatal("the notebook has no graded cell after a solution cell")
	return nil, ""
}

// TestClassroom grades each classroom notebook three times, each in a
// fresh engine: the teacher's (solution) version scores every point; the
// student version assign releases fails every graded cell, with the
// teacher's hidden tests back; the student version with the first
// exercise solved scores that exercise's points and no other. In none does
// a cell that is not graded fail: the student version runs as it is.
func TestClassroom(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the classroom notebooks: skipped with -short")
	}
	for _, path := range classroom(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".ipynb"), func(t *testing.T) {
			teacher := read(t, path)
			student, err := assign.Release(teacher)
			if err != nil {
				t.Fatalf("assign: %v", err)
			}
			first, firstID := partly(t, teacher, student)
			for _, tt := range []struct {
				name   string
				nb     *ipynb.Notebook
				passed func(id string) bool // which graded cells must pass; the others must fail
			}{
				{"solution", teacher, func(string) bool { return true }},
				{"student version", student, func(string) bool { return false }},
				{"first exercise solved", first, func(id string) bool { return id == firstID }},
			} {
				t.Run(tt.name, func(t *testing.T) {
					res := run(t, tt.nb, grade.Options{Source: teacher})
					var want float64
					for _, g := range res.Graded {
						if tt.passed(g.GradeID) {
							want += g.MaxScore
							if g.Status != grade.Passed {
								t.Errorf("%s (%s): got %s %+v, want it passed", g.GradeID, g.Title, g.Status, g.Error)
							}
						} else if g.Status != grade.Failed && g.Status != grade.Errored {
							t.Errorf("%s (%s): got %s, want it failed", g.GradeID, g.Title, g.Status)
						}
					}
					if res.Score != want || res.MaxScore == 0 || len(res.Graded) < 3 {
						t.Errorf("got %v of %v points in %d graded cells, want %v", res.Score, res.MaxScore, len(res.Graded), want)
					}
					for _, e := range res.Errors {
						t.Errorf("cell %d, not graded, failed: %s: %s", e.Cell, e.Ename, e.Evalue)
					}
					t.Logf("%s", res.Text(filepath.Base(path)))
				})
			}
		})
	}
}
