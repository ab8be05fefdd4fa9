package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/stats"
)

// scales are threads and processes at 1, 2, 4 and 8 workers on 2 cores
// over 8 rounds: threads with a serial fraction of 5%, processes of 20%,
// both capped at the cores, each round's parallel walls moved by up to ±3%.
func scales() []models.Scaling {
	workers := []int{1, 2, 4, 8}
	var out []models.Scaling
	for _, m := range []struct {
		name string
		s    float64
	}{{"threads", 0.05}, {"processes", 0.2}} {
		var base []time.Duration
		var walls [][]time.Duration
		for r := range 8 {
			b := 200*time.Millisecond + time.Duration(r)*time.Millisecond
			base = append(base, b)
			var row []time.Duration
			for j, p := range workers {
				wiggle := 1.0
				if j > 0 {
					wiggle += 0.02 * (float64(r%4) - 1.5)
				}
				row = append(row, time.Duration(float64(b)/stats.AmdahlSpeedup(m.s, min(p, 2))*wiggle))
			}
			walls = append(walls, row)
		}
		s := models.Scaling{Model: m.name, Mode: models.Interpreted, Traits: models.TraitsOf(m.name), Baseline: "sequential", Cores: 2, Workers: workers}
		out = append(out, s.Measure(base, walls))
	}
	return out
}

func TestScaling(t *testing.T) {
	sc := scales()
	for i, want := range []float64{0.05, 0.2} {
		if iv := sc[i].Serial; !iv.Contains(want) {
			t.Errorf("%s: serial fraction %+v does not contain the %v the walls were made with", sc[i].Model, iv, want)
		}
	}
	c, err := Scaling(sc)
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, []string{"threads", "processes"})
	t.Logf("scaling: %d×%d, SVG %d bytes, PNG %d bytes", c.Width, c.Height, len(c.SVG), len(c.PNG))
	svg := string(c.SVG)
	for _, want := range []string{
		">ideal: speedup = workers<", ">Amdahl&#39;s law fitted (serial fraction s)<", ">the 2 cores<", ">2 cores<",
		">workers (log scale)<", ">speedup over sequential (×)<", ">speedup against workers · median of 8 rounds, 95% intervals<",
		">1<", ">2<", ">4<", ">8<",
		">threads, s = " + sc[0].SerialWords() + "<", ">processes, s = " + sc[1].SerialWords() + "<",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	for _, want := range []string{
		"Scaling: speedup over sequential against workers (median of 8 rounds, 95% intervals); ideal: speedup = workers; this machine has 2 cores.",
		"threads: 1 → 1.00x [1.00–1.00], 2 → " + sc[0].Speedups[1].Format("%.2f", "x") + ", 4 → ",
		"; Amdahl's serial fraction " + sc[0].SerialWords() + " (on min(workers, cores) processors)",
		"processes: 1 → 1.00x",
	} {
		if !strings.Contains(c.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, c.Summary)
		}
	}
	again, err := Scaling(scales())
	if err != nil || !bytes.Equal(again.SVG, c.SVG) || !bytes.Equal(again.PNG, c.PNG) {
		t.Errorf("two drawings of the same scaling differ (err %v)", err)
	}
	if *outDir != "" {
		for ext, b := range map[string][]byte{".png": c.PNG, ".svg": c.SVG, ".txt": []byte(c.Summary + "\n")} {
			if err := os.WriteFile(filepath.Join(*outDir, "chart-scaling"+ext), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// One round draws points without error bars and says so; a model with no
// measured speedup is left out, and none at all is an error.
func TestScalingEdges(t *testing.T) {
	one := models.Scaling{Model: "threads", Traits: models.TraitsOf("threads"), Baseline: "sequential", Cores: 2, Workers: []int{1, 2}}.
		Measure([]time.Duration{100 * time.Millisecond}, [][]time.Duration{{100 * time.Millisecond, 55 * time.Millisecond}})
	c, err := Scaling([]models.Scaling{one})
	if err != nil {
		t.Fatal(err)
	}
	checkChart(t, c, 150_000, []string{"threads"})
	if !strings.Contains(c.Summary, "one round, no intervals") || !strings.Contains(c.Summary, "threads: 1 → 1.00x, 2 → 1.82x; Amdahl's serial fraction 10%") {
		t.Errorf("one round's summary:\n%s", c.Summary)
	}
	empty := models.Scaling{Model: "processes", Workers: []int{1, 2}}.Measure(nil, nil)
	if _, err := Scaling([]models.Scaling{empty}); err == nil {
		t.Errorf("Scaling of a model that never ran gave no error")
	}
	if _, err := Scaling(nil); err == nil {
		t.Errorf("Scaling(nil) gave no error")
	}
}
