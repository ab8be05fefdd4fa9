package chart

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"atonce/internal/words"
	"atonce/models"
)

// The scaling chart's geometry, in CSS pixels.
const (
	scalingWidth  = 640
	scalingHeight = 400
)

var coresInk = gray(0x70)

// Scaling draws speedup against workers (`%%models -workers 1,2,4,8`),
// one line per model of scales (one mode's): each count's median speedup
// over the baseline with its interval as an error bar, the ideal
// (speedup = workers) as a dashed line, the machine's cores as a dotted
// line, and each model's Amdahl fit as a thin dashed curve in its color,
// its serial fraction in the legend. The worker axis is logarithmic, so
// doubling the workers is one step.
//
// It returns an error when no model has a measured speedup. Draft, among
// opts, makes the SVG alone.
func Scaling(scales []models.Scaling, opts ...Option) (Chart, error) {
	var lines []models.Scaling
	for _, s := range scales {
		if s.Best() >= 0 {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return Chart{}, errors.New("no scaling to draw: no model ran at the worker counts")
	}
	var counts []int
	top, cores := 1.0, 0
	for _, s := range lines {
		for i, p := range s.Workers {
			if !slices.Contains(counts, p) {
				counts = append(counts, p)
			}
			if iv := s.Speedups[i]; !math.IsNaN(iv.Hi) {
				top = max(top, iv.Hi, iv.Mid)
			}
		}
		cores = max(cores, s.Cores)
	}
	slices.Sort(counts)
	lo, hi := float64(counts[0]), float64(counts[len(counts)-1])
	top = max(top, hi)

	p := plot.New()
	p.BackgroundColor = nil
	styleAxes(p)
	p.X.Scale = plot.LogScale{}
	ticks := make(plot.ConstantTicks, len(counts))
	for i, c := range counts {
		ticks[i] = plot.Tick{Value: float64(c), Label: strconv.Itoa(c)}
	}
	p.X.Tick.Marker = ticks
	pad := math.Pow(hi/lo, 0.06)
	if hi == lo {
		pad = 1.5
	}
	p.X.Min, p.X.Max = lo/pad, hi*pad
	p.X.Label.Text = "workers (log scale)"
	p.Y.Min, p.Y.Max = 0, top*1.12
	p.Y.Tick.Marker = niceTicks(5)
	base := lines[0].Baseline
	if base == "" {
		base = "the baseline"
	}
	p.Y.Label.Text = "speedup over " + base + " (×)"
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = gridGray
	grid.Horizontal.Width = 0.5
	p.Add(grid, &scalingPlotter{lines: lines, lo: lo, hi: hi, cores: cores})

	width, height := vg.Length(scalingWidth), vg.Length(scalingHeight)
	items := scalingLegend(lines, cores)
	paint := titledPlot("scaling", fmt.Sprintf("speedup against workers · %s", roundsWords(lines)), items, p, width)
	svg, png, err := render(width, height, settingsOf(opts), paint)
	if err != nil {
		return Chart{}, fmt.Errorf("drawing the scaling chart: %w", err)
	}
	return Chart{SVG: svg, PNG: png, Width: int(width), Height: int(height), Summary: scalingSummary(lines, cores)}, nil
}

// scaleColor is the color of the i-th model's line.
func scaleColor(i int) color.NRGBA { return taskColor(i) }

// roundsWords is "median of 8 rounds, 95% intervals", from the most
// rounds any line has, and the lowest confidence its intervals have
// (below 95% when there were too few rounds for it).
func roundsWords(lines []models.Scaling) string {
	n, conf := 0, 1.0
	for _, s := range lines {
		n = max(n, len(s.Rounds))
		for _, iv := range s.Speedups {
			if iv.N >= 2 {
				conf = min(conf, iv.Conf)
			}
		}
	}
	switch {
	case n < 2:
		return "one round, no intervals"
	case conf < models.Conf:
		return fmt.Sprintf("median of %d rounds, intervals of only %.0f%% confidence: too few rounds for %.0f%%", n, 100*conf, 100*models.Conf)
	}
	return fmt.Sprintf("median of %d rounds, %.0f%% intervals", n, 100*models.Conf)
}

// scalingPlotter draws the ideal, the cores, and each model's fit, error
// bars and line.
type scalingPlotter struct {
	lines  []models.Scaling
	lo, hi float64 // the worker counts' range
	cores  int
}

// curve samples f over the worker range, evenly on the log axis.
func (sp *scalingPlotter) curve(f func(p float64) float64) [][2]float64 {
	const n = 64
	var pts [][2]float64
	for i := range n + 1 {
		p := sp.lo * math.Pow(sp.hi/sp.lo, float64(i)/n)
		if v := f(p); !math.IsNaN(v) {
			pts = append(pts, [2]float64{p, v})
		}
	}
	return pts
}

// amdahl is Amdahl's law's speedup at p workers (continuous) for s's fit.
func amdahl(s models.Scaling, p float64) float64 {
	serial := s.Serial.Mid
	if math.IsNaN(serial) {
		return math.NaN()
	}
	if s.CappedAtCores && s.Cores > 0 {
		p = math.Min(p, float64(s.Cores))
	}
	return 1 / (serial + (1-serial)/p)
}

// Plot implements plot.Plotter.
func (sp *scalingPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	stroke := func(pts [][2]float64, ls draw.LineStyle) {
		if len(pts) < 2 {
			return
		}
		var path vg.Path
		for i, pt := range pts {
			at := vg.Point{X: trX(pt[0]), Y: trY(pt[1])}
			if i == 0 {
				path.Move(at)
			} else {
				path.Line(at)
			}
		}
		c.SetLineStyle(ls)
		c.Stroke(path)
	}
	stroke(sp.curve(func(p float64) float64 { return p }), draw.LineStyle{Color: idealInk, Width: 1.2, Dashes: []vg.Length{5, 3}})
	if sp.cores > 0 && float64(sp.cores) <= p.Y.Max {
		y := trY(float64(sp.cores))
		c.StrokeLine2(draw.LineStyle{Color: coresInk, Width: 1, Dashes: []vg.Length{1, 3}}, trX(p.X.Min), y, trX(p.X.Max), y)
		st := textStyle(9, false, coresInk)
		st.XAlign, st.YAlign = draw.XRight, draw.YBottom
		c.FillText(st, vg.Point{X: trX(p.X.Max) - 2, Y: y + 2}, words.Plural(sp.cores, "core", "cores"))
	}
	for i, s := range sp.lines {
		col := scaleColor(i)
		stroke(sp.curve(func(p float64) float64 { return amdahl(s, p) }), draw.LineStyle{Color: lighten(col, 0.7), Width: 1, Dashes: []vg.Length{3, 2}})
		var mids [][2]float64
		for j, w := range s.Workers {
			iv := s.Speedups[j]
			if math.IsNaN(iv.Mid) {
				continue
			}
			x := trX(float64(w))
			if iv.N >= 2 && !math.IsNaN(iv.Lo) && !math.IsNaN(iv.Hi) {
				ls := draw.LineStyle{Color: col, Width: 1.2}
				c.StrokeLine2(ls, x, trY(iv.Lo), x, trY(iv.Hi))
				c.StrokeLine2(ls, x-4, trY(iv.Lo), x+4, trY(iv.Lo))
				c.StrokeLine2(ls, x-4, trY(iv.Hi), x+4, trY(iv.Hi))
			}
			mids = append(mids, [2]float64{float64(w), iv.Mid})
		}
		stroke(mids, draw.LineStyle{Color: col, Width: 2})
		for _, m := range mids {
			c.SetColor(col)
			c.Fill(circle(vg.Point{X: trX(m[0]), Y: trY(m[1])}, 3.5))
		}
	}
}

// circle is a circle's path.
func circle(at vg.Point, r vg.Length) vg.Path {
	var path vg.Path
	path.Move(vg.Point{X: at.X + r, Y: at.Y})
	path.Arc(at, r, 0, 2*math.Pi)
	path.Close()
	return path
}

// scalingLegend names each model's line with its serial fraction, then
// the ideal, the fits and the cores.
func scalingLegend(lines []models.Scaling, cores int) []legendItem {
	var items []legendItem
	for i, s := range lines {
		col := scaleColor(i)
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (y0 + y1) / 2
			c.StrokeLine2(draw.LineStyle{Color: col, Width: 2}, x0, m, x1, m)
			c.SetColor(col)
			c.Fill(circle(vg.Point{X: (x0 + x1) / 2, Y: m}, 3))
		}, s.Model + serialWords(s)})
	}
	items = append(items,
		legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (y0 + y1) / 2
			c.StrokeLine2(draw.LineStyle{Color: idealInk, Width: 1.2, Dashes: []vg.Length{5, 3}}, x0, m, x1, m)
		}, "ideal: speedup = workers"},
		legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (y0 + y1) / 2
			c.StrokeLine2(draw.LineStyle{Color: gray(0xa0), Width: 1, Dashes: []vg.Length{3, 2}}, x0, m, x1, m)
		}, "Amdahl's law fitted (serial fraction s)"},
	)
	if cores > 0 {
		items = append(items, legendItem{func(c draw.Canvas, x0, x1, y0, y1 vg.Length) {
			m := (y0 + y1) / 2
			c.StrokeLine2(draw.LineStyle{Color: coresInk, Width: 1, Dashes: []vg.Length{1, 3}}, x0, m, x1, m)
		}, fmt.Sprintf("the %s", words.Plural(cores, "core", "cores"))})
	}
	return items
}

// serialWords is ", s = 4% [2–6%]", or "" without a fit.
func serialWords(s models.Scaling) string {
	if w := s.SerialWords(); w != "" {
		return ", s = " + w
	}
	return ""
}

// scalingSummary says in words what the scaling chart shows.
func scalingSummary(lines []models.Scaling, cores int) string {
	var b strings.Builder
	base := lines[0].Baseline
	if base == "" {
		base = "the baseline"
	}
	fmt.Fprintf(&b, "Scaling: speedup over %s against workers (%s); ideal: speedup = workers", base, roundsWords(lines))
	if cores > 0 {
		fmt.Fprintf(&b, "; this machine has %s", words.Plural(cores, "core", "cores"))
	}
	b.WriteString(".\n")
	for _, s := range lines {
		var at []string
		for i, w := range s.Workers {
			at = append(at, fmt.Sprintf("%d → %s", w, s.Speedups[i].Format("%.2f", "x")))
		}
		fmt.Fprintf(&b, "%s: %s", s.Model, strings.Join(at, ", "))
		if !math.IsNaN(s.Serial.Mid) {
			fmt.Fprintf(&b, "; Amdahl's serial fraction %s", strings.TrimPrefix(serialWords(s), ", s = "))
			if s.CappedAtCores {
				b.WriteString(" (on min(workers, cores) processors)")
			} else {
				b.WriteString(" (on the workers: the waits overlap beyond the cores)")
			}
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
