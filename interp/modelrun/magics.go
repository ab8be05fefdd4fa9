package modelrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp/magic"
	"atonce/interp/native"
	"atonce/interp/nativerun"
	"atonce/models"
	"atonce/models/sharing"
)

// ReportMIME is the MIME type of the raw per-task record, kept in the
// table's metadata so a user can load it into anything.
const ReportMIME = "application/vnd.atonce.report+json"

var registerOnce sync.Once

// RegisterMagics adds %%models, %models and one cell magic per model
// (%%sequential, %%eventloop, %%gil, %%threads, %%processes, ...) to the
// magic table.
func RegisterMagics() {
	registerOnce.Do(func() {
		registerWorkers()
		magic.Register(magic.Command{
			Name:    "models",
			Summary: "Run one function of the notebook under every concurrency model and compare.",
			Usage:   Usage(),
			Doc:     doc(),
			Line:    true, Cell: true,
			Run: func(ctx context.Context, env magic.Env, c magic.Call) magic.Result {
				return runMagic(ctx, env, c, models.InProcessNames())
			},
		})
		for _, name := range models.Names() {
			name := name
			magic.Register(magic.Command{
				Name:    name,
				Summary: "Run the cell's last function under the " + name + " model only.",
				Usage:   "%%" + name + " [-n 8] [-workers K] [-native | -mode interpreted|native|both] [-rounds N] [-budget DUR] [-repeat R] [Func]",
				Cell:    true,
				Run: func(ctx context.Context, env magic.Env, c magic.Call) magic.Result {
					return runMagic(ctx, env, c, []string{name})
				},
			})
		}
	})
}

// checkpoint is what a %%models run saves before each model, so that a
// model that kills the engine is reported and the others still run.
type checkpoint struct {
	Done    []models.Report `json:"done"`
	Running string          `json:"running"`
	Mode    models.Mode     `json:"mode,omitempty"`
}

func runMagic(ctx context.Context, env magic.Env, c magic.Call, defaults []string) magic.Result {
	spec, err := ParseSpec(c.Args, defaults)
	if err != nil {
		return magic.Result{Err: magic.UserError("UsageError", err.Error())}
	}
	if len(defaults) == 1 && strings.Contains(c.Args, "-models") {
		return magic.Result{Err: magic.UserError("UsageError", "%%"+defaults[0]+" runs one model; use %%models -models ... for several")}
	}
	var res magic.Result
	if c.Cell {
		res = env.Execute(ctx, c.Body)
		if res.Err != nil {
			return res
		}
		if spec.Func == "" {
			spec.Func = res.LastFunc
		}
	}
	if spec.Func == "" {
		return magic.Result{Err: magic.UserError("UsageError", "no task function: declare one in the cell or name it, e.g. %models -n 8 Task\n"+Usage())}
	}
	if env.Replaying() {
		// Rebuilding state: the notebook held what the interpreted
		// baseline left (native runs leave it alone).
		if !spec.has(models.Interpreted) {
			return magic.Result{}
		}
		spec.Models, spec.Trace, spec.Modes = baselineOnly(), false, []models.Mode{models.Interpreted}
		spec.Repeat = 1
		_, err := Run(ctx, env, spec, Hooks{})
		return magic.Result{Err: errorOf(err)}
	}

	var done []models.Report
	if r := env.Resume(); r != nil {
		var cp checkpoint
		if err := json.Unmarshal(r.Checkpoint, &cp); err == nil {
			done = cp.Done
			traits := models.TraitsOf(cp.Running)
			// A model whose tasks run in worker processes (or natively,
			// in a program of their own) runs no code of the notebook in
			// the engine: the engine died of something else while it ran,
			// e.g. a goroutine an earlier cell started.
			culprit := cp.Mode != models.Native && traits.Placement == models.InEngine
			what := "crashed the engine: "
			said := fmt.Sprintf("atonce: the %s model killed the engine (%s); the other models go on in a new engine.\n", cp.Running, r.Crash)
			if !culprit {
				what = "the engine crashed while it ran: "
				said = fmt.Sprintf("atonce: the engine crashed while the %s model ran (%s), not by the model's tasks, which run outside it; the other models go on in a new engine.\n", cp.Running, r.Crash)
			}
			done = append(done, models.Report{Model: cp.Running, Mode: cp.Mode, Traits: traits, Err: what + r.Crash + " (the kernel restarted it and replayed the notebook)"})
			spec.Models = remaining(spec, cp.Done, cp.Running)
			env.Print("stderr", said)
		}
	}

	// What the task reads and writes of the notebook's variables, from
	// its source: the diagnostics compare those values across models.
	static, staticErr := sharing.Analyze(env.History(), spec.Func)
	if staticErr == nil {
		for _, v := range static.Vars {
			spec.Watch = append(spec.Watch, v.Name)
		}
	}
	before := models.JSONGlobals(env.Vars(), spec.Watch)

	started := time.Now()
	p := newProgress(env, spec)
	if spec.has(models.Native) {
		nat, r, ok := prepareNative(ctx, env, c, &spec, p)
		if !ok {
			return r
		}
		if nat != nil {
			defer nat.Close()
		}
	}
	spec.verdict = &verdicts{}
	scaling, err := Scale(ctx, env, spec, p.update, p.say)
	if err != nil && ctx.Err() != nil {
		p.finish(nil, time.Since(started), err)
		return magic.Result{Err: magic.UserError("Interrupted", "the %%models run was interrupted while scaling; nothing to report"), Interrupted: true}
	} else if err != nil {
		env.Print("stderr", "atonce: scaling: "+err.Error()+"\n")
	}
	spec.verdict.scaling = scaling
	lv := newLive(env, spec)
	reports, err := Run(ctx, env, spec, Hooks{
		Progress: p.update,
		Before: func(model string, mode models.Mode, so []models.Report) {
			env.Checkpoint(checkpoint{Done: append(append([]models.Report(nil), done...), so...), Running: model, Mode: mode})
		},
		Round:    p.roundStarts,
		Measured: func(so []models.Report) { lv.measured(append(append([]models.Report(nil), done...), so...)) },
		Stopped:  p.stopped,
	})
	all := append(done, reports...)
	if err == nil && baselineRan(done) && !anyModel(spec.Models, isBaseline) && spec.has(models.Interpreted) {
		// The baseline run happened in the engine that died: run it
		// again, unmeasured, so the notebook holds what it leaves.
		quiet := spec
		quiet.Models, quiet.Trace, quiet.Modes, quiet.Repeat = baselineOnly(), false, []models.Mode{models.Interpreted}, 1
		if _, qerr := Run(ctx, env, quiet, Hooks{}); qerr != nil {
			env.Print("stderr", "atonce: could not put back the state the "+strings.Join(quiet.Models, "")+" run leaves: "+qerr.Error()+"\n")
		}
	}
	p.finish(all, time.Since(started), err)
	if len(all) > 0 {
		var d sharing.Diagnosis
		if staticErr == nil {
			d = diagnose(static, before, all)
		}
		spec.verdict.sharing = d
		lv.final(all)
		spec.verdict.id = lv.ids[verdictKey]
		export(env, all, spec)
		showRecord(env, all)
		if staticErr == nil {
			showDiagnosis(env, d)
		}
		if spec.Race && err == nil {
			if rerr := checkRaces(ctx, env, spec, p.say); rerr != nil {
				if ctx.Err() != nil {
					err = rerr
				} else {
					env.Print("stderr", "atonce: "+rerr.Error()+"\n")
				}
			}
			p.finish(all, time.Since(started), err)
		}
		if spec.Out != "" {
			if err := store(ctx, env, spec.Out, all); err != nil {
				env.Print("stderr", fmt.Sprintf("atonce: could not store the reports in %s: %v\n", spec.Out, err))
			}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return magic.Result{Err: magic.UserError("Interrupted", fmt.Sprintf("the %%%%models run was interrupted: %d model(s) reported above", len(all))), Interrupted: true}
		}
		return magic.Result{Err: errorOf(err)}
	}
	return magic.Result{Notes: res.Notes}
}

// prepareNative builds the notebook for the spec's native runs and
// shows, once, which variables do not start with the notebook's values.
// When native mode is unavailable (no toolchain, no source) a run of both
// modes goes on interpreted only, after one message, and a native run
// fails with that message; a compile error fails the run, pointing at
// the cell and line (c's body is this cell, when c is a cell magic). ok
// false means the magic ends with r.
func prepareNative(ctx context.Context, env magic.Env, c magic.Call, spec *Spec, p *progress) (nat *Native, r magic.Result, ok bool) {
	nat, err := PrepareNative(ctx, env, *spec, p.say)
	var ce *native.CompileError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		p.finish(nil, 0, err)
		return nil, magic.Result{Err: magic.UserError("Interrupted", "the native build was interrupted; nothing ran"), Interrupted: true}, false
	case nativerun.Unavailable(err) && spec.has(models.Interpreted):
		env.Print("stderr", "atonce: "+err.Error()+". This run goes on interpreted only.\n")
		spec.Modes = []models.Mode{models.Interpreted}
		return nil, magic.Result{}, true
	case errors.As(err, &ce):
		p.finish(nil, 0, errors.New("the Go compiler refused the notebook's code"))
		current := ""
		if c.Cell {
			current = "this cell"
		}
		return nil, magic.Result{Err: nativerun.CompileErrorOf(ce, env.History(), current)}, false
	case nativerun.Unavailable(err):
		p.finish(nil, 0, err)
		return nil, magic.Result{Err: magic.UserError("NativeUnavailable", err.Error())}, false
	default:
		p.finish(nil, 0, err)
		return nil, magic.Result{Err: magic.UserError("NativeError", err.Error())}, false
	}
	spec.Native = nat
	if c.Cell {
		nat.current = "this cell"
	}
	if notes := nat.Notes(); len(notes) > 0 {
		env.Print("stdout", "native: "+strings.Join(notes, "\nnative: ")+"\n")
	}
	return nat, magic.Result{}, true
}

func errorOf(err error) *enginemsg.Error {
	if err == nil {
		return nil
	}
	return magic.UserError("ModelError", err.Error())
}

// baselineRan tells whether done has a successful report of the
// baseline model.
func baselineRan(done []models.Report) bool {
	return slices.ContainsFunc(done, func(r models.Report) bool { return r.Baseline && r.Err == "" })
}

func isBaseline(t models.Traits) bool { return t.Baseline }

// baselineOnly is the models of a run that only puts back the state the
// baseline leaves: the baseline alone (none if no model is the baseline).
func baselineOnly() []string { return models.NamesWith(isBaseline) }

// doc is the %%models magic's help: what it does, and a table of the
// models from their traits.
func doc() string {
	base := strings.Join(baselineOnly(), "")
	inEngineNames := models.NamesWith(inEngine)
	header := []string{"model", "stands for", "runs in", "state", "switches", "MSU", "default workers"}
	var rows [][]string
	for _, name := range models.Names() {
		t := models.TraitsOf(name)
		runs := "the engine"
		if t.Placement == models.InWorkers {
			runs = "worker processes"
			if t.Hosts {
				runs += ", any machine"
			}
		}
		state := map[models.Isolation]string{models.Shared: "shared", models.CopyAtStart: "copy at start", models.Nothing: "nothing shared"}[t.Isolation]
		rows = append(rows, []string{name, t.StandsFor, runs, state, string(t.Switching), t.MSU, t.DefaultWorkers})
	}
	table, _ := models.RenderTable(header, rows)
	return `Calls the task function for i = 0..n-1 under each model, restoring the notebook's variables before each,
and shows wall time, CPU time, speedup and efficiency against ` + base + `, tasks per worker, and each
model's minimum schedulable unit (MSU) and data sharing. Afterwards the notebook holds the state the
` + base + ` run left. Task shapes: ` + models.Shapes + `.
Defaults: -n 8; -models: the models that run in the engine (` + strings.Join(inEngineNames, ", ") + `), -models all adds the
models whose tasks run in worker processes (` + strings.Join(models.NamesWith(inWorkers), ", ") + `); -workers: each model's default below.
Worker processes replay the notebook's cells to rebuild its state (like Python's spawn), then run tasks; arguments
and results cross as JSON, and what a worker's tasks change stays in that worker.
time.Sleep in a task is an await point: it yields the event loop and releases the GIL.
Rounds and intervals. A run warms up (one unmeasured round: caches, the heap, worker processes), then runs
rounds in which the models take turns (so a slow minute of the machine hits them alike), until every speedup is
known to ±5% at 95% confidence (at least 6 rounds) or the budget is spent: at most 15 rounds (-rounds N), or up
to 100 while the rounds so far took under a fifth of the budget (short rounds are cheap, and noisy next to their
length: native code, small tasks), and no round starts that would end past 10 s of measured time (-budget DUR),
but never fewer than 3 rounds. A run that stops before every speedup is known says which is known least, and how
many rounds (-rounds N -budget DUR) would know it to ±5%: an interval narrows as one over the square root of the
rounds. So a
0.5 s round makes a run of 3.5 s (a warm-up and 6 rounds, when the speedups are known by then) to 10.5 s (the
budget spent), a 2 s round one of 12 s (a warm-up and 5 rounds), a 10 s round one of 40 s (a warm-up and 3):
-repeat 1 for one round and no warm-up, as fast as it gets; -repeat R for exactly R rounds. Each model's speedup is the median, over the rounds, of the ratio of ` + base + `'s wall time to the
model's in the same round (pairing cancels what drifts between rounds), with a 95% interval from order
statistics, the method benchstat uses: of n ratios sorted r(1) <= ... <= r(n), [r(k), r(n+1-k)] holds the
true median with probability 1 - 2 P(B <= k-1), B binomial(n, 1/2), whatever the noise's distribution (timings
are skewed: a slow round is much slower, a fast one only a little faster). It assumes only that the rounds
are independent and alike; it needs 6 rounds for 95% ([min, max] of 6 holds the median with probability
1 - 2/64), and with fewer the table gives [min, max] and the confidence it really has (3 rounds: 75%). The
table shows the median wall and CPU time over the rounds, each speedup as 1.93x [1.88–1.98], and a reading
that follows the interval: "no faster than ` + base + `" when it contains 1, "as fast as the cores allow"
when it contains the ideal (the workers of a parallel model, at most the cores), "cannot tell" from fewer than
6 rounds, as the verdict says. The speedup chart draws
the intervals as error bars; the task stream draws each model's median round. A calibration loop of
compiled Go (about 5 ms of reads in a 1 MiB table, which wait on the caches and memory as interpreted code does)
is timed before each round: when a model's rounds disagree more than its spread and other programs' CPU
explain, the table says so. Each report keeps its rounds (-o: Rounds, Speedup).
While a run goes, the table and charts update in place after the models' turns. A task that prints prints
in every round, the warm-up's included.

The execution tracer names each task's states as go tool trace and gotraceui
do: running (or GC assist); waiting for a CPU, for the GIL (gil: runnable while another task holds its one
processor) or for the event loop; blocked at an await, on a mutex, a channel or select, in a syscall, by the
GC. A table gives each model's time in each state; the task stream draws them, each worker's idle time as
white space in its lane, and the GC and stop-the-world periods under each model. -trace DIR keeps each run's
Go execution trace in DIR (MODEL-MODE.trace for the models in the engine, MODEL-MODE-workerK.trace for each
worker process), for go tool trace and gotraceui; -perfetto FILE writes the runs as trace-event JSON for
ui.perfetto.dev (a process per model, a thread per worker, a slice per task with its states, flows from the
queue to the workers). -no-trace skips the execution tracer (the task stream then shows whole tasks only),
-no-charts shows the table alone, -race runs the models whose tasks interleave in the engine
(` + strings.Join(models.NamesWith(models.Traits.Interleaves), ", ") + `) once more under Go's race detector, and -o NAME stores the reports in the
notebook variable NAME ([]models.Report).

After the table, a paragraph says what the run found, from the measured data: what the task is (its time running,
waiting for a CPU or the lock, blocked at awaits or on each other), which models help and by how much (only where
a speedup's 95% interval excludes 1; "cannot tell" where it is too wide), why in the talk's terms (the MSU, the GIL,
isolation, the orchestrator's cost), what correctness costs (updates lost, races found with -race), and, for the
models whose tasks run in worker processes, their start-up and per-task cost and the work above which they pay
off: with K workers, a parallel gain g and n tasks, once the work exceeds (start-up + n × per-task cost / K) / (1 − 1/g).
-workers 1,2,4,8 (a list) runs the table's models at their defaults, and the parallel models (` + strings.Join(models.NamesWith(isParallel), ", ") + `) once more
at each count, taking turns round by round with ` + base + ` (-repeat R rounds, else 6, the fewest for a 95% interval):
a chart draws speedup against workers with the ideal and Amdahl's law fitted, its serial fraction with its interval
(on min(workers, cores) processors, unless the waits overlap beyond the cores).

Native mode. -native (or -mode native) runs the models on the notebook's code compiled by the Go toolchain: the
cells that ran successfully become a Go program, built with go build (an unchanged notebook reuses its build; a
changed cell costs one package's compile and a link), whose variables start with the notebook's current values,
crossing as JSON as they do for worker processes (a channel, a func or a mutex starts anew or at its zero value,
and the run says so). Every model runs outside the engine: the in-process models in the program's own process (a
fatal error there, such as concurrent map writes under threads, is that model's outcome), processes with the
program as its K workers, distributed with the program as local workers on a queue of the build's own. Native
runs leave the notebook's variables as they were. -mode both runs each model interpreted, then native, and sets
the two side by side: how much faster the compiled code ran, and how far the interpreter moved each speedup.
-race natively builds the program with -race. The Go compiler is stricter than the interpreter: its errors point
at the cell and line. Without a Go toolchain, native runs say what to install (-mode both runs the interpreted
half). Reports say their mode and, native, the Go version that built them. %time -native and %timeit -native
time one statement compiled.

The models:
` + table
}

// remaining returns the spec's models still to run after the engine
// died running the model crashed: those that are neither it nor done in
// every mode of the spec. A model that crashed in the warm-up leaves
// every other to run again; one that crashed in the first round, those
// that had not taken their turn yet; in a later round, none: the others
// keep the rounds they had.
func remaining(spec Spec, done []models.Report, crashed string) []string {
	var out []string
	for _, name := range spec.Models {
		if name == crashed {
			continue
		}
		finished := true
		for _, mode := range spec.Modes {
			finished = finished && slices.ContainsFunc(done, func(r models.Report) bool { return r.Model == name && r.Mode == mode })
		}
		if !finished {
			out = append(out, name)
		}
	}
	return out
}

// showRecord displays the raw per-task record of the reports, as
// ReportMIME (JSON) with a line of text.
func showRecord(env magic.Env, reports []models.Report) {
	raw, err := json.Marshal(reports)
	if err != nil {
		// A task's result JSON cannot carry (a channel, a func): record
		// its type instead, so the rest of the record still goes out.
		raw, err = json.Marshal(jsonSafe(reports))
		if err != nil {
			env.Print("stderr", "atonce: the per-task record could not be encoded as JSON: "+err.Error()+"\n")
			return
		}
	}
	var record any
	if json.Unmarshal(raw, &record) == nil {
		env.Display(enginemsg.Bundle{ReportMIME: record, "text/plain": fmt.Sprintf("(per-task record of %d model run(s), as %s)", len(reports), ReportMIME)})
	}
}

// jsonSafe returns a copy of reports in which every task result JSON
// cannot encode is replaced by a note naming its type.
func jsonSafe(reports []models.Report) []models.Report {
	out := make([]models.Report, len(reports))
	for i, r := range reports {
		r.Tasks = append([]models.TaskRecord(nil), r.Tasks...)
		for j, t := range r.Tasks {
			if _, err := json.Marshal(t.Result); err != nil {
				r.Tasks[j].Result = fmt.Sprintf("(a %T, which JSON cannot carry)", t.Result)
			}
		}
		out[i] = r
	}
	return out
}

// byMode splits reports by their mode, in the order the modes first
// appear: one group when they are of one mode.
func byMode(reports []models.Report) [][]models.Report {
	var modes []models.Mode
	for _, r := range reports {
		if !slices.Contains(modes, r.Mode) {
			modes = append(modes, r.Mode)
		}
	}
	if len(modes) < 2 {
		return [][]models.Report{reports}
	}
	groups := make([][]models.Report, len(modes))
	for _, r := range reports {
		i := slices.Index(modes, r.Mode)
		groups[i] = append(groups[i], r)
	}
	return groups
}

// diagnose is the data-sharing diagnosis of the reports, each mode's
// runs compared with the baseline of that mode, in one table.
func diagnose(static sharing.Static, before map[string]json.RawMessage, reports []models.Report) sharing.Diagnosis {
	groups := byMode(models.Labelled(reports))
	if len(groups) == 1 {
		return sharing.Diagnose(static, before, groups[0])
	}
	var out sharing.Diagnosis
	for _, g := range groups {
		d := sharing.Diagnose(static, before, g)
		out.Rows = append(out.Rows, d.Rows...)
		for _, s := range d.Sentences {
			if !slices.Contains(out.Sentences, s) {
				out.Sentences = append(out.Sentences, s)
			}
		}
		if out.Baseline == "" {
			out.Baseline = baselineName()
		}
	}
	return out
}

// showDiagnosis displays the data-sharing diagnostics: one sentence per
// model in plain words, then the variable-by-model table.
func showDiagnosis(env magic.Env, d sharing.Diagnosis) {
	if len(d.Rows) == 0 && len(d.Sentences) == 0 {
		return
	}
	text, table := d.Table()
	var tb, hb strings.Builder
	tb.WriteString("Data sharing\n")
	hb.WriteString("<p><b>Data sharing</b></p>\n<ul>\n")
	for _, s := range d.Sentences {
		tb.WriteString("  " + s + "\n")
		fmt.Fprintf(&hb, "<li>%s</li>\n", html.EscapeString(s))
	}
	hb.WriteString("</ul>\n")
	if len(d.Rows) > 0 {
		tb.WriteString("\n" + text)
		hb.WriteString(table)
	}
	env.Display(enginemsg.Bundle{"text/plain": tb.String(), "text/html": hb.String()})
}

// store puts the reports in the notebook variable name, declared as
// []models.Report (the package is imported for the cell, like display).
func store(ctx context.Context, env magic.Env, name string, reports []models.Report) error {
	if r := env.Execute(ctx, "var "+name+" []models.Report"); r.Err != nil {
		return fmt.Errorf("%s: %s", r.Err.Name, r.Err.Value)
	}
	v, ok := env.Vars()[name]
	if !ok || v.Type() != reflect.TypeOf(reports) {
		return fmt.Errorf("the notebook variable %s is not a []models.Report", name)
	}
	v.Set(reflect.ValueOf(append([]models.Report(nil), reports...)))
	return nil
}

// progress is the line that tells, in place, which model runs and how
// many of its tasks are done.
type progress struct {
	env   magic.Env
	id    string
	total int
	mu    sync.Mutex
	// round is where the run is, "round 3 of at most 15" ("" before the
	// first); rounds and why, once the rounds ended, how many and why.
	round  string
	rounds int
	why    string
	last   time.Time // when the line was last redrawn
	// The latest task that finished, and when: the watchdog says so when
	// nothing finishes for stallAfter.
	model           string
	done, tasks     int
	lastTask        time.Time
	stopWatch       chan struct{}
	stopWatchOnce   sync.Once
	watchdogStopped sync.WaitGroup
}

// stallAfter is how long without a finished task before the progress
// line says that a task may be stuck.
var stallAfter = 10 * time.Second

func newProgress(env magic.Env, spec Spec) *progress {
	p := &progress{env: env, total: len(spec.Models), lastTask: time.Now(), stopWatch: make(chan struct{})}
	p.id = env.Display(progressBundle(fmt.Sprintf("%%%%models: starting %s with %d tasks", strings.Join(spec.Models, ", "), spec.N)))
	p.watchdogStopped.Add(1)
	go p.watch()
	return p
}

// watch redraws the line when no task has finished for stallAfter: a long
// task, or a stuck one, which an interrupt stops.
func (p *progress) watch() {
	defer p.watchdogStopped.Done()
	tick := time.NewTicker(stallAfter / 5)
	defer tick.Stop()
	warned := time.Time{}
	for {
		select {
		case <-p.stopWatch:
			return
		case <-tick.C:
		}
		p.mu.Lock()
		since, last := time.Since(p.lastTask), p.lastTask
		where := "the first model"
		if p.model != "" {
			where = fmt.Sprintf("%s, %d of %d tasks done", p.model, p.done, p.tasks)
		}
		if since >= stallAfter && warned != last {
			warned = last
			p.env.Update(p.id, progressBundle(fmt.Sprintf("%%%%models: %s%s; no task has finished for %s: a long task, or a stuck one (under eventloop, a mutex held across an await never comes back); interrupt to stop", p.round, where, since.Round(time.Second))), nil)
		}
		p.mu.Unlock()
	}
}

func progressBundle(line string) enginemsg.Bundle {
	return enginemsg.Bundle{"text/plain": line, "text/html": "<code>" + html.EscapeString(line) + "</code>"}
}

// update is called after each task; it refreshes the line at most ten
// times a second, and at each model's last task.
func (p *progress) update(model string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.model, p.done, p.tasks, p.lastTask = model, done, total, time.Now()
	if done != total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.env.Update(p.id, progressBundle(fmt.Sprintf("%%%%models: %s%s, %d of %d tasks done", p.round, model, done, total)), nil)
}

// roundStarts is Hooks.Round: the line says which round runs from now
// on.
func (p *progress) roundStarts(round, upTo int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case round == 0:
		p.round = "warming up (unmeasured): "
	case upTo > 1:
		p.round = fmt.Sprintf("round %d of at most %d: ", round, upTo)
	}
}

// stopped is Hooks.Stopped: the finished line says how many rounds and
// why no more.
func (p *progress) stopped(rounds int, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rounds, p.why = rounds, why
}

// say puts a free-form line in the progress display.
func (p *progress) say(line string) {
	p.env.Update(p.id, progressBundle("%%models: "+line), nil)
}

func (p *progress) finish(reports []models.Report, took time.Duration, err error) {
	p.stopWatchOnce.Do(func() { close(p.stopWatch) })
	p.watchdogStopped.Wait()
	line := fmt.Sprintf("%%%%models: ran %d model(s) in %s", len(reports), took.Round(time.Millisecond))
	p.mu.Lock()
	if p.rounds > 1 {
		line += fmt.Sprintf(", %d rounds after a warm-up (%s)", p.rounds, p.why)
	}
	p.mu.Unlock()
	if err != nil {
		line += " (stopped: " + firstLine(err) + ")"
	}
	p.env.Update(p.id, progressBundle(line), nil)
}

func firstLine(err error) string {
	s := err.Error()
	if errors.Is(err, context.Canceled) {
		return "interrupted"
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
