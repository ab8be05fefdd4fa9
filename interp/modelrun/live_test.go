package modelrun

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp/magic"
	"atonce/models"
)

// shown is a magic.Env that records the displays a comparison shows and
// updates, as a front end would hold them.
type shown struct {
	magic.Env
	order    []string                    // display ids, in the order shown
	data     map[string]enginemsg.Bundle // the bundle each id shows now
	metadata map[string]map[string]any
	updates  int
}

func (s *shown) Show(b enginemsg.Bundle, md map[string]any) string {
	id := string(rune('a' + len(s.order)))
	s.order = append(s.order, id)
	s.data[id], s.metadata[id] = b, md
	return id
}

func (s *shown) Update(id string, b enginemsg.Bundle, md map[string]any) {
	s.data[id], s.metadata[id] = b, md
	s.updates++
}

// rounded makes reports of the models, each having run in n rounds.
func rounded(n int, names ...string) []models.Report {
	var out []models.Report
	for i, name := range names {
		var runs []models.Report
		for range n {
			wall := time.Duration(100/(i+1)) * time.Millisecond
			runs = append(runs, models.Report{Model: name, Traits: models.TraitsOf(name), Workers: i + 1, Wall: wall, Mode: models.Interpreted,
				Tasks: []models.TaskRecord{{Index: 0, End: wall}}})
		}
		out = append(out, models.Combine(runs, nil))
	}
	models.SetSpeedups(out)
	return out
}

// While a run goes its displays are drafts of the models so far, in the
// order of a finished run's, redrawn at most twice a second; when it
// ends, the same displays hold exactly what a run shown only at its end
// shows.
func TestLiveDisplays(t *testing.T) {
	spec := Spec{Models: []string{"sequential", "threads"}, Modes: []models.Mode{models.Interpreted}}
	env := &shown{data: map[string]enginemsg.Bundle{}, metadata: map[string]map[string]any{}}
	lv := newLive(env, spec)
	clock := time.Unix(0, 0)
	lv.now = func() time.Time { return clock }

	lv.measured(rounded(1, "sequential"))
	if len(env.order) != 3 {
		t.Fatalf("the first redraw showed %d displays, want the table and two charts", len(env.order))
	}
	speedup := env.data[env.order[2]]
	if _, png := speedup["image/png"]; png || !strings.Contains(speedup["text/plain"].(string), "sequential:") || strings.Contains(speedup["text/plain"].(string), "threads:") {
		t.Errorf("the first draft of the speedup chart: %v; want an SVG of sequential alone", speedup["text/plain"])
	}

	clock = clock.Add(100 * time.Millisecond)
	lv.measured(rounded(1, "sequential", "threads"))
	if env.updates != 0 {
		t.Errorf("redrew after 100 ms: %d updates, want none within %s", env.updates, liveEvery)
	}
	clock = clock.Add(liveEvery)
	lv.measured(rounded(2, "sequential", "threads"))
	if env.updates != 3 || len(env.order) != 3 {
		t.Errorf("after %s: %d updates of %d displays, want the 3 updated in place", liveEvery, env.updates, len(env.order))
	}

	final := rounded(3, "sequential", "threads")
	lv.final(final)
	want := views(final, spec, false)
	if len(want) != len(env.order) {
		t.Fatalf("a finished run shows %d displays, the live ones are %d", len(want), len(env.order))
	}
	for i, v := range want {
		id := env.order[i]
		if !reflect.DeepEqual(env.data[id], v.data) || !reflect.DeepEqual(env.metadata[id], v.metadata) {
			t.Errorf("display %d (%s) at the end is not what a finished run shows", i, v.key)
		}
	}
	if _, png := env.data[env.order[2]]["image/png"]; !png {
		t.Error("the finished speedup chart has no PNG")
	}
}

// A chart that needs a model not run yet shows what will be there, so
// the displays keep their order; with both modes, the native charts wait
// for the native runs.
func TestLiveDisplaysWaitInOrder(t *testing.T) {
	spec := Spec{Models: []string{"sequential", "threads"}, Modes: []models.Mode{models.Interpreted, models.Native}}
	vs := views(rounded(1, "sequential"), spec, true)
	var keys []string
	for _, v := range vs {
		keys = append(keys, v.key)
	}
	if got, want := strings.Join(keys, ","), "table,modes,task stream interpreted,task stream native,speedup interpreted,speedup native"; got != want {
		t.Fatalf("views %s, want %s", got, want)
	}
	for _, v := range vs {
		pendingWanted := v.key == "modes" || strings.HasSuffix(v.key, "native")
		if (v.data == nil) != pendingWanted || (pendingWanted && v.pending == "") {
			t.Errorf("%s: data %v, pending %q; want pending: %v", v.key, v.data != nil, v.pending, pendingWanted)
		}
	}
	// Without the baseline among the models, no speedup chart is waited
	// for; with -no-charts, no chart at all.
	if vs := views(nil, Spec{Models: []string{"threads"}, Modes: []models.Mode{models.Interpreted}}, true); len(vs) != 2 || vs[1].key != "task stream interpreted" {
		t.Errorf("views without a baseline: %d, want the table and the task stream", len(vs))
	}
	if vs := views(nil, Spec{Models: []string{"sequential"}, Modes: []models.Mode{models.Interpreted}, NoCharts: true}, true); len(vs) != 1 {
		t.Errorf("views with -no-charts: %d, want the table alone", len(vs))
	}
}
