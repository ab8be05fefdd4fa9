package engine

import (
	"os"
	"syscall"
)

// redirectFD1 makes f the process's file descriptor 1; the old fd 1 (the
// supervisor's pipe) is closed.
func redirectFD1(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var dupErr error
	if err := rc.Control(func(fd uintptr) { dupErr = syscall.Dup3(int(fd), 1, 0) }); err != nil {
		return err
	}
	if dupErr != nil {
		return os.NewSyscallError("dup3", dupErr)
	}
	return nil
}
