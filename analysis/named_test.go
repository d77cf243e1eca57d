package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

func TestCallersErrorsNameAServiceWithoutTelemetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		redisSeen bool // redis has telemetry of its own, all normal
		wantTop   string
	}{
		{"no telemetry of its own", false, "redis"},
		{"its own telemetry is normal", true, "api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(10).edge("api", "redis").
				add("cpu_usage", svc("api"), stepAt(99, 0.3, 0.3), 0.02)
			if tc.redisSeen {
				f.add("cpu_usage", svc("redis"), stepAt(99, 0.1, 0.1), 0.01)
			}
			for m := -60; m < 30; m++ {
				f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m) * time.Minute),
					Labels: telemetry.Labels{"service": "api", "level": "info"}, Line: "GET /api/items 200"})
				if m < 10 {
					continue
				}
				for i := range 20 {
					f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second),
						Labels: telemetry.Labels{"service": "api", "level": "error"},
						Line:   "GET /api/items: dial tcp redis:6379: connect: connection refused"})
				}
			}
			res := Analyze(f.b, defaultCatalog(), Options{})
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != tc.wantTop {
				t.Fatalf("root causes %v, want %s first", causes(res), tc.wantTop)
			}
			var named *Finding
			for i, a := range res.Anomalies {
				if a.SignalID == namedBySignalID {
					named = &res.Anomalies[i]
				}
			}
			if (named != nil) == tc.redisSeen {
				t.Fatalf("named-by-callers finding %+v with redis telemetry %v", named, tc.redisSeen)
			}
			if named != nil && (named.Service != "redis" || !strings.Contains(named.Explanation, "no telemetry of its own")) {
				t.Errorf("finding on %s: %q", named.Service, named.Explanation)
			}
		})
	}
}
