package analysis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// BenchmarkAnalyzeLogs is the analysis of log lines alone: 200,000 lines
// of 50 services over a 2-hour baseline and a 30-minute window, at four
// levels (one service's errors begin in the window). It reports ns per
// line: every line is read once for its service, level, log signals and
// template, and counted by level.
func BenchmarkAnalyzeLogs(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	bundle := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-2 * time.Hour), To: t0},
		Window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
	}
	const lines, services = 200_000, 50
	levels := []string{"debug", "info", "info", "warn"}
	span := bundle.Window.To.Sub(bundle.Baseline.From)
	for i := range lines {
		t := bundle.Baseline.From.Add(span * time.Duration(i) / lines)
		svc, level := fmt.Sprintf("svc-%02d", i%services), levels[i%len(levels)]
		text := fmt.Sprintf("handled request %d in %d ms", i, i%97)
		if svc == "svc-07" && !t.Before(t0.Add(10*time.Minute)) && i%3 == 0 {
			level, text = "error", fmt.Sprintf("write to volume %d failed: disk full", i%5)
		}
		bundle.Logs = append(bundle.Logs, telemetry.LogLine{T: t, Labels: telemetry.Labels{"service": svc, "level": level}, Line: text})
	}
	if res := analysis.Analyze(bundle, cat, analysis.Options{}); len(res.RootCauses) == 0 || res.RootCauses[0].Service != "svc-07" {
		b.Fatalf("root causes %v, want svc-07 first", res.RootCauses)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		analysis.Analyze(bundle, cat, analysis.Options{})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/lines, "ns/line")
}
