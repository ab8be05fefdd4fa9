package magic

import (
	"context"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp"
	"atonce/interp/complete"
)

// output records what a session and its magics print and display.
type output struct {
	mu       sync.Mutex
	text     strings.Builder // stdout and stderr, in order
	displays []enginemsg.Bundle
}

func (o *output) Stream(name, text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.text.WriteString(text)
}

func (o *output) Display(ev enginemsg.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.displays = append(o.displays, ev.Data)
}

// take returns and forgets the text and displays so far.
func (o *output) take() (string, []enginemsg.Bundle) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, d := o.text.String(), o.displays
	o.text.Reset()
	o.displays = nil
	return s, d
}

// testEnv is the Env the engine gives magics, over a real session.
type testEnv struct {
	sess      *interp.Session
	out       *output
	cells     []string
	replaying bool
}

var _ Env = (*testEnv)(nil)

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	out := &output{}
	sess, err := interp.New(interp.Options{Output: out})
	if err != nil {
		t.Fatalf("interp.New: %v", err)
	}
	t.Cleanup(func() { sess.Close() })
	return &testEnv{sess: sess, out: out}
}

func (e *testEnv) Execute(ctx context.Context, code string) Result {
	r := e.sess.Execute(ctx, code)
	if r.Err == nil {
		e.cells = append(e.cells, code)
	}
	return Result{Value: r.Value, Err: r.Err, Notes: r.Notes, Interrupted: r.Interrupted, Stuck: r.Stuck}
}

func (e *testEnv) Func(ctx context.Context, name string) (reflect.Value, error) {
	return e.sess.Func(ctx, name)
}
func (e *testEnv) Vars() map[string]reflect.Value { return e.sess.Vars() }
func (e *testEnv) Stop()                          { e.sess.Stop() }
func (e *testEnv) Reset() error                   { e.cells = nil; return e.sess.Reset(context.Background()) }
func (e *testEnv) Goroutines() string             { return e.sess.Goroutines() }
func (e *testEnv) Inspect(code string, cursor int) (string, bool) {
	return complete.Inspect(complete.Scope{Cells: e.cells}, code, cursor, 1)
}
func (e *testEnv) Print(stream, text string) {
	e.sess.SyncOutput()
	e.out.Stream(stream, text)
}
func (e *testEnv) Show(b enginemsg.Bundle, md map[string]any) string {
	e.sess.SyncOutput()
	e.out.Display(enginemsg.Event{Data: b, Metadata: md})
	return "id"
}
func (e *testEnv) Display(b enginemsg.Bundle) string {
	e.sess.SyncOutput()
	e.out.Display(enginemsg.Event{Data: b})
	return "id"
}
func (e *testEnv) Update(id string, b enginemsg.Bundle, md map[string]any) {}
func (e *testEnv) Checkpoint(v any)                                        {}
func (e *testEnv) Resume() *enginemsg.Resume                               { return nil }
func (e *testEnv) Replaying() bool                                         { return e.replaying }
func (e *testEnv) History() []string                                       { return e.sess.History() }

// run runs a cell through Run and fails the test on an error.
func (e *testEnv) run(t *testing.T, cell string) (Result, string, []enginemsg.Bundle) {
	t.Helper()
	r := Run(context.Background(), e, cell)
	if r.Err != nil {
		t.Fatalf("cell %q failed: %s: %s", cell, r.Err.Name, r.Err.Value)
	}
	text, displays := e.out.take()
	return r, text, displays
}

func value(r Result) string {
	if r.Value == nil {
		return "<no value>"
	}
	s, _ := r.Value["text/plain"].(string)
	return s
}

var timeLayout = regexp.MustCompile(`^CPU times: user [\d.]+ (ns|µs|ms|s), sys: [\d.]+ (ns|µs|ms|s), total: [\d.]+ (ns|µs|ms|s)\nWall time: [\d.]+ (ns|µs|ms|s)\n$`)

func TestTime(t *testing.T) {
	for _, tt := range []struct {
		name, cell, output, value string
	}{
		{"line, expression", "%time 6 * 7", "", "42"},
		{"line, statement", "%time x := 3", "", "<no value>"},
		{"line between go", "y := 20\n%time y + 1", "", "21"},
		{"cell", "%%time\nfmt.Println(\"hi\")\n2 + 3", "hi\n", "5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r, text, _ := e.run(t, tt.cell)
			printed, report, _ := strings.Cut(text, "CPU times")
			if printed != tt.output || !timeLayout.MatchString("CPU times"+report) {
				t.Errorf("output got %q, want %q then the CPU and wall times", text, tt.output)
			}
			if got := value(r); got != tt.value {
				t.Errorf("value got %s, want %s", got, tt.value)
			}
		})
	}
}

func TestTimeErrorKeepsLine(t *testing.T) {
	e := newEnv(t)
	r := Run(context.Background(), e, "a := 1\n%time undefinedName + a")
	if r.Err == nil || !strings.Contains(strings.Join(r.Err.Traceback, "\n"), "2:") {
		t.Errorf("got %+v, want an error placed on line 2", r.Err)
	}
}

var timeitLayout = regexp.MustCompile(`^[\d.]+ (ns|µs|ms|s) ± [\d.]+ (ns|µs|ms|s) per loop \(median ± 95% interval of (\d+) runs?, ([\d,]+) loops? each; min [\d.]+ (ns|µs|ms|s)\) \[interpreted by yaegi\]\n`)

func TestTimeit(t *testing.T) {
	defer func(d time.Duration) { TimeitTarget = d }(TimeitTarget)
	TimeitTarget = time.Millisecond
	for _, tt := range []struct {
		name, cell string
		runs       string
		loops      string // "" for chosen ones
	}{
		{"expression", "%timeit n + 1", "7", ""},
		{"flags", "%timeit -n 3 -r 2 n * 2", "2", "3"},
		{"statement", "%timeit -r 1 s := 0; for i := 0; i < 10; i++ { s += i }; _ = s", "1", ""},
		{"call with no value", "%timeit -n 5 -r 3 f()", "3", "5"},
		{"cell", "%%timeit -r 2\ns := 0\nfor i := 0; i < n; i++ {\n\ts += i\n}", "2", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.run(t, "n := 10\nfunc f() {}")
			_, text, _ := e.run(t, tt.cell)
			m := timeitLayout.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("output got %q, want the timeit layout", text)
			}
			if m[3] != tt.runs {
				t.Errorf("runs got %s, want %s", m[3], tt.runs)
			}
			loops := strings.ReplaceAll(m[4], ",", "")
			if tt.loops != "" && loops != tt.loops {
				t.Errorf("loops got %s, want %s", loops, tt.loops)
			}
			if tt.loops == "" && !regexp.MustCompile(`^[125]0*$`).MatchString(loops) {
				t.Errorf("loops got %s, want 1, 2 or 5 times a power of ten", loops)
			}
			if vars := e.Vars(); len(vars) != 1 {
				t.Errorf("notebook variables after timeit got %v, want only n", vars)
			}
		})
	}
}

func TestTimeitErrors(t *testing.T) {
	for _, tt := range []struct{ name, cell, want string }{
		{"no statement", "%timeit", "needs a statement"},
		{"bad flag", "%timeit -x 1", "usage: %timeit"},
		{"compile error", "%timeit nosuch()", "undefined: nosuch"},
		{"panic", `%timeit -n 1 -r 1 panic("boom")`, "boom"},
		{"runtime panic", "var a []int\n%timeit -n 1 -r 1 _ = a[3]", "index out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := Run(context.Background(), e, tt.cell)
			if r.Err == nil || !strings.Contains(r.Err.Value, tt.want) {
				t.Errorf("got %+v, want an error with %q", r.Err, tt.want)
			}
		})
	}
}

// skipUnderRace skips what interrupts running code when the race
// detector is on: yaegi v0.16.1 races on cancellation (see the same
// helper in package interp).
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("yaegi races on cancellation")
	}
}

func TestTimeitInterrupt(t *testing.T) {
	skipUnderRace(t)
	for _, cell := range []string{"%timeit for {}", "%timeit -n 1000 time.Sleep(time.Hour)"} {
		t.Run(cell, func(t *testing.T) {
			e := newEnv(t)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				time.Sleep(100 * time.Millisecond)
				cancel()
			}()
			r := Run(ctx, e, cell)
			if !r.Interrupted || r.Err == nil {
				t.Fatalf("got %+v, want an interrupted result", r)
			}
			// The notebook still works, and so does timeit.
			if _, text, _ := e.run(t, "%timeit -n 1 -r 1 1 + 1"); !timeitLayout.MatchString(text) {
				t.Errorf("timeit after an interrupt got %q, want the timeit layout", text)
			}
		})
	}
}

func TestTimeitReplaying(t *testing.T) {
	e := newEnv(t)
	e.replaying = true
	if _, text, _ := e.run(t, "%timeit -n 1 -r 1 1 + 1"); text != "" {
		t.Errorf("timeit replayed printed %q, want nothing", text)
	}
}

func TestWhoWhos(t *testing.T) {
	e := newEnv(t)
	if _, text, _ := e.run(t, "%who"); text != "Interactive namespace is empty.\n" {
		t.Errorf("%%who on an empty notebook got %q", text)
	}
	e.run(t, "alpha := 1\nbeta := \"two\"\nvar gamma []int = []int{1, 2, 3}\nfunc f() {}\ntype T struct{}")
	if _, text, _ := e.run(t, "%who"); text != "alpha\tbeta\tgamma\n" {
		t.Errorf("%%who got %q, want %q", text, "alpha\tbeta\tgamma\n")
	}
	_, text, displays := e.run(t, "%whos")
	if text != "" || len(displays) != 1 {
		t.Fatalf("%%whos got text %q and %d displays, want one display", text, len(displays))
	}
	plain, _ := displays[0]["text/plain"].(string)
	for _, want := range []string{`Variable\s+Type\s+Data/Info`, `alpha\s+int\s+1\n`, `beta\s+string\s+"two"\n`, `gamma\s+\[\]int\s+3 items: \[1 2 3\]\n`} {
		if !regexp.MustCompile(want).MatchString(plain) {
			t.Errorf("%%whos text got %q, want a match for %s", plain, want)
		}
	}
	if html, _ := displays[0]["text/html"].(string); !strings.Contains(html, "<td>beta</td><td><code>string</code></td><td><code>&#34;two&#34;</code></td>") {
		t.Errorf("%%whos html got %q, want a row for beta", html)
	}
}

func TestWhosShortensValues(t *testing.T) {
	e := newEnv(t)
	e.run(t, `long := strings.Repeat("é", 200)
big := make([]int, 1000000)
m := map[int]int{}
for i := 0; i < 1000; i++ {
	m[i] = i
}
boxed := []interface{}{big}[0]`)
	_, _, displays := e.run(t, "%whos")
	plain, _ := displays[0]["text/plain"].(string)
	for _, want := range []string{
		`boxed\s+\[\]int\s+1000000 items: \[(0 ){15}0\.\.\.\n`,
		`big\s+\[\]int\s+1000000 items: \[(0 ){15}0\.\.\.\n`,
		`long\s+string\s+"é{46}\.\.\.\n`,
		`m\s+map\[int\]int\s+1000 items\n`,
	} {
		if !regexp.MustCompile(want).MatchString(plain) {
			t.Errorf("%%whos text got %q, want a match for %s", plain, want)
		}
	}
}

func TestReset(t *testing.T) {
	e := newEnv(t)
	e.run(t, "alpha := 1\nimport \"strings\"")
	r, text, _ := e.run(t, "%reset")
	if !r.Reset || text != "atonce: state reset; earlier cells are forgotten.\n" {
		t.Errorf("%%reset got Reset=%v and %q, want true and the message", r.Reset, text)
	}
	if r := Run(context.Background(), e, "alpha"); r.Err == nil {
		t.Errorf("alpha after %%reset got %s, want an error", value(r))
	}
	if _, text, _ := e.run(t, "%who"); text != "Interactive namespace is empty.\n" {
		t.Errorf("%%who after %%reset got %q", text)
	}
	// The session still works: a name can be declared again, imports too.
	if r, _, _ := e.run(t, "alpha := \"new\"\nstrings.ToUpper(alpha)"); value(r) != `"NEW"` {
		t.Errorf("after %%reset got %s, want \"NEW\"", value(r))
	}
}

func TestEnvMagic(t *testing.T) {
	const name = "ATONCE_MAGIC_TEST"
	t.Cleanup(func() { os.Unsetenv(name) })
	e := newEnv(t)
	for _, tt := range []struct{ cell, output, value string }{
		{"%env " + name + "=42", "env: " + name + "=42\n", "<no value>"},
		{"%env " + name, "", `"42"`},
		{"%env " + name + " a b", "env: " + name + "=a b\n", "<no value>"},
		{`os.Getenv("` + name + `")`, "", `"a b"`},
		{"%env " + name + "=x=y", "env: " + name + "=x=y\n", "<no value>"},
	} {
		t.Run(tt.cell, func(t *testing.T) {
			r, text, _ := e.run(t, tt.cell)
			if text != tt.output || value(r) != tt.value {
				t.Errorf("got output %q and value %s, want %q and %s", text, value(r), tt.output, tt.value)
			}
		})
	}
	if _, text, _ := e.run(t, "%env"); !strings.Contains(text, name+"=x=y\n") {
		t.Errorf("%%env got %q, want it to list %s", text, name)
	}
	if r := Run(context.Background(), e, "%env ATONCE_NOT_SET_ANYWHERE"); r.Err == nil || !strings.Contains(r.Err.Value, "is not set") {
		t.Errorf("an unset variable got %+v, want an error", r.Err)
	}
}

func TestGoroutines(t *testing.T) {
	e := newEnv(t)
	none := "no goroutines left running by cells"
	if _, text, _ := e.run(t, "%goroutines"); !strings.Contains(text, none) {
		t.Errorf("%%goroutines got %q, want %q", text, none)
	}
	e.run(t, "stop := make(chan bool)\ngo func() { <-stop }()")
	e.run(t, "go func() { time.Sleep(time.Hour) }()")
	var text string
	wants := []string{"2 goroutine(s)", "waiting on a channel", "sleeping (time.Sleep)"}
	// Until the goroutines block where they will stay: on its way to the
	// channel, one passes the interpreter's own locks ("waiting on a lock").
	for i := 0; i < 100; i++ {
		_, text, _ = e.run(t, "%goroutines")
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(text, w) }) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%%goroutines got %q, want it to contain %q", text, want)
		}
	}
	e.run(t, "close(stop)")
	skipUnderRace(t)
	// An interrupt wakes the sleeper.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	if r := Run(ctx, e, "for {}"); !r.Interrupted {
		t.Fatalf("for {} got %+v, want it interrupted", r)
	}
	var last string
	for i := 0; i < 100; i++ { // the goroutines end soon after, not at once
		_, last, _ = e.run(t, "%goroutines")
		if strings.Contains(last, none) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%%goroutines after the interrupt got %q, want %q", last, none)
}

func TestLsmagicAndHelp(t *testing.T) {
	e := newEnv(t)
	_, text, _ := e.run(t, "%lsmagic")
	for _, c := range commands {
		if c.Line && !strings.Contains(text, "%"+c.Name) || c.Cell && !strings.Contains(text, "%%"+c.Name) {
			t.Errorf("%%lsmagic got %q, want %s listed", text, c.Name)
		}
	}
	for _, tt := range []struct{ cell, page, output string }{
		{"time?", "%time STATEMENT", ""},
		{"%time?", "%time STATEMENT", ""},
		{"%%timeit?", "%timeit [-n LOOPS]", ""},
		{"%help time", "", "%time STATEMENT"},
		{"strings.ToUpper?", "func ToUpper(s string) string", ""},
		{"x := 41\nx?", "x", ""},
	} {
		t.Run(tt.cell, func(t *testing.T) {
			r, text, _ := e.run(t, tt.cell)
			if !strings.Contains(r.Page, tt.page) || !strings.Contains(text, tt.output) || (tt.page == "") != (r.Page == "") {
				t.Errorf("got page %q and output %q, want %q and %q", r.Page, text, tt.page, tt.output)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	for _, tt := range []struct{ cell, name, want string }{
		{"%nosuch 1", "UnknownMagic", "unknown magic %nosuch; the magics are: %env, %goroutines, %help"},
		{"%%nosuch\nx := 1", "UnknownMagic", "unknown magic %%nosuch"},
		{"%%who\n", "UnknownMagic", "%%who is not a cell magic"},
		{"x := 1\n%%time\ny := 2", "UsageError", "it must be the first line of the cell (it is on line 2)"},
		{"nosuchname?", "NotFound", "no documentation for nosuchname"},
	} {
		t.Run(tt.cell, func(t *testing.T) {
			e := newEnv(t)
			r := Run(context.Background(), e, tt.cell)
			if r.Err == nil || r.Err.Name != tt.name || !strings.Contains(r.Err.Value, tt.want) {
				t.Errorf("got %+v, want %s containing %q", r.Err, tt.name, tt.want)
			}
		})
	}
}

func TestRunStopsAtError(t *testing.T) {
	e := newEnv(t)
	r := Run(context.Background(), e, "a := 1\n%nosuch\nb := 2")
	if r.Err == nil {
		t.Fatal("got no error, want the unknown magic's")
	}
	if vars := e.Vars(); len(vars) != 1 {
		t.Errorf("variables got %v, want only a: the cell stops at the error", vars)
	}
}
