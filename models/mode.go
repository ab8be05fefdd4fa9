package models

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Mode is how a run executed the notebook's code.
type Mode string

const (
	// Interpreted: the notebook's code interpreted by yaegi, in the engine
	// (the in-process models) or in `atonce worker` processes.
	Interpreted Mode = "interpreted"
	// Native: the notebook's code compiled by the Go toolchain into a
	// program of its own, which runs every model's tasks in processes
	// apart from the engine.
	Native Mode = "native"
)

// Label is how tables, charts and sentences name the report's run when
// its mode matters: "threads (native)", "threads (interpreted)"; the
// model's name alone for a report that does not say its mode.
func (r Report) Label() string {
	if r.Mode == "" {
		return r.Model
	}
	return r.Model + " (" + string(r.Mode) + ")"
}

// Labelled returns reports ready to be shown together: when one of them
// is native, copies whose Model is their Label ("threads (native)"), so
// that every table row, chart panel and sentence says which mode made
// it; otherwise reports as they are (an interpreted comparison reads as
// it always did).
func Labelled(reports []Report) []Report {
	native := false
	for _, r := range reports {
		native = native || r.Mode == Native
	}
	if !native {
		return reports
	}
	out := make([]Report, len(reports))
	for i, r := range reports {
		r.Model = r.Label()
		out[i] = r
	}
	return out
}

// OfMode returns the reports of mode, in their order.
func OfMode(reports []Report, mode Mode) []Report {
	var out []Report
	for _, r := range reports {
		if r.Mode == mode {
			out = append(out, r)
		}
	}
	return out
}

// baselineOf is BaselineRun among the reports of r's mode: each mode's
// speedups are against its own baseline.
func baselineOf(reports []Report, mode Mode) (Report, bool) {
	var same []Report
	for _, r := range reports {
		if r.Mode == mode {
			same = append(same, r)
		}
	}
	return BaselineRun(same)
}

// speedupOf is r's speedup over the baseline of its mode among reports
// (SpeedupOf's estimate), false when there is none to compare with.
func speedupOf(reports []Report, r Report) (float64, bool) {
	iv, ok := SpeedupOf(reports, r)
	return iv.Mid, ok
}

// ModeComparison sets each model's interpreted run beside its native run
// (reports of both modes, as `-mode both` makes them): the wall times,
// how much faster the compiled code ran, each mode's speedup over its own
// baseline, and how far the interpreter moved the speedup. It returns
// the table as text and HTML, and one sentence per model, e.g. "threads:
// 1.62x interpreted, 1.94x native: the interpreter understates the
// speedup by 16%". Models that ran in one mode only are left out.
func ModeComparison(reports []Report) (text, htmlTable string, sentences []string) {
	header := []string{"model", "interpreted ms", "native ms", "native is faster", "speedup interpreted", "speedup native", "the interpreter"}
	var rows [][]string
	seen := map[string]bool{}
	for _, r := range reports {
		if seen[r.Model] {
			continue
		}
		seen[r.Model] = true
		in, okIn := modelRun(reports, r.Model, Interpreted)
		nat, okNat := modelRun(reports, r.Model, Native)
		if !okIn || !okNat {
			continue
		}
		row, sentence := compareRuns(reports, in, nat)
		rows = append(rows, row)
		sentences = append(sentences, sentence)
	}
	if len(rows) == 0 {
		return "", "", nil
	}
	text, htmlTable = RenderTable(header, rows)
	var tb, hb strings.Builder
	tb.WriteString("Interpreted and native, side by side (each mode's speedup is over its own " + baselineName(reports) + ")\n")
	tb.WriteString(text)
	hb.WriteString("<p><b>Interpreted and native, side by side</b> (each mode's speedup is over its own " + html.EscapeString(baselineName(reports)) + ")</p>\n")
	hb.WriteString(htmlTable)
	hb.WriteString("<ul>\n")
	for _, s := range sentences {
		tb.WriteString("  " + s + "\n")
		fmt.Fprintf(&hb, "<li>%s</li>\n", html.EscapeString(s))
	}
	hb.WriteString("</ul>\n")
	return tb.String(), hb.String(), sentences
}

// baselineName is the name of the baseline model among reports, or of
// the registered one.
func baselineName(reports []Report) string {
	for _, r := range reports {
		if r.Baseline {
			return r.Model
		}
	}
	if m, ok := BaselineModel(); ok {
		return m.Name()
	}
	return "baseline"
}

// modelRun returns the report of model in mode.
func modelRun(reports []Report, model string, mode Mode) (Report, bool) {
	for _, r := range reports {
		if r.Model == model && r.Mode == mode {
			return r, true
		}
	}
	return Report{}, false
}

// compareRuns is the row and the sentence of one model's two runs.
func compareRuns(reports []Report, in, nat Report) ([]string, string) {
	row := []string{in.Model, millis(in.Wall), millis(nat.Wall), "", "", "", ""}
	failed := func(r Report) string {
		if r.Err != "" {
			return r.Err
		}
		return "no wall time"
	}
	switch {
	case in.Err != "" || in.Wall <= 0:
		row[6] = "no comparison: the interpreted run failed"
		return row, fmt.Sprintf("%s: no comparison: the interpreted run failed (%s)", in.Model, firstLineOf(failed(in)))
	case nat.Err != "" || nat.Wall <= 0:
		row[6] = "no comparison: the native run failed"
		return row, fmt.Sprintf("%s: no comparison: the native run failed (%s)", in.Model, firstLineOf(failed(nat)))
	}
	faster := float64(in.Wall) / float64(nat.Wall)
	row[3] = ratio(faster)
	si, okIn := speedupOf(reports, in)
	sn, okNat := speedupOf(reports, nat)
	if okIn {
		row[4] = fmt.Sprintf("%.2fx", si)
	}
	if okNat {
		row[5] = fmt.Sprintf("%.2fx", sn)
	}
	walls := fmt.Sprintf("%s interpreted, %s native", duration(in.Wall), duration(nat.Wall))
	if in.Baseline || !okIn || !okNat {
		return row, fmt.Sprintf("%s: %s: the compiled code ran %s", in.Model, walls, fasterWords(faster))
	}
	row[6] = distortion(si, sn)
	return row, fmt.Sprintf("%s: %.2fx interpreted, %.2fx native: the interpreter %s (%s)", in.Model, si, sn, row[6], walls)
}

// distortion says how far the interpreted speedup si is from the native
// one sn: "understates the speedup by 16%", "overstates ... by 25%", or
// "gets the speedup about right (within 5%)".
func distortion(si, sn float64) string {
	d := si/sn - 1
	switch {
	case math.Abs(d) < 0.05:
		return "gets the speedup about right (within 5%)"
	case d < 0:
		return fmt.Sprintf("understates the speedup by %.0f%%", -100*d)
	}
	return fmt.Sprintf("overstates the speedup by %.0f%%", 100*d)
}

// ratio writes x as "269x", "2.4x" or "0.93x".
func ratio(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0fx", x)
	case x >= 10:
		return fmt.Sprintf("%.1fx", x)
	}
	return fmt.Sprintf("%.2fx", x)
}

// fasterWords is "269x faster", or "1.4x slower" when x < 1.
func fasterWords(x float64) string {
	if x < 1 {
		return ratio(1/x) + " slower"
	}
	return ratio(x) + " faster"
}

// duration writes d with three significant digits: "1.31ms", "352ms".
func duration(d time.Duration) string {
	unit := time.Duration(1)
	for d/unit >= 1000 {
		unit *= 10
	}
	return d.Round(unit).String()
}

// firstLineOf is s up to its first newline.
func firstLineOf(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
