package modelrun_test

import (
	"os"
	"path/filepath"
	"testing"

	"atonce/internal/scratch"
	"atonce/interp/modelrun"
)

// TestPruneRaceCache: the cache keeps this build's race-detector worker
// and builds in progress by live engines; other builds and half-done
// builds of dead engines go.
func TestPruneRaceCache(t *testing.T) {
	root := t.TempDir()
	live, dead := scratch.Owner(), "999999999-1"
	files := map[string]bool{ // path → kept
		"race-current/atonce":                      true,
		"race-current/atonce-" + live + "-1.tmp":   true,
		"race-current/atonce-" + dead + "-2.tmp":   false,
		"race-old/atonce":                          false,
		"race-building/atonce-" + live + "-3.tmp":  true,
		"race-abandoned/atonce-" + dead + "-4.tmp": false,
		"race-older/atonce-123456.tmp":             true, // an older atonce's build: owner unknown
	}
	for f := range files {
		path := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	modelrun.PruneRaceCacheForTest(root, "race-current")
	for f, kept := range files {
		_, err := os.Stat(filepath.Join(root, f))
		if got := err == nil; got != kept {
			t.Errorf("%s: kept = %v, want %v", f, got, kept)
		}
	}
	for _, d := range []string{"race-old", "race-abandoned"} {
		if _, err := os.Stat(filepath.Join(root, d)); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want the directory removed", d, err)
		}
	}
}
