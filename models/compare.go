package models

import (
	"context"
	"fmt"
	"html"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"atonce/internal/words"
	"atonce/models/stats"
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
// and returns one report per model, in the order of names: its runs
// combined (Combine: the run with the median wall time, every run in
// Rounds), with speedups over the baseline among them (SetSpeedups). It stops at the first run that fails (ctx done),
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
		reports = append(reports, Combine(runs, nil))
	}
	SetSpeedups(reports)
	return reports, nil
}

// Table renders reports side by side, as aligned plain text and as an
// HTML <table> (no scripts, no styles). Per model: the median wall and
// CPU time over its rounds in milliseconds; when a baseline report is
// among them, the speedup over it with its 95% interval (SpeedupOf:
// "1.93x [1.88–1.98]", with the interval's real confidence after it when
// too few rounds allowed 95%), the efficiency (speedup per worker) and
// what the interval says (Reading; no column when none has one);
// workers, tasks per worker (mean, and min–max over the workers that ran
// tasks), the MSU and sharing facts, and errors. Below it: how the speedups were computed, the runs' notes
// (Report.Notes), and which runs competed for the cores.
//
// Reports of several modes (interpreted and native) are each compared
// with the baseline of their own mode; a native run's toolchain is
// named in a note.
func Table(reports []Report) (text string, htmlTable string) {
	header := []string{"model", "wall ms", "CPU ms", "speedup", "efficiency", "reading", "workers", "tasks/worker", "MSU", "sharing", "errors"}
	rows := [][]string{}
	for _, r := range reports {
		speedup, efficiency := "", ""
		if iv, ok := SpeedupOf(reports, r); ok {
			speedup = FormatSpeedup(iv)
			if r.Baseline {
				speedup = fmt.Sprintf("%.2fx", iv.Mid) // 1 by definition
			}
			if r.Workers > 0 {
				efficiency = fmt.Sprintf("%.0f%%", 100*iv.Mid/float64(r.Workers))
			}
		}
		rows = append(rows, []string{
			r.Model,
			millis(r.MedianWall()),
			millis(r.MedianCPU()),
			speedup,
			efficiency,
			Reading(reports, r),
			fmt.Sprint(r.Workers),
			tasksPerWorker(r),
			r.MSU,
			r.Sharing,
			errorsOf(r),
		})
	}
	// A reading needs an interval: from single runs, no column for it,
	// and the table is as it always was.
	const readingColumn = 5
	if !slices.ContainsFunc(rows, func(row []string) bool { return row[readingColumn] != "" }) {
		header = slices.Delete(header, readingColumn, readingColumn+1)
		for i := range rows {
			rows[i] = slices.Delete(rows[i], readingColumn, readingColumn+1)
		}
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
		if n := hostsNote(r); n != "" {
			notes = append(notes, r.Model+": "+n)
		}
	}
	notes = append(notes, intervalNotes(reports)...)
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

// FormatSpeedup writes a speedup and its interval, "1.93x [1.88–1.98]",
// with the interval's confidence after it when it is below Conf
// ("1.93x [1.85–2.01] 75%"), and the speedup alone from one round.
func FormatSpeedup(iv stats.Interval) string {
	s := iv.Format("%.2f", "x")
	if iv.N >= 2 && iv.Conf < Conf {
		s += fmt.Sprintf(" %.0f%%", 100*iv.Conf)
	}
	return s
}

// intervalNotes say how the table's speedups were computed, when they
// come from rounds, and what an interval of lower confidence means.
func intervalNotes(reports []Report) []string {
	most, low := 0, false
	for _, r := range reports {
		iv, ok := SpeedupOf(reports, r)
		if !ok || r.Baseline {
			continue
		}
		most = max(most, iv.N)
		low = low || (iv.N >= 2 && iv.Conf < Conf)
	}
	if most < 2 {
		return nil
	}
	notes := []string{fmt.Sprintf("speedup: the median over the rounds (%d) of the ratio of %s's wall time to the model's in the same round, with its 95%% interval [low–high] (order statistics: no assumption on the shape of the noise); reading: what the interval says", most, baselineName(reports))}
	if low {
		notes = append(notes, fmt.Sprintf("an interval followed by a percentage had too few rounds for 95%%: [min–max] of the rounds, with the confidence it really has (%d rounds are needed for 95%%)", stats.MinRounds(Conf)))
	}
	return notes
}

// contention says which runs competed with other programs for the
// cores: other programs used more than a tenth of a core on average (the
// median over the model's rounds).
func contention(reports []Report) []string {
	var notes []string
	for _, r := range reports {
		rounds := r.Rounds
		if len(rounds) == 0 {
			rounds = []Round{{Wall: r.Wall, OtherCPU: r.OtherCPU}}
		}
		var other, share []float64
		for _, rd := range rounds {
			if rd.Wall > 0 {
				other = append(other, rd.OtherCPU.Seconds())
				share = append(share, rd.OtherCPU.Seconds()/rd.Wall.Seconds())
			}
		}
		if s := stats.Median(share); s > 0.1 {
			notes = append(notes, fmt.Sprintf("while %s ran, other programs on this machine used %.0f ms of CPU (%.0f%% of a core): its times are less trustworthy", r.Model, 1000*stats.Median(other), 100*s))
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

// hostsNote names the machines a report's workers ran on, with their
// workers and tasks, when they are not all this one: "workers on b (2
// workers, 150 tasks), c (2 workers, 150 tasks)".
func hostsNote(r Report) string {
	here, _ := os.Hostname()
	workers, tasks := map[string]int{}, map[string]int{}
	hostOf := map[int]string{}
	var hosts []string
	for _, w := range r.Pool {
		if w.Host == "" {
			continue
		}
		if workers[w.Host] == 0 {
			hosts = append(hosts, w.Host)
		}
		workers[w.Host]++
		hostOf[w.Worker] = w.Host
	}
	if len(hosts) == 0 || (len(hosts) == 1 && hosts[0] == here) {
		return ""
	}
	for _, t := range r.Tasks {
		if h, ok := hostOf[t.Worker]; ok && t.Err == "" {
			tasks[h]++
		}
	}
	slices.Sort(hosts)
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		parts[i] = fmt.Sprintf("%s (%s, %s)", h, words.Plural(workers[h], "worker", "workers"), words.Plural(tasks[h], "task", "tasks"))
	}
	return "workers on " + strings.Join(parts, ", ")
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
