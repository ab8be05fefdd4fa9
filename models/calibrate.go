package models

import (
	"runtime"
	"time"
)

// calibrationSteps is the calibration loop's fixed work: about 5 ms on
// the machines atonce was measured on (1.7 ns a step, one core).
const calibrationSteps = 3_000_000

// Calibrate times a fixed loop of compiled Go on one goroutine (a
// xorshift generator, whose every step waits for the one before, so no
// core runs it faster by overlapping steps) and returns how long it took:
// about 5 ms on an idle machine. The same work timed between the rounds
// of a comparison tells how far the machine itself drifted (other
// programs, the CPU's clock), apart from what the models did.
func Calibrate() time.Duration {
	start := time.Now()
	runtime.KeepAlive(xorshift(calibrationSteps)) // the compiler must not drop the loop
	return time.Since(start)
}

func xorshift(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
