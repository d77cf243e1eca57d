package dataset_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/eval/dataset/synth"
	"github.com/rca-tool/rca/internal/peakmem"
)

// BenchmarkLoadScale is the decode of a generated case alone (case.json and
// a wide metrics.csv of 1k, 10k and 50k series x 720 points): ns per
// series, allocations, and the peak live heap while loading, which is
// about the bundle itself when the loader streams. README, Performance.
func BenchmarkLoadScale(b *testing.B) {
	for _, services := range []int{100, 1_000, 5_000} {
		spec := synth.Spec{Services: services, Metrics: 10, Points: 720, Seed: 1}
		b.Run(fmt.Sprintf("series=%d", spec.Series()), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "case")
			if err := synth.WriteCase(context.Background(), dir, spec); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			s := peakmem.Start()
			cpu := peakmem.CPUTime()
			for b.Loop() {
				c, err := dataset.Load(context.Background(), dir)
				if err != nil {
					b.Fatal(err)
				}
				if len(c.Bundle.Series) != spec.Series() {
					b.Fatalf("%d series loaded, want %d", len(c.Bundle.Series), spec.Series())
				}
			}
			cpu = peakmem.CPUTime() - cpu
			peak := s.Stop()
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spec.Series()), "ns/series")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}
