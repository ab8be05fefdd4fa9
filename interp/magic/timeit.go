package magic

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"atonce/internal/cputime"
	"atonce/internal/enginemsg"
)

type cpu struct{ user, sys time.Duration }

func (a cpu) minus(b cpu) cpu { return cpu{a.user - b.user, a.sys - b.sys} }

func cpuTime() cpu {
	user, sys := cputime.SelfSplit()
	return cpu{user, sys}
}

// TimeitTarget is how long one timeit run aims to take when it chooses
// the number of loops itself. Tests shorten it.
var TimeitTarget = 200 * time.Millisecond

// timeitFunc is the notebook variable timeit compiles the code into.
const timeitFunc = "__atonce_timeit"

func timeit(ctx context.Context, env Env, c Call) Result {
	if env.Replaying() {
		return Result{} // timing changes no state: nothing to rebuild
	}
	fs := flag.NewFlagSet("timeit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	loops := fs.Int("n", 0, "loops per run")
	runs := fs.Int("r", 7, "runs")
	args := strings.Fields(c.Args)
	if err := fs.Parse(args); err != nil {
		return Result{Err: userError("UsageError", err.Error()+"; usage: %timeit [-n LOOPS] [-r RUNS] STATEMENT")}
	}
	var stmt string
	if !c.Cell {
		// Keep the statement as typed: flags are only at the start.
		stmt = strings.TrimSpace(c.Args)
		for _, a := range args[:len(args)-fs.NArg()] {
			stmt = strings.TrimSpace(strings.TrimPrefix(stmt, a))
		}
	} else {
		stmt = c.Body
	}
	if strings.TrimSpace(stmt) == "" {
		return Result{Err: userError("UsageError", "%timeit needs a statement: %timeit f(10)")}
	}
	if *runs < 1 || *loops < 0 {
		return Result{Err: userError("UsageError", "-r must be at least 1 and -n at least 1")}
	}
	// Compile once: the code becomes the body of a function.
	def := timeitFunc + " := func() {\n" + stmt + "\n}"
	if r := env.Execute(ctx, def); r.Err != nil {
		// An expression statement with an unused value does not compile in
		// a func body: use its value.
		def = timeitFunc + " := func() {\n_ = " + stmt + "\n}"
		if r2 := env.Execute(ctx, def); r2.Err != nil {
			return r
		}
	}
	fnv, err := env.Func(ctx, timeitFunc)
	if err != nil {
		return Result{Err: userError("TimeitError", "could not compile the statement into a function: "+err.Error())}
	}
	fn, ok := fnv.Interface().(func())
	if !ok {
		return Result{Err: userError("TimeitError", "could not compile the statement into a function")}
	}
	// An interrupt must also stop a call in progress: the interpreter
	// only checks for it inside code it runs itself.
	// The loop checks a flag (cheaper than ctx.Err) on every call: a
	// stopped call may return early, and the next one must not start.
	var cancelled atomic.Bool
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
			cancelled.Store(true)
			env.Stop()
		case <-stopped:
		}
	}()
	timeLoops := func(n int) (d time.Duration, err error) {
		// A panic in the code would otherwise unwind through the host
		// and end the engine.
		defer func() {
			if p := recover(); p != nil {
				err = &codePanic{fmt.Sprint(p)}
			}
		}()
		start := time.Now()
		for i := 0; i < n && !cancelled.Load(); i++ {
			fn()
		}
		if cancelled.Load() {
			return 0, context.Canceled
		}
		return time.Since(start), nil
	}
	n := *loops
	if n == 0 {
		// 1, 2, 5, 10, 20, 50, ... until one run takes TimeitTarget.
		for k := 0; ; k++ {
			n = []int{1, 2, 5}[k%3] * int(math.Pow10(k/3))
			d, err := timeLoops(n)
			if err != nil {
				return failed(err)
			}
			if d >= TimeitTarget || n >= 1e9 {
				break
			}
		}
	}
	per := make([]float64, 0, *runs)
	for i := 0; i < *runs; i++ {
		d, err := timeLoops(n)
		if err != nil {
			return failed(err)
		}
		per = append(per, d.Seconds()/float64(n))
	}
	env.Print("stdout", timeitReport(per, n))
	return Result{}
}

// codePanic is a panic of the timed code.
type codePanic struct{ value string }

func (p *codePanic) Error() string { return p.value }

// failed reports a timing stopped by an interrupt or by a panic of the
// timed code.
func failed(err error) Result {
	if p, ok := err.(*codePanic); ok {
		return Result{Err: &enginemsg.Error{Name: "panic", Value: p.value, Traceback: []string{"panic: " + p.value, "(in the code %timeit was timing)"}}}
	}
	return Result{Err: userError("Interrupted", "the timing was interrupted"), Interrupted: true}
}

// timeitReport formats seconds-per-loop figures of each run.
func timeitReport(per []float64, loops int) string {
	sorted := append([]float64(nil), per...)
	sort.Float64s(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	// A distribution-free 95% interval for the median: the narrowest
	// order statistics [x(k), x(n+1-k)] that cover it with probability
	// at least 0.95 (for 7 runs, the whole range).
	k := medianInterval(len(sorted))
	lo, hi := sorted[k-1], sorted[len(sorted)-k]
	half := max(hi-median, median-lo)
	dur := func(s float64) string { return human(time.Duration(s * 1e9)) }
	runWord := "runs"
	if len(per) == 1 {
		runWord = "run"
	}
	out := fmt.Sprintf("%s ± %s per loop (median ± 95%% interval of %d %s, %s loops each; min %s) [interpreted by yaegi]\n",
		dur(median), dur(half), len(per), runWord, thousands(loops), dur(sorted[0]))
	if sorted[0] > 0 && sorted[len(sorted)-1] > 4*sorted[0] {
		out += fmt.Sprintf("The slowest run took %.2f times longer than the fastest. This could mean that an intermediate result is being cached.\n",
			sorted[len(sorted)-1]/sorted[0])
	}
	return out
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// medianInterval returns the largest k such that [x(k), x(n+1-k)] is at
// least a 95% confidence interval for the median of n samples.
func medianInterval(n int) int {
	best := 1
	for k := 1; k <= (n+1)/2; k++ {
		tail := 0.0 // P(Binomial(n, 1/2) <= k-1)
		for i := 0; i < k; i++ {
			tail += binom(n, i) / math.Pow(2, float64(n))
		}
		if 1-2*tail >= 0.95 {
			best = k
		}
	}
	return best
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
