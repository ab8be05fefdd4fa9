package modelrun

import (
	"strings"
	"sync"
	"testing"
	"time"

	"atonce/internal/enginemsg"
	"atonce/interp/magic"
)

// lines is a magic.Env that records the progress line's texts; the
// progress line uses only Display and Update.
type lines struct {
	magic.Env
	mu    sync.Mutex
	texts []string
}

func (l *lines) Display(b enginemsg.Bundle) string { l.Update("id", b, nil); return "id" }

func (l *lines) Update(_ string, b enginemsg.Bundle, _ map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.texts = append(l.texts, b["text/plain"].(string))
}

func (l *lines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.texts, "\n")
}

func TestProgressSaysWhenNothingFinishes(t *testing.T) {
	defer func(old time.Duration) { stallAfter = old }(stallAfter)
	stallAfter = 100 * time.Millisecond
	env := &lines{}
	p := newProgress(env, Spec{Models: []string{"eventloop"}, N: 4})
	p.update("eventloop", 1, 4)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(env.all(), "no task has finished") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.finish(nil, time.Second, nil)
	got := env.all()
	if !strings.Contains(got, "eventloop, 1 of 4 tasks done; no task has finished for") || !strings.Contains(got, "interrupt to stop") {
		t.Fatalf("progress lines:\n%s\nwant one saying that no task has finished", got)
	}
	time.Sleep(300 * time.Millisecond)
	if after := env.all(); after != got {
		t.Errorf("the watchdog redrew the line after finish: %q", strings.TrimPrefix(after, got))
	}
	if strings.Count(got, "no task has finished") != 1 {
		t.Errorf("one stall, one message; got:\n%s", got)
	}
}
