package models_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"atonce/models"
	"atonce/models/stats"
)

const ms = time.Millisecond

// withRounds is a report of model whose rounds took walls (in ms), with
// its median round's wall as its own.
func withRounds(model string, workers int, wallsMs ...float64) models.Report {
	var runs []models.Report
	for _, w := range wallsMs {
		d := time.Duration(w * float64(ms))
		runs = append(runs, models.Report{Model: model, Traits: models.TraitsOf(model), Workers: workers, Wall: d, CPU: d})
	}
	return models.Combine(runs, nil)
}

func TestCombineKeepsTheMedianRound(t *testing.T) {
	var runs []models.Report
	for i, w := range []time.Duration{300, 100, 200, 500, 400} {
		runs = append(runs, models.Report{Model: "threads", Wall: w * ms, Tasks: []models.TaskRecord{{Index: i}}, Notes: []string{"n"}})
	}
	got := models.Combine(runs, []time.Duration{5 * ms, 5 * ms, 6 * ms, 5 * ms, 5 * ms})
	if got.Wall != 300*ms || got.MedianRound != 0 || got.Tasks[0].Index != 0 {
		t.Errorf("Combine kept the run of %v (round %d), want the median 300ms (round 0)", got.Wall, got.MedianRound)
	}
	if len(got.Rounds) != 5 || got.Rounds[2].Wall != 200*ms || got.Rounds[2].Calibration != 6*ms {
		t.Errorf("Combine's rounds = %+v, want all five in order with their calibrations", got.Rounds)
	}
	// Of two runs in the middle, the faster.
	if got := models.Combine(runs[:4], nil); got.Wall != 200*ms {
		t.Errorf("Combine of four kept %v, want the lower middle 200ms", got.Wall)
	}
	got.Notes = append(got.Notes, "more")
	if len(runs[0].Notes) != 1 {
		t.Error("Combine's report shares its notes with the run it came from")
	}
}

// Speedups pair the rounds: the ratio in each round, then their median
// and interval, not the ratio of two medians.
func TestSpeedupOfPairsRounds(t *testing.T) {
	// The machine is twice as slow in every other round; threads is
	// always exactly 2x in its round.
	seq := withRounds("sequential", 1, 100, 200, 100, 200, 100, 200, 100)
	thr := withRounds("threads", 2, 50, 100, 50, 100, 50, 100, 50)
	reports := []models.Report{seq, thr}
	models.SetSpeedups(reports)
	iv := reports[1].Speedup
	if iv.Mid != 2 || iv.Lo != 2 || iv.Hi != 2 || iv.N != 7 {
		t.Errorf("speedup under drift = %+v, want 2 [2–2] from 7 rounds", iv)
	}
	if base := reports[0].Speedup; base.Mid != 1 || base.N != 7 {
		t.Errorf("the baseline's speedup = %+v, want 1 from 7 rounds", base)
	}
	// Without rounds: one ratio, an interval of one measurement.
	one := []models.Report{
		{Model: "sequential", Traits: models.TraitsOf("sequential"), Workers: 1, Wall: 300 * ms},
		{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Wall: 200 * ms},
	}
	if iv, ok := models.SpeedupOf(one, one[1]); !ok || iv.Mid != 1.5 || iv.N != 1 {
		t.Errorf("SpeedupOf one run each = %+v, %v; want 1.5 from 1", iv, ok)
	}
	if _, ok := models.SpeedupOf(one[1:], one[1]); ok {
		t.Error("SpeedupOf with no baseline said it had a speedup")
	}
}

// The stopping rule's question: is every speedup known to ±5% at 95%?
func TestKnown(t *testing.T) {
	seq := withRounds("sequential", 1, 100, 101, 99, 100, 102, 100)
	for _, tt := range []struct {
		name    string
		reports []models.Report
		want    bool
	}{
		{"steady 2x over 6 rounds", []models.Report{seq, withRounds("threads", 2, 50, 50.5, 49.5, 50, 51, 50)}, true},
		{"too few rounds for 95%", []models.Report{withRounds("sequential", 1, 100, 100, 100), withRounds("threads", 2, 50, 50, 50)}, false},
		{"one noisy model", []models.Report{seq, withRounds("threads", 2, 50, 50.5, 49.5, 50, 51, 50), withRounds("gil", 4, 100, 130, 80, 100, 120, 90)}, false},
		// No baseline: the wall time must be known instead.
		{"steady wall alone", []models.Report{withRounds("threads", 2, 50, 50.5, 49.5, 50, 51, 50)}, true},
		{"noisy wall alone", []models.Report{withRounds("threads", 2, 50, 70, 40, 50, 60, 45)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := models.Known(tt.reports); got != tt.want {
				t.Errorf("Known = %v, want %v", got, tt.want)
			}
		})
	}
}

// The least-known figure: an interval of less than 95% confidence before
// any of 95%, then the widest relative to its estimate; baselines never
// (their speedup is 1 by definition).
func TestLeastKnown(t *testing.T) {
	seq := withRounds("sequential", 1, 100, 101, 99, 100, 102, 100)
	steady := withRounds("threads", 2, 50, 50.5, 49.5, 50, 51, 50)
	noisy := withRounds("gil", 4, 100, 130, 80, 100, 120, 90)
	wider := withRounds("eventloop", 1, 100, 160, 60, 100, 140, 70)
	for _, tt := range []struct {
		name    string
		reports []models.Report
		want    string // "" for none
	}{
		{"the widest of 95%", []models.Report{seq, steady, noisy}, "gil"},
		{"the widest, whatever the order", []models.Report{seq, wider, steady, noisy}, "eventloop"},
		{"below 95% first, however narrow", []models.Report{withRounds("sequential", 1, 100, 100, 100), withRounds("threads", 2, 50, 50, 50)}, "threads"},
		{"a wall time with no baseline", []models.Report{steady}, "threads"},
		{"only a baseline", []models.Report{seq}, ""},
		{"nothing", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, iv, ok := models.LeastKnown(tt.reports)
			if got := map[bool]string{true: r.Model}[ok]; got != tt.want {
				t.Fatalf("LeastKnown = %q, want %q", got, tt.want)
			}
			if ok && iv.N == 0 {
				t.Errorf("LeastKnown's interval %+v has no measurements", iv)
			}
		})
	}
}

// The words follow the interval, not the estimate.
func TestReading(t *testing.T) {
	cores := withRounds("threads", 1, 1).Cores()
	seq := withRounds("sequential", 1, 100, 100, 100, 100, 100, 100)
	// threads with as many workers as cores, and one more than the
	// cores: the ideal is the cores either way.
	ideal := float64(cores)
	at := func(x float64) float64 { return 100 / x }
	for _, tt := range []struct {
		name string
		r    models.Report
		want string
	}{
		{"interval contains 1, estimate above", withRounds("gil", 4, at(1.1), at(0.97), at(1.05), at(1.02), at(0.99), at(1.08)), "no faster than sequential"},
		{"interval below 1", withRounds("eventloop", 8, at(0.8), at(0.85), at(0.82), at(0.79), at(0.81), at(0.83)), "slower than sequential"},
		{"interval contains the ideal", withRounds("threads", cores+1, at(ideal*0.97), at(ideal*1.01), at(ideal*0.99), at(ideal*0.98), at(ideal), at(ideal*1.02)), "as fast as the " + strconv.Itoa(cores) + " cores allow"},
		{"between 1 and the ideal", withRounds("threads", cores, at(ideal*0.7), at(ideal*0.72), at(ideal*0.69), at(ideal*0.71), at(ideal*0.7), at(ideal*0.73)), "short of the ideal"},
		{"above the ideal", withRounds("threads", cores, at(ideal*3), at(ideal*3.1), at(ideal*2.9), at(ideal*3), at(ideal*3.2), at(ideal*3)), "beyond its ideal"},
		{"not parallel, above 1", withRounds("eventloop", 8, at(7), at(7.5), at(7.2), at(7.9), at(7.1), at(7.3)), "faster than sequential: the tasks wait more than they compute"},
		{"too few rounds for 95%: cannot tell, however clear", withRounds("eventloop", 8, at(0.8), at(0.81), at(0.79)), "cannot tell: too few rounds for 95%"},
		{"one round says nothing", withRounds("gil", 4, at(1.5)), ""},
		{"the baseline says nothing", seq, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if cores == 1 && strings.Contains(tt.want, "ideal") {
				t.Skip("one core: the ideal of a parallel model is 1")
			}
			base := seq
			if len(tt.r.Rounds) == 1 {
				base = withRounds("sequential", 1, 100)
			}
			reports := []models.Report{base, tt.r}
			if tt.r.Baseline {
				reports = reports[1:]
			}
			if got := models.Reading(reports, tt.r); !strings.Contains(got, tt.want) || (tt.want == "" && got != "") {
				t.Errorf("Reading of %s = %q, want %q", models.FormatSpeedup(mustSpeedup(t, reports, tt.r)), got, tt.want)
			}
		})
	}
}

func mustSpeedup(t *testing.T, reports []models.Report, r models.Report) stats.Interval {
	t.Helper()
	iv, _ := models.SpeedupOf(reports, r)
	return iv
}

// The ideal is the workers, at most the processors they had.
func TestIdeal(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    models.Report
		want float64
	}{
		{"not parallel", models.Report{Traits: models.TraitsOf("gil"), Workers: 4}, 1},
		{"fewer workers than cores", models.Report{Traits: models.TraitsOf("processes"), Workers: 2, Pool: []models.WorkerRecord{{Host: "a", CPUs: 8}, {Host: "a", CPUs: 8}}}, 2},
		{"more workers than cores", models.Report{Traits: models.TraitsOf("processes"), Workers: 16, Pool: []models.WorkerRecord{{Host: "a", CPUs: 8}}}, 8},
		{"cores of two hosts", models.Report{Traits: models.TraitsOf("distributed"), Workers: 16, Pool: []models.WorkerRecord{{Host: "a", CPUs: 2}, {Host: "b", CPUs: 4}, {Host: "b", CPUs: 4}}}, 6},
	} {
		if got := tt.r.Ideal(); got != tt.want {
			t.Errorf("%s: Ideal = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A note when the rounds disagree more than the calibration loop and
// other programs' CPU explain, and none when they explain it.
func TestNoiseNote(t *testing.T) {
	rounds := func(walls, cals []float64, other float64) []models.Round {
		var rs []models.Round
		for i, w := range walls {
			rs = append(rs, models.Round{Wall: time.Duration(w * float64(ms)), Calibration: time.Duration(cals[i] * float64(ms)), OtherCPU: time.Duration(other * w * float64(ms))})
		}
		return rs
	}
	steadyCal := []float64{5, 5.05, 4.95, 5, 5.02, 4.98}
	for _, tt := range []struct {
		name   string
		rounds []models.Round
		note   bool
	}{
		{"quiet rounds", rounds([]float64{100, 101, 99, 100, 102, 98}, steadyCal, 0), false},
		{"noisy rounds, steady machine", rounds([]float64{100, 130, 80, 100, 125, 70}, steadyCal, 0), true},
		{"noisy rounds, a machine as noisy", rounds([]float64{100, 130, 80, 100, 125, 70}, []float64{5, 6.5, 4, 5, 6.2, 3.6}, 0), false},
		{"too few rounds to say", rounds([]float64{100, 130, 80}, steadyCal[:3], 0), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := models.NoiseNote(tt.rounds)
			if (got != "") != tt.note || (tt.note && !strings.Contains(got, "disagree more than the machine's noise explains")) {
				t.Errorf("NoiseNote = %q, want a note: %v", got, tt.note)
			}
		})
	}
	// Combine puts the note among the report's notes, shown by Table.
	var runs []models.Report
	for _, w := range []time.Duration{100, 130, 80, 100, 125, 70} {
		runs = append(runs, models.Report{Model: "threads", Traits: models.TraitsOf("threads"), Workers: 2, Wall: w * ms})
	}
	r := models.Combine(runs, []time.Duration{5 * ms, 5 * ms, 5 * ms, 5 * ms, 5 * ms, 5 * ms})
	if text, _ := models.Table([]models.Report{r}); !strings.Contains(text, "note: threads: its rounds disagree") {
		t.Errorf("the table does not note the noisy rounds:\n%s", text)
	}
}

// The table's speedup cells carry their intervals, and their
// confidence when it is below 95%; the reading follows the interval.
func TestTableIntervals(t *testing.T) {
	many := []models.Report{
		withRounds("sequential", 1, 100, 100, 100, 100, 100, 100, 100),
		withRounds("gil", 4, 100, 98, 103, 101, 99, 100, 97),
		withRounds("threads", 2, 52, 51, 50, 53, 50, 51, 52),
	}
	few := []models.Report{withRounds("sequential", 1, 100, 100, 100), withRounds("threads", 2, 52, 50, 51)}
	one := []models.Report{withRounds("sequential", 1, 100), withRounds("threads", 2, 50)}
	textMany, htmlMany := models.Table(many)
	textFew, _ := models.Table(few)
	textOne, _ := models.Table(one)
	for _, tt := range []struct {
		name, in, want string
		present        bool
	}{
		{"interval", textMany, "1.96x [1.89–2.00]", true},
		{"interval in HTML", htmlMany, "<td>1.96x [1.89–2.00]</td>", true},
		{"gil contains 1", textMany, "1.00x [0.97–1.03]", true},
		{"gil's reading", textMany, "no faster than sequential", true},
		{"how computed", textMany, "note: speedup: the median over the rounds (7)", true},
		{"no low-confidence note at 95%", textMany, "too few rounds for 95%", false},
		{"confidence of three rounds", textFew, "1.96x [1.92–2.00] 75%", true},
		{"low-confidence note", textFew, "too few rounds for 95%", true},
		{"one round: a bare speedup", textOne, "2.00x ", true},
		{"one round: no interval", textOne, "[", false},
		{"one round: no method note", textOne, "note: speedup", false},
		{"one round: no reading column", textOne, "reading", false},
		{"rounds: a reading column", textMany, "reading", true},
		{"the baseline: no interval", textMany, "1.00x [1.00", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.in, tt.want) != tt.present {
				t.Errorf("table has %q: %v, want %v; got:\n%s", tt.want, !tt.present, tt.present, tt.in)
			}
		})
	}
	// Median wall and CPU over the rounds, not the median round's own
	// when the rounds are even in number.
	even := withRounds("threads", 2, 50, 60, 70, 80)
	if got := even.MedianWall(); got != 65*ms {
		t.Errorf("MedianWall of 50, 60, 70, 80 ms = %v, want 65ms", got)
	}
}

// The calibration loop's work is done, not optimized away: its three
// million steps, each waiting for the one before, take over a
// millisecond on any processor (three dependent operations a step).
func TestCalibrateDoesItsWork(t *testing.T) {
	if got := models.Calibrate(); got < time.Millisecond {
		t.Errorf("Calibrate took %v, want at least 1ms: the compiler dropped the loop", got)
	}
}
