package sharing

import (
	"encoding/json"
	"strings"
	"testing"

	"atonce/models"
	_ "atonce/models/distributed" // the distributed model's traits, for its reports
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func globals(kv ...string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = raw(kv[i+1])
	}
	return m
}

// tasks makes n task records whose results are results[i] (or i).
func tasks(n int, results ...any) []models.TaskRecord {
	ts := make([]models.TaskRecord, n)
	for i := range ts {
		ts[i].Index = i
		ts[i].Result = i
		if i < len(results) {
			ts[i].Result = results[i]
		}
	}
	return ts
}

func report(model string, g map[string]json.RawMessage) models.Report {
	return models.Report{Model: model, Traits: models.TraitsOf(model), Tasks: tasks(8), Globals: g}
}

// sentence returns the sentence about model, failing if there is not
// exactly one.
func sentence(t *testing.T, d Diagnosis, model string) string {
	t.Helper()
	var found []string
	for _, s := range d.Sentences {
		if strings.HasPrefix(s, model+": ") {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("sentences about %s: %q (all: %q)", model, found, d.Sentences)
	}
	return found[0]
}

func contains(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q\ndoes not contain %q", s, p)
		}
	}
}

func counterStatic(guard string) Static {
	return Static{Func: "work", Vars: []Var{{Name: "counter", Type: "int", Read: true, Written: true, Guard: guard, Op: "counter++", Via: []string{"work"}}}}
}

func row(t *testing.T, d Diagnosis, v, model string) Row {
	t.Helper()
	for _, r := range d.Rows {
		if r.Var == v && r.Model == model {
			return r
		}
	}
	t.Fatalf("no row %s × %s in %+v", v, model, d.Rows)
	return Row{}
}

func TestDiagnoseLostUpdates(t *testing.T) {
	d := Diagnose(counterStatic(Bare), globals("counter", "0"), []models.Report{
		report("sequential", globals("counter", "8000")),
		report("eventloop", globals("counter", "8000")),
		report("gil", globals("counter", "7760")),
		report("threads", globals("counter", "4720")),
	})
	contains(t, sentence(t, d, "sequential"), "sequential: the baseline: `counter` went from 0 to 8000.")
	contains(t, sentence(t, d, "eventloop"), "no update lost: tasks switch only at awaits, and `counter++` has none")
	contains(t, sentence(t, d, "threads"), "8 tasks wrote `counter` without synchronization; 41% of increments were lost (expected 8000, got 4720)", "x += 1 is not atomic", "don't count on it")
	contains(t, sentence(t, d, "gil"), "3% of increments were lost (expected 8000, got 7760): a thread was preempted between reading and writing `counter`", "x += 1 is not atomic")
	r := row(t, d, "counter", "threads")
	if !r.HasLost || r.Lost != 3280 || r.LostPct != 41 || r.Before != "0" || r.Expected != "8000" || r.After != "4720" || r.Unit != "increments" {
		t.Errorf("threads row %+v", r)
	}
	if len(d.Rows) != 4 {
		t.Errorf("%d rows, want 4 (one variable × four models)", len(d.Rows))
	}
}

func TestDiagnoseLossRelativeToBefore(t *testing.T) {
	d := Diagnose(counterStatic(Bare), globals("counter", "1000"), []models.Report{
		report("sequential", globals("counter", "2000")),
		report("threads", globals("counter", "1750")),
	})
	r := row(t, d, "counter", "threads")
	if r.Lost != 250 || r.LostPct != 25 {
		t.Errorf("lost %v (%v%%), want 250 (25%%)", r.Lost, r.LostPct)
	}
	contains(t, sentence(t, d, "threads"), "25% of increments were lost (expected 2000, got 1750)")
}

func TestDiagnoseNoLoss(t *testing.T) {
	models4 := func() []models.Report {
		return []models.Report{
			report("sequential", globals("counter", "8000")),
			report("gil", globals("counter", "8000")),
			report("threads", globals("counter", "8000")),
		}
	}
	d := Diagnose(counterStatic(Atomic), globals("counter", "0"), models4())
	contains(t, sentence(t, d, "threads"), "threads: `counter` is updated with sync/atomic; no update was lost.")
	if r := row(t, d, "counter", "threads"); !r.HasLost || r.Lost != 0 {
		t.Errorf("row %+v, want 0 lost", r)
	}
	d = Diagnose(counterStatic(Mutex), globals("counter", "0"), models4())
	contains(t, sentence(t, d, "gil"), "gil: `counter` is updated under a mutex; no update was lost.")
	d = Diagnose(counterStatic(Bare), globals("counter", "0"), models4())
	contains(t, sentence(t, d, "threads"), "8 tasks wrote `counter` without synchronization, yet no update was lost this time (8000, as in sequential) — x += 1 is not atomic: don't count on it")

	// Plain stores to distinct elements lose nothing: no lesson about +=.
	st := Static{Func: "work", Vars: []Var{
		{Name: "results", Written: true, Guard: Bare, Op: "results[i] = v"},
		{Name: "seen", Written: true, Guard: Bare, Map: true, Op: "seen[i] = true"},
	}}
	d = Diagnose(st, globals("results", "[0,0]", "seen", "{}"), []models.Report{
		report("sequential", globals("results", "[1,2]", "seen", `{"1":true}`)),
		report("threads", globals("results", "[1,2]", "seen", `{"1":true}`)),
	})
	s := sentence(t, d, "threads")
	contains(t, s, "`results` ended as in sequential ([1,2]), though 8 tasks wrote it without synchronization",
		"8 tasks wrote the map `seen` without synchronization and it survived this time", "concurrent map writes")
	if strings.Contains(s, "x += 1") {
		t.Errorf("%q: no read-modify-write, no lesson about x += 1", s)
	}
}

func TestDiagnoseEventLoopAwait(t *testing.T) {
	st := counterStatic(Bare)
	st.Awaits = []string{"time.Sleep in work (cell 2 line 3)"}
	d := Diagnose(st, globals("counter", "0"), []models.Report{
		report("sequential", globals("counter", "8")),
		report("eventloop", globals("counter", "1")),
	})
	contains(t, sentence(t, d, "eventloop"), "88% of increments were lost (expected 8, got 1): a task awaited between reading and writing `counter`")
}

func TestDiagnoseProcessIsolation(t *testing.T) {
	procs := models.Report{Model: "processes", Traits: models.TraitsOf("processes"), Tasks: tasks(8), Globals: globals("counter", "0"),
		Pool: []models.WorkerRecord{
			{Worker: 0, Globals: globals("counter", "4000")},
			{Worker: 1, Globals: globals("counter", "4000")},
		}}
	dist := models.Report{Model: "distributed", Traits: models.TraitsOf("distributed"), Tasks: tasks(8), Globals: globals("counter", "0"),
		Pool: []models.WorkerRecord{
			{Worker: 0, Globals: globals("counter", "5000")},
			{Worker: 1},
			{Worker: 2, Globals: globals("counter", "2000")},
		}}
	d := Diagnose(counterStatic(Bare), globals("counter", "0"), []models.Report{
		report("sequential", globals("counter", "8000")), procs, dist,
	})
	contains(t, sentence(t, d, "processes"),
		"processes: each worker changed its own copy of `counter` (worker 0: 4000, worker 1: 4000); the notebook's is unchanged at 0 (isolation)",
		"together the workers made all 8000 increments, but none reached the notebook")
	contains(t, sentence(t, d, "distributed"), "worker 0: 5000, worker 2: 2000; the others' copies are unchanged", "share nothing", "together the workers made 7000 of sequential's 8000 increments")
	r := row(t, d, "counter", "processes")
	if r.After != "0" || strings.Join(r.Workers, ", ") != "worker 0: 4000, worker 1: 4000" {
		t.Errorf("processes row %+v", r)
	}
}

func TestDiagnoseFailedModels(t *testing.T) {
	st := Static{Func: "work", Vars: []Var{{Name: "seen", Type: "map[int]bool", Written: true, Guard: Bare, Map: true, Op: "seen[i] = true"}}}
	d := Diagnose(st, globals("seen", "{}"), []models.Report{
		report("sequential", globals("seen", `{"1":true,"2":true}`)),
		{Model: "threads", Traits: models.TraitsOf("threads"), Err: "the engine died: fatal error: concurrent map writes\n\ngoroutine 12 [running]:"},
		{Model: "gil", Traits: models.TraitsOf("gil"), Err: "stopped after 3 of 8 tasks: context canceled", Tasks: tasks(3)},
	})
	contains(t, sentence(t, d, "threads"), "the run crashed", "concurrent map writes", "`seen` is a map", "sync.Mutex")
	contains(t, sentence(t, d, "gil"), "gil: the run failed: stopped after 3 of 8 tasks: context canceled.")
	if r := row(t, d, "seen", "threads"); r.Err == "" || r.After != "" {
		t.Errorf("failed row %+v", r)
	}

	// A run that stopped half way but reports values: no talk of losses.
	d = Diagnose(counterStatic(Bare), globals("counter", "0"), []models.Report{
		report("sequential", globals("counter", "8000")),
		{Model: "threads", Traits: models.TraitsOf("threads"), Err: "stopped after 3 of 8 tasks: context canceled", Tasks: tasks(3), Globals: globals("counter", "3000")},
	})
	var got []string
	for _, s := range d.Sentences {
		if strings.HasPrefix(s, "threads: ") {
			got = append(got, s)
		}
	}
	if len(got) != 2 {
		t.Fatalf("threads sentences %q", got)
	}
	contains(t, got[0], "the run failed: stopped after 3 of 8 tasks")
	contains(t, got[1], "`counter` ended as 3000, but the run did not finish")
	if r := row(t, d, "counter", "threads"); r.HasLost {
		t.Errorf("lost updates counted for an unfinished run: %+v", r)
	}
}

func TestDiagnoseTaskErrors(t *testing.T) {
	th := report("threads", globals("counter", "8000"))
	th.Tasks[3].Err = "panic: boom"
	th.Tasks[5].Err = "panic: bang"
	d := Diagnose(counterStatic(Atomic), globals("counter", "0"), []models.Report{report("sequential", globals("counter", "8000")), th})
	var got string
	for _, s := range d.Sentences {
		if strings.Contains(s, "failed") {
			got = s
		}
	}
	contains(t, got, "threads: 2 of 8 tasks failed (task 3: panic: boom).")
}

func TestDiagnoseDifferingResults(t *testing.T) {
	seq := report("sequential", globals("counter", "8"))
	seq.Tasks = tasks(8, 1, 2, 3, 4, 5, 6, 7, 8)
	th := report("threads", globals("counter", "8"))
	th.Tasks = tasks(8, 1, 2, 2, 4, 5, 5, 7, 7)
	d := Diagnose(counterStatic(Atomic), globals("counter", "0"), []models.Report{seq, th})
	var got string
	for _, s := range d.Sentences {
		if strings.Contains(s, "results differ") {
			got = s
		}
	}
	contains(t, got, "threads: 3 of 8 task results differ from sequential's (task 2 returned 2, sequential 3)")
}

func TestDiagnoseMapsSlicesAndMissedVariables(t *testing.T) {
	st := Static{Func: "work", Vars: []Var{
		{Name: "log", Type: "[]int", Written: true, Guard: Bare, Op: "log = append(log, i)"},
		{Name: "hist", Type: "map[string]int", Written: true, Guard: Bare, Map: true, Op: "hist[k]++"},
		{Name: "limit", Type: "int", Read: true},
	}}
	d := Diagnose(st, globals("log", "null", "hist", "{}", "limit", "5", "hidden", "1"), []models.Report{
		report("sequential", globals("log", "[1,2,3,4]", "hist", `{"a":3,"b":1}`, "limit", "5", "hidden", "2")),
		report("threads", globals("log", "[1,3,4]", "hist", `{"a":2,"b":1}`, "limit", "5", "hidden", "2")),
	})
	s := sentence(t, d, "threads")
	contains(t, s, "25% of appends were lost (expected 4, got 3)", "25% of increments were lost", "x += 1 and s = append(s, v) are not atomic: don't count on it; `hidden`")
	if r := row(t, d, "hidden", "threads"); r.Expected != "2" {
		t.Errorf("hidden row %+v: a variable seen changing belongs in the table", r)
	}
	for _, r := range d.Rows {
		if r.Var == "limit" {
			t.Errorf("limit is only read, yet has a row: %+v", r)
		}
	}
}

func TestDiagnoseNothingWritten(t *testing.T) {
	d := Diagnose(Static{Func: "work"}, nil, []models.Report{report("sequential", nil), report("threads", nil)})
	if len(d.Rows) != 0 || len(d.Sentences) != 1 || !strings.Contains(d.Sentences[0], "`work` writes no package-level variable") {
		t.Errorf("%+v", d)
	}
}

func TestTable(t *testing.T) {
	st := Static{Func: "work", Vars: []Var{
		{Name: "counter", Written: true, Guard: Bare, Op: "counter++"},
		{Name: "note", Written: true, Guard: Bare},
	}}
	long := `"` + strings.Repeat("x", 100) + `"`
	d := Diagnose(st, globals("counter", "0", "note", `""`), []models.Report{
		report("sequential", globals("counter", "8000", "note", `"<script>alert(1)</script>"`)),
		report("threads", globals("counter", "4720", "note", long)),
		{Model: "processes", Traits: models.TraitsOf("processes"), Tasks: tasks(8), Globals: globals("counter", "0", "note", `""`), Pool: []models.WorkerRecord{{Worker: 0, Globals: globals("counter", "8000")}}},
	})
	text, h := d.Table()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("text table has %d lines, want header + 6:\n%s", len(lines), text)
	}
	contains(t, lines[0], "variable", "model", "guard", "before", "sequential", "after", "lost", "workers' copies")
	contains(t, text, "3280 (41%)", "worker 0: 8000")
	if strings.Contains(text, strings.Repeat("x", 60)) || !strings.Contains(text, "…") {
		t.Errorf("long values are not shortened:\n%s", text)
	}
	// Columns line up: "model" starts at the same offset on every line.
	col := strings.Index(lines[0], "model")
	for _, l := range lines[1:] {
		if l[col-2:col] != "  " {
			t.Errorf("misaligned line %q", l)
		}
	}
	contains(t, h, "<table>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<td>3280 (41%)</td>")
	if strings.Contains(h, "<script>") {
		t.Errorf("unescaped HTML: %s", h)
	}
}

func TestAnalyzeThenDiagnose(t *testing.T) {
	st := analyze(t, "work", "counter := 0\nvar hits atomic.Int64", "func work(i int) {\n\tcounter++\n\thits.Add(1)\n}")
	d := Diagnose(st, globals("counter", "0", "hits", "0"), []models.Report{
		report("sequential", globals("counter", "8000", "hits", "8000")),
		report("threads", globals("counter", "5000", "hits", "8000")),
	})
	s := sentence(t, d, "threads")
	contains(t, s, "`counter` without synchronization; 38% of increments were lost (expected 8000, got 5000)", "`hits` is updated with sync/atomic; no update was lost")
}
