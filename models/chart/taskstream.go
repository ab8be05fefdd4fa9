package chart

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"atonce/internal/words"
	"atonce/models"
)

// The task stream's geometry, in CSS pixels.
const (
	streamWidth  = 800
	margin       = 8
	titleHeight  = 20
	panelGap     = 8
	maxRowHeight = 16  // a row is at most this tall ...
	maxPanelData = 240 // ... and a panel's rows at most this tall together
	minPanelData = 22  // a panel of one row still gets this much
	labelSpacing = 12  // row labels are at least this far apart
	legendLine   = 16
)

var (
	startupGray  = gray(0xb4)
	transferGray = gray(0xc8)
	failedRed    = rgb(0x8b0000)
	gridGray     = gray(0xe6)
)

// TaskStream draws the reports as a task stream: one panel per report,
// stacked in order, sharing one time axis in milliseconds from the start
// of the run to the longest wall time; one row per worker, labelled as
// the model calls it (loop, coroutine k, thread k, goroutine k,
// process k, worker k (host)); one bar per task from its start to its
// end, colored by task index. Where a task carries traced states (in
// the engine's process or, traced by its own tracer, in a worker's), its
// bar is solid while running, hatched while waiting for the lock or a
// CPU, and light while blocked at an await. For models that run tasks
// in other processes, grey bars show each worker's start-up and thin
// grey bars each task's transfer to its worker. White is idle.
//
// A report whose run took rounds (Report.Rounds) is its median round.
//
// It returns an error for no reports.
func TaskStream(reports []models.Report, opts ...Option) (Chart, error) {
	if len(reports) == 0 {
		return Chart{}, errors.New("no reports to draw a task stream of: run at least one model first")
	}
	panels := Layout(reports)
	end := timeAxisEnd(reports)
	endMS := millis(end)
	if endMS <= 0 {
		endMS = 1
	}
	var legend legendFlags
	for _, pn := range panels {
		legend.add(pn)
	}

	// Make one plot per panel and measure what its axes take around the
	// data area, so the data areas line up and each gets its own height.
	type panelPlot struct {
		p                        *plot.Plot
		dataH                    vg.Length
		left, right, bottom, top vg.Length
		ticks                    plot.ConstantTicks
		labels                   []string
	}
	pps := make([]panelPlot, len(panels))
	// The row labels are drawn here, not by the axis: right-aligned for
	// the font they are measured in, with room on their right for a
	// browser's wider fallback font (an SVG text starts where the
	// measure put it).
	labelStyle := textStyle(10, false, nil)
	labelStyle.XAlign = draw.XRight
	var labelW vg.Length
	for _, pn := range panels {
		for _, r := range pn.Rows {
			labelW = max(labelW, labelStyle.Width(r.Label))
		}
	}
	labelRight := margin + labelW
	left := labelRight + labelW*(textSlack-1) + 4
	var maxLeft, maxRight vg.Length
	innerW := streamWidth - margin - left
	for i, pn := range panels {
		n := len(pn.Rows)
		dataH := panelDataHeight(n)
		p := plot.New()
		p.BackgroundColor = nil
		styleAxes(p)
		grid := plotter.NewGrid()
		grid.Horizontal.Color = nil
		grid.Vertical.Color = gridGray
		grid.Vertical.Width = 0.5
		p.Add(grid, &streamPlotter{panel: pn})
		p.X.Min, p.X.Max = 0, endMS
		p.X.Tick.Marker = niceTicks(10)
		p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
		ticks, labels := rowTicks(pn.Rows, float64(dataH)/float64(n))
		p.Y.Tick.Marker = ticks
		if i == len(panels)-1 {
			p.X.Label.Text = "time since the run started (ms)"
		}
		const probe = 1000
		dc := p.DataCanvas(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: innerW, Y: probe}}})
		pp := panelPlot{
			p:      p,
			dataH:  dataH,
			left:   dc.Min.X,
			right:  innerW - dc.Max.X,
			bottom: dc.Min.Y,
			top:    probe - dc.Max.Y,
			ticks:  ticks,
			labels: labels,
		}
		maxLeft, maxRight = max(maxLeft, pp.left), max(maxRight, pp.right)
		pps[i] = pp
	}

	legendX := left + maxLeft
	// The titles' words after the model names start in one column.
	titleX := legendX
	for _, pn := range panels {
		titleX = max(titleX, margin+textStyle(12, true, nil).Width(pn.Model)*boldSlack+8)
	}
	items := append([]legendItem{{label: "color = task index;"}}, legend.items()...)
	legendLines := layoutLegend(items, vg.Length(streamWidth-margin)-legendX)

	height := vg.Length(2*margin) + vg.Length(len(legendLines))*legendLine + 4
	for i, pp := range pps {
		height += titleHeight + pp.top + pp.dataH + pp.bottom
		if i > 0 {
			height += panelGap
		}
	}
	height = vg.Length(math.Ceil(float64(height)))
	width := vg.Length(streamWidth)

	paint := func(c draw.Canvas) {
		c.SetColor(color.White)
		c.Fill(c.Rectangle.Path())
		y := c.Max.Y - margin
		for i, pp := range pps {
			if i > 0 {
				y -= panelGap
			}
			drawTitle(c, vg.Point{X: margin, Y: y - titleHeight/2}, titleX, panels[i].Model, panels[i].Title)
			y -= titleHeight
			h := pp.top + pp.dataH + pp.bottom
			pc := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: left + maxLeft - pp.left, Y: y - h},
				Max: vg.Point{X: streamWidth - margin - (maxRight - pp.right), Y: y},
			}}
			pp.p.Draw(pc)
			dc := pp.p.DataCanvas(pc)
			_, trY := pp.p.Transforms(&dc)
			for j, t := range pp.ticks {
				c.FillText(labelStyle, vg.Point{X: labelRight, Y: trY(t.Value)}, pp.labels[j])
			}
			y -= h
		}
		drawLegend(c, legendLines, legendX, c.Min.Y+margin+vg.Length(len(legendLines))*legendLine)
	}
	svg, png, err := render(width, height, settingsOf(opts), paint)
	if err != nil {
		return Chart{}, fmt.Errorf("drawing the task stream: %w", err)
	}
	return Chart{
		SVG:     svg,
		PNG:     png,
		Width:   int(width),
		Height:  int(height),
		Summary: streamSummary(reports, end, legend),
	}, nil
}

// panelDataHeight is the height of the data area of a panel of n rows.
func panelDataHeight(n int) vg.Length {
	rowH := min(maxRowHeight, float64(maxPanelData)/float64(n))
	return vg.Length(max(float64(n)*rowH, minPanelData))
}

// barHeight is the height of a bar in a panel of n rows.
func barHeight(n int) vg.Length {
	rowPx := panelDataHeight(n) / vg.Length(n)
	if rowPx < 5 {
		return rowPx
	}
	return rowPx * 0.78
}

// waitingLabel names the waiting state in the legend.
func waitingLabel(thin bool) string {
	if thin {
		return "waiting for the lock or a CPU (half-tone in thin rows)"
	}
	return "waiting for the lock or a CPU"
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rowTicks marks the rows to label on the Y axis (row 0 at the top),
// every k-th row when they are too close for every label, and returns
// the labels apart: the ticks are unlabelled.
func rowTicks(rows []Row, rowPx float64) (plot.ConstantTicks, []string) {
	step := 1
	for _, s := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000} {
		step = s
		if float64(s)*rowPx >= labelSpacing {
			break
		}
	}
	n := len(rows)
	var ticks plot.ConstantTicks
	var labels []string
	for i := 0; i < n; i += step {
		ticks = append(ticks, plot.Tick{Value: float64(n - 1 - i)})
		labels = append(labels, rows[i].Label)
	}
	return ticks, labels
}

// drawTitle writes the model's name in bold and the rest after it, from
// restX on or further right if the name needs it (with room for a
// wider fallback font), vertically centred on at.
func drawTitle(c draw.Canvas, at vg.Point, restX vg.Length, model, rest string) {
	bold := textStyle(12, true, nil)
	c.FillText(bold, at, model)
	if rest != "" {
		at.X = max(restX, at.X+bold.Width(model)*boldSlack+8)
		c.FillText(textStyle(11, false, gray(0x44)), at, rest)
	}
}

// streamPlotter draws one panel's bars in its plot's data area.
type streamPlotter struct {
	panel Panel
}

// Plot implements plot.Plotter.
func (sp *streamPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(sp.panel.Rows)
	rowPx := trY(1) - trY(0)
	bh := rowPx * 0.78
	if rowPx < 5 {
		bh = rowPx
	}
	thin := bh < thinBar
	for ri, row := range sp.panel.Rows {
		yc := trY(float64(n - 1 - ri))
		y0, y1 := yc-bh/2, yc+bh/2
		for _, b := range row.Bars {
			x0, x1 := trX(millis(b.Start)), trX(millis(b.End))
			switch b.Kind {
			case StartupBar:
				fillRect(c, x0, x1, y0, y1, startupGray)
				label := textStyle(9, false, gray(0x22))
				label.XAlign = draw.XCenter
				if w := label.Width("start-up"); w*textSlack+4 <= x1-x0 && bh >= 9 {
					c.FillText(label, vg.Point{X: (x0 + x1) / 2, Y: yc}, "start-up")
				}
			case TransferBar:
				fillRect(c, x0, x1, yc-bh*0.18, yc+bh*0.18, transferGray)
			case TaskBar:
				drawTask(c, b, x0, x1, y0, y1, thin)
			}
		}
	}
}

// thinBar is the height under which hatching does not read: waiting is
// then a half-tone of the task's color.
const thinBar = 6

// drawTask draws one task's bar: solid without states, otherwise one
// piece per state inside a thin outline. In thin bars, waiting is a
// half-tone instead of hatched. The light colors are opaque (blended
// with white), so pieces can be drawn over each other: a bar with many
// waiting pieces is hatched once as a whole and its other pieces drawn
// over the hatching, which keeps the SVG small.
func drawTask(c draw.Canvas, b Bar, x0, x1, y0, y1 vg.Length, thin bool) {
	if x1-x0 < 1 {
		x1 = x0 + 1
	} else if x1-x0 > 3 {
		x1 -= 0.75 // a white gap between back-to-back tasks
	}
	col := taskColor(b.Task)
	if len(b.Segments) == 0 {
		fillRect(c, x0, x1, y0, y1, col)
	} else {
		waitTone := lighten(col, waitingTone(thin))
		waits := 0
		for _, s := range b.Segments {
			if s.State == models.Waiting {
				waits++
			}
		}
		whole := waits >= 4
		if whole {
			fillRect(c, x0, x1, y0, y1, waitTone)
			if !thin {
				hatch(c, x0, x1, y0, y1, col)
			}
		}
		for _, s := range b.Segments {
			sx0 := max(x0, xOf(s.Start, b, x0, x1))
			sx1 := min(x1, xOf(s.End, b, x0, x1))
			if sx1 <= sx0 {
				continue
			}
			switch s.State {
			case models.Waiting:
				if whole {
					break
				}
				fillRect(c, sx0, sx1, y0, y1, waitTone)
				if !thin {
					hatch(c, sx0, sx1, y0, y1, col)
				}
			case models.Blocked:
				fillRect(c, sx0, sx1, y0, y1, lighten(col, blockedTone(thin)))
			default:
				fillRect(c, sx0, sx1, y0, y1, col)
			}
		}
		if !thin {
			strokeRect(c, x0, x1, y0, y1, col, 0.75)
		}
	}
	if b.Failed {
		strokeRect(c, x0, x1, y0, y1, failedRed, 1.5)
	}
}

// waitingTone is how much of the task's color a waiting piece's
// background has: a tint under the hatching, a half-tone in thin bars.
func waitingTone(thin bool) float64 {
	if thin {
		return 0.55
	}
	return 0.10
}

// blockedTone is how much of the task's color a blocked piece has:
// less in thin bars, to tell it from a waiting half-tone.
func blockedTone(thin bool) float64 {
	if thin {
		return 0.18
	}
	return 0.25
}

// xOf places t, a time within the bar b drawn from x0 to x1.
func xOf(t time.Duration, b Bar, x0, x1 vg.Length) vg.Length {
	if b.End <= b.Start {
		return x0
	}
	return x0 + (x1-x0)*vg.Length(float64(t-b.Start)/float64(b.End-b.Start))
}

func rectPath(x0, x1, y0, y1 vg.Length) vg.Path {
	var p vg.Path
	p.Move(vg.Point{X: x0, Y: y0})
	p.Line(vg.Point{X: x1, Y: y0})
	p.Line(vg.Point{X: x1, Y: y1})
	p.Line(vg.Point{X: x0, Y: y1})
	p.Close()
	return p
}

func fillRect(c draw.Canvas, x0, x1, y0, y1 vg.Length, col color.Color) {
	c.SetColor(col)
	c.Fill(rectPath(x0, x1, y0, y1))
}

func strokeRect(c draw.Canvas, x0, x1, y0, y1 vg.Length, col color.Color, w vg.Length) {
	c.SetLineStyle(draw.LineStyle{Color: col, Width: w})
	c.Stroke(rectPath(x0, x1, y0, y1))
}

// hatchStep is the distance between hatching lines, along X.
const hatchStep = 4

// hatch strokes diagonal lines in col across the rectangle, on a grid
// fixed to the canvas so that neighbouring pieces line up.
func hatch(c draw.Canvas, x0, x1, y0, y1 vg.Length, col color.Color) {
	var path vg.Path
	kmin := math.Ceil(float64(x0-y1) / hatchStep)
	kmax := math.Floor(float64(x1-y0) / hatchStep)
	for k := kmin; k <= kmax; k++ {
		off := vg.Length(k * hatchStep) // the line x - y = off
		lo, hi := max(x0, y0+off), min(x1, y1+off)
		if hi-lo < 0.3 {
			continue
		}
		path.Move(vg.Point{X: lo, Y: lo - off})
		path.Line(vg.Point{X: hi, Y: hi - off})
	}
	if len(path) == 0 {
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: col, Width: 1})
	c.Stroke(path)
}

// legendFlags tells which kinds of marks the panels use.
type legendFlags struct {
	states, startup, transfer, failed bool
	// thin tells that some traced panel has rows too thin for hatching.
	thin bool
}

func (f *legendFlags) add(pn Panel) {
	f.states = f.states || pn.Traced
	f.thin = f.thin || pn.Traced && barHeight(len(pn.Rows)) < thinBar
	for _, r := range pn.Rows {
		for _, b := range r.Bars {
			f.startup = f.startup || b.Kind == StartupBar
			f.transfer = f.transfer || b.Kind == TransferBar
			f.failed = f.failed || b.Failed
		}
	}
}

// legendItem is one swatch and its words.
type legendItem struct {
	swatch func(c draw.Canvas, x0, x1, y0, y1 vg.Length)
	label  string
}

func (f legendFlags) items() []legendItem {
	col := taskPalette[0]
	var items []legendItem
	if f.states {
		items = append(items,
			legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
				fillRect(c, x0, x1, y0, y1, col)
			}, "running"},
			legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
				fillRect(c, x0, x1, y0, y1, lighten(col, waitingTone(false)))
				hatch(c, x0, x1, y0, y1, col)
				strokeRect(c, x0, x1, y0, y1, col, 0.75)
			}, waitingLabel(f.thin)},
			legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
				fillRect(c, x0, x1, y0, y1, lighten(col, blockedTone(false)))
				strokeRect(c, x0, x1, y0, y1, col, 0.75)
			}, "blocked at an await"},
		)
	} else {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			fillRect(c, x0, x1, y0, y1, col)
		}, "task, start to end"})
	}
	if f.startup {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			fillRect(c, x0, x1, y0, y1, startupGray)
		}, "worker start-up"})
	}
	if f.transfer {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m, h := (y0+y1)/2, (y1-y0)*0.2
			fillRect(c, x0, x1, m-h, m+h, transferGray)
		}, "sent to the worker"})
	}
	if f.failed {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			fillRect(c, x0, x1, y0, y1, col)
			strokeRect(c, x0, x1, y0, y1, failedRed, 1.5)
		}, "failed"})
	}
	items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
		strokeRect(c, x0, x1, y0, y1, gray(0xa0), 0.5)
	}, "idle"})
	return items
}

const (
	swatchW   = 18
	swatchH   = 10
	swatchGap = 4
	itemGap   = 14
)

// legendText is the style of the legend's words.
func legendText() text.Style { return textStyle(10, false, gray(0x22)) }

// layoutLegend breaks the legend into lines that fit width.
func layoutLegend(items []legendItem, width vg.Length) [][]legendItem {
	st := legendText()
	var lines [][]legendItem
	var line []legendItem
	var x vg.Length
	for _, it := range items {
		w := st.Width(it.label) * textSlack
		if it.swatch != nil {
			w += swatchW + swatchGap
		}
		if len(line) > 0 && x+w > width {
			lines = append(lines, line)
			line, x = nil, 0
		}
		line = append(line, it)
		x += w + itemGap
	}
	return append(lines, line)
}

// drawLegend draws the legend's lines from (x, top) down.
func drawLegend(c draw.Canvas, lines [][]legendItem, x0, top vg.Length) {
	st := legendText()
	for i, line := range lines {
		yc := top - vg.Length(i)*legendLine - legendLine/2
		x := x0
		for _, it := range line {
			if it.swatch != nil {
				it.swatch(c, x, x+swatchW, yc-swatchH/2, yc+swatchH/2)
				x += swatchW + swatchGap
			}
			c.FillText(st, vg.Point{X: x, Y: yc}, it.label)
			x += st.Width(it.label)*textSlack + itemGap
		}
	}
}

// streamSummary says in words what the task stream shows.
func streamSummary(reports []models.Report, end time.Duration, f legendFlags) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Task stream: one row per worker, one bar per task, time axis 0 to %s.\n", formatDuration(end))
	seq := baseline(reports)
	for _, r := range reports {
		b.WriteString(summaryLine(r, seq))
		if states := stateShares(r); states != "" {
			b.WriteString("; " + states)
		}
		b.WriteString("\n")
	}
	keys := []string{"color = task index"}
	if f.states {
		keys = append(keys, "solid = running", "hatched = "+waitingLabel(f.thin), "light = blocked at an await")
	}
	if f.startup || f.transfer {
		keys = append(keys, "grey = worker start-up and tasks on their way to a worker")
	}
	b.WriteString(strings.Join(keys, "; ") + ".")
	return b.String()
}

// summaryLine is e.g. "threads: 8 tasks on 2 goroutines, 0.91 s, 1.86x".
func summaryLine(r models.Report, seq time.Duration) string {
	s := fmt.Sprintf("%s: %s on %s, %s", r.Model, words.Plural(len(r.Tasks), "task", "tasks"), workerCount(r), formatDuration(r.Wall))
	if seq > 0 && r.Wall > 0 && !r.Baseline {
		s += fmt.Sprintf(", %.2fx", float64(seq)/float64(r.Wall))
	}
	if r.Startup > 0 {
		s += ", start-up " + formatDuration(r.Startup)
	}
	if failed := failedTasks(r); failed > 0 {
		s += ", " + words.Plural(failed, "task failed", "tasks failed")
	}
	if r.Err != "" {
		s += ", stopped: " + shorten(r.Err, 100)
	}
	return s
}

// stateShares is e.g. "running 25%, waiting 75% of task time", from
// the traced states; "" without them.
func stateShares(r models.Report) string {
	var dur [3]time.Duration
	var total time.Duration
	for _, t := range r.Tasks {
		for _, s := range t.States {
			if s.End > s.Start {
				dur[stateIndex(s.State)] += s.End - s.Start
				total += s.End - s.Start
			}
		}
	}
	if total == 0 {
		return ""
	}
	var parts []string
	for i, d := range dur {
		if d > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", stateNames[i], 100*float64(d)/float64(total)))
		}
	}
	return strings.Join(parts, ", ") + " of task time"
}
