package analysis

import (
	"slices"
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
		b.Series = append(b.Series, telemetry.Series{Metric: metric, Signal: metric, Labels: l}.WithPoints(pts...))
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
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "web" || res.RootCauses[0].Metric != "nginx_up" {
		t.Fatalf("root causes %v, want web's outage (nginx_up) first: the compactor's storm ended before the window", causes(res))
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
	found := false
	for _, c := range res.RootCauses {
		if c.Service == "compactor" {
			found = true
			if c.SignalID != "change:deploy" || !strings.Contains(c.Explanation, "before CPU usage on compactor started") {
				t.Errorf("compactor: %s %q, want its deploy, linked to the CPU rise the baseline's end shows", c.SignalID, c.Explanation)
			}
		}
	}
	if !found {
		t.Errorf("root causes %v, want the compactor's deploy among them", causes(res))
	}
}

func causes(res Result) []string {
	var out []string
	for _, c := range res.RootCauses {
		out = append(out, c.Service+":"+c.SignalID)
	}
	return out
}

// An undone change explains nothing that starts after it was undone, and
// the change that undid it (back to the version that ran before) is no
// cause either.
func TestUndoneChangeExplainsNothingLater(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rollback bool
		want     string // the top candidate's signal id
	}{
		{"deployed and kept", false, "change:deploy"},
		{"rolled back before the errors", true, "http_error_ratio"},
	} {
		f := newFixture(7).
			add("http_error_ratio", svc("app"), stepAt(10, 0.001, 0.3), 0.0005).
			add("cpu_usage", svc("app"), stepAt(99, 0.3, 0.3), 0.01)
		f.b.Changes = append(f.b.Changes, telemetry.Change{T: t0.Add(2 * time.Minute), Service: "app", Kind: telemetry.ChangeDeploy,
			Summary: "deploy app v1.1.0", FromVersion: "v1.0.0", ToVersion: "v1.1.0"})
		if tc.rollback {
			f.b.Changes = append(f.b.Changes, telemetry.Change{T: t0.Add(4 * time.Minute), Service: "app", Kind: telemetry.ChangeDeploy,
				Summary: "roll back app to v1.0.0", FromVersion: "v1.1.0", ToVersion: "v1.0.0"})
		}
		res := Analyze(f.b, defaultCatalog(), Options{})
		if len(res.RootCauses) == 0 || res.RootCauses[0].SignalID != tc.want {
			t.Errorf("%s: root causes %v, want app's %s first", tc.name, causes(res), tc.want)
		}
	}
}

// A baseline from a later day (a dataset's, or "the same hour tomorrow")
// shows nothing of the window's start: a level that differs from the first
// sample on is carried over, not a rise seen in the window.
func TestBaselineAfterTheWindowCarriesOver(t *testing.T) {
	f := newFixture(7)
	day := 24 * time.Hour
	f.b.Baseline = telemetry.Window{From: f.b.Baseline.From.Add(day), To: f.b.Baseline.To.Add(day)}
	series := func(service string, onset int) {
		var pts []telemetry.Point
		for m := -60; m < 0; m++ { // the baseline, a day later
			pts = append(pts, telemetry.Point{T: t0.Add(day + time.Duration(m)*time.Minute), V: 0.3 + 0.02*f.rng.NormFloat64()})
		}
		for m := range 30 {
			v := 0.3
			if m >= onset {
				v = 0.9
			}
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: v + 0.02*f.rng.NormFloat64()})
		}
		slices.SortFunc(pts, func(a, b telemetry.Point) int { return a.T.Compare(b.T) })
		f.b.Series = append(f.b.Series, telemetry.Series{Metric: "cpu_usage", Signal: "cpu_usage", Labels: svc(service)}.WithPoints(pts...))
	}
	series("db", 0)   // high from the window's first sample on
	series("api", 10) // rises in the window
	res := Analyze(f.b, defaultCatalog(), Options{})
	carried := map[string]bool{}
	for _, a := range res.Anomalies {
		carried[a.Service] = a.CarriedOver
	}
	if _, ok := carried["db"]; !ok || !carried["db"] || carried["api"] {
		t.Errorf("carried over: %v; want db only", carried)
	}
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
		t.Errorf("root causes %v, want api (the rise the window shows) first", causes(res))
	}
}

// gapBefore is a fixture whose baseline ends ten minutes before the window:
// what is high from the window's first sample on is carried over.
func gapBefore(seed uint64) *fixture {
	f := newFixture(seed)
	f.b.Baseline.To = t0.Add(-10 * time.Minute)
	return f
}

// A callee's anomaly already there when the window began, while its caller
// was still fine, does not explain what starts in the caller later; and a
// service whose every anomaly was carried over counts a third against one
// whose anomaly the window shows starting.
func TestCarriedOverExplainsNothingLater(t *testing.T) {
	f := gapBefore(8).edge("api", "db").
		add("cpu_usage", svc("db"), stepAt(-10, 0.3, 1.2), 0.02).
		add("http_latency_p99", svc("api"), stepAt(15, 0.2, 0.5), 0.01)
	res := Analyze(f.b, defaultCatalog(), Options{})
	carried := map[string]bool{}
	for _, a := range res.Anomalies {
		carried[a.Service] = a.CarriedOver
	}
	if !carried["db"] || carried["api"] {
		t.Fatalf("carried over: %v; the fixture wants db only", carried)
	}
	if len(res.RootCauses) < 2 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %v, want api first", causes(res))
	}
	if origin := res.RootCauses[0].Features[5]; origin != 0 {
		t.Errorf("api's origin feature = %v, want 0, not -1: db's carried-over load explains nothing that starts later", origin)
	}
}
