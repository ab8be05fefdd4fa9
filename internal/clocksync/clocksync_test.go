package clocksync

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// clock is another clock: this one's, ahead by skew, answering after
// delay.
func clock(skew, delay time.Duration) Ask {
	return func(context.Context) (int64, error) {
		time.Sleep(delay)
		now := time.Now().Add(skew).UnixNano()
		time.Sleep(delay)
		return now, nil
	}
}

func TestMeasure(t *testing.T) {
	for _, tt := range []struct {
		name        string
		skew, delay time.Duration
	}{
		{"same clock", 0, 0},
		{"5 s ahead", 5 * time.Second, 0},
		{"3 ms behind, 1 ms each way", -3 * time.Millisecond, time.Millisecond},
		{"an hour ahead", time.Hour, 200 * time.Microsecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Measure(t.Context(), 0, clock(tt.skew, tt.delay))
			if err != nil {
				t.Fatal(err)
			}
			if !o.Measured() {
				t.Fatalf("got %v, want a measured offset", o)
			}
			if diff := (o.Offset - tt.skew).Abs(); diff > o.Uncertainty {
				t.Errorf("got offset %v, want %v within its uncertainty %v", o, tt.skew, o.Uncertainty)
			}
			if o.Uncertainty < tt.delay {
				t.Errorf("got uncertainty %v, want at least the %v each way of every trip", o.Uncertainty, tt.delay)
			}
			// The other clock's now is this clock's now.
			now := time.Now()
			if back := o.Local(now.Add(tt.skew).UnixNano()); back.Sub(now).Abs() > o.Uncertainty {
				t.Errorf("Local(now on the other clock) = %v, want %v within %v", back, now, o.Uncertainty)
			}
		})
	}
}

// TestMeasureKeepsTheQuickest: one slow round trip among quick ones does
// not decide the offset.
func TestMeasureKeepsTheQuickest(t *testing.T) {
	n := 0
	ask := func(context.Context) (int64, error) {
		n++
		if n == 1 {
			// A slow answer, read at the very start of a 200 ms trip: its
			// midpoint estimate would be 100 ms off.
			now := time.Now().UnixNano()
			time.Sleep(200 * time.Millisecond)
			return now, nil
		}
		return time.Now().UnixNano(), nil
	}
	o, err := Measure(t.Context(), 4, ask)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("asked %d times, want 4", n)
	}
	if o.Uncertainty >= 100*time.Millisecond || o.Offset.Abs() > o.Uncertainty {
		t.Errorf("got %v, want a quick trip's offset: 0 within under 100 ms", o)
	}
}

func TestMeasureFails(t *testing.T) {
	broken := errors.New("the worker is gone")
	if _, err := Measure(t.Context(), 3, func(context.Context) (int64, error) { return 0, broken }); !errors.Is(err, broken) {
		t.Errorf("a failing question: got %v, want %v", err, broken)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Measure(ctx, 3, clock(0, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("a done context: got %v, want context.Canceled", err)
	}
}

func TestOffsetString(t *testing.T) {
	got := Offset{Offset: 1204 * time.Microsecond, Uncertainty: 31 * time.Microsecond}.String()
	if want := "+1.204 ms ± 0.031 ms"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var zero Offset
	if zero.Measured() || !strings.HasPrefix(zero.String(), "+0.000") {
		t.Errorf("the zero Offset: Measured %v, String %q; want false, +0.000 ms", zero.Measured(), zero.String())
	}
}
