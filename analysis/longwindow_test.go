package analysis

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// Issue 17 #19: a 10-year window cut the log lines into a grid of minutes,
// ten million points per log signal and service: 5 GB allocated and 100 s
// for sixty log lines. The buckets now grow with the span.
func TestLongWindowBoundsMemory(t *testing.T) {
	const year = 365 * 24 * time.Hour
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-20 * year), To: t0.Add(-10 * year)},
		Window:   telemetry.Window{From: t0.Add(-10 * year), To: t0},
	}
	for i := range 30 {
		b.Logs = append(b.Logs,
			telemetry.LogLine{T: t0.Add(-time.Duration(i) * time.Minute), Labels: svc("cart", "level", "error"), Line: fmt.Sprintf("payment failed %d", i)},
			telemetry.LogLine{T: t0.Add(-15*year - time.Duration(i)*time.Hour), Labels: svc("cart", "level", "warn"), Line: fmt.Sprintf("slow disk %d ms", i)})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res := Analyze(b, defaultCatalog(), Options{})
	runtime.ReadMemStats(&after)
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 100 {
		t.Errorf("a 10-year window with 60 log lines allocated %d MB", mb)
	}
	if res.Stats.LogLines != 60 || res.Stats.Series == 0 {
		t.Errorf("stats %+v: want the 60 lines read and their error counts scored", res.Stats)
	}
	// A minute-long bundle keeps minute buckets.
	if got := logStep(newFixture(1).b); got != time.Minute {
		t.Errorf("log step of a 90-minute bundle = %v, want a minute", got)
	}
	if got := logStep(b); got < time.Hour || int64((b.Baseline.Duration()+b.Window.Duration())/got) > maxLogBuckets {
		t.Errorf("log step of 20 years = %v", got)
	}
}
