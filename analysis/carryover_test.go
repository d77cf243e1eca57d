package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// tailOutage is a window an hour after its baseline: a deploy's disk storm
// ended just before it (its rate still receding in the window) and, in the
// window, another service's up gauge falls to 0. adjacent puts the baseline
// right before the window instead, so the first sample shows a rise, not
// a tail.
func tailOutage(adjacent bool) telemetry.Bundle {
	baseFrom := t0.Add(-120 * time.Minute)
	if adjacent {
		baseFrom = t0.Add(-60 * time.Minute)
	}
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: baseFrom, To: baseFrom.Add(60 * time.Minute)},
		Window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
		Changes: []telemetry.Change{{T: t0.Add(-20 * time.Minute), Service: "compactor", Kind: telemetry.ChangeDeploy,
			Summary: "deploy compactor v0.9.0"}},
	}
	series := func(metric string, l telemetry.Labels, base, jitter float64, win func(m int) float64) {
		var pts []telemetry.Point
		for m := 0; m < 60; m++ {
			pts = append(pts, telemetry.Point{T: baseFrom.Add(time.Duration(m) * time.Minute), V: base + jitter*float64(m%3)})
		}
		for m := 0; m < 30; m++ {
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: win(m)})
		}
		b.Series = append(b.Series, telemetry.Series{Metric: metric, Signal: metric, Labels: l, Points: pts})
	}
	// The storm's rate over a range longer than the gap: a plateau until
	// the burst leaves the range at minute 20.
	series("cpu_usage", svc("compactor"), 0.1, 0.01, func(m int) float64 {
		if m < 20 {
			return 0.6
		}
		return 0.1
	})
	series("cpu_usage", svc("web"), 0.2, 0.01, func(int) float64 { return 0.2 })
	series("nginx_up", svc("web"), 1, 0, func(m int) float64 {
		if m >= 10 && m < 20 {
			return 0
		}
		return 1
	})
	return b
}

func TestCarriedOverTailDoesNotOutrankAnOutage(t *testing.T) {
	res := Analyze(tailOutage(false), defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "web" {
		t.Fatalf("root causes %v, want web's outage first: the compactor's storm ended before the window", causes(res))
	}
	var tail *Finding
	for i, a := range res.Anomalies {
		if a.Service == "compactor" {
			tail = &res.Anomalies[i]
		}
	}
	if tail == nil || !tail.CarriedOver {
		t.Fatalf("compactor's CPU: %+v, want an anomaly marked carried over", tail)
	}
	if !strings.Contains(tail.Explanation, "already at") || !strings.Contains(tail.Explanation, "before the window") || strings.Contains(tail.Explanation, "rose from") {
		t.Errorf("why %q: want it to say the anomaly was already there when the window began, not that it rose", tail.Explanation)
	}
	for _, c := range res.RootCauses {
		if c.Service == "compactor" && (!strings.Contains(c.Explanation, "already under way") || strings.Contains(c.Explanation, "before CPU usage on compactor started")) {
			t.Errorf("compactor's deploy: why %q, want it to say its effect was already under way, with no gap it cannot know", c.Explanation)
		}
	}
}

func TestRiseAtTheWindowStartIsNotCarriedOver(t *testing.T) {
	res := Analyze(tailOutage(true), defaultCatalog(), Options{})
	for _, a := range res.Anomalies {
		if a.CarriedOver {
			t.Errorf("%s %s carried over, want none: the baseline ends right before the window, so the rise is seen", a.Service, a.SignalID)
		}
	}
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "compactor" {
		t.Errorf("root causes %v, want the compactor's deploy first: its storm starts with the window", causes(res))
	}
}

func causes(res Result) []string {
	var out []string
	for _, c := range res.RootCauses {
		out = append(out, c.Service+":"+c.SignalID)
	}
	return out
}
