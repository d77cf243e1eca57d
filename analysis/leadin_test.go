package analysis

import (
	"testing"

	"github.com/rca-tool/rca/telemetry"
)

// TestWindowBeginsAfterTheFault: the window begins two minutes after the
// checkout deploy, so the baseline (the hour just before it) ends with the
// fault's first samples. Those are the window's anomaly seen early, not
// the baseline's own variation: the deploy that started it stays the root
// cause, ahead of a harmless earlier deploy followed by a small blip.
func TestWindowBeginsAfterTheFault(t *testing.T) {
	blip := func(m int) float64 {
		if m >= 1 && m < 4 {
			return 0.007
		}
		return 0.002
	}
	f := newFixture(7).
		edge("gateway", "checkout").edge("gateway", "catalog").
		change(-12, "catalog", "deploy catalog v2.3.1").
		change(-3, "checkout", "deploy checkout v1.4.2").
		add("cpu_usage", svc("checkout"), stepAt(-2, 0.3, 1.95), 0.03).
		add("http_latency_p99", svc("checkout"), stepAt(-2, 0.2, 28), 0.02).
		add("cpu_usage", svc("catalog"), stepAt(99, 0.3, 0.3), 0.03).
		add("http_latency_p99", svc("catalog", "route", "GET /healthz"), blip, 0.0002).
		add("upstream_timeouts", svc("gateway", "upstream", "checkout"), stepAt(1, 0.1, 25), 0.05).
		add("http_error_ratio", svc("gateway", "route", "POST /api/checkout"), stepAt(1, 0.002, 0.38), 0.001)
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 {
		t.Fatal("no root cause")
	}
	top := res.RootCauses[0]
	if top.Service != "checkout" || top.Finding.Change == nil || top.Finding.Change.Kind != telemetry.ChangeDeploy {
		t.Errorf("top root cause %s %q (score %v), want the checkout deploy", top.Service, top.Finding.Signal, top.Score)
	}
	for _, a := range res.Anomalies {
		if a.Service == "checkout" && a.Signal == "CPU usage" && a.Score < 10 {
			t.Errorf("checkout CPU usage scores %v against a baseline that ends with its own rise; want it measured against the hour before", a.Score)
		}
	}
}

// TestDriftAtTheBaselinesEndIsNoise: a series whose baseline ends a little
// high, a little higher in the window's first minutes, is not an anomaly:
// only a run the rest of the baseline could not have produced is the
// window's anomaly seen early; a smaller one stays the baseline's noise.
func TestDriftAtTheBaselinesEndIsNoise(t *testing.T) {
	drift := func(m int) float64 {
		switch {
		case m == -1:
			return 1.4
		case m >= 0 && m < 4:
			return 1.5
		case m%2 == 0:
			return 0.95
		}
		return 1.05
	}
	f := newFixture(3).add("cpu_usage", svc("payments-db"), drift, 0)
	res := Analyze(f.b, defaultCatalog(), Options{})
	for _, a := range res.Anomalies {
		t.Errorf("anomaly %s %s score %v, want none", a.Service, a.Signal, a.Score)
	}
}
