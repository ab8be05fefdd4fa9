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
// bar is drawn in one Fill per state and kind: solid while running,
// hatched while waiting for a CPU, cross-hatched for the GIL, lined for
// the event loop, light while blocked (with bars for a mutex, dots for a
// channel or select, a line for a syscall); the legend lists the fills
// the chart uses. For models that run tasks in other processes, grey
// bars show each worker's start-up and thin grey bars each task's
// transfer to its worker. Each worker's row is a lane from when it could
// take tasks to the run's end, whose white space is its idle time (Dask's
// convention). A last row per panel, when the run collected garbage or
// stopped the world, shows when (GC · STW).
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
		Summary: streamSummary(reports, panels, end, legend),
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

// The runtime band's colors: gotraceui's GC purple, lightened, and its
// stop-the-world red.
var (
	gcPurple = lighten(rgb(0x9c6fd6), 0.6)
	stwRed   = rgb(0xba4141)
	laneGray = gray(0xc8)
)

// thinLanes is the bar height under which rows get no lane: it would be
// a grey block.
const thinLanes = 6

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
		if row.Worker >= 0 && bh >= thinLanes && row.Life[1] > row.Life[0] {
			strokeRect(c, trX(millis(row.Life[0])), trX(millis(row.Life[1])), y0, y1, laneGray, 0.5)
		}
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
			case GCBar:
				fillRect(c, x0, max(x1, x0+0.5), yc-bh*0.3, yc+bh*0.3, gcPurple)
			case STWBar:
				fillRect(c, x0, max(x1, x0+0.5), y0, y1, stwRed)
			}
		}
	}
}

// thinBar is the height under which patterns do not read: the waiting
// fills are then a half-tone of the task's color, the blocked ones
// light.
const thinBar = 6

// drawTask draws one task's bar: solid without states, otherwise one
// piece per segment, in its fill, inside a thin outline. Every fill is
// opaque (light colors are blended with white), so pieces can be drawn
// over each other: a bar with many pieces of one fill is drawn in that
// fill as a whole, once, and its other pieces over it, which keeps the
// SVG small.
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
		var count [nFills]int
		for _, s := range b.Segments {
			count[fillOf(s)]++
		}
		whole := Fill(-1)
		for f, n := range count {
			if n >= 4 && (whole < 0 || n > count[whole]) {
				whole = Fill(f)
			}
		}
		if whole >= 0 {
			paintFill(c, whole, x0, x1, y0, y1, col, thin)
		}
		for _, s := range b.Segments {
			sx0 := max(x0, xOf(s.Start, b, x0, x1))
			sx1 := min(x1, xOf(s.End, b, x0, x1))
			if f := fillOf(s); sx1 > sx0 && f != whole {
				paintFill(c, f, sx0, sx1, y0, y1, col, thin)
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

// paintFill paints the rectangle in fill f of the task color col: a
// base of col or a tint of it, and the fill's pattern in col (white for
// GC assist) unless the bar is thin.
func paintFill(c draw.Canvas, f Fill, x0, x1, y0, y1 vg.Length, col color.NRGBA, thin bool) {
	switch fills[f].state {
	case models.Running:
		fillRect(c, x0, x1, y0, y1, col)
	case models.Waiting:
		fillRect(c, x0, x1, y0, y1, lighten(col, waitingTone(thin)))
	default:
		tone := blockedTone(thin)
		if f == FillOther {
			tone = otherTone
		}
		fillRect(c, x0, x1, y0, y1, lighten(col, tone))
	}
	if thin {
		return
	}
	mid := (y0 + y1) / 2
	switch f {
	case FillAssist:
		uprights(c, x0, x1, y0, y1, color.White)
	case FillCPU:
		hatch(c, x0, x1, y0, y1, col, 1)
	case FillGIL:
		hatch(c, x0, x1, y0, y1, col, 1)
		hatch(c, x0, x1, y0, y1, col, -1)
	case FillLoop:
		var path vg.Path
		for y := y0 + 2; y < y1-1; y += 3 {
			path.Move(vg.Point{X: x0, Y: y})
			path.Line(vg.Point{X: x1, Y: y})
		}
		stroke(c, path, col, 0.75, nil)
	case FillMutex:
		uprights(c, x0, x1, y0, y1, col)
	case FillChannel:
		var path vg.Path
		path.Move(vg.Point{X: x0, Y: mid})
		path.Line(vg.Point{X: x1, Y: mid})
		stroke(c, path, col, 2, []vg.Length{1.5, 2})
	case FillSyscall:
		var path vg.Path
		path.Move(vg.Point{X: x0, Y: mid})
		path.Line(vg.Point{X: x1, Y: mid})
		stroke(c, path, col, 1.5, nil)
	}
}

// otherTone is how much of the task's color the faint fill has.
const otherTone = 0.08

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

// hatchStep is the distance between hatching lines, along X, and
// uprightStep between upright bars.
const (
	hatchStep   = 4
	uprightStep = 3
)

// stroke strokes path in col, w wide, dashed if dashes are given.
func stroke(c draw.Canvas, path vg.Path, col color.Color, w vg.Length, dashes []vg.Length) {
	if len(path) == 0 {
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: col, Width: w, Dashes: dashes})
	c.Stroke(path)
}

// hatch strokes diagonal lines in col across the rectangle, rising
// (dir 1) or falling (dir -1), on a grid fixed to the canvas so that
// neighbouring pieces line up.
func hatch(c draw.Canvas, x0, x1, y0, y1 vg.Length, col color.Color, dir float64) {
	var path vg.Path
	d := vg.Length(dir)
	// The line x - d·y = off crosses the rectangle's X span where y is
	// within y0..y1.
	lo, hi := x0-d*y1, x1-d*y0
	if dir < 0 {
		lo, hi = x0-d*y0, x1-d*y1
	}
	for k := math.Ceil(float64(lo) / hatchStep); k <= math.Floor(float64(hi)/hatchStep); k++ {
		off := vg.Length(k * hatchStep)
		// y on the line at x: (x - off) / d; clip to the rectangle.
		ya, yb := (x0-off)/d, (x1-off)/d
		if ya > yb {
			ya, yb = yb, ya
		}
		ya, yb = max(ya, y0), min(yb, y1)
		if yb-ya < 0.3 {
			continue
		}
		path.Move(vg.Point{X: off + d*ya, Y: ya})
		path.Line(vg.Point{X: off + d*yb, Y: yb})
	}
	stroke(c, path, col, 1, nil)
}

// uprights strokes upright bars in col across the rectangle, on a grid
// fixed to the canvas.
func uprights(c draw.Canvas, x0, x1, y0, y1 vg.Length, col color.Color) {
	var path vg.Path
	for k := math.Ceil(float64(x0) / uprightStep); k*uprightStep <= float64(x1); k++ {
		x := vg.Length(k * uprightStep)
		path.Move(vg.Point{X: x, Y: y0})
		path.Line(vg.Point{X: x, Y: y1})
	}
	stroke(c, path, col, 0.75, nil)
}

// legendFlags tells which kinds of marks the panels use.
type legendFlags struct {
	fills                             [nFills]bool
	states, startup, transfer, failed bool
	gc, stw                           bool
	// thin tells that some traced panel has rows too thin for patterns.
	thin bool
}

func (f *legendFlags) add(pn Panel) {
	f.states = f.states || pn.Traced
	f.thin = f.thin || pn.Traced && barHeight(len(pn.Rows)) < thinBar
	for _, r := range pn.Rows {
		for _, b := range r.Bars {
			f.startup = f.startup || b.Kind == StartupBar
			f.transfer = f.transfer || b.Kind == TransferBar
			f.gc = f.gc || b.Kind == GCBar
			f.stw = f.stw || b.Kind == STWBar
			f.failed = f.failed || b.Failed
			for _, s := range b.Segments {
				f.fills[fillOf(s)] = true
			}
		}
	}
}

// legendItem is one swatch and its words.
type legendItem struct {
	swatch func(c draw.Canvas, x0, x1, y0, y1 vg.Length)
	label  string
}

// fillLabel is what the legend and the summary say of fill f: its
// meaning, and for the waiting fills in a chart with thin rows, that
// they are a half-tone there.
func (f legendFlags) fillLabel(fl Fill) string {
	if f.thin && fills[fl].state == models.Waiting {
		return fills[fl].label + " (half-tone in thin rows)"
	}
	return fills[fl].label
}

func (f legendFlags) items() []legendItem {
	col := taskPalette[0]
	var items []legendItem
	if f.states {
		for fl := range nFills {
			if !f.fills[fl] {
				continue
			}
			items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
				paintFill(c, fl, x0, x1, y0, y1, col, false)
				if fl != FillRunning {
					strokeRect(c, x0, x1, y0, y1, col, 0.75)
				}
			}, f.fillLabel(fl)})
		}
	} else {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			fillRect(c, x0, x1, y0, y1, col)
		}, "task, start to end"})
	}
	if f.startup {
		items = append(items, legendItem{strip(startupGray, 1), "worker start-up"})
	}
	if f.transfer {
		items = append(items, legendItem{strip(transferGray, 0.4), "sent to the worker"})
	}
	if f.failed {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			fillRect(c, x0, x1, y0, y1, col)
			strokeRect(c, x0, x1, y0, y1, failedRed, 1.5)
		}, "failed"})
	}
	if f.gc {
		items = append(items, legendItem{strip(gcPurple, 0.6), "GC (mark phase)"})
	}
	if f.stw {
		items = append(items, legendItem{strip(stwRed, 1), "stop-the-world"})
	}
	items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
		strokeRect(c, x0, x1, y0, y1, laneGray, 0.5)
	}, "idle (white in a worker's lane)"})
	return items
}

// strip is a swatch of a band of col across the middle, frac of its
// height: a whole swatch at 1.
func strip(col color.NRGBA, frac vg.Length) func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
	return func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
		m, h := (y0+y1)/2, (y1-y0)*frac/2
		fillRect(c, x0, x1, m-h, m+h, col)
	}
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

// streamSummary says in words what the task stream shows: per model,
// its run, its time in each state and its workers' idle time; then the
// fills and marks.
func streamSummary(reports []models.Report, panels []Panel, end time.Duration, f legendFlags) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Task stream: one row per worker, one bar per task, time axis 0 to %s.\n", formatDuration(end))
	seq := baseline(reports)
	for i, r := range reports {
		b.WriteString(summaryLine(r, seq))
		if states := stateTimes(r); states != "" {
			b.WriteString("; " + states)
		}
		if idle := idleWords(r, panels[i]); idle != "" {
			b.WriteString("; " + idle)
		}
		if len(r.Runtime) > 0 {
			b.WriteString("; " + runtimeWords(r))
		}
		b.WriteString("\n")
	}
	keys := []string{"color = task index"}
	if f.states {
		for fl := range nFills {
			if f.fills[fl] {
				keys = append(keys, fills[fl].look+" = "+f.fillLabel(fl))
			}
		}
	}
	if f.startup || f.transfer {
		keys = append(keys, "grey = worker start-up and tasks on their way to a worker")
	}
	if f.gc || f.stw {
		keys = append(keys, "last row (GC · STW): purple = GC mark phase, red = stop-the-world")
	}
	keys = append(keys, "white in a worker's lane = idle")
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

// stateTimes is the time r's tasks spent in each state, e.g. "running
// 812 ms (48%), waiting for the GIL 600 ms (35%), blocked at an await
// (sleep, I/O) 290 ms (17%) of task time"; "" without states.
func stateTimes(r models.Report) string {
	totals := models.StateTotals(r)
	var all time.Duration
	for _, t := range totals {
		all += t.Time
	}
	if all == 0 {
		return ""
	}
	parts := make([]string, len(totals))
	for i, t := range totals {
		parts[i] = fmt.Sprintf("%s %s (%.0f%%)", t.Label, formatDuration(t.Time), 100*float64(t.Time)/float64(all))
	}
	return strings.Join(parts, ", ") + " of task time"
}

// idleWords says how much of the workers' time was idle in panel p of
// r, and which worker idled most, e.g. "idle 31% of worker time (most:
// thread 3, 62%)"; "" when under 1%.
func idleWords(r models.Report, p Panel) string {
	var life, idle time.Duration
	most, mostShare := "", 0.0
	workers := 0
	for _, row := range p.Rows {
		l := row.Life[1] - row.Life[0]
		if row.Worker < 0 || l <= 0 {
			continue
		}
		workers++
		life += l
		idle += row.Idle
		if share := float64(row.Idle) / float64(l); share > mostShare {
			most, mostShare = row.Label, share
		}
	}
	if life == 0 || float64(idle)/float64(life) < 0.01 {
		return ""
	}
	s := fmt.Sprintf("idle %.0f%% of worker time", 100*float64(idle)/float64(life))
	if workers > 1 {
		s += fmt.Sprintf(" (most: %s, %.0f%%)", most, 100*mostShare)
	}
	return s
}

// runtimeWords says how long the run's runtime collected garbage and
// stopped the world, e.g. "GC 12 ms, stop-the-world 0.35 ms (3 times)".
func runtimeWords(r models.Report) string {
	var gc, stw time.Duration
	stops := 0
	for _, sp := range r.Runtime {
		if sp.Kind == models.RuntimeSTW {
			stw += sp.End - sp.Start
			stops++
		} else {
			gc += sp.End - sp.Start
		}
	}
	var parts []string
	if gc > 0 {
		parts = append(parts, "GC "+formatDuration(gc))
	}
	if stops > 0 {
		parts = append(parts, fmt.Sprintf("stop-the-world %s (%s)", formatDuration(stw), words.Plural(stops, "time", "times")))
	}
	return strings.Join(parts, ", ")
}
