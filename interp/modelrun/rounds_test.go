package modelrun

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"atonce/models"
)

// synthetic is a comparison of sequential and threads whose runs are
// made up: sequential takes base, threads half of it, each run's wall
// time off by a normal error of relative size noise (a seeded generator,
// so every run of the test sees the same rounds). Nothing sleeps: the
// rounds' measured time is the made-up wall times, so the budget is
// spent without waiting for it.
type synthetic struct {
	base  time.Duration
	noise float64
	// failTask makes threads' tasks fail; crashFrom makes threads' run
	// fail (a native program that died) from its crashFrom'th run on (0:
	// never).
	failTask  bool
	crashFrom int
	rng       *rand.Rand
	calls     []string // "warm-up sequential", "sequential", ...
}

func (s *synthetic) run(spec Spec) (reports []models.Report, took int, why string, err error) {
	s.rng = rand.New(rand.NewPCG(1, 2))
	current := -1
	r := &rounds{spec: spec, hooks: Hooks{
		Round:   func(round, _ int) { current = round },
		Stopped: func(n int, w string) { took, why = n, w },
	}}
	calls := 0
	r.do = func(_ context.Context, k int, _ []models.Report) (models.Report, time.Duration, error) {
		name, _ := r.slot(k)
		if current == 0 {
			name = "warm-up " + name
		}
		s.calls = append(s.calls, name)
		name = strings.TrimPrefix(name, "warm-up ")
		if name == "threads" {
			calls++
		}
		wall, workers := s.base, 1
		if name == "threads" {
			wall, workers = s.base/2, 2
		}
		wall = time.Duration(float64(wall) * (1 + s.noise*s.rng.NormFloat64()))
		rep := models.Report{Model: name, Traits: models.TraitsOf(name), Workers: workers, Wall: wall, CPU: wall, CPUs: 2, Tasks: []models.TaskRecord{{Index: 0}}}
		if name == "threads" && s.failTask {
			rep.Tasks[0].Err = "boom"
		}
		if name == "threads" && s.crashFrom > 0 && calls >= s.crashFrom {
			rep.Err = "the native program died: fatal error: concurrent map writes"
		}
		return rep, wall, nil
	}
	reports, err = r.run(context.Background())
	return reports, took, why, err
}

// The stopping rule, on a synthetic model with known noise: a quiet one
// stops as soon as 95% intervals exist and are narrow; a noisy one spends
// its budget, in rounds (at most 15, or up to 100 while they took less
// than a fifth of the budget and -rounds was not given) or in time (10 s
// of rounds, but never fewer than 3 rounds); -repeat takes exactly its
// rounds; a task that fails ends the rounds. wantRounds -1 is more than
// 15 and fewer than 100.
func TestStoppingRule(t *testing.T) {
	adaptive := Spec{Models: []string{"sequential", "threads"}, Modes: []models.Mode{models.Interpreted}}
	for _, tt := range []struct {
		name       string
		spec       Spec
		model      synthetic
		wantRounds int
		wantWhy    string
	}{
		{"quiet: stops at the first 95% interval", adaptive, synthetic{base: 100 * time.Millisecond, noise: 0.005}, 6, "every speedup known to ±5% at 95% confidence"},
		{"noisy, short rounds: the most rounds", adaptive, synthetic{base: 100 * time.Millisecond, noise: 0.3}, DefaultRounds, "the most rounds, 15"},
		{"noisy, very short rounds: up to 100", adaptive, synthetic{base: 2 * time.Millisecond, noise: 0.3}, MaxRounds, "100 short rounds, "},
		{"noisy, short rounds: past 15 until a fifth of the budget", adaptive, synthetic{base: 20 * time.Millisecond, noise: 0.3}, -1, " short rounds, "},
		{"noisy, very short rounds, -rounds 15: 15", withPlan(adaptive, 0, DefaultRounds, 0), synthetic{base: 2 * time.Millisecond, noise: 0.3}, DefaultRounds, "the most rounds, 15"},
		{"noisy, long rounds: the time budget", adaptive, synthetic{base: 2 * time.Second, noise: 0.3}, 0, "the time budget spent, 10s of rounds"},
		{"quiet, rounds longer than the budget: still 3", adaptive, synthetic{base: 20 * time.Second, noise: 0.005}, FewestRounds, "the time budget spent"},
		{"noisy, -rounds 8", withPlan(adaptive, 0, 8, 0), synthetic{base: 100 * time.Millisecond, noise: 0.3}, 8, "the most rounds, 8"},
		{"noisy, -budget 2s", withPlan(adaptive, 0, 0, 2*time.Second), synthetic{base: 100 * time.Millisecond, noise: 0.3}, 0, "the time budget spent, 2s of rounds"},
		{"quiet, -repeat 4: exactly 4", withPlan(adaptive, 4, 0, 0), synthetic{base: 100 * time.Millisecond, noise: 0.005}, 4, "as asked: -repeat 4"},
		{"noisy, -repeat 1", withPlan(adaptive, 1, 0, 0), synthetic{base: 100 * time.Millisecond, noise: 0.3}, 1, "as asked: -repeat 1"},
		{"a task fails", adaptive, synthetic{base: 100 * time.Millisecond, noise: 0.005, failTask: true}, 1, "a task failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.model
			reports, rounds, why, err := s.run(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if (tt.wantRounds > 0 && rounds != tt.wantRounds) || (tt.wantRounds < 0 && (rounds <= DefaultRounds || rounds >= MaxRounds)) || !strings.Contains(why, tt.wantWhy) {
				t.Errorf("stopped after %d rounds (%s), want %d (%s)", rounds, why, tt.wantRounds, tt.wantWhy)
			}
			if tt.wantRounds == 0 {
				// Spent in time: the next round would have ended past
				// the budget (the mean round taken as the next one's
				// length), the last did not, and at least 3 rounds ran.
				budget := tt.spec.plan().budget
				var spent []time.Duration // spent[i]: after round i+1
				var sum time.Duration
				for i := range reports[0].Rounds {
					sum += reports[0].Rounds[i].Wall + reports[1].Rounds[i].Wall
					spent = append(spent, sum)
				}
				n := len(spent)
				past := func(i int) bool { return spent[i-1]+spent[i-1]/time.Duration(i) > budget }
				if n < FewestRounds || !past(n) || (n > FewestRounds && past(n-1)) {
					t.Errorf("stopped after %d rounds that took %v: the budget %s was not what stopped them", n, spent, budget)
				}
			}
			if len(reports) != 2 {
				t.Fatalf("%d reports, want 2", len(reports))
			}
			for _, r := range reports {
				if len(r.Rounds) != rounds {
					t.Errorf("%s has %d rounds, want %d", r.Model, len(r.Rounds), rounds)
				}
			}
			if sp := reports[1].Speedup; sp.N != rounds || !sp.Contains(reports[1].Speedup.Mid) {
				t.Errorf("threads' speedup %+v, want one from %d rounds", sp, rounds)
			}
			// A warm-up round first, but for a run of one round.
			warm := strings.Count(strings.Join(s.calls, ","), "warm-up")
			if want := 2; tt.spec.plan().upTo(0) == 1 {
				want = 0
				if warm != want {
					t.Errorf("%d warm-up runs, want %d", warm, want)
				}
			} else if warm != want {
				t.Errorf("%d warm-up runs, want %d: %v", warm, want, s.calls)
			}
			// The models took turns, each round starting one turn later.
			for i, c := range s.calls[warm:] {
				round, turn := i/2, i%2
				if want := []string{"sequential", "threads"}[(round+turn)%2]; c != want {
					t.Fatalf("run %d was %s, want %s: the models take turns, each round starting one later (%v)", i, c, want, s.calls)
				}
			}
		})
	}
}

// A native program that dies is that model's outcome, whichever round
// it died in, and the model takes no more turns; the others go on.
func TestFailedModelTakesNoMoreTurns(t *testing.T) {
	s := synthetic{base: 100 * time.Millisecond, noise: 0.005, crashFrom: 3} // a warm-up, round 1, round 2
	reports, rounds, _, err := s.run(Spec{Models: []string{"sequential", "threads"}, Modes: []models.Mode{models.Interpreted}})
	if err != nil {
		t.Fatal(err)
	}
	if rounds < 6 || len(reports) != 2 || len(reports[0].Rounds) != rounds {
		t.Fatalf("%d rounds, reports %d; want sequential to go on for at least 6 rounds", rounds, len(reports))
	}
	if thr := reports[1]; !strings.Contains(thr.Err, "concurrent map writes") {
		t.Errorf("threads' report has Err %q, want the crash", thr.Err)
	}
	if n := strings.Count(strings.Join(s.calls, ","), "threads"); n != 3 {
		t.Errorf("threads ran %d times, want 3 (a warm-up, round 1, the crash in round 2): %v", n, s.calls)
	}
}

func withPlan(s Spec, repeat, most int, budget time.Duration) Spec {
	s.Repeat, s.Rounds, s.Budget = repeat, most, budget
	return s
}

// After a model killed the engine, the new engine runs the models that
// had not finished: all but the crashed one when it crashed in the
// warm-up (nothing was done), those after it in the round otherwise, and
// a model done in one mode of two runs again.
func TestRemainingAfterACrash(t *testing.T) {
	in := func(model string, mode models.Mode) models.Report { return models.Report{Model: model, Mode: mode} }
	one := Spec{Models: []string{"sequential", "eventloop", "threads", "gil"}, Modes: []models.Mode{models.Interpreted}}
	both := Spec{Models: []string{"sequential", "threads", "gil"}, Modes: []models.Mode{models.Interpreted, models.Native}}
	for _, tt := range []struct {
		name    string
		spec    Spec
		done    []models.Report
		crashed string
		want    string
	}{
		{"in the warm-up", one, nil, "threads", "sequential,eventloop,gil"},
		{"in a round", one, []models.Report{in("sequential", models.Interpreted), in("eventloop", models.Interpreted)}, "threads", "gil"},
		{"native half", both, []models.Report{in("sequential", models.Interpreted), in("sequential", models.Native), in("threads", models.Interpreted)}, "threads", "gil"},
		{"one mode done", both, []models.Report{in("sequential", models.Interpreted)}, "threads", "sequential,gil"},
	} {
		if got := strings.Join(remaining(tt.spec, tt.done, tt.crashed), ","); got != tt.want {
			t.Errorf("%s: remaining = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// A run that stops before every speedup is known says what would know
// it, and that is true: the same synthetic model run again with the
// flags it names knows the speedup to about ±5%, or, when that needs
// more rounds than a run may take, to about the width it promised. An
// interval of too few rounds for 95% asks for the 6 rounds that give
// one.
func TestStopSaysWhatWouldKnowIt(t *testing.T) {
	adaptive := Spec{Models: []string{"sequential", "threads"}, Modes: []models.Mode{models.Interpreted}}
	flagsIn := regexp.MustCompile(`: ((?:-rounds \d+ ?)?(?:-budget \S+)?)(?: would narrow it to about ±([\d.]+)%)?$`)
	for _, tt := range []struct {
		name     string
		model    synthetic
		wantSaid string
		wantPct  float64 // the width the second run reaches, at most
		want95   bool    // the second run's interval has 95% confidence
	}{
		{"noisy, short rounds", synthetic{base: 100 * time.Millisecond, noise: 0.08}, "about 52 rounds would know it to ±5%: -rounds 52", 6, true},
		{"too noisy for 100 rounds", synthetic{base: 100 * time.Millisecond, noise: 0.3}, "more than the 100 a run may take: -rounds 100", 0, true},
		{"long rounds, 75%", synthetic{base: 2 * time.Second, noise: 0.02}, "one of 95% needs at least 6 rounds: -budget", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.model
			_, _, why, err := s.run(adaptive)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(why, tt.wantSaid) {
				t.Fatalf("stopped saying %q, want it to say %q", why, tt.wantSaid)
			}
			m := flagsIn.FindStringSubmatch(why)
			if m == nil {
				t.Fatalf("no flags at the end of %q", why)
			}
			spec, err := ParseSpec(m[1]+" Task", adaptive.Models)
			if err != nil {
				t.Fatalf("the flags %q it names do not parse: %v", m[1], err)
			}
			again := withPlan(adaptive, 0, spec.Rounds, spec.Budget)
			s2 := tt.model
			reports, _, why2, err := s2.run(again)
			if err != nil {
				t.Fatal(err)
			}
			iv := reports[1].Speedup
			limit := tt.wantPct
			if m[2] != "" {
				promised, _ := strconv.ParseFloat(m[2], 64)
				limit = promised * 1.3
			}
			if got := 100 * iv.RelHalfWidth(); limit > 0 && got > limit {
				t.Errorf("with %q the interval is ±%.1f%% (%s), want at most ±%.0f%% (first run: %s)", m[1], got, why2, limit, why)
			}
			if tt.want95 && iv.Conf < models.Conf {
				t.Errorf("with %q the interval has %.0f%% confidence, want 95%%", m[1], 100*iv.Conf)
			}
		})
	}
}
