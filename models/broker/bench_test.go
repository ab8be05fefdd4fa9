package broker

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"atonce/models/broker/natsserver"
)

// BenchmarkQueueRoundTrip measures one task's trip through the embedded
// server: publish → worker → result, with empty payloads, one task at a
// time. It reports the median and 99th percentile.
func BenchmarkQueueRoundTrip(b *testing.B) {
	s := startServer(b, natsserver.Options{})
	kernel := connect(b, s.URL(), s.Token())
	q, results := newQueue(b, kernel, QueueOptions{})
	startWorker(b, connect(b, s.URL(), s.Token()), q.Name(), "w",
		func(context.Context, string, []byte, int) ([]byte, error) { return nil, nil })
	ctx := context.Background()
	// Warm up: the worker is bound and the paths are hot.
	for i := range 100 {
		if err := q.Publish(ctx, fmt.Sprint("warm", i), nil); err != nil {
			b.Fatal(err)
		}
		<-results
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := q.Publish(ctx, fmt.Sprint("t", i), nil); err != nil {
			b.Fatal(err)
		}
		r := <-results
		lat = append(lat, time.Since(t0))
		if r.Err() != nil {
			b.Fatal(r.Err())
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkQueueThroughput measures empty tasks through the embedded
// server with 1, 2, 4 and 8 workers in this process, each on its own
// connection: a run publishes 2,000 tasks in one stream (PublishAsync)
// and waits for every result. It reports tasks/s, the median over the
// runs.
func BenchmarkQueueThroughput(b *testing.B) {
	const n = 2000
	for _, workers := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s := startServer(b, natsserver.Options{})
			kernel := connect(b, s.URL(), s.Token())
			q, results := newQueue(b, kernel, QueueOptions{})
			for k := range workers {
				startWorker(b, connect(b, s.URL(), s.Token()), q.Name(), fmt.Sprint("w", k),
					func(context.Context, string, []byte, int) ([]byte, error) { return nil, nil })
			}
			ctx := context.Background()
			var rates []float64
			for run := 0; b.Loop(); run++ {
				t0 := time.Now()
				for i := range n {
					if err := q.PublishAsync(fmt.Sprintf("r%d.%d", run, i), nil); err != nil {
						b.Fatal(err)
					}
				}
				if err := q.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				for range n {
					if r := <-results; r.Err() != nil {
						b.Fatal(r.Err())
					}
				}
				rates = append(rates, n/time.Since(t0).Seconds())
			}
			slices.Sort(rates)
			b.ReportMetric(rates[len(rates)/2], "tasks/s")
		})
	}
}
