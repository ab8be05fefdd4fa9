package models

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"atonce/models/stats"
)

// Conf is the confidence of every interval a comparison reports: 95%.
const Conf = 0.95

// Precision is how well a comparison wants each speedup known: to within
// ±5% of it at confidence Conf (stats.Interval.Known).
const Precision = 0.05

// Round is what one model's run measured in one round of a comparison,
// the rounds in which every model takes its turn (see Combine).
type Round struct {
	Wall     time.Duration `json:"wall_ns"`
	CPU      time.Duration `json:"cpu_ns"`
	OtherCPU time.Duration `json:"other_cpu_ns,omitempty"` // Report.OtherCPU of the round
	// Calibration is how long the calibration loop (Calibrate) took just
	// before the round: the machine's own speed at the time, which moves
	// when other programs or the CPU's clock do.
	Calibration time.Duration `json:"calibration_ns,omitempty"`
	// Failed tells that a task failed in the round.
	Failed bool `json:"failed,omitempty"`
}

// RoundOf is what rep measured, as a round, with the calibration time
// taken before it.
func RoundOf(rep Report, calibration time.Duration) Round {
	return Round{Wall: rep.Wall, CPU: rep.CPU, OtherCPU: rep.OtherCPU, Calibration: calibration, Failed: tasksFailed(rep)}
}

func tasksFailed(rep Report) bool {
	return slices.ContainsFunc(rep.Tasks, func(t TaskRecord) bool { return t.Err != "" })
}

// Combine makes one report of a model's runs in the rounds of a
// comparison, runs[i] made in round i after a calibration that took
// calibrations[i]: the report of the median run (by wall time; of two in
// the middle, the faster), so that its tasks, states and values are one
// real run's, with every round in Rounds, MedianRound saying which it is,
// CPUs the processors its workers could use (Cores), and a note when the
// rounds disagree more than the machine's noise explains (NoiseNote). Speedups need the other models' rounds: see
// SetSpeedups.
func Combine(runs []Report, calibrations []time.Duration) Report {
	if len(runs) == 0 {
		return Report{}
	}
	rounds := make([]Round, len(runs))
	for i, r := range runs {
		var cal time.Duration
		if i < len(calibrations) {
			cal = calibrations[i]
		}
		rounds[i] = RoundOf(r, cal)
	}
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(runs[a].Wall, runs[b].Wall) })
	mid := order[(len(order)-1)/2]
	rep := runs[mid]
	rep.Rounds, rep.MedianRound = rounds, mid
	rep.CPUs = rep.Cores()
	rep.Notes = slices.Clone(rep.Notes)
	if note := NoiseNote(rounds); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	return rep
}

// SetSpeedups sets every report's Speedup (SpeedupOf) among reports.
func SetSpeedups(reports []Report) {
	for i, r := range reports {
		reports[i].Speedup = stats.Interval{}
		if iv, ok := SpeedupOf(reports, r); ok {
			reports[i].Speedup = iv
		}
	}
}

// SpeedupOf is r's speedup over the baseline run of its mode among
// reports (BaselineRun), with its Conf interval: from the rounds in which
// both ran side by side, the median of the per-round ratios of the
// baseline's wall time to r's (stats.Speedup), so that what drifts
// between rounds cancels out; from their one run each when either has no
// rounds (an interval of one measurement). False when there is no
// baseline to compare with or r did not run to the end.
func SpeedupOf(reports []Report, r Report) (stats.Interval, bool) {
	b, ok := baselineOf(reports, r.Mode)
	if !ok || r.Wall <= 0 || r.Err != "" {
		return stats.Interval{}, false
	}
	if len(b.Rounds) > 0 && len(r.Rounds) > 0 {
		if iv := stats.Speedup(walls(b.Rounds), walls(r.Rounds), Conf); iv.N > 0 {
			return iv, true
		}
	}
	s := float64(b.Wall) / float64(r.Wall)
	return stats.Interval{Mid: s, Lo: s, Hi: s, N: 1}, true
}

// walls are the rounds' wall times in seconds.
func walls(rounds []Round) []float64 {
	out := make([]float64, len(rounds))
	for i, r := range rounds {
		out[i] = r.Wall.Seconds()
	}
	return out
}

// cpus are the rounds' CPU times in seconds.
func cpus(rounds []Round) []float64 {
	out := make([]float64, len(rounds))
	for i, r := range rounds {
		out[i] = r.CPU.Seconds()
	}
	return out
}

// WallInterval is the median of r's wall times over its rounds with its
// Conf interval, in seconds; over its one run when it has no rounds.
func (r Report) WallInterval() stats.Interval {
	if len(r.Rounds) == 0 {
		s := r.Wall.Seconds()
		return stats.Interval{Mid: s, Lo: s, Hi: s, N: 1}
	}
	return stats.MedianInterval(walls(r.Rounds), Conf)
}

// MedianWall and MedianCPU are r's median wall and CPU time over its
// rounds (Wall and CPU when it has none).
func (r Report) MedianWall() time.Duration {
	if len(r.Rounds) == 0 {
		return r.Wall
	}
	return seconds(stats.Median(walls(r.Rounds)))
}

// MedianCPU is r's median CPU time over its rounds (CPU when it has none).
func (r Report) MedianCPU() time.Duration {
	if len(r.Rounds) == 0 {
		return r.CPU
	}
	return seconds(stats.Median(cpus(r.Rounds)))
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// Known tells whether every report's figure is known to within
// ±Precision at confidence Conf: its speedup (SpeedupOf), or, for a
// model with no baseline to compare with, its wall time. A comparison
// may stop taking rounds once it is.
func Known(reports []Report) bool {
	_, iv, ok := LeastKnown(reports)
	return !ok || iv.Known(Precision, Conf)
}

// LeastKnown returns the report among reports whose figure is known
// least well, with that figure's interval: its speedup (SpeedupOf), or,
// for a model with no baseline to compare with, its wall time
// (WallInterval). An interval of less than Conf confidence counts as
// less well known than any of Conf; among those of Conf, the widest
// relative to its estimate (stats.Interval.RelHalfWidth). False when
// every report is a baseline, whose speedup is 1 by definition.
func LeastKnown(reports []Report) (Report, stats.Interval, bool) {
	var least Report
	var leastIV stats.Interval
	found := false
	for _, r := range reports {
		if r.Baseline {
			continue
		}
		iv, ok := SpeedupOf(reports, r)
		if !ok {
			iv = r.WallInterval()
		}
		if !found || lessKnown(iv, leastIV) {
			least, leastIV, found = r, iv, true
		}
	}
	return least, leastIV, found
}

// lessKnown tells whether a is known less well than b: of less than Conf
// confidence while b is not, or, alike in that, wider (RelHalfWidth).
func lessKnown(a, b stats.Interval) bool {
	if aLow, bLow := a.Conf < Conf, b.Conf < Conf; aLow != bLow {
		return aLow
	}
	return a.RelHalfWidth() > b.RelHalfWidth()
}

// Cores is how many processors r's workers could use: CPUs when set;
// else the sum over the hosts its worker processes ran on of their
// processors, when they said; else this machine's.
func (r Report) Cores() int {
	if r.CPUs > 0 {
		return r.CPUs
	}
	hosts := map[string]int{}
	for _, w := range r.Pool {
		if w.CPUs > 0 {
			hosts[w.Host] = w.CPUs
		}
	}
	n := 0
	for _, c := range hosts {
		n += c
	}
	if n == 0 {
		return runtime.NumCPU()
	}
	return n
}

// Ideal is r's speedup over the baseline if its tasks only computed and
// the model lost nothing to running them: its workers for a parallel
// model, at most the processors they had (Cores); 1 for the others.
func (r Report) Ideal() float64 {
	if !r.Parallel || r.Workers <= 1 {
		return 1
	}
	return float64(min(r.Workers, r.Cores()))
}

// Reading says in words what r's speedup among reports means, from its
// interval rather than its estimate: "no faster than sequential" when
// the interval contains 1, "as fast as the 2 cores allow" when it
// contains the ideal (Ideal), and so on. It is "" for the baseline, for
// a report with no speedup, and for one measured in a single round,
// whose interval says nothing; "cannot tell" for one of too few rounds
// for a Conf interval.
func Reading(reports []Report, r Report) string {
	iv, ok := SpeedupOf(reports, r)
	if !ok || r.Baseline || iv.N < 2 {
		return ""
	}
	if iv.Conf < Conf {
		// Too few rounds: what the interval seems to say may be noise,
		// as the verdict says too (its "Cannot tell").
		return fmt.Sprintf("cannot tell: too few rounds for %.0f%%", 100*Conf)
	}
	base := baselineName(reports)
	ideal := r.Ideal()
	switch {
	case iv.Contains(1):
		return "no faster than " + base
	case iv.Below(1):
		return "slower than " + base
	case ideal > 1 && iv.Contains(ideal):
		if int(ideal) < r.Cores() {
			return fmt.Sprintf("as fast as its %d %s allow", int(ideal), r.Nouns)
		}
		return fmt.Sprintf("as fast as the %d cores allow", int(ideal))
	case iv.Above(ideal):
		if r.Parallel {
			return "beyond its ideal: the tasks wait more than they compute"
		}
		return "faster than " + base + ": the tasks wait more than they compute"
	}
	return fmt.Sprintf("faster than %s, short of the ideal %gx", base, ideal)
}

// NoiseNote says, for a model's rounds, when they disagree more than the
// machine's noise explains: the spread of its wall times (their median
// absolute deviation relative to their median) is over 5% and over twice
// what the calibration loop's spread and the spread of other programs'
// CPU (in cores, over each round's wall time) add up to. Then something
// in the run itself varies from round to round, and its figures deserve
// doubt the machine does not account for. "" when it does not, or with
// fewer than 4 rounds.
func NoiseNote(rounds []Round) string {
	if len(rounds) < 4 {
		return ""
	}
	var wall, cal, other []float64
	for _, r := range rounds {
		if r.Wall <= 0 {
			continue
		}
		wall = append(wall, r.Wall.Seconds())
		if r.Calibration > 0 {
			cal = append(cal, r.Calibration.Seconds())
		}
		other = append(other, r.OtherCPU.Seconds()/r.Wall.Seconds())
	}
	if len(wall) < 4 {
		return ""
	}
	w := spread(wall)
	c := spread(cal)
	o := absDeviation(other)
	if w <= 0.05 || w <= 2*(c+o) {
		return ""
	}
	return fmt.Sprintf("its rounds disagree more than the machine's noise explains: wall times spread ±%.0f%% (median deviation), the calibration loop ±%.0f%%, other programs' CPU ±%.0f%% of a core; something in the run itself varies from round to round (scheduling, the collector, a lock's luck)",
		100*w, 100*c, 100*o)
}

// spread is the median absolute deviation of xs relative to their
// median; 0 for none.
func spread(xs []float64) float64 {
	m := stats.Median(xs)
	if len(xs) == 0 || m <= 0 {
		return 0
	}
	return absDeviation(xs) / m
}

// absDeviation is the median absolute deviation of xs from their median.
func absDeviation(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := stats.Median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - m)
	}
	return stats.Median(dev)
}
