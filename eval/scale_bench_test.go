package eval_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/eval"
	"github.com/rca-tool/rca/eval/dataset/synth"
	"github.com/rca-tool/rca/internal/peakmem"
)

// BenchmarkEvalScale is rca eval on one generated case of 1k, 10k and 50k
// series x 720 points, the three methods in one run as `rca eval` runs
// them (load included). It reports each method's time on the case (the
// seconds_per_case rca eval prints), rca's over N-Sigma's, and the peak
// live heap of the run. README, Performance.
func BenchmarkEvalScale(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	rankers := []eval.Ranker{eval.RCA{Catalog: cat}, eval.NSigma{}, eval.BARO{}}
	for _, services := range []int{100, 1_000, 5_000} {
		spec := synth.Spec{Services: services, Metrics: 10, Points: 720, Seed: 1}
		b.Run(fmt.Sprintf("series=%d", spec.Series()), func(b *testing.B) {
			dir := b.TempDir()
			if err := synth.WriteCase(context.Background(), filepath.Join(dir, "cases", "big-000"), spec); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			s := peakmem.Start()
			per := map[string]float64{}
			for b.Loop() {
				rep, err := eval.Run(context.Background(), []string{dir}, rankers, nil)
				if err != nil {
					b.Fatal(err)
				}
				ds := rep.Datasets[0]
				if len(ds.Errors) > 0 || ds.FaultCount != 1 {
					b.Fatalf("the case did not score: %+v", ds.Errors)
				}
				for _, m := range ds.Methods {
					if m.AC1 != 1 {
						b.Fatalf("%s missed the CPU step", m.Name)
					}
					per[m.Name] += m.SecondsPerCase.Median
				}
			}
			peak := s.Stop()
			for name, sec := range per {
				b.ReportMetric(sec/float64(b.N)*1000, name+"-ms")
			}
			b.ReportMetric(per["rca"]/per["nsigma"], "rca/nsigma")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}
