package workerserve

import "atonce/models/workermsg"

// maxStateSpans bounds the state spans a result carries: a task that
// sleeps in a loop for seconds has thousands, and a result must fit in
// one NATS message (1 MB by default; a span takes about 80 bytes of
// JSON). A chart draws a task in a few hundred pixels at most, so spans
// shorter than it can show lose nothing a user sees.
const maxStateSpans = 2000

// coarsen returns spans with at most limit spans: while there are more,
// each span shorter than a resolution (doubling from 1 µs) is folded into
// the span before it, which then ends where it ended, and neighbours of
// one state and kind are joined. The spans still cover the same time, in
// order; only the finest detail goes.
func coarsen(spans []workermsg.Span, limit int) []workermsg.Span {
	for res := int64(1000); len(spans) > limit; res *= 2 {
		out := spans[:0:0]
		for _, sp := range spans {
			if n := len(out); n > 0 {
				last := &out[n-1]
				if sp.End-sp.Start < res || last.State == sp.State && last.Kind == sp.Kind {
					last.End = sp.End
					continue
				}
			}
			out = append(out, sp)
		}
		spans = out
	}
	return spans
}
