package native

import (
	"strings"
	"testing"

	"atonce/models/workermsg"
)

// TestRelayPass feeds the relay's reader chunks as a pipe may cut them:
// the text passes whole (characters never split), the marks are taken
// out and wake their Sync, NULs of the tasks' own pass.
func TestRelayPass(t *testing.T) {
	for _, tt := range []struct {
		name   string
		chunks []string
		want   string
		woken  []int
	}{
		{"text", []string{"hello\n", "world\n"}, "hello\nworld\n", nil},
		{"a mark", []string{"a" + syncMark + "0\x00b"}, "ab", []int{0}},
		{"a mark cut in its prefix", []string{"a\x00atonce-sy", "nc-1\x00b"}, "ab", []int{1}},
		{"a mark cut in its number", []string{"a" + syncMark + "1", "2\x00"}, "a", []int{12}},
		{"two marks", []string{syncMark + "0\x00x" + syncMark + "1\x00"}, "x", []int{0, 1}},
		{"a NUL of the task's", []string{"a\x00b"}, "a\x00b", nil},
		{"a character cut short", []string{"caf\xc3", "\xa9 \xe2\x82", "\xac"}, "café €", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got strings.Builder
			rl := &relay{
				send: func(o workermsg.Output) {
					if o.Stream != "stdout" || !strings.HasPrefix(tt.want[got.Len():], o.Text) && o.Text != "" {
						t.Errorf("sent %+v after %q", o, got.String())
					}
					got.WriteString(o.Text)
				},
				waiting: map[int]chan struct{}{},
			}
			chans := map[int]chan struct{}{}
			for _, n := range tt.woken {
				chans[n] = make(chan struct{})
				rl.waiting[n] = chans[n]
			}
			var pending []byte
			for _, c := range tt.chunks {
				pending = rl.pass(append(pending, c...))
			}
			if got.String() != tt.want || len(pending) != 0 {
				t.Errorf("passed %q, left %q; want %q, nothing left", got.String(), pending, tt.want)
			}
			for n, ch := range chans {
				select {
				case <-ch:
				default:
					t.Errorf("the Sync of mark %d was not woken", n)
				}
			}
		})
	}
}
