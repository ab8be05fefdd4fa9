package interp

import (
	"strings"
	"sync/atomic"
	"testing"
)

// feed runs chunks through a stream's processing, as if read from its
// pipe one after the other, and returns what was delivered, the syncs
// seen and the panic lines taken out.
func feed(chunks []string, filter bool) (out string, syncs int, panics []string) {
	var b strings.Builder
	st := &stream{
		name: "stderr", sentinel: []byte("\x00SYNC\x00"), quiet: new(atomic.Bool),
		emit:   func(_, text string) { b.WriteString(text) },
		synced: make(chan struct{}, 100), filter: filter,
	}
	var pending []byte
	for _, c := range chunks {
		pending = st.process(append(pending, c...))
	}
	st.deliver(pending)
	return b.String(), len(st.synced), st.takePanics()
}

func TestStreamProcess(t *testing.T) {
	const pl = "7000002:5: panic: main.f(...)"
	for _, tt := range []struct {
		name       string
		chunks     []string
		filter     bool
		wantOut    string
		wantSyncs  int
		wantPanics int
	}{
		{"plain", []string{"a\n", "b"}, false, "a\nb", 0, 0},
		{"sentinel stripped", []string{"a\x00SYNC\x00b"}, false, "ab", 1, 0},
		{"sentinel split over reads", []string{"a\x00SY", "NC\x00b"}, false, "ab", 1, 0},
		{"almost a sentinel", []string{"a\x00SY", "x"}, false, "a\x00SYx", 0, 0},
		{"two syncs", []string{"\x00SYNC\x00\x00SYNC\x00"}, false, "", 2, 0},
		{"panic line taken out", []string{"x\n" + pl + "\ny\n"}, true, "x\ny\n", 0, 1},
		{"panic line kept without filter", []string{pl + "\n"}, false, pl + "\n", 0, 0},
		{"panic line split over reads", []string{"x\n7000002:5: pa", "nic: main.f(...)\n"}, true, "x\n", 0, 1},
		{"panic line before sync", []string{pl + "\n\x00SYNC\x00"}, true, "", 1, 1},
		{"panic-like text kept", []string{"1:2: panic: not from yaegi\n"}, true, "1:2: panic: not from yaegi\n", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, syncs, panics := feed(tt.chunks, tt.filter)
			if out != tt.wantOut || syncs != tt.wantSyncs || len(panics) != tt.wantPanics {
				t.Errorf("got %q, %d syncs, panics %q; want %q, %d syncs, %d panics",
					out, syncs, panics, tt.wantOut, tt.wantSyncs, tt.wantPanics)
			}
		})
	}
}

func TestMayBePanicLine(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"7", true},
		{"7000002:", true},
		{"7000002:5", true},
		{"7000002:5:", true},
		{"7000002:5: ", true},
		{"7000002:5: pan", true},
		{"7000002:5: panic: main.f(", true},
		{"_.go:7:5: panic: x", true},
		{"_.g", true},
		{"progress...", false},
		{"7000002:5: oops", false},
		{"7000002:5: panic: two words", false},
		{"Enter your name: ", false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := mayBePanicLine(tt.in); got != tt.want {
				t.Errorf("mayBePanicLine(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc… (3 more characters)"},
		{"ééé", 2, "éé… (1 more character)"},
	} {
		t.Run(tt.in, func(t *testing.T) {
			if got := truncate(tt.in, tt.max); got != tt.want {
				t.Errorf("truncate(%q, %d): got %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}
