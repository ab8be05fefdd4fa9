package models_test

import (
	"math"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/stats"
)

// rounds makes the wall times of r rounds of a task whose serial fraction
// is s, on cores cores: the baseline's wall drifts from round to round
// (the machine), each count's wall is Amdahl's law's with the processors
// it can use (capped at the cores when capped), moved by ±jitter in a
// fixed pattern.
func rounds(r int, s float64, workers []int, cores int, capped bool, jitter float64) (base []time.Duration, walls [][]time.Duration) {
	for i := range r {
		b := time.Duration(float64(200*time.Millisecond) * (1 + 0.1*float64(i%3)))
		base = append(base, b)
		var row []time.Duration
		for j, p := range workers {
			if capped {
				p = min(p, cores)
			}
			wiggle := 1 + jitter*float64((i+j)%5-2)/2
			row = append(row, time.Duration(float64(b)/stats.AmdahlSpeedup(s, p)*wiggle))
		}
		walls = append(walls, row)
	}
	return base, walls
}

// The fit finds a known serial fraction from synthetic reports, with an
// interval around it; capped at the cores when no count beats them.
func TestScalingFit(t *testing.T) {
	workers := []int{1, 2, 4, 8}
	threads := models.TraitsOf("threads")
	for _, tt := range []struct {
		name       string
		s          float64
		cores      int
		capped     bool
		jitter     float64
		wantCapped bool
	}{
		{"cpu-bound on 2 cores, 4% serial", 0.04, 2, true, 0, true},
		{"cpu-bound on 8 cores, 20% serial", 0.2, 8, true, 0, true},
		{"cpu-bound on 2 cores, noisy", 0.1, 2, true, 0.02, true},
		{"waits overlap beyond 2 cores", 0.05, 2, false, 0, false},
		{"no serial part", 0, 8, true, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, walls := rounds(10, tt.s, workers, tt.cores, tt.capped, tt.jitter)
			sc := models.Scaling{Model: "threads", Mode: models.Interpreted, Traits: threads, Baseline: "sequential", Cores: tt.cores, Workers: workers}.Measure(base, walls)
			if sc.CappedAtCores != tt.wantCapped {
				t.Errorf("CappedAtCores: got %v, want %v", sc.CappedAtCores, tt.wantCapped)
			}
			tol := 1e-6
			if tt.jitter > 0 {
				tol = 0.03
			}
			if math.Abs(sc.Serial.Mid-tt.s) > tol || !(sc.Serial.Lo <= tt.s+tol && tt.s-tol <= sc.Serial.Hi) {
				t.Errorf("serial fraction: got %.4f [%.4f–%.4f], want %.4f inside", sc.Serial.Mid, sc.Serial.Lo, sc.Serial.Hi, tt.s)
			}
			if sc.Serial.N != 10 || sc.Serial.Conf < models.Conf {
				t.Errorf("serial fraction from %d rounds at %.3f confidence, want 10 at %.2f", sc.Serial.N, sc.Serial.Conf, models.Conf)
			}
			for i, p := range workers {
				want := stats.AmdahlSpeedup(tt.s, sc.Processors(p))
				if got := sc.Speedups[i]; tt.jitter == 0 && math.Abs(got.Mid-want) > 1e-6 {
					t.Errorf("speedup at %d: got %v, want %v", p, got.Mid, want)
				}
				if got := sc.Predicted(sc.Serial.Mid, p); tt.jitter == 0 && math.Abs(got-want) > 1e-6 {
					t.Errorf("Predicted at %d: got %v, want %v", p, got, want)
				}
			}
			if best := sc.Best(); best < 0 || sc.Speedups[best].Mid < sc.Speedups[0].Mid {
				t.Errorf("Best: got %d", best)
			}
		})
	}
}

// A failed run leaves a hole, not a zero, and a model measured at one
// worker only has no fit.
func TestScalingGaps(t *testing.T) {
	threads := models.TraitsOf("threads")
	base := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}
	sc := models.Scaling{Model: "threads", Mode: models.Interpreted, Traits: threads, Baseline: "sequential", Cores: 2, Workers: []int{1, 2}}.Measure(base, [][]time.Duration{{100 * time.Millisecond, 0}, {100 * time.Millisecond, 50 * time.Millisecond}})
	if !math.IsNaN(sc.Rounds[0][1]) || sc.Speedups[1].N != 1 || sc.Speedups[1].Mid != 2 {
		t.Errorf("a failed run: got rounds %v, speedup %+v; want NaN and 2 from one round", sc.Rounds, sc.Speedups[1])
	}
	one := models.Scaling{Model: "threads", Mode: models.Interpreted, Traits: threads, Baseline: "sequential", Cores: 2, Workers: []int{1}}.Measure(base, [][]time.Duration{{100 * time.Millisecond}, {100 * time.Millisecond}})
	if !math.IsNaN(one.Serial.Mid) || !math.IsNaN(one.Predicted(one.Serial.Mid, 4)) {
		t.Errorf("one worker: got serial %+v, want NaN", one.Serial)
	}
}
