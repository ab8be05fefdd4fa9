// Package leakcheck lets tests check that what they ran left nothing
// behind: no goroutine, no child process.
package leakcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/internal/childproc"
)

// Settle bounds how long Check waits for goroutines that have signalled
// their owner to finish returning.
const Settle = 5 * time.Second

// settle is Settle, shortened by this package's own tests.
var settle = Settle

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

// Check fails t for every goroutine of atonce's (one running atonce code,
// or started by it) started since s that is still there, but those
// watching the child processes kept (by process id: the workers a cluster
// keeps between runs, say; childproc labels its goroutines). Goroutines
// that libraries start and end on their own schedule (a NATS client's)
// are not atonce's to wait for. A goroutine that told its owner it is done
// may still be returning, so Check waits up to Settle for the new
// goroutines to go; one that stays is a leak, and its stack is shown.
func (s Snapshot) Check(t testing.TB, kept ...int) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		left := s.left(kept)
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

// left returns atonce's goroutines started since s and still there.
func (s Snapshot) left(kept []int) []goroutine {
	var out []goroutine
	for _, g := range goroutines() {
		if s.ids[g.id] || !strings.Contains(g.stack, "atonce/") {
			continue
		}
		if slices.ContainsFunc(ignored, func(f string) bool { return strings.Contains(g.stack, f+"(") }) {
			continue
		}
		if pid, err := strconv.Atoi(g.labels[childproc.PIDLabel]); err == nil && slices.Contains(kept, pid) {
			continue
		}
		out = append(out, g)
	}
	return out
}

type goroutine struct {
	id     int
	labels map[string]string
	stack  string
}

var labelsOn sync.Once

// header is a goroutine's first line in a stack dump, with its labels
// (GODEBUG=tracebacklabels=1).
var header = regexp.MustCompile(`^goroutine (\d+) \[.*?(?: labels:(\{.*\}))?\]:`)

// goroutines lists every goroutine but the caller's. A goroutine that was
// started but never ran is not in a stack dump yet: it waits until the
// dump holds as many goroutines as exist.
func goroutines() []goroutine {
	labelsOn.Do(func() {
		// Show goroutine labels in stack dumps: childproc's say whose
		// process a goroutine watches.
		v := "tracebacklabels=1"
		if old := os.Getenv("GODEBUG"); old != "" {
			v = old + "," + v
		}
		os.Setenv("GODEBUG", v)
	})
	for tries := 0; ; tries++ {
		want := runtime.NumGoroutine()
		out := dump()
		if len(out)+1 >= want || tries == 1000 {
			return out
		}
		runtime.Gosched()
	}
}

func dump() []goroutine {
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
		m := header.FindSubmatch(block)
		if m == nil {
			continue
		}
		g := goroutine{stack: string(block)}
		g.id, _ = strconv.Atoi(string(m[1]))
		if len(m[2]) > 0 {
			_ = json.Unmarshal(m[2], &g.labels)
		}
		out = append(out, g)
	}
	return out
}
