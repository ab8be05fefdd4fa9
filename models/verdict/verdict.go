// Package verdict says in one short paragraph what a %%models run found:
// what the task is (its time running, waiting for a CPU or the lock,
// blocked at awaits or on each other, in start-up and transfer), which
// models help and by how much, why in the talk's terms (the MSU, the GIL,
// isolation, the orchestrator's cost), what correctness costs (updates
// lost, data races found), how the parallel models scale with their
// workers, and how much work worker processes need before they pay off.
//
// Every claim is computed from the measured data — the runs' traced task
// states, their speedup intervals, start-up and per-task costs, the
// data-sharing diagnosis and the race detector's findings — and from each
// model's traits, never from a model's name, which only labels. A
// difference is claimed only when the statistics support it: a model
// helps when its speedup's 95% interval lies above 1, is slower when it
// lies below, is no different when it lies within ±15% of 1, and
// otherwise the run cannot tell.
package verdict

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"atonce/internal/words"
	"atonce/models"
	"atonce/models/sharing"
	"atonce/models/stats"
)

// Input is what a verdict is computed from: the runs of one mode.
type Input struct {
	// Runs are the models' runs, the baseline's among them: each its
	// median round (its traits, mode, workers, wall time, task records
	// with their states, start-up and pool) with its Speedup over the
	// baseline and that speedup's interval (models.SpeedupOf). An
	// interval from one round supports no claim.
	Runs []models.Report
	// Cores is the number of CPUs the runs could use; 0 means the
	// baseline's (Report.Cores).
	Cores int
	// Sharing is the data-sharing diagnosis of the runs (its Rows, named
	// as Runs name their models): the updates each model lost, and which
	// models left the notebook's copy alone.
	Sharing sharing.Diagnosis
	// Races counts, by model (named as in Runs), the data races the race
	// detector found; nil when it did not run.
	Races map[string]int
	// Scaling is, for `-workers 1,2,4,8`, how each parallel model's
	// speedup grew with its workers.
	Scaling []models.Scaling
}

// Kind is what the task is, from its measured states.
type Kind string

// The kinds of task.
const (
	// CPUBound: run alone, the task spends its time on a CPU.
	CPUBound Kind = "cpu-bound"
	// AwaitBound: run alone, the task spends its time blocked at awaits
	// (sleeps, I/O).
	AwaitBound Kind = "await-bound"
	// Mixed: run alone, the task both computes and waits at awaits, each
	// a good part of its time.
	Mixed Kind = "mixed"
	// LockBound: alone the task computes, but run concurrently its tasks
	// spend much of their time blocked on each other: a contended lock.
	LockBound Kind = "lock-bound"
	// Unknown: no traced baseline run says what the task does.
	Unknown Kind = "unknown"
)

// Effect is what one model did to the wall time, in the statistics'
// words.
type Effect string

// The effects.
const (
	Helps     Effect = "helps"        // the speedup's interval lies above 1
	Slower    Effect = "slower"       // it lies below 1
	Same      Effect = "no different" // it contains 1 and lies within ±15% of it
	CannotTel Effect = "cannot tell"  // it contains 1 but is wider, or comes from too few rounds
	Failed    Effect = "failed"       // the run did not finish
)

// Thresholds of the reasoning.
const (
	// sameWithin is how close to 1 an interval must lie for "no
	// different": within a factor of 1.15.
	sameWithin = 1.15
	// awaitShare and cpuShare: the baseline's blocked share at or above
	// which the task waits, at or below which it computes.
	awaitShare = 0.6
	cpuShare   = 0.15
	// contended is the share of their time a concurrent run's tasks spend
	// blocked beyond what the baseline's did that says they wait for each
	// other.
	contended = 0.25
)

// ModelVerdict is the verdict on one model.
type ModelVerdict struct {
	Model   string         `json:"model"`
	Effect  Effect         `json:"effect"`
	Speedup stats.Interval `json:"speedup"`
	// Ideal tells whether the interval reaches the best the model could
	// do on this task: its workers, or the cores, for a parallel model.
	Ideal bool `json:"ideal,omitempty"`
	// BreakEvenNS is, for a model whose tasks run in worker processes,
	// the work (baseline wall time, in nanoseconds) above which it beats
	// the baseline; 0 when not measured or when it never pays.
	BreakEvenNS int64 `json:"break_even_ns,omitempty"`
}

// Verdict is what a run says.
type Verdict struct {
	Kind Kind `json:"kind"`
	// Models are the verdicts on the models other than the baseline, in
	// the order of the input.
	Models []ModelVerdict `json:"models"`
	// Markdown and Text are the paragraph.
	Markdown string `json:"-"`
	Text     string `json:"-"`
}

// Effect returns the effect the verdict found for model, "" when the
// verdict does not name it.
func (v Verdict) Effect(model string) Effect {
	for _, m := range v.Models {
		if m.Model == model {
			return m.Effect
		}
	}
	return ""
}

// With returns the models whose effect is e, in order.
func (v Verdict) With(e Effect) []string {
	var out []string
	for _, m := range v.Models {
		if m.Effect == e {
			out = append(out, m.Model)
		}
	}
	return out
}

// EffectOf is what a speedup interval says: Helps above 1, Slower below,
// Same within ±15% of 1, CannotTel when it is wider or has less than
// models.Conf confidence (too few rounds).
func EffectOf(iv stats.Interval) Effect {
	switch {
	case iv.N < 2 || iv.Conf < models.Conf || math.IsNaN(iv.Lo) || math.IsNaN(iv.Hi):
		return CannotTel
	case iv.Lo > 1:
		return Helps
	case iv.Hi < 1:
		return Slower
	case iv.Lo >= 1/sameWithin && iv.Hi <= sameWithin:
		return Same
	}
	return CannotTel
}

// Of computes the verdict on in. Without a baseline run that finished,
// or without another model, there is nothing to say: the zero Verdict.
func Of(in Input) Verdict {
	r := newReasoner(in)
	if r == nil {
		return Verdict{}
	}
	return r.verdict()
}

// reasoner holds what the sentences are computed from.
type reasoner struct {
	in     Input
	base   models.Report
	baseSh shares
	traced bool            // the baseline's tasks carry states
	others []models.Report // the runs but the baseline's
	kind   Kind
	// contention is the largest share of their time a concurrent run's
	// tasks spent blocked beyond the baseline's; by is that run.
	contention float64
	by         models.Report
	verdicts   []ModelVerdict
	costs      map[string]workerCosts
}

func newReasoner(in Input) *reasoner {
	r := &reasoner{in: in, costs: map[string]workerCosts{}}
	found := false
	for _, run := range in.Runs {
		if run.Baseline && run.Err == "" && run.Wall > 0 && !found {
			r.base, found = run, true
			continue
		}
		if !run.Baseline {
			r.others = append(r.others, run)
		}
	}
	if !found || len(r.others) == 0 {
		return nil
	}
	if r.in.Cores <= 0 {
		r.in.Cores = r.base.Cores()
	}
	r.baseSh, r.traced = sharesOf(r.base)
	r.kind = r.classify()
	for _, run := range r.others {
		mv := ModelVerdict{Model: run.Model, Speedup: run.Speedup, Effect: EffectOf(run.Speedup)}
		if run.Err != "" || run.Wall <= 0 {
			mv.Effect = Failed
		}
		if ideal := r.ideal(run); mv.Effect == Helps && ideal > 1 && run.Speedup.Hi >= ideal {
			mv.Ideal = true
		}
		if c, ok := costsOf(run, r.base); ok {
			r.costs[run.Model] = c
			if c.pays {
				mv.BreakEvenNS = int64(c.breakEven)
			}
		}
		r.verdicts = append(r.verdicts, mv)
	}
	return r
}

// classify says what the task is: from the baseline's states (its share
// blocked), and from the concurrent runs' (blocked beyond the baseline:
// on each other).
func (r *reasoner) classify() Kind {
	if !r.traced {
		return Unknown
	}
	blocked := r.baseSh.blocked()
	for _, run := range r.others {
		if run.Workers < 2 || run.Err != "" {
			continue
		}
		sh, ok := sharesOf(run)
		if !ok {
			continue
		}
		extra := sh.blocked() - blocked
		if named := sh.onEachOther() - r.baseSh.onEachOther(); named > 0 {
			extra = max(extra, named)
		}
		if extra > r.contention {
			r.contention, r.by = extra, run
		}
	}
	switch {
	case blocked >= awaitShare:
		return AwaitBound
	case r.contention >= contended:
		return LockBound
	case blocked <= cpuShare:
		return CPUBound
	}
	return Mixed
}

// ideal is the best speedup a model could reach on this task: for a
// parallel model its workers, and at most the cores when the task
// computes; 1 for a one-at-a-time model on a task that computes; its
// workers when the task waits (they wait side by side).
func (r *reasoner) ideal(run models.Report) float64 {
	k := float64(max(run.Workers, 1))
	switch {
	case run.Parallel && (r.kind == CPUBound || r.kind == LockBound) && r.in.Cores > 0:
		return math.Min(k, float64(r.in.Cores))
	case run.Parallel:
		return k
	case r.kind == CPUBound || r.kind == LockBound:
		return 1
	}
	return k
}

func (r *reasoner) verdict() Verdict {
	var p para
	r.whatItIs(&p)
	r.whichHelp(&p)
	r.scaling(&p)
	r.correctness(&p)
	r.breakEven(&p)
	return Verdict{Kind: r.kind, Models: r.verdicts, Markdown: p.md.String(), Text: p.txt.String()}
}

// whatItIs is the first sentence: the task's kind and the shares it is
// computed from.
func (r *reasoner) whatItIs(p *para) {
	n := r.baseSh.tasks
	per := medianTask(r.base)
	alone := fmt.Sprintf("Run alone (%s), its %s of %s each", r.base.Model, words.Plural(n, "task", "tasks"), dur(per))
	sh := r.baseSh
	waitNote := ""
	if sh.waiting() >= 0.1 {
		waitNote = fmt.Sprintf(" (and %s waiting for a CPU: other programs were using the cores)", pct(sh.waiting()))
	}
	switch r.kind {
	case Unknown:
		p.sentence("What the task does is not known:", "the run was not traced (-no-trace), so the speedups speak alone.")
	case CPUBound:
		p.sentence("The task is CPU-bound.", fmt.Sprintf("%s spent %s of their time running and %s blocked at awaits%s.", alone, pct(sh.running()), pct(sh.blocked()), waitNote))
	case AwaitBound:
		p.sentence("The task waits.", fmt.Sprintf("%s spent %s of their time blocked at awaits (sleeps, I/O) and %s running%s: more CPUs are not what it needs, overlapping the waits is.", alone, pct(sh.blocked()), pct(sh.running()), waitNote))
	case Mixed:
		p.sentence("The task computes and waits.", fmt.Sprintf("%s spent %s of their time running and %s blocked at awaits%s.", alone, pct(sh.running()), pct(sh.blocked()), waitNote))
	case LockBound:
		on := "on each other (a contended lock)"
		if sh, ok := sharesOf(r.by); ok && sh.of[catLock] > sh.of[catChannel] && sh.of[catLock] > 0 {
			on = "on a mutex"
		} else if ok && sh.of[catChannel] > 0 {
			on = "on channels"
		}
		p.sentence("The task is serialized by a lock.", fmt.Sprintf("%s spent %s of their time running, but under %s they spent %s more of it blocked %s, where alone they hardly blocked: one task at a time gets through.", alone, pct(sh.running()), r.by.Model, pct(r.contention), on))
	}
}

// whichHelp says which models help, which do not, and why.
func (r *reasoner) whichHelp(p *para) {
	groups := map[Effect][]ModelVerdict{}
	for _, mv := range r.verdicts {
		groups[mv.Effect] = append(groups[mv.Effect], mv)
	}
	if len(groups[Helps]) > 0 {
		var parts []string
		for _, mv := range groups[Helps] {
			run := r.run(mv.Model)
			s := fmt.Sprintf("%s %s with %s", mv.Model, speedup(mv.Speedup), words.Plural(run.Workers, run.Noun, run.Nouns))
			if mv.Ideal {
				s += " (" + r.idealWords(run) + ")"
			}
			parts = append(parts, s)
		}
		p.sentence("Helps:", words.JoinAnd(parts)+": "+r.whyHelp(groups[Helps])+".")
	}
	if len(groups[Same]) > 0 {
		p.sentence("No faster than "+r.base.Model+":", listSpeedups(groups[Same])+": "+r.whyNot(groups[Same])+".")
	}
	if len(groups[Slower]) > 0 {
		p.sentence("Slower:", listSpeedups(groups[Slower])+": "+r.whySlower(groups[Slower])+".")
	}
	if len(groups[CannotTel]) > 0 {
		p.sentence("Cannot tell:", listSpeedups(groups[CannotTel])+": "+r.whyUnsure(groups[CannotTel])+".")
	}
	if len(groups[Failed]) > 0 {
		var names []string
		for _, mv := range groups[Failed] {
			names = append(names, mv.Model)
		}
		p.sentence("", words.JoinAnd(names)+" did not finish (see the table), so "+pick(len(names) == 1, "it is", "they are")+" left out.")
	}
	if len(groups[Helps]) == 0 && len(groups[CannotTel]) == 0 && len(groups[Same])+len(groups[Slower]) > 0 {
		p.sentence("No model makes this task faster.", "")
	}
	r.busyMachine(p)
}

// busyShare is the least share of a core other programs must have used,
// on average while a model ran, for the verdict to say so.
const busyShare = 0.5

// busyCores is how many cores other programs used on average while run
// ran: the median over its rounds of their CPU time over its wall time.
func busyCores(run models.Report) float64 {
	var per []float64
	for _, rd := range run.Rounds {
		if rd.Wall > 0 {
			per = append(per, float64(rd.OtherCPU)/float64(rd.Wall))
		}
	}
	if len(per) == 0 && run.Wall > 0 {
		per = append(per, float64(run.OtherCPU)/float64(run.Wall))
	}
	if len(per) == 0 {
		return 0
	}
	return stats.Median(per)
}

// busyMachine says when a parallel model did not help a task that
// computes while other programs took the cores it needed: its
// speedup then measures the machine, not the model.
func (r *reasoner) busyMachine(p *para) {
	if r.kind != CPUBound && r.kind != Mixed || r.in.Cores <= 0 {
		return
	}
	var parts []string
	for _, mv := range r.verdicts {
		run := r.run(mv.Model)
		if !run.Parallel || mv.Effect == Helps || mv.Effect == Failed {
			continue
		}
		if busy := busyCores(run); busy >= busyShare {
			parts = append(parts, fmt.Sprintf("while %s ran, other programs used %.1f of the %s on average (about %.1f left to it)", mv.Model, busy, words.Plural(r.in.Cores, "core", "cores"), math.Max(0, float64(r.in.Cores)-busy)))
		}
	}
	if len(parts) == 0 {
		return
	}
	p.sentence("The machine was busy:", strings.Join(parts, "; ")+": a parallel model cannot gain what the cores do not have, so measure again when the machine is quieter.")
}

// run returns the run of model.
func (r *reasoner) run(model string) models.Report {
	for _, run := range r.others {
		if run.Model == model {
			return run
		}
	}
	return models.Report{}
}

// idealWords says which limit a model's speedup reached.
func (r *reasoner) idealWords(run models.Report) string {
	ideal := r.ideal(run)
	if (r.kind == CPUBound || r.kind == LockBound) && run.Parallel && r.in.Cores > 0 && ideal == float64(r.in.Cores) && run.Workers >= r.in.Cores {
		return fmt.Sprintf("as fast as the %s allow", words.Plural(r.in.Cores, "core", "cores"))
	}
	return fmt.Sprintf("as fast as its %s allow", words.Plural(run.Workers, run.Noun, run.Nouns))
}

// listSpeedups is "eventloop 1.00x [0.98–1.02] and gil 0.99x [0.97–1.01]".
func listSpeedups(mvs []ModelVerdict) string {
	var parts []string
	for _, mv := range mvs {
		parts = append(parts, mv.Model+" "+speedup(mv.Speedup))
	}
	return words.JoinAnd(parts)
}

// oneAtATimeBound is the most a model that runs one task at a time can
// gain on this task: it overlaps only the waits, so the baseline's wall
// over its time not blocked.
func (r *reasoner) oneAtATimeBound() float64 {
	busy := 1 - r.baseSh.blocked()
	if busy <= 0 {
		return math.Inf(1)
	}
	return 1 / busy
}

// whyHelp explains, in the talk's terms, why the helping models help.
func (r *reasoner) whyHelp(mvs []ModelVerdict) string {
	var par, one, iso []string
	for _, mv := range mvs {
		run := r.run(mv.Model)
		switch {
		case r.kind == LockBound && run.Isolation != models.Shared:
			iso = append(iso, mv.Model)
		case run.Parallel:
			par = append(par, mv.Model)
		default:
			one = append(one, mv.Model)
		}
	}
	var why []string
	if len(par) > 0 {
		switch r.kind {
		case AwaitBound:
			why = append(why, fmt.Sprintf("under %s the tasks wait side by side, one per worker", words.JoinAnd(par)))
		case Mixed:
			why = append(why, fmt.Sprintf("under %s the tasks overlap both their waits and their work", words.JoinAnd(par)))
		default:
			why = append(why, fmt.Sprintf("under %s the tasks run on several cores at once (MSU: %s)", words.JoinAnd(par), r.msus(par)))
		}
	}
	if len(one) > 0 {
		var how []string
		for _, name := range one {
			how = append(how, r.switchWords(r.run(name)))
		}
		s := fmt.Sprintf("while one task waits at an await another runs: %s", words.JoinAnd(dedup(how)))
		if b := r.oneAtATimeBound(); r.kind == Mixed && !math.IsInf(b, 0) {
			s += fmt.Sprintf(" — though one at a time they overlap only the waits, so at most %s here, the work being %s of the time", times(b), pct(1-r.baseSh.blocked()))
		}
		why = append(why, s)
	}
	if len(iso) > 0 {
		why = append(why, fmt.Sprintf("under %s each worker has its own copy of the lock and of what it guards (isolation), so nothing holds the workers back, and their updates never reach the notebook", words.JoinAnd(iso)))
	}
	return strings.Join(why, "; ")
}

// whyNot explains why models are no faster than the baseline.
func (r *reasoner) whyNot(mvs []ModelVerdict) string {
	var one, par []string
	for _, mv := range mvs {
		if r.run(mv.Model).OneAtATime() {
			one = append(one, mv.Model)
		} else {
			par = append(par, mv.Model)
		}
	}
	var why []string
	if len(one) > 0 {
		var waits []string
		for _, name := range one {
			run := r.run(name)
			if sh, ok := sharesOf(run); ok && sh.waiting() >= 0.05 {
				waits = append(waits, fmt.Sprintf("under %s the tasks waited %s of their time for %s", name, pct(sh.waiting()), turnWords(run)))
			}
		}
		s := fmt.Sprintf("under %s one task runs at a time", words.JoinAnd(one))
		if len(waits) > 0 {
			s += " (" + strings.Join(waits, "; ") + ")"
		}
		switch {
		case r.kind == CPUBound || r.kind == LockBound:
			s += fmt.Sprintf(", and a task that waits at no await gives them nothing to overlap: at most %s", times(r.oneAtATimeBound()))
		case r.kind == Mixed:
			s += fmt.Sprintf(", so they overlap only the waits: at most %s", times(r.oneAtATimeBound()))
		}
		why = append(why, s)
	}
	if len(par) > 0 {
		switch r.kind {
		case LockBound:
			why = append(why, fmt.Sprintf("under %s the tasks run on several cores, but the lock lets one in at a time whatever the cores: the locked section is the MSU", words.JoinAnd(par)))
		default:
			why = append(why, fmt.Sprintf("under %s the tasks run in parallel, but %s", words.JoinAnd(par), r.overheadWords(par)))
		}
	}
	return strings.Join(why, "; ")
}

// whySlower explains why models are slower than the baseline.
func (r *reasoner) whySlower(mvs []ModelVerdict) string {
	var why []string
	var rest []string
	for _, mv := range mvs {
		if c, ok := r.costs[mv.Model]; ok {
			run := r.run(mv.Model)
			why = append(why, fmt.Sprintf("under %s, %s take %s to start and %s per task, more than %s of work gains back", mv.Model, words.Plural(c.workers, run.Noun, run.Nouns), dur(c.startup), dur(c.perTask), dur(c.work)))
			continue
		}
		rest = append(rest, mv.Model)
	}
	if len(rest) > 0 {
		s := fmt.Sprintf("under %s switching between tasks costs", words.JoinAnd(rest))
		if r.kind == LockBound {
			s = fmt.Sprintf("under %s handing the contended lock from task to task costs", words.JoinAnd(rest))
		}
		why = append(why, s+", and this task gives nothing back")
	}
	return strings.Join(why, "; ")
}

// whyUnsure says why the run cannot tell.
func (r *reasoner) whyUnsure(mvs []ModelVerdict) string {
	few := 0
	for _, mv := range mvs {
		if mv.Speedup.N < 2 || mv.Speedup.Conf < models.Conf {
			few++
		}
	}
	why := "the intervals are too wide to tell a gain from noise; more rounds, or a quieter machine, narrow them"
	if few == len(mvs) {
		why = fmt.Sprintf("too few rounds for a %.0f%% interval (%d are needed), so no difference can be told from noise; run more rounds (-repeat %d, or a longer -budget)", 100*models.Conf, stats.MinRounds(models.Conf), stats.MinRounds(models.Conf))
	}
	// What the task's states say whatever the noise: a model that runs
	// one task at a time cannot gain on a task that waits at no await.
	var one []string
	for _, mv := range mvs {
		if r.run(mv.Model).OneAtATime() {
			one = append(one, mv.Model)
		}
	}
	switch {
	case len(one) == 0:
	case r.kind == CPUBound || r.kind == LockBound:
		why += fmt.Sprintf("; but under %s one task runs at a time, and a task that waits at no await gives them nothing to overlap: at most %s", words.JoinAnd(one), times(r.oneAtATimeBound()))
	case r.kind == Mixed:
		why += fmt.Sprintf("; under %s one task runs at a time, so they overlap only the waits: at most %s here, the work being %s of the time", words.JoinAnd(one), times(r.oneAtATimeBound()), pct(1-r.baseSh.blocked()))
	}
	return why
}

// overheadWords says what a parallel model that did not help pays.
func (r *reasoner) overheadWords(names []string) string {
	var parts []string
	for _, name := range names {
		if c, ok := r.costs[name]; ok {
			parts = append(parts, fmt.Sprintf("the start-up of %s (%s) and its hand-offs (%s per task) eat the gain", name, dur(c.startup), dur(c.perTask)))
		}
	}
	if len(parts) == 0 {
		return "on this task that gains nothing"
	}
	return strings.Join(parts, "; ")
}

// switchWords says how a one-at-a-time model lets another task run at an
// await, from its traits.
func (r *reasoner) switchWords(run models.Report) string {
	switch run.Switching {
	case models.AtAwaits:
		return fmt.Sprintf("%s switches at each await (MSU: %s)", run.Model, run.MSU)
	case models.Preempted:
		return fmt.Sprintf("%s releases the global lock at each blocking call", run.Model)
	}
	return run.Model + " runs another task"
}

// turnWords says what a one-at-a-time model's tasks wait for, from its
// traits.
func turnWords(run models.Report) string {
	switch run.Switching {
	case models.AtAwaits:
		return "the event loop, which switches only at awaits"
	case models.Preempted:
		return "the global lock, which lets one thread run at a time"
	}
	return "their turn"
}

// msus is the models' MSUs, once each.
func (r *reasoner) msus(names []string) string {
	var ms []string
	for _, name := range names {
		ms = append(ms, r.run(name).MSU)
	}
	return words.JoinAnd(dedup(ms))
}

// scaling says how the parallel models scaled with their workers.
func (r *reasoner) scaling(p *para) {
	for _, s := range r.in.Scaling {
		best := s.Best()
		if best < 0 {
			continue
		}
		iv := s.Speedups[best]
		at := words.Plural(s.Workers[best], s.Traits.Noun, s.Traits.Nouns)
		if s.Cores > 0 {
			at += " on " + words.Plural(s.Cores, "core", "cores")
		}
		if iv.Mid <= 1 {
			// Never faster than the baseline: Amdahl's law, which
			// divides work, has nothing to fit.
			p.sentence("Scaling:", fmt.Sprintf("%s does not scale here: at best %s with %s, no faster than %s at any count.", s.Model, speedup(iv), at, r.base.Model))
			continue
		}
		msg := fmt.Sprintf("%s scales to %s with %s", s.Model, speedup(iv), at)
		if !math.IsNaN(s.Serial.Mid) {
			msg += "; serial fraction " + s.SerialWords()
			if s.Serial.Mid > 0.005 {
				msg += fmt.Sprintf(", so no number of cores takes it past %s", times(1/s.Serial.Mid))
			}
			if !s.CappedAtCores {
				msg += " (fitted on workers: the waits overlap beyond the cores)"
			}
		}
		p.sentence("Scaling:", msg+".")
	}
}

// correctness says what the models cost in correctness: updates lost,
// races found, and the notebook's state left alone by isolated workers.
func (r *reasoner) correctness(p *para) {
	type lost struct {
		model string
		rows  []sharing.Row
	}
	var losses []lost
	var isolated []string
	anyWritten := false
	for _, run := range r.others {
		var rows []sharing.Row
		alone := false
		for _, row := range r.in.Sharing.Rows {
			if row.Model != run.Model {
				continue
			}
			anyWritten = true
			if row.HasLost && row.Lost > 0 {
				rows = append(rows, row)
			}
			if run.Isolation != models.Shared && row.Expected != "" && row.Expected != row.Before && row.After == row.Before {
				alone = true
			}
		}
		if len(rows) > 0 {
			losses = append(losses, lost{run.Model, rows})
		}
		if alone {
			isolated = append(isolated, run.Model)
		}
	}
	var parts []string
	for _, l := range losses {
		var each []string
		for _, row := range l.rows {
			unit := row.Unit
			if unit == "" {
				unit = "updates"
			}
			total := row.Lost
			if row.LostPct > 0 {
				total = row.Lost * 100 / row.LostPct
			}
			each = append(each, fmt.Sprintf("%s of %s %s of %s (%s)", count(row.Lost), count(total), unit, row.Var, pct(row.LostPct/100)))
		}
		parts = append(parts, fmt.Sprintf("%s lost %s", l.model, words.JoinAnd(each)))
	}
	var raced []string
	names := make([]string, 0, len(r.in.Races))
	for name := range r.in.Races {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if n := r.in.Races[name]; n > 0 {
			raced = append(raced, fmt.Sprintf("%s under %s", words.Plural(n, "data race", "data races"), name))
		}
	}
	if len(raced) > 0 {
		parts = append(parts, "the race detector found "+words.JoinAnd(raced))
	} else if r.in.Races != nil {
		parts = append(parts, "the race detector found no data race")
	}
	if len(isolated) > 0 {
		parts = append(parts, fmt.Sprintf("%s left the notebook's values alone: each worker changed its own copy (isolation)", words.JoinAnd(isolated)))
	}
	if len(losses) == 0 && anyWritten {
		parts = append([]string{"no model that shares the notebook's state lost an update"}, parts...)
	}
	if len(parts) == 0 {
		return
	}
	p.sentence("Correctness:", strings.Join(parts, "; ")+".")
}

// breakEven says, per model with worker processes, what they cost and
// how much work pays for it.
func (r *reasoner) breakEven(p *para) {
	for _, run := range r.others {
		c, ok := r.costs[run.Model]
		if !ok {
			continue
		}
		who := "its " + run.Nouns
		cost := fmt.Sprintf("cost %s per task", dur(c.perTask))
		if run.Hosts {
			cost = fmt.Sprintf("the orchestrator costs %s per task", dur(c.perTask))
		}
		if c.bytes > 0 {
			cost += fmt.Sprintf(" (%s moved each)", bytesWords(c.bytes))
		}
		msg := fmt.Sprintf("%s start in %s and %s: ", who, dur(c.startup), cost)
		if c.startup < time.Millisecond {
			// Workers that were up before the run (a cluster's).
			msg = fmt.Sprintf("%s were already running, and %s: ", who, cost)
		}
		if !c.pays {
			msg += fmt.Sprintf("they ran the work no faster together than one alone, so no amount of this work pays for them (this run's was %s)", dur(c.work))
		} else {
			msg += fmt.Sprintf("with %s they pay off once the work is more than about %s (this run's was %s, gaining %s on it)", words.Plural(c.workers, run.Noun, run.Nouns), dur(c.breakEven), dur(c.work), times(c.gain))
		}
		p.sentence("Break-even of "+run.Model+":", msg+".")
	}
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// dedup keeps the first of each string.
func dedup(xs []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
