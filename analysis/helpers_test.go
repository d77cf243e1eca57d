package analysis

import (
	"math/rand/v2"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

var t0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

// fixture builds small bundles: a 60-minute baseline then a 30-minute window,
// one sample a minute.
type fixture struct {
	b   telemetry.Bundle
	rng *rand.Rand
}

func newFixture(seed uint64) *fixture {
	return &fixture{
		b: telemetry.Bundle{
			Baseline: telemetry.Window{From: t0.Add(-60 * time.Minute), To: t0},
			Window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
		},
		rng: rand.New(rand.NewPCG(seed, 42)),
	}
}

// step is a shape: level before the onset minute (into the window), level after.
type shape func(minute int) float64

func stepAt(onset int, before, after float64) shape {
	return func(m int) float64 {
		if m >= onset {
			return after
		}
		return before
	}
}

// add appends a series; minute is relative to the window start (negative in the baseline).
func (f *fixture) add(signal string, labels telemetry.Labels, s shape, noise float64) *fixture {
	var pts []telemetry.Point
	for m := -60; m < 30; m++ {
		v := s(m) + noise*f.rng.NormFloat64()
		pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: max(v, 0)})
	}
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: signal, Signal: signal, Labels: labels}.WithPoints(pts...))
	return f
}

func (f *fixture) change(minute int, svc, summary string) *fixture {
	f.b.Changes = append(f.b.Changes, telemetry.Change{T: t0.Add(time.Duration(minute) * time.Minute), Service: svc, Kind: telemetry.ChangeDeploy, Summary: summary})
	return f
}

func (f *fixture) edge(caller, callee string) *fixture {
	f.b.Edges = append(f.b.Edges, telemetry.Edge{Caller: caller, Callee: callee})
	return f
}

func defaultCatalog() *catalog.Catalog {
	c, err := catalog.Default()
	if err != nil {
		panic(err)
	}
	return c
}

func svc(name string, kv ...string) telemetry.Labels {
	l := telemetry.Labels{"service": name}
	for i := 0; i+1 < len(kv); i += 2 {
		l[kv[i]] = kv[i+1]
	}
	return l
}

// piChain is the demo story in miniature: deploy at 10, CPU at 11, gateway
// timeouts at 12, 500s at 13.
func piChain(seed uint64) *fixture {
	return newFixture(seed).
		edge("gateway", "checkout").edge("gateway", "cart").edge("checkout", "payments").
		change(-40, "cart", "deploy cart v2.0.1").
		change(10, "checkout", "deploy checkout v1.4.2").
		add("http_error_ratio", svc("gateway", "route", "POST /api/checkout"), stepAt(13, 0.002, 0.38), 0.001).
		add("http_error_ratio", svc("gateway", "route", "GET /api/cart"), stepAt(99, 0.002, 0.002), 0.001).
		add("upstream_timeouts", svc("gateway", "upstream", "checkout"), stepAt(12, 0.1, 25), 0.05).
		add("upstream_timeouts", svc("gateway", "upstream", "cart"), stepAt(99, 0.1, 0.1), 0.05).
		add("http_latency_p99", svc("checkout"), stepAt(12, 0.2, 28), 0.02).
		add("cpu_usage", svc("checkout"), stepAt(11, 0.3, 1.95), 0.03).
		add("cpu_usage", svc("cart"), stepAt(99, 0.2, 0.2), 0.02).
		add("memory_working_set", svc("cart"), stepAt(99, 2e8, 2e8), 1e6).
		add("cpu_usage", svc("payments"), stepAt(99, 0.4, 0.4), 0.03).
		add("http_latency_p99", svc("payments"), stepAt(99, 0.05, 0.05), 0.005)
}

// points are the samples as points.
func (s samples) points() []telemetry.Point {
	out := make([]telemetry.Point, s.len())
	for i := range out {
		out[i] = telemetry.Point{T: s.t(i), V: s.v(i)}
	}
	return out
}

// samplesFrom is the samples of points, as columns.
func samplesFrom(pts []telemetry.Point) samples {
	s := telemetry.Series{}.WithPoints(pts...)
	return samples{ts: s.Times, vs: s.Values}
}
