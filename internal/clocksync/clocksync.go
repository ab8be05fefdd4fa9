// Package clocksync measures how far another process's clock is from
// this one's, the way NTP does: ask the other side its time a few times,
// note when each question left and its answer came back, and keep the
// quickest round trip, whose answer was read closest to the middle of
// the trip. A worker's times (when a task started and ended, its traced
// states, when it loaded the notebook) are then put on the engine's
// clock with the offset. Workers on this machine share its clock, and
// their offset comes out within its uncertainty of zero; a worker on
// another machine may be milliseconds off, or more without NTP.
package clocksync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Rounds is how many round trips Measure makes by default: enough that
// one of them is quick on a loaded machine, few enough to cost about a
// millisecond on one.
const Rounds = 8

// Offset is how far another clock is ahead of this one.
type Offset struct {
	// Offset is the other clock's reading less this one's at the same
	// moment, as measured.
	Offset time.Duration
	// Uncertainty is half the quickest round trip: the true offset lies
	// within Offset ± Uncertainty, however the trip was split between
	// going and coming back. 0 means not measured.
	Uncertainty time.Duration
}

// Measured tells whether o was measured (the zero Offset was not).
func (o Offset) Measured() bool { return o.Uncertainty > 0 }

// Local returns the moment the other clock read as t (Unix nanoseconds
// on it) on this clock.
func (o Offset) Local(t int64) time.Time { return time.Unix(0, t-int64(o.Offset)) }

// String is e.g. "+1.204 ms ± 0.031 ms".
func (o Offset) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("%+.3f ms ± %.3f ms", ms(o.Offset), ms(o.Uncertainty))
}

// Ask asks the other side its time once and returns its answer, in Unix
// nanoseconds on its clock.
type Ask func(ctx context.Context) (int64, error)

// Measure asks rounds times (Rounds if rounds <= 0), one after the
// other, and returns the offset of the quickest round trip: the answer
// less the midpoint of the trip on this clock, give or take half the
// trip. It stops at the first failed question, or when ctx is done, with
// an error that says so.
func Measure(ctx context.Context, rounds int, ask Ask) (Offset, error) {
	if rounds <= 0 {
		rounds = Rounds
	}
	var best Offset
	for range rounds {
		if err := ctx.Err(); err != nil {
			return Offset{}, fmt.Errorf("measuring the clock offset: %w", err)
		}
		t0 := time.Now()
		remote, err := ask(ctx)
		t1 := time.Now()
		if err != nil {
			return Offset{}, fmt.Errorf("measuring the clock offset: %w", err)
		}
		rtt := t1.Sub(t0) // monotonic
		if rtt <= 0 {
			rtt = 1 // a clock too coarse to see the trip
		}
		half := (rtt + 1) / 2
		mid := t0.UnixNano() + int64(rtt/2)
		if !best.Measured() || half < best.Uncertainty {
			best = Offset{Offset: time.Duration(remote - mid), Uncertainty: half}
		}
	}
	if !best.Measured() {
		return Offset{}, errors.New("measuring the clock offset: no round trip")
	}
	return best, nil
}
