//go:build unix

package modelrun_test

import (
	"context"
	"fmt"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"testing"
	"time"

	"atonce/interp/modelrun"
	"atonce/models"
)

// TestThreadsFidelityFib measures the threads model's speedup over
// sequential on fib(29) × 8 through a session and modelrun.Run, the way
// the kernel runs %%models. It is slow (about 30 s), so it runs only when
// ATONCE_FIDELITY is set:
//
//	ATONCE_FIDELITY=1 go test -run TestThreadsFidelityFib -v -count 1 ./interp/modelrun/
//
// ATONCE_FIDELITY_PAIRS sets the number of alternating pairs (default 6),
// ATONCE_FIDELITY_FIB the fib argument (default 29), ATONCE_FIDELITY_TRACE=0
// runs without the execution trace (-no-trace).
func TestThreadsFidelityFib(t *testing.T) {
	if os.Getenv("ATONCE_FIDELITY") == "" {
		t.Skip("set ATONCE_FIDELITY=1 to measure the threads model's speedup")
	}
	pairs := envInt("ATONCE_FIDELITY_PAIRS", 6)
	n := envInt("ATONCE_FIDELITY_FIB", 29)
	s := session(t, fmt.Sprintf("func fib(n int) int { if n < 2 { return n }; return fib(n-1) + fib(n-2) }\nfunc Task(i int) int { return fib(%d) }", n))
	list := "sequential,threads"
	if m := os.Getenv("ATONCE_FIDELITY_MODELS"); m != "" {
		list = m
	}
	args := "-n 8 -workers 2 -models " + list + " Task"
	if os.Getenv("ATONCE_FIDELITY_TRACE") == "0" {
		args = "-no-trace " + args
	}
	spec, err := modelrun.ParseSpec(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	var speedups, cpuRatios []float64
	var cleanSpeedups, cleanRatios []float64
	for p := range pairs {
		if w, ok := waitQuiet(2 * time.Minute); !ok {
			t.Logf("pair %d: the machine stayed busy for %v", p, w)
		}
		var marks []fidelitySample
		reports, err := modelrun.Run(context.Background(), s, spec, nil, func(string, []models.Report) {
			marks = append(marks, readFidelity())
		})
		if err != nil {
			t.Fatal(err)
		}
		marks = append(marks, readFidelity())
		if len(reports) != 2 {
			for i, r := range reports {
				t.Logf("pair %d: %s wall %v cpu %v: %s", p, r.Model, r.Wall.Round(time.Millisecond), r.CPU.Round(time.Millisecond), marks[i+1].sub(marks[i]))
			}
			continue
		}
		seq, thr := reports[0], reports[1]
		sp := float64(seq.Wall) / float64(thr.Wall)
		cr := float64(thr.CPU) / float64(seq.CPU)
		speedups = append(speedups, sp)
		cpuRatios = append(cpuRatios, cr)
		d0, d1 := marks[1].sub(marks[0]), marks[2].sub(marks[1])
		if marks[2].others(marks[0]) < 0.2 {
			cleanSpeedups = append(cleanSpeedups, sp)
			cleanRatios = append(cleanRatios, cr)
		}
		t.Logf("pair %d: seq wall %v cpu %v | threads wall %v cpu %v | speedup %.2fx cpu ratio %.2f",
			p, seq.Wall.Round(time.Millisecond), seq.CPU.Round(time.Millisecond),
			thr.Wall.Round(time.Millisecond), thr.CPU.Round(time.Millisecond), sp, cr)
		t.Logf("    seq:     %s", d0)
		t.Logf("    threads: %s", d1)
	}
	if len(speedups) == 0 {
		return
	}
	t.Logf("median speedup %.2fx (min %.2f max %.2f), median cpu ratio %.2f (min %.2f max %.2f)",
		median(speedups), slices.Min(speedups), slices.Max(speedups),
		median(cpuRatios), slices.Min(cpuRatios), slices.Max(cpuRatios))
	if len(cleanSpeedups) > 0 {
		t.Logf("pairs with other processes under 0.2 s CPU: %d; median speedup %.2fx (min %.2f max %.2f), median cpu ratio %.2f",
			len(cleanSpeedups), median(cleanSpeedups), slices.Min(cleanSpeedups), slices.Max(cleanSpeedups), median(cleanRatios))
	}
}

// others returns the CPU seconds other processes used between b and a.
func (a fidelitySample) others(b fidelitySample) float64 {
	return (a.machineBusy - b.machineBusy) - (a.ownCPU - b.ownCPU)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// fidelitySample is a reading of the runtime metrics that tell where CPU
// time goes.
type fidelitySample struct {
	gcCycles              uint64
	gcCPU, scavCPU, user  float64
	idle, total, assist   float64
	heapReleased, heapObj uint64
	faults                int64
	machineBusy, ownCPU   float64 // seconds: all processes' busy CPU, this process's CPU
}

var fidelityNames = []string{
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/scavenge/total:cpu-seconds",
	"/cpu/classes/user:cpu-seconds",
	"/cpu/classes/idle:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
}

func readFidelity() fidelitySample {
	ss := make([]metrics.Sample, len(fidelityNames))
	for i, n := range fidelityNames {
		ss[i].Name = n
	}
	metrics.Read(ss)
	return fidelitySample{
		gcCycles:     ss[0].Value.Uint64(),
		gcCPU:        ss[1].Value.Float64(),
		scavCPU:      ss[2].Value.Float64(),
		user:         ss[3].Value.Float64(),
		idle:         ss[4].Value.Float64(),
		total:        ss[5].Value.Float64(),
		assist:       ss[6].Value.Float64(),
		heapReleased: ss[7].Value.Uint64(),
		heapObj:      ss[8].Value.Uint64(),
		faults:       minorFaults(),
		machineBusy:  machineBusy(),
		ownCPU:       ownCPU(),
	}
}

func (a fidelitySample) sub(b fidelitySample) string {
	return fmt.Sprintf("gc cycles %d, gc cpu %.3fs (assist %.3fs), scavenge cpu %.3fs, user cpu %.3fs, idle %.3fs; released %d MiB, objects %d MiB; minor faults %d; other processes' cpu %.2fs",
		a.gcCycles-b.gcCycles, a.gcCPU-b.gcCPU, a.assist-b.assist, a.scavCPU-b.scavCPU, a.user-b.user, a.idle-b.idle,
		a.heapReleased>>20, a.heapObj>>20, a.faults-b.faults, a.others(b))
}
