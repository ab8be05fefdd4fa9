package models_test

import (
	"strings"
	"testing"
	"time"

	"atonce/models"
)

// modeReports are a run of both modes: sequential and threads, each
// interpreted and native.
func modeReports() []models.Report {
	ms := time.Millisecond
	seq, threads := models.TraitsOf("sequential"), models.TraitsOf("threads")
	return []models.Report{
		{Model: "sequential", Mode: models.Interpreted, Traits: seq, Workers: 1, Wall: 400 * ms},
		{Model: "sequential", Mode: models.Native, GoVersion: "go1.26.8", Traits: seq, Workers: 1, Wall: 2 * ms},
		{Model: "threads", Mode: models.Interpreted, Traits: threads, Workers: 2, Wall: 250 * ms},
		{Model: "threads", Mode: models.Native, GoVersion: "go1.26.8", Traits: threads, Workers: 2, Wall: 1 * ms},
	}
}

func TestLabelled(t *testing.T) {
	interpretedOnly := []models.Report{{Model: "threads", Mode: models.Interpreted}, {Model: "gil", Mode: models.Interpreted}}
	for _, tt := range []struct {
		name string
		in   []models.Report
		want []string
	}{
		{"interpreted only: names as always", interpretedOnly, []string{"threads", "gil"}},
		{"native among them: every mode said", modeReports(), []string{"sequential (interpreted)", "sequential (native)", "threads (interpreted)", "threads (native)"}},
		{"native only", []models.Report{{Model: "threads", Mode: models.Native}}, []string{"threads (native)"}},
		{"no mode said", []models.Report{{Model: "threads"}, {Model: "gil", Mode: models.Native}}, []string{"threads", "gil (native)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := models.Labelled(tt.in)
			for i, r := range got {
				if r.Model != tt.want[i] {
					t.Errorf("report %d got model %q, want %q", i, r.Model, tt.want[i])
				}
			}
			if tt.in[0].Model != strings.Fields(tt.want[0])[0] {
				t.Errorf("Labelled changed its argument: %q", tt.in[0].Model)
			}
		})
	}
}

// TestTableModes: each mode's speedup is over its own baseline, and the
// native toolchain is named.
func TestTableModes(t *testing.T) {
	text, _ := models.Table(models.Labelled(modeReports()))
	for _, want := range []string{
		"threads (interpreted)", "1.60x", // 400 / 250
		"threads (native)", "2.00x", // 2 / 1
		"note: native: the notebook's code compiled by go1.26.8",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "0.01x") || strings.Contains(text, "400.00x") {
		t.Errorf("a mode's speedup is over the other mode's baseline:\n%s", text)
	}
}

func TestModeComparison(t *testing.T) {
	reports := modeReports()
	text, html, sentences := models.ModeComparison(reports)
	for _, want := range []string{
		"sequential: 400ms interpreted, 2ms native: the compiled code ran 200x faster",
		"threads: 1.60x interpreted, 2.00x native: the interpreter understates the speedup by 20%",
	} {
		found := false
		for _, s := range sentences {
			found = found || strings.HasPrefix(s, want)
		}
		if !found {
			t.Errorf("sentences got %q, want one starting %q", sentences, want)
		}
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "<table>") || !strings.Contains(html, "understates the speedup by 20%") {
		t.Errorf("the HTML lacks the table or the distortion:\n%s", html)
	}
	for _, tt := range []struct {
		name    string
		si, sn  time.Duration // threads' walls, interpreted and native
		natErr  string
		wantSub string
	}{
		{"overstates", 100 * time.Millisecond, time.Millisecond, "", "overstates the speedup by 100%"}, // 4x against 2x
		{"about right", 204 * time.Millisecond, time.Millisecond, "", "gets the speedup about right"},  // 1.96x against 2x
		{"native failed", 250 * time.Millisecond, time.Millisecond, "threads: fatal error: concurrent map writes\nmore", "no comparison: the native run failed (threads: fatal error: concurrent map writes)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := modeReports()
			rs[2].Wall, rs[3].Wall, rs[3].Err = tt.si, tt.sn, tt.natErr
			_, _, sentences := models.ModeComparison(rs)
			if len(sentences) != 2 || !strings.Contains(sentences[1], tt.wantSub) {
				t.Errorf("sentences got %q, want the second to say %q", sentences, tt.wantSub)
			}
		})
	}
	// One mode only: nothing to compare.
	if text, _, s := models.ModeComparison(models.OfMode(reports, models.Native)); text != "" || s != nil {
		t.Errorf("native reports alone got %q, %q; want nothing", text, s)
	}
}
