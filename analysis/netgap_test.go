package analysis

import (
	"strings"
	"testing"
)

func TestNetworkGapBlamesTheCallee(t *testing.T) {
	for _, tc := range []struct {
		name    string
		own     shape // payments' own p99 latency; nil for none
		wantGap bool
		wantTop string
	}{
		{"callers see it slower than it sees itself", stepAt(99, 0.04, 0.04), true, "payments"},
		{"its own latency rose as well", stepAt(10, 0.04, 0.35), false, "payments"},
		{"no view of its own", nil, false, "gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(6).edge("gateway", "payments").
				add("upstream_latency_p99", svc("gateway", "upstream", "payments"), stepAt(10, 0.05, 0.4), 0.003).
				add("cpu_usage", svc("payments"), stepAt(99, 0.3, 0.3), 0.02)
			if tc.own != nil {
				f.add("http_latency_p99", svc("payments"), tc.own, 0.002)
			}
			res := Analyze(f.b, defaultCatalog(), Options{})
			var gap *Finding
			for i, a := range res.Anomalies {
				if a.SignalID == networkGapSignalID {
					gap = &res.Anomalies[i]
				}
			}
			if (gap != nil) != tc.wantGap {
				t.Fatalf("network gap finding = %+v, want one: %v", gap, tc.wantGap)
			}
			if gap != nil {
				if gap.Service != "payments" || !strings.Contains(gap.Explanation, "lost between them") {
					t.Errorf("gap finding %s: %q", gap.Service, gap.Explanation)
				}
			}
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != tc.wantTop {
				t.Errorf("root causes %+v, want %s first", res.RootCauses, tc.wantTop)
			}
		})
	}
}

func TestNetworkGapChain(t *testing.T) {
	f := newFixture(6).edge("gateway", "payments").
		add("upstream_latency_p99", svc("gateway", "upstream", "payments"), stepAt(10, 0.05, 0.4), 0.003).
		add("http_latency_p99", svc("payments"), stepAt(99, 0.04, 0.04), 0.002).
		add("http_latency_p99", svc("gateway"), stepAt(10, 0.06, 0.42), 0.003)
	res := Analyze(f.b, defaultCatalog(), Options{})
	if got, want := layers(res.Chain), "symptom@gateway <- propagation@gateway <- resource@payments"; got != want {
		t.Errorf("chain %s, want %s", got, want)
	}
}
