package sharing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func init() { catchPanics = false }

// analyze runs Analyze and fails the test on error.
func analyze(t *testing.T, fn string, cells ...string) Static {
	t.Helper()
	st, err := Analyze(cells, fn)
	if err != nil {
		t.Fatalf("Analyze(%q): %v", fn, err)
	}
	return st
}

// mustVar returns the variable called name, failing the test if the
// analysis did not report it.
func mustVar(t *testing.T, st Static, name string) Var {
	t.Helper()
	for _, v := range st.Vars {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variable %q in %+v", name, st.Vars)
	return Var{}
}

func noVar(t *testing.T, st Static, name string) {
	t.Helper()
	for _, v := range st.Vars {
		if v.Name == name {
			t.Fatalf("variable %q reported, want none: %+v", name, v)
		}
	}
}

func wantWrite(t *testing.T, v Var, guard string) {
	t.Helper()
	if !v.Written || v.Guard != guard {
		t.Errorf("%s: written=%v guard=%q, want written with guard %q (%+v)", v.Name, v.Written, v.Guard, guard, v)
	}
}

func TestBareCounterDefinedByStatement(t *testing.T) {
	st := analyze(t, "work",
		"counter := 0",
		"func work(i int) int {\n\tcounter++\n\treturn counter\n}",
	)
	v := mustVar(t, st, "counter")
	wantWrite(t, v, Bare)
	if !v.Read || v.Type != "int" || v.Map {
		t.Errorf("counter: %+v, want a read int", v)
	}
	if v.Where != "cell 2 line 2" || v.Cell != 2 || v.Line != 2 {
		t.Errorf("counter written at %q (cell %d line %d), want cell 2 line 2", v.Where, v.Cell, v.Line)
	}
	if v.Op != "counter++" || !slices.Equal(v.Via, []string{"work"}) {
		t.Errorf("counter: op %q via %v, want counter++ via [work]", v.Op, v.Via)
	}
	if st.Func != "work" || len(st.Calls) != 0 {
		t.Errorf("Func %q Calls %v", st.Func, st.Calls)
	}
}

func TestCompoundAndPlainAssignments(t *testing.T) {
	st := analyze(t, "work",
		"var total, last int\nvar log []string\nvar cfg struct{ N int }\nvar arr [4]int",
		`func work(i int) {
	total += i
	last = i
	log = append(log, "x")
	cfg.N = i
	arr[i%4] = i
}`)
	for _, name := range []string{"total", "last", "log", "cfg", "arr"} {
		wantWrite(t, mustVar(t, st, name), Bare)
	}
	if v := mustVar(t, st, "last"); v.Read {
		t.Errorf("last = i reads last: %+v", v)
	}
	if v := mustVar(t, st, "total"); !v.Read || v.Op != "total += i" {
		t.Errorf("total: %+v, want read and written by total += i", v)
	}
}

func TestAtomicFunctions(t *testing.T) {
	st := analyze(t, "work",
		"import \"sync/atomic\"\nvar hits int64\nvar peak int64",
		"func work(i int) {\n\tatomic.AddInt64(&hits, 1)\n\t_ = atomic.LoadInt64(&peak)\n}",
	)
	v := mustVar(t, st, "hits")
	wantWrite(t, v, Atomic)
	if v.Op != "atomic.AddInt64(&hits, 1)" {
		t.Errorf("op %q", v.Op)
	}
	if p := mustVar(t, st, "peak"); p.Written || !p.Read {
		t.Errorf("peak is only loaded: %+v", p)
	}
}

func TestAtomicTypesWithoutImport(t *testing.T) {
	st := analyze(t, "work",
		"var hits atomic.Int64\nvar seen atomic.Bool",
		"func work(i int) {\n\thits.Add(1)\n\tif seen.Load() { return }\n}",
	)
	v := mustVar(t, st, "hits")
	wantWrite(t, v, Atomic)
	if v.Type != "atomic.Int64" {
		t.Errorf("type %q, want atomic.Int64", v.Type)
	}
	if s := mustVar(t, st, "seen"); s.Written || !s.Read {
		t.Errorf("seen is only loaded: %+v", s)
	}
}

func TestMutexGuards(t *testing.T) {
	st := analyze(t, "work",
		"var mu sync.Mutex\nvar a, b, c, d int",
		`func work(i int) {
	mu.Lock()
	a++
	mu.Unlock()
	b++
	func() {
		mu.Lock()
		defer mu.Unlock()
		c++
	}()
	mu.Lock()
	d++
	mu.Unlock()
	d = 0
}`)
	wantWrite(t, mustVar(t, st, "a"), Mutex)
	wantWrite(t, mustVar(t, st, "b"), Bare)
	wantWrite(t, mustVar(t, st, "c"), Mutex)
	wantWrite(t, mustVar(t, st, "d"), Mixed)
	if v := mustVar(t, st, "mu"); v.Written || !v.Read || v.Type != "sync.Mutex" {
		t.Errorf("mu: %+v, want read, not written", v)
	}
}

func TestDeferUnlockHoldsToTheEnd(t *testing.T) {
	st := analyze(t, "work",
		"var mu sync.RWMutex\ncounts := map[string]int{}",
		"func work(i int) {\n\tmu.Lock()\n\tdefer mu.Unlock()\n\tif i > 2 {\n\t\tcounts[\"big\"]++\n\t}\n\tdelete(counts, \"x\")\n}",
	)
	v := mustVar(t, st, "counts")
	wantWrite(t, v, Mutex)
	if !v.Map || v.Type != "map[string]int" {
		t.Errorf("counts: %+v, want a map", v)
	}
}

func TestGoroutineDoesNotInheritLock(t *testing.T) {
	st := analyze(t, "work",
		"var mu sync.Mutex\nvar n int",
		"func work(i int) {\n\tmu.Lock()\n\tgo func() { n++ }()\n\tmu.Unlock()\n}",
	)
	wantWrite(t, mustVar(t, st, "n"), Bare)
}

func TestMapWrites(t *testing.T) {
	st := analyze(t, "work",
		"seen := make(map[int]bool)\nvar byName = map[string][]int{}\nvar idx map[int]int",
		"func work(i int) {\n\tseen[i] = true\n\tdelete(byName, \"a\")\n\tclear(idx)\n}",
	)
	for _, name := range []string{"seen", "byName", "idx"} {
		v := mustVar(t, st, name)
		wantWrite(t, v, Bare)
		if !v.Map {
			t.Errorf("%s not seen as a map: %+v", name, v)
		}
	}
}

func TestWritesThroughHelpers(t *testing.T) {
	st := analyze(t, "work",
		"var mu sync.Mutex\ntotal := 0\nvar hits int\nvar guarded int",
		`func record() { hits++ }
func bump(p *int) { *p += 1 }
func locked() {
	mu.Lock()
	defer mu.Unlock()
	inner()
}
func inner() { guarded++ }`,
		"func work(i int) {\n\trecord()\n\tbump(&total)\n\tlocked()\n}",
	)
	h := mustVar(t, st, "hits")
	wantWrite(t, h, Bare)
	if !slices.Equal(h.Via, []string{"work", "record"}) || h.Where != "cell 2 line 1" {
		t.Errorf("hits: via %v at %q, want [work record] at cell 2 line 1", h.Via, h.Where)
	}
	tot := mustVar(t, st, "total")
	wantWrite(t, tot, Bare)
	if !slices.Equal(tot.Via, []string{"work", "bump"}) || tot.Op != "*p += 1" {
		t.Errorf("total: via %v op %q", tot.Via, tot.Op)
	}
	g := mustVar(t, st, "guarded")
	wantWrite(t, g, Mutex)
	if !slices.Equal(g.Via, []string{"work", "locked", "inner"}) {
		t.Errorf("guarded via %v", g.Via)
	}
	if !slices.Equal(st.Calls, []string{"record", "bump", "locked", "inner"}) {
		t.Errorf("calls %v", st.Calls)
	}
}

func TestMethodsAndGlobalStructs(t *testing.T) {
	st := analyze(t, "work",
		`type Stats struct {
	mu sync.Mutex
	n  int
	m  map[string]int
}
func (s *Stats) Add() {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}
func (s *Stats) Bad(k string) { s.m[k]++ }
func (s Stats) Copy() { s.n++ }`,
		"var stats Stats\nvar other Stats\nvar third Stats",
		"func work(i int) {\n\tstats.Add()\n\tother.Bad(\"k\")\n\tthird.Copy()\n}",
	)
	wantWrite(t, mustVar(t, st, "stats"), Mutex)
	wantWrite(t, mustVar(t, st, "other"), Bare)
	if v := mustVar(t, st, "third"); v.Written || !v.Read {
		t.Errorf("third: %+v, want read only: a value receiver changes a copy", v)
	}
	if !slices.Contains(st.Calls, "Stats.Add") || !slices.Contains(st.Calls, "Stats.Bad") {
		t.Errorf("calls %v", st.Calls)
	}
}

func TestRedefinitionLastWins(t *testing.T) {
	st := analyze(t, "work",
		"x := 0\nvar y int",
		"func work(i int) { x++ }",
		"x := map[string]int{}",
		"func work(i int) {\n\tx[\"a\"] = i\n\ty = 2\n}",
	)
	x := mustVar(t, st, "x")
	if !x.Map || x.Where != "cell 4 line 2" {
		t.Errorf("x: %+v, want the map of cell 3 written in cell 4", x)
	}
	wantWrite(t, mustVar(t, st, "y"), Bare)
}

func TestMagicLines(t *testing.T) {
	st := analyze(t, "work",
		"%%time\ncounter := 0",
		"%who\nfunc work(i int) {\n\t%not go\n\tcounter++\n}\nwork?",
		"%timeit work(1)",
	)
	v := mustVar(t, st, "counter")
	wantWrite(t, v, Bare)
	if v.Where != "cell 2 line 4" {
		t.Errorf("counter written at %q, want cell 2 line 4 (lines kept)", v.Where)
	}
	if len(st.Ignored) != 0 {
		t.Errorf("ignored %v", st.Ignored)
	}
}

func TestCellMixingStatementsAndDeclarations(t *testing.T) {
	st := analyze(t, "work",
		`import "fmt"
counter := 0
var mu sync.Mutex
fmt.Println("ready", counter)
func work(i int) {
	mu.Lock()
	counter += i
	mu.Unlock()
	fmt.Println(i)
}
results := []int{}
counter = 3`,
	)
	wantWrite(t, mustVar(t, st, "counter"), Mutex)
	if v := mustVar(t, st, "counter"); v.Where != "cell 1 line 7" {
		t.Errorf("where %q", v.Where)
	}
	noVar(t, st, "results")
}

func TestBrokenCellIgnored(t *testing.T) {
	st := analyze(t, "work",
		"counter := 0",
		"func oops( {\n",
		"func work(i int) { counter++ }",
	)
	wantWrite(t, mustVar(t, st, "counter"), Bare)
	if len(st.Ignored) != 1 || !strings.HasPrefix(st.Ignored[0], "cell 2 does not parse: line 1") {
		t.Errorf("ignored %q, want cell 2", st.Ignored)
	}
}

func TestTypeErrorsTolerated(t *testing.T) {
	st := analyze(t, "work",
		"counter := 0\nvar m = map[string]int{}",
		"func work(i int) {\n\tundefinedThing(i)\n\tdisplay.Markdown(\"x\")\n\tnosuchpkg.Fill(&counter)\n\tm[\"x\"] = nosuch\n}",
	)
	wantWrite(t, mustVar(t, st, "m"), Bare)
	mustVar(t, st, "counter")
}

func TestLocalsShadowGlobals(t *testing.T) {
	st := analyze(t, "work",
		"counter := 0\nvar total int",
		"func work(i int) {\n\tcounter := 5\n\tcounter++\n\ttotal := &i\n\t*total = 3\n}",
	)
	noVar(t, st, "counter")
	noVar(t, st, "total")
}

func TestAliasesAndClosures(t *testing.T) {
	st := analyze(t, "work",
		"var hits int\nvar counts = map[int]int{}",
		`func work(i int) {
	p := &hits
	*p++
	m := counts
	inc := func() { m[i]++ }
	inc()
}`)
	wantWrite(t, mustVar(t, st, "hits"), Bare)
	wantWrite(t, mustVar(t, st, "counts"), Bare)
}

func TestFuncLiteralVariableAndMethodTask(t *testing.T) {
	st := analyze(t, "work",
		"var n int\nwork := func(i int) { n++ }",
	)
	wantWrite(t, mustVar(t, st, "n"), Bare)

	st = analyze(t, "(*Acc).Run",
		"var n int\ntype Acc struct{}\nfunc (a *Acc) Run(i int) { n++ }",
	)
	wantWrite(t, mustVar(t, st, "n"), Bare)
}

func TestAwaits(t *testing.T) {
	st := analyze(t, "work",
		"var n int",
		"func nap() { time.Sleep(time.Millisecond) }\nfunc work(i int) {\n\tv := n\n\tnap()\n\tn = v + 1\n}",
	)
	if len(st.Awaits) != 1 || st.Awaits[0] != "time.Sleep in nap (cell 2 line 1)" {
		t.Errorf("awaits %q", st.Awaits)
	}
	v := mustVar(t, st, "n")
	wantWrite(t, v, Bare)
	if !v.Read {
		t.Errorf("n is read: %+v", v)
	}
}

func TestRecursionTerminates(t *testing.T) {
	st := analyze(t, "work",
		"var n int",
		"func work(i int) { if i > 0 { n++; work(i-1); other() } }\nfunc other() { work(1) }",
	)
	wantWrite(t, mustVar(t, st, "n"), Bare)
}

func TestUnknownFunction(t *testing.T) {
	_, err := Analyze([]string{"func work() {}", "var v = 3"}, "wrok")
	if !errors.Is(err, ErrNoFunc) || !strings.Contains(err.Error(), "work") {
		t.Errorf("err %v, want ErrNoFunc naming work", err)
	}
	_, err = Analyze([]string{"var v = 3"}, "v")
	if !errors.Is(err, ErrNoFunc) || !strings.Contains(err.Error(), "variable") {
		t.Errorf("err %v, want ErrNoFunc saying v is a variable", err)
	}
	st, err := Analyze([]string{"func work( {"}, "work")
	if !errors.Is(err, ErrNoFunc) || len(st.Ignored) != 1 {
		t.Errorf("err %v ignored %v", err, st.Ignored)
	}
}

// notebook50 is a 50-cell notebook: variables, helpers and statements.
func notebook50() []string {
	var cells []string
	for i := range 48 {
		var b strings.Builder
		switch i % 4 {
		case 0:
			b.WriteString("var mu" + itoa(i) + " sync.Mutex\nc" + itoa(i) + " := 0\nm" + itoa(i) + " := map[int]int{}\nfmt.Println(c" + itoa(i) + ")")
		case 1:
			b.WriteString("func h" + itoa(i) + "(k int) int {\n\tmu" + itoa(i-1) + ".Lock()\n\tdefer mu" + itoa(i-1) + ".Unlock()\n\tm" + itoa(i-1) + "[k]++\n\tc" + itoa(i-1) + " += k\n\treturn k * 2\n}")
		case 2:
			b.WriteString("%%time\nfor j := range 10 {\n\th" + itoa(i-1) + "(j)\n}\nvar hits" + itoa(i) + " atomic.Int64")
		case 3:
			b.WriteString("func g" + itoa(i) + "(k int) {\n\thits" + itoa(i-1) + ".Add(1)\n\th" + itoa(i-2) + "(k)\n\ttime.Sleep(time.Microsecond)\n}")
		}
		cells = append(cells, b.String())
	}
	var body strings.Builder
	body.WriteString("func work(i int) int {\n")
	for i := 3; i < 48; i += 4 {
		body.WriteString("\tg" + itoa(i) + "(i)\n")
	}
	body.WriteString("\treturn i\n}")
	cells = append(cells, "total := 0", body.String())
	return cells
}

func itoa(i int) string { return fmt.Sprintf("%02d", i) }

func TestFiftyCellsFast(t *testing.T) {
	cells := notebook50()
	analyze(t, "work", cells...) // warm the standard packages' cache
	best := time.Hour
	for range 3 {
		start := time.Now()
		st := analyze(t, "work", cells...)
		best = min(best, time.Since(start))
		if len(st.Calls) != 24 || len(st.Awaits) != 12 {
			t.Fatalf("calls %d awaits %d, want 24 and 12", len(st.Calls), len(st.Awaits))
		}
		wantWrite(t, mustVar(t, st, "m00"), Mutex)
		wantWrite(t, mustVar(t, st, "hits02"), Atomic)
	}
	if best > 100*time.Millisecond {
		t.Errorf("a 50-cell notebook took %v, want well under 100ms", best)
	}
}

func BenchmarkAnalyze50Cells(b *testing.B) {
	cells := notebook50()
	if _, err := Analyze(cells, "work"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Analyze(cells, "work"); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, seed := range []string{
		"counter := 0\x00func work(i int) { counter++ }",
		"var mu sync.Mutex\nm := map[int]int{}\x00func work(i int) {\n\tmu.Lock()\n\tdefer mu.Unlock()\n\tm[i]++\n}",
		"%%time\nvar c atomic.Int64\x00func work(i int) { c.Add(1); atomic.AddInt64(nil, 1) }",
		"type T struct{ n int }\nfunc (t *T) M() { t.n++ }\nvar g T\x00func work() { g.M(); bump(&g.n) }\nfunc bump(p *int) { *p++ }",
		"func work( {\x00package main\x00func work[T any](x T) { var y = x; _ = y }",
		"x, y := 1, 2\x00x := \"s\"\x00func work() { x, y = y, x; go work(); defer work() }",
	} {
		f.Add(seed, "work")
	}
	f.Fuzz(func(t *testing.T, src, fn string) {
		cells := strings.Split(src, "\x00")
		st, err := Analyze(cells, fn)
		if err == nil && st.Func != fn {
			t.Errorf("Func %q, want %q", st.Func, fn)
		}
		for i := 1; i < len(st.Vars); i++ {
			if st.Vars[i-1].Name > st.Vars[i].Name {
				t.Errorf("vars not sorted: %v", st.Vars)
			}
		}
	})
}

// TestSyntacticFallback runs the analysis with no type information at
// all, as when the type checker gives up: the guards still come out.
func TestSyntacticFallback(t *testing.T) {
	typeCheck = false
	defer func() { typeCheck = true }()
	st := analyze(t, "work",
		"import \"sync/atomic\"\nvar mu sync.Mutex\ncounter := 0\nvar hits atomic.Int64\nvar n64 int64\nm := make(map[string]int)\nvar guarded int",
		`func bump(p *int) { *p++ }
type S struct{ n int }
func (s *S) Inc() { s.n++ }
var s S`,
		`func work(i int) {
	counter++
	hits.Add(1)
	atomic.AddInt64(&n64, 1)
	m["k"] = i
	mu.Lock()
	defer mu.Unlock()
	bump(&guarded)
	s.Inc()
	local := 3
	local++
}`)
	wantWrite(t, mustVar(t, st, "counter"), Bare)
	wantWrite(t, mustVar(t, st, "hits"), Atomic)
	wantWrite(t, mustVar(t, st, "n64"), Atomic)
	wantWrite(t, mustVar(t, st, "guarded"), Mutex)
	wantWrite(t, mustVar(t, st, "s"), Mutex)
	m := mustVar(t, st, "m")
	wantWrite(t, m, Bare)
	if !m.Map || m.Type != "map[string]int" {
		t.Errorf("m: %+v", m)
	}
	if h := mustVar(t, st, "hits"); h.Type != "atomic.Int64" {
		t.Errorf("hits type %q", h.Type)
	}
	noVar(t, st, "local")
}

func TestConcurrentAnalyses(t *testing.T) {
	cells := notebook50()
	done := make(chan error)
	for range 4 {
		go func() {
			_, err := Analyze(cells, "work")
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
