// Package chart draws the reports of model runs (see atonce/models) as
// charts for the notebook: the task stream (one panel per model, one row
// per worker, one bar per task, showing when each task was running,
// waiting and for what — a CPU, the GIL, the event loop — or blocked and
// on what — an await, a mutex, a channel, a syscall —, with the runtime's
// collections and stops of the world, and each worker's idle time as
// white space in its lane) and the speedup of each model over
// sequential.
//
// A Chart holds the same drawing as SVG and as a PNG at twice its size,
// both made by one code path with gonum.org/v1/plot, plus a plain-text
// summary. Bundle returns it as the MIME bundle Jupyter shows:
// image/svg+xml, image/png and text/plain, nothing that Jupyter would
// rank above the images. A Draft is the SVG and summary alone, a tenth
// of the work, for a chart redrawn while a run goes. The SVG names its font (Liberation Sans, with
// Arial, Helvetica and sans-serif as fallbacks) instead of embedding it,
// holds no script, and is the same bytes for the same reports.
package chart

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is one drawing, ready to show.
type Chart struct {
	// SVG is the drawing as a standalone SVG document, Width × Height
	// CSS pixels.
	SVG []byte
	// PNG is the same drawing at twice the resolution: 2·Width × 2·Height
	// pixels, to be shown at Width × Height.
	PNG []byte
	// Width and Height are the drawing's size in CSS pixels.
	Width, Height int
	// Summary says in a few lines of plain text what the chart shows.
	Summary string
}

// Bundle returns the chart as a Jupyter MIME bundle and its metadata:
// data has exactly the keys "image/svg+xml" (the SVG as a string),
// "image/png" (base64, as Jupyter wants) and "text/plain" (the
// summary); metadata sizes the PNG at Width × Height, so the 2x image
// shows at its CSS size. A Draft has no PNG: its bundle has the SVG and
// the summary, and no metadata.
func (c Chart) Bundle() (data map[string]any, metadata map[string]any) {
	data = map[string]any{
		"image/svg+xml": string(c.SVG),
		"text/plain":    c.Summary,
	}
	if c.PNG == nil {
		return data, map[string]any{}
	}
	data["image/png"] = base64.StdEncoding.EncodeToString(c.PNG)
	metadata = map[string]any{
		"image/png": map[string]any{"width": c.Width, "height": c.Height},
	}
	return data, metadata
}

// An Option changes how a chart is made.
type Option func(*settings)

type settings struct {
	draft bool
}

// Draft makes a chart without its PNG: the SVG, which is a tenth of the
// work (rasterizing and encoding the PNG is the rest), and the summary.
// It is for a chart redrawn while a run goes, every browser showing the
// SVG; the finished chart is made whole.
func Draft() Option { return func(s *settings) { s.draft = true } }

func settingsOf(opts []Option) settings {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	return s
}

// One unit of length in a drawing (a vg point) is one CSS pixel: the
// SVG's viewBox is in these units and its width and height say px, and
// the PNG is drawn at 144 dpi, twice vg's 72 points per inch.
const pngDPI = 144

// fontFamily is what the SVG asks the browser for instead of the
// Liberation Sans the text was measured with; Arial and Helvetica have
// the same metrics.
const fontFamily = "Liberation Sans,Arial,Helvetica,sans-serif"

// A browser without Liberation Sans, Arial or Helvetica draws the SVG's
// text in its sans-serif, up to about this much wider (DejaVu Sans: 15%
// for regular, 21% for bold text); layouts that place text after text
// leave that room.
const (
	textSlack = 1.16
	boldSlack = 1.22
)

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: xfont.WeightBold}
)

// textStyle is the text style of every label: Liberation Sans of size
// px, black unless clr is set.
func textStyle(size vg.Length, bold bool, clr color.Color) text.Style {
	f := sansFont
	if bold {
		f = boldFont
	}
	if clr == nil {
		clr = color.Black
	}
	return text.Style{
		Color:   clr,
		Font:    font.From(f, size),
		XAlign:  draw.XLeft,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
}

// styleAxes gives a plot's axes the chart's sans-serif font.
func styleAxes(p *plot.Plot) {
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sansFont, 10)
		ax.Tick.Label.Font = font.From(sansFont, 10)
		ax.Color = gray(0x80)
		ax.Tick.Color = gray(0x80)
		ax.Tick.Length = 4
		ax.Padding = 2
		ax.Label.Padding = 3
	}
	p.Title.TextStyle.Font = font.From(boldFont, 12)
}

// niceTicks marks about target evenly spaced round values (1, 2 or 5
// times a power of ten apart) between min and max, with unlabelled
// minor ticks between them.
func niceTicks(target int) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		if !(hi > lo) || math.IsInf(hi-lo, 0) {
			return nil
		}
		raw := (hi - lo) / float64(max(target, 1))
		mag := math.Pow(10, math.Floor(math.Log10(raw)))
		step, minor := 10*mag, 5
		switch {
		case raw <= mag:
			step = mag
		case raw <= 2*mag:
			step, minor = 2*mag, 4
		case raw <= 5*mag:
			step = 5 * mag
		}
		prec := max(0, -int(math.Floor(math.Log10(step))))
		var ticks []plot.Tick
		first := int(math.Ceil(lo / step * float64(minor)))
		last := int(math.Floor(hi / step * float64(minor)))
		for i := first; i <= last; i++ {
			v := float64(i) * step / float64(minor)
			t := plot.Tick{Value: v}
			if i%minor == 0 {
				t.Label = strconv.FormatFloat(v, 'f', prec, 64)
			}
			ticks = append(ticks, t)
		}
		return ticks
	})
}

func gray(v uint8) color.NRGBA { return color.NRGBA{v, v, v, 0xff} }

// taskPalette colors tasks by index, cycling: matplotlib's tab10 without
// its grey, which stands for start-up and transfers here.
var taskPalette = []color.NRGBA{
	rgb(0x1f77b4), rgb(0xff7f0e), rgb(0x2ca02c), rgb(0xd62728), rgb(0x9467bd),
	rgb(0x8c564b), rgb(0xe377c2), rgb(0xbcbd22), rgb(0x17becf),
}

func rgb(v uint32) color.NRGBA {
	return color.NRGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}

// taskColor is the color of task i.
func taskColor(i int) color.NRGBA {
	if i < 0 {
		i = -i
	}
	return taskPalette[i%len(taskPalette)]
}

// lighten is c drawn with opacity a (0..1) over white, as an opaque
// color.
func lighten(c color.NRGBA, a float64) color.NRGBA {
	mix := func(v uint8) uint8 { return uint8(255 - a*(255-float64(v)) + 0.5) }
	return color.NRGBA{mix(c.R), mix(c.G), mix(c.B), 0xff}
}

// render draws a w × h drawing with paint, once into an SVG and, unless
// the settings say it is a draft, once into a 2x PNG. A panic while
// drawing is returned as an error.
func render(w, h vg.Length, set settings, paint func(c draw.Canvas)) (svg, png []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("drawing the chart failed: %v", p)
		}
	}()

	sc := vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(false))
	paint(draw.New(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("writing the chart as SVG: %w", err)
	}
	svg, err = fixSVG(sb.Bytes(), w, h)
	if err != nil {
		return nil, nil, err
	}
	if set.draft {
		return svg, nil, nil
	}

	ic := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	paint(draw.New(ic))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("writing the chart as PNG: %w", err)
	}
	return svg, pb.Bytes(), nil
}

// fixSVG sizes the SVG in CSS pixels instead of points (its viewBox
// stays) and gives its text a list of fonts to fall back on.
func fixSVG(svg []byte, w, h vg.Length) ([]byte, error) {
	s := string(svg)
	old := fmt.Sprintf(`<svg width="%.*gpt" height="%.*gpt"`, 5, w.Points(), 5, h.Points())
	if !strings.Contains(s, old) {
		return nil, fmt.Errorf("writing the chart as SVG: the SVG header is not the expected %q", old)
	}
	s = strings.Replace(s, old, fmt.Sprintf(`<svg width="%d" height="%d"`, int(w.Points()+0.5), int(h.Points()+0.5)), 1)
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:"+fontFamily+";")
	// Drop the styles that say what a browser does anyway.
	s = strings.ReplaceAll(s, ";font-variant:normal", "")
	s = strings.ReplaceAll(s, "font-weight:normal;", "")
	s = strings.ReplaceAll(s, ";font-style:normal", "")
	return []byte(s), nil
}
