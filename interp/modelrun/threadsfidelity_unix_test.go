//go:build unix

package modelrun_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// minorFaults returns the process's minor page faults so far.
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

// ownCPU returns the process's user+system CPU time so far, in seconds.
func ownCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// machineBusy returns the CPU time all processes on the machine spent
// busy so far (user, nice, system, irq, softirq, steal), in seconds, from
// /proc/stat (Linux; 0 elsewhere). Steal is time the hypervisor gave a
// virtual CPU to someone else.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		busy += v
	}
	return busy / 100 // USER_HZ
}

// waitQuiet waits, up to limit, until other processes have used less
// than 5% of a core over a second, and returns how long it waited and
// whether the machine got quiet.
func waitQuiet(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		b0, o0 := machineBusy(), ownCPU()
		time.Sleep(time.Second)
		if (machineBusy()-b0)-(ownCPU()-o0) < 0.05 {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}
