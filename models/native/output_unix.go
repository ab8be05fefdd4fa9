//go:build unix

package native

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStdout makes f the process's file descriptor 1.
func redirectStdout(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var dupErr error
	if err := rc.Control(func(fd uintptr) { dupErr = unix.Dup2(int(fd), 1) }); err != nil {
		return err
	}
	if dupErr != nil {
		return os.NewSyscallError("dup2", dupErr)
	}
	return nil
}
