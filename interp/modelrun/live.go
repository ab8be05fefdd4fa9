package modelrun

import (
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp/magic"
	"atonce/models"
	"atonce/models/chart"
)

// view is one display of a comparison: the table, the modes side by
// side, or one chart of one mode.
type view struct {
	key      string // what it shows, e.g. "speedup interpreted"
	data     enginemsg.Bundle
	metadata map[string]any
	// pending, when there is nothing to show (yet), says what will be
	// there.
	pending string
}

// charts are the charts of a comparison, in the order shown: each drawn
// once per mode.
var charts = []struct {
	name string
	draw func([]models.Report, ...chart.Option) (chart.Chart, error)
	// needsBaseline tells that the chart compares with the baseline.
	needsBaseline bool
}{
	{"task stream", chart.TaskStream, false},
	{"speedup", chart.Speedup, true},
}

// views returns the displays of reports that a comparison of spec
// shows, in order: the table, the verdict, the time in each state when
// the tracer runs, the modes side by side when the spec runs both, and
// each chart once per mode unless the spec says no charts (a chart the
// reports cannot draw yet is pending). draft draws the charts
// as drafts (chart.Draft), for a run that goes on.
//
// Runs of both modes are shown together in the table (each mode's
// speedups over its own baseline), then side by side per model
// (models.ModeComparison), then in charts of one mode each: interpreted
// and native times differ a hundredfold, and one time axis would hide
// the native bars.
func views(reports []models.Report, spec Spec, draft bool) []view {
	shown := models.Labelled(reports)
	text, table := models.Table(shown)
	out := []view{{key: "table", data: enginemsg.Bundle{"text/plain": text, "text/html": table}}}
	if v, ok := spec.verdict.view(reports, spec, draft); ok {
		out = append(out, v)
	}
	if spec.Trace {
		v := view{key: "states", pending: "(the time each model's tasks spent in each state, once a model has run)"}
		if !draft {
			v.pending = "(the execution tracer recorded no task states in this run)"
		}
		if text, table := models.StateTable(shown); text != "" {
			v.data = enginemsg.Bundle{"text/plain": text, "text/html": table}
		}
		out = append(out, v)
	}
	if len(spec.Modes) > 1 {
		v := view{key: "modes", pending: "(the modes side by side, once a model has run in both)"}
		if text, table, _ := models.ModeComparison(reports); text != "" {
			v.data = enginemsg.Bundle{"text/plain": text, "text/html": table}
		}
		out = append(out, v)
	}
	if spec.NoCharts {
		return out
	}
	var opts []chart.Option
	if draft {
		opts = append(opts, chart.Draft())
	}
	groups := map[models.Mode][]models.Report{}
	for _, r := range shown {
		groups[r.Mode] = append(groups[r.Mode], r)
	}
	for _, c := range charts {
		if c.needsBaseline && !anyModel(spec.Models, isBaseline) {
			continue // never drawable: the table says it all
		}
		for _, mode := range spec.Modes {
			v := view{key: c.name + " " + string(mode), pending: "(the " + c.name + " chart, once a model has run)"}
			if len(spec.Modes) > 1 {
				v.pending = "(the " + c.name + " chart of the " + string(mode) + " runs, once a model has run " + string(mode) + ")"
			}
			if group := groups[mode]; len(group) > 0 {
				if ch, err := c.draw(group, opts...); err == nil {
					data, md := ch.Bundle()
					v.data, v.metadata = enginemsg.Bundle(data), md
				} else {
					v.pending = "(" + err.Error() + ")"
				}
			}
			out = append(out, v)
		}
	}
	return append(out, spec.verdict.scalingViews(spec, opts)...)
}

// liveEvery is the least time between two redraws of a running
// comparison: at most about twice a second.
const liveEvery = 500 * time.Millisecond

// live shows a comparison's table and charts while it runs and updates
// them in place (update_display_data) as models finish their rounds, at
// most about twice a second and never taking more than about a fifth of
// the run's time; the finished comparison replaces them with the same
// displays a run shown only at its end has.
type live struct {
	env  magic.Env
	spec Spec
	ids  map[string]string // display ids by view key
	// last is when the displays were last redrawn and cost what it
	// took: the next redraw waits max(liveEvery, 4·cost).
	last time.Time
	cost time.Duration
	now  func() time.Time
}

func newLive(env magic.Env, spec Spec) *live {
	return &live{env: env, spec: spec, ids: map[string]string{}, now: time.Now}
}

// measured is Hooks.Measured: it redraws the displays from the reports
// so far, unless it did so too recently.
func (l *live) measured(reports []models.Report) {
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < max(liveEvery, 4*l.cost) {
		return
	}
	l.put(views(reports, l.spec, true))
	l.last, l.cost = l.now(), l.now().Sub(now)
}

// final shows the finished comparison: in the displays shown while it
// ran, if any, else as new displays.
func (l *live) final(reports []models.Report) {
	l.put(views(reports, l.spec, false))
}

// put shows each view, updating the display it has if any; a pending
// view that has none shows what will be there, so that the displays stay
// in the order of a finished comparison.
func (l *live) put(vs []view) {
	for _, v := range vs {
		data, md := v.data, v.metadata
		if data == nil {
			if v.pending == "" {
				continue
			}
			data = enginemsg.Bundle{"text/plain": v.pending}
		}
		if id, ok := l.ids[v.key]; ok {
			l.env.Update(id, data, md)
			continue
		}
		l.ids[v.key] = l.env.Show(data, md)
	}
}
