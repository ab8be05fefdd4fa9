// Package statedir is a kernel's private directory for what must outlive
// one engine but not the kernel: the distributed model's cluster settings
// (the NATS server's address, token and certificate), so that workers
// that joined keep working when the kernel replaces a crashed engine.
//
// The kernel makes the directory (0700) when it starts, hands its path to
// each engine it starts in the environment variable [Env], and removes it
// when it stops. It holds a lock on the directory for as long as it runs:
// a kernel killed without the chance to clean up leaves its directory
// behind unlocked, and the next kernel that starts removes it ([Sweep]).
package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Env is the environment variable that gives an engine its kernel's state
// directory.
const Env = "ATONCE_STATE_DIR"

// prefix starts the name of every kernel's state directory.
const prefix = "atonce-kernel-"

// Dir is a kernel's state directory, locked until [Dir.Remove].
type Dir struct {
	path string
	lock *os.File // the directory itself, open and locked
}

// Create removes what dead kernels left in parent (the system's temporary
// directory when empty; see [Sweep]) and makes a fresh state directory
// there, mode 0700, locked until [Dir.Remove].
func Create(parent string) (*Dir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	_, _ = Sweep(parent)
	for range 3 {
		path, err := os.MkdirTemp(parent, prefix+"*")
		if err != nil {
			return nil, fmt.Errorf("could not make the kernel's state directory: %w", err)
		}
		f, err := os.Open(path)
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("could not open the kernel's state directory: %w", err)
		}
		if held, err := tryLock(f); err != nil || !held {
			// Another kernel's Sweep took it between MkdirTemp and
			// the lock, and removes it: make another.
			f.Close()
			continue
		}
		if !stillThere(f, path) {
			f.Close()
			continue
		}
		return &Dir{path: path, lock: f}, nil
	}
	return nil, errors.New("could not make the kernel's state directory: other kernels kept removing it")
}

// stillThere reports whether the open directory f is still at path (a
// Sweep may have removed it before f was locked).
func stillThere(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

// Remove deletes the directory with everything in it and releases its
// lock. It is safe to call more than once.
func (d *Dir) Remove() error {
	if d.lock == nil {
		return nil
	}
	err := os.RemoveAll(d.path)
	d.lock.Close()
	d.lock = nil
	if err != nil {
		return fmt.Errorf("could not remove the kernel's state directory: %w", err)
	}
	return nil
}

// Sweep removes the state directories in parent that kernels which are
// gone left behind: those of this user that no running kernel holds
// locked. It returns the paths it removed. Where locks are not available
// it removes nothing.
func Sweep(parent string) ([]string, error) {
	if !canLock {
		return nil, nil
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("could not look for dead kernels' state: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		fi, err := os.Lstat(path)
		if err != nil || !fi.IsDir() || !ownedByMe(fi) {
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if held, err := tryLock(f); err == nil && held && stillThere(f, path) {
			if err := os.RemoveAll(path); err != nil {
				errs = append(errs, err)
			} else {
				removed = append(removed, path)
			}
		}
		f.Close() // releases the lock
	}
	return removed, errors.Join(errs...)
}
