package supervisor

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the engine in its own process group, so it and the
// workers it starts can be killed together, and asks Linux to kill it if
// the kernel dies (the parent-death signal).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killTree kills the engine's process group.
func killTree(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
