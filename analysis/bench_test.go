package analysis_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo/demotest"
	"github.com/rca-tool/rca/telemetry"
)

// BenchmarkAnalyzePiDigits measures one analysis of the demo incident
// (288 series, about 46,000 samples, 4,000 log lines).
func BenchmarkAnalyzePiDigits(b *testing.B) {
	cat, bundle := piDigits(b)
	benchAnalyze(b, bundle, cat)
}

// BenchmarkAssessImpactPiDigits measures rca impact's own work on top of
// the analysis it reads (BenchmarkAnalyzePiDigits).
func BenchmarkAssessImpactPiDigits(b *testing.B) {
	cat, bundle := piDigits(b)
	res := analysis.Analyze(bundle, cat, analysis.Options{})
	b.ReportAllocs()
	for b.Loop() {
		analysis.AssessImpact(bundle, cat, res, 0)
	}
}

// piDigits is the default catalog and the demo incident's bundle.
func piDigits(b *testing.B) (*catalog.Catalog, telemetry.Bundle) {
	b.Helper()
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	return cat, demotest.PiDigits(b)
}

// benchAnalyze measures one analysis of bundle, allocations and all.
func benchAnalyze(b *testing.B, bundle telemetry.Bundle, cat *catalog.Catalog) {
	b.ReportAllocs()
	for b.Loop() {
		analysis.Analyze(bundle, cat, analysis.Options{})
	}
}

// manyServices is a bundle of n services with one CPU series each (a
// 30-minute baseline and a 10-minute window, a sample a minute), half of
// them anomalous with onsets spread over the window, and no call graph.
func manyServices(n int) telemetry.Bundle {
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-30 * time.Minute), To: t0},
		Window:   telemetry.Window{From: t0, To: t0.Add(10 * time.Minute)},
		Series:   make([]telemetry.Series, 0, n),
	}
	for i := range n {
		pts := make([]telemetry.Point, 0, 40)
		onset := 10
		if i%2 == 0 {
			onset = i / 2 % 8
		}
		for m := -30; m < 10; m++ {
			v := 0.3 + 0.01*float64((i+m)%5)
			if m >= onset {
				v = 1.5 + 0.01*float64(i%7)
			}
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: v})
		}
		b.Series = append(b.Series, telemetry.Series{
			Metric: "cpu_usage", Signal: "cpu_usage",
			Labels: telemetry.Labels{"service": fmt.Sprintf("svc-%06d", i)},
		}.WithPoints(pts...))
	}
	return b
}

// BenchmarkAnalyzeServices shows how one analysis grows with the number of
// services (issue 17 #8: ranking was quadratic, 100k services took minutes).
func BenchmarkAnalyzeServices(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1_000, 10_000, 100_000} {
		bundle := manyServices(n)
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) { benchAnalyze(b, bundle, cat) })
	}
}

// Issue 17 #8: the analysis stops on a cancelled context instead of running
// the case to its end.
func TestAnalyzeContextStops(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	small := manyServices(10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, err := analysis.AnalyzeContext(ctx, small, cat, analysis.Options{}); !errors.Is(err, context.Canceled) || res.RootCauses != nil {
		t.Errorf("cancelled before the start: err %v, %d root causes; want context.Canceled and no result", err, len(res.RootCauses))
	}
	res, err := analysis.AnalyzeContext(context.Background(), small, cat, analysis.Options{})
	if err != nil || !reflect.DeepEqual(res, analysis.Analyze(small, cat, analysis.Options{})) {
		t.Errorf("AnalyzeContext without a cancel: err %v, or a result unlike Analyze's", err)
	}

	if testing.Short() {
		t.Skip("timing part")
	}
	// Timing on a shared machine: relative to a whole run of the same case.
	big := manyServices(20_000)
	start := time.Now()
	if _, err := analysis.AnalyzeContext(context.Background(), big, cat, analysis.Options{}); err != nil {
		t.Fatal(err)
	}
	whole := time.Since(start)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(whole/20, cancel)
	start = time.Now()
	_, err = analysis.AnalyzeContext(ctx, big, cat, analysis.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	d := time.Since(start)
	t.Logf("a whole run took %v; cancelled after %v, one returned after %v", whole, whole/20, d)
	if d > whole/2 {
		t.Errorf("a run cancelled after a twentieth of its time returned after %v of %v", d, whole)
	}
}
