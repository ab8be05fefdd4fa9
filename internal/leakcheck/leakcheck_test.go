package leakcheck

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"atonce/internal/childproc"
)

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func blockedOn(ch chan struct{}) { <-ch }

func TestCheck(t *testing.T) {
	settle = 100 * time.Millisecond
	defer func() { settle = Settle }()
	for _, tt := range []struct {
		name  string
		start func(release chan struct{}) // starts the goroutines under test
		kept  []int
		want  bool // a leak reported
	}{
		{"none", func(chan struct{}) {}, nil, false},
		{"ended", func(chan struct{}) {
			done := make(chan struct{})
			go func() { close(done) }()
			<-done
		}, nil, false},
		{"left blocked", func(release chan struct{}) { go blockedOn(release) }, nil, true},
		{"two left", func(release chan struct{}) { go blockedOn(release); go blockedOn(release) }, nil, true},
		{"watching a kept process", func(release chan struct{}) {
			go func() {
				pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(childproc.PIDLabel, "4242")))
				blockedOn(release)
			}()
		}, []int{4242}, false},
		{"watching another process", func(release chan struct{}) {
			go func() {
				pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(childproc.PIDLabel, "4243")))
				blockedOn(release)
			}()
		}, []int{4242}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			snap := Goroutines()
			tt.start(release)
			r := &recorder{TB: t}
			snap.Check(r, tt.kept...)
			if got := len(r.errors) > 0; got != tt.want {
				t.Errorf("Check reported a leak: %v, want %v:\n%s", got, tt.want, strings.Join(r.errors, "\n"))
			}
			close(release)
			snap.Check(t) // released, they end
		})
	}
}

func TestChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	p, err := childproc.Start(childproc.Spec{Command: []string{"sleep", "60"}})
	if err != nil {
		t.Skip("no sleep command:", err)
	}
	kids, err := Children()
	if err != nil || !containsInt(kids, p.PID()) {
		t.Errorf("Children() = %v, %v; want it to hold %d", kids, err, p.PID())
	}
	if !Alive(p.PID()) {
		t.Errorf("Alive(%d) = false for a running child", p.PID())
	}
	pid := p.PID()
	p.Kill()
	if err := WaitGone(pid, 10*time.Second); err != nil {
		t.Error(err)
	}
	p.Wait()
	kids, _ = Children()
	if containsInt(kids, pid) || Alive(pid) {
		t.Errorf("after Wait, Children() = %v, Alive = %v; want %d gone", kids, Alive(pid), pid)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
