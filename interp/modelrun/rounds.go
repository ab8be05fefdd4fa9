package modelrun

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"atonce/models"
	"atonce/models/stats"
)

// A run's rounds, unless the spec says otherwise (-rounds, -budget).
const (
	// DefaultRounds is the most rounds a run takes, unless its rounds
	// are short (see shortShare).
	DefaultRounds = 15
	// DefaultBudget is the measured time after which a run starts no
	// round, once it has taken FewestRounds.
	DefaultBudget = 10 * time.Second
	// FewestRounds is how many rounds a run takes however long they are
	// (unless -rounds says fewer): fewer give an interval of little
	// confidence (three rounds: 75%).
	FewestRounds = 3
	// MaxRounds bounds -rounds and -repeat, and the rounds a run of
	// short rounds takes.
	MaxRounds = 100
	// shortShare is the part of the budget under which a run's rounds
	// count as short: a run that leaves -rounds out goes on past
	// DefaultRounds (up to MaxRounds, until the speedups are known)
	// while its rounds so far took less than the budget over
	// shortShare — a fifth, 2 s of the default 10 s. Rounds of a few
	// milliseconds (native code, small tasks) are cheap, and their
	// noise is large next to them: more of them is what narrows their
	// intervals.
	shortShare = 5
)

// plan is how many rounds a run takes: exactly exact (-repeat), or, when
// exact is 0, rounds until every speedup is known to ±5% at 95%
// confidence (models.Known), within most rounds and a budget of measured
// time.
type plan struct {
	exact  int
	most   int
	budget time.Duration
	// short tells whether short rounds may go past most (the user did
	// not say -rounds).
	short bool
}

// plan is the spec's plan, with the defaults for what it leaves at 0.
func (s Spec) plan() plan {
	p := plan{exact: s.Repeat, most: s.Rounds, budget: s.Budget}
	if p.most <= 0 {
		p.most, p.short = DefaultRounds, true
	}
	if p.budget <= 0 {
		p.budget = DefaultBudget
	}
	return p
}

// warmUp tells whether an unmeasured round comes first: whenever more
// than one round may be measured. A run of one round (-repeat 1) keeps
// to the one untimed task it always had, so that it costs what it did.
func (p plan) warmUp() bool {
	if p.exact > 0 {
		return p.exact > 1
	}
	return p.most > 1
}

// upTo is the most rounds the plan may take, as round starts: the most
// rounds, or, once short rounds went past them, MaxRounds.
func (p plan) upTo(round int) int {
	if p.exact > 0 {
		return p.exact
	}
	if p.short && round > p.most {
		return MaxRounds
	}
	return p.most
}

// shortSoFar tells whether done rounds that took measured time are short
// enough to go past the plan's most rounds.
func (p plan) shortSoFar(done int, measured time.Duration) bool {
	return p.short && done < MaxRounds && measured < p.budget/shortShare
}

// next tells whether another round follows the done rounds, which took
// measured time (the models' runs, not what happens between them) and
// gave reports (combined so far); failed tells whether a task failed in
// the last round. When it is no, why says what stopped the run, and,
// when that was the rounds or the budget running out before every
// figure was known (models.Known), what would know it (toKnow).
func (p plan) next(done int, measured time.Duration, reports []models.Report, failed bool) (more bool, why string) {
	if p.exact > 0 {
		if done >= p.exact {
			return false, fmt.Sprintf("as asked: -repeat %d", p.exact)
		}
		return true, ""
	}
	known := models.Known(reports)
	switch {
	case failed:
		return false, "a task failed: more rounds would only measure failures"
	case done >= p.most && !p.shortSoFar(done, measured):
		if done > p.most {
			why = fmt.Sprintf("%d short rounds, %s of them in all", done, measured.Round(time.Millisecond))
		} else {
			why = fmt.Sprintf("the most rounds, %d", p.most)
		}
	case known && done >= stats.MinRounds(models.Conf):
		return false, fmt.Sprintf("every speedup known to ±%.0f%% at %.0f%% confidence", 100*models.Precision, 100*models.Conf)
	case done >= min(FewestRounds, p.most) && measured+measured/time.Duration(done) > p.budget:
		why = fmt.Sprintf("the time budget spent, %s of rounds", p.budget)
	default:
		return true, ""
	}
	if hint := p.toKnow(reports, done, measured); hint != "" {
		return false, why + ": " + hint
	}
	return false, why
}

// toKnow says, for a run that stopped after done rounds (which took
// measured time) before every figure was known to ±models.Precision,
// what would know it, from the least-known figure (models.LeastKnown):
// an interval of order statistics narrows as one over the square root
// of the rounds, so ±w after done rounds becomes ±Precision after about
// done·(w/Precision)² of them; an interval of too few rounds for its
// confidence needs stats.MinRounds. It names the flags (-rounds, -budget
// with a tenth to spare) that allow them, beyond what the plan allowed.
// "" when every figure is known or there is nothing to go by.
func (p plan) toKnow(reports []models.Report, done int, measured time.Duration) string {
	r, iv, ok := models.LeastKnown(models.Labelled(reports))
	if !ok || done <= 0 || measured <= 0 || iv.Known(models.Precision, models.Conf) {
		return ""
	}
	least := stats.MinRounds(models.Conf)
	perRound := measured / time.Duration(done)
	flags := func(rounds int) string {
		var out []string
		if rounds > p.most {
			out = append(out, fmt.Sprintf("-rounds %d", rounds))
		}
		// The rounds' time with a tenth to spare, in whole seconds.
		budget := (perRound * time.Duration(rounds) * 11 / 10).Round(time.Second) + time.Second
		if budget > p.budget {
			out = append(out, "-budget "+budget.String())
		}
		return strings.Join(out, " ")
	}
	w := iv.RelHalfWidth()
	if iv.Conf < models.Conf || math.IsInf(w, 0) {
		f := flags(least)
		if f == "" {
			return ""
		}
		return fmt.Sprintf("the interval of %s has %.0f%% confidence after %d rounds; one of %.0f%% needs at least %d rounds: %s",
			r.Model, 100*iv.Conf, done, 100*models.Conf, least, f)
	}
	now := fmt.Sprintf("the interval of %s is ±%s after %d rounds", r.Model, percent(w), done)
	need := max(least, int(math.Ceil(float64(done)*(w/models.Precision)*(w/models.Precision))))
	if need > MaxRounds {
		return fmt.Sprintf("%s; ±%s would take about %d rounds, more than the %d a run may take: %s would narrow it to about ±%s",
			now, percent(models.Precision), need, MaxRounds, flags(MaxRounds), percent(w*math.Sqrt(float64(done)/MaxRounds)))
	}
	f := flags(need)
	if f == "" {
		return now
	}
	return fmt.Sprintf("%s; about %d rounds would know it to ±%s: %s", now, need, percent(models.Precision), f)
}

// percent writes a fraction as a percentage, with a decimal under 10%
// (5.3%, 5%, 12%), so that a width just over ±5% does not read as ±5%.
func percent(f float64) string {
	p := 100 * f
	if p < 9.95 {
		return strings.TrimSuffix(strconv.FormatFloat(p, 'f', 1, 64), ".0") + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}
