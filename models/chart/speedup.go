package chart

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"atonce/models"
	"atonce/models/stats"
)

// The speedup chart's geometry, in CSS pixels.
const (
	speedupWidth  = 640
	speedupHeight = 360
)

var (
	parallelBlue   = rgb(0x1f77b4)
	concurrentOrng = rgb(0xff7f0e)
	baselineGray   = gray(0x9a)
	idealInk       = gray(0x30)
)

// speedupBar is one model's bar.
type speedupBar struct {
	report models.Report
	// speedup is over the baseline with its interval (models.SpeedupOf);
	// from one run, an interval of one measurement.
	speedup stats.Interval
	ideal   float64 // models.Report.Ideal
	// efficiency is speedup per worker, as in models.Table; NaN without
	// workers.
	efficiency float64
}

// Speedup draws, per report, a bar of the speedup over the baseline model
// (sequential): from rounds, the median of the rounds' ratios of the
// baseline's wall time to the model's, with its 95% interval drawn as an
// error bar (models.SpeedupOf); from one run each, the ratio of the two
// wall times. Each bar is labelled with the speedup and the efficiency
// (speedup per worker), e.g. "1.85x · 92%", and has a dashed mark at the
// ideal speedup for CPU-bound work (models.Report.Ideal): the workers of
// a parallel model, at most the cores they had; 1 for the others.
// Reports without a wall time are left out.
//
// It returns an error when no report is the baseline's and ran to the end,
// or no report has a wall time.
func Speedup(reports []models.Report, opts ...Option) (Chart, error) {
	if len(reports) == 0 {
		return Chart{}, errors.New("no reports to draw the speedup of: run at least one model first")
	}
	base, ok := models.BaselineRun(reports)
	if !ok {
		return Chart{}, noBaseline()
	}
	var bars []speedupBar
	var skipped []string
	top, rounds := 1.0, 0
	for _, r := range reports {
		if r.Wall <= 0 {
			skipped = append(skipped, r.Model)
			continue
		}
		iv, ok := models.SpeedupOf(reports, r)
		if !ok {
			// A run that stopped early: the ratio of its wall time.
			s := float64(base.Wall) / float64(r.Wall)
			iv = stats.Interval{Mid: s, Lo: s, Hi: s, N: 1}
		}
		b := speedupBar{report: r, speedup: iv, ideal: r.Ideal(), efficiency: math.NaN()}
		if r.Workers > 0 {
			b.efficiency = iv.Mid / float64(r.Workers)
		}
		top = max(top, iv.Hi, b.ideal)
		rounds = max(rounds, iv.N)
		bars = append(bars, b)
	}

	p := plot.New()
	p.BackgroundColor = nil
	styleAxes(p)
	names := make([]string, len(bars))
	for i, b := range bars {
		names[i] = b.report.Model + "\n" + workerCount(b.report)
		if b.report.Err != "" {
			names[i] += "\nstopped early"
		}
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(bars))-0.5
	p.Y.Min, p.Y.Max = 0, top*1.18
	p.Y.Tick.Marker = niceTicks(5)
	p.Y.Label.Text = "speedup over " + base.Model + " (×)"
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = gridGray
	grid.Horizontal.Width = 0.5
	p.Add(grid, &speedupPlotter{bars: bars})

	width, height := vg.Length(speedupWidth), vg.Length(speedupHeight)
	title := fmt.Sprintf("%s wall %s ÷ each model's wall", base.Model, formatDuration(base.Wall))
	if rounds > 1 {
		title = fmt.Sprintf("the median over %d rounds of %s's wall ÷ the model's, in the same round", rounds, base.Model)
	}
	items := speedupLegend(base.Model, rounds > 1)
	paint := titledPlot("speedup", title, items, p, width)
	svg, png, err := render(width, height, settingsOf(opts), paint)
	if err != nil {
		return Chart{}, fmt.Errorf("drawing the speedup chart: %w", err)
	}
	return Chart{
		SVG:     svg,
		PNG:     png,
		Width:   int(width),
		Height:  int(height),
		Summary: speedupSummary(reports, base, bars, skipped),
	}, nil
}

// noBaseline is Speedup's error when no baseline run finished.
func noBaseline() error {
	m, ok := models.BaselineModel()
	if !ok {
		return errors.New("no speedup to draw: no model is the baseline to compare with")
	}
	return fmt.Errorf("no speedup to draw: no %s run finished to compare with; include %s among the models", m.Name(), m.Name())
}

// barLabel is e.g. "1.85x · 92%".
func barLabel(b speedupBar) string {
	s := fmt.Sprintf("%.2fx", b.speedup.Mid)
	if !math.IsNaN(b.efficiency) {
		s += fmt.Sprintf(" · %.0f%%", 100*b.efficiency)
	}
	return s
}

// speedupPlotter draws the bars, their intervals, ideal marks and labels.
type speedupPlotter struct {
	bars []speedupBar
}

// Plot implements plot.Plotter.
func (sp *speedupPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	label := textStyle(10, false, gray(0x22))
	label.XAlign = draw.XCenter
	label.YAlign = draw.YBottom
	for i, b := range sp.bars {
		x := float64(i)
		x0, x1 := trX(x-0.3), trX(x+0.3)
		fillRect(c, x0, x1, trY(0), trY(b.speedup.Mid), barColor(b.report))
		yi := trY(b.ideal)
		c.StrokeLine2(draw.LineStyle{Color: idealInk, Width: 1.5, Dashes: []vg.Length{5, 3}}, trX(x-0.4), yi, trX(x+0.4), yi)
		top := max(trY(b.speedup.Mid), yi)
		if b.speedup.N > 1 && !b.report.Baseline {
			drawErrorBar(c, trX(x), trX(x)-6, trX(x)+6, trY(b.speedup.Lo), trY(b.speedup.Hi))
			top = max(top, trY(b.speedup.Hi))
		}
		c.FillText(label, vg.Point{X: (x0 + x1) / 2, Y: top + 3}, barLabel(b))
	}
}

// errorBarInk is the color of an interval's error bar.
var errorBarInk = gray(0x10)

// drawErrorBar draws an interval from lo to hi at x, capped from x0 to x1.
func drawErrorBar(c draw.Canvas, x, x0, x1, lo, hi vg.Length) {
	ls := draw.LineStyle{Color: errorBarInk, Width: 1.25}
	c.StrokeLine2(ls, x, lo, x, hi)
	c.StrokeLine2(ls, x0, lo, x1, lo)
	c.StrokeLine2(ls, x0, hi, x1, hi)
}

func barColor(r models.Report) color.NRGBA {
	switch {
	case r.Baseline:
		return baselineGray
	case r.Parallel:
		return parallelBlue
	}
	return concurrentOrng
}

func speedupLegend(baseline string, intervals bool) []legendItem {
	items := []legendItem{
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) { fillRect(c, x0, x1, y0, y1, baselineGray) }, baseline + " (the baseline)"},
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) { fillRect(c, x0, x1, y0, y1, parallelBlue) }, "parallel model"},
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) { fillRect(c, x0, x1, y0, y1, concurrentOrng) }, "concurrent, one at a time"},
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (y0 + y1) / 2
			c.StrokeLine2(draw.LineStyle{Color: idealInk, Width: 1.5, Dashes: []vg.Length{5, 3}}, x0, m, x1, m)
		}, "ideal for CPU-bound work: the workers if parallel (at most the cores), else 1"},
	}
	if intervals {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (x0 + x1) / 2
			drawErrorBar(c, m, m-3, m+3, y0, y1)
		}, "95% interval of the speedup"})
	}
	return append(items, legendItem{label: "labels: speedup · efficiency (speedup per worker)"})
}

// speedupSummary says in words what the speedup chart shows.
func speedupSummary(reports []models.Report, base models.Report, bars []speedupBar, skipped []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Speedup over %s (wall %s), per model; ideal for CPU-bound work is the number of workers for a parallel model (at most the cores), 1 for the others.\n", base.Model, formatDuration(base.Wall))
	for _, sb := range bars {
		r := sb.report
		speedup := models.FormatSpeedup(sb.speedup)
		if r.Baseline {
			speedup = fmt.Sprintf("%.2fx", sb.speedup.Mid)
		}
		fmt.Fprintf(&b, "%s: %s on %s", r.Model, speedup, workerCount(r))
		if !math.IsNaN(sb.efficiency) {
			fmt.Fprintf(&b, ", efficiency %.0f%%", 100*sb.efficiency)
		}
		fmt.Fprintf(&b, ", ideal %gx, wall %s", sb.ideal, formatDuration(r.Wall))
		if words := models.Reading(reports, r); words != "" {
			b.WriteString(": " + words)
		}
		if r.Err != "" {
			b.WriteString(", stopped early")
		}
		b.WriteString("\n")
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "Left out (no wall time): %s.\n", strings.Join(skipped, ", "))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// titledPlot paints a chart of one plot: a white page, the chart's name
// and title on top, its legend under them (as many lines as the width
// needs) and the plot p in the rest. The speedup and scaling charts are
// laid out so.
func titledPlot(name, title string, items []legendItem, p *plot.Plot, width vg.Length) func(draw.Canvas) {
	return func(c draw.Canvas) {
		c.SetColor(gray(0xff))
		c.Fill(c.Rectangle.Path())
		y := c.Max.Y - margin - titleHeight/2
		drawTitle(c, vg.Point{X: margin, Y: y}, 0, name, title)
		y -= titleHeight/2 + 2
		lines := layoutLegend(items, width-2*margin)
		drawLegend(c, lines, margin, y)
		y -= vg.Length(len(lines))*legendLine + 6
		p.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: margin, Y: c.Min.Y + margin},
			Max: vg.Point{X: c.Max.X - margin, Y: y},
		}})
	}
}
