package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo/demotest"
	"github.com/rca-tool/rca/telemetry"
)

// TestDemoVerdict: on the demo incident the checkout deploy comes first,
// with enough confidence for the verdict "cause found".
func TestDemoVerdict(t *testing.T) {
	res := Analyze(demotest.PiDigits(t), defaultCatalog(), Options{})
	if res.Verdict != VerdictCauseFound {
		t.Errorf("verdict %q, want %q", res.Verdict, VerdictCauseFound)
	}
	if len(res.RootCauses) == 0 {
		t.Fatal("no root cause")
	}
	top := res.RootCauses[0]
	if top.Service != "checkout" || top.Change == nil {
		t.Errorf("top candidate %s (%s), want the checkout deploy", top.Service, top.Explanation)
	}
	if top.Confidence < 0.5 {
		t.Errorf("top confidence %.3f, want >= 0.5", top.Confidence)
	}
	for _, c := range res.RootCauses {
		t.Logf("%d %s confidence %.3f features %.2f", c.Rank, c.Service, c.Confidence, c.Features)
		if c.Confidence < 0 || c.Confidence > 1 || math.IsNaN(c.Confidence) {
			t.Errorf("%s: confidence %v outside [0, 1]", c.Service, c.Confidence)
		}
		if len(c.Features) != numConfidenceFeatures {
			t.Errorf("%s: %d features, want %d", c.Service, len(c.Features), numConfidenceFeatures)
		}
	}
}

// TestQuietStretchVerdict: the half hour before the demo's deploy is
// normal operation; one upstream timeout in two minutes off a flat-zero
// baseline must not make a culprit of it.
func TestQuietStretchVerdict(t *testing.T) {
	b := demotest.PiDigits(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	b.Window = telemetry.Window{From: at("2026-11-24T13:20:00Z"), To: at("2026-11-24T13:50:00Z")}
	b.Baseline = telemetry.Window{From: at("2026-11-24T12:50:00Z"), To: at("2026-11-24T13:20:00Z")}
	res := Analyze(b, defaultCatalog(), Options{})
	for _, c := range res.RootCauses {
		t.Logf("%d %s confidence %.3f: %s", c.Rank, c.Service, c.Confidence, c.Explanation)
	}
	if res.Verdict != VerdictNothingStandsOut {
		t.Errorf("verdict %q, want %q", res.Verdict, VerdictNothingStandsOut)
	}
	for _, f := range res.Anomalies {
		if f.Signal == "upstream timeouts to checkout" {
			t.Errorf("one timeout in two minutes is anomalous: %s", f.Explanation)
		}
	}
}

func TestVerdictThreshold(t *testing.T) {
	for _, tc := range []struct {
		cs   []Candidate
		want string
	}{
		{nil, VerdictNothingStandsOut},
		{[]Candidate{{Confidence: ConfidenceThreshold}}, VerdictCauseFound},
		{[]Candidate{{Confidence: ConfidenceThreshold - 0.01}, {Confidence: 0.99}}, VerdictNothingStandsOut},
	} {
		if got := verdict(tc.cs); got != tc.want {
			t.Errorf("verdict(%v) = %q, want %q", tc.cs, got, tc.want)
		}
	}
}

func TestCompress(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{
		{0, 0}, {5, 5}, {10, 10}, {10 * math.E, 20}, {1000, 10 * (1 + math.Log(100))},
	} {
		if got := compress(tc.in); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("compress(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !(compress(1e6) > compress(1e3)) {
		t.Error("compress does not keep the order of extreme scores")
	}
}

func TestIsError(t *testing.T) {
	for _, tc := range []struct {
		f    Finding
		want bool
	}{
		{Finding{Labels: telemetry.Labels{"level": "ERROR"}}, true},
		{Finding{Labels: telemetry.Labels{"level": "INFO"}}, false},
		{Finding{Patterns: []LogPattern{{Level: "critical"}}}, true},
		{Finding{Source: "logs", SignalID: "log_errors"}, true},
		{Finding{Source: "metrics", Metric: "http_client_errors_total"}, false},
	} {
		if got := isError(tc.f); got != tc.want {
			t.Errorf("isError(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

// TestConfidenceEvidenceFeatures: lines and requests that rose together are
// one fact, more activity, however many series show it; a service whose
// logs are in the data but hold no new error counts against a fault, one
// whose logs are not counts neither way.
func TestConfidenceEvidenceFeatures(t *testing.T) {
	rise, flat := stepAt(5, 10, 60), stepAt(5, 10, 10)
	for _, tc := range []struct {
		name    string
		build   func(f *fixture)
		signals int     // breadth: distinct signals that moved
		errors  float64 // the errors feature
	}{
		{"activity counts once", func(f *fixture) {
			f.add("log_lines_count", svc("api", "level", "debug"), rise, 1).
				add("log_lines_count", svc("api", "level", "info", "component", "worker"), rise, 1).
				add("rpc_requests_count", svc("api"), rise, 1)
		}, 1, -1},
		{"activity and latency", func(f *fixture) {
			f.add("log_lines_count", svc("api", "level", "debug"), rise, 1).
				add("rpc_requests_count", svc("api"), rise, 1).
				add("request_latency_seconds", svc("api"), stepAt(5, 0.1, 0.6), 0.01)
		}, 2, -1},
		{"resources without logs", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("memory_usage", svc("api"), rise, 1).
				add("request_latency_seconds", svc("api"), stepAt(5, 0.1, 0.6), 0.01)
		}, 3, 0},
		{"new errors", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("log_lines_count", svc("api", "level", "error"), rise, 1)
		}, 2, 1},
		{"its availability fell", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				uncatalogued("availability_average", svc("api"), stepAt(5, 1, 0.7))
		}, 2, 1},
		{"an instance of it stopped", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1)
			var pts []telemetry.Point
			for m := -60; m < 5; m++ { // then nothing: all of api-1's series gone
				pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: 10 + f.rng.NormFloat64()})
			}
			f.b.Series = append(f.b.Series, telemetry.Series{Metric: "request_latency_seconds", Signal: "request_latency_seconds", Labels: svc("api", "instance", "api-1:8080")}.WithPoints(pts...))
		}, 2, 1},
		{"its up gauge fell to 0", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				uncatalogued("up", svc("api"), stepAt(5, 1, 0))
		}, 2, 1},
		{"its available memory fell", func(f *fixture) { // read as falling, not as failing
			f.add("cpu_usage", svc("api"), rise, 1).
				uncatalogued("memory_available_bytes", svc("api"), stepAt(5, 4e9, 1e9))
		}, 2, 0},
		{"its error lines fell", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("log_lines_count", svc("api", "level", "error"), stepAt(5, 60, 10), 1)
		}, 2, -1},
		{"its error rate rose", func(f *fixture) { // request errors may be the clients' (4xx): not counted
			f.add("cpu_usage", svc("api"), rise, 1).
				uncatalogued("error_rate", svc("api"), stepAt(5, 0.01, 0.3))
		}, 2, 0},
		{"logs without new errors", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("log_lines_count", svc("api", "level", "info"), flat, 1)
		}, 1, -1},
		{"a log signal the server counted", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("log_timeouts", svc("api"), flat, 1)
		}, 1, -1},
		{"a log count that saw no line", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("log_errors", svc("api"), stepAt(5, 0, 0), 0)
		}, 1, 0},
		{"an alert's severity is no log", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1).
				add("alerts_firing", svc("api", "severity", "warning"), flat, 1)
		}, 1, 0},
		{"log lines without new errors", func(f *fixture) {
			f.add("cpu_usage", svc("api"), rise, 1)
			for m := -60; m < 30; m += 2 {
				f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m) * time.Minute), Labels: svc("api", "level", "info"), Line: "served the request"})
			}
		}, 1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(7)
			tc.build(f)
			f.add("cpu_usage", svc("db"), flat, 1)
			res := Analyze(f.b, defaultCatalog(), Options{})
			var c *Candidate
			for i := range res.RootCauses {
				if res.RootCauses[i].Service == "api" {
					c = &res.RootCauses[i]
				}
			}
			if c == nil {
				t.Fatalf("api is no candidate: %+v", res.RootCauses)
			}
			if want := math.Log1p(float64(tc.signals)); math.Abs(c.Features[3]-want) > 1e-9 {
				t.Errorf("breadth %.3f, want log1p(%d) = %.3f", c.Features[3], tc.signals, want)
			}
			if c.Features[7] != tc.errors {
				t.Errorf("errors feature %v, want %v", c.Features[7], tc.errors)
			}
		})
	}
}

// A catalog's own level label names a series' level: its error lines are
// the service's errors, its debug lines activity, as with the usual labels.
func TestCatalogLevelLabels(t *testing.T) {
	user, err := catalog.Parse([]byte("level_labels: [sev]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cat := defaultCatalog().Extend(user)
	f := newFixture(10).
		add("cpu_usage", svc("api"), stepAt(5, 10, 60), 1).
		add("log_lines_count", svc("api", "sev", "ERROR"), stepAt(5, 10, 60), 1).
		add("log_lines_count", svc("api", "sev", "DEBUG", "component", "worker"), stepAt(5, 10, 400), 1)
	res := Analyze(f.b, cat, Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %+v, want api", res.RootCauses)
	}
	if got := res.RootCauses[0].Features[7]; got != 1 {
		t.Errorf("errors feature %v, want 1: sev=ERROR lines are the service's errors", got)
	}
	for _, a := range res.Anomalies {
		if a.Labels["sev"] == "DEBUG" && !a.traffic {
			t.Errorf("sev=DEBUG lines are not activity: %+v", a)
		}
	}
}

// TestOneSampleFeature: a service whose every anomaly peaks in a run of
// one sample of a level or rate is coded −1; a run of samples, a count of events (a burst
// of errors in one sample) or a change is not.
func TestOneSampleFeature(t *testing.T) {
	// Two lone samples far apart: the second-highest counts (one alone is
	// never anomalous, see sustainedPeak), and the run holding the peak is
	// one sample long.
	spike := func(before, peak float64) shape {
		return func(m int) float64 {
			switch m {
			case 12:
				return peak
			case 20:
				return peak * 0.9
			}
			return before
		}
	}
	for _, tc := range []struct {
		name  string
		build func(f *fixture)
		want  float64
	}{
		{"one sample of CPU", func(f *fixture) { f.add("cpu_usage", svc("api"), spike(10, 60), 1) }, -1},
		{"one sample of CPU and of latency", func(f *fixture) {
			f.add("cpu_usage", svc("api"), spike(10, 60), 1).add("request_latency_seconds", svc("api"), spike(0.1, 0.6), 0.01)
		}, -1},
		{"CPU for a while", func(f *fixture) { f.add("cpu_usage", svc("api"), pulse(12, 16, 60), 1) }, 0},
		{"its peak in the window's last sample", func(f *fixture) {
			f.add("cpu_usage", svc("api"), func(m int) float64 {
				switch m {
				case 12:
					return 54
				case 29: // it may go on after the window
					return 60
				}
				return 10
			}, 1)
		}, 0},
		{"one sample of CPU, latency for a while", func(f *fixture) {
			f.add("cpu_usage", svc("api"), spike(10, 60), 1).add("request_latency_seconds", svc("api"), stepAt(12, 0.1, 0.6), 0.01)
		}, 0},
		{"its peak when the window began, with no data before", func(f *fixture) {
			var pts []telemetry.Point
			for m := -60; m < 30; m++ {
				v := 10 + f.rng.NormFloat64()
				switch {
				case m >= -10 && m < 0:
					continue // a gap: it may have begun before the window
				case m == 0:
					v = 60
				case m == 20:
					v = 54
				}
				pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: v})
			}
			f.b.Series = append(f.b.Series, telemetry.Series{Metric: "cpu_usage", Signal: "cpu_usage", Labels: svc("api")}.WithPoints(pts...))
		}, 0},
		{"a burst of errors in one sample", func(f *fixture) {
			f.uncatalogued("errors_total", svc("api"), pulse(12, 13, 40))
		}, 0},
		{"one sample of CPU and of a new error template", func(f *fixture) {
			f.add("cpu_usage", svc("api"), spike(10, 60), 1)
			r := rand.New(rand.NewPCG(9, 9))
			for m := -60; m < 30; m++ { // a steady, noisy error rate that does not show the new template
				f.logs(lvl("api", "error"), m, m+1, 4+r.IntN(9), func(i int) string { return fmt.Sprintf("provider %d returned HTTP 502", i%3) })
			}
			for _, m := range []int{12, 20} { // a new template, in two lone minutes as the CPU
				f.logs(lvl("api", "error"), m, m+1, 5, func(i int) string { return fmt.Sprintf("idempotency key reused for order ord_%d", 5000+i) })
			}
		}, 0},
		{"one sample of CPU after a deploy", func(f *fixture) {
			f.add("cpu_usage", svc("api"), spike(10, 60), 1).change(11, "api", "api v2")
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(5)
			tc.build(f)
			f.add("cpu_usage", svc("db"), stepAt(5, 10, 10), 1)
			res := Analyze(f.b, defaultCatalog(), Options{})
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
				t.Fatalf("root causes %+v, want api", res.RootCauses)
			}
			if got := res.RootCauses[0].Features[8]; got != tc.want {
				t.Errorf("oneSample feature %v, want %v", got, tc.want)
			}
		})
	}
}

// The ranking credits a service's own word that it failed once: error
// lines that rose weigh errorWeight more than the same lines at warning
// level, and an up gauge at 0 (itself a sign that the service failed) gets
// the outage's credit alone, not errorWeight on top.
func TestFailureCreditedOnce(t *testing.T) {
	rise := stepAt(5, 10, 60)
	f := newFixture(21).
		add("cpu_usage", svc("errs"), rise, 1).add("log_lines_count", svc("errs", "level", "error"), rise, 1).
		add("cpu_usage", svc("warns"), rise, 1).add("log_lines_count", svc("warns", "level", "warning"), rise, 1)
	res := Analyze(f.b, defaultCatalog(), Options{})
	score := map[string]float64{}
	for _, s := range res.Services {
		score[s.Service] = s.Score
	}
	// The series' noise differs a little: within a tenth of the credit.
	if got := score["errs"] / score["warns"]; math.Abs(got-errorWeight) > 0.1 {
		t.Errorf("errors / warnings score %.3f (%v), want errorWeight %v", got, score, errorWeight)
	}

	// Down after a deploy, the change has the credit; error lines beside
	// it add errorWeight, the up gauge at 0 does not.
	deployed := func(errs bool) float64 {
		f := newFixture(23).uncatalogued("up", svc("down"), stepAt(5, 1, 0)).change(4, "down", "down v2")
		if errs {
			f.add("log_lines_count", svc("down", "level", "error"), stepAt(5, 10, 60), 1)
		}
		res := Analyze(f.b, defaultCatalog(), Options{})
		if len(res.Services) != 1 {
			t.Fatalf("services %v, want one", res.Services)
		}
		return res.Services[0].Score
	}
	if got := deployed(true) / deployed(false); math.Abs(got-errorWeight) > 0.01 {
		t.Errorf("down after a deploy, with errors / without: %.3f, want errorWeight %v", got, errorWeight)
	}

	// One service, one series: no onset order, no graph, all of it moved.
	res = Analyze(newFixture(22).uncatalogued("up", svc("down"), stepAt(5, 1, 0)).b, defaultCatalog(), Options{})
	if len(res.Anomalies) != 1 || len(res.Services) != 1 {
		t.Fatalf("anomalies %v, services %v: want one of each", res.Anomalies, res.Services)
	}
	want := math.Log1p(res.Anomalies[0].Score) * 2 * layerWeight[3] * 1.5
	if got := res.Services[0].Score; math.Abs(got-want) > 0.01*want {
		t.Errorf("down service scored %.4f, want %.4f: log1p(peak) · 2 · layerWeight[3] · 1.5, credited once", got, want)
	}
}

// Availability counts as failing when it fell, whatever direction a catalog
// gives it: a success ratio that rose is no failure.
func TestAvailabilityThatRose(t *testing.T) {
	user, err := catalog.Parse([]byte("signals:\n  - id: checkout_success\n    name: checkout success ratio\n    layer: symptom\n    direction: both\n    unit: ratio\n    impact: availability\n    metrics: ['checkout_success_ratio']\n"))
	if err != nil {
		t.Fatal(err)
	}
	cat := defaultCatalog().Extend(user)
	for _, tc := range []struct {
		name   string
		shape  shape
		errors float64
	}{
		{"fell", stepAt(5, 0.99, 0.6), 1},
		{"rose", stepAt(5, 0.6, 0.99), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(24).add("cpu_usage", svc("api"), stepAt(5, 10, 60), 1).
				add("checkout_success", svc("api"), tc.shape, 0.005)
			res := Analyze(f.b, cat, Options{})
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
				t.Fatalf("root causes %v, want api", causes(res))
			}
			if got := res.RootCauses[0].Features[7]; got != tc.errors {
				t.Errorf("errors feature %v, want %v", got, tc.errors)
			}
		})
	}
}

func TestBaselineEvidence(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want float64
	}{
		{0, 0}, // no baseline: the shrink says it, not the feature
		{5, 0},
		{minBaselineSamples, 0},
		{100, math.Log(10)},
		{maxBaselineSamples, math.Log(30)},
		{100 * maxBaselineSamples, math.Log(30)}, // no credit past what the fit saw
	} {
		if got := baselineEvidence(tc.n); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("baselineEvidence(%d) = %.4f, want %.4f", tc.n, got, tc.want)
		}
	}
}

// TestLongerBaselineMoreConfidence: the same window judged against more
// of the same normal operation gives the baseline feature, and so the
// confidence, more weight.
func TestLongerBaselineMoreConfidence(t *testing.T) {
	b := demotest.PiDigits(t)
	long := Analyze(b, defaultCatalog(), Options{})
	short := b
	short.Baseline.From = b.Baseline.To.Add(-b.Baseline.Duration() / 3)
	cut := Analyze(short, defaultCatalog(), Options{})
	if len(long.RootCauses) == 0 || len(cut.RootCauses) == 0 {
		t.Fatal("no root cause")
	}
	bi := len(ConfidenceFeatureNames) - 1
	if ConfidenceFeatureNames[bi] != "baseline" {
		t.Fatalf("last feature %q, want baseline", ConfidenceFeatureNames[bi])
	}
	lf, cf := long.RootCauses[0].Features[bi], cut.RootCauses[0].Features[bi]
	t.Logf("baseline feature %.3f (%s) vs %.3f (%s)", lf, b.Baseline.Duration(), cf, short.Baseline.Duration())
	if cf <= 0 || lf-cf < math.Log(2) {
		t.Errorf("baseline feature %.3f for a third of the baseline, %.3f for all of it: want both > 0, about ln 3 apart", cf, lf)
	}
	for _, c := range long.RootCauses {
		if c.Features[bi] != lf {
			t.Errorf("%s: baseline feature %.3f, want the run's %.3f", c.Service, c.Features[bi], lf)
		}
	}
	if long.RootCauses[0].Service == cut.RootCauses[0].Service && long.RootCauses[0].Confidence < cut.RootCauses[0].Confidence {
		t.Errorf("confidence %.3f with the whole baseline < %.3f with a third of it", long.RootCauses[0].Confidence, cut.RootCauses[0].Confidence)
	}
	if long.BaselineShrink != 1 {
		t.Errorf("shrink %.2f on a long baseline, want 1", long.BaselineShrink)
	}
}

// TestShortBaselineShrinks: under ten samples every confidence is the
// model's probability shrunk by n/10, and the result says by how much.
func TestShortBaselineShrinks(t *testing.T) {
	b := demotest.PiDigits(t)
	b.Baseline.From = b.Baseline.To.Add(-150 * time.Second) // five samples of 30 s
	res := Analyze(b, defaultCatalog(), Options{})
	if res.BaselineShrink <= 0 || res.BaselineShrink >= 1 {
		t.Fatalf("shrink %.2f on a baseline of five samples, want in (0, 1)", res.BaselineShrink)
	}
	if res.BaselineShrink != 0.5 {
		t.Errorf("shrink %.2f, want 5/10", res.BaselineShrink)
	}
	if len(res.RootCauses) == 0 {
		t.Fatal("no root cause")
	}
	top := res.RootCauses[0]
	want := res.BaselineShrink * DefaultConfidenceModel().Probability(top.Features)
	if math.Abs(top.Confidence-want) > 0.001 {
		t.Errorf("confidence %.3f, want shrink × model = %.3f", top.Confidence, want)
	}
}
