package magic

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
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

// loopTimer times n calls of the statement in a row; an error is an
// interrupt (context.Canceled) or the code's own failure (*codePanic).
type loopTimer func(n int) (time.Duration, error)

func timeit(ctx context.Context, env Env, c Call) Result {
	if env.Replaying() {
		return Result{} // timing changes no state: nothing to rebuild
	}
	fs := flag.NewFlagSet("timeit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	loops := fs.Int("n", 0, "loops per run")
	runs := fs.Int("r", 7, "runs")
	native := fs.Bool("native", false, "time the statement compiled by the Go toolchain")
	args := strings.Fields(c.Args)
	if err := fs.Parse(args); err != nil {
		return Result{Err: userError("UsageError", err.Error()+"; usage: %timeit [-n LOOPS] [-r RUNS] [-native] STATEMENT")}
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
	var timer loopTimer
	var label string
	if *native {
		nt, r := startNativeTimer(ctx, env, stmt)
		if r != nil {
			return *r
		}
		defer nt.close()
		timer, label = nt.loops, nt.build.Label()
	} else {
		it, r := startInterpretedTimer(ctx, env, stmt)
		if r != nil {
			return *r
		}
		defer it.close()
		timer, label = it.loops, "interpreted by yaegi"
	}
	per, n, err := measure(timer, *loops, *runs)
	if err != nil {
		return failed(err)
	}
	env.Print("stdout", timeitReport(per, n, label))
	return Result{}
}

// measure times runs runs of loops calls each; without loops (0) it
// chooses them, 1, 2, 5, 10, 20, 50, ..., until one run takes
// TimeitTarget. It returns each run's seconds per call and the loops.
// Interpreted and native timings go through it alike.
func measure(timer loopTimer, loops, runs int) ([]float64, int, error) {
	n := loops
	if n == 0 {
		for k := 0; ; k++ {
			n = []int{1, 2, 5}[k%3] * int(math.Pow10(k/3))
			d, err := timer(n)
			if err != nil {
				return nil, 0, err
			}
			if d >= TimeitTarget || n >= 1e9 {
				break
			}
		}
	}
	per := make([]float64, 0, runs)
	for i := 0; i < runs; i++ {
		d, err := timer(n)
		if err != nil {
			return nil, 0, err
		}
		per = append(per, d.Seconds()/float64(n))
	}
	return per, n, nil
}

// interpretedTimer times the statement compiled by the interpreter into a
// notebook function, called from the host.
type interpretedTimer struct {
	fn        func()
	cancelled atomic.Bool
	stopped   chan struct{}
	watching  sync.WaitGroup
}

// startInterpretedTimer compiles the statement once into the body of a
// function; r is the cell's error when it does not compile.
func startInterpretedTimer(ctx context.Context, env Env, stmt string) (*interpretedTimer, *Result) {
	def := timeitFunc + " := func() {\n" + stmt + "\n}"
	if r := env.Execute(ctx, def); r.Err != nil {
		// An expression statement with an unused value does not compile in
		// a func body: use its value.
		def = timeitFunc + " := func() {\n_ = " + stmt + "\n}"
		if r2 := env.Execute(ctx, def); r2.Err != nil {
			return nil, &r
		}
	}
	fnv, err := env.Func(ctx, timeitFunc)
	if err != nil {
		return nil, &Result{Err: userError("TimeitError", "could not compile the statement into a function: "+err.Error())}
	}
	fn, ok := fnv.Interface().(func())
	if !ok {
		return nil, &Result{Err: userError("TimeitError", "could not compile the statement into a function")}
	}
	t := &interpretedTimer{fn: fn, stopped: make(chan struct{})}
	// An interrupt must also stop a call in progress: the interpreter
	// only checks for it inside code it runs itself.
	// The loop checks a flag (cheaper than ctx.Err) on every call: a
	// stopped call may return early, and the next one must not start.
	t.watching.Go(func() {
		select {
		case <-ctx.Done():
			t.cancelled.Store(true)
			env.Stop()
		case <-t.stopped:
		}
	})
	return t, nil
}

func (t *interpretedTimer) close() {
	close(t.stopped)
	t.watching.Wait()
}

// loops is the interpreted loopTimer.
func (t *interpretedTimer) loops(n int) (d time.Duration, err error) {
	// A panic in the code would otherwise unwind through the host and
	// end the engine.
	defer func() {
		if p := recover(); p != nil {
			err = &codePanic{value: fmt.Sprint(p)}
		}
	}()
	start := time.Now()
	for i := 0; i < n && !t.cancelled.Load(); i++ {
		t.fn()
	}
	if t.cancelled.Load() {
		return 0, context.Canceled
	}
	return time.Since(start), nil
}

// codePanic is a panic of the timed code; where, if known, says where
// it happened (a native panic's site in the cells, with its line).
type codePanic struct {
	value string
	where []string
}

func (p *codePanic) Error() string { return p.value }

// failed reports a timing stopped by an interrupt, by a panic of the
// timed code, or by another failure (a native program that died).
func failed(err error) Result {
	var p *codePanic
	switch {
	case errors.As(err, &p):
		tb := append(append([]string{"panic: " + p.value}, p.where...), "(in the code %timeit was timing)")
		return Result{Err: &enginemsg.Error{Name: "panic", Value: p.value, Traceback: tb}}
	case errors.Is(err, context.Canceled):
		return Result{Err: userError("Interrupted", "the timing was interrupted"), Interrupted: true}
	}
	return Result{Err: userError("TimeitError", err.Error())}
}

// timeitReport formats seconds-per-loop figures of each run, labelled
// with what ran the code ("interpreted by yaegi", "native, go1.26.8").
func timeitReport(per []float64, loops int, label string) string {
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
	out := fmt.Sprintf("%s ± %s per loop (median ± 95%% interval of %d %s, %s loops each; min %s) [%s]\n",
		dur(median), dur(half), len(per), runWord, thousands(loops), dur(sorted[0]), label)
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
