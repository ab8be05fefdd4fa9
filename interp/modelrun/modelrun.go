// Package modelrun runs a notebook function under the concurrency models
// of package models: it parses the %%models magic's flags, turns the
// interpreted function into a models.Task, puts the notebook's variables
// back before every model so each starts from the same state, shows
// progress, and renders the comparison table.
package modelrun

import (
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"atonce/internal/words"
	"atonce/models"
)

// MaxWorkers bounds -workers: more goroutines than this teach nothing and
// can exhaust memory.
const MaxWorkers = 4096

// MaxProcessWorkers bounds -workers for the models that start a process
// per worker (processes, and the local workers of distributed).
const MaxProcessWorkers = 64

// Spec is what a %%models invocation asks for.
type Spec struct {
	N       int      // tasks, i = 0..N-1
	Workers int      // 0: each model's default
	Models  []string // in the order to run and show
	// Repeat, when > 0, is exactly how many rounds to measure (-repeat
	// R): in each round every model takes its turn, and each model's
	// median round is reported. At 0, rounds go on until every speedup
	// is known to ±5% at 95% confidence, within Rounds and Budget.
	Repeat int
	// Rounds is the most rounds when Repeat is 0 (-rounds N; 0 means
	// DefaultRounds, or more while the rounds are short), and Budget
	// the measured time after which no round starts, once FewestRounds
	// are done (-budget DUR; 0 means DefaultBudget).
	Rounds int
	Budget time.Duration
	Func   string // the task function's name; "" means the cell's last func
	Trace  bool   // record per-task states
	// NoCharts leaves out the charts: the table alone.
	NoCharts bool
	// Watch names the package-level variables the task reads or writes
	// (from the static analysis): each report keeps their values after
	// its run, and workers report their own copies. Not a flag.
	Watch []string
	// Race runs the in-process models once more in a worker built with
	// the race detector and reports the data races it finds.
	Race bool
	// Out names a notebook variable that receives the reports
	// ([]models.Report) for further analysis; "" for none.
	Out string
	// Modes are how the models run the notebook's code, in the order
	// each model runs them: interpreted (the default), native (compiled
	// by the Go toolchain; -native, -mode native), or both (-mode both),
	// each model taking its turn in one mode, then the other.
	Modes []models.Mode
	// Native is the notebook built for the native runs (PrepareNative);
	// nil makes Run prepare it. Not a flag.
	Native *Native
	// TraceDir, if set (-trace DIR), is the directory that receives each
	// run's Go execution traces (the process's for the in-process models,
	// each worker's for the others), named by model, mode and worker.
	TraceDir string
	// Perfetto, if set (-perfetto FILE), is the file that receives the
	// runs as Chrome/Perfetto trace-event JSON.
	Perfetto string
	// Scale, from -workers with a list (1,2,4,8), are the worker counts
	// at which the parallel models run once more, beside the baseline,
	// for the scaling chart and its Amdahl fit (Scale); the comparison
	// itself then runs each model at its default.
	Scale []int
	// verdict is what the run says, shown after the table; nil shows
	// none. Not a flag.
	verdict *verdicts
}

// has tells whether the spec runs the models in mode.
func (s Spec) has(mode models.Mode) bool { return slices.Contains(s.Modes, mode) }

// parseModes reads -mode and -native into the modes to run.
func parseModes(mode string, native bool) ([]models.Mode, error) {
	if native {
		if mode != "" && mode != string(models.Native) {
			return nil, fmt.Errorf("-native is -mode native; it cannot go with -mode %s", mode)
		}
		mode = string(models.Native)
	}
	switch mode {
	case "", string(models.Interpreted):
		return []models.Mode{models.Interpreted}, nil
	case string(models.Native):
		return []models.Mode{models.Native}, nil
	case "both":
		return []models.Mode{models.Interpreted, models.Native}, nil
	}
	return nil, fmt.Errorf("-mode %s: choose interpreted, native or both", mode)
}

// ParseSpec parses the magic's arguments, e.g.
// "-n 8 -workers 2 -models sequential,threads -repeat 3 Task".
// defaultModels is used when -models is absent.
func ParseSpec(args string, defaultModels []string) (spec Spec, err error) {
	spec = Spec{N: 8, Trace: true}
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&spec.N, "n", 8, "number of tasks")
	fs.Func("workers", "workers per model, or a list of counts", func(arg string) error { return parseWorkers(arg, &spec) })
	list := fs.String("models", "", "models to run")
	fs.IntVar(&spec.Repeat, "repeat", 0, "exactly this many rounds")
	fs.IntVar(&spec.Rounds, "rounds", 0, "at most this many rounds")
	fs.DurationVar(&spec.Budget, "budget", DefaultBudget, "no round starts after this much measured time")
	noTrace := fs.Bool("no-trace", false, "do not record task states")
	fs.BoolVar(&spec.NoCharts, "no-charts", false, "show the table without charts")
	fs.StringVar(&spec.Out, "o", "", "store the reports in this notebook variable")
	fs.BoolVar(&spec.Race, "race", false, "also run under the race detector")
	mode := fs.String("mode", "", "interpreted, native or both")
	native := fs.Bool("native", false, "run the notebook's code compiled: -mode native")
	fs.StringVar(&spec.TraceDir, "trace", "", "keep each run's Go execution traces in this directory")
	fs.StringVar(&spec.Perfetto, "perfetto", "", "write the runs as Perfetto trace-event JSON to this file")
	if err := fs.Parse(strings.Fields(args)); err != nil {
		return spec, fmt.Errorf("%w\n%s", err, Usage())
	}
	spec.Trace = !*noTrace
	for flag, v := range map[string]string{"-trace": spec.TraceDir, "-perfetto": spec.Perfetto} {
		if v != "" && !spec.Trace {
			return spec, fmt.Errorf("%s %s needs the execution tracer, which -no-trace turns off", flag, v)
		}
	}
	if spec.Modes, err = parseModes(*mode, *native); err != nil {
		return spec, err
	}
	switch fs.NArg() {
	case 0:
	case 1:
		spec.Func = fs.Arg(0)
		if !token.IsIdentifier(spec.Func) {
			return spec, fmt.Errorf("%q is not a function name\n%s", spec.Func, Usage())
		}
	default:
		return spec, fmt.Errorf("expected at most one function name, got %q\n%s", strings.Join(fs.Args(), " "), Usage())
	}
	if spec.Out != "" && !token.IsIdentifier(spec.Out) {
		return spec, fmt.Errorf("-o %q: name a Go variable", spec.Out)
	}
	if spec.N <= 0 {
		return spec, fmt.Errorf("-n %d: the number of tasks must be at least 1", spec.N)
	}
	if spec.Workers < 0 || spec.Workers > MaxWorkers {
		return spec, fmt.Errorf("-workers %d: choose between 1 and %d (0 or absent: each model's default)", spec.Workers, MaxWorkers)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["repeat"] && (set["rounds"] || set["budget"]) {
		return spec, errors.New("-repeat R takes exactly R rounds; -rounds N and -budget DUR bound the rounds taken until the speedups are known: choose one way")
	}
	if set["repeat"] && (spec.Repeat < 1 || spec.Repeat > MaxRounds) {
		return spec, fmt.Errorf("-repeat %d: choose between 1 and %d", spec.Repeat, MaxRounds)
	}
	if set["rounds"] && (spec.Rounds < 1 || spec.Rounds > MaxRounds) {
		return spec, fmt.Errorf("-rounds %d: choose between 1 and %d", spec.Rounds, MaxRounds)
	}
	if spec.Budget <= 0 {
		return spec, fmt.Errorf("-budget %s: give a positive duration, e.g. 10s or 1m", spec.Budget)
	}
	defer func() {
		if err == nil && spec.Workers > MaxProcessWorkers && anyModel(spec.Models, inWorkers) {
			err = fmt.Errorf("-workers %d: %s start a process per worker; choose at most %d", spec.Workers, words.JoinAnd(models.NamesWith(inWorkers)), MaxProcessWorkers)
		}
	}()
	spec.Models = defaultModels
	if *list == "all" {
		spec.Models = models.Names()
	}
	if *list != "" && *list != "all" {
		spec.Models = nil
		for _, name := range strings.Split(*list, ",") {
			name = strings.TrimSpace(name)
			if _, err := models.ByName(name); err != nil {
				return spec, err
			}
			if !slices.Contains(spec.Models, name) {
				spec.Models = append(spec.Models, name)
			}
		}
	}
	return spec, checkScale(spec)
}

// Usage is the magic's usage line, listing the registered models.
func Usage() string {
	return "usage: %%models [-n 8] [-workers K|1,2,4,8] [-models " + strings.Join(models.Names(), ",") + "|all] [-native | -mode interpreted|native|both] [-rounds N] [-budget DUR] [-repeat R] [-no-trace] [-no-charts] [-race] [-o NAME] [-trace DIR] [-perfetto FILE] [Func]\n" +
		"       %models  [same flags] Func"
}

// State is a copy of the notebook's variables, to put back before each
// model runs.
type State struct {
	vals map[string]reflect.Value
}

// Snapshot copies vars deeply (maps, slices, arrays and structs are
// copied; pointers, channels and funcs are shared).
func Snapshot(vars map[string]reflect.Value) State {
	s := State{vals: map[string]reflect.Value{}}
	for name, v := range vars {
		s.vals[name] = deepCopy(v)
	}
	return s
}

// Restore sets vars back to the snapshot's values (fresh copies, so the
// snapshot can be restored again).
func (s State) Restore(vars map[string]reflect.Value) error {
	var errs []error
	for name, v := range vars {
		old, ok := s.vals[name]
		if !ok || !v.CanSet() {
			continue
		}
		if old.Type() != v.Type() {
			errs = append(errs, fmt.Errorf("%s changed type from %s to %s", name, old.Type(), v.Type()))
			continue
		}
		v.Set(deepCopy(old))
	}
	return errors.Join(errs...)
}

func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	copyInto(out, v)
	return out
}

func copyInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Map:
		if src.IsNil() {
			dst.Set(src)
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			m.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			dst.Set(src)
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Cap())
		for i := 0; i < src.Len(); i++ {
			copyInto(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Array:
		for i := 0; i < src.Len(); i++ {
			copyInto(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		if !allFieldsSettable(dst) {
			dst.Set(src)
			return
		}
		for i := 0; i < src.NumField(); i++ {
			copyInto(dst.Field(i), src.Field(i))
		}
	default:
		dst.Set(src)
	}
}

func allFieldsSettable(v reflect.Value) bool {
	for i := 0; i < v.NumField(); i++ {
		if !v.Field(i).CanSet() {
			return false
		}
	}
	return true
}
