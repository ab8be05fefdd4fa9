package stats

import "math"

// AmdahlFit returns the serial fraction s that best explains speedups
// measured at the given worker counts by Amdahl's law,
//
//	speedup(p) = 1 / (s + (1−s)/p),
//
// fitted by least squares on 1/speedup, which the law makes linear in s:
// 1/speedup − 1/p = s·(1 − 1/p). s is clamped to [0, 1]. Points at one
// worker say nothing about s and carry no weight; NaN when no point does.
func AmdahlFit(workers []int, speedups []float64) float64 {
	var num, den float64
	for i := range min(len(workers), len(speedups)) {
		p, sp := float64(workers[i]), speedups[i]
		if p <= 1 || sp <= 0 || math.IsNaN(sp) || math.IsInf(sp, 0) {
			continue
		}
		a := 1 - 1/p
		num += (1/sp - 1/p) * a
		den += a * a
	}
	if den == 0 {
		return math.NaN()
	}
	return math.Min(1, math.Max(0, num/den))
}

// AmdahlSpeedup is the speedup Amdahl's law predicts at p workers for
// serial fraction s.
func AmdahlSpeedup(s float64, p int) float64 {
	return 1 / (s + (1-s)/float64(p))
}

// SerialFraction fits Amdahl's law round by round — rounds[r][i] is the
// speedup measured in round r at workers[i] — and returns the median of
// the per-round serial fractions with its interval (MedianInterval). A
// round's fit pairs the counts measured side by side in that round, so a
// slow round moves every count alike and leaves its fit nearly alone.
func SerialFraction(workers []int, rounds [][]float64, conf float64) Interval {
	var fits []float64
	for _, sp := range rounds {
		if s := AmdahlFit(workers, sp); !math.IsNaN(s) {
			fits = append(fits, s)
		}
	}
	return MedianInterval(fits, conf)
}
