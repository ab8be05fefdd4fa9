package chart

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"atonce/models"
)

// kindsReport is a traced gil run of one task per fill on thread 0, back
// to back: task f runs 10 ms, spends 40 ms in fill f's state and kind,
// then runs 10 ms more. Thread 1 runs one task from 0 to 60 ms and idles
// the rest of the run. The runtime stopped the world, collected garbage
// and stopped it again.
func kindsReport() models.Report {
	var tasks []models.TaskRecord
	for f := range nFills {
		start := time.Duration(f) * 60 * ms
		tasks = append(tasks, models.TaskRecord{Index: int(f), Worker: 0, Start: start, End: start + 60*ms, States: []models.Span{
			{State: models.Running, Start: start, End: start + 10*ms},
			f.span(start+10*ms, start+50*ms),
			{State: models.Running, Start: start + 50*ms, End: start + 60*ms},
		}})
	}
	tasks = append(tasks, models.TaskRecord{Index: int(nFills), Worker: 1, Start: 0, End: 60 * ms, States: []models.Span{
		{State: models.Running, Start: 0, End: 60 * ms},
	}})
	return models.Report{
		Model: "gil", Traits: models.TraitsOf("gil"), Task: "work", Workers: 2, Wall: time.Duration(nFills) * 60 * ms,
		Tasks: tasks, Traced: true,
		Runtime: []models.RuntimeSpan{
			{Kind: models.RuntimeSTW, Reason: "GC sweep termination", Worker: -1, Start: 100 * ms, End: 101 * ms},
			{Kind: models.RuntimeGC, Worker: -1, Start: 101 * ms, End: 140 * ms},
			{Kind: models.RuntimeSTW, Reason: "GC mark termination", Worker: -1, Start: 140 * ms, End: 141 * ms},
		},
	}
}

// TestFills: every state and kind has its fill, drawn distinctly: the
// segments carry it, the SVG has its base color and pattern in the
// task's color, the legend names it, the summary gives the time in each
// state.
func TestFills(t *testing.T) {
	r := kindsReport()
	panels := Layout([]models.Report{r})
	for _, b := range panels[0].Rows[0].Bars {
		f := Fill(b.Task)
		switch {
		case f == FillRunning:
			if len(b.Segments) != 1 || fillOf(b.Segments[0]) != f {
				t.Errorf("task %d: segments %v; want one, running", b.Task, b.Segments)
			}
		case len(b.Segments) != 3 || fillOf(b.Segments[1]) != f:
			t.Errorf("task %d: segments %v; want running, %s, running", b.Task, b.Segments, f)
		}
	}
	c, err := TaskStream([]models.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, []string{"gil"})
	svg := string(c.SVG)
	fill := func(tone float64, i int) string {
		col := lighten(taskColor(i), tone)
		return fmt.Sprintf("fill:#%02X%02X%02X", col.R, col.G, col.B)
	}
	stroke := func(i int, width string) string {
		col := taskColor(i)
		return fmt.Sprintf("stroke:#%02X%02X%02X%s", col.R, col.G, col.B, width)
	}
	// Each fill's marks in the color of its task (task index = fill).
	marks := map[Fill][]string{
		FillRunning: {fill(1, int(FillRunning))},
		FillAssist:  {fill(1, int(FillAssist)), "stroke:#FFFFFF;stroke-width:0.75"},
		FillCPU:     {fill(waitingTone(false), int(FillCPU)), stroke(int(FillCPU), "\"")},
		FillGIL:     {fill(waitingTone(false), int(FillGIL)), stroke(int(FillGIL), "\"")},
		FillLoop:    {fill(waitingTone(false), int(FillLoop)), stroke(int(FillLoop), ";stroke-width:0.75")},
		FillAwait:   {fill(blockedTone(false), int(FillAwait))},
		FillMutex:   {fill(blockedTone(false), int(FillMutex)), stroke(int(FillMutex), ";stroke-width:0.75")},
		FillChannel: {fill(blockedTone(false), int(FillChannel)), stroke(int(FillChannel), ";stroke-width:2;stroke-dasharray")},
		FillSyscall: {fill(blockedTone(false), int(FillSyscall)), stroke(int(FillSyscall), ";stroke-width:1.5\"")},
		FillOther:   {fill(otherTone, int(FillOther))},
	}
	for f := range nFills {
		for _, m := range marks[f] {
			if !strings.Contains(svg, m) {
				t.Errorf("%s: the SVG lacks the mark %q", f, m)
			}
		}
		if !strings.Contains(svg, ">"+f.String()+"<") {
			t.Errorf("the legend lacks %q", f)
		}
		if !strings.Contains(c.Summary, fills[f].look+" = "+f.String()) {
			t.Errorf("the summary does not say %q = %q:\n%s", fills[f].look, f, c.Summary)
		}
	}
	// Time in each state: 40 ms of each kind, 10 × 20 + 40 + 60 ms
	// running.
	for _, want := range []string{"running 300 ms (", "waiting for the GIL 40 ms (", "in a syscall 40 ms (", "blocked on a mutex (sync) 40 ms ("} {
		if !strings.Contains(c.Summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, c.Summary)
		}
	}
}

// TestIdleLanes: each worker's row is a lane over its life, whose white
// space is its idle time; the summary says how idle the workers were.
func TestIdleLanes(t *testing.T) {
	r := kindsReport()
	panels := Layout([]models.Report{r})
	rows := panels[0].Rows
	wall := r.Wall
	for _, tt := range []struct {
		row  int
		idle time.Duration
	}{{0, 0}, {1, wall - 60*ms}} {
		row := rows[tt.row]
		if row.Life != [2]time.Duration{0, wall} || row.Idle != tt.idle {
			t.Errorf("row %d: life %v, idle %v; want [0 %v], %v", tt.row, row.Life, row.Idle, wall, tt.idle)
		}
	}
	c, err := TaskStream([]models.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	lane := fmt.Sprintf("stroke:#%02X%02X%02X;stroke-width:0.5", laneGray.R, laneGray.G, laneGray.B)
	// Two lanes and the legend's swatch.
	if got := strings.Count(string(c.SVG), lane); got != 3 {
		t.Errorf("the SVG has %d lane outlines (%s), want 3: two rows, one legend swatch", got, lane)
	}
	idle := float64(wall-60*ms) / float64(2*wall) * 100
	if want := fmt.Sprintf("idle %.0f%% of worker time (most: thread 1, %.0f%%)", idle, 2*idle); !strings.Contains(c.Summary, want) {
		t.Errorf("the summary lacks %q:\n%s", want, c.Summary)
	}

	// A worker process's lane starts when it was spawned; start-up and
	// transfers are not idle.
	w := fixedReports()[4] // processes
	for _, row := range Layout([]models.Report{w})[0].Rows {
		p := w.Pool[row.Worker]
		if row.Life[0] != p.Spawn {
			t.Errorf("processes row %d: life from %v, want its spawn %v", row.Worker, row.Life[0], p.Spawn)
		}
		var busy time.Duration
		for _, b := range row.Bars {
			busy += b.End - b.Start
		}
		if want := row.Life[1] - row.Life[0] - busy; row.Idle != want {
			t.Errorf("processes row %d: idle %v, want life less its bars, %v", row.Worker, row.Idle, want)
		}
	}
}

// TestRuntimeBand: a run's collections and stops of the world are a last
// row of its panel, drawn purple and red, named in the legend and the
// summary; a run without them has no such row.
func TestRuntimeBand(t *testing.T) {
	r := kindsReport()
	rows := Layout([]models.Report{r})[0].Rows
	band := rows[len(rows)-1]
	if band.Worker != -1 || band.Label != bandLabel || len(band.Bars) != 3 {
		t.Fatalf("last row %+v; want the runtime band with 3 bars", band)
	}
	kinds := map[BarKind]int{}
	for _, b := range band.Bars {
		kinds[b.Kind]++
	}
	if kinds[GCBar] != 1 || kinds[STWBar] != 2 {
		t.Errorf("band bars by kind %v; want 1 GC, 2 STW", kinds)
	}
	c, err := TaskStream([]models.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	svg := string(c.SVG)
	for what, col := range map[string]string{"GC": hexFill(gcPurple), "STW": hexFill(stwRed)} {
		if !strings.Contains(svg, col) {
			t.Errorf("the SVG lacks the %s band's fill %s", what, col)
		}
	}
	for _, want := range []string{">" + bandLabel + "<", ">GC (mark phase)<", ">stop-the-world<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if want := "GC 39 ms, stop-the-world 2.0 ms (2 times)"; !strings.Contains(c.Summary, want) {
		t.Errorf("the summary lacks %q:\n%s", want, c.Summary)
	}
	r.Runtime = nil
	for _, row := range Layout([]models.Report{r})[0].Rows {
		if row.Worker < 0 {
			t.Errorf("a run without runtime spans has the row %+v", row)
		}
	}
}

func hexFill(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("fill:#%02X%02X%02X", r>>8, g>>8, b>>8)
}
