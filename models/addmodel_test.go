package models_test

// This file adds a model, "reversed", the way any new model is added: one
// file that declares the model's traits, implements Run and registers it.
// No other file names it, yet it is listed, runs through the conformance
// suite, and the table, the charts and the data-sharing diagnostics
// describe it from its traits.

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"atonce/models"
	"atonce/models/chart"
	"atonce/models/modeltest"
	"atonce/models/sharing"
)

func init() { models.Register(reversed{}) }

// reversed runs the tasks one after another like sequential, last index
// first.
type reversed struct{}

var reversedTraits = models.Traits{
	Name:           "reversed",
	StandsFor:      "a for loop counting down",
	Placement:      models.InEngine,
	Isolation:      models.Shared,
	Switching:      models.WholeTask,
	Noun:           "loop",
	Nouns:          "loops",
	DefaultWorkers: "one, always",
	MSU:            "whole task",
	Sharing:        "shares notebook state; one task at a time, last first",
}

func (reversed) Name() string          { return reversedTraits.Name }
func (reversed) Traits() models.Traits { return reversedTraits }

// Run runs the sequential model on the task with its indexes reversed,
// and gives the records back their own indexes.
func (reversed) Run(ctx context.Context, t models.Task, opt models.Options) (models.Report, error) {
	inner := t
	if t.Call != nil {
		inner.Call = func(ctx context.Context, i int) (any, error) { return t.Call(ctx, t.N-1-i) }
	}
	if opt.Progress != nil {
		progress := opt.Progress
		opt.Progress = func(_ string, done, total int) { progress(reversedTraits.Name, done, total) }
	}
	seq, err := models.ByName("sequential")
	if err != nil {
		return models.Report{Model: reversedTraits.Name, Traits: reversedTraits, Err: err.Error()}, err
	}
	rep, err := seq.Run(ctx, inner, opt)
	rep.Model, rep.Traits = reversedTraits.Name, reversedTraits
	for k := range rep.Tasks {
		rep.Tasks[k].Index = t.N - 1 - rep.Tasks[k].Index
	}
	slices.Reverse(rep.Tasks)
	return rep, err
}

func TestAddedModel(t *testing.T) {
	t.Run("listed", func(t *testing.T) {
		names := models.Names()
		// The talk's order puts it after the baseline and before the
		// models that switch tasks: it runs whole tasks in the engine.
		if i := slices.Index(names, "reversed"); i != 1 || names[0] != "sequential" || names[2] != "eventloop" {
			t.Errorf("Names() = %v, want reversed second, between sequential and eventloop", names)
		}
		if !slices.Contains(models.InProcessNames(), "reversed") {
			t.Errorf("InProcessNames() = %v, want reversed among them", models.InProcessNames())
		}
		if got := models.TraitsOf("reversed"); got != reversedTraits {
			t.Errorf("TraitsOf(reversed) = %+v, want %+v", got, reversedTraits)
		}
	})
	t.Run("conformance", func(t *testing.T) { modeltest.Run(t, reversed{}) })

	// Run the baseline and the new model on a task that counts, as a
	// notebook's %%models would, keeping the counter's value after each.
	var counter atomic.Int64
	task := models.Task{Name: "work", N: 8, Call: func(_ context.Context, i int) (any, error) {
		counter.Add(1)
		return i * i, nil
	}}
	var reports []models.Report
	for _, name := range []string{"sequential", "reversed"} {
		m, err := models.ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		counter.Store(0)
		rep, err := m.Run(context.Background(), task, models.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rep.Globals = map[string]json.RawMessage{"counter": json.RawMessage(jsonOf(t, counter.Load()))}
		reports = append(reports, rep)
	}
	rev := reports[1]
	if first := rev.Tasks[0]; first.Index != 0 || first.Result != 0 || rev.Tasks[7].Start > first.Start {
		t.Errorf("reversed ran task 0 = %+v before task 7 = %+v; want task 0 last, with its own result", first, rev.Tasks[7])
	}

	t.Run("table", func(t *testing.T) {
		text, _ := models.Table(reports)
		for _, want := range []string{"reversed", "shares notebook state; one task at a time, last first"} {
			if !strings.Contains(text, want) {
				t.Errorf("Table lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("charts", func(t *testing.T) {
		panels := chart.Layout(reports)
		p := panels[1]
		if p.Model != "reversed" || !strings.HasPrefix(p.Title, "8 tasks on 1 loop · wall ") || !strings.Contains(p.Title, "x") {
			t.Errorf("reversed's panel is %q %q; want 8 tasks on 1 loop and a speedup", p.Model, p.Title)
		}
		if len(p.Rows) != 1 || p.Rows[0].Label != "loop 0" || len(p.Rows[0].Bars) != 8 {
			t.Errorf("reversed's rows = %+v; want one row, loop 0, with 8 bars", p.Rows)
		}
		c, err := chart.Speedup(reports)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c.Summary, "reversed: ") || !strings.Contains(c.Summary, "on 1 loop, efficiency") {
			t.Errorf("the speedup chart's summary does not describe reversed:\n%s", c.Summary)
		}
		if _, err := chart.TaskStream(reports); err != nil {
			t.Errorf("TaskStream: %v", err)
		}
	})
	t.Run("diagnostics", func(t *testing.T) {
		st, err := sharing.Analyze([]string{"var counter int", "func work(i int) int { counter++; return i * i }"}, "work")
		if err != nil {
			t.Fatal(err)
		}
		d := sharing.Diagnose(st, map[string]json.RawMessage{"counter": json.RawMessage("0")}, reports)
		want := "reversed: no update lost: each task runs to its end before the next starts, so nothing comes between reading and writing `counter`."
		if !slices.Contains(d.Sentences, want) {
			t.Errorf("the diagnosis says\n%s\nwant the sentence\n%s", strings.Join(d.Sentences, "\n"), want)
		}
	})
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
