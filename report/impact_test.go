package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/telemetry"
)

func impactFixture() analysis.Impact {
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	nan := analysis.Measure(math.NaN())
	return analysis.Impact{
		Window:   telemetry.Window{From: t0.Add(-10 * time.Minute), To: t0.Add(20 * time.Minute)},
		Baseline: telemetry.Window{From: t0.Add(-70 * time.Minute), To: t0.Add(-10 * time.Minute)},
		Onset:    t0.Add(3 * time.Minute), Ongoing: true, Services: []string{"gateway"},
		Endpoints: []analysis.EndpointImpact{
			{Service: "gateway", Endpoint: "POST /api/checkout", UserFacing: true, Onset: t0.Add(4 * time.Minute), Until: t0.Add(19 * time.Minute), Ongoing: true,
				ErrorRatio: 0.365, BaselineErrorRatio: 0.005, Requests: 11300, FailedRequests: 4130,
				Latency: 29.8, BaselineLatency: 0.472, LatencySignal: "p99 latency", Availability: nan, BaselineAvailability: nan},
			{Service: "gateway", Endpoint: "GET /<script>alert(1)</script>|x", UserFacing: true, Onset: t0.Add(5 * time.Minute), Until: t0.Add(7 * time.Minute),
				ErrorRatio: 0.001, BaselineErrorRatio: 0.001, Requests: nan, FailedRequests: nan,
				Latency: nan, BaselineLatency: nan, Availability: nan, BaselineAvailability: nan},
		},
		FailedRequests: 4130,
		Change:         &telemetry.Change{T: t0.Add(2 * time.Minute), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2", FromVersion: "v1.4.1"},
		Rollback:       "v1.4.1",
	}
}

func TestRenderImpact(t *testing.T) {
	imp := impactFixture()
	tests := []struct {
		format string
		want   []string
	}{
		{"text", []string{
			"Started at 14:03:00 UTC and is still going on; affects gateway; about 4.13k requests failed.",
			"gateway POST /api/checkout (user-facing)  [since 14:04:00]",
			"36.5% of requests fail (normally 0.5%), about 4.13k of 11.3k; responses are 63.1x slower than usual (p99 latency 29.8s, normally 472ms)",
			"[14:05:00 - 14:07:00, recovered]", "errors as usual (0.1%)",
			"roll back checkout to v1.4.1.",
		}},
		{"markdown", []string{"## Impact", "| gateway (user-facing) | POST /api/checkout | since 14:04:00 |", "&lt;script&gt;", "\\|x"}},
		{"json", []string{`"schema": "rca.impact/v1"`, `"failed_requests": 4130`, `"latency": null`, `"rollback": "v1.4.1"`}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := RenderImpact(&b, tc.format, imp); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%s lacks %q:\n%s", tc.format, w, b.String())
				}
			}
			if tc.format == "markdown" && strings.Contains(b.String(), "<script>") {
				t.Error("markdown holds raw HTML from an endpoint name")
			}
			if tc.format == "json" && !json.Valid(b.Bytes()) {
				t.Error("invalid JSON")
			}
		})
	}
	if err := RenderImpact(&bytes.Buffer{}, "yaml", imp); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func TestImpactNothing(t *testing.T) {
	imp := analysis.Impact{Window: impactFixture().Window}
	if h := ImpactHeadline(imp); !strings.HasPrefix(h, "No user-facing symptom stands out") {
		t.Errorf("headline = %q", h)
	}
	if l := RollbackLine(imp); l != "" {
		t.Errorf("rollback line without a change = %q", l)
	}
}

func TestPlainEndpointSentence(t *testing.T) {
	e := impactFixture().Endpoints[0]
	s := PlainEndpointSentence(e)
	if strings.Contains(s, "p99") || !strings.Contains(s, "up to 29.8s instead of 472ms") {
		t.Errorf("plain sentence = %q", s)
	}
}
