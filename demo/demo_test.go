package demo

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

func generate(t *testing.T, s Scenario) telemetry.Bundle {
	t.Helper()
	b, err := Generate(s)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", s, err)
	}
	return b
}

// find returns the series with the given metric and exactly these labels.
func find(t *testing.T, b telemetry.Bundle, metric string, labels telemetry.Labels) telemetry.Series {
	t.Helper()
	for _, s := range b.Series {
		if s.Metric == metric && reflect.DeepEqual(s.Labels, labels) {
			return s
		}
	}
	t.Fatalf("no series %s%s", metric, labels)
	return telemetry.Series{}
}

// onset is the first point in the window above threshold that stays above
// it for the next three points: a crude detector, on purpose.
func onset(t *testing.T, b telemetry.Bundle, s telemetry.Series, threshold float64) time.Time {
	t.Helper()
	p := s.Points()
	for i := range p {
		if !b.Window.Contains(p[i].T) || i+3 >= len(p) {
			continue
		}
		if p[i].V > threshold && p[i+1].V > threshold && p[i+2].V > threshold && p[i+3].V > threshold {
			return p[i].T
		}
	}
	t.Fatalf("%s never stays above %g in the window", s.ID(), threshold)
	return time.Time{}
}

// stats returns the median of the baseline and the max and median of the
// last ten minutes of the window.
func stats(b telemetry.Bundle, s telemetry.Series) (base, peak, late float64) {
	var bv, lv []float64
	for _, p := range s.Points() {
		switch {
		case b.Baseline.Contains(p.T):
			bv = append(bv, p.V)
		case b.Window.Contains(p.T):
			peak = math.Max(peak, p.V)
			if p.T.After(b.Window.To.Add(-10 * time.Minute)) {
				lv = append(lv, p.V)
			}
		}
	}
	return median(bv), peak, median(lv)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	sort.Float64s(v)
	return v[len(v)/2]
}

func deployOf(t *testing.T, b telemetry.Bundle, service string) telemetry.Change {
	t.Helper()
	for _, c := range b.Changes {
		if c.Service == service && c.Kind == telemetry.ChangeDeploy {
			return c
		}
	}
	t.Fatalf("no deploy of %s in %+v", service, b.Changes)
	return telemetry.Change{}
}

func TestDeterministic(t *testing.T) {
	a := generate(t, PiDigits())
	b := generate(t, PiDigits())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two Generate calls on the same scenario differ")
	}
	other := PiDigits()
	other.Seed = 2
	c := generate(t, other)
	if reflect.DeepEqual(a.Series, c.Series) || reflect.DeepEqual(a.Logs, c.Logs) {
		t.Fatal("seeds 1 and 2 give the same data")
	}
	// Zero fields mean the defaults.
	d := generate(t, Scenario{Seed: 1})
	if !reflect.DeepEqual(a, d) {
		t.Fatal("Scenario{Seed: 1} differs from PiDigits()")
	}
}

func TestShape(t *testing.T) {
	b := generate(t, PiDigits())
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Window; got.From != DefaultStart() || got.Duration() != 30*time.Minute {
		t.Errorf("window %s, want 30m from %s", got, DefaultStart())
	}
	if b.Baseline.To != b.Window.From || b.Baseline.Duration() != time.Hour {
		t.Errorf("baseline %s, want the hour before the window", b.Baseline)
	}
	if n := len(b.Series); n < 200 || n > 600 {
		t.Errorf("%d series, want a few hundred", n)
	}
	byLabels := map[string][]string{
		"http_error_ratio": {"route", "service"}, "http_latency_p99": {"route", "service"}, "http_request_rate": {"route", "service"},
		"upstream_error_ratio": {"service", "upstream"}, "upstream_timeouts": {"service", "upstream"}, "upstream_latency_p99": {"service", "upstream"},
		"cpu_usage": {"service"}, "cpu_throttling": {"service"}, "memory_working_set": {"service"}, "gc_pause": {"service"}, "pod_restarts": {"service"},
	}
	ids := map[string]bool{}
	signals, raw := 0, 0
	for _, s := range b.Series {
		if ids[s.ID()] {
			t.Errorf("series %s appears twice", s.ID())
		}
		ids[s.ID()] = true
		if cat.Service(s.Labels) == "" || s.Labels["service"] == "" {
			t.Errorf("%s has no service label", s.ID())
		}
		if s.Signal != "" {
			signals++
			sig, ok := cat.Signal(s.Signal)
			if !ok || s.Metric != s.Signal || s.Query != sig.Query {
				t.Errorf("%s: signal %q metric %q query %q do not match the catalog", s.ID(), s.Signal, s.Metric, s.Query)
			}
			var names []string
			for k := range s.Labels {
				names = append(names, k)
			}
			sort.Strings(names)
			if want := byLabels[s.Signal]; !slices.Equal(names, want) {
				t.Errorf("%s: labels %v, want the query's by-labels %v", s.ID(), names, want)
			}
		} else {
			raw++
		}
		if s.Len() == 0 {
			t.Errorf("%s has no points", s.ID())
		}
		ratio := strings.Contains(s.Metric, "ratio") || strings.Contains(s.Metric, "utilisation") || s.Metric == "probe_success"
		for i, p := range s.Points() {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.V < 0 {
				t.Errorf("%s: value %g at %s", s.ID(), p.V, p.T)
			}
			if ratio && p.V > 1 {
				t.Errorf("%s: ratio %g > 1 at %s", s.ID(), p.V, p.T)
			}
			if p.T.Before(b.Baseline.From) || !p.T.Before(b.Window.To) {
				t.Errorf("%s: point at %s outside %s .. %s", s.ID(), p.T, b.Baseline.From, b.Window.To)
			}
			if i > 0 && !p.T.After(s.Point(i-1).T) {
				t.Errorf("%s: points not sorted at %d", s.ID(), i)
			}
		}
	}
	if signals < 100 || raw < 100 {
		t.Errorf("%d catalog series and %d raw ones, want plenty of both", signals, raw)
	}
	infra := 0
	for _, s := range b.Series {
		if cat.Infrastructure(cat.Service(s.Labels), s.Labels) {
			infra++
		}
	}
	if infra == 0 {
		t.Error("no node-level series")
	}

	if n := len(b.Logs); n < 1000 || n > 5000 {
		t.Errorf("%d log lines, want 1,000 .. 5,000", n)
	}
	for i, l := range b.Logs {
		if l.Labels["service"] == "" || l.Labels["level"] == "" || l.Line == "" {
			t.Errorf("log line %d: %+v", i, l)
		}
		if l.T.Before(b.Baseline.From) || !l.T.Before(b.Window.To) {
			t.Errorf("log line at %s outside the data", l.T)
		}
		if i > 0 && l.T.Before(b.Logs[i-1].T) {
			t.Errorf("log lines not sorted at %d", i)
		}
	}

	want := []telemetry.Edge{
		{Caller: "gateway", Callee: "checkout"}, {Caller: "gateway", Callee: "cart"}, {Caller: "gateway", Callee: "catalog"},
		{Caller: "checkout", Callee: "payments"}, {Caller: "checkout", Callee: "cart"},
		{Caller: "payments", Callee: "payments-db"}, {Caller: "catalog", Callee: "catalog-db"},
	}
	if !reflect.DeepEqual(b.Edges, want) {
		t.Errorf("edges %v, want %v", b.Edges, want)
	}
	// The call graph in the data agrees with the edges.
	for _, s := range b.Series {
		if up := s.Labels["upstream"]; up != "" && !slices.Contains(want, telemetry.Edge{Caller: s.Labels["service"], Callee: up}) {
			t.Errorf("%s: no such edge", s.ID())
		}
	}
}

func TestPiDigitsStory(t *testing.T) {
	b := generate(t, PiDigits())
	dep := deployOf(t, b, "checkout")
	if dep.Summary != "deploy checkout v1.4.2 (commit 9f3c1e2: compute pi to 10,000 places for the receipt footer)" ||
		dep.FromVersion != "v1.4.1" || dep.ToVersion != "v1.4.2" || dep.Commit != "9f3c1e2" || dep.Author == "" || dep.Source == "" {
		t.Errorf("checkout deploy %+v", dep)
	}
	decoy := deployOf(t, b, "catalog")
	if !b.Window.Contains(decoy.T) || !decoy.T.Before(dep.T) || dep.T.Sub(decoy.T) > 2*time.Hour {
		t.Errorf("decoy deploy at %s, want in the window before the checkout deploy at %s", decoy.T, dep.T)
	}

	cpu := find(t, b, "cpu_usage", telemetry.Labels{"service": "checkout"})
	timeouts := find(t, b, "upstream_timeouts", telemetry.Labels{"service": "gateway", "upstream": "checkout"})
	upLat := find(t, b, "upstream_latency_p99", telemetry.Labels{"service": "gateway", "upstream": "checkout"})
	errs := find(t, b, "http_error_ratio", telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"})

	tc, tt, te := onset(t, b, cpu, 1.0), onset(t, b, timeouts, 0.5), onset(t, b, errs, 0.1)
	t.Logf("deploy %s, cpu %s, upstream timeouts %s, 5xx %s", dep.T.Format("15:04:05"), tc.Format("15:04:05"), tt.Format("15:04:05"), te.Format("15:04:05"))
	if !(dep.T.Before(tc) && tc.Before(tt) && tt.Before(te)) {
		t.Errorf("want deploy < CPU < upstream timeouts < 5xx")
	}
	if te.Sub(dep.T) > 5*time.Minute {
		t.Errorf("5xx %s after the deploy, want a few minutes", te.Sub(dep.T))
	}

	for _, c := range []struct {
		s                  telemetry.Series
		base, late, margin float64
	}{
		{cpu, 0.3, 1.95, 0.06},
		{upLat, 0.4, 29.7, 0.3},
		{errs, 0.005, 0.38, 0.04},
	} {
		base, _, late := stats(b, c.s)
		if math.Abs(base-c.base) > c.base/2 || math.Abs(late-c.late) > c.margin {
			t.Errorf("%s: baseline %g (want ~%g), late window %g (want ~%g)", c.s.ID(), base, c.base, late, c.late)
		}
	}
	thr := find(t, b, "cpu_throttling", telemetry.Labels{"service": "checkout"})
	if base, _, late := stats(b, thr); late < 10*base {
		t.Errorf("throttling baseline %g, late %g: want it up", base, late)
	}

	// The decoys: the catalog deploy changes nothing, the cart blip is
	// small and brief, the indexer is as spiky before as during.
	for _, spec := range shop().routesOf("catalog") {
		s := find(t, b, "http_error_ratio", telemetry.Labels{"service": "catalog", "route": spec.name})
		if _, peak, _ := stats(b, s); peak > 0.02 {
			t.Errorf("%s peaks at %g after the decoy deploy", s.ID(), peak)
		}
		l := find(t, b, "http_latency_p99", telemetry.Labels{"service": "catalog", "route": spec.name})
		if base, _, late := stats(b, l); late > 1.5*base {
			t.Errorf("%s moved from %g to %g", l.ID(), base, late)
		}
	}
	mem := find(t, b, "memory_working_set", telemetry.Labels{"service": "cart"})
	base, peak, late := stats(b, mem)
	if peak < 1.03*base || peak > 1.12*base || late > 1.03*base {
		t.Errorf("cart memory blip: baseline %g peak %g late %g", base, peak, late)
	}
	above := 0
	for _, p := range mem.Points() {
		if p.V > 1.03*base {
			above++
		}
	}
	if above > 4 {
		t.Errorf("cart memory blip lasts %d points, want a brief one", above)
	}
	for _, s := range b.Series {
		if s.Labels["container"] != "indexer" {
			continue
		}
		var spikesBase, spikesWin int
		for _, p := range s.Points() {
			if p.V > 0.5 {
				if b.Baseline.Contains(p.T) {
					spikesBase++
				} else {
					spikesWin++
				}
			}
		}
		if spikesBase < 5 || spikesWin < 3 {
			t.Errorf("indexer spikes: %d in the baseline, %d in the window", spikesBase, spikesWin)
		}
	}

	var gwErr, coWarn int
	for _, l := range b.Logs {
		switch {
		case l.Labels["service"] == "gateway" && l.Labels["level"] == "error" && strings.HasPrefix(l.Line, "upstream timed out (110: Connection timed out)"):
			gwErr++
			if l.T.Before(dep.T) {
				t.Errorf("timeout logged before the deploy: %s %s", l.T, l.Line)
			}
		case l.Labels["service"] == "checkout" && l.Labels["level"] == "warn" && strings.HasPrefix(l.Line, "slow request "):
			coWarn++
		}
	}
	if gwErr < 100 || coWarn < 100 {
		t.Errorf("%d gateway timeout lines and %d checkout slow-request lines, want hundreds", gwErr, coWarn)
	}
}

// faultSignal is the resource series the fault shows on first.
func faultSignal(f Fault) string {
	if f == FaultMemoryLeak {
		return "memory_working_set"
	}
	return "cpu_usage"
}

func TestVariants(t *testing.T) {
	for _, c := range []struct {
		s Scenario
		// The user-facing route at the gateway that must fail, and the
		// chain of (metric, labels) that must start in order, after the deploy.
		route string
		chain []telemetry.Series
	}{
		{s: Scenario{Seed: 7, FaultyService: "payments"}, route: "POST /api/checkout", chain: []telemetry.Series{
			{Metric: "cpu_usage", Labels: telemetry.Labels{"service": "payments"}},
			{Metric: "upstream_timeouts", Labels: telemetry.Labels{"service": "checkout", "upstream": "payments"}},
			{Metric: "upstream_error_ratio", Labels: telemetry.Labels{"service": "gateway", "upstream": "checkout"}},
			{Metric: "http_error_ratio", Labels: telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"}},
		}},
		{s: Scenario{Seed: 3, FaultyService: "cart"}, route: "GET /api/cart", chain: []telemetry.Series{
			{Metric: "cpu_usage", Labels: telemetry.Labels{"service": "cart"}},
			{Metric: "upstream_timeouts", Labels: telemetry.Labels{"service": "gateway", "upstream": "cart"}},
			{Metric: "http_error_ratio", Labels: telemetry.Labels{"service": "gateway", "route": "GET /api/cart"}},
		}},
		{s: Scenario{Seed: 4, FaultyService: "cart"}, route: "POST /api/checkout", chain: []telemetry.Series{
			{Metric: "upstream_timeouts", Labels: telemetry.Labels{"service": "checkout", "upstream": "cart"}},
			{Metric: "http_error_ratio", Labels: telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"}},
		}},
		{s: Scenario{Seed: 5, FaultyService: "checkout", Fault: FaultMemoryLeak}, route: "POST /api/checkout", chain: []telemetry.Series{
			{Metric: "memory_working_set", Labels: telemetry.Labels{"service": "checkout"}},
			{Metric: "gc_pause", Labels: telemetry.Labels{"service": "checkout"}},
			{Metric: "upstream_timeouts", Labels: telemetry.Labels{"service": "gateway", "upstream": "checkout"}},
			{Metric: "http_error_ratio", Labels: telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"}},
		}},
		{s: Scenario{Seed: 6, FaultyService: "payments", Fault: FaultMemoryLeak}, route: "POST /api/checkout"},
		{s: Scenario{Seed: 8, FaultyService: "catalog"}, route: "GET /api/products/{id}"},
		{s: Scenario{Seed: 9, FaultyService: "gateway"}, route: "POST /api/checkout"},
		{s: Scenario{Seed: 10, Step: 15 * time.Second, Start: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}, route: "POST /api/checkout"},
		{s: Scenario{Seed: 11, Step: time.Minute}, route: "POST /api/checkout"},
	} {
		s, _ := c.s.withDefaults()
		t.Run(fmt.Sprintf("%s/%s/seed%d/%s", s.FaultyService, s.Fault, s.Seed, s.Step), func(t *testing.T) {
			b := generate(t, c.s)
			dep := deployOf(t, b, s.FaultyService)
			if !strings.HasPrefix(dep.Summary, "deploy "+s.FaultyService+" ") {
				t.Errorf("deploy summary %q", dep.Summary)
			}
			if decoy := deployOf(t, b, decoyService(s.FaultyService)); !decoy.T.Before(dep.T) {
				t.Errorf("decoy deploy at %s after the real one", decoy.T)
			}
			// The fault sits on the faulty service and on no other.
			metric := faultSignal(s.Fault)
			for _, svc := range shop().services {
				base, _, late := stats(b, find(t, b, metric, telemetry.Labels{"service": svc.name}))
				ratio := late / base
				if svc.name == s.FaultyService && ratio < 2 {
					t.Errorf("%s of the faulty %s: baseline %g, late %g", metric, svc.name, base, late)
				}
				if svc.name != s.FaultyService && (ratio > 1.25 || ratio < 0.7) {
					t.Errorf("%s of %s moved: baseline %g, late %g", metric, svc.name, base, late)
				}
			}
			// Users see 5xx, or, when the gateway itself is stuck, time.
			errs := find(t, b, "http_error_ratio", telemetry.Labels{"service": "gateway", "route": c.route})
			lat := find(t, b, "http_latency_p99", telemetry.Labels{"service": "gateway", "route": c.route})
			_, _, lateErr := stats(b, errs)
			_, _, lateLat := stats(b, lat)
			if s.FaultyService == "gateway" && lateLat < 10 || s.FaultyService != "gateway" && (lateErr < 0.1 || lateErr > 0.95) {
				t.Errorf("gateway %s: late window 5xx %g p99 %gs, want a real outage", c.route, lateErr, lateLat)
			}
			prev := dep.T
			for _, want := range c.chain {
				s := find(t, b, want.Metric, want.Labels)
				base, _, late := stats(b, s)
				at := onset(t, b, s, base+(late-base)/4)
				if !at.After(prev) {
					t.Errorf("%s starts at %s, not after %s", s.ID(), at.Format("15:04:05"), prev.Format("15:04:05"))
				}
				prev = at
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	tl, err := PiDigits().Timeline()
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	want := Timeline{
		Window:      [2]time.Time{at("2026-11-24T13:50:00Z"), at("2026-11-24T14:20:00Z")},
		Baseline:    [2]time.Time{at("2026-11-24T12:50:00Z"), at("2026-11-24T13:50:00Z")},
		DecoyDeploy: at("2026-11-24T13:53:10Z"),
		Deploy:      at("2026-11-24T14:02:00Z"),
		Resource:    at("2026-11-24T14:02:30Z"),
		Latency:     at("2026-11-24T14:03:00Z"),
		Upstream:    at("2026-11-24T14:03:30Z"),
		Symptom:     at("2026-11-24T14:04:00Z"),
	}
	if tl != want {
		t.Errorf("timeline\n got %+v\nwant %+v", tl, want)
	}
}

func TestInvalid(t *testing.T) {
	for _, s := range []Scenario{
		{FaultyService: "payments-db"},
		{FaultyService: "nope"},
		{Fault: "disk-full"},
		{Step: time.Millisecond},
		{Step: time.Hour},
	} {
		if _, err := Generate(s); err == nil {
			t.Errorf("Generate(%+v) succeeded", s)
		}
	}
}

// TestSeedsKeepTheStory: the noise of any seed leaves the order of the
// layers intact.
func TestSeedsKeepTheStory(t *testing.T) {
	for seed := int64(2); seed <= 21; seed++ {
		s := PiDigits()
		s.Seed = seed
		b := generate(t, s)
		dep := deployOf(t, b, "checkout")
		tc := onset(t, b, find(t, b, "cpu_usage", telemetry.Labels{"service": "checkout"}), 1.0)
		tt := onset(t, b, find(t, b, "upstream_timeouts", telemetry.Labels{"service": "gateway", "upstream": "checkout"}), 0.5)
		te := onset(t, b, find(t, b, "http_error_ratio", telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"}), 0.1)
		if !(dep.T.Before(tc) && tc.Before(tt) && tt.Before(te)) {
			t.Errorf("seed %d: deploy %s, cpu %s, timeouts %s, 5xx %s", seed, dep.T, tc, tt, te)
		}
	}
}
