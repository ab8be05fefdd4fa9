package grade

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Text is the grade as a teacher reads it: the total, then one line per
// graded cell with its points, and why a cell failed; then the errors of
// cells that are not graded.
func (r *Result) Text(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s of %s points\n", name, points(r.Score), points(r.MaxScore))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, g := range r.Graded {
		title := g.Title
		if title == "" {
			title = "-"
		}
		score := points(g.Score) + " of " + points(g.MaxScore)
		why := g.Status
		switch {
		case g.Status == Manual:
			score = "? of " + points(g.MaxScore)
			why = "manual: a teacher grades this answer"
		case g.Status == Missing:
			why = "missing: the submission has no cell " + g.GradeID
		case g.Error != nil:
			why = g.Status + ": " + g.Error.Ename + ": " + firstLine(g.Error.Evalue)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", g.GradeID, title, score, why)
	}
	tw.Flush()
	if len(r.Errors) > 0 {
		fmt.Fprintf(&b, "errors in cells that are not graded:\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "  cell %d: %s: %s\n", e.Cell, e.Ename, firstLine(e.Evalue))
		}
	}
	return b.String()
}

// JSON is the grade as JSON: the notebook's name, score and max_score, the
// graded cells and the other cells' errors.
func (r *Result) JSON(name string) ([]byte, error) {
	return json.MarshalIndent(struct {
		Notebook string `json:"notebook"`
		*Result
	}{name, r}, "", "  ")
}

func points(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
