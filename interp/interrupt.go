package interp

import (
	"bufio"
	"bytes"
	"context"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"atonce/internal/enginemsg"
	"atonce/models"
)

// sleep replaces time.Sleep in cells: yaegi cannot cancel a host call, so
// this one also returns when the session is interrupted. It is the
// notebook's await point: during a concurrency model's run,
// models.Sleep yields the event loop (or, under the GIL model, the
// processor) while it sleeps.
func (s *Session) sleep(d time.Duration) {
	s.intrMu.Lock()
	intr := s.intr
	s.intrMu.Unlock()
	_ = models.Sleep(interruptContext{intr}, d)
}

// interruptContext is a context that is done when the session is
// interrupted; cheaper than a context.WithCancel per sleep.
type interruptContext struct{ done <-chan struct{} }

func (c interruptContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c interruptContext) Done() <-chan struct{}       { return c.done }
func (c interruptContext) Value(any) any               { return nil }
func (c interruptContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// interrupt wakes every sleep in progress, and makes every sleep that
// starts afterwards return at once, until resume: a task that begins a
// sleep just after the interrupt (a %%models run's next task, say) must
// not sleep its full length either.
func (s *Session) interrupt() {
	s.intrMu.Lock()
	defer s.intrMu.Unlock()
	if !s.intrDown {
		close(s.intr)
		s.intrDown = true
	}
}

// resume lets sleeps sleep again after an interrupt.
func (s *Session) resume() {
	s.intrMu.Lock()
	defer s.intrMu.Unlock()
	if s.intrDown {
		s.intr = make(chan struct{})
		s.intrDown = false
	}
}

// Resume ends the effect of Stop on sleeps: the host calls it once the
// stopped work is over (the engine after each request, a worker after
// each task), so goroutines a cell left running sleep as they should.
func (s *Session) Resume() {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed {
		s.resume()
	}
}

// interrupted finishes a run whose context was cancelled: it wakes
// sleepers, gives the run's goroutines stuckWait to stop and reports.
func (s *Session) interrupted(label int64) Result {
	s.interrupt()
	s.debugInterrupted()
	stuck := true
	deadline := time.Now().Add(stuckWait)
	for {
		if labelled(label) == 0 {
			stuck = false
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.resume()
	s.SyncOutput()
	s.stderr.takePanics()
	tb := []string{"Interrupted: the cell was stopped before it finished."}
	if stuck {
		tb = append(tb, "Some of its goroutines are blocked in a call that cannot be cancelled.")
	}
	return Result{
		Err:         &enginemsg.Error{Name: "Interrupted", Value: "the cell was interrupted", Traceback: tb},
		Interrupted: true,
		Stuck:       stuck,
	}
}

// labelled counts the live goroutines carrying label.
func labelled(label int64) int {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return 0
	}
	return countLabelled(&buf, labelKey, strconv.FormatInt(label, 10))
}

// countLabelled reads a goroutine profile in its debug=1 text form and
// counts the goroutines that carry label key=value (key with any value
// when value is "").
func countLabelled(profile *bytes.Buffer, key, value string) int {
	want := strconv.Quote(key) + ":" + strconv.Quote(value)
	if value == "" {
		want = strconv.Quote(key) + ":"
	}
	total, count := 0, 0
	sc := bufio.NewScanner(profile)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if n, rest, ok := strings.Cut(line, " @ "); ok && rest != "" {
			count, _ = strconv.Atoi(n)
			continue
		}
		if labels, ok := strings.CutPrefix(line, "# labels: "); ok && containsLabel(labels, want) {
			total += count
		}
	}
	return total
}

// containsLabel tells whether labels, as {"k":"v", "k2":"v2"}, holds kv
// (any value of the key when kv ends with the colon).
func containsLabel(labels, kv string) bool {
	labels = strings.TrimSuffix(strings.TrimPrefix(labels, "{"), "}")
	anyValue := strings.HasSuffix(kv, ":")
	for l := range strings.SplitSeq(labels, ", ") {
		if l == kv || anyValue && strings.HasPrefix(l, kv) {
			return true
		}
	}
	return false
}
