package ipynb

import (
	"fmt"
	"regexp"
	"strings"
)

// Nbgrader is nbgrader's cell metadata (the "nbgrader" key of a cell's
// metadata, schema version 3): what a cell is in an assignment.
//
//   - a solution cell (Solution) holds the student's answer: its solution
//     regions, or the whole cell, are cleared in the student version;
//   - a grade cell (Grade, with Points) is graded: a code grade cell holds
//     tests and scores its points when it runs without an error;
//   - a locked cell (Locked) is one the student is not meant to change;
//     grading can put it back as the teacher wrote it.
type Nbgrader struct {
	Grade         bool     `json:"grade"`
	GradeID       string   `json:"grade_id,omitempty"`
	Locked        bool     `json:"locked"`
	Points        *float64 `json:"points,omitempty"`
	Solution      bool     `json:"solution"`
	Task          bool     `json:"task,omitempty"`
	SchemaVersion int      `json:"schema_version"`
}

// SchemaVersion is the version of nbgrader's cell metadata atonce writes.
const SchemaVersion = 3

// gradeID is nbgrader's pattern for a grade_id.
var gradeID = regexp.MustCompile(`^[a-zA-Z0-9_\-]*$`)

// Nbgrader returns the cell's nbgrader metadata, and whether it has any.
// It checks the rules nbgrader checks of one cell: a grade, solution or
// locked cell has a grade_id of letters, digits, _ and -; a grade cell has
// points; a markdown cell is graded only as a solution (a written answer)
// unless it is a task.
func (c *Cell) Nbgrader() (Nbgrader, bool, error) {
	var m Nbgrader
	ok, err := c.Metadata("nbgrader", &m)
	if err != nil || !ok {
		return m, ok, err
	}
	if m.SchemaVersion != 3 && m.SchemaVersion != 4 {
		return m, true, fmt.Errorf("its nbgrader metadata has schema_version %d; atonce reads versions 3 and 4 (nbgrader upgrades older notebooks when it opens them)", m.SchemaVersion)
	}
	if m.Grade || m.Solution || m.Locked {
		switch {
		case m.GradeID == "":
			return m, true, fmt.Errorf("its nbgrader metadata has no grade_id: every graded, solution or locked cell needs one")
		case !gradeID.MatchString(m.GradeID):
			return m, true, fmt.Errorf("its grade_id %q has characters nbgrader does not allow (letters, digits, _ and - only)", m.GradeID)
		}
	}
	if m.Grade && m.Points == nil {
		return m, true, fmt.Errorf("it is graded (grade_id %q) but its nbgrader metadata gives no points", m.GradeID)
	}
	if m.Points != nil && *m.Points < 0 {
		return m, true, fmt.Errorf("grade_id %q has negative points", m.GradeID)
	}
	switch {
	case m.Task && c.Type() != Markdown:
		return m, true, fmt.Errorf("grade_id %q is a task, and task cells are markdown", m.GradeID)
	case !m.Task && c.Type() == Markdown && m.Grade != m.Solution:
		return m, true, fmt.Errorf("grade_id %q is a markdown cell that is graded or a solution but not both: a written answer is both", m.GradeID)
	}
	return m, true, nil
}

// PointsOf returns the cell's points, 0 when it has none.
func (m Nbgrader) PointsOf() float64 {
	if m.Points == nil {
		return 0
	}
	return *m.Points
}

// CheckNbgrader checks the nbgrader metadata of every cell (see
// Cell.Nbgrader) and that no two cells share a grade_id. Errors name the
// cell by its number (from 1) and the start of its text.
func (nb *Notebook) CheckNbgrader() error {
	seen := map[string]int{}
	for i, c := range nb.Cells {
		m, ok, err := c.Nbgrader()
		if err != nil {
			return fmt.Errorf("%s: %w", nb.Name(i), err)
		}
		if !ok || !(m.Grade || m.Solution || m.Locked) {
			continue
		}
		if j, dup := seen[m.GradeID]; dup {
			return fmt.Errorf("%s and %s have the same grade_id %q; each needs its own", nb.Name(j), nb.Name(i), m.GradeID)
		}
		seen[m.GradeID] = i
	}
	return nil
}

// Name names cell i (from 0) for a message: its number from 1 and the
// start of its first line.
func (nb *Notebook) Name(i int) string {
	first, _, _ := strings.Cut(strings.TrimSpace(nb.Cells[i].Source()), "\n")
	if r := []rune(first); len(r) > 40 {
		first = string(r[:40]) + "…"
	}
	return fmt.Sprintf("cell %d (%q)", i+1, first)
}

// ByGradeID returns the index of the cell with grade_id id, or -1.
func (nb *Notebook) ByGradeID(id string) int {
	for i, c := range nb.Cells {
		if m, ok, _ := c.Nbgrader(); ok && m.GradeID == id {
			return i
		}
	}
	return -1
}
