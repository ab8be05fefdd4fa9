package cputime

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// burn spends about d of this process's CPU time.
func burn(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		for i := range 10000 {
			x += i
		}
	}
	runtime.KeepAlive(x)
}

// TestCPUTimeGrows checks that each reading grows while this process
// computes.
func TestCPUTimeGrows(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("every figure is read on Linux; elsewhere some are 0")
	}
	pid := os.Getpid()
	for _, tt := range []struct {
		name string
		read func() time.Duration
	}{
		{"Self", Self},
		{"Process", func() time.Duration { return Process(pid) }},
		{"Machine", Machine},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.read()
			burn(100 * time.Millisecond)
			after := tt.read()
			// Linux counts in ticks of 10 ms: 100 ms of work shows.
			if after <= before {
				t.Errorf("got %v after 100 ms of work, want more than %v", after, before)
			}
		})
	}
}
