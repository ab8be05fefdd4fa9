//go:build !linux

package scratch

import (
	"errors"
	"syscall"
)

// startTime reports whether process pid exists; without /proc its start
// time is unknown (0), so a reused process id passes for the process.
func startTime(pid int) (uint64, bool) {
	err := syscall.Kill(pid, 0)
	return 0, err == nil || errors.Is(err, syscall.EPERM)
}
