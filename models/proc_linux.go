package models

import (
	"os/exec"
	"syscall"
)

// setWorkerAttr makes a worker die with its parent: no worker outlives
// the engine (and so the kernel).
func setWorkerAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
