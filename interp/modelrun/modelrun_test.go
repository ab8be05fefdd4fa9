package modelrun_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp"
	"atonce/interp/modelrun"
	"atonce/models"
)

type discard struct{}

func (discard) Stream(string, string)      {}
func (discard) Display(ev enginemsg.Event) {}

func session(t *testing.T, cells ...string) *interp.Session {
	t.Helper()
	s, err := interp.New(interp.Options{Output: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, c := range cells {
		if r := s.Execute(context.Background(), c); r.Err != nil {
			t.Fatalf("cell %q: %s: %s", c, r.Err.Name, r.Err.Value)
		}
	}
	return s
}

func TestParseSpec(t *testing.T) {
	all := []string{"sequential", "eventloop", "gil", "threads"}
	for _, tt := range []struct {
		name, args, wantErr string
		wantN, wantK        int
		wantModels          string
		wantFunc            string
		wantModes           string
	}{
		{"defaults", "", "", 8, 0, "sequential,eventloop,gil,threads", "", "interpreted"},
		{"native", "-native F", "", 8, 0, "sequential,eventloop,gil,threads", "F", "native"},
		{"mode native", "-mode native F", "", 8, 0, "sequential,eventloop,gil,threads", "F", "native"},
		{"mode both", "-mode both -models threads F", "", 8, 0, "threads", "F", "interpreted,native"},
		{"mode interpreted", "-mode interpreted F", "", 8, 0, "sequential,eventloop,gil,threads", "F", "interpreted"},
		{"native and mode native", "-native -mode native F", "", 8, 0, "sequential,eventloop,gil,threads", "F", "native"},
		{"native and mode both", "-native -mode both F", "-native is -mode native; it cannot go with -mode both", 0, 0, "", "", ""},
		{"unknown mode", "-mode compiled F", "-mode compiled: choose interpreted, native or both", 0, 0, "", "", ""},
		{"all flags", "-n 3 -workers 2 -models threads,sequential -repeat 2 Task", "", 3, 2, "threads,sequential", "Task", "interpreted"},
		{"all keyword", "-models all F", "", 8, 0, "sequential,eventloop,gil,threads,processes,distributed", "F", "interpreted"},
		{"n zero", "-n 0", "at least 1", 0, 0, "", "", ""},
		{"too many processes", "-workers 65 -models processes F", "start a process per worker; choose at most 64", 0, 0, "", "", ""},
		{"many threads", "-workers 65 -models threads F", "", 8, 65, "threads", "F", "interpreted"},
		{"too many workers", "-workers 5000", "between 1 and 4096", 0, 0, "", "", ""},
		{"unknown model", "-models threads,fibers", `unknown concurrency model "fibers"`, 0, 0, "", "", ""},
		{"unknown flag", "-x", "flag provided but not defined", 0, 0, "", "", ""},
		{"two names", "A B", "at most one function name", 0, 0, "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := modelrun.ParseSpec(tt.args, all)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) error got %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var modes []string
			for _, m := range spec.Modes {
				modes = append(modes, string(m))
			}
			if got, gotModes := strings.Join(spec.Models, ","), strings.Join(modes, ","); spec.N != tt.wantN || spec.Workers != tt.wantK || got != tt.wantModels || spec.Func != tt.wantFunc || gotModes != tt.wantModes {
				t.Errorf("ParseSpec(%q) got n=%d k=%d models=%s func=%q modes=%s, want n=%d k=%d models=%s func=%q modes=%s",
					tt.args, spec.N, spec.Workers, got, spec.Func, gotModes, tt.wantN, tt.wantK, tt.wantModels, tt.wantFunc, tt.wantModes)
			}
		})
	}
}

// The rounds' flags: -repeat R is exactly R rounds; -rounds N and
// -budget DUR bound the rounds taken until the speedups are known; the
// two ways do not mix.
func TestParseSpecRounds(t *testing.T) {
	for _, tt := range []struct {
		args, wantErr string
		repeat, most  int
		budget        time.Duration
	}{
		{"F", "", 0, 0, modelrun.DefaultBudget}, // 0: the default rounds, more while short
		{"-repeat 1 F", "", 1, 0, modelrun.DefaultBudget},
		{"-rounds 30 -budget 1m F", "", 0, 30, time.Minute},
		{"-budget 500ms F", "", 0, 0, 500 * time.Millisecond},
		{"-rounds 15 F", "", 0, 15, modelrun.DefaultBudget},
		{"-repeat 3 -rounds 5 F", "choose one way", 0, 0, 0},
		{"-repeat 3 -budget 5s F", "choose one way", 0, 0, 0},
		{"-repeat 0 F", "-repeat 0: choose between 1 and 100", 0, 0, 0},
		{"-rounds 101 F", "-rounds 101: choose between 1 and 100", 0, 0, 0},
		{"-budget 0s F", "give a positive duration", 0, 0, 0},
		{"-budget ten F", "invalid value", 0, 0, 0},
	} {
		t.Run(tt.args, func(t *testing.T) {
			spec, err := modelrun.ParseSpec(tt.args, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) error got %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || spec.Repeat != tt.repeat || spec.Rounds != tt.most || spec.Budget != tt.budget {
				t.Errorf("ParseSpec(%q) got repeat %d, rounds %d, budget %s (%v); want %d, %d, %s", tt.args, spec.Repeat, spec.Rounds, spec.Budget, err, tt.repeat, tt.most, tt.budget)
			}
		})
	}
}

func TestRunEveryModelFromTheSameState(t *testing.T) {
	s := session(t, "var counter int\nfunc Task(i int) int {\n\tcounter++\n\treturn i * i\n}")
	spec, err := modelrun.ParseSpec("-n 6 -repeat 1 Task", []string{"sequential", "eventloop", "gil", "threads"})
	if err != nil {
		t.Fatal(err)
	}
	var progressed int
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{Progress: func(model string, done, total int) { progressed++ }})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 4 || progressed != 24 {
		t.Fatalf("got %d reports and %d progress calls, want 4 and 24", len(reports), progressed)
	}
	for _, r := range reports {
		if len(r.Tasks) != 6 {
			t.Errorf("%s: got %d task records, want 6", r.Model, len(r.Tasks))
			continue
		}
		for _, tr := range r.Tasks {
			if got, want := tr.Result, tr.Index*tr.Index; got != want {
				t.Errorf("%s task %d: result got %v, want %d", r.Model, tr.Index, got, want)
			}
		}
	}
	// Each model started from counter == 0 and the notebook keeps what the
	// sequential run left.
	res := s.Execute(context.Background(), "counter")
	if res.Err != nil || res.Value["text/plain"] != "6" {
		t.Errorf("counter after the runs got %v (%v), want 6", res.Value, res.Err)
	}
}

func TestRunRefusesBadShapes(t *testing.T) {
	s := session(t, "func Bad(s string) {}\nvar notAFunc = 3")
	for _, tt := range []struct{ fn, want string }{
		{"Bad", "a task is one of: func(), func(i int)"},
		{"notAFunc", "not a function"},
		{"Missing", "no function Missing"},
	} {
		t.Run(tt.fn, func(t *testing.T) {
			spec, _ := modelrun.ParseSpec(tt.fn, []string{"sequential"})
			_, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run(%s) error got %v, want one containing %q", tt.fn, err, tt.want)
			}
		})
	}
}

// interruptedAtFunc is a notebook whose Func calls interrupt once it
// has fetched the function: the interrupt comes after the run has its
// task and before any of its code runs.
type interruptedAtFunc struct {
	*interp.Session
	interrupt func()
}

func (n interruptedAtFunc) Func(ctx context.Context, name string) (reflect.Value, error) {
	fn, err := n.Session.Func(ctx, name)
	n.interrupt()
	return fn, err
}

// TestInterruptStopsBusyTasks interrupts a run of tasks that never
// return: right after it fetched its task, before any of its code ran
// (a Stop then has nothing to stop, and what starts later must not
// spin), and while it runs. Either way the run ends with an error and the
// session still works.
func TestInterruptStopsBusyTasks(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration // the interrupt, after Run was called; < 0: at Func
	}{
		{"before its code runs", -1},
		{"while it runs", 200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := session(t, "func Spin(i int) {\n\tfor {\n\t}\n}\nkept := 3")
			spec, _ := modelrun.ParseSpec("-n 4 -models threads Spin", []string{"threads"})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var nb modelrun.Notebook = s
			if tt.after < 0 {
				nb = interruptedAtFunc{s, cancel}
			} else {
				go func() {
					time.Sleep(tt.after)
					cancel()
				}()
			}
			done := make(chan error, 1)
			go func() {
				_, err := modelrun.Run(ctx, nb, spec, modelrun.Hooks{})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Error("an interrupted run got nil error, want one")
				}
			case <-time.After(30 * time.Second):
				t.Fatal("busy tasks did not stop within 30 s of the interrupt")
			}
			if r := s.Execute(context.Background(), "kept"); r.Err != nil || r.Value["text/plain"] != "3" {
				t.Errorf("after the interrupt got %v %v, want 3: the session must still work", r.Value, r.Err)
			}
		})
	}
}

func TestJSONSafeNamesUnencodableResults(t *testing.T) {
	reports := []models.Report{{Model: "threads", Tasks: []models.TaskRecord{{Index: 0, Result: make(chan int)}, {Index: 1, Result: 7}}}}
	safe := modelrun.JSONSafeForTest(reports)
	if got := safe[0].Tasks[0].Result; got != "(a chan int, which JSON cannot carry)" {
		t.Errorf("unencodable result became %v", got)
	}
	if safe[0].Tasks[1].Result != 7 {
		t.Errorf("an encodable result changed to %v", safe[0].Tasks[1].Result)
	}
	if _, ok := reports[0].Tasks[0].Result.(chan int); !ok {
		t.Error("jsonSafe changed the caller's reports")
	}
}

func TestRepeatTakesTurns(t *testing.T) {
	s := session(t, "func Task(i int) int { return i }")
	spec, err := modelrun.ParseSpec("-n 1 -repeat 3 -no-trace -models sequential,threads Task", nil)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{
		Round:  func(round, _ int) { order = append(order, fmt.Sprint(round)) },
		Before: func(model string, _ models.Mode, _ []models.Report) { order = append(order, model) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Round 0 is the unmeasured warm-up; each round starts one turn
	// later than the one before.
	if got, want := strings.Join(order, " "), "0 sequential threads 1 sequential threads 2 threads sequential 3 sequential threads"; got != want {
		t.Errorf("runs went %q, want the models taking turns: %q", got, want)
	}
	if len(reports) != 2 || reports[0].Model != "sequential" || reports[1].Model != "threads" {
		t.Errorf("reports %v, want one per model, in order", reports)
	}
	for _, r := range reports {
		if len(r.Rounds) != 3 {
			t.Errorf("%s has %d rounds, want the 3 asked for", r.Model, len(r.Rounds))
		}
	}
}

// A run as a new user makes it, with no flags: a warm-up, then rounds
// until every speedup is known to ±5% at 95% or the budget is spent;
// every report keeps its rounds (each with the calibration timed before
// it) and is its median round, with the speedup's interval from them.
func TestDefaultRunTakesRounds(t *testing.T) {
	s := session(t, "func Task(i int) int {\n\ts := 0\n\tfor j := 0; j < 20000; j++ {\n\t\ts += j\n\t}\n\treturn s\n}")
	spec, err := modelrun.ParseSpec("-n 4 -no-trace -models sequential,gil,threads Task", nil)
	if err != nil {
		t.Fatal(err)
	}
	var started []int
	var measured, stoppedAt int
	var why string
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{
		Round:    func(round, upTo int) { started = append(started, round) },
		Measured: func(so []models.Report) { measured++ },
		Stopped:  func(rounds int, w string) { stoppedAt, why = rounds, w },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Its rounds are short (milliseconds): they may go past 15.
	if stoppedAt < modelrun.FewestRounds || stoppedAt > modelrun.MaxRounds {
		t.Fatalf("stopped after %d rounds (%s), want %d to %d", stoppedAt, why, modelrun.FewestRounds, modelrun.MaxRounds)
	}
	if len(started) != stoppedAt+1 || started[0] != 0 || measured != 3*stoppedAt {
		t.Errorf("rounds started %v and %d measured runs; want a warm-up (0) then 1..%d, 3 runs each", started, measured, stoppedAt)
	}
	for _, r := range reports {
		if len(r.Rounds) != stoppedAt {
			t.Errorf("%s: %d rounds, want %d", r.Model, len(r.Rounds), stoppedAt)
			continue
		}
		if r.Rounds[r.MedianRound].Wall != r.Wall || len(r.Tasks) != 4 {
			t.Errorf("%s: the report's wall %v is not its median round's %v, or it has %d tasks", r.Model, r.Wall, r.Rounds[r.MedianRound].Wall, len(r.Tasks))
		}
		for i, rd := range r.Rounds {
			if rd.Wall <= 0 || rd.Calibration <= 0 {
				t.Errorf("%s round %d: wall %v, calibration %v; want both measured", r.Model, i, rd.Wall, rd.Calibration)
			}
		}
		if r.Speedup.N != stoppedAt || !r.Speedup.Contains(r.Speedup.Mid) || r.Speedup.Lo > r.Speedup.Hi {
			t.Errorf("%s: speedup %+v, want an interval from %d rounds", r.Model, r.Speedup, stoppedAt)
		}
	}
	// The table shows the intervals and how they were computed.
	text, _ := models.Table(reports)
	if !strings.Contains(text, "x [") || !strings.Contains(text, "note: speedup: the median over the rounds") {
		t.Errorf("the table lacks intervals:\n%s", text)
	}
}

// A notebook that holds the reports (%%models -o) reads each model's
// traits: the fields reports had before traits (MSU, Sharing, Parallel)
// and the traits themselves, compared with the models package's values.
func TestReportsCarryTraitsIntoTheNotebook(t *testing.T) {
	s := session(t, "func Task(i int) int { return i }", "var reps []models.Report")
	spec, err := modelrun.ParseSpec("-n 2 -repeat 1 -no-trace -models sequential,threads Task", nil)
	if err != nil {
		t.Fatal(err)
	}
	reports, err := modelrun.Run(context.Background(), s, spec, modelrun.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	s.Vars()["reps"].Set(reflect.ValueOf(reports))
	for _, tt := range []struct{ expr, want string }{
		{"reps[1].Parallel", "true"},
		{"reps[1].MSU", `"machine instruction"`},
		{"reps[0].Traits.Baseline", "true"},
		{"reps[1].Traits.Switching == models.Simultaneous", "true"},
		{"reps[1].Placement == models.InEngine", "true"},
		{"reps[1].Nouns", `"goroutines"`},
		// Each report's rounds and its speedup's interval, and the
		// statistics package for the notebook's own numbers.
		{"len(reps[1].Rounds) == 1 && reps[1].Rounds[0].Wall == reps[1].Wall", "true"},
		{"reps[1].Speedup.N", "1"},
		{"stats.Median([]float64{3, 1, 2})", "2"},
		{"stats.MedianInterval([]float64{1, 2, 3, 4, 5, 6}, 0.95).Lo", "1"},
	} {
		r := s.Execute(context.Background(), tt.expr)
		if r.Err != nil || r.Value["text/plain"] != tt.want {
			t.Errorf("%s got %v (%v), want %s", tt.expr, r.Value["text/plain"], r.Err, tt.want)
		}
	}
}

// The %%models help lists every registered model with its traits, and
// the usage line names them all.
func TestHelpListsEveryModel(t *testing.T) {
	doc, usage := modelrun.DocForTest(), modelrun.Usage()
	if want := "-models " + strings.Join(models.Names(), ",") + "|all"; !strings.Contains(usage, want) {
		t.Errorf("usage %q lacks %q", usage, want)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(doc, "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			rows[name] = line
		}
	}
	for _, name := range models.Names() {
		tr := models.TraitsOf(name)
		row := rows[name]
		for _, want := range []string{tr.StandsFor, string(tr.Switching), tr.MSU, tr.DefaultWorkers} {
			if !strings.Contains(row, want) {
				t.Errorf("the help's row for %s is %q; want it to say %q", name, row, want)
			}
		}
	}
}
