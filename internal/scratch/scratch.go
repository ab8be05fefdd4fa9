// Package scratch gives a process a temporary directory of its own and
// removes those of processes that died without removing theirs.
//
// An engine killed with SIGKILL (out of memory, or by the kernel after an
// interrupt that did not stop) cannot clean up: its NATS server's store,
// the self-signed TLS certificate and private key, the race detector's
// logs, a half-done `go build` stay in the temporary directory. Everything
// of the kind goes in the process's scratch directory, named after the
// process (its id and start time, so a reused id does not pass for it),
// and the next engine's Sweep removes the directories of processes that
// are gone.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
)

// prefix starts the name of every scratch directory.
const prefix = "atonce-"

var own struct {
	once sync.Once
	dir  string
	err  error
}

// Owner returns the tag that names this process among live and dead
// ones: its id and start time. Files the process leaves in a shared place
// (a cache) carry it, so that Gone can tell when they are orphans.
func Owner() string { return tag(os.Getpid()) }

// Gone tells whether the process an Owner tag names is gone (a tag of a
// process id that now belongs to another process counts as gone).
func Gone(owner string) bool {
	pid, _, ok := parseTag(owner)
	if !ok {
		return false // not a tag: not ours to judge
	}
	return tag(pid) != owner
}

// tag returns pid's tag, or "" when the process does not exist.
func tag(pid int) string {
	start, ok := startTime(pid)
	if !ok {
		return ""
	}
	return strconv.Itoa(pid) + "-" + strconv.FormatUint(start, 10)
}

var tagRE = regexp.MustCompile(`^(\d+)-(\d+)$`)

func parseTag(s string) (pid int, start uint64, ok bool) {
	m := tagRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(m[1])
	start, err2 := strconv.ParseUint(m[2], 10, 64)
	return pid, start, err1 == nil && err2 == nil
}

// Dir returns this process's scratch directory, made on first use in the
// system's temporary directory.
func Dir() (string, error) {
	own.once.Do(func() {
		dir := filepath.Join(os.TempDir(), prefix+Owner())
		if err := os.MkdirAll(dir, 0o700); err != nil {
			own.err = fmt.Errorf("making a temporary directory: %w", err)
			return
		}
		own.dir = dir
	})
	return own.dir, own.err
}

// MkdirTemp makes a new directory in this process's scratch directory,
// as os.MkdirTemp does.
func MkdirTemp(pattern string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, pattern)
}

// Remove removes this process's scratch directory and all it holds, if
// it was made.
func Remove() error {
	if own.dir == "" {
		return nil
	}
	return os.RemoveAll(own.dir)
}

// Sweep removes the scratch directories of processes that are gone, and
// returns them. Directories it cannot remove (another user's) are left.
func Sweep() ([]string, error) {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("reading the temporary directory: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		name := e.Name()
		owner, ok := cutPrefix(name)
		if !ok || !e.IsDir() || !Gone(owner) {
			continue
		}
		path := filepath.Join(os.TempDir(), name)
		if err := os.RemoveAll(path); err != nil {
			if !errors.Is(err, os.ErrPermission) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}

func cutPrefix(name string) (string, bool) {
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return "", false
	}
	_, _, ok := parseTag(name[len(prefix):])
	return name[len(prefix):], ok
}
