package childproc

import (
	"runtime"
	"sync"
	"syscall"
)

// sysProcAttr asks Linux to kill the child when its parent dies, and puts
// it in a process group of its own when group is set.
func sysProcAttr(group bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: group, Pdeathsig: syscall.SIGKILL}
}

// The spawn thread starts every child. Linux sends the parent-death
// signal when the thread that started the child exits, not when the
// process does; the Go runtime ends a thread whenever a goroutine locked
// to it returns without unlocking (user code run by the engine can do
// that). A goroutine locked to its thread for the life of the process,
// never returning, is a thread that exits only with the process.
var spawn struct {
	once sync.Once
	jobs chan func()
}

// onSpawnThread runs start on the spawn thread and returns its error.
func onSpawnThread(start func() error) error {
	spawn.once.Do(func() {
		spawn.jobs = make(chan func())
		// Its owner is the process: it must outlive every child.
		go spawnLoop(spawn.jobs)
	})
	done := make(chan error, 1)
	spawn.jobs <- func() { done <- start() }
	return <-done
}

// spawnLoop runs the jobs on its locked thread; it never returns.
func spawnLoop(jobs <-chan func()) {
	runtime.LockOSThread()
	for job := range jobs {
		job()
	}
	select {} // unreachable: jobs is never closed
}

// killGroup kills what is left of the process group pgid.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// signalGroup sends sig to the process group pgid.
func signalGroup(pgid int, sig syscall.Signal) { _ = syscall.Kill(-pgid, sig) }
