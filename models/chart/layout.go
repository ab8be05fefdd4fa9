package chart

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"atonce/internal/words"
	"atonce/models"
)

// BarKind tells what a Bar of the task stream stands for.
type BarKind int

// The kinds of bars, in the order they are drawn (later ones on top).
const (
	// StartupBar is a worker process starting and replaying the notebook
	// (WorkerRecord.Spawn to Ready), drawn grey and labelled start-up.
	StartupBar BarKind = iota
	// TransferBar is a task on its way to a worker in another process
	// (TaskRecord.Queued to Start), drawn as a thin grey bar.
	TransferBar
	// TaskBar is a task running on its worker, from Start to End, in the
	// task's color.
	TaskBar
)

// String returns "start-up", "transfer" or "task".
func (k BarKind) String() string {
	switch k {
	case StartupBar:
		return "start-up"
	case TransferBar:
		return "transfer"
	case TaskBar:
		return "task"
	}
	return fmt.Sprintf("BarKind(%d)", int(k))
}

// Panel is one model's part of the task stream: its title and one row
// per worker.
type Panel struct {
	// Model is the report's model name, the panel's heading.
	Model string
	// Title is the panel's heading after the model's name, e.g.
	// "8 tasks on 4 threads · wall 812 ms · 0.99x".
	Title string
	// Wall is the report's wall time.
	Wall time.Duration
	// Traced tells whether any of the panel's tasks carries states.
	Traced bool
	// Rows has one row per worker, worker 0 first (drawn at the top).
	Rows []Row
}

// Row is one worker's line in a panel.
type Row struct {
	// Worker is the worker's number, as in TaskRecord.Worker.
	Worker int
	// Label names the worker as the model calls it: "loop",
	// "coroutine 3", "thread 0", "goroutine 1", "process 2",
	// "worker 0 (host)".
	Label string
	// Bars are ordered by kind (start-up, transfers, tasks), then by
	// start: the order they are drawn in.
	Bars []Bar
}

// Bar is one rectangle of a row.
type Bar struct {
	// Kind tells what the bar stands for.
	Kind BarKind
	// Task is the task's index for TaskBar and TransferBar, -1 for a
	// StartupBar.
	Task int
	// Start and End are offsets from the run's start.
	Start, End time.Duration
	// Failed marks a task whose call returned an error or panicked.
	Failed bool
	// Segments, for a TaskBar whose task carries states, cover Start to
	// End without gaps, in time order, one state each (models.Running,
	// models.Waiting or models.Blocked). Gaps between the traced spans
	// go to the state before them, and runs of spans shorter than a
	// 600th of the chart's time axis (about a pixel) are merged into
	// their dominant state, at least that wide: a state that was there
	// shows, though its share of the time is then only roughly drawn.
	Segments []models.Span
}

// resolution is the number of steps the time axis is cut into when
// merging short state spans: about one per pixel of the drawing.
const resolution = 600

// Layout arranges reports as the task stream draws them: one panel per
// report, in order, one row per worker, one bar per task (plus start-up
// and transfer bars for models that run tasks in other processes). It
// returns nil for no reports.
func Layout(reports []models.Report) []Panel {
	if len(reports) == 0 {
		return nil
	}
	end := timeAxisEnd(reports)
	q := max(end/resolution, 1)
	seq := baseline(reports)
	anyStates := false
	for _, r := range reports {
		anyStates = anyStates || hasStates(r)
	}
	panels := make([]Panel, len(reports))
	for i, r := range reports {
		panels[i] = layoutReport(r, q, seq, anyStates)
	}
	return panels
}

// timeAxisEnd is the end of the shared time axis: the longest wall time,
// or a later end of a task or start-up if a report has one.
func timeAxisEnd(reports []models.Report) time.Duration {
	var end time.Duration
	for _, r := range reports {
		end = max(end, r.Wall)
		for _, t := range r.Tasks {
			end = max(end, t.End, t.Start)
		}
		for _, w := range r.Pool {
			end = max(end, w.Ready, w.Spawn)
		}
	}
	return end
}

// baseline is the wall time of the reports' baseline run (see
// models.BaselineRun), 0 if there is none: the speedups' reference.
func baseline(reports []models.Report) time.Duration {
	if b, ok := models.BaselineRun(reports); ok {
		return b.Wall
	}
	return 0
}

func hasStates(r models.Report) bool {
	for _, t := range r.Tasks {
		if len(t.States) > 0 {
			return true
		}
	}
	return false
}

func layoutReport(r models.Report, q, seq time.Duration, anyStates bool) Panel {
	n := max(r.Workers, 1)
	for _, t := range r.Tasks {
		n = max(n, t.Worker+1)
	}
	for _, w := range r.Pool {
		n = max(n, w.Worker+1)
	}
	rows := make([]Row, n)
	for k := range rows {
		rows[k] = Row{Worker: k, Label: workerLabel(r, k)}
	}
	for _, w := range r.Pool {
		if w.Worker < 0 || w.Ready <= w.Spawn {
			continue
		}
		rows[w.Worker].Bars = append(rows[w.Worker].Bars, Bar{Kind: StartupBar, Task: -1, Start: w.Spawn, End: w.Ready})
	}
	for _, t := range r.Tasks {
		k := max(t.Worker, 0)
		start, end := t.Start, max(t.End, t.Start)
		if t.Queued > 0 && t.Queued < start {
			rows[k].Bars = append(rows[k].Bars, Bar{Kind: TransferBar, Task: t.Index, Start: t.Queued, End: start})
		}
		rows[k].Bars = append(rows[k].Bars, Bar{
			Kind:     TaskBar,
			Task:     t.Index,
			Start:    start,
			End:      end,
			Failed:   t.Err != "",
			Segments: segments(t.States, start, end, q),
		})
	}
	for k := range rows {
		slices.SortStableFunc(rows[k].Bars, func(a, b Bar) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Start, b.Start))
		})
	}
	traced := hasStates(r)
	return Panel{Model: r.Model, Title: panelTitle(r, seq, anyStates && !traced), Wall: r.Wall, Traced: traced, Rows: rows}
}

// panelTitle is what follows the model's name above its panel.
func panelTitle(r models.Report, seq time.Duration, untraced bool) string {
	wall := "wall " + formatDuration(r.Wall)
	if n := len(r.Rounds); n > 1 {
		wall += fmt.Sprintf(", the median of %d rounds", n)
	}
	parts := []string{fmt.Sprintf("%s on %s", words.Plural(len(r.Tasks), "task", "tasks"), workerCount(r)), wall}
	if seq > 0 && r.Wall > 0 && !r.Baseline {
		s := float64(seq) / float64(r.Wall)
		if r.Speedup.N > 0 {
			s = r.Speedup.Mid // over the rounds, as the table says
		}
		parts = append(parts, fmt.Sprintf("%.2fx", s))
	}
	if r.Startup > 0 {
		parts = append(parts, "start-up "+formatDuration(r.Startup))
	}
	if untraced && len(r.Tasks) > 0 {
		if len(r.Pool) > 0 {
			// Workers trace their tasks when the run asks; untraced, a
			// worker's bar is its whole time in the worker, awaits
			// included.
			parts = append(parts, "bars: time in the worker, not traced")
		} else {
			parts = append(parts, "states not traced")
		}
	}
	if failed := failedTasks(r); failed > 0 {
		parts = append(parts, words.Plural(failed, "task failed", "tasks failed"))
	}
	if r.Err != "" {
		parts = append(parts, "stopped: "+shorten(r.Err, 70))
	}
	return strings.Join(parts, " · ")
}

func failedTasks(r models.Report) int {
	n := 0
	for _, t := range r.Tasks {
		if t.Err != "" {
			n++
		}
	}
	return n
}

// workerNoun is what the report's model calls its workers, singular and
// plural (Traits.Noun and Nouns; "worker" when the report has no traits).
func workerNoun(r models.Report) (one, many string) {
	if r.Noun == "" || r.Nouns == "" {
		return "worker", "workers"
	}
	return r.Noun, r.Nouns
}

// workerCount is e.g. "4 threads" or "1 loop".
func workerCount(r models.Report) string {
	one, many := workerNoun(r)
	return words.Plural(r.Workers, one, many)
}

// workerLabel names row k of r's panel.
func workerLabel(r models.Report, k int) string {
	one, _ := workerNoun(r)
	if r.Baseline && max(r.Workers, 1) == 1 {
		return one
	}
	label := fmt.Sprintf("%s %d", one, k)
	for _, w := range r.Pool {
		if w.Worker == k && w.Host != "" && r.Hosts {
			label += " (" + w.Host + ")"
			break
		}
	}
	return label
}

// shorten cuts s to at most n runes, with an ellipsis.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// formatDuration is d in words a chart can show: "0.35 ms", "812 ms",
// "1.23 s".
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// stateIndex orders the states for merging: ties go to the first.
func stateIndex(state string) int {
	switch state {
	case models.Waiting:
		return 1
	case models.Blocked:
		return 2
	}
	return 0
}

var stateNames = [3]string{models.Running, models.Waiting, models.Blocked}

// segments turns a task's traced spans into gap-free segments covering
// start to end, merging runs of spans shorter than q into one segment of
// their dominant state, at least q long (taken from the span after it).
// It returns nil when no span falls within start..end.
func segments(states []models.Span, start, end, q time.Duration) []models.Span {
	var in []models.Span
	for _, sp := range states {
		a, b := max(sp.Start, start), min(sp.End, end)
		if b > a {
			in = append(in, models.Span{State: stateNames[stateIndex(sp.State)], Start: a, End: b})
		}
	}
	if len(in) == 0 {
		return nil
	}
	slices.SortStableFunc(in, func(a, b models.Span) int { return cmp.Compare(a.Start, b.Start) })

	// Cover start..end: a gap goes to the state before it, an overlap to
	// the earlier span.
	var full []models.Span
	for _, sp := range in {
		if len(full) == 0 {
			sp.Start = start
		} else {
			last := &full[len(full)-1]
			switch {
			case sp.Start < last.End:
				sp.Start = last.End
				if sp.End <= sp.Start {
					continue
				}
			case sp.Start > last.End:
				last.End = sp.Start
			}
		}
		full = appendMerged(full, sp)
	}
	full[len(full)-1].End = end

	// Merge runs of short spans.
	var (
		out    []models.Span
		bucket models.Span // Start..End of the pending short spans
		dur    [3]time.Duration
		empty  = true
	)
	dominant := func() models.Span {
		best := 0
		for i := range dur {
			if dur[i] > dur[best] {
				best = i
			}
		}
		return models.Span{State: stateNames[best], Start: bucket.Start, End: bucket.End}
	}
	for _, sp := range full {
		if sp.End-sp.Start >= q {
			if !empty {
				// A short run before a long span still shows, q wide.
				d := dominant()
				d.End = max(d.End, d.Start+q)
				sp.Start = d.End
				out = appendMerged(out, d)
				empty, dur = true, [3]time.Duration{}
			}
			if sp.End > sp.Start {
				out = appendMerged(out, sp)
			}
			continue
		}
		if empty {
			bucket = sp
			empty = false
		} else {
			bucket.End = sp.End
		}
		dur[stateIndex(sp.State)] += sp.End - sp.Start
		if bucket.End-bucket.Start >= q {
			out = appendMerged(out, dominant())
			empty, dur = true, [3]time.Duration{}
		}
	}
	if !empty {
		out = appendMerged(out, dominant())
	}
	return out
}

// appendMerged appends sp to spans, extending the last span instead when
// it has the same state.
func appendMerged(spans []models.Span, sp models.Span) []models.Span {
	if n := len(spans); n > 0 && spans[n-1].State == sp.State {
		spans[n-1].End = sp.End
		return spans
	}
	return append(spans, sp)
}
