package childproc

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pipeReader reads the parent's end of a pipe from a child. While the
// child runs, reads block as usual. Once the child has exited,
// endWhenEmpty makes reads return what is left in the pipe and then
// io.EOF, without waiting for a grandchild that still holds the write end.
// wake makes a reader blocked in Read return errWoken, so that it can read
// what is buffered at once (see Proc.SyncStdout).
type pipeReader struct {
	f         *os.File
	ending    atomic.Bool
	closeOnce sync.Once
}

func newPipeReader(f *os.File) *pipeReader { return &pipeReader{f: f} }

// Read reads from the pipe. After endWhenEmpty it never waits: an empty
// pipe is its end.
func (r *pipeReader) Read(b []byte) (int, error) {
	if !r.ending.Load() {
		n, err := r.f.Read(b)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
		if !r.ending.Load() {
			_ = r.f.SetReadDeadline(time.Time{})
			return 0, errWoken
		}
	}
	return r.readNow(b)
}

// readNow reads what the pipe holds without waiting; an empty pipe reads
// as io.EOF.
func (r *pipeReader) readNow(b []byte) (int, error) {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	for {
		// endWhenEmpty set a deadline in the past to wake a blocked
		// Read; a read that does not wait must not be refused for it.
		_ = r.f.SetReadDeadline(time.Time{})
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, rerr = syscall.Read(int(fd), b)
				if rerr != syscall.EINTR {
					return true // never wait for more
				}
			}
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue
		case err != nil:
			return 0, err
		case rerr == syscall.EAGAIN || (rerr == nil && n == 0):
			return 0, io.EOF
		case rerr != nil:
			return 0, rerr
		}
		return n, nil
	}
}

// errWoken is what Read returns to a reader that wake woke.
var errWoken = errors.New("woken to read what the pipe holds")

// wake makes a reader blocked in Read return errWoken.
func (r *pipeReader) wake() { _ = r.f.SetReadDeadline(time.Unix(1, 0)) }

// endWhenEmpty makes reads end at the pipe's last byte (see Read), and
// wakes a reader blocked in Read.
func (r *pipeReader) endWhenEmpty() {
	r.ending.Store(true)
	_ = r.f.SetReadDeadline(time.Unix(1, 0))
}

// Close closes the parent's end of the pipe; it may be called more than
// once.
func (r *pipeReader) Close() error {
	r.closeOnce.Do(func() { r.f.Close() })
	return nil
}
