package models

import (
	"testing"

	"golang.org/x/exp/trace"
)

// TestClassify: a goroutine's state, reason and regions, as the reader
// tracks them, map to a span's state and kind; the GC mark assist, which
// no test can provoke without timing luck, among them.
func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		name      string
		g         goroutine
		gil       bool
		running   int // tasks on a CPU, the goroutine's own included
		state     string
		kind      string
		wantLabel string
	}{
		{"running", goroutine{state: trace.GoRunning}, false, 1, Running, "", "running"},
		{"assisting the collector", goroutine{state: trace.GoRunning, assist: true}, false, 1, Running, KindGCAssist, "GC assist"},
		{"runnable", goroutine{state: trace.GoRunnable}, false, 1, Waiting, KindCPU, "waiting for a CPU"},
		{"runnable in a gil run, another task running", goroutine{state: trace.GoRunnable}, true, 1, Waiting, KindGIL, "waiting for the GIL"},
		{"runnable in a gil run, no task running", goroutine{state: trace.GoRunnable}, true, 0, Waiting, KindCPU, "waiting for a CPU"},
		{"waiting for the loop", goroutine{state: trace.GoRunning, await: 1, loopWait: 1}, false, 1, Waiting, KindLoop, "waiting for the event loop"},
		{"runnable at an await", goroutine{state: trace.GoRunnable, await: 1}, true, 1, Waiting, KindGIL, "waiting for the GIL"},
		{"blocked at an await", goroutine{state: trace.GoWaiting, reason: "select", await: 1}, false, 0, Blocked, KindAwait, "blocked at an await (sleep, I/O)"},
		{"bookkeeping at an await", goroutine{state: trace.GoRunning, await: 1}, false, 1, Blocked, KindAwait, "blocked at an await (sleep, I/O)"},
		{"in a syscall", goroutine{state: trace.GoSyscall}, false, 0, Blocked, KindSyscall, "in a syscall"},
		{"mutex", goroutine{state: trace.GoWaiting, reason: "sync"}, false, 0, Blocked, KindMutex, "blocked on a mutex (sync)"},
		{"cond", goroutine{state: trace.GoWaiting, reason: "sync.(*Cond).Wait"}, false, 0, Blocked, KindMutex, "blocked on a mutex (sync)"},
		{"send", goroutine{state: trace.GoWaiting, reason: "chan send"}, false, 0, Blocked, KindChannel, "blocked on a channel"},
		{"receive", goroutine{state: trace.GoWaiting, reason: "chan receive"}, false, 0, Blocked, KindChannel, "blocked on a channel"},
		{"select", goroutine{state: trace.GoWaiting, reason: "select"}, false, 0, Blocked, KindSelect, "blocked in a select"},
		{"time.Sleep", goroutine{state: trace.GoWaiting, reason: "sleep"}, false, 0, Blocked, KindSleep, "sleeping (not at an await)"},
		{"network", goroutine{state: trace.GoWaiting, reason: "network"}, false, 0, Blocked, KindIO, "blocked on I/O (not at an await)"},
		{"runtime.GC", goroutine{state: trace.GoWaiting, reason: "wait until GC ends"}, false, 0, Blocked, KindGC, "blocked by the GC"},
		{"assist waiting for work", goroutine{state: trace.GoWaiting, reason: "GC mark assist wait for work"}, false, 0, Blocked, KindGC, "blocked by the GC"},
		{"stack scan", goroutine{state: trace.GoWaiting, reason: "preempted"}, false, 0, Blocked, KindGC, "blocked by the GC"},
		{"forever", goroutine{state: trace.GoWaiting, reason: "forever"}, false, 0, Blocked, KindOther, "blocked (other)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			one := ""
			if tt.gil {
				one = KindGIL
			}
			s := newStateReader(1, one)
			s.running = tt.running
			state, kind := s.classify(&tt.g)
			if state != tt.state || kind != tt.kind {
				t.Errorf("classify(%+v) = %q, %q; want %q, %q", tt.g, state, kind, tt.state, tt.kind)
			}
			if got := StateLabel(state, kind); got != tt.wantLabel {
				t.Errorf("StateLabel(%q, %q) = %q, want %q", state, kind, got, tt.wantLabel)
			}
		})
	}
}

// TestStateLabelOld: spans from before kinds keep their words.
func TestStateLabelOld(t *testing.T) {
	for _, tt := range []struct{ state, kind, want string }{
		{Running, "", "running"},
		{Waiting, "", "waiting for the lock or a CPU"},
		{Blocked, "", "blocked"},
		{Blocked, "new kind", "blocked (new kind)"},
	} {
		if got := StateLabel(tt.state, tt.kind); got != tt.want {
			t.Errorf("StateLabel(%q, %q) = %q, want %q", tt.state, tt.kind, got, tt.want)
		}
	}
}
