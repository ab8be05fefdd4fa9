// Package leakcheck lets tests check that what they ran left nothing
// behind: no goroutine, no child process.
package leakcheck

import (
	"bytes"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Settle bounds how long Check waits for goroutines that have signalled
// their owner to finish returning.
const Settle = 5 * time.Second

// ignored are goroutines that live as long as the process by design.
var ignored = []string{
	// childproc's spawn thread, which must outlive every child.
	"atonce/internal/childproc.spawnLoop",
}

// Snapshot is the set of goroutines at one moment.
type Snapshot struct{ ids map[int]bool }

// Goroutines returns the goroutines running now.
func Goroutines() Snapshot {
	s := Snapshot{ids: map[int]bool{}}
	for _, g := range goroutines() {
		s.ids[g.id] = true
	}
	return s
}

// Check fails t for every goroutine started since s that is still there.
// A goroutine that told its owner it is done may still be returning, so
// Check waits up to Settle for the new goroutines to go; one that stays is
// a leak, and its stack is shown.
func (s Snapshot) Check(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(Settle)
	for {
		left := s.left()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, g := range left {
				t.Errorf("a goroutine outlived what started it:\n%s", g.stack)
			}
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// left returns the goroutines started since s, less the ignored ones.
func (s Snapshot) left() []goroutine {
	var out []goroutine
	for _, g := range goroutines() {
		if s.ids[g.id] || slices.ContainsFunc(ignored, func(f string) bool { return strings.Contains(g.stack, f+"(") }) {
			continue
		}
		out = append(out, g)
	}
	return out
}

type goroutine struct {
	id    int
	stack string
}

// goroutines lists every goroutine but the caller's.
func goroutines() []goroutine {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for i, block := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue // the caller's own
		}
		head, _, _ := strings.Cut(string(block), " [")
		id, err := strconv.Atoi(strings.TrimPrefix(head, "goroutine "))
		if err != nil {
			continue
		}
		out = append(out, goroutine{id: id, stack: string(block)})
	}
	return out
}
