package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"atonce/models/broker/natsserver"
)

// TestConfirmWaitCountsFromPublishing has a worker wait for results the
// server never confirms (their subject has a listener that never
// answers, as a results stream whose leader died): each wait ends
// confirmWait after its result was published, not confirmWait after the
// wait began, so that results lost together are published again
// together — waited one after another, 76 results lost in a leader's
// death kept a run waiting 10 s each.
func TestConfirmWaitCountsFromPublishing(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	c := connect(t, s.URL(), s.Token())
	silent, err := c.nc.Subscribe("atonce.silent", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Unsubscribe()
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	w := &worker{conn: c, stopping: make(chan struct{})}
	tests := []struct {
		name  string
		sent  time.Duration // when the result was published, before now
		below time.Duration // the wait must end within this
	}{
		{"published a confirmWait ago", confirmWait, confirmWait / 5},
		{"published long ago", 10 * confirmWait, confirmWait / 5},
		{"published a little less than a confirmWait ago", confirmWait - 200*time.Millisecond, confirmWait / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := c.js.PublishMsgAsync(&nats.Msg{Subject: "atonce.silent", Data: []byte("result")})
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			err = w.confirmed(f, began.Add(-tt.sent))
			if err == nil || !strings.Contains(err.Error(), "did not confirm") {
				t.Errorf("got %v, want the server not confirming the result", err)
			}
			if took := time.Since(began); took > tt.below {
				t.Errorf("the wait took %s, want under %s: it counts from publishing", took, tt.below)
			}
		})
	}
}
