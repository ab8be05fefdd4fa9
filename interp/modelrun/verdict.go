package modelrun

import (
	"fmt"
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

// verdicts is what a %%models run says (models/verdict), shown after the
// table and updated in place when the race detector has spoken. Its
// methods do nothing on a nil verdicts, so the runs that show no verdict
// (one model, replay) need not ask.
type verdicts struct {
	reports []models.Report // as the table shows them (labelled when a mode is native)
	sharing sharing.Diagnosis
	scaling []models.Scaling
	races   map[models.Mode]map[string]int
	id      string // the display's id, once shown
}

// set records what the verdict is computed from: the run's reports, the
// data-sharing diagnosis (of the labelled reports) and the scaling sweep.
func (v *verdicts) set(reports []models.Report, d sharing.Diagnosis, scaling []models.Scaling) {
	if v == nil {
		return
	}
	v.reports, v.sharing, v.scaling = slices.Clone(models.Labelled(reports)), d, scaling
	// Each speedup with its interval over the baseline of its mode, from
	// the rounds each report keeps (one round's ratio without them).
	models.SetSpeedups(v.reports)
}

// bundle is the verdict of each mode: a paragraph each, headed by its
// mode when there are two; ok is false when there is nothing to say.
func (v *verdicts) bundle() (enginemsg.Bundle, bool) {
	var md, txt strings.Builder
	var found []map[string]any
	groups := byMode(v.reports)
	for _, group := range groups {
		if len(group) == 0 {
			continue
		}
		mode := group[0].Mode
		in := verdict.Input{Runs: group, Sharing: v.sharing, Races: v.racesOf(mode, len(groups) > 1 || mode == models.Native)}
		for _, s := range v.scaling {
			if s.Mode == mode || s.Mode == "" {
				in.Scaling = append(in.Scaling, s)
			}
		}
		out := verdict.Of(in)
		if out.Text == "" {
			continue
		}
		head := "What this run says"
		if len(groups) > 1 || mode == models.Native {
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

// show displays the verdict, when there is one to say.
func (v *verdicts) show(env magic.Env) {
	if v == nil {
		return
	}
	if b, ok := v.bundle(); ok {
		v.id = env.Display(b)
	}
}

// showScaling displays the scaling chart of each mode.
func (v *verdicts) showScaling(env magic.Env) {
	if v == nil || len(v.scaling) == 0 {
		return
	}
	var modes []models.Mode
	for _, s := range v.scaling {
		if !slices.Contains(modes, s.Mode) {
			modes = append(modes, s.Mode)
		}
	}
	for _, mode := range modes {
		var of []models.Scaling
		for _, s := range v.scaling {
			if s.Mode == mode {
				of = append(of, s)
			}
		}
		c, err := chart.Scaling(of)
		if err != nil {
			env.Print("stderr", fmt.Sprintf("atonce: no scaling chart: %v\n", err))
			continue
		}
		data, md := c.Bundle()
		env.Show(enginemsg.Bundle(data), md)
	}
}

// addRaces takes the race detector's findings in mode and updates the
// verdict shown.
func (v *verdicts) addRaces(env magic.Env, races []workermsg.Races, mode models.Mode) {
	if v == nil {
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
	if b, ok := v.bundle(); ok {
		if v.id != "" {
			env.Update(v.id, b)
		} else {
			v.id = env.Display(b)
		}
	}
}
