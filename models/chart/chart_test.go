package chart

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/stats"
)

var outDir = flag.String("out", "", "directory to write chart-taskstream.png, chart-speedup.png (and .svg) of the fixed reports to, for looking at")

// checkChart checks what every chart must be: SVG that parses, without
// scripts or embedded fonts, within maxSVG bytes, sized in CSS pixels; a
// PNG at twice that size; a summary naming every model; a bundle of the
// three image MIME types.
func checkChart(t *testing.T, c Chart, maxSVG int, modelNames []string) {
	t.Helper()
	if c.Width <= 0 || c.Height <= 0 {
		t.Fatalf("size %d×%d", c.Width, c.Height)
	}
	if len(c.SVG) > maxSVG {
		t.Errorf("SVG is %d bytes, want at most %d", len(c.SVG), maxSVG)
	}
	root, elems := parseSVG(t, c.SVG)
	if root.Name.Local != "svg" {
		t.Errorf("root element %q, want svg", root.Name.Local)
	}
	if w, h := attr(root, "width"), attr(root, "height"); w != strconv.Itoa(c.Width) || h != strconv.Itoa(c.Height) {
		t.Errorf("svg width, height = %q, %q; want %d, %d (CSS pixels)", w, h, c.Width, c.Height)
	}
	if elems["script"] > 0 || elems["foreignObject"] > 0 || elems["image"] > 0 {
		t.Errorf("SVG has script, foreignObject or image elements: %v", elems)
	}
	s := string(c.SVG)
	for _, bad := range []string{"<script", "javascript:", "@font-face", "base64"} {
		if strings.Contains(s, bad) {
			t.Errorf("SVG contains %q", bad)
		}
	}
	if !strings.Contains(s, "font-family:"+fontFamily+";") {
		t.Errorf("SVG text does not ask for %q", fontFamily)
	}
	if strings.Contains(s, "font-family:Liberation Sans;") || strings.Contains(s, "Liberation Serif") {
		t.Errorf("SVG names a font without fallbacks")
	}

	img, err := png.Decode(bytes.NewReader(c.PNG))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 2*c.Width || b.Dy() != 2*c.Height {
		t.Errorf("PNG is %d×%d, want %d×%d", b.Dx(), b.Dy(), 2*c.Width, 2*c.Height)
	}

	for _, m := range modelNames {
		if !strings.Contains(c.Summary, m+":") {
			t.Errorf("summary does not mention %s:\n%s", m, c.Summary)
		}
	}

	data, meta := c.Bundle()
	if want := []string{"image/png", "image/svg+xml", "text/plain"}; !slices.Equal(keys(data), want) {
		t.Errorf("bundle keys %v, want %v", keys(data), want)
	}
	if data["image/svg+xml"] != string(c.SVG) || data["text/plain"] != c.Summary {
		t.Errorf("bundle SVG or text is not the chart's")
	}
	if raw, err := base64.StdEncoding.DecodeString(data["image/png"].(string)); err != nil || !bytes.Equal(raw, c.PNG) {
		t.Errorf("bundle PNG is not the chart's PNG in base64 (err %v)", err)
	}
	pm, ok := meta["image/png"].(map[string]any)
	if len(meta) != 1 || !ok || pm["width"] != c.Width || pm["height"] != c.Height {
		t.Errorf("metadata %v, want image/png width %d height %d", meta, c.Width, c.Height)
	}
}

// keys are m's keys, sorted.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parseSVG decodes every token of svg, fails on an on* attribute, and
// returns the root element and the count of elements by name.
func parseSVG(t *testing.T, svg []byte) (xml.StartElement, map[string]int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var root xml.StartElement
	elems := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root.Name.Local == "" {
				root = se.Copy()
			}
			elems[se.Name.Local]++
			for _, a := range se.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					t.Errorf("SVG element %s has event attribute %s", se.Name.Local, a.Name.Local)
				}
			}
		}
	}
	return root, elems
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func names(reports []models.Report) []string {
	var ns []string
	for _, r := range reports {
		ns = append(ns, r.Model)
	}
	return ns
}

func countBars(panels []Panel, kind BarKind) int {
	n := 0
	for _, p := range panels {
		for _, r := range p.Rows {
			for _, b := range r.Bars {
				if b.Kind == kind {
					n++
				}
			}
		}
	}
	return n
}

func TestTaskStream(t *testing.T) {
	reports := fixedReports()
	c, err := TaskStream(reports)
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, names(reports))
	t.Logf("task stream: %d×%d, SVG %d bytes, PNG %d bytes", c.Width, c.Height, len(c.SVG), len(c.PNG))

	// Every bar is at least one path of its own.
	_, elems := parseSVG(t, c.SVG)
	panels := Layout(reports)
	bars := countBars(panels, TaskBar) + countBars(panels, StartupBar) + countBars(panels, TransferBar)
	if elems["path"] < bars {
		t.Errorf("SVG has %d paths for %d bars", elems["path"], bars)
	}
	// Every row label is written.
	for _, p := range panels {
		for _, r := range p.Rows {
			if !strings.Contains(string(c.SVG), ">"+r.Label+"<") {
				t.Errorf("SVG lacks the row label %q", r.Label)
			}
		}
	}
	for _, want := range []string{"gil", "start-up", "waiting for the GIL", "waiting for the event loop", "blocked at an await", "failed", "idle"} {
		if !strings.Contains(string(c.SVG), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestLayout(t *testing.T) {
	reports := fixedReports()
	panels := Layout(reports)
	if len(panels) != len(reports) {
		t.Fatalf("%d panels for %d reports", len(panels), len(reports))
	}
	wantLabels := map[string][]string{
		"sequential":  {"loop"},
		"eventloop":   {"coroutine 0", "coroutine 1", "coroutine 2", "coroutine 3", "coroutine 4", "coroutine 5", "coroutine 6", "coroutine 7"},
		"gil":         {"thread 0", "thread 1", "thread 2", "thread 3"},
		"threads":     {"goroutine 0", "goroutine 1"},
		"processes":   {"process 0", "process 1"},
		"distributed": {"worker 0 (node-a)", "worker 1 (node-b)", "worker 2 (node-b)"},
	}
	for i, p := range panels {
		r := reports[i]
		if p.Model != r.Model {
			t.Errorf("panel %d is %s, want %s", i, p.Model, r.Model)
		}
		var labels []string
		for k, row := range p.Rows {
			labels = append(labels, row.Label)
			if row.Worker != k {
				t.Errorf("%s: row %d is worker %d", p.Model, k, row.Worker)
			}
			for _, b := range row.Bars {
				if b.Kind != StartupBar {
					if w := r.Tasks[b.Task].Worker; w != k {
						t.Errorf("%s: task %d on row %d, ran on worker %d", p.Model, b.Task, k, w)
					}
				}
			}
		}
		if !slices.Equal(labels, wantLabels[r.Model]) {
			t.Errorf("%s: row labels %q, want %q", p.Model, labels, wantLabels[r.Model])
		}

		// One task bar per task, each index once, at the task's times.
		seen := map[int]bool{}
		var transfers, startups int
		for _, row := range p.Rows {
			for _, b := range row.Bars {
				switch b.Kind {
				case TaskBar:
					if seen[b.Task] {
						t.Errorf("%s: task %d twice", p.Model, b.Task)
					}
					seen[b.Task] = true
					tr := r.Tasks[b.Task]
					if b.Start != tr.Start || b.End != tr.End || b.Failed != (tr.Err != "") {
						t.Errorf("%s: bar %+v for task %+v", p.Model, b, tr)
					}
					checkSegments(t, p.Model, b, len(tr.States) > 0)
				case TransferBar:
					transfers++
					if tr := r.Tasks[b.Task]; b.Start != tr.Queued || b.End != tr.Start {
						t.Errorf("%s: transfer %+v for task %+v", p.Model, b, tr)
					}
				case StartupBar:
					startups++
				}
			}
		}
		if len(seen) != len(r.Tasks) {
			t.Errorf("%s: %d task bars for %d tasks", p.Model, len(seen), len(r.Tasks))
		}
		if startups != len(r.Pool) {
			t.Errorf("%s: %d start-up bars for %d pool workers", p.Model, startups, len(r.Pool))
		}
		queued := 0
		for _, tr := range r.Tasks {
			if tr.Queued > 0 {
				queued++
			}
		}
		if transfers != queued {
			t.Errorf("%s: %d transfer bars for %d queued tasks", p.Model, transfers, queued)
		}
		if p.Traced != (len(r.Pool) == 0) {
			t.Errorf("%s: Traced = %v", p.Model, p.Traced)
		}
	}

	// Under the GIL the threads take turns: tasks alternate between
	// running and waiting, one running at a time.
	gil := panels[2]
	switches := 0
	for _, row := range gil.Rows {
		for _, b := range row.Bars {
			for i := 1; i < len(b.Segments); i++ {
				if b.Segments[i-1].State == models.Running && b.Segments[i].State == models.Waiting {
					switches++
				}
			}
		}
	}
	if switches < 20 {
		t.Errorf("gil: %d switches from running to waiting, want many", switches)
	}
	if !strings.Contains(gil.Title, "8 tasks on 4 threads") || !strings.Contains(gil.Title, "wall ") {
		t.Errorf("gil title %q", gil.Title)
	}
}

// A run that ran to the end with a note (a task that ran twice) is not
// drawn as stopped; a run that failed is.
func TestNoteIsNotStopped(t *testing.T) {
	reports := fixedReports()
	dist := &reports[5]
	dist.Notes = []string{"1 task(s) ran twice (a worker thought dead finished after all); the first result of each counts"}
	stopped := reports[3]
	stopped.Err = "threads: stopped after 8 of 9 tasks: context canceled"
	reports = append(reports, stopped)
	panels := Layout(reports)
	if title := panels[5].Title; strings.Contains(title, "stopped") || strings.Contains(title, "ran twice") {
		t.Errorf("the distributed panel's title with a note is %q; want no failure in it", title)
	}
	if title := panels[6].Title; !strings.Contains(title, "stopped: threads: stopped after 8 of 9") {
		t.Errorf("the failed run's title is %q; want it said stopped", title)
	}
	c, err := Speedup(reports)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(c.Summary, "\n") {
		if strings.HasPrefix(line, "distributed:") && strings.Contains(line, "stopped") {
			t.Errorf("the speedup summary says the distributed run with a note stopped: %q", line)
		}
	}
}

// checkSegments checks that a traced bar's segments cover it without
// gaps.
func checkSegments(t *testing.T, model string, b Bar, traced bool) {
	t.Helper()
	if !traced {
		if len(b.Segments) > 0 {
			t.Errorf("%s: task %d has segments without states", model, b.Task)
		}
		return
	}
	if len(b.Segments) == 0 {
		t.Errorf("%s: task %d has no segments", model, b.Task)
		return
	}
	at := b.Start
	for i, s := range b.Segments {
		if s.Start != at || s.End <= s.Start {
			t.Errorf("%s: task %d segment %d is %v..%v, want it to start at %v", model, b.Task, i, s.Start, s.End, at)
		}
		if i > 0 && b.Segments[i-1].State == s.State {
			t.Errorf("%s: task %d segments %d and %d are both %s", model, b.Task, i-1, i, s.State)
		}
		at = s.End
	}
	if at != b.End {
		t.Errorf("%s: task %d segments end at %v, bar at %v", model, b.Task, at, b.End)
	}
}

func TestSegments(t *testing.T) {
	sp := func(state string, a, b time.Duration) models.Span { return models.Span{State: state, Start: a, End: b} }
	// Gaps go to the state before, the ends stretch to the bar.
	got := segments([]models.Span{
		sp(models.Running, 2*ms, 10*ms),
		sp(models.Blocked, 12*ms, 20*ms),
		sp(models.Running, 20*ms, 25*ms),
	}, 0, 30*ms, ms)
	// A blocked span without a kind (from before kinds) is drawn as an
	// await was: its segment carries that fill's kind.
	await := sp(models.Blocked, 12*ms, 20*ms)
	await.Kind = models.KindAwait
	want := []models.Span{sp(models.Running, 0, 12*ms), await, sp(models.Running, 20*ms, 30*ms)}
	if !slices.Equal(got, want) {
		t.Errorf("segments = %v, want %v", got, want)
	}
	// Spans outside the bar are dropped.
	if got := segments([]models.Span{sp(models.Running, 40*ms, 50*ms)}, 0, 30*ms, ms); got != nil {
		t.Errorf("segments outside the bar = %v, want nil", got)
	}
	// Ten thousand microsecond slivers merge into about a thousand
	// segments at most.
	var many []models.Span
	for i := range 10000 {
		st := models.Running
		if i%3 == 0 {
			st = models.Waiting
		}
		many = append(many, sp(st, time.Duration(i)*time.Microsecond, time.Duration(i+1)*time.Microsecond))
	}
	got = segments(many, 0, 10*ms, 10*time.Microsecond)
	if len(got) > 1000 {
		t.Errorf("%d segments from 10000 slivers at 10 µs resolution", len(got))
	}
	if got[0].Start != 0 || got[len(got)-1].End != 10*ms {
		t.Errorf("merged segments span %v..%v", got[0].Start, got[len(got)-1].End)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Start != got[i-1].End {
			t.Fatalf("gap between merged segments %d and %d", i-1, i)
		}
	}
}

func TestSpeedup(t *testing.T) {
	reports := fixedReports()
	c, err := Speedup(reports)
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, names(reports))
	t.Logf("speedup: %d×%d, SVG %d bytes, PNG %d bytes", c.Width, c.Height, len(c.SVG), len(c.PNG))
	seq := reports[0].Wall
	for _, r := range reports {
		s := float64(seq) / float64(r.Wall)
		label := barLabel(speedupBar{speedup: stats.Interval{Mid: s}, efficiency: s / float64(r.Workers)})
		if !strings.Contains(string(c.SVG), ">"+label+"<") {
			t.Errorf("SVG lacks the label %q for %s", label, r.Model)
		}
	}
	if !strings.Contains(c.Summary, "threads: 2.") || !strings.Contains(c.Summary, "ideal 2x") {
		t.Errorf("summary:\n%s", c.Summary)
	}
	if !strings.Contains(string(c.SVG), "ideal for CPU-bound work") {
		t.Errorf("SVG lacks the ideal's legend")
	}
}

func TestSpeedupSkips(t *testing.T) {
	reports := fixedReports()
	reports = append(reports, models.Report{Model: "gil", Traits: models.TraitsOf("gil"), Workers: 4}) // no wall time
	c, err := Speedup(reports)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Summary, "Left out (no wall time): gil") {
		t.Errorf("summary does not say gil was left out:\n%s", c.Summary)
	}

	for _, bad := range [][]models.Report{
		nil,
		{{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Wall: time.Second}},
		{{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1}},
		{{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: time.Second, Err: "stopped after 1 of 2 tasks: context canceled"}},
	} {
		if _, err := Speedup(bad); err == nil {
			t.Errorf("Speedup(%v) gave no error", bad)
		}
	}
}

func TestEmpty(t *testing.T) {
	_, err := TaskStream(nil)
	if err == nil || !strings.Contains(err.Error(), "no reports") {
		t.Errorf("TaskStream(nil) error = %v, want one about no reports", err)
	}
	if _, err := Speedup([]models.Report{}); err == nil {
		t.Errorf("Speedup of no reports gave no error")
	}
	if Layout(nil) != nil {
		t.Errorf("Layout(nil) is not nil")
	}
}

func TestZeroTasks(t *testing.T) {
	reports := []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 0},
		{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2},
		{Model: "processes", Traits: models.TraitsOf("processes"), Workers: 2, Pool: []models.WorkerRecord{{Worker: 0}, {Worker: 1, Spawn: ms, Ready: ms}}},
	}
	c, err := TaskStream(reports)
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, names(reports))
	if _, err := Speedup(reports); err == nil {
		t.Errorf("Speedup without wall times gave no error")
	}
}

func TestManyTasks(t *testing.T) {
	reports := manyReports()
	c, err := TaskStream(reports)
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 600_000, names(reports))
	t.Logf("100 tasks: %d×%d, SVG %d bytes, PNG %d bytes", c.Width, c.Height, len(c.SVG), len(c.PNG))
	if c.Height > 1000 {
		t.Errorf("100 tasks make the chart %d px high", c.Height)
	}
	panels := Layout(reports)
	if n := countBars(panels, TaskBar); n != 300 {
		t.Errorf("%d task bars for 300 tasks", n)
	}
	if n := len(panels[1].Rows); n != 100 {
		t.Errorf("eventloop of 100 coroutines has %d rows", n)
	}
	// Not every one of the 100 rows is labelled.
	labelled := strings.Count(string(c.SVG), ">coroutine ")
	if labelled < 5 || labelled >= 100 {
		t.Errorf("%d of 100 coroutine rows labelled", labelled)
	}
	if _, err := Speedup(reports); err != nil {
		t.Error(err)
	}
}

func TestDeterministic(t *testing.T) {
	for _, draw := range []func([]models.Report, ...Option) (Chart, error){TaskStream, Speedup} {
		a, err := draw(fixedReports())
		if err != nil {
			t.Fatal(err)
		}
		b, err := draw(fixedReports())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.SVG, b.SVG) || !bytes.Equal(a.PNG, b.PNG) || a.Summary != b.Summary {
			t.Errorf("two drawings of the same reports differ")
		}
		// A draft, as a run redraws while it goes, is the same drawing
		// without its PNG.
		d, err := draw(fixedReports(), Draft())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.SVG, d.SVG) || d.PNG != nil || a.Summary != d.Summary {
			t.Errorf("a draft is not the chart's SVG and summary without a PNG: SVG equal %v, PNG %d bytes", bytes.Equal(a.SVG, d.SVG), len(d.PNG))
		}
		data, md := d.Bundle()
		if _, ok := data["image/png"]; ok || data["image/svg+xml"] != string(a.SVG) || len(md) != 0 {
			t.Errorf("a draft's bundle has keys %v and metadata %v; want the SVG and the summary only", keys(data), md)
		}
	}
}

// TestWritePNG writes the fixed reports' charts for a person to look at:
//
//	go test ./models/chart -run TestWritePNG -args -out /tmp
func TestWritePNG(t *testing.T) {
	if *outDir == "" {
		t.Skip("no -out directory")
	}
	for name, draw := range map[string]func([]models.Report, ...Option) (Chart, error){
		"chart-taskstream": TaskStream,
		"chart-speedup":    Speedup,
		"chart-many":       func([]models.Report, ...Option) (Chart, error) { return TaskStream(manyReports()) },
		"chart-kinds":      func([]models.Report, ...Option) (Chart, error) { return TaskStream([]models.Report{kindsReport()}) },
	} {
		c, err := draw(fixedReports())
		if err != nil {
			t.Fatal(err)
		}
		for ext, b := range map[string][]byte{".png": c.PNG, ".svg": c.SVG, ".txt": []byte(c.Summary + "\n")} {
			if err := os.WriteFile(filepath.Join(*outDir, name+ext), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestWorkerStates: tasks that ran in worker processes, traced by their
// workers, are drawn as the in-process ones are — solid while running,
// hatched while waiting, light while blocked — with their workers'
// start-up and the transfers still grey, and no "not traced" in their
// titles; untraced, they are solid from start to end, and said so.
func TestWorkerStates(t *testing.T) {
	fixed := fixedReports()
	untraced := fixed[4:] // processes, distributed
	withStates := []models.Report{traced(untraced[0]), traced(untraced[1])}

	for _, tt := range []struct {
		name    string
		reports []models.Report
		states  bool
	}{
		{"traced", withStates, true},
		{"untraced", untraced, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			panels := Layout(append([]models.Report{fixed[3]}, tt.reports...)) // with threads, traced
			for i, p := range panels[1:] {
				r := tt.reports[i]
				if p.Traced != tt.states {
					t.Errorf("%s: Panel.Traced = %v, want %v", p.Model, p.Traced, tt.states)
				}
				if note := strings.Contains(p.Title, "not traced"); note == tt.states {
					t.Errorf("%s: title %q; want a \"not traced\" note: %v", p.Model, p.Title, !tt.states)
				}
				if got := countBars([]Panel{p}, StartupBar); got != len(r.Pool) {
					t.Errorf("%s: %d start-up bars, want one per worker, %d", p.Model, got, len(r.Pool))
				}
				if got := countBars([]Panel{p}, TransferBar); got != len(r.Tasks) {
					t.Errorf("%s: %d transfer bars, want one per task, %d", p.Model, got, len(r.Tasks))
				}
				for _, row := range p.Rows {
					for _, b := range row.Bars {
						if b.Kind == TaskBar {
							checkSegments(t, p.Model, b, tt.states)
						}
					}
				}
			}

			c, err := TaskStream(tt.reports)
			if err != nil {
				t.Fatal(err)
			}
			checkChart(t, c, 150_000, names(tt.reports))
			svg := string(c.SVG)
			fill := func(col color.NRGBA) string { return fmt.Sprintf("fill:#%02X%02X%02X", col.R, col.G, col.B) }
			stroke := func(col color.NRGBA) string {
				return fmt.Sprintf("fill:none;stroke:#%02X%02X%02X\"", col.R, col.G, col.B) // width 1, the default
			}
			for i := range 8 {
				col := taskColor(i)
				marks := map[string]string{
					"solid (running)":          fill(col),
					"light (blocked)":          fill(lighten(col, blockedTone(false))),
					"hatched tint (waiting)":   fill(lighten(col, waitingTone(false))),
					"hatching lines (waiting)": stroke(col),
				}
				for what, mark := range marks {
					want := tt.states || what == "solid (running)"
					if got := strings.Contains(svg, mark); got != want {
						t.Errorf("task %d: the SVG has its %s mark %q: %v, want %v", i, what, mark, got, want)
					}
				}
			}
			for what, col := range map[string]color.NRGBA{"start-up": startupGray, "transfer": transferGray} {
				if !strings.Contains(svg, fill(col)+"\"") {
					t.Errorf("the SVG lacks the grey %s bars (%s)", what, fill(col))
				}
			}
			if got := strings.Contains(c.Summary, "hatched = waiting"); got != tt.states {
				t.Errorf("summary explains the states: %v, want %v:\n%s", got, tt.states, c.Summary)
			}
		})
	}
}

// withRounds is a report of model whose rounds took walls (ms).
func withRounds(model string, workers int, walls ...float64) models.Report {
	var runs []models.Report
	for _, w := range walls {
		d := time.Duration(w * float64(ms))
		runs = append(runs, models.Report{Model: model, Traits: models.TraitsOf(model), Workers: workers, Wall: d, CPUs: 2})
	}
	return models.Combine(runs, nil)
}

// errorBars returns the SVG's error-bar strokes as line segments
// (x0, y0, x1, y1), in document order.
func errorBars(t *testing.T, svg []byte) [][4]float64 {
	t.Helper()
	var out [][4]float64
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "path" || !strings.Contains(attr(se, "style"), "stroke:#101010") {
			continue
		}
		var l [4]float64
		if _, err := fmt.Sscanf(attr(se, "d"), "M%f,%fL%f,%f", &l[0], &l[1], &l[2], &l[3]); err != nil {
			t.Fatalf("an error bar's path %q is not one line: %v", attr(se, "d"), err)
		}
		out = append(out, l)
	}
}

// Speedups from rounds carry their intervals as error bars: a vertical
// line capped at both ends per model but the baseline, as tall as its
// interval on the axis, and one in the legend; from single runs, none.
func TestSpeedupErrorBars(t *testing.T) {
	reports := []models.Report{
		withRounds("sequential", 1, 100, 100, 100, 100, 100, 100),
		withRounds("eventloop", 8, 100, 95.2381, 105.2632, 98, 104, 101), // 1.00 [0.95–1.05]
		withRounds("gil", 4, 100, 90.9091, 111.1111, 98, 105, 101),       // 1.00 [0.90–1.10]
		withRounds("threads", 2, 50, 52.6316, 51, 50.5, 51.5, 55.5556),   // [1.80–2.00]
	}
	c, err := Speedup(reports)
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, names(reports))
	bars := errorBars(t, c.SVG)
	if len(bars) != 3*4 {
		t.Fatalf("the SVG has %d error-bar strokes, want 3 for each of 3 models and 3 for the legend", len(bars))
	}
	var heights []float64
	for i := 0; i < len(bars); i += 3 {
		v, lo, hi := bars[i], bars[i+1], bars[i+2]
		if v[0] != v[2] || lo[1] != lo[3] || hi[1] != hi[3] || lo[1] != v[1] || hi[1] != v[3] {
			t.Errorf("error bar %d is not a vertical line capped at both ends: %v %v %v", i/3, v, lo, hi)
		}
		heights = append(heights, math.Abs(v[3]-v[1]))
	}
	// heights[0] is the legend's; then eventloop, gil, threads: on one
	// axis, their lengths are as their intervals' widths, 0.1, 0.2, 0.2.
	for i, want := range []float64{1, 2, 2} {
		if got := heights[i+1] / heights[1]; math.Abs(got-want) > 0.02 {
			t.Errorf("error bar %d is %.3f times eventloop's, want %v (heights %v)", i+1, got, want, heights[1:])
		}
	}
	for _, want := range []string{"95% interval of the speedup", "the median over 6 rounds"} {
		if !strings.Contains(string(c.SVG), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	for _, want := range []string{"eventloop: 1.00x [0.95–1.05]", "no faster than sequential", "threads: 1.95x [1.80–2.00]", "as fast as the 2 cores allow", "sequential: 1.00x on"} {
		if !strings.Contains(c.Summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, c.Summary)
		}
	}
	// From one run each: no interval, no error bar, no legend for one.
	one, err := Speedup([]models.Report{withRounds("sequential", 1, 100), withRounds("threads", 2, 50)})
	if err != nil {
		t.Fatal(err)
	}
	if bars := errorBars(t, one.SVG); len(bars) != 0 || strings.Contains(string(one.SVG), "95% interval") {
		t.Errorf("a chart of single runs has %d error-bar strokes or the interval's legend", len(bars))
	}
}
