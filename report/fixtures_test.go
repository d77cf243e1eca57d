package report

import (
	"math"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Hand-built results shaped like what analysis produces for the pi-digits
// demo incident and its degenerate cases.

func at(hms string) time.Time {
	t, err := time.Parse(time.DateTime, "2024-05-14 "+hms)
	if err != nil {
		panic(err)
	}
	return t
}

func demoWindow() (telemetry.Window, telemetry.Window) {
	return telemetry.Window{From: at("14:00:00"), To: at("14:30:00")},
		telemetry.Window{From: at("13:00:00"), To: at("14:00:00")}
}

func gateway5xx() analysis.Finding {
	return analysis.Finding{
		Service:       "gateway",
		Signal:        "5xx ratio",
		SignalID:      "http_error_ratio",
		Metric:        "http_error_ratio",
		Labels:        telemetry.Labels{"service": "gateway", "route": "/api/checkout", "method": "POST"},
		Layer:         catalog.LayerSymptom,
		Direction:     catalog.Up,
		Unit:          "ratio",
		Query:         `sum by (service) (rate(http_requests_total{service="gateway",code=~"5.."}[1m])) / sum by (service) (rate(http_requests_total{service="gateway"}[1m]))`,
		Score:         41.7,
		Onset:         at("14:04:12"),
		BaselineValue: 0.001,
		ObservedValue: 0.38,
		Explanation:   "38% of gateway requests fail with a 5xx, up from 0.1% in the baseline.",
		SeriesID:      `http_error_ratio{service="gateway"}`,
	}
}

func gatewayUpstream() analysis.Finding {
	return analysis.Finding{
		Service:       "gateway",
		Signal:        "upstream p99 latency",
		SignalID:      "upstream_latency_p99",
		Metric:        "envoy_cluster_upstream_rq_time",
		Labels:        telemetry.Labels{"service": "gateway", "upstream": "checkout"},
		Callee:        "checkout",
		Layer:         catalog.LayerPropagation,
		Direction:     catalog.Up,
		Unit:          "seconds",
		Query:         `histogram_quantile(0.99,sum by(le,service,upstream)(rate(envoy_cluster_upstream_rq_time_bucket{service="gateway"}[1m])))`,
		Score:         28.3,
		Onset:         at("14:04:00"),
		Until:         at("14:29:45"),
		BaselineValue: 0.12,
		ObservedValue: 30,
		Explanation:   "gateway calls to checkout hit the 30s upstream timeout (504s, \"upstream request timeout\" in the gateway logs) 12s before users saw 5xx.",
		SeriesID:      `envoy_cluster_upstream_rq_time{service="gateway",upstream="checkout"}`,
	}
}

// gatewayTimeouts is the log template the gateway wrote while its calls to
// checkout timed out: evidence beside the upstream latency link.
func gatewayTimeouts() analysis.LogPattern {
	return analysis.LogPattern{
		ID:            "5c0e7d1a9b3f2e48",
		Template:      "upstream timed out (<NUM>: Connection timed out) while reading response header from upstream, upstream: <*> request_id=<*>",
		Level:         "error",
		SignalID:      "log_timeouts",
		Layer:         catalog.LayerPropagation,
		Callee:        "checkout",
		New:           true,
		BaselineCount: 0,
		WindowCount:   412,
		BaselineRate:  0,
		WindowRate:    13.73,
		Onset:         at("14:04:00"),
		Until:         at("14:29:00"),
		Examples: []string{
			`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://10.0.3.17:8080/api/checkout", request_id=8a215319e00a334e`,
			`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://10.0.3.29:8080/api/checkout", request_id=b28ede7ec2ee7b5e`,
		},
		Query: "sum(count_over_time({service=\"gateway\", level=~\"(?i)error\"} |~ `upstream\\s+timed\\s+out` [1m]))",
	}
}

func checkoutCPU() analysis.Finding {
	return analysis.Finding{
		Service:       "checkout",
		Signal:        "CPU usage",
		SignalID:      "cpu_usage",
		Metric:        "container_cpu_usage_seconds_total",
		Labels:        telemetry.Labels{"service": "checkout", "container": "checkout"},
		Layer:         catalog.LayerResource,
		Direction:     catalog.Up,
		Unit:          "cores",
		Query:         `sum by (service) (rate(container_cpu_usage_seconds_total{service="checkout"}[1m]))`,
		Score:         19.6,
		Onset:         at("14:03:10"),
		BaselineValue: 0.3,
		ObservedValue: 1.95,
		Explanation:   "checkout pods use 1.95 cores against 0.3 in the baseline, at their 2-core limit.",
		SeriesID:      `container_cpu_usage_seconds_total{service="checkout"}`,
	}
}

func checkoutDeploy() analysis.Finding {
	c := telemetry.Change{
		T:           at("14:02:00"),
		Service:     "checkout",
		Kind:        telemetry.ChangeDeploy,
		Summary:     "deploy checkout v1.4.2",
		FromVersion: "v1.4.1",
		ToVersion:   "v1.4.2",
		Commit:      "9f3c1e2b7d4a6c8e0f1a2b3c4d5e6f708192a3b4",
		Author:      "dana",
		Files:       []string{"checkout/handler.go", "checkout/pi.go"},
		Source:      "changes.yaml",
	}
	return analysis.Finding{
		Service:     "checkout",
		Signal:      "deploy",
		SignalID:    "change",
		Layer:       catalog.LayerChange,
		Score:       0,
		Onset:       c.T,
		Change:      &c,
		Explanation: "checkout v1.4.2 went out 70s before its CPU rose; commit 9f3c1e2 \"compute pi to 10,000 places\" runs on every request.",
	}
}

func cartMemory() analysis.Finding {
	return analysis.Finding{
		Service:       "cart",
		Signal:        "memory working set",
		SignalID:      "memory_working_set",
		Metric:        "container_memory_working_set_bytes",
		Layer:         catalog.LayerResource,
		Direction:     catalog.Up,
		Unit:          "bytes",
		Score:         3.1,
		Onset:         at("14:11:30"),
		BaselineValue: 256 * 1024 * 1024,
		ObservedValue: 412 * 1024 * 1024,
		Explanation:   "A short memory rise on cart, after the symptom started.",
	}
}

func searchNoise() analysis.Finding {
	return analysis.Finding{
		Service:       "search",
		Signal:        "search_queue_depth",
		SignalID:      "search_queue_depth",
		Metric:        "search_queue_depth",
		Layer:         catalog.LayerPropagation,
		Direction:     catalog.Up,
		Score:         2.2,
		Onset:         at("14:09:00"),
		BaselineValue: 14,
		ObservedValue: 1830,
		Heuristic:     true,
		Explanation:   "The queue depth of search is always spiky; this spike is within its usual range.",
	}
}

func candidate(rank int, score float64, f analysis.Finding) analysis.Candidate {
	return analysis.Candidate{Rank: rank, Service: f.Service, Score: score, Finding: f}
}

// demoResult is the pi-digits story: gateway 5xx <- gateway upstream
// timeouts <- checkout CPU <- deploy checkout v1.4.2.
func demoResult() analysis.Result {
	w, b := demoWindow()
	paymentsLatency := analysis.Finding{
		Service: "payments", Signal: "p99 latency", SignalID: "http_latency_p99", Layer: catalog.LayerSymptom,
		Unit: "seconds", Score: 2.4, Onset: at("14:05:00"), BaselineValue: 0.085, ObservedValue: 0.14,
		Explanation: "payments is slower because fewer checkouts complete.",
	}
	upstream := gatewayUpstream()
	upstream.Patterns = []analysis.LogPattern{gatewayTimeouts()}
	top := candidate(1, 0.92, checkoutDeploy())
	top.Confidence = 0.83
	cart := cartMemory()
	return analysis.Result{
		Window:   w,
		Baseline: b,
		Verdict:  analysis.VerdictCauseFound,
		Symptoms: []analysis.Finding{gateway5xx()},
		RootCauses: []analysis.Candidate{
			top,
			candidate(2, 0.41, gatewayUpstream()),
			candidate(3, 0.12, paymentsLatency),
			candidate(4, 0.08, cartMemory()),
			candidate(5, 0.05, searchNoise()),
			candidate(6, 0.01, analysis.Finding{Service: "catalog", Signal: "error log lines", Layer: catalog.LayerSymptom, Unit: "per_second", Score: 1.1, Onset: at("14:20:00"), BaselineValue: 0.2, ObservedValue: 0.5}),
		},
		Chain:     []analysis.Finding{gateway5xx(), upstream, checkoutCPU(), checkoutDeploy()},
		Anomalies: []analysis.Finding{gateway5xx(), gatewayUpstream(), checkoutCPU(), paymentsLatency, cartMemory(), searchNoise()},
		UnlinkedChanges: []telemetry.Change{{
			T: at("13:20:00"), Service: "cart", Kind: telemetry.ChangeDeploy, Summary: "deploy cart v2.3.0",
			FromVersion: "v2.2.9", ToVersion: "v2.3.0", Commit: "a1b2c3d4e5f6", Source: "kube_deployment_status_observed_generation",
		}},
		RuledOut: []analysis.RuledOut{
			{
				Hypothesis: "deploy cart v2.3.0 at 13:20:00", Service: "cart", Layer: catalog.LayerChange,
				Why:     "nothing moved on cart in the 2h after it",
				Numbers: map[string]float64{"lookback_seconds": 7200},
			},
			{
				Hypothesis: "cart memory working set", Service: "cart", Layer: catalog.LayerResource,
				Why:     "its memory working set started at 14:11:30, 8m20s after CPU usage on checkout (14:03:10): later than the incident's start, not its cause",
				Numbers: map[string]float64{"lag_seconds": 500},
				Finding: &cart,
			},
			{
				Hypothesis: "payments p99 latency", Service: "payments", Layer: catalog.LayerSymptom,
				Why:     "checkout calls payments; its p99 latency follows CPU usage on checkout (14:03:10), onset 1m50s later: downstream, not a cause",
				Numbers: map[string]float64{"lag_seconds": 110},
				Finding: &paymentsLatency,
			},
		},
		Warnings: []string{
			"loki: query for service \"search\" timed out after 30s; its logs were not analysed",
			"1 metric (search_queue_depth) has no catalog entry; its layer was guessed from its name",
		},
		Stats: analysis.Stats{Series: 312, Anomalous: 6, Services: 9, LogLines: 18234, LogPatterns: 57, Changes: 3},
	}
}

// weakResult is the demo's deviations with a verdict that none of them
// stands out from normal variation: the quiet stretch before the deploy.
func weakResult() analysis.Result {
	r := demoResult()
	r.Verdict = analysis.VerdictNothingStandsOut
	r.RootCauses = r.RootCauses[1:4]
	for i := range r.RootCauses {
		r.RootCauses[i].Rank = i + 1
		r.RootCauses[i].Confidence = 0.2 / float64(i+1)
	}
	r.RootCauses[0].Onset, r.RootCauses[0].Until = at("14:04:00"), at("14:05:00")
	r.RootCauses[0].BaselineValue = 0
	r.Chain = []analysis.Finding{gateway5xx(), r.RootCauses[0].Finding}
	r.RuledOut = r.RuledOut[:1]
	return r
}

// emptyResult is an incident window where nothing deviates.
func emptyResult() analysis.Result {
	w, b := demoWindow()
	return analysis.Result{
		Window:   w,
		Baseline: b,
		Stats:    analysis.Stats{Series: 312, Services: 9, LogLines: 9120},
	}
}

// noChangeResult has symptoms and a chain that ends at a resource: no
// change was found. Its CPU baseline is unknown (NaN) and one score is
// infinite, as on a flat baseline.
func noChangeResult() analysis.Result {
	w, b := demoWindow()
	cpu := checkoutCPU()
	cpu.BaselineValue = math.NaN()
	cpu.Score = math.Inf(1)
	cpu.Explanation = "checkout pods use 1.95 cores; the baseline has no samples."
	return analysis.Result{
		Window:     w,
		Baseline:   b,
		Symptoms:   []analysis.Finding{gateway5xx()},
		RootCauses: []analysis.Candidate{candidate(1, 0.77, cpu), candidate(2, 0.35, gatewayUpstream())},
		Chain:      []analysis.Finding{gateway5xx(), gatewayUpstream(), cpu},
		Anomalies:  []analysis.Finding{gateway5xx(), gatewayUpstream(), cpu},
		Stats:      analysis.Stats{Series: 312, Anomalous: 3, Services: 9, LogLines: 18234},
	}
}

// Hostile strings: data that tries to become markup, HTML or terminal
// escapes.
const (
	hostileScript = "<script>alert(1)</script>"
	hostileImg    = `"><img src=x onerror=alert(1)>`
	hostilePipes  = "a | b | c"
)

func hostileResult() analysis.Result {
	r := demoResult()
	r.Symptoms[0].Service = hostileScript
	r.Symptoms[0].Signal = hostileImg
	r.Symptoms[0].Explanation = "*bold* _it_ [click](javascript:alert(1)) <b>x</b> # h\n- item\x1b[31m red"
	r.RootCauses[1].Service = hostilePipes
	r.RootCauses[1].Signal = "`code` | pipe"
	dep := *r.Chain[3].Change
	dep.Summary = "deploy <img src=x onerror=alert(1)> | ![x](http://evil/x.png)"
	r.Chain[3].Change = &dep
	r.Chain[0].Query = "sum(x{a=\"`\"}) | <i>"
	r.Warnings = append(r.Warnings, "1. numbered\r\n# heading\x1b]0;title\x07")
	r.RuledOut[0].Hypothesis = "deploy " + hostileScript + " | `x` *y* [click](javascript:alert(1))"
	r.RuledOut[0].Service = hostilePipes
	r.RuledOut[1].Why = hostileImg + "\n# heading _it_ <b>x</b>\x1b[31m"
	r.Chain[1].Patterns = []analysis.LogPattern{hostilePattern()}
	return r
}

// hostilePattern is a log template and lines that try to become markup:
// log lines are whatever a client managed to get logged.
func hostilePattern() analysis.LogPattern {
	p := gatewayTimeouts()
	p.Template = "GET <*> " + hostileScript + " | `<*>` *<*>*"
	p.Level = "error\x1b[31m"
	p.Callee = hostileImg
	p.Examples = []string{
		"GET /search?q=" + hostileScript + " | cell | `code` *bold*",
		"line one\n- item\r\n# heading\x1b[31m red\x07 [click](javascript:alert(1)) ![x](http://evil/x.png)",
		"1. numbered <b>bold</b> &amp; ~~strike~~ \u202eevil",
	}
	return p
}
