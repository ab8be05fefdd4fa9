package stats

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"one", []float64{7}, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

// The intervals of known samples: which order statistics bound a 95%
// interval, and the exact binomial confidence they have.
func TestMedianInterval(t *testing.T) {
	seq := func(n int) []float64 { // n, n-1, ..., 1: unsorted on purpose
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(n - i)
		}
		return xs
	}
	for _, tt := range []struct {
		name       string
		in         []float64
		conf       float64
		lo, mid, h float64
		wantConf   float64
	}{
		// 1 - 2/2^6: only [min, max] reaches 95% with six values.
		{"six", seq(6), 0.95, 1, 3.5, 6, 1 - 2.0/64},
		// 1 - 2(1+10)/2^10: [x(2), x(9)].
		{"ten", seq(10), 0.95, 2, 5.5, 9, 1 - 22.0/1024},
		// 1 - 2(1+15+105+455)/2^15: [x(4), x(12)].
		{"fifteen", seq(15), 0.95, 4, 8, 12, 1 - 1152.0/32768},
		// Too few for 95%: [min, max] with its real 1 - 2/2^5.
		{"five", seq(5), 0.95, 1, 3, 5, 1 - 2.0/32},
		{"one", []float64{2}, 0.95, 2, 2, 2, 0},
		// A lower confidence asked for: a narrower interval.
		{"ten at 80%", seq(10), 0.80, 3, 5.5, 8, 1 - 2.0*56/1024},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := MedianInterval(tt.in, tt.conf)
			if got.Lo != tt.lo || got.Mid != tt.mid || got.Hi != tt.h || math.Abs(got.Conf-tt.wantConf) > 1e-12 || got.N != len(tt.in) {
				t.Errorf("MedianInterval(%v, %v) = %+v, want [%v %v %v] conf %v", tt.in, tt.conf, got, tt.lo, tt.mid, tt.h, tt.wantConf)
			}
		})
	}
}

func TestMinRounds(t *testing.T) {
	for _, tt := range []struct {
		conf float64
		want int
	}{{0.95, 6}, {0.99, 8}, {0.5, 2}} {
		if got := MinRounds(tt.conf); got != tt.want {
			t.Errorf("MinRounds(%v) = %d, want %d", tt.conf, got, tt.want)
		}
	}
}

// Speedups are per-round ratios: a drift that slows both models in a
// round cancels out, where the ratio of the two medians would not.
func TestSpeedupPairsRounds(t *testing.T) {
	base := []float64{100, 200, 100, 200, 100, 200, 100, 200}
	x := []float64{50, 100, 50, 100, 50, 100, 50, 100} // always exactly 2x
	got := Speedup(base, x, 0.95)
	if got.Mid != 2 || got.Lo != 2 || got.Hi != 2 || got.N != 8 {
		t.Errorf("Speedup of a steady 2x under drift = %+v, want 2 [2–2] from 8 rounds", got)
	}
	// A round in which either was not measured does not count.
	got = Speedup([]float64{100, 0, 100}, []float64{50, 50, math.NaN()}, 0.95)
	if got.N != 1 || got.Mid != 2 {
		t.Errorf("Speedup with unmeasured rounds = %+v, want 2 from 1 round", got)
	}
}

func TestIntervalWords(t *testing.T) {
	iv := Interval{Mid: 1.93, Lo: 1.88, Hi: 1.98, Conf: 0.96, N: 10}
	for _, tt := range []struct {
		name string
		got  bool
		want bool
	}{
		{"known to ±5%", iv.Known(0.05, 0.95), true},
		{"not known to ±2%", iv.Known(0.02, 0.95), false},
		{"not at 99%", iv.Known(0.05, 0.99), false},
		{"contains 1.9", iv.Contains(1.9), true},
		{"does not contain 1", iv.Contains(1), false},
		{"above 1.5", iv.Above(1.5), true},
		{"not above 1.9", iv.Above(1.9), false},
		{"below 2", iv.Below(2), true},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if got, want := iv.Format("%.2f", "x"), "1.93x [1.88–1.98]"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, want := (Interval{Mid: 2, Lo: 2, Hi: 2, N: 1}).Format("%.2f", "x"), "2.00x"; got != want {
		t.Errorf("Format of one measurement = %q, want %q", got, want)
	}
	if got := (Interval{Mid: 0}).RelHalfWidth(); !math.IsInf(got, 1) {
		t.Errorf("RelHalfWidth of a zero estimate = %v, want +Inf", got)
	}
}

// Synthetic speedups from a known serial fraction are fitted back.
func TestAmdahlFit(t *testing.T) {
	workers := []int{1, 2, 4, 8}
	for _, s := range []float64{0, 0.1, 0.25, 0.5, 1} {
		var sp []float64
		for _, p := range workers {
			sp = append(sp, AmdahlSpeedup(s, p))
		}
		if got := AmdahlFit(workers, sp); math.Abs(got-s) > 1e-9 {
			t.Errorf("AmdahlFit of speedups with s=%v: got %v, want %v", s, got, s)
		}
	}
	if got := AmdahlFit([]int{1, 1}, []float64{1, 1}); !math.IsNaN(got) {
		t.Errorf("AmdahlFit with one worker only = %v, want NaN", got)
	}
	// Better than linear (a superlinear cache effect) clamps at 0.
	if got := AmdahlFit([]int{2, 4}, []float64{2.2, 4.5}); got != 0 {
		t.Errorf("AmdahlFit of superlinear speedups = %v, want 0", got)
	}
}

func TestSerialFraction(t *testing.T) {
	workers := []int{1, 2, 4, 8}
	var rounds [][]float64
	for r := range 8 {
		s := 0.2 + 0.01*float64(r%3-1) // 0.19, 0.20, 0.21
		var sp []float64
		for _, p := range workers {
			sp = append(sp, AmdahlSpeedup(s, p))
		}
		rounds = append(rounds, sp)
	}
	got := SerialFraction(workers, rounds, 0.95)
	if math.Abs(got.Mid-0.2) > 1e-9 || math.Abs(got.Lo-0.19) > 1e-9 || math.Abs(got.Hi-0.21) > 1e-9 || got.N != 8 {
		t.Errorf("SerialFraction = %+v, want 0.2 [0.19–0.21] from 8 rounds", got)
	}
}
