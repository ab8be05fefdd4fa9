package models

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// TestThreadsFidelitySeqProcs compares two sequential baselines for the
// threads model's speedup on fib(29) × 8: the sequential model as it is
// (GOMAXPROCS unchanged, so the collector's background work runs on the
// idle core for free) and sequential on GOMAXPROCS=1 (the task's one
// core pays for everything, as the threads' cores do). Slow; runs only
// with ATONCE_FIDELITY set:
//
//	ATONCE_FIDELITY=1 go test -run TestThreadsFidelitySeqProcs -v -count 1 ./models/
func TestThreadsFidelitySeqProcs(t *testing.T) {
	if os.Getenv("ATONCE_FIDELITY") == "" {
		t.Skip("set ATONCE_FIDELITY=1 to measure")
	}
	i := interp.New(interp.Options{})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	if _, err := i.Eval(fibSrc); err != nil {
		t.Fatal(err)
	}
	v, err := i.Eval("fib")
	if err != nil {
		t.Fatal(err)
	}
	fib := v.Interface().(func(int) int)
	task := Task{Name: "fib(29)", N: 8, Call: func(context.Context, int) (any, error) { return fib(29), nil }}
	seq1 := sequentialSpec
	seq1.procs = 1
	restore := Tune()
	defer restore()
	Prewarm()
	fib(29)
	var sp2, sp1 []float64
	for r := range 6 {
		waitQuietMachine(time.Minute)
		b0, o0 := machineBusySeconds(), float64(cpuTime())/1e9
		s2, err := run(context.Background(), sequentialSpec, task, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s1, err := run(context.Background(), seq1, task, Options{})
		if err != nil {
			t.Fatal(err)
		}
		th, err := run(context.Background(), threadsSpec, task, Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		others := (machineBusySeconds() - b0) - (float64(cpuTime())/1e9 - o0)
		util := func(r Report) float64 { return r.CPU.Seconds() / r.Wall.Seconds() }
		sp2 = append(sp2, s2.Wall.Seconds()/th.Wall.Seconds())
		sp1 = append(sp1, s1.Wall.Seconds()/th.Wall.Seconds())
		t.Logf("%d: seq %.2fs (cpu/wall %.2f) | seq procs=1 %.2fs (cpu/wall %.2f) | threads %.2fs (cpu/wall %.2f) | speedup %.2fx vs %.2fx | others' cpu %.2fs",
			r, s2.Wall.Seconds(), util(s2), s1.Wall.Seconds(), util(s1), th.Wall.Seconds(), util(th), sp2[r], sp1[r], others)
	}
	med := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
	}
	t.Logf("median speedup over sequential %.2fx, over sequential on GOMAXPROCS=1 %.2fx", med(sp2), med(sp1))
}

// machineBusySeconds returns the busy CPU time of all processes on the
// machine so far (/proc/stat; 0 where there is none).
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	var user, nice, system, idle, iowait, irq, softirq, steal float64
	if _, err := sscanStat(string(b), &user, &nice, &system, &idle, &iowait, &irq, &softirq, &steal); err != nil {
		return 0
	}
	return (user + nice + system + irq + softirq + steal) / 100
}

func waitQuietMachine(limit time.Duration) {
	for start := time.Now(); time.Since(start) < limit; {
		b0, o0 := machineBusySeconds(), float64(cpuTime())/1e9
		time.Sleep(time.Second)
		if (machineBusySeconds()-b0)-(float64(cpuTime())/1e9-o0) < 0.05 {
			return
		}
	}
}
