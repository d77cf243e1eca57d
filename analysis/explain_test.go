package analysis

import (
	"regexp"
	"strings"
	"testing"
)

// rawValue is a value written raw: an exponent, or a number followed by
// the catalog's unit name.
var rawValue = regexp.MustCompile(`\d(e[+-]\d+|\s+(bytes|seconds|ratio|per_second|per_minute))\b`)

// TestExplanationUnits: a "why" line writes its values as the reports do,
// in the signal's unit (issue 16: "2.16e+07 bytes" beside "20.6 MiB").
func TestExplanationUnits(t *testing.T) {
	tests := []struct {
		name   string
		signal string
		before float64
		after  float64
		want   string
	}{
		{"bytes in binary multiples", "memory_working_set", 21.6e6, 412 << 20, "from 20.6 MiB to 412 MiB"},
		{"seconds in ms and s", "http_latency_p99", 0.0674, 29.8, "from 67.4ms to 29.8s"},
		{"ratios as percentages", "http_error_ratio", 0.0049, 0.383, "from 0.49% to 38.3%"},
		{"cores", "cpu_usage", 0.3, 1.95, "from 0.3 cores to 1.95 cores"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(7).add(tc.signal, svc("checkout"), stepAt(10, tc.before, tc.after), 0)
			res := Analyze(f.b, defaultCatalog(), Options{})
			for _, a := range res.Anomalies {
				if a.SignalID != tc.signal {
					continue
				}
				if !strings.Contains(a.Explanation, tc.want) {
					t.Errorf("why %q, want %q in it", a.Explanation, tc.want)
				}
				if bad := rawValue.FindString(a.Explanation); bad != "" {
					t.Errorf("why %q has %q: a value not in its unit", a.Explanation, bad)
				}
				return
			}
			t.Fatalf("no %s anomaly in %d anomalies", tc.signal, len(res.Anomalies))
		})
	}
}
