package modelrun

import (
	"slices"
	"strings"

	"atonce/internal/enginemsg"
	"atonce/interp/magic"
	"atonce/models"
	"atonce/models/chart"
	"atonce/models/sharing"
	"atonce/models/verdict"
	"atonce/models/workermsg"
)

// VerdictMIME is the MIME type of the verdict's findings (each mode's
// kind of task and each model's effect, as models/verdict says them),
// kept beside its Markdown and plain text for programs and tests.
const VerdictMIME = "application/vnd.atonce.verdict+json"

// verdictKey is the verdict's view (see views): right after the table.
const verdictKey = "verdict"

// verdicts is what a %%models run says (models/verdict): a view right
// after the table, pending while the run goes, and updated in place when
// the race detector has spoken; and the scaling sweep's charts, after the
// others. Its methods do nothing on a nil verdicts (a replay, a test's
// spec), and it says nothing for a run without the baseline and another
// model.
type verdicts struct {
	// What the verdict is computed from besides the reports: the
	// data-sharing diagnosis (of the labelled reports), the scaling
	// sweep, and the race detector's findings by mode and model.
	sharing sharing.Diagnosis
	scaling []models.Scaling
	races   map[models.Mode]map[string]int
	// reports are the reports it was last computed from; id is its
	// display's, once shown (from the live displays).
	reports []models.Report
	id      string
}

// says tells whether a run of spec has a verdict to show.
func (v *verdicts) says(spec Spec) bool {
	return v != nil && len(spec.Models) > 1 && anyModel(spec.Models, isBaseline)
}

// view is the verdict's view of reports: pending in a draft (the run
// goes on), else the verdict of each mode; ok is false when spec's runs
// have none.
func (v *verdicts) view(reports []models.Report, spec Spec, draft bool) (view, bool) {
	if !v.says(spec) {
		return view{}, false
	}
	out := view{key: verdictKey, pending: "(what this run says, once its rounds are done)"}
	if draft {
		return out, true
	}
	v.reports = reports
	if b, ok := v.bundle(); ok {
		out.data = b
	}
	return out, true
}

// bundle is the verdict of each mode: a paragraph each, headed by its
// mode when there are two or it is native; ok is false when there is
// nothing to say.
func (v *verdicts) bundle() (enginemsg.Bundle, bool) {
	shown := models.Labelled(v.reports)
	labelled := slices.ContainsFunc(v.reports, func(r models.Report) bool { return r.Mode == models.Native })
	var md, txt strings.Builder
	var found []map[string]any
	for _, group := range byMode(shown) {
		if len(group) == 0 {
			continue
		}
		group = append([]models.Report(nil), group...)
		// Each speedup with its interval over the baseline of its
		// mode, from the rounds each report keeps.
		models.SetSpeedups(group)
		mode := group[0].Mode
		in := verdict.Input{Runs: group, Sharing: v.sharing, Races: v.racesOf(mode, labelled)}
		for _, s := range v.scaling {
			if s.Mode == mode {
				in.Scaling = append(in.Scaling, s)
			}
		}
		out := verdict.Of(in)
		if out.Text == "" {
			continue
		}
		head := "What this run says"
		if labelled {
			head += " (" + string(mode) + ")"
		}
		if md.Len() > 0 {
			md.WriteString("\n\n")
			txt.WriteString("\n\n")
		}
		md.WriteString("**" + head + "**\n\n" + out.Markdown)
		txt.WriteString(head + "\n" + out.Text)
		found = append(found, map[string]any{"mode": string(mode), "kind": out.Kind, "models": out.Models})
	}
	if len(found) == 0 {
		return nil, false
	}
	return enginemsg.Bundle{"text/markdown": md.String(), "text/plain": txt.String() + "\n", VerdictMIME: found}, true
}

// racesOf is the race detector's findings in mode by the names the
// reports have (labelled when they are), nil when it has not run.
func (v *verdicts) racesOf(mode models.Mode, labelled bool) map[string]int {
	found, ok := v.races[mode]
	if !ok {
		return nil
	}
	out := map[string]int{}
	for name, n := range found {
		if labelled {
			name = models.Report{Model: name, Mode: mode}.Label()
		}
		out[name] = n
	}
	return out
}

// scalingViews are the scaling charts of spec's modes (-workers 1,2,4,8),
// drafts while the run goes.
func (v *verdicts) scalingViews(spec Spec, opts []chart.Option) []view {
	if v == nil || len(v.scaling) == 0 {
		return nil
	}
	var out []view
	for _, mode := range spec.Modes {
		var of []models.Scaling
		for _, s := range v.scaling {
			if s.Mode == mode {
				of = append(of, s)
			}
		}
		w := view{key: "scaling " + string(mode)}
		c, err := chart.Scaling(of, opts...)
		if err != nil {
			w.pending = "(" + err.Error() + ")"
		} else {
			data, md := c.Bundle()
			w.data, w.metadata = enginemsg.Bundle(data), md
		}
		out = append(out, w)
	}
	return out
}

// addRaces takes the race detector's findings in mode and updates the
// verdict shown.
func (v *verdicts) addRaces(env magic.Env, races []workermsg.Races, mode models.Mode) {
	if v == nil || v.reports == nil {
		return
	}
	if v.races == nil {
		v.races = map[models.Mode]map[string]int{}
	}
	found := map[string]int{}
	for _, r := range races {
		if r.Err == "" || r.Races > 0 {
			found[strings.TrimSuffix(r.Model, " (native)")] = r.Races
		}
	}
	v.races[mode] = found
	b, ok := v.bundle()
	switch {
	case !ok:
	case v.id != "":
		env.Update(v.id, b, nil)
	default:
		v.id = env.Display(b)
	}
}
