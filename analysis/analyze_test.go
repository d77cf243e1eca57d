package analysis

import (
	"strings"
	"testing"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

func layers(chain []Finding) string {
	var out []string
	for _, f := range chain {
		out = append(out, string(f.Layer)+"@"+f.Service)
	}
	return strings.Join(out, " <- ")
}

func TestAnalyzeChainEndsAtChange(t *testing.T) {
	res := Analyze(piChain(1).b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 {
		t.Fatal("no root causes")
	}
	top := res.RootCauses[0]
	if top.Service != "checkout" || top.Layer != catalog.LayerChange {
		t.Fatalf("top root cause = %s/%s (%s), want the checkout deploy", top.Service, top.Layer, top.Signal)
	}
	want := "symptom@gateway <- propagation@gateway <- resource@checkout <- change@checkout"
	if got := layers(res.Chain); got != want {
		t.Fatalf("chain = %s\nwant    %s", got, want)
	}
	if res.Chain[1].Callee != "checkout" {
		t.Errorf("propagation link calls %q, want checkout", res.Chain[1].Callee)
	}
	for i := 1; i < len(res.Chain); i++ {
		if res.Chain[i].Onset.After(res.Chain[i-1].Onset) {
			t.Errorf("link %d (%s) starts after the link it explains", i, res.Chain[i].Signal)
		}
	}
	if len(res.UnlinkedChanges) != 1 || res.UnlinkedChanges[0].Service != "cart" {
		t.Errorf("unlinked changes = %+v, want the cart deploy", res.UnlinkedChanges)
	}
}

func TestAnalyzeNothingStandsOut(t *testing.T) {
	f := newFixture(3).
		add("cpu_usage", svc("a"), stepAt(99, 0.3, 0.3), 0.03).
		add("http_error_ratio", svc("b"), stepAt(99, 0.01, 0.01), 0.002).
		change(5, "a", "deploy a v2")
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.Anomalies) != 0 || len(res.RootCauses) != 0 || len(res.Chain) != 0 {
		t.Fatalf("quiet bundle produced anomalies %d, causes %d, chain %d", len(res.Anomalies), len(res.RootCauses), len(res.Chain))
	}
	if len(res.UnlinkedChanges) != 1 {
		t.Errorf("a change followed by nothing should be listed as unlinked, got %+v", res.UnlinkedChanges)
	}
}

func TestAnalyzeNoChangeEndsAtDeepestAnomaly(t *testing.T) {
	f := newFixture(4).edge("web", "db").
		add("http_error_ratio", svc("web"), stepAt(8, 0.001, 0.2), 0.001).
		add("upstream_error_ratio", svc("web", "upstream", "db"), stepAt(7, 0.001, 0.3), 0.001).
		add("db_connections", svc("db"), stepAt(6, 20, 100), 2)
	res := Analyze(f.b, defaultCatalog(), Options{})
	want := "symptom@web <- propagation@web <- resource@db"
	if got := layers(res.Chain); got != want {
		t.Fatalf("chain = %s, want %s", got, want)
	}
	if res.RootCauses[0].Service != "db" {
		t.Errorf("top cause %s, want db", res.RootCauses[0].Service)
	}
}

func TestAnalyzeDeterministic(t *testing.T) {
	a := Analyze(piChain(7).b, defaultCatalog(), Options{})
	for range 5 {
		b := Analyze(piChain(7).b, defaultCatalog(), Options{})
		if layers(a.Chain) != layers(b.Chain) || len(a.Anomalies) != len(b.Anomalies) {
			t.Fatal("same bundle gave different results")
		}
		for i := range a.Services {
			if a.Services[i] != b.Services[i] {
				t.Fatalf("service ranking differs at %d: %v vs %v", i, a.Services[i], b.Services[i])
			}
		}
	}
}

func TestAnalyzeEvidenceHoldsChartedSeries(t *testing.T) {
	res := Analyze(piChain(1).b, defaultCatalog(), Options{})
	for _, f := range res.Chain {
		if f.SeriesID == "" {
			continue
		}
		s, ok := res.Evidence[f.SeriesID]
		if !ok {
			t.Errorf("chain link %s (%s) has no evidence series", f.SeriesID, f.Signal)
			continue
		}
		if s.Len() == 0 {
			t.Errorf("evidence series %s has no points", f.SeriesID)
		}
	}
	for id := range res.Evidence {
		if id == "" {
			t.Error("evidence holds a series with an empty id")
		}
	}
}

// TestNearest: when nothing deviates enough to be a candidate, the result
// lists where the data moved most, under the anomaly score, a series per
// service; with a candidate it lists none.
func TestNearest(t *testing.T) {
	// Noise of 1 around 10, then four minutes at 13.4: about 1.2 times past
	// the baseline's own worst, a near miss, not an anomaly.
	f := newFixture(11).
		add("cpu_usage", svc("api"), func(m int) float64 {
			if m >= 10 && m < 14 {
				return 13.4
			}
			return 10
		}, 1).
		add("cpu_usage", svc("db"), stepAt(5, 10, 10), 1).
		// One timeout in two minutes off a flat zero: hundreds of times
		// past its baseline, and nothing (see negligible): no near miss
		// either.
		add("upstream_timeouts", svc("web"), pulse(12, 14, 1.0/120), 0).
		// More requests, a little further past its worst than api's CPU:
		// after it, as activity counts at half.
		uncatalogued("requests_per_second", svc("edge"), func(m int) float64 {
			if m >= 10 && m < 14 {
				return 13.55
			}
			return 10 + []float64{0, 0.8, -0.6, 0.3, -0.9, 0.5}[(m+60)%6]
		})
	f.uncatalogued("node_load1", webHost, nearMiss(13.8))
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) != 0 {
		t.Fatalf("root causes %+v, want none", res.RootCauses)
	}
	if len(res.Nearest) == 0 || res.Nearest[0].Service != "api" {
		t.Fatalf("nearest %+v, want api's CPU first", res.Nearest)
	}
	for i, n := range res.Nearest {
		if n.Service == "edge" && i == 0 {
			t.Errorf("edge's request rate (%v) listed before api's CPU: activity counts at half", n.Score)
		}
		if n.Service == "web" {
			t.Errorf("a negligible change listed as a near miss: %s", n.Explanation)
		}
		if n.Score >= AnomalyRatio || n.Score < 1 {
			t.Errorf("near miss %s scored %v, want in [1, %v)", n.Service, n.Score, AnomalyRatio)
		}
	}
	for _, n := range res.Nearest {
		if n.Metric == "node_load1" {
			t.Errorf("a host's series listed beside services' near misses: %+v", n)
		}
	}

	f.add("memory_working_set", svc("db"), stepAt(5, 100, 400), 1)
	if res := Analyze(f.b, defaultCatalog(), Options{}); len(res.RootCauses) == 0 || len(res.Nearest) != 0 {
		t.Errorf("with a candidate: root causes %d, nearest %+v, want some and none", len(res.RootCauses), res.Nearest)
	}
}

// webHost labels a node_exporter series of one host.
var webHost = telemetry.Labels{"job": "node", "instance": "web-1:9100"}

// nearMiss is a baseline a little noisy around 10, then four minutes at v
// (13.55 is about 1.2 times past the baseline's own worst).
func nearMiss(v float64) shape {
	return func(m int) float64 {
		if m >= 10 && m < 14 {
			return v
		}
		return 10 + []float64{0, 0.8, -0.6, 0.3, -0.9, 0.5}[(m+60)%6]
	}
}

// With only hosts in the data (node_exporter alone), their near misses are
// listed, as their anomalies are ranked when no service has a series.
func TestNearestOnHostsAlone(t *testing.T) {
	f := newFixture(3).uncatalogued("node_load1", webHost, nearMiss(13.55))
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) != 0 {
		t.Fatalf("root causes %+v, want none", res.RootCauses)
	}
	if len(res.Nearest) != 1 || res.Nearest[0].Metric != "node_load1" {
		t.Errorf("nearest %+v, want the host's load", res.Nearest)
	}
	// A service in the data, however quiet, keeps the hosts out, as in
	// the ranking.
	res = Analyze(f.add("cpu_usage", svc("api"), stepAt(5, 10, 10), 1).b, defaultCatalog(), Options{})
	if len(res.Nearest) != 0 {
		t.Errorf("nearest %+v beside a service, want none", res.Nearest)
	}
}
