package modelrun

import (
	"strings"
	"testing"
	"time"

	"atonce/internal/enginemsg"
	"atonce/models"
	"atonce/models/workermsg"
)

// inModes makes the reports of sequential and threads in each mode over
// 6 rounds: threads twice as fast, its tasks traced as running.
func inModes(modes ...models.Mode) []models.Report {
	var out []models.Report
	for _, mode := range modes {
		for i, name := range []string{"sequential", "threads"} {
			var runs []models.Report
			for r := range 6 {
				wall := time.Duration(100+r) * time.Millisecond / time.Duration(i+1)
				rep := models.Report{Model: name, Traits: models.TraitsOf(name), Workers: i + 1, Wall: wall, Mode: mode, Traced: true}
				for k := range 4 {
					rep.Tasks = append(rep.Tasks, models.TaskRecord{Index: k, Worker: k % (i + 1), Start: 0, End: wall / 2,
						States: []models.Span{{State: models.Running, Start: 0, End: wall / 2}}})
				}
				runs = append(runs, rep)
			}
			out = append(out, models.Combine(runs, nil))
		}
	}
	return out
}

// The verdict is a view right after the table: pending while the run
// goes, a paragraph per mode when it ends (labelled when a mode is
// native), updated in place when the race detector speaks; the scaling
// chart comes after the other charts.
func TestVerdictView(t *testing.T) {
	both := []models.Mode{models.Interpreted, models.Native}
	scale := models.Scaling{Model: "threads (native)", Mode: models.Native, Traits: models.TraitsOf("threads"), Baseline: "sequential", Cores: 2, Workers: []int{1, 2}}.
		Measure([]time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, [][]time.Duration{{100 * time.Millisecond, 52 * time.Millisecond}, {100 * time.Millisecond, 51 * time.Millisecond}})
	spec := Spec{Models: []string{"sequential", "threads"}, Modes: both, Scale: []int{1, 2}, verdict: &verdicts{scaling: []models.Scaling{scale}}}
	env := &shown{data: map[string]enginemsg.Bundle{}, metadata: map[string]map[string]any{}}
	lv := newLive(env, spec)
	lv.measured(inModes(models.Interpreted)[:1])
	if got := env.data[env.order[1]]["text/plain"]; got != "(what this run says, once its rounds are done)" {
		t.Errorf("while the run goes, the display after the table says %q, want the verdict pending", got)
	}
	lv.final(inModes(both...))
	spec.verdict.id = lv.ids[verdictKey]
	if spec.verdict.id != env.order[1] {
		t.Fatalf("the verdict's display is %q, want the one after the table (%q)", spec.verdict.id, env.order[1])
	}
	v := env.data[env.order[1]]
	text := v["text/plain"].(string)
	for _, want := range []string{
		"What this run says (interpreted)\nThe task is CPU-bound.", "Helps: threads (interpreted) 2.00x",
		"\n\nWhat this run says (native)\nThe task is CPU-bound.", "Helps: threads (native) 2.00x",
		"Scaling: threads (native) scales to",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the verdict does not say %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "Scaling:") != 1 {
		t.Errorf("the native scaling belongs to the native paragraph alone:\n%s", text)
	}
	if found := v[VerdictMIME].([]map[string]any); len(found) != 2 || found[0]["mode"] != "interpreted" || found[1]["mode"] != "native" {
		t.Errorf("the findings: %v, want one per mode", found)
	}
	last := env.data[env.order[len(env.order)-1]]
	if s, _ := last["text/plain"].(string); !strings.HasPrefix(s, "Scaling: speedup over sequential") {
		t.Errorf("the last display is %q, want the scaling chart", s)
	}

	updates := env.updates
	spec.verdict.addRaces(env, []workermsg.Races{{Model: "threads (native)", Races: 3, Vars: map[string]int{"tally": 3}}, {Model: "sequential", Err: "not checked"}}, models.Native)
	if env.updates != updates+1 {
		t.Fatalf("the race detector's findings made %d updates, want 1", env.updates-updates)
	}
	text = env.data[env.order[1]]["text/plain"].(string)
	if !strings.Contains(text, "the race detector found 3 data races under threads (native)") {
		t.Errorf("the verdict does not name the races:\n%s", text)
	}
	if strings.Count(text, "race detector") != 1 {
		t.Errorf("the native races belong to the native paragraph alone:\n%s", text)
	}
}

// A run without the baseline, or of one model, has no verdict; nor does a
// spec without one (a replay).
func TestNoVerdictView(t *testing.T) {
	for _, spec := range []Spec{
		{Models: []string{"threads", "gil"}, verdict: &verdicts{}},
		{Models: []string{"sequential"}, verdict: &verdicts{}},
		{Models: []string{"sequential", "threads"}},
	} {
		for _, v := range views(inModes(models.Interpreted), spec, false) {
			if v.key == verdictKey {
				t.Errorf("models %v: a verdict view, want none", spec.Models)
			}
		}
	}
}
