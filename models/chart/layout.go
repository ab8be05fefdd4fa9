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
	// GCBar is a garbage collection's mark phase (models.RuntimeGC), on
	// the panel's runtime band.
	GCBar
	// STWBar is a stop of the world (models.RuntimeSTW), on the panel's
	// runtime band.
	STWBar
)

// String returns "start-up", "transfer", "task", "GC" or "STW".
func (k BarKind) String() string {
	switch k {
	case StartupBar:
		return "start-up"
	case TransferBar:
		return "transfer"
	case TaskBar:
		return "task"
	case GCBar:
		return "GC"
	case STWBar:
		return "STW"
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
	// Rows has one row per worker, worker 0 first (drawn at the top),
	// and, when the run's report has runtime spans (models.RuntimeSpan),
	// a last row, the runtime band (Worker -1), with a GCBar or STWBar
	// for each.
	Rows []Row
}

// Row is one worker's line in a panel.
type Row struct {
	// Worker is the worker's number, as in TaskRecord.Worker; -1 for the
	// runtime band.
	Worker int
	// Label names the worker as the model calls it: "loop",
	// "coroutine 3", "thread 0", "goroutine 1", "process 2",
	// "worker 0 (host)"; the runtime band is "GC · STW".
	Label string
	// Bars are ordered by kind (start-up, transfers, tasks), then by
	// start: the order they are drawn in.
	Bars []Bar
	// Life is when the worker could take tasks: from the run's start
	// (or its process's spawn) to the run's end. It is drawn as a lane
	// whose white space is the worker's idle time (Dask's convention).
	Life [2]time.Duration
	// Idle is the white space in the lane: Life less the start-up,
	// transfers and tasks drawn in it.
	Idle time.Duration
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
	// End without gaps, in time order, one fill each (a state and kind,
	// or kinds drawn alike: see Fills), the span's State and Kind those
	// of the fill. Gaps between the traced spans go to the state before
	// them, and runs of spans shorter than a 600th of the chart's time
	// axis (about a pixel) are merged into their dominant fill, at least
	// that wide: a state that was there shows, though its share of the
	// time is then only roughly drawn.
	Segments []models.Span
}

// Fill is how the task stream draws a state (and kind) of a task, in
// the task's color; several kinds may share one (FillOf).
type Fill int

// The fills, in the legend's order.
const (
	FillRunning Fill = iota // solid
	FillAssist              // solid with white stripes: GC assist
	FillCPU                 // hatched: waiting for a CPU
	FillGIL                 // cross-hatched: waiting for the GIL
	FillLoop                // lined across: waiting for the event loop
	FillAwait               // light: at an await, asleep or on I/O
	FillMutex               // light with upright bars: a mutex (sync)
	FillChannel             // light, dotted: a channel or a select
	FillSyscall             // light with a line along: in a syscall
	FillOther               // faint: blocked by the GC or otherwise
	nFills
)

// fills says what each Fill stands for: the state and kind its
// segments carry, how it looks and what it means, in words.
var fills = [nFills]struct{ state, kind, look, label string }{
	FillRunning: {models.Running, "", "solid", "running"},
	FillAssist:  {models.Running, models.KindGCAssist, "solid with white stripes", "GC assist"},
	FillCPU:     {models.Waiting, models.KindCPU, "hatched", "waiting for a CPU"},
	FillGIL:     {models.Waiting, models.KindGIL, "cross-hatched", "waiting for the GIL"},
	FillLoop:    {models.Waiting, models.KindLoop, "lined across", "waiting for the event loop"},
	FillAwait:   {models.Blocked, models.KindAwait, "light", "blocked at an await, sleep or I/O"},
	FillMutex:   {models.Blocked, models.KindMutex, "light with bars", "blocked on a mutex (sync)"},
	FillChannel: {models.Blocked, models.KindChannel, "light, dotted", "blocked on a channel or select"},
	FillSyscall: {models.Blocked, models.KindSyscall, "light, ruled", "in a syscall"},
	FillOther:   {models.Blocked, models.KindOther, "faint", "blocked by the GC or otherwise"},
}

// String returns what the fill stands for, e.g. "waiting for the GIL".
func (f Fill) String() string {
	if f < 0 || f >= nFills {
		return fmt.Sprintf("Fill(%d)", int(f))
	}
	return fills[f].label
}

// FillOf is the fill of a span of state and kind. A state without a
// kind (a report from before kinds) is drawn as it was then: waiting
// hatched, blocked light.
func FillOf(state, kind string) Fill {
	switch state {
	case models.Running:
		if kind == models.KindGCAssist {
			return FillAssist
		}
		return FillRunning
	case models.Waiting:
		switch kind {
		case models.KindGIL:
			return FillGIL
		case models.KindLoop:
			return FillLoop
		}
		return FillCPU
	}
	switch kind {
	case "", models.KindAwait, models.KindSleep, models.KindIO:
		return FillAwait
	case models.KindMutex:
		return FillMutex
	case models.KindChannel, models.KindSelect:
		return FillChannel
	case models.KindSyscall:
		return FillSyscall
	}
	return FillOther
}

// fillOf is the fill of sp.
func fillOf(sp models.Span) Fill { return FillOf(sp.State, sp.Kind) }

// span is sp as a segment of fill f: its state and kind f's.
func (f Fill) span(start, end time.Duration) models.Span {
	return models.Span{State: fills[f].state, Kind: fills[f].kind, Start: start, End: end}
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
		rows[k] = Row{Worker: k, Label: r.WorkerLabel(k)}
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
	end := r.Wall
	for _, t := range r.Tasks {
		end = max(end, t.End)
	}
	for k := range rows {
		rows[k].Life = [2]time.Duration{0, end}
	}
	for _, w := range r.Pool {
		if w.Worker >= 0 && w.Ready > w.Spawn {
			rows[w.Worker].Life[0] = min(w.Spawn, end)
		}
	}
	for k := range rows {
		rows[k].Idle = idle(rows[k])
	}
	if band := runtimeBand(r); len(band.Bars) > 0 {
		rows = append(rows, band)
	}
	for k := range rows {
		slices.SortStableFunc(rows[k].Bars, func(a, b Bar) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Start, b.Start))
		})
	}
	traced := hasStates(r)
	return Panel{Model: r.Model, Title: panelTitle(r, seq, anyStates && !traced), Wall: r.Wall, Traced: traced, Rows: rows}
}

// runtimeBand is the row of r's garbage collections and stops of the
// world (of every worker, for a model with workers in other processes),
// empty when r has none.
func runtimeBand(r models.Report) Row {
	band := Row{Worker: -1, Label: bandLabel, Life: [2]time.Duration{0, r.Wall}}
	for _, sp := range r.Runtime {
		kind := GCBar
		if sp.Kind == models.RuntimeSTW {
			kind = STWBar
		}
		if sp.End > sp.Start {
			band.Bars = append(band.Bars, Bar{Kind: kind, Task: -1, Start: sp.Start, End: sp.End})
		}
	}
	return band
}

// bandLabel is the runtime band's label.
const bandLabel = "GC · STW"

// idle is the time in row's Life that no bar covers.
func idle(row Row) time.Duration {
	type iv struct{ a, b time.Duration }
	var ivs []iv
	for _, b := range row.Bars {
		a, e := max(b.Start, row.Life[0]), min(b.End, row.Life[1])
		if e > a {
			ivs = append(ivs, iv{a, e})
		}
	}
	slices.SortFunc(ivs, func(x, y iv) int { return cmp.Compare(x.a, y.a) })
	busy, at := time.Duration(0), row.Life[0]
	for _, v := range ivs {
		a := max(v.a, at)
		if v.b > a {
			busy += v.b - a
			at = v.b
		}
	}
	return max(row.Life[1]-row.Life[0]-busy, 0)
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

// segments turns a task's traced spans into gap-free segments covering
// start to end, one fill each, merging runs of spans shorter than q into
// one segment of their dominant fill, at least q long (taken from the
// span after it). It returns nil when no span falls within start..end.
func segments(states []models.Span, start, end, q time.Duration) []models.Span {
	var in []models.Span
	for _, sp := range states {
		a, b := max(sp.Start, start), min(sp.End, end)
		if b > a {
			in = append(in, fillOf(sp).span(a, b))
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
		dur    [nFills]time.Duration
		empty  = true
	)
	dominant := func() models.Span {
		best := 0
		for i := range dur {
			if dur[i] > dur[best] {
				best = i
			}
		}
		return Fill(best).span(bucket.Start, bucket.End)
	}
	for _, sp := range full {
		if sp.End-sp.Start >= q {
			if !empty {
				// A short run before a long span still shows, q wide.
				d := dominant()
				d.End = max(d.End, d.Start+q)
				sp.Start = d.End
				out = appendMerged(out, d)
				empty, dur = true, [nFills]time.Duration{}
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
		dur[fillOf(sp)] += sp.End - sp.Start
		if bucket.End-bucket.Start >= q {
			out = appendMerged(out, dominant())
			empty, dur = true, [nFills]time.Duration{}
		}
	}
	if !empty {
		out = appendMerged(out, dominant())
	}
	return out
}

// appendMerged appends sp to spans, extending the last span instead when
// it has the same state and kind.
func appendMerged(spans []models.Span, sp models.Span) []models.Span {
	if n := len(spans); n > 0 && spans[n-1].State == sp.State && spans[n-1].Kind == sp.Kind {
		spans[n-1].End = sp.End
		return spans
	}
	return append(spans, sp)
}
