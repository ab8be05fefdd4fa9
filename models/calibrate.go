package models

import (
	"runtime"
	"sync"
	"time"
)

// calibrationSteps is the calibration loop's fixed work: about 5 ms on
// the machines atonce was measured on (about 15 ns a step, one core).
const calibrationSteps = 330_000

// calibrationTable is what the calibration loop reads: 1 MiB, more than
// a core's first caches hold, less than the machine's last.
var calibrationTable = sync.OnceValue(func() []uint64 {
	t := make([]uint64, 1<<17)
	for i := range t {
		t[i] = uint64(i) * 2654435761
	}
	return t
})

// Calibrate times a fixed loop of compiled Go on one goroutine and
// returns how long it took: about 5 ms on an idle machine. The loop
// (chase) reads memory the way interpreted code does, each read at an
// address the one before decided, so it waits on the caches and memory
// the machine shares with others: a loop of registers alone moved 2%
// from run to run on a machine where interpreted code moved 16% and
// this loop 11% (BenchmarkMachineNoise). The same work timed between
// the rounds of a comparison tells how far the machine itself drifted
// (other programs, the CPU's clock, its shared memory system), apart
// from what the models did.
//
// A fifth of the work goes first, untimed: the round before evicted the
// table from the caches, and how much it evicted is the models' doing,
// not the machine's.
func Calibrate() time.Duration {
	runtime.KeepAlive(chase(calibrationSteps / 5))
	start := time.Now()
	runtime.KeepAlive(chase(calibrationSteps)) // the compiler must not drop the loop
	return time.Since(start)
}

// chase takes n steps of a xorshift generator, each adding in the entry
// of calibrationTable its value picks: a chain in which every step waits
// for the one before, register work and a memory read alike, so no core
// runs it faster by overlapping steps.
func chase(n int) uint64 {
	table := calibrationTable()
	x := uint64(88172645463325252)
	for range n {
		x = xorshiftStep(x)
		x += table[x%uint64(len(table))]
	}
	return x
}

// xorshift takes n steps of a xorshift generator: work on registers
// alone.
func xorshift(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x = xorshiftStep(x)
	}
	return x
}

func xorshiftStep(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}
