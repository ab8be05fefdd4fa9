//go:build unix && !linux

package childproc

import "syscall"

// sysProcAttr puts the child in a process group of its own when group is
// set. Only Linux has a parent-death signal: elsewhere a child that serves
// its pipes exits when its request pipe closes with its parent.
func sysProcAttr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group}
}

// onSpawnThread runs start: without a parent-death signal, the thread
// that starts a child does not matter.
func onSpawnThread(start func() error) error { return start() }

// killGroup kills what is left of the process group pgid.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// signalGroup sends sig to the process group pgid.
func signalGroup(pgid int, sig syscall.Signal) { _ = syscall.Kill(-pgid, sig) }
