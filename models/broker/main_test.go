package broker

import (
	"os"
	"testing"

	"atonce/internal/scratch"
)

// TestMain removes the scratch directory the servers' stores were made
// in.
func TestMain(m *testing.M) {
	code := m.Run()
	scratch.Remove()
	os.Exit(code)
}
