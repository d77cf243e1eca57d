package analysis_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo/demotest"
	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/eval/dataset/synth"
	"github.com/rca-tool/rca/internal/peakmem"
	"github.com/rca-tool/rca/telemetry"
)

// BenchmarkAnalyzeScale is the analysis alone on generated cases of 1k,
// 10k and 50k series x 720 points (synth: 100, 1,000 and 5,000 services of
// 10 cAdvisor-style series, one CPU step), loaded once as rca eval loads
// them. It reports ns per series and the peak live heap of one analysis
// (the loaded bundle included, and above it) and the process' CPU time per analysis
// (all threads, GC included: steadier than the wall time on a shared
// machine). README, Performance.
func BenchmarkAnalyzeScale(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, services := range []int{100, 1_000, 5_000} {
		spec := synth.Spec{Services: services, Metrics: 10, Points: 720, Seed: 1}
		b.Run(fmt.Sprintf("series=%d", spec.Series()), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "case")
			if err := synth.WriteCase(context.Background(), dir, spec); err != nil {
				b.Fatal(err)
			}
			c, err := dataset.Load(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			if res := analysis.Analyze(c.Bundle, cat, analysis.Options{}); len(res.RootCauses) == 0 || res.RootCauses[0].Service != synth.Service(spec.Faulty()) {
				b.Fatalf("the CPU step on %s is not the top candidate", synth.Service(spec.Faulty()))
			}
			runtime.GC()
			live := peakmem.Live() // the loaded case
			b.ReportAllocs()
			b.ResetTimer()
			s := peakmem.Start()
			cpu := peakmem.CPUTime()
			for b.Loop() {
				analysis.Analyze(c.Bundle, cat, analysis.Options{})
			}
			cpu = peakmem.CPUTime() - cpu
			peak := s.Stop()
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spec.Series()), "ns/series")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(peak-min(peak, live))/(1<<20), "above-case-MB")
		})
	}
}

// The analysis runs on all cores and gives the same result on any number
// of them: a case large enough to be split into chunks (a CPU step among
// 4,000 series), and the demo incident.
func TestAnalyzeSameOnAnyCores(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	spec := synth.Spec{Services: 400, Metrics: 10, Points: 160, Seed: 2}
	dir := filepath.Join(t.TempDir(), "case")
	if err := synth.WriteCase(context.Background(), dir, spec); err != nil {
		t.Fatal(err)
	}
	c, err := dataset.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, bundle := range map[string]telemetry.Bundle{"synth": c.Bundle, "pi-digits": demotest.PiDigits(t)} {
		runtime.GOMAXPROCS(1)
		want := analysis.Analyze(bundle, cat, analysis.Options{})
		if name == "synth" && (len(want.RootCauses) == 0 || want.RootCauses[0].Service != synth.Service(spec.Faulty())) {
			t.Fatalf("synth: the CPU step on %s is not the top candidate", synth.Service(spec.Faulty()))
		}
		for _, procs := range []int{2, 3, 8} {
			runtime.GOMAXPROCS(procs)
			if got := analysis.Analyze(bundle, cat, analysis.Options{}); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the result on %d cores differs from the result on one", name, procs)
			}
		}
	}
}
