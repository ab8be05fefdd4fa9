package native

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// build generates and builds cells.
func build(b *testing.B, bl *Builder, cells []string) *Binary {
	_, bin := generateBuild(b, bl, cells, "work", Options{})
	return bin
}

// withSeed is the notebook with its last cell changed.
func withSeed(cells []string, seed int) []string {
	c := slices.Clone(cells)
	c[len(c)-1] = strings.Replace(c[len(c)-1], "const seed = 0", fmt.Sprintf("const seed = %d", seed), 1)
	return c
}

// modelsCell makes the program import atonce/models, as a runtime that
// imports it would: the link then carries NATS.
const modelsCell = "import \"atonce/models\"\n\nfunc span() models.Span { return models.Span{} }"

// BenchmarkBuild measures what a native run costs before its first task
// can start:
//
//   - unchanged: the notebook run again (the same Builder: nothing to do);
//   - unchanged-restarted: the same with a new Builder (a restarted
//     kernel: the generated program and the binary are found in the cache
//     directory, no go command runs);
//   - changed-cell: one cell changed (a generation, one package compiled,
//     a link), with the build cache warm;
//   - changed-cell-models: the same for a program that imports
//     atonce/models (and so NATS), for the link's weight;
//   - new-builder: a new Builder and cache directory (the export data of
//     the imports looked up: go list), the build cache warm;
//   - cold, cold-models: an empty Go build cache (ATONCE_BENCH_COLD=1
//     only: minutes).
func BenchmarkBuild(b *testing.B) {
	nb := cells(b, "bench.cells")
	b.Run("unchanged", func(b *testing.B) {
		bl := newBuilder(b)
		build(b, bl, nb)
		for b.Loop() {
			if !build(b, bl, nb).Cached {
				b.Fatal("not cached")
			}
		}
	})
	b.Run("unchanged-restarted", func(b *testing.B) {
		first := newBuilder(b)
		build(b, first, nb)
		for b.Loop() {
			bl := &Builder{SourceDir: first.SourceDir, CacheDir: first.CacheDir}
			if !build(b, bl, nb).Cached || bl.goRuns.Load() != 0 {
				b.Fatal("not cached")
			}
		}
	})
	for _, tt := range []struct {
		name  string
		cells []string
	}{
		{"changed-cell", nb},
		{"changed-cell-models", append([]string{modelsCell}, nb...)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			bl := newBuilder(b)
			bin := build(b, bl, tt.cells)
			seed := 0
			cpu := childCPU()
			for b.Loop() {
				seed++
				bin = build(b, bl, withSeed(tt.cells, seed))
			}
			// The go command's CPU time, compiler and linker included:
			// what the build costs on an idle machine, whatever the load.
			b.ReportMetric((childCPU()-cpu).Seconds()/float64(b.N), "cpu-s/op")
			if fi, err := os.Stat(bin.Path); err == nil {
				b.ReportMetric(float64(fi.Size())/1e6, "MB-binary")
			}
		})
	}
	b.Run("new-builder", func(b *testing.B) {
		seed := 0
		cpu := childCPU()
		for b.Loop() {
			seed++
			build(b, newBuilder(b), withSeed(nb, seed))
		}
		b.ReportMetric((childCPU()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	})
	for _, tt := range []struct {
		name  string
		cells []string
	}{
		{"cold", nb},
		{"cold-models", append([]string{modelsCell}, nb...)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			if os.Getenv("ATONCE_BENCH_COLD") == "" {
				b.Skip("set ATONCE_BENCH_COLD=1: builds the standard library and atonce's dependencies from nothing")
			}
			cpu := childCPU()
			for b.Loop() {
				b.Setenv("GOCACHE", b.TempDir())
				build(b, newBuilder(b), tt.cells)
			}
			b.ReportMetric((childCPU()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
