package modelrun

import (
	"fmt"
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
// measured time (the models' runs, not what happens between them); known
// tells whether every figure is known well enough (models.Known) and
// failed whether a task failed in the last round. When it is no, why
// says what stopped the run.
func (p plan) next(done int, measured time.Duration, known, failed bool) (more bool, why string) {
	if p.exact > 0 {
		if done >= p.exact {
			return false, fmt.Sprintf("as asked: -repeat %d", p.exact)
		}
		return true, ""
	}
	switch {
	case failed:
		return false, "a task failed: more rounds would only measure failures"
	case done >= p.most && !p.shortSoFar(done, measured):
		if done > p.most {
			return false, fmt.Sprintf("%d short rounds, %s of them in all: -rounds N or -budget DUR for more", done, measured.Round(time.Millisecond))
		}
		return false, fmt.Sprintf("the most rounds, %d: -rounds N for more", p.most)
	case known && done >= stats.MinRounds(models.Conf):
		return false, fmt.Sprintf("every speedup known to ±%.0f%% at %.0f%% confidence", 100*models.Precision, 100*models.Conf)
	case done >= min(FewestRounds, p.most) && measured+measured/time.Duration(done) > p.budget:
		return false, fmt.Sprintf("the time budget spent, %s of rounds: -budget DUR for more", p.budget)
	}
	return true, ""
}
