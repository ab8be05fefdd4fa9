package sharing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"atonce/internal/words"
	"atonce/models"
)

// Diagnosis is what each concurrency model made of the variables the
// task writes (see [Diagnose]).
type Diagnosis struct {
	// Rows is a table of variable × model, variables in the order of
	// Static.Vars (then variables seen changing that the analysis missed),
	// models in the order of the reports.
	Rows []Row `json:"rows,omitempty"`
	// Sentences explain the table in plain words, about one per model,
	// each starting with the model's name.
	Sentences []string `json:"sentences,omitempty"`
	// Baseline names the model the others are compared with (sequential):
	// the one whose values are each row's Expected.
	Baseline string `json:"baseline,omitempty"`
}

// Row is one variable under one model. Values are compact JSON, "" when
// unknown (the variable could not be encoded, or the run left it out).
type Row struct {
	Var   string `json:"var"`
	Model string `json:"model"`
	Guard string `json:"guard,omitempty"` // from the static analysis: Bare, Atomic, Mutex, Mixed, "" if not seen
	// Before is the value before the comparison; Expected the value after
	// the sequential run; After the notebook's value after this model's run
	// (for processes and distributed, the notebook's own copy, which the
	// tasks do not touch).
	Before   string `json:"before,omitempty"`
	Expected string `json:"expected,omitempty"`
	After    string `json:"after,omitempty"`
	// Workers are, for a model whose tasks run in other processes, each
	// worker's own copy at the end, as "worker 0: 4000".
	Workers []string `json:"workers,omitempty"`
	// Lost is how many updates this model lost compared with sequential,
	// (Expected−Before) − (After−Before), measured on numbers, on the
	// length of lists, and on the sum of a map's numbers (or its number of
	// entries); LostPct is Lost as a percentage of Expected−Before. Both
	// are meaningful only when HasLost; Unit names what was counted
	// ("increments", "appends", "entries", "updates").
	Lost    float64 `json:"lost,omitempty"`
	LostPct float64 `json:"lost_pct,omitempty"`
	HasLost bool    `json:"has_lost,omitempty"`
	Unit    string  `json:"unit,omitempty"`
	// Err is the model's failure, if the run failed.
	Err string `json:"err,omitempty"`
}

// Diagnose compares the values of the variables the task writes across
// the models' runs, and explains the differences.
//
// st is the task's static analysis; before holds the notebook's values
// of the variables before the comparison (JSON, as in Report.Globals);
// reports are the models' reports, sequential first when it ran, each
// with Globals set to the notebook's values after that model's run. For
// processes and distributed, Report.Globals is the notebook's own
// (untouched) copy and each worker's copy is in Report.Pool[k].Globals;
// a variable missing there means the worker did not change it.
//
// Besides the variables the analysis found written, Diagnose includes
// any variable whose value changed in some run.
func Diagnose(st Static, before map[string]json.RawMessage, reports []models.Report) Diagnosis {
	d := &diagnoser{st: st, before: before, reports: reports, vars: map[string]Var{}}
	for _, r := range reports {
		if r.Baseline && d.seq == nil {
			d.seq = &r
		}
	}
	d.base = baselineName(d.seq)
	d.pickVars()
	out := Diagnosis{Baseline: d.base}
	for _, name := range d.names {
		for _, r := range reports {
			out.Rows = append(out.Rows, d.row(name, r))
		}
	}
	if len(d.names) == 0 && st.Func != "" {
		out.Sentences = append(out.Sentences, fmt.Sprintf("%s writes no package-level variable the analysis can see, so the models have no shared state to disagree on.", code(st.Func)))
	}
	for _, r := range reports {
		out.Sentences = append(out.Sentences, d.sentences(r, out.Rows)...)
	}
	return out
}

type diagnoser struct {
	st      Static
	before  map[string]json.RawMessage
	reports []models.Report
	seq     *models.Report
	base    string         // the baseline model's name, for sentences
	names   []string       // the variables to show, in order
	vars    map[string]Var // their static facts
}

// baselineName is the name of the model the others are compared with:
// seq's, else the registered baseline's.
func baselineName(seq *models.Report) string {
	if seq != nil {
		return seq.Model
	}
	if m, ok := models.BaselineModel(); ok {
		return m.Name()
	}
	return "the baseline"
}

// pickVars chooses the variables: those the task writes, then those seen
// changing.
func (d *diagnoser) pickVars() {
	has := map[string]bool{}
	for _, v := range d.st.Vars {
		if v.Written {
			d.names = append(d.names, v.Name)
			d.vars[v.Name] = v
			has[v.Name] = true
		}
	}
	var extra []string
	note := func(g map[string]json.RawMessage) {
		for name, val := range g {
			if has[name] {
				continue
			}
			if b, ok := d.before[name]; ok && sameJSON(b, val) {
				continue
			}
			has[name] = true
			extra = append(extra, name)
		}
	}
	for _, r := range d.reports {
		note(r.Globals)
		for _, w := range r.Pool {
			note(w.Globals)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		v := Var{Name: name, Written: true}
		for _, sv := range d.st.Vars {
			if sv.Name == name {
				v = sv
			}
		}
		d.vars[name] = v
	}
	d.names = append(d.names, extra...)
}

// outOfProcess tells whether r's tasks ran in worker processes, each
// with its own copy of the notebook.
func outOfProcess(r models.Report) bool {
	return len(r.Pool) > 0 || r.Placement == models.InWorkers
}

// row is one variable under one model.
func (d *diagnoser) row(name string, r models.Report) Row {
	v := d.vars[name]
	row := Row{Var: name, Model: r.Model, Guard: v.Guard, Err: r.Err}
	before, hasBefore := d.before[name]
	if hasBefore {
		row.Before = compact(before)
	}
	var expected json.RawMessage
	if d.seq != nil && d.seq.Err == "" {
		if e, ok := d.seq.Globals[name]; ok {
			expected = e
			row.Expected = compact(e)
		}
	}
	after, hasAfter := r.Globals[name]
	if hasAfter {
		row.After = compact(after)
	}
	if outOfProcess(r) {
		for _, w := range r.Pool {
			val, ok := w.Globals[name]
			if !ok {
				val = before
			}
			s := "unchanged"
			if val != nil {
				s = compact(val)
			}
			row.Workers = append(row.Workers, fmt.Sprintf("worker %d: %s", w.Worker, s))
		}
		return row
	}
	if r.Baseline || expected == nil || !hasAfter || r.Err != "" {
		return row
	}
	e, unit, ok1 := measureOf(expected, v.Op)
	o, _, ok2 := measureOf(after, v.Op)
	if !ok1 || !ok2 {
		return row
	}
	b := 0.0
	if hasBefore {
		if x, _, ok := measureOf(before, v.Op); ok {
			b = x
		}
	}
	row.HasLost = true
	row.Unit = unit
	row.Lost = e - o
	if e != b {
		row.LostPct = 100 * row.Lost / (e - b)
	}
	return row
}

// measureOf is the number a value counts for lost updates: a number
// itself, a list's length, the sum of a map's numbers or else its number
// of entries (null is 0). op, the first write as written, names the unit.
func measureOf(raw json.RawMessage, op string) (float64, string, bool) {
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return 0, "", false
	}
	switch x := x.(type) {
	case nil:
		return 0, opUnit(op), true
	case float64:
		return x, opUnit(op), true
	case []any:
		return float64(len(x)), "appends", true
	case map[string]any:
		sum := 0.0
		for _, v := range x {
			f, ok := v.(float64)
			if !ok {
				return float64(len(x)), "entries", true
			}
			sum += f
		}
		if len(x) == 0 {
			return 0, "entries", true
		}
		return sum, opUnit(op), true
	}
	return 0, "", false
}

// opUnit names the kind of update an operation makes.
func opUnit(op string) string {
	switch {
	case strings.Contains(op, "++"), strings.Contains(op, "+="), strings.Contains(op, "Add("):
		return "increments"
	case strings.Contains(op, "--"), strings.Contains(op, "-="):
		return "decrements"
	case strings.Contains(op, "append("):
		return "appends"
	}
	return "updates"
}

// sentences explains one model's run.
func (d *diagnoser) sentences(r models.Report, rows []Row) []string {
	var out []string
	prefix := r.Model + ": "
	if r.Err != "" {
		out = append(out, prefix+d.failure(r))
		if len(r.Globals) == 0 && len(r.Pool) == 0 {
			return out
		}
	}
	if s := taskFailures(r); s != "" {
		out = append(out, prefix+s)
	}
	var clauses []string
	var units []string // units of the updates the lesson is about
	last := -1         // the clause the lesson follows
	if r.Baseline {
		var moves []string
		for _, row := range rows {
			if row.Model != r.Model || row.After == "" {
				continue
			}
			if row.Before == "" || row.Before == row.After {
				moves = append(moves, fmt.Sprintf("%s ended as %s", code(row.Var), show(row.After)))
			} else {
				moves = append(moves, fmt.Sprintf("%s went from %s to %s", code(row.Var), show(row.Before), show(row.After)))
			}
		}
		if len(moves) > 0 {
			clauses = append(clauses, "the baseline: "+words.JoinAnd(moves))
		}
	} else {
		for _, row := range rows {
			if row.Model != r.Model {
				continue
			}
			n := len(units)
			if c := d.clause(r, row, &units); c != "" {
				clauses = append(clauses, c)
				if len(units) > n {
					last = len(clauses) - 1
				}
			}
		}
	}
	if last >= 0 {
		clauses[last] += lesson(units)
	}
	if len(clauses) > 0 {
		out = append(out, prefix+strings.Join(clauses, "; ")+".")
	}
	if s := d.resultDiffs(r); s != "" {
		out = append(out, prefix+s)
	}
	return out
}

// lesson is the talk's lesson about atomicity, said about the kind of
// update that was (or could have been) lost.
func lesson(units []string) string {
	var ops []string
	for _, op := range []string{"x += 1", "s = append(s, v)", "m[k] = v"} {
		for _, u := range units {
			if (u == "appends") == (op == "s = append(s, v)") && (u == "entries") == (op == "m[k] = v") {
				ops = append(ops, op)
				break
			}
		}
	}
	switch len(ops) {
	case 0:
		return ""
	case 1:
		return " — " + ops[0] + " is not atomic: don't count on it"
	}
	return " — " + words.JoinAnd(ops) + " are not atomic: don't count on it"
}

// failure explains a failed run.
func (d *diagnoser) failure(r models.Report) string {
	msg := shorten(strings.TrimSpace(r.Err), 200)
	if strings.Contains(r.Err, "concurrent map") {
		var maps []string
		for _, name := range d.names {
			if v := d.vars[name]; v.Map && v.Guard != Atomic && v.Guard != Mutex {
				maps = append(maps, code(name))
			}
		}
		s := "the run crashed with " + strconv.Quote(firstLine(r.Err))
		if len(maps) > 0 {
			s += ": " + words.JoinAnd(maps) + " is a map that several tasks wrote at the same time without a lock, and Go stops the whole program rather than let a map break"
		} else {
			s += ": several tasks wrote one map at the same time, and Go stops the whole program rather than let a map break"
		}
		return s + ". Guard the writes with a sync.Mutex, or use sync.Map."
	}
	return "the run failed: " + strings.TrimSuffix(msg, ".") + "."
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return shorten(s, 120)
}

// taskFailures tells how many tasks failed, with the first error.
func taskFailures(r models.Report) string {
	failed := 0
	first := ""
	for _, t := range r.Tasks {
		if t.Err != "" {
			if failed == 0 {
				first = fmt.Sprintf("task %d: %s", t.Index, firstLine(t.Err))
			}
			failed++
		}
	}
	if failed == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d tasks failed (%s).", failed, len(r.Tasks), strings.TrimSuffix(first, "."))
}

// clause explains one variable under one model (not the baseline).
//
// A clause about a lost or luckily kept update under threads or gil adds
// its unit to needLesson, so that the sentence ends with the talk's
// lesson once.
func (d *diagnoser) clause(r models.Report, row Row, needLesson *[]string) string {
	v := d.vars[row.Var]
	name := code(row.Var)
	if outOfProcess(r) {
		return d.isolation(r, row)
	}
	if row.After == "" {
		return ""
	}
	if r.Err != "" {
		return fmt.Sprintf("%s ended as %s, but the run did not finish, so nothing can be said about lost updates", name, show(row.After))
	}
	if row.Expected == "" {
		if row.Before != "" && row.Before != row.After {
			return fmt.Sprintf("%s went from %s to %s (no %s run to compare with)", name, show(row.Before), show(row.After), d.base)
		}
		return ""
	}
	tasks := len(r.Tasks)
	lesson := func() { *needLesson = append(*needLesson, row.Unit) }
	if sameJSON(json.RawMessage(row.Expected), json.RawMessage(row.After)) {
		switch {
		case v.Guard == Atomic:
			return fmt.Sprintf("%s is updated with sync/atomic; no update was lost", name)
		case v.Guard == Mutex:
			return fmt.Sprintf("%s is updated under a mutex; no update was lost", name)
		case r.Switching == models.WholeTask:
			return fmt.Sprintf("no update lost: each task runs to its end before the next starts, so nothing comes between reading and writing %s", name)
		case r.Switching == models.AtAwaits:
			if len(d.st.Awaits) == 0 && v.Op != "" {
				return fmt.Sprintf("no update lost: tasks switch only at awaits, and %s has none", code(v.Op))
			}
			return fmt.Sprintf("no update lost: tasks switch only at awaits, and none came between reading and writing %s", name)
		case v.Guard == Bare || v.Guard == Mixed:
			how := "without synchronization"
			if v.Guard == Mixed {
				how = "partly without synchronization"
			}
			switch {
			case v.Map:
				return fmt.Sprintf("%d tasks wrote the map %s %s and it survived this time (%s, as in %s), but Go may stop the program with \"concurrent map writes\": don't count on it", tasks, name, how, show(row.After), d.base)
			case v.Read:
				// A read-modify-write (x++, x = append(x, v)) that happened
				// not to interleave.
				lesson()
				return fmt.Sprintf("%d tasks wrote %s %s, yet no update was lost this time (%s, as in %s)", tasks, name, how, show(row.After), d.base)
			}
			return fmt.Sprintf("%s ended as in %s (%s), though %d tasks wrote it %s", name, d.base, show(row.After), tasks, how)
		}
		return fmt.Sprintf("%s ended as in %s (%s)", name, d.base, show(row.After))
	}
	if row.HasLost && row.Lost > 0 {
		pct := percent(row.LostPct)
		numbers := fmt.Sprintf("(expected %s, got %s)", show(row.Expected), show(row.After))
		if got, _, ok := measureOf(json.RawMessage(row.After), ""); ok && !isNumber(row.After) {
			numbers = fmt.Sprintf("(expected %s, got %s)", num(got+row.Lost), num(got))
		}
		unit := row.Unit
		switch {
		case v.Guard == Atomic || v.Guard == Mutex:
			how := "with sync/atomic"
			if v.Guard == Mutex {
				how = "under a mutex"
			}
			return fmt.Sprintf("although %s looks updated %s, %s of %s were lost %s: some write escapes the guard (do all tasks lock the same mutex?)", name, how, pct, unit, numbers)
		case r.Switching == models.Simultaneous:
			lesson()
			return fmt.Sprintf("%d tasks wrote %s without synchronization; %s of %s were lost %s", tasks, name, pct, unit, numbers)
		case r.Switching == models.Preempted:
			lesson()
			return fmt.Sprintf("%s of %s were lost %s: a thread was preempted between reading and writing %s, and another wrote it meanwhile", pct, unit, numbers, name)
		case r.Switching == models.AtAwaits:
			return fmt.Sprintf("%s of %s were lost %s: a task awaited between reading and writing %s, and other tasks wrote it meanwhile", pct, unit, numbers, name)
		}
		return fmt.Sprintf("%s of %s of %s were lost %s", pct, unit, name, numbers)
	}
	if row.HasLost && row.Lost < 0 {
		return fmt.Sprintf("%s ended at %s, more than %s's %s", name, show(row.After), d.base, show(row.Expected))
	}
	return fmt.Sprintf("%s ended as %s, where %s left %s", name, show(row.After), d.base, show(row.Expected))
}

// isolation explains a variable under a model whose tasks run in other
// processes.
func (d *diagnoser) isolation(r models.Report, row Row) string {
	name := code(row.Var)
	var changed, changedOnly []string
	moved, all := false, len(r.Pool) > 0
	before := json.RawMessage(row.Before)
	for _, w := range r.Pool {
		val, ok := w.Globals[row.Var]
		differs := ok && (row.Before == "" || !sameJSON(val, before))
		if differs {
			moved = true
		} else {
			all = false
		}
		s := "unchanged"
		if ok {
			s = show(compact(val))
		} else if row.Before != "" {
			s = show(row.Before)
		}
		changed = append(changed, fmt.Sprintf("worker %d: %s", w.Worker, s))
		if differs {
			changedOnly = append(changedOnly, fmt.Sprintf("worker %d: %s", w.Worker, s))
		}
	}
	if len(changed) > 4 {
		changed = append(changed[:4], fmt.Sprintf("and %d more", len(changed)-4))
	}
	if len(changedOnly) > 4 {
		changedOnly = append(changedOnly[:4], fmt.Sprintf("and %d more", len(changedOnly)-4))
	}
	why := "isolation"
	if r.Isolation == models.Nothing {
		why = fmt.Sprintf("isolation: %s %s share nothing with the notebook", r.Model, r.Nouns)
	}
	notebook := ""
	switch {
	case row.After == "" && row.Before == "":
		notebook = ""
	case row.After == "" || row.After == row.Before || (row.Before != "" && sameJSON(json.RawMessage(row.After), before)):
		notebook = fmt.Sprintf("the notebook's is unchanged at %s (%s)", show(orElse(row.After, row.Before)), why)
	default:
		notebook = fmt.Sprintf("the notebook's went from %s to %s", show(row.Before), show(row.After))
	}
	var s string
	switch {
	case len(r.Pool) == 0:
		s = fmt.Sprintf("the tasks changed their workers' copies of %s", name)
	case moved && all:
		s = fmt.Sprintf("each worker changed its own copy of %s (%s)", name, strings.Join(changed, ", "))
	case moved:
		s = fmt.Sprintf("some workers changed their own copies of %s (%s; the others' copies are unchanged)", name, strings.Join(changedOnly, ", "))
	default:
		s = fmt.Sprintf("no worker's copy of %s changed", name)
	}
	if notebook != "" {
		s += "; " + notebook
	}
	if sum, ok := d.workerTotal(r, row); ok && moved {
		s += "; " + sum
	}
	return s
}

// workerTotal compares the workers' updates, added up, with the
// baseline's.
func (d *diagnoser) workerTotal(r models.Report, row Row) (string, bool) {
	if row.Expected == "" || len(r.Pool) < 2 {
		return "", false
	}
	op := d.vars[row.Var].Op
	e, unit, ok := measureOf(json.RawMessage(row.Expected), op)
	if !ok || unit != "increments" {
		return "", false
	}
	b := 0.0
	if row.Before != "" {
		if x, _, ok := measureOf(json.RawMessage(row.Before), op); ok {
			b = x
		}
	}
	total := 0.0
	for _, w := range r.Pool {
		if val, ok := w.Globals[row.Var]; ok {
			x, _, ok := measureOf(val, op)
			if !ok {
				return "", false
			}
			total += x - b
		}
	}
	if total == e-b {
		return fmt.Sprintf("together the workers made all %s %s, but none reached the notebook", num(e-b), unit), true
	}
	return fmt.Sprintf("together the workers made %s of %s's %s %s", num(total), d.base, num(e-b), unit), true
}

// resultDiffs compares task results with the baseline's, by index.
func (d *diagnoser) resultDiffs(r models.Report) string {
	if d.seq == nil || r.Baseline || d.seq.Err != "" {
		return ""
	}
	want := map[int]string{}
	for _, t := range d.seq.Tasks {
		if t.Err == "" {
			want[t.Index] = resultJSON(t.Result)
		}
	}
	compared, differ := 0, 0
	first := ""
	for _, t := range r.Tasks {
		w, ok := want[t.Index]
		if !ok || t.Err != "" {
			continue
		}
		compared++
		got := resultJSON(t.Result)
		if !sameJSON(json.RawMessage(got), json.RawMessage(w)) {
			if differ == 0 {
				first = fmt.Sprintf("task %d returned %s, %s %s", t.Index, show(got), d.base, show(w))
			}
			differ++
		}
	}
	if differ == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d task results differ from %s's (%s): the results depend on what the other tasks did to shared state, or on timing.", differ, compared, d.base, first)
}

func resultJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return string(b)
}

// sameJSON tells whether two JSON texts encode equal values.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// show shortens a JSON value for a sentence.
func show(s string) string { return shorten(s, 40) }

func num(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

func percent(p float64) string {
	if p > 0 && p < 1 {
		return "under 1%"
	}
	return fmt.Sprintf("%.0f%%", p)
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func code(s string) string { return "`" + s + "`" }

// Table renders the rows as aligned plain text and as an HTML <table>
// (no scripts, no styles; values escaped; long values shortened). The
// sentences are not part of it.
func (d Diagnosis) Table() (text, htmlTable string) {
	header := []string{"variable", "model", "guard", "before", orElse(d.Baseline, "baseline"), "after", "lost", "workers' copies"}
	var rows [][]string
	for _, r := range d.Rows {
		lost := ""
		if r.HasLost {
			lost = num(r.Lost)
			if r.Lost > 0 && r.LostPct > 0 {
				lost += " (" + percent(r.LostPct) + ")"
			}
		}
		after := r.After
		if r.Err != "" && after == "" {
			after = "(failed)"
		}
		rows = append(rows, []string{
			r.Var, r.Model, r.Guard,
			shorten(r.Before, 40), shorten(r.Expected, 40), shorten(after, 40),
			lost, shorten(strings.Join(r.Workers, ", "), 80),
		})
	}
	return models.RenderTable(header, rows)
}
