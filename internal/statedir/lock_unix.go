//go:build unix

package statedir

import (
	"errors"
	"os"
	"syscall"
)

// canLock says this system has the locks Sweep relies on.
const canLock = true

// tryLock takes an exclusive lock on f without waiting: false when
// another process holds it. The lock goes when f is closed or the process
// dies, and no child inherits it (Go opens files close-on-exec).
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// ownedByMe reports whether fi belongs to this process's user.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
