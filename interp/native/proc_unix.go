//go:build unix

package native

import (
	"errors"
	"os/exec"
	"syscall"
)

// inGroup starts cmd in a process group of its own, so that the
// compilers and linkers the go command starts can be stopped with it.
func inGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// interruptGroup sends the group an interrupt, as a terminal's ^C does:
// the tools die and the go command, which ignores it, stops starting new
// ones, waits for those it started and exits.
func interruptGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }

// killGroup kills every process of the group.
func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

// groupAlive tells whether a process of the group is left.
func groupAlive(cmd *exec.Cmd) bool {
	return !errors.Is(syscall.Kill(-cmd.Process.Pid, 0), syscall.ESRCH)
}
