package models

import (
	"fmt"
	"math"
	"slices"
	"time"

	"atonce/models/stats"
)

// Scaling is how one model's speedup grows with its number of workers
// (`%%models -workers 1,2,4,8`): the model ran at each count, taking
// turns round by round with the baseline, and Amdahl's law is fitted to
// the speedups.
//
// Amdahl's law counts processors, not workers: a CPU-bound task on 8
// workers on 2 cores has 2 processors. So when no count's speedup is
// known to beat the cores (its interval lies above Cores), the fit and
// Predicted use min(workers, Cores) processors (CappedAtCores); a task
// that waits overlaps its waiting beyond the cores, and is fitted on its
// workers.
type Scaling struct {
	// Model is the report's name for the model (Report.Label when the
	// run had several modes), Mode how its code ran.
	Model string `json:"model"`
	Mode  Mode   `json:"mode,omitempty"`
	// Traits are the model's traits.
	Traits Traits `json:"traits"`
	// Baseline names the model the speedups are over.
	Baseline string `json:"baseline"`
	// Cores is the number of CPUs the runs could use.
	Cores int `json:"cores"`
	// Workers are the counts, ascending.
	Workers []int `json:"workers"`
	// Speedups[i] is the speedup over the baseline at Workers[i], the
	// median of the rounds' ratios with its interval (stats.Speedup).
	Speedups []stats.Interval `json:"speedups"`
	// Rounds[r][i] is round r's speedup at Workers[i] (NaN when that run
	// failed).
	Rounds [][]float64 `json:"rounds"`
	// Serial is Amdahl's serial fraction, fitted round by round
	// (stats.SerialFraction), with its interval; NaN when no count above
	// one processor ran.
	Serial stats.Interval `json:"serial"`
	// CappedAtCores tells whether the fit counts min(workers, Cores)
	// processors (see the type's comment).
	CappedAtCores bool `json:"capped_at_cores,omitempty"`
}

// Measure returns s, whose Model, Mode, Traits, Baseline, Cores and
// Workers (ascending) are set, with its speedups and fit measured from its
// runs: base[r] is the baseline's wall time in round r, walls[r][i] the
// model's in round r at Workers[i] (0 for a run that failed or did not
// happen). Intervals have confidence Conf.
func (s Scaling) Measure(base []time.Duration, walls [][]time.Duration) Scaling {
	workers, cores := slices.Clone(s.Workers), s.Cores
	s.Workers, s.Rounds, s.Speedups = workers, nil, nil
	for r := range base {
		row := make([]float64, len(workers))
		for i := range workers {
			row[i] = math.NaN()
			if r < len(walls) && i < len(walls[r]) && walls[r][i] > 0 && base[r] > 0 {
				row[i] = float64(base[r]) / float64(walls[r][i])
			}
		}
		s.Rounds = append(s.Rounds, row)
	}
	for i := range workers {
		var b, x []float64
		for r := range base {
			if r < len(walls) && i < len(walls[r]) {
				b = append(b, float64(base[r]))
				x = append(x, float64(walls[r][i]))
			}
		}
		s.Speedups = append(s.Speedups, stats.Speedup(b, x, Conf))
	}
	s.CappedAtCores = cores > 0
	for i, p := range workers {
		if p > cores && s.Speedups[i].Above(float64(cores)) {
			s.CappedAtCores = false
		}
	}
	s.Serial = stats.SerialFraction(s.processors(), s.Rounds, Conf)
	return s
}

// Processors is how many processors Amdahl's law counts at p workers:
// p, or at most Cores when CappedAtCores.
func (s Scaling) Processors(p int) int {
	if s.CappedAtCores && p > s.Cores {
		return s.Cores
	}
	return p
}

// processors is Processors of each count.
func (s Scaling) processors() []int {
	out := make([]int, len(s.Workers))
	for i, p := range s.Workers {
		out[i] = s.Processors(p)
	}
	return out
}

// Predicted is the speedup Amdahl's law predicts at p workers for the
// fitted serial fraction s (Serial.Mid, or the given one); NaN without a
// fit.
func (s Scaling) Predicted(serial float64, p int) float64 {
	if math.IsNaN(serial) || p <= 0 {
		return math.NaN()
	}
	return stats.AmdahlSpeedup(serial, s.Processors(p))
}

// Best returns the index of the count with the highest median speedup,
// -1 when none was measured.
func (s Scaling) Best() int {
	best := -1
	for i, iv := range s.Speedups {
		if math.IsNaN(iv.Mid) {
			continue
		}
		if best < 0 || iv.Mid > s.Speedups[best].Mid {
			best = i
		}
	}
	return best
}

// SerialWords writes the serial fraction with its interval as
// percentages: "4% [2–6%]", "4.2% [4.0–4.5%]" when a fraction under 10%
// has an interval narrower than two points, "4%" from one round, "" without
// a fit.
func (s Scaling) SerialWords() string {
	iv := s.Serial
	if math.IsNaN(iv.Mid) {
		return ""
	}
	verb := "%.0f"
	if iv.N >= 2 && iv.Hi-iv.Lo < 0.02 && iv.Mid < 0.1 {
		verb = "%.1f"
	}
	mid := fmt.Sprintf(verb+"%%", 100*iv.Mid)
	if iv.N < 2 || math.IsNaN(iv.Lo) {
		return mid
	}
	return fmt.Sprintf("%s ["+verb+"–"+verb+"%%]", mid, 100*iv.Lo, 100*iv.Hi)
}
