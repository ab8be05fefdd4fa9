package interp

import (
	"io"
	"reflect"
	"strings"

	"atonce/internal/gosrc"
	"atonce/interp/check"
	"atonce/interp/display"
	"atonce/models"
	"atonce/models/stats"

	"github.com/traefik/yaegi/interp"
)

// exports are the host packages the session adds to yaegi's standard
// library: its time.Sleep, the display and check packages, and the helper
// that captures a cell's final value.
func (s *Session) exports() interp.Exports {
	// Checks print what passed on the cell's output, in order with what
	// the cell prints itself.
	var out io.Writer
	if s.stdout != nil {
		out = s.stdout.w
	}
	c := check.New(out)
	ex := interp.Exports{
		"time/time": {
			"Sleep": reflect.ValueOf(s.sleep),
		},
		"atonce/internal/capture/capture": {
			"Value":       reflect.ValueOf(s.capture),
			"GoPanic":     reflect.ValueOf(s.goPanic),
			"Displayable": reflect.ValueOf(s.displayable),
			"DebugHold":   reflect.ValueOf(s.debugHold),
		},
		"atonce/display/display": {
			"Clear":    reflect.ValueOf(display.Clear),
			"Data":     reflect.ValueOf(display.Data),
			"HTML":     reflect.ValueOf(display.HTML),
			"Image":    reflect.ValueOf(display.Image),
			"JPEG":     reflect.ValueOf(display.JPEG),
			"JSON":     reflect.ValueOf(display.JSON),
			"Latex":    reflect.ValueOf(display.Latex),
			"Markdown": reflect.ValueOf(display.Markdown),
			"PNG":      reflect.ValueOf(display.PNG),
			"SVG":      reflect.ValueOf(display.SVG),
			"Text":     reflect.ValueOf(display.Text),

			"Handle": reflect.ValueOf((*display.Handle)(nil)),
			"Bundle": reflect.ValueOf((*display.Bundle)(nil)),
		},
		"atonce/check/check": {
			"Equal":   reflect.ValueOf(c.Equal),
			"True":    reflect.ValueOf(c.True),
			"False":   reflect.ValueOf(c.False),
			"NoError": reflect.ValueOf(c.NoError),
			"AtMost":  reflect.ValueOf(c.AtMost),
			"AtLeast": reflect.ValueOf(c.AtLeast),
			"Less":    reflect.ValueOf(c.Less),
			"Greater": reflect.ValueOf(c.Greater),
			"Near":    reflect.ValueOf(c.Near),

			"Failure": reflect.ValueOf((*check.Failure)(nil)),
		},
	}
	// The models' report types, so a %%models -o NAME run can hand its
	// reports to the notebook as Go values.
	ex["atonce/models/models"] = map[string]reflect.Value{
		"Report":       reflect.ValueOf((*models.Report)(nil)),
		"TaskRecord":   reflect.ValueOf((*models.TaskRecord)(nil)),
		"WorkerRecord": reflect.ValueOf((*models.WorkerRecord)(nil)),
		"Span":         reflect.ValueOf((*models.Span)(nil)),
		"Round":        reflect.ValueOf((*models.Round)(nil)),
		"Running":      reflect.ValueOf(models.Running),
		"Waiting":      reflect.ValueOf(models.Waiting),
		"Blocked":      reflect.ValueOf(models.Blocked),
		// What each state was for (Span.Kind), in words, and summed.
		"KindGCAssist": reflect.ValueOf(models.KindGCAssist),
		"KindCPU":      reflect.ValueOf(models.KindCPU),
		"KindGIL":      reflect.ValueOf(models.KindGIL),
		"KindLoop":     reflect.ValueOf(models.KindLoop),
		"KindAwait":    reflect.ValueOf(models.KindAwait),
		"KindMutex":    reflect.ValueOf(models.KindMutex),
		"KindChannel":  reflect.ValueOf(models.KindChannel),
		"KindSelect":   reflect.ValueOf(models.KindSelect),
		"KindSyscall":  reflect.ValueOf(models.KindSyscall),
		"KindSleep":    reflect.ValueOf(models.KindSleep),
		"KindIO":       reflect.ValueOf(models.KindIO),
		"KindGC":       reflect.ValueOf(models.KindGC),
		"KindOther":    reflect.ValueOf(models.KindOther),
		"StateLabel":   reflect.ValueOf(models.StateLabel),
		"StateTotals":  reflect.ValueOf(models.StateTotals),
		"StateTotal":   reflect.ValueOf((*models.StateTotal)(nil)),
		"RuntimeSpan":  reflect.ValueOf((*models.RuntimeSpan)(nil)),
		"RuntimeGC":    reflect.ValueOf(models.RuntimeGC),
		"RuntimeSTW":   reflect.ValueOf(models.RuntimeSTW),
		// Each report's Traits, and their values to compare with.
		"Traits":       reflect.ValueOf((*models.Traits)(nil)),
		"Placement":    reflect.ValueOf((*models.Placement)(nil)),
		"Isolation":    reflect.ValueOf((*models.Isolation)(nil)),
		"Switching":    reflect.ValueOf((*models.Switching)(nil)),
		"InEngine":     reflect.ValueOf(models.InEngine),
		"InWorkers":    reflect.ValueOf(models.InWorkers),
		"Shared":       reflect.ValueOf(models.Shared),
		"CopyAtStart":  reflect.ValueOf(models.CopyAtStart),
		"Nothing":      reflect.ValueOf(models.Nothing),
		"WholeTask":    reflect.ValueOf(models.WholeTask),
		"AtAwaits":     reflect.ValueOf(models.AtAwaits),
		"Preempted":    reflect.ValueOf(models.Preempted),
		"Simultaneous": reflect.ValueOf(models.Simultaneous),
		// Each report's mode: interpreted or native.
		"Mode":        reflect.ValueOf((*models.Mode)(nil)),
		"Interpreted": reflect.ValueOf(models.Interpreted),
		"Native":      reflect.ValueOf(models.Native),
	}
	// A report's Speedup is a stats.Interval; the package's functions
	// give the same statistics of the notebook's own numbers.
	ex["atonce/models/stats/stats"] = map[string]reflect.Value{
		"Interval":       reflect.ValueOf((*stats.Interval)(nil)),
		"Median":         reflect.ValueOf(stats.Median),
		"MedianInterval": reflect.ValueOf(stats.MedianInterval),
		"Ratios":         reflect.ValueOf(stats.Ratios),
		"Speedup":        reflect.ValueOf(stats.Speedup),
		"MinRounds":      reflect.ValueOf(stats.MinRounds),
	}
	if s.exit != nil {
		ex["os/os"] = map[string]reflect.Value{"Exit": reflect.ValueOf(s.exit)}
	}
	return ex
}

// The display, check, models and stats packages are known to the
// import-name rule and imported for a cell that uses them, like the
// standard library.
func init() {
	for _, key := range []string{"atonce/display/display", "atonce/check/check", "atonce/models/models", "atonce/models/stats/stats"} {
		var members []string
		for name := range (&Session{}).exports()[key] {
			members = append(members, name)
		}
		i := strings.LastIndex(key, "/")
		gosrc.AddPackage(key[:i], key[i+1:], members)
	}
}
