package models

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// CompareOptions tune Compare.
type CompareOptions struct {
	// Options are passed to every run (Workers applies to every model
	// but sequential).
	Options
	// Repeat is how many times each model runs (0 means once); Compare
	// reports the run with the median wall time.
	Repeat int
	// Reset, if set, is called before every run so that every model starts
	// from the same state (for example the notebook's variables). An error
	// stops Compare.
	Reset func() error
}

// Compare runs t under each named model (see Names), Repeat times each,
// and returns one report per model, in the order of names: the run with
// the median wall time. It stops at the first run that fails (ctx done),
// returning the reports so far, that run's included, and the error.
// Tasks that fail do not stop it.
func Compare(ctx context.Context, t Task, names []string, opt CompareOptions) ([]Report, error) {
	ms := make([]Model, len(names))
	for i, name := range names {
		m, err := ByName(name)
		if err != nil {
			return nil, err
		}
		ms[i] = m
	}
	repeat := max(opt.Repeat, 1)
	var reports []Report
	for _, m := range ms {
		runs := make([]Report, 0, repeat)
		for range repeat {
			if opt.Reset != nil {
				if err := opt.Reset(); err != nil {
					return reports, fmt.Errorf("resetting the notebook's state before the %s run: %w", m.Name(), err)
				}
			}
			rep, err := m.Run(ctx, t, opt.Options)
			if err != nil {
				return append(reports, rep), err
			}
			runs = append(runs, rep)
		}
		slices.SortStableFunc(runs, func(a, b Report) int { return cmp.Compare(a.Wall, b.Wall) })
		reports = append(reports, runs[(len(runs)-1)/2])
	}
	return reports, nil
}

// Table renders reports side by side, as aligned plain text and as an
// HTML <table> (no scripts, no styles). Per model: wall and CPU time in
// milliseconds, speedup (the sequential wall time divided by the model's)
// and efficiency (speedup per worker) when a sequential report is among
// them, workers, tasks per worker (mean, and min–max over the workers
// that ran tasks), the MSU and sharing facts, and errors; below it, the
// runs' notes (Report.Notes) and which runs competed for the cores.
//
// Reports of several modes (interpreted and native) are each compared
// with the baseline of their own mode; a native run's toolchain is
// named in a note.
func Table(reports []Report) (text string, htmlTable string) {
	header := []string{"model", "wall ms", "CPU ms", "speedup", "efficiency", "workers", "tasks/worker", "MSU", "sharing", "errors"}
	rows := [][]string{}
	for _, r := range reports {
		speedup, efficiency := "", ""
		if b, ok := baselineOf(reports, r.Mode); ok && r.Wall > 0 {
			s := float64(b.Wall) / float64(r.Wall)
			speedup = fmt.Sprintf("%.2fx", s)
			if r.Workers > 0 {
				efficiency = fmt.Sprintf("%.0f%%", 100*s/float64(r.Workers))
			}
		}
		rows = append(rows, []string{
			r.Model,
			millis(r.Wall),
			millis(r.CPU),
			speedup,
			efficiency,
			fmt.Sprint(r.Workers),
			tasksPerWorker(r),
			r.MSU,
			r.Sharing,
			errorsOf(r),
		})
	}

	var notes []string
	var compilers []string
	for _, r := range reports {
		if r.Mode == Native && r.GoVersion != "" && !slices.Contains(compilers, r.GoVersion) {
			compilers = append(compilers, r.GoVersion)
		}
	}
	if len(compilers) > 0 {
		notes = append(notes, "native: the notebook's code compiled by "+strings.Join(compilers, ", ")+", run in processes apart from the engine")
	}
	for _, r := range reports {
		for _, n := range r.Notes {
			notes = append(notes, r.Model+": "+n)
		}
	}
	notes = append(notes, contention(reports)...)
	text, table := RenderTable(header, rows)
	var hb strings.Builder
	hb.WriteString(table)
	for _, n := range notes {
		text += "note: " + n + "\n"
		fmt.Fprintf(&hb, "<p>note: %s</p>\n", html.EscapeString(n))
	}
	return text, hb.String()
}

// BaselineRun returns the last report of the baseline model
// (Traits.Baseline) that ran to the end and has a wall time: the
// reference of every speedup. It returns false when there is none.
func BaselineRun(reports []Report) (Report, bool) {
	var base Report
	found := false
	for _, r := range reports {
		if r.Baseline && r.Err == "" && r.Wall > 0 {
			base, found = r, true
		}
	}
	return base, found
}

// RenderTable renders rows under header as aligned plain text (columns
// two spaces apart, no trailing blanks) and as a script-free HTML
// <table>, cells escaped.
func RenderTable(header []string, rows [][]string) (text, htmlTable string) {
	clean := strings.NewReplacer("\t", " ", "\n", " ")
	var tb strings.Builder
	tw := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	for _, row := range append([][]string{header}, rows...) {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = clean.Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	lines := strings.Split(strings.TrimSuffix(tb.String(), "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	var hb strings.Builder
	hb.WriteString("<table>\n<thead><tr>")
	for _, h := range header {
		fmt.Fprintf(&hb, "<th>%s</th>", html.EscapeString(h))
	}
	hb.WriteString("</tr></thead>\n<tbody>\n")
	for _, row := range rows {
		hb.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(&hb, "<td>%s</td>", html.EscapeString(c))
		}
		hb.WriteString("</tr>\n")
	}
	hb.WriteString("</tbody>\n</table>\n")
	return strings.Join(lines, "\n") + "\n", hb.String()
}

// contention says which runs competed with other programs for the
// cores: other programs used more than a tenth of a core on average.
func contention(reports []Report) []string {
	var notes []string
	for _, r := range reports {
		if r.Wall > 0 && r.OtherCPU*10 > r.Wall {
			notes = append(notes, fmt.Sprintf("while %s ran, other programs on this machine used %.0f ms of CPU (%.0f%% of a core): its times are less trustworthy; -repeat 3 reports the median run", r.Model, float64(r.OtherCPU)/1e6, 100*float64(r.OtherCPU)/float64(r.Wall)))
		}
	}
	return notes
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// tasksPerWorker is "mean (min–max)" over the workers that ran tasks.
func tasksPerWorker(r Report) string {
	if len(r.Tasks) == 0 {
		return ""
	}
	count := map[int]int{}
	for _, t := range r.Tasks {
		count[t.Worker]++
	}
	lo, hi := len(r.Tasks), 0
	for _, c := range count {
		lo, hi = min(lo, c), max(hi, c)
	}
	mean := float64(len(r.Tasks)) / float64(len(count))
	if lo == hi {
		return fmt.Sprintf("%.1f", mean)
	}
	return fmt.Sprintf("%.1f (%d–%d)", mean, lo, hi)
}

// errorsOf sums up a report's run error and failed tasks on one line.
func errorsOf(r Report) string {
	var parts []string
	if r.Err != "" {
		parts = append(parts, r.Err)
	}
	failed, first := 0, ""
	for _, t := range r.Tasks {
		if t.Err != "" {
			if failed == 0 {
				first = firstLineOf(t.Err) // a native panic's stack follows
			}
			failed++
		}
	}
	switch failed {
	case 0:
	case 1:
		parts = append(parts, "1 task failed: "+first)
	default:
		parts = append(parts, fmt.Sprintf("%d tasks failed, first: %s", failed, first))
	}
	return strings.Join(parts, "; ")
}
