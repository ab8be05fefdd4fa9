//go:build unix

package modelrun_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"atonce/interp/modelrun"
	"atonce/models"

	yaegi "github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
)

// TestThreadsFidelityControls puts the session's speedup next to two
// controls measured in the same process, round after round: compiled fib
// on 2 goroutines (the machine's parallelism at the moment) and a bare
// yaegi interpreter's fib run by the models directly. Each line also
// shows the CPU other processes used meanwhile.
//
//	ATONCE_FIDELITY=1 go test -run TestThreadsFidelityControls -v -count 1 -timeout 30m ./interp/modelrun/
func TestThreadsFidelityControls(t *testing.T) {
	if os.Getenv("ATONCE_FIDELITY") == "" {
		t.Skip("set ATONCE_FIDELITY=1 to measure")
	}
	rounds := envInt("ATONCE_FIDELITY_PAIRS", 5)
	n := envInt("ATONCE_FIDELITY_FIB", 29)
	cell := fmt.Sprintf("func fib(n int) int { if n < 2 { return n }; return fib(n-1) + fib(n-2) }\nfunc Task(i int) int { return fib(%d) }", n)
	s := session(t, cell)
	spec, err := modelrun.ParseSpec("-no-trace -n 8 -workers 2 -models sequential,threads Task", nil)
	if err != nil {
		t.Fatal(err)
	}

	raw := yaegi.New(yaegi.Options{})
	if err := raw.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Eval(cell); err != nil {
		t.Fatal(err)
	}
	v, err := raw.Eval("fib")
	if err != nil {
		t.Fatal(err)
	}
	fib := v.Interface().(func(int) int)
	rawTask := models.Task{Name: "raw", N: 8, Call: func(context.Context, int) (any, error) { return fib(n), nil }}

	var sums [3][]float64 // speedups: compiled, raw, session
	const fibC = 36
	for r := range rounds {
		if w, ok := waitQuiet(2 * time.Minute); !ok {
			t.Logf("round %d: the machine stayed busy for %v", r, w)
		}
		// Compiled.
		m0 := readFidelity()
		t0, c0 := time.Now(), ownCPU()
		var sink atomic.Int64
		for range 4 {
			sink.Add(int64(goFib(fibC)))
		}
		seqW, seqC := time.Since(t0), ownCPU()-c0
		m1 := readFidelity()
		t0, c0 = time.Now(), ownCPU()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { sink.Add(int64(goFib(fibC) + goFib(fibC))) })
		}
		wg.Wait()
		parW, parC := time.Since(t0), ownCPU()-c0
		m2 := readFidelity()
		line("compiled", t, r, seqW, time.Duration(seqC*1e9), parW, time.Duration(parC*1e9), m0, m1, m2, &sums[0])

		// Bare yaegi through the models.
		restore := models.Tune()
		m0 = readFidelity()
		rs, err := models.Sequential{}.Run(context.Background(), rawTask, models.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m1 = readFidelity()
		rt, err := models.Threads{}.Run(context.Background(), rawTask, models.Options{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		m2 = readFidelity()
		restore()
		line("bare yaegi", t, r, rs.Wall, rs.CPU, rt.Wall, rt.CPU, m0, m1, m2, &sums[1])

		// The session through modelrun.Run.
		var marks []fidelitySample
		reports, err := modelrun.Run(context.Background(), s, spec, nil, func(string, []models.Report) {
			marks = append(marks, readFidelity())
		})
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, readFidelity())
		line("session", t, r, reports[0].Wall, reports[0].CPU, reports[1].Wall, reports[1].CPU, marks[0], marks[1], marks[2], &sums[2])
	}
	for i, name := range []string{"compiled", "bare yaegi", "session"} {
		t.Logf("%-10s median speedup %.2fx over %v", name, median(sums[i]), sums[i])
	}
}

func line(name string, t *testing.T, r int, seqW, seqC, parW, parC time.Duration, m0, m1, m2 fidelitySample, sum *[]float64) {
	t.Helper()
	sp := float64(seqW) / float64(parW)
	*sum = append(*sum, sp)
	o1 := (m1.machineBusy - m0.machineBusy) - (m1.ownCPU - m0.ownCPU)
	o2 := (m2.machineBusy - m1.machineBusy) - (m2.ownCPU - m1.ownCPU)
	t.Logf("%d %-10s seq %5.2fs cpu %5.2fs (others %4.2fs) | par %5.2fs cpu %5.2fs (others %4.2fs) | speedup %.2fx cpu ratio %.2f",
		r, name, seqW.Seconds(), seqC.Seconds(), o1, parW.Seconds(), parC.Seconds(), o2, sp, float64(parC)/float64(seqC))
}

func goFib(n int) int {
	if n < 2 {
		return n
	}
	return goFib(n-1) + goFib(n-2)
}
