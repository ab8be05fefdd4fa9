package crash

import (
	"strings"
	"testing"
)

func TestExplainExit(t *testing.T) {
	for _, tt := range []struct {
		name string
		tail []string
		want string
	}{
		{"fatal", []string{"noise", "fatal error: concurrent map writes", "", "goroutine 1 [running]:"}, "fatal error: concurrent map writes"},
		{"panic", []string{"panic: boom", "", "goroutine 5 [running]:"}, "panic: boom"},
		{"stack", []string{"runtime: goroutine stack exceeds 536870912-byte limit", "fatal error: stack overflow"}, "stack overflow"},
		{"silent exit", nil, "status 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := Explain("the engine", nil, tt.tail)
			if !strings.Contains(got, tt.want) {
				t.Errorf("Explain got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestRecorderKeepsTheCrashStart(t *testing.T) {
	var r Recorder
	r.Keep("log line")
	r.Keep("runtime: goroutine stack exceeds 1000-byte limit")
	for i := 0; i < 5000; i++ {
		r.Keep("frame")
	}
	lines := r.Lines()
	if lines[0] != "runtime: goroutine stack exceeds 1000-byte limit" {
		t.Fatalf("first kept line %q, want the crash report's start", lines[0])
	}
	if len(lines) > maxHead+maxTail {
		t.Errorf("kept %d lines, want at most %d", len(lines), maxHead+maxTail)
	}
	if got, _ := Explain("worker 1", nil, lines); !strings.Contains(got, "stack overflow") {
		t.Errorf("Explain = %q, want a stack overflow", got)
	}
}
