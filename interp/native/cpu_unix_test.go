//go:build unix

package native

import (
	"syscall"
	"time"
)

// childCPU is the CPU time of the child processes waited for so far (the
// go commands, and the compilers and linkers they waited for).
func childCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
