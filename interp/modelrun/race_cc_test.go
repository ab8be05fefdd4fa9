package modelrun

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestCheckCCompiler: without the C compiler cgo calls, -race says what
// to install instead of failing inside go build.
func TestCheckCCompiler(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	tests := []struct {
		name    string
		cc      string
		wantErr string // "" for no error
	}{
		{"compiler on PATH", "sh", ""},
		{"compiler by absolute path", sh, ""},
		{"compiler with flags", "sh -x", ""},
		{"missing compiler", "atonce-no-such-cc", "there is no atonce-no-such-cc on PATH: on Debian: apt-get install gcc libc6-dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CC", tt.cc)
			err := checkCCompiler(context.Background(), goBin)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CC=%q: got %v, want no error", tt.cc, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CC=%q: got %v, want an error containing %q", tt.cc, err, tt.wantErr)
			}
		})
	}
}
