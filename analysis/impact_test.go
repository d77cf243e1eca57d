package analysis

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// recovered is a step up at onset that falls back at end.
func recovered(onset, end int, before, after float64) shape {
	return func(m int) float64 {
		if m >= onset && m < end {
			return after
		}
		return before
	}
}

func TestAssessImpact(t *testing.T) {
	checkout := svc("gateway", "route", "POST /api/checkout")
	cart := svc("gateway", "route", "GET /api/cart")
	tests := []struct {
		name        string
		fixture     *fixture
		wantOngoing bool
		// failed requests on POST /api/checkout: 10 req/s × ratio × 60 s
		// for each sample of the abnormal run (a sample counts the minute
		// before it, as rate() does).
		wantFailed   float64
		wantRollback string
		wantFirst    string
	}{
		{
			name: "ongoing, rollback known",
			fixture: piChain(1).
				add("http_request_rate", checkout, stepAt(-99, 10, 10), 0).
				add("http_request_rate", cart, stepAt(-99, 5, 5), 0),
			wantOngoing: true,
			wantFailed:  10 * 0.38 * 60 * 17, // minutes 13..29
			wantFirst:   "gateway POST /api/checkout",
		},
		{
			name: "recovered",
			fixture: newFixture(2).edge("gateway", "checkout").
				change(10, "checkout", "deploy checkout v1.4.2").
				add("http_error_ratio", checkout, recovered(13, 20, 0.002, 0.5), 0.0005).
				add("http_request_rate", checkout, stepAt(-99, 10, 10), 0).
				add("http_latency_p99", svc("checkout"), recovered(12, 20, 0.2, 5), 0.01).
				add("cpu_usage", svc("checkout"), recovered(11, 20, 0.3, 1.9), 0.02),
			wantOngoing: false,
			wantFailed:  10 * 0.5 * 60 * 7, // minutes 13..19
			wantFirst:   "gateway POST /api/checkout",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.fixture.b
			b.Changes[len(b.Changes)-1].FromVersion = "v1.4.1"
			res := Analyze(b, defaultCatalog(), Options{})
			imp := AssessImpact(b, defaultCatalog(), res, 0)
			if len(imp.Endpoints) == 0 {
				t.Fatal("no endpoints affected")
			}
			first := imp.Endpoints[0]
			if got := first.Service + " " + first.Endpoint; got != tc.wantFirst {
				t.Errorf("first endpoint = %q, want %q", got, tc.wantFirst)
			}
			if !first.UserFacing {
				t.Error("gateway is not marked user-facing")
			}
			if imp.Ongoing != tc.wantOngoing || first.Ongoing != tc.wantOngoing {
				t.Errorf("ongoing = %v (endpoint %v), want %v", imp.Ongoing, first.Ongoing, tc.wantOngoing)
			}
			if math.Abs(float64(first.FailedRequests)-tc.wantFailed) > 0.05*tc.wantFailed {
				t.Errorf("failed requests = %.0f, want about %.0f", first.FailedRequests, tc.wantFailed)
			}
			if first.BaselineErrorRatio > 0.01 || first.ErrorRatio < 0.3 {
				t.Errorf("error ratio %.3f against baseline %.3f, want a jump from about 0.002", first.ErrorRatio, first.BaselineErrorRatio)
			}
			if want := t0.Add(13 * time.Minute); imp.Onset.Before(want.Add(-2*time.Minute)) || imp.Onset.After(want.Add(2*time.Minute)) {
				t.Errorf("onset = %s, want about %s", imp.Onset, want)
			}
			if imp.FailedRequests != float64(first.FailedRequests) {
				t.Errorf("total failed = %.0f, want only the user-facing endpoint's %.0f", imp.FailedRequests, first.FailedRequests)
			}
			if imp.Change == nil || imp.Change.Service != "checkout" || imp.Rollback != "v1.4.1" {
				t.Errorf("change = %+v rollback %q, want the checkout deploy and v1.4.1", imp.Change, imp.Rollback)
			}
			for _, ep := range imp.Endpoints {
				if ep.Endpoint == "GET /api/cart" {
					t.Errorf("the healthy cart route is listed: %+v", ep)
				}
			}
		})
	}
}

func TestAssessImpactNothingWrong(t *testing.T) {
	f := newFixture(3).
		add("http_error_ratio", svc("gateway", "route", "GET /"), stepAt(99, 0.002, 0.002), 0.0005).
		add("http_request_rate", svc("gateway", "route", "GET /"), stepAt(99, 10, 10), 0.1)
	res := Analyze(f.b, defaultCatalog(), Options{})
	imp := AssessImpact(f.b, defaultCatalog(), res, 0)
	if len(imp.Endpoints) != 0 || !imp.Onset.IsZero() || imp.Ongoing || imp.Change != nil {
		t.Errorf("impact of a quiet window = %+v, want none", imp)
	}
}

func TestLatestChangeWithoutChain(t *testing.T) {
	onset := t0.Add(10 * time.Minute)
	changes := []telemetry.Change{
		{T: onset.Add(-3 * time.Hour), Service: "a", Kind: telemetry.ChangeDeploy},    // outside the lookback
		{T: onset.Add(-20 * time.Minute), Service: "b", Kind: telemetry.ChangeDeploy}, // the one
		{T: onset.Add(-10 * time.Minute), Service: "c", Kind: telemetry.ChangeCommit}, // a commit is not a rollout
		{T: onset.Add(time.Minute), Service: "d", Kind: telemetry.ChangeDeploy},       // after the onset
	}
	c := latestChange(changes, Result{}, onset, 2*time.Hour, nil)
	if c == nil || c.Service != "b" {
		t.Fatalf("latest change = %+v, want b's deploy", c)
	}
}

func TestMeasureJSON(t *testing.T) {
	in := EndpointImpact{Service: "s", ErrorRatio: Measure(math.NaN()), Latency: 1.5, Requests: Measure(math.Inf(1))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"error_ratio":null`) || !strings.Contains(string(b), `"latency":1.5`) || !strings.Contains(string(b), `"requests":null`) {
		t.Fatalf("marshalled %s", b)
	}
	var out EndpointImpact
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.ErrorRatio.Known() || out.Latency != 1.5 {
		t.Errorf("round trip gave %+v", out)
	}
}
