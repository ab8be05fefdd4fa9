//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Self returns the process's user+sys CPU time so far, or 0.
func Self() time.Duration {
	user, sys := SelfSplit()
	return user + sys
}

// SelfSplit returns the process's user and system CPU time so far, or
// zeros.
func SelfSplit() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
