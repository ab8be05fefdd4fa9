package interp

import (
	"reflect"
	"strings"

	"atonce/internal/gosrc"
	"atonce/interp/display"
	"atonce/models"

	"github.com/traefik/yaegi/interp"
)

// exports are the host packages the session adds to yaegi's standard
// library: its time.Sleep, the display package, and the helper that
// captures a cell's final value.
func (s *Session) exports() interp.Exports {
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
	}
	// The models' report types, so a %%models -o NAME run can hand its
	// reports to the notebook as Go values.
	ex["atonce/models/models"] = map[string]reflect.Value{
		"Report":       reflect.ValueOf((*models.Report)(nil)),
		"TaskRecord":   reflect.ValueOf((*models.TaskRecord)(nil)),
		"WorkerRecord": reflect.ValueOf((*models.WorkerRecord)(nil)),
		"Span":         reflect.ValueOf((*models.Span)(nil)),
		"Running":      reflect.ValueOf(models.Running),
		"Waiting":      reflect.ValueOf(models.Waiting),
		"Blocked":      reflect.ValueOf(models.Blocked),
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
	}
	if s.exit != nil {
		ex["os/os"] = map[string]reflect.Value{"Exit": reflect.ValueOf(s.exit)}
	}
	return ex
}

// The display and models packages are known to the import-name rule and
// imported for a cell that uses them, like the standard library.
func init() {
	for _, key := range []string{"atonce/display/display", "atonce/models/models"} {
		var members []string
		for name := range (&Session{}).exports()[key] {
			members = append(members, name)
		}
		i := strings.LastIndex(key, "/")
		gosrc.AddPackage(key[:i], key[i+1:], members)
	}
}
