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
	report  models.Report
	speedup float64 // baseline wall / model wall
	ideal   float64 // Workers for a parallel model, else 1
	// efficiency is speedup per worker, as in models.Table; NaN without
	// workers.
	efficiency float64
}

// Speedup draws, per report, a bar of the speedup over the baseline model
// (sequential: its run's wall time divided by the model's), labelled with the
// speedup and the efficiency (speedup per worker), e.g. "1.85x · 92%",
// and a dashed mark at the ideal speedup for CPU-bound work: the number
// of workers for a parallel model, 1 for the others. Reports without a
// wall time are left out.
//
// It returns an error when no report is the baseline's and ran to the end,
// or no report has a wall time.
func Speedup(reports []models.Report) (Chart, error) {
	if len(reports) == 0 {
		return Chart{}, errors.New("no reports to draw the speedup of: run at least one model first")
	}
	base, ok := models.BaselineRun(reports)
	if !ok {
		return Chart{}, noBaseline()
	}
	seq := base.Wall
	var bars []speedupBar
	var skipped []string
	top := 1.0
	for _, r := range reports {
		if r.Wall <= 0 {
			skipped = append(skipped, r.Model)
			continue
		}
		b := speedupBar{report: r, speedup: float64(seq) / float64(r.Wall), ideal: 1, efficiency: math.NaN()}
		if r.Parallel && r.Workers > 0 {
			b.ideal = float64(r.Workers)
		}
		if r.Workers > 0 {
			b.efficiency = b.speedup / float64(r.Workers)
		}
		top = max(top, b.speedup, b.ideal)
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
	title := fmt.Sprintf("%s wall %s ÷ each model's wall", base.Model, formatDuration(seq))
	items := speedupLegend(base.Model)
	paint := func(c draw.Canvas) {
		c.SetColor(gray(0xff))
		c.Fill(c.Rectangle.Path())
		y := c.Max.Y - margin - titleHeight/2
		drawTitle(c, vg.Point{X: margin, Y: y}, 0, "speedup", title)
		y -= titleHeight/2 + 2
		lines := layoutLegend(items, width-2*margin)
		drawLegend(c, lines, margin, y)
		y -= vg.Length(len(lines))*legendLine + 6
		p.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: margin, Y: c.Min.Y + margin},
			Max: vg.Point{X: c.Max.X - margin, Y: y},
		}})
	}
	svg, png, err := render(width, height, paint)
	if err != nil {
		return Chart{}, fmt.Errorf("drawing the speedup chart: %w", err)
	}
	return Chart{
		SVG:     svg,
		PNG:     png,
		Width:   int(width),
		Height:  int(height),
		Summary: speedupSummary(base, bars, skipped),
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
	s := fmt.Sprintf("%.2fx", b.speedup)
	if !math.IsNaN(b.efficiency) {
		s += fmt.Sprintf(" · %.0f%%", 100*b.efficiency)
	}
	return s
}

// speedupPlotter draws the bars, ideal marks and labels.
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
		fillRect(c, x0, x1, trY(0), trY(b.speedup), barColor(b.report))
		yi := trY(b.ideal)
		c.StrokeLine2(draw.LineStyle{Color: idealInk, Width: 1.5, Dashes: []vg.Length{5, 3}}, trX(x-0.4), yi, trX(x+0.4), yi)
		c.FillText(label, vg.Point{X: (x0 + x1) / 2, Y: max(trY(b.speedup), yi) + 3}, barLabel(b))
	}
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

func speedupLegend(baseline string) []legendItem {
	return []legendItem{
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) { fillRect(c, x0, x1, y0, y1, baselineGray) }, baseline + " (the baseline)"},
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) { fillRect(c, x0, x1, y0, y1, parallelBlue) }, "parallel model"},
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) { fillRect(c, x0, x1, y0, y1, concurrentOrng) }, "concurrent, one at a time"},
		{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (y0 + y1) / 2
			c.StrokeLine2(draw.LineStyle{Color: idealInk, Width: 1.5, Dashes: []vg.Length{5, 3}}, x0, m, x1, m)
		}, "ideal for CPU-bound work: the workers if parallel, else 1"},
		{label: "labels: speedup · efficiency (speedup per worker)"},
	}
}

// speedupSummary says in words what the speedup chart shows.
func speedupSummary(base models.Report, bars []speedupBar, skipped []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Speedup over %s (wall %s), per model; ideal for CPU-bound work is the number of workers for a parallel model, 1 for the others.\n", base.Model, formatDuration(base.Wall))
	for _, sb := range bars {
		r := sb.report
		fmt.Fprintf(&b, "%s: %.2fx on %s", r.Model, sb.speedup, workerCount(r))
		if !math.IsNaN(sb.efficiency) {
			fmt.Fprintf(&b, ", efficiency %.0f%%", 100*sb.efficiency)
		}
		fmt.Fprintf(&b, ", ideal %gx, wall %s", sb.ideal, formatDuration(r.Wall))
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
