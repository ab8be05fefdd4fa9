// Package stats turns repeated measurements into figures with their
// uncertainty: a median and a distribution-free confidence interval for it,
// and the speedup of one model over another from rounds in which the two
// ran side by side. It is what lets a run say "1.93x [1.88–1.98]" instead
// of one round's ratio, which on a noisy machine moves ±25%.
//
// Intervals come from order statistics, the method benchstat uses: for n
// measurements sorted x(1) ≤ … ≤ x(n), the interval [x(k), x(n+1-k)]
// contains the true median with probability 1 − 2·P(B ≤ k−1), B a
// binomial(n, ½) count, whatever the distribution of the measurements. So
// no normal shape is assumed (timings are skewed: a slow round is much
// slower, a fast one only a little faster), and the stated confidence is
// exact. The price is that a 95% interval needs at least 6 measurements;
// with fewer, the widest interval [min, max] is reported with the lower
// confidence it really has.
package stats

import (
	"fmt"
	"math"
	"slices"
)

// Interval is an estimate with its confidence interval.
type Interval struct {
	Mid float64 `json:"mid"` // the estimate: a median
	Lo  float64 `json:"lo"`  // the interval's ends, Lo ≤ Mid ≤ Hi
	Hi  float64 `json:"hi"`
	// Conf is the interval's real confidence, e.g. 0.961; it is below the
	// confidence asked for when there were too few measurements.
	Conf float64 `json:"conf"`
	N    int     `json:"n"` // measurements behind it
}

// Median returns the median of xs (the mean of the two middle values for
// an even count), or NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianInterval returns the median of xs and the narrowest interval of
// order statistics [x(k), x(n+1-k)] whose confidence is at least conf
// (e.g. 0.95). With too few values for conf it returns [min, max] and its
// real, lower confidence. For no values it returns NaNs.
func MedianInterval(xs []float64, conf float64) Interval {
	n := len(xs)
	if n == 0 {
		nan := math.NaN()
		return Interval{Mid: nan, Lo: nan, Hi: nan}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := 1 // the widest interval
	for k+1 <= (n+1)/2 && coverage(n, k+1) >= conf {
		k++
	}
	return Interval{Mid: Median(s), Lo: s[k-1], Hi: s[n-k], Conf: coverage(n, k), N: n}
}

// MinRounds returns the fewest measurements for which MedianInterval can
// reach confidence conf.
func MinRounds(conf float64) int {
	n := 1
	for coverage(n, 1) < conf {
		n++
	}
	return n
}

// coverage is the probability that [x(k), x(n+1-k)] of n measurements
// contains the median: 1 − 2·P(B ≤ k−1), B ~ binomial(n, ½).
func coverage(n, k int) float64 {
	if 2*k > n+1 {
		return 0
	}
	tail := 0.0
	for i := 0; i < k; i++ {
		tail += binomialHalf(n, i)
	}
	return math.Max(0, 1-2*tail)
}

// binomialHalf is P(B = i) for B ~ binomial(n, ½), computed in logs so
// large n do not overflow.
func binomialHalf(n, i int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Exp(lg(n) - lg(i) - lg(n-i) - float64(n)*math.Ln2)
}

// Ratios returns base[i]/x[i] for each round i in which both were
// measured (a value ≤ 0 or NaN is not a measurement): the per-round
// speedups of x over base when the two ran side by side in each round.
func Ratios(base, x []float64) []float64 {
	var out []float64
	for i := range min(len(base), len(x)) {
		b, v := base[i], x[i]
		if b > 0 && v > 0 && !math.IsNaN(b) && !math.IsNaN(v) && !math.IsInf(b, 0) && !math.IsInf(v, 0) {
			out = append(out, b/v)
		}
	}
	return out
}

// Speedup returns the speedup of x over base and its interval, from
// rounds in which both ran side by side: the median of the per-round
// ratios base[i]/x[i], with MedianInterval's interval. Pairing by round
// cancels what drifts between rounds (the machine's speed, other
// programs' load) from the ratio.
func Speedup(base, x []float64, conf float64) Interval {
	return MedianInterval(Ratios(base, x), conf)
}

// RelHalfWidth is the interval's half width relative to its estimate,
// e.g. 0.03 for 1.93 [1.88–1.98]; +Inf when it cannot be said.
func (iv Interval) RelHalfWidth() float64 {
	if iv.Mid <= 0 || math.IsNaN(iv.Mid) || math.IsNaN(iv.Lo) || math.IsNaN(iv.Hi) {
		return math.Inf(1)
	}
	return (iv.Hi - iv.Lo) / 2 / iv.Mid
}

// Known tells whether the estimate is known to within ±rel (e.g. 0.05)
// at confidence conf: the interval is that narrow and that confident.
func (iv Interval) Known(rel, conf float64) bool {
	return iv.Conf >= conf && iv.RelHalfWidth() <= rel
}

// Contains tells whether v lies in the interval.
func (iv Interval) Contains(v float64) bool { return iv.Lo <= v && v <= iv.Hi }

// Above tells whether the whole interval lies above v.
func (iv Interval) Above(v float64) bool { return iv.Lo > v }

// Below tells whether the whole interval lies below v.
func (iv Interval) Below(v float64) bool { return iv.Hi < v }

// Format writes the estimate and its interval with the given verb's
// precision and a unit suffix, e.g. Format("%.2f", "x") gives
// "1.93x [1.88–1.98]"; with a single measurement only the estimate.
func (iv Interval) Format(verb, unit string) string {
	mid := fmt.Sprintf(verb, iv.Mid) + unit
	if iv.N < 2 || math.IsNaN(iv.Lo) {
		return mid
	}
	return fmt.Sprintf("%s [%s–%s]", mid, fmt.Sprintf(verb, iv.Lo), fmt.Sprintf(verb, iv.Hi))
}
