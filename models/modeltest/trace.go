package modeltest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"golang.org/x/exp/trace"
)

// ReadTrace reads data, an execution trace as a run keeps it
// (models.RunTrace), to its end with Go's trace reader, as `go tool
// trace` does, failing t if it does not read; it returns how many user
// regions of each type began in it ("atonce.run": one per task).
func ReadTrace(t *testing.T, data []byte) map[string]int {
	t.Helper()
	rd, err := trace.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the kept trace (%d bytes) does not read: %v", len(data), err)
	}
	regions := map[string]int{}
	for {
		ev, err := rd.ReadEvent()
		if errors.Is(err, io.EOF) {
			return regions
		}
		if err != nil {
			t.Fatalf("the kept trace (%d bytes) breaks off: %v", len(data), err)
		}
		if ev.Kind() == trace.EventRegionBegin {
			regions[ev.Region().Type]++
		}
	}
}
