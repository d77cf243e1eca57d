package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// uncatalogued appends a series no catalog signal knows (its name decides
// how it is read), with one value per minute from shape.
func (f *fixture) uncatalogued(metric string, labels telemetry.Labels, s shape) *fixture {
	var pts []telemetry.Point
	for m := -60; m < 30; m++ {
		pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: s(m)})
	}
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: metric, Labels: labels}.WithPoints(pts...))
	return f
}

func pulse(from, to int, v float64) shape {
	return func(m int) float64 {
		if m >= from && m < to {
			return v
		}
		return 0
	}
}

// A count per sample (a counter's name on a series that is not cumulative,
// as exporters of per-interval counts write them) that rose from a flat
// zero by an event or two is no news; forty events a minute are.
func TestPerSampleCountsOffAFlatZero(t *testing.T) {
	for _, tc := range []struct {
		name      string
		metric    string
		shape     shape
		anomalous bool
	}{
		{"one event", "jobs_failed_count", pulse(10, 11, 1), false},
		{"two events", "jobs_failed_total", pulse(10, 12, 1), false},
		{"forty a minute for ten minutes", "jobs_failed_count", pulse(10, 20, 40), true},
		{"three a minute for ten minutes", "jobs_failed_total", pulse(10, 20, 3), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(1).uncatalogued(tc.metric, svc("worker"), tc.shape)
			res := Analyze(f.b, defaultCatalog(), Options{})
			if got := len(res.Anomalies) > 0; got != tc.anomalous {
				t.Errorf("anomalous = %v (%+v), want %v", got, res.Anomalies, tc.anomalous)
			}
		})
	}
}

// A callee that barely moved does not explain a caller that moved a lot:
// the caller stays an origin (it is not halved as the callee's victim).
func TestABarelyMovedCalleeExplainsNothing(t *testing.T) {
	f := newFixture(3).edge("api", "auth").
		add("cpu_usage", svc("api"), stepAt(10, 0.3, 1.9), 0.03).
		add("cpu_usage", svc("auth"), stepAt(9, 0.2, 0.33), 0.02)
	res := Analyze(f.b, defaultCatalog(), Options{})
	var auth *Finding
	for i, a := range res.Anomalies {
		if a.Service == "auth" {
			auth = &res.Anomalies[i]
		}
	}
	if auth == nil || auth.Score >= explainShare*compressKnee {
		t.Fatalf("the fixture's auth anomaly must be weak but present: %+v", auth)
	}
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %+v, want api first", res.RootCauses)
	}
	if origin := res.RootCauses[0].Features[5]; origin != 0 {
		t.Errorf("api's origin feature = %v, want 0, not -1 (auth's weak anomaly explains nothing)", origin)
	}
}

// Of two services whose activity rose alike from nothing, the one logging
// errors (and calling nothing that explains them) is the likelier cause.
func TestOwnErrorsOutrankNewActivity(t *testing.T) {
	f := newFixture(4).
		uncatalogued("log_lines_count", svc("indexer", "level", "INFO"), pulse(10, 25, 30)).
		uncatalogued("log_lines_count", svc("worker", "level", "ERROR"), pulse(10, 25, 30))
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) < 2 || res.RootCauses[0].Service != "worker" {
		t.Fatalf("root causes %+v, want worker (its own errors) first", res.RootCauses)
	}
	// Alike but for the errors: the ranking, not the name order, decided.
	if res.RootCauses[0].Score <= res.RootCauses[1].Score {
		t.Errorf("worker %.3f does not outscore indexer %.3f", res.RootCauses[0].Score, res.RootCauses[1].Score)
	}
}

// One incident, one root cause: the candidates' confidences never add up to
// more than one, whatever the model gives each on its own.
func TestConfidencesAddUpToAtMostOne(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		res := Analyze(piChain(seed).b, defaultCatalog(), Options{})
		sum := 0.0
		for _, c := range res.RootCauses {
			if c.Confidence < 0 || c.Confidence > 1 {
				t.Fatalf("seed %d: %s confidence %v out of [0, 1]", seed, c.Service, c.Confidence)
			}
			sum += c.Confidence
		}
		if sum > 1+1e-9 {
			t.Errorf("seed %d: confidences add up to %.3f", seed, sum)
		}
		if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "checkout" || res.RootCauses[0].Confidence < ConfidenceThreshold {
			t.Errorf("seed %d: top %+v, want checkout named", seed, res.RootCauses)
		}
	}
}

// A baseline of one sample (five minutes at a five-minute step) shows no
// spread, but the window still moved: what moved most against its level
// ranks first, the result says the baseline was too short, and no cause
// is named on it.
func TestOneSampleBaselineStillRanks(t *testing.T) {
	const step = 5 * time.Minute
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-step), To: t0},
		Window:   telemetry.Window{From: t0, To: t0.Add(4 * step)},
	}
	add := func(service string, before, after float64) {
		var pts []telemetry.Point
		for i := -1; i < 4; i++ {
			v := before
			if i >= 2 {
				v = after
			}
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(i) * step), V: v})
		}
		b.Series = append(b.Series, telemetry.Series{Metric: "cpu_usage", Signal: "cpu_usage", Labels: svc(service)}.WithPoints(pts...))
	}
	add("api", 0.3, 0.9)
	add("db", 0.5, 0.52)
	add("web", 0.2, 0.2)
	res := Analyze(b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %+v, want api first", res.RootCauses)
	}
	if res.Verdict != VerdictNothingStandsOut || res.RootCauses[0].Confidence > 0.1 {
		t.Errorf("verdict %s, confidence %v: a one-sample baseline cannot carry a verdict", res.Verdict, res.RootCauses[0].Confidence)
	}
	warned := false
	for _, w := range res.Warnings {
		warned = warned || strings.Contains(w, "too short to judge")
	}
	if !warned {
		t.Errorf("warnings %q do not say the baseline was too short", res.Warnings)
	}
}

// A series the catalog reads as a ratio but that holds values above one is
// a percentage (CloudWatch's availability is 0 to 100): the report says
// 89.4 %, not 8940 %.
func TestRatioAboveOneIsAPercentage(t *testing.T) {
	f := newFixture(9).uncatalogued("availability_average", svc("shop"), func(m int) float64 {
		if m >= 10 {
			return 89.4
		}
		return 100
	})
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.Anomalies) != 1 {
		t.Fatalf("anomalies %+v, want the availability drop", res.Anomalies)
	}
	a := res.Anomalies[0]
	if a.Unit != "percent" || !strings.Contains(a.Explanation, "89.4") || strings.Contains(a.Explanation, "8940") {
		t.Errorf("unit %q, why %q: want a percentage", a.Unit, a.Explanation)
	}
}

// Load flows down the call graph: a callee's request rate is what its
// callers send. A caller that started hammering its callee (a retry storm)
// is the origin, not the callee whose traffic rose.
func TestTrafficFollowsTheCaller(t *testing.T) {
	f := newFixture(11).edge("api", "search").
		add("http_latency_p99", svc("api"), stepAt(10, 0.2, 0.35), 0.01).
		add("http_request_rate", svc("search"), stepAt(10, 10, 400), 0.5).
		add("http_latency_p99", svc("search"), stepAt(99, 0.05, 0.05), 0.002)
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) < 2 || res.RootCauses[0].Service != "api" {
		t.Fatalf("root causes %v, want api first", causes(res))
	}
	if origin := res.RootCauses[0].Features[5]; origin != 0 {
		t.Errorf("api's origin feature = %v, want 0, not -1: search's traffic is api's doing", origin)
	}
}

// However far a callee's requests rose (off a flat zero: hundreds of
// deviations), they are what a failing caller sent: the callee never ranks
// above it.
func TestTrafficNeverOutranksItsSender(t *testing.T) {
	f := newFixture(13).edge("search", "storage").
		add("http_latency_p99", svc("search"), stepAt(10, 0.2, 0.3), 0.01).
		add("http_request_rate", svc("storage"), stepAt(10, 0, 17), 0)
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) < 2 || res.RootCauses[0].Service != "search" || res.RootCauses[1].Service != "storage" {
		t.Fatalf("root causes %v, want search, then storage", causes(res))
	}
}

// Nor does it outrank a service that broke in another way when the graph
// does not show who sent the work (no graph here, or a caller it does not
// know): its requests, or its lines at a verbose level, say where the load
// went. Alone, or with a change of its own, it still ranks first.
func TestWorkGivenRanksBelowWhatBroke(t *testing.T) {
	for _, tc := range []struct {
		name    string
		broken  bool   // db's latency rises
		deploy  string // the service deployed, if any
		logs    bool   // search's work shows in its info lines, not its requests
		wantTop string
	}{
		{"requests below a latency", true, "", false, "db"},
		{"info lines below a latency", true, "", true, "db"},
		{"requests alone", false, "", false, "search"},
		{"requests after their own deploy", true, "search", false, "search"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(14).add("http_latency_p99", svc("db"), stepAt(10, 0.05, map[bool]float64{true: 0.09, false: 0.05}[tc.broken]), 0.002)
			if tc.logs {
				f.b.Logs = append(logsAt(svc("search", "level", "info"), -60, 10, 10, "served %d"), logsAt(svc("search", "level", "info"), 10, 30, 200, "served %d")...)
			} else {
				f.add("http_request_rate", svc("search"), stepAt(10, 10, 400), 0.5)
			}
			if tc.deploy != "" {
				f.change(9, tc.deploy, "deploy "+tc.deploy+" v2")
			}
			res := Analyze(f.b, defaultCatalog(), Options{})
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != tc.wantTop {
				t.Fatalf("root causes %v, want %s first", causes(res), tc.wantTop)
			}
		})
	}
}

// A service whose only anomaly is the requests a caller sent while it was
// abnormal counts half (sentWork, graphWeight) where the graph shows the
// caller; without the edge, in full.
func TestSentWorkCountsHalf(t *testing.T) {
	score := func(edge bool) float64 {
		f := newFixture(16).
			add("http_latency_p99", svc("api"), stepAt(10, 0.05, 2), 0.002).
			add("http_request_rate", svc("search"), stepAt(10, 10, 13), 0.3)
		if edge {
			f.edge("api", "search")
		}
		res := Analyze(f.b, defaultCatalog(), Options{})
		for _, s := range res.Services {
			if s.Service == "search" {
				return s.Score
			}
		}
		t.Fatalf("search not ranked: %v", res.Services)
		return 0
	}
	alone, sent := score(false), score(true)
	if !(sent > 0 && sent < 0.6*alone) {
		t.Errorf("search's score %v with its caller in the graph, %v without: want about half", sent, alone)
	}
}

// The order a service only given more work takes: below the weakest
// service that broke, not only the strongest; after others given work in
// the order of their own scores; below a service in the alert's scope, not
// one out of it. Requests that fell are no work given: the service may
// have stopped serving.
func TestWorkGivenOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		build  func(f *fixture)
		target string
		want   []string
	}{
		{"below the weakest that broke", func(f *fixture) {
			f.add("http_latency_p99", svc("db"), stepAt(10, 0.05, 0.5), 0.002).
				add("http_latency_p99", svc("cache"), stepAt(10, 0.05, 0.07), 0.002).
				add("http_request_rate", svc("search"), stepAt(10, 10, 400), 0.5)
		}, "", []string{"db", "cache", "search"}},
		{"those given work keep their order", func(f *fixture) {
			f.add("http_latency_p99", svc("db"), stepAt(10, 0.05, 0.07), 0.002).
				add("http_request_rate", svc("aaa"), stepAt(10, 10, 30), 0.5).
				add("http_request_rate", svc("zzz"), stepAt(10, 10, 400), 0.5)
		}, "", []string{"db", "zzz", "aaa"}},
		{"requests that stopped are no work given", func(f *fixture) {
			f.add("http_latency_p99", svc("db"), stepAt(10, 0.05, 0.07), 0.002).
				add("http_request_rate", svc("pay"), stepAt(10, 400, 0), 0.5)
		}, "", []string{"pay", "db"}},
		{"only the scope's broken services count", func(f *fixture) {
			f.add("http_latency_p99", svc("other"), stepAt(10, 0.05, 0.5), 0.002).
				add("http_request_rate", svc("search"), stepAt(10, 10, 400), 0.5).
				add("http_latency_p99", svc("search"), stepAt(99, 0.05, 0.05), 0.002)
		}, "search", []string{"search", "other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(15)
			tc.build(f)
			if tc.target != "" {
				f.b.Target = &telemetry.Target{Service: tc.target, Metric: "http_request_rate"}
			}
			res := Analyze(f.b, defaultCatalog(), Options{})
			var got []string
			for _, c := range res.RootCauses {
				got = append(got, c.Service)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("root causes %v, want %v", causes(res), tc.want)
			}
		})
	}
}

// A service with no log line at all in the baseline (a collection gap as
// often as an idle service) proves nothing new by lines that run from the
// window's start; lines that start later in the window did start there,
// also when the silence before them is shorter than a bucket of log counts
// (a minute): longer than any gap between them after it is enough.
func TestLogsSilentInTheBaseline(t *testing.T) {
	for _, tc := range []struct {
		name        string
		workerFrom  int  // second of the window the worker's error lines start
		bursts      bool // the worker logs in bursts, at seconds 40-59 of each minute
		trace       bool // the worker logs one stack trace, 40 lines at one instant
		wantCarried bool
		wantTop     string
	}{
		{"lines from the window's start", 0, false, false, true, "api"},
		{"lines that start in the window", 12 * 60, false, false, false, "worker"},
		{"lines after 42 s of silence", 42, false, false, false, "worker"},
		{"bursts each minute from the window's start", 0, true, false, true, "api"},
		{"one stack trace 5 s into the window", 5, false, true, true, "api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(12)
			line := func(m, sec int, service, level, text string) {
				f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m)*time.Minute + time.Duration(sec)*time.Second),
					Labels: telemetry.Labels{"service": service, "level": level}, Line: text})
			}
			for m := -60; m < 30; m++ {
				line(m, 0, "api", "info", "GET /api/orders 200")
				for i := range 20 {
					if m >= 15 {
						line(m, i+1, "api", "error", "GET /api/orders: order 42 not found in cache")
					}
					sec := 3 * i
					if tc.bursts {
						sec = 40 + i
					}
					if tc.trace {
						if m == 0 {
							line(m, tc.workerFrom, "worker", "error", "job 17 failed: exception in handler")
						}
						continue
					}
					if m*60+sec >= tc.workerFrom {
						line(m, sec, "worker", "error", "job 17 failed: exception in handler")
					}
				}
			}
			// Lines arrive in no order (Loki returns each stream newest first).
			f.rng.Shuffle(len(f.b.Logs), func(i, j int) { f.b.Logs[i], f.b.Logs[j] = f.b.Logs[j], f.b.Logs[i] })
			res := Analyze(f.b, defaultCatalog(), Options{})
			carried, any := true, false
			for _, a := range res.Anomalies {
				if a.Service == "worker" {
					any = true
					carried = carried && a.CarriedOver
				}
			}
			if !any || carried != tc.wantCarried {
				t.Errorf("worker's findings carried over: %v (any: %v), want %v", carried, any, tc.wantCarried)
			}
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != tc.wantTop {
				t.Errorf("root causes %v, want %s first", causes(res), tc.wantTop)
			}
		})
	}
}

// A service given more work (a burst of verbose lines off a flat zero)
// ranks below one whose CPU rose, although its own deviation is the
// larger: more work says the load moved; a saturated resource says
// something broke.
func TestActivityCountsHalf(t *testing.T) {
	f := newFixture(5).
		uncatalogued("log_lines_count", svc("indexer", "level", "DEBUG"), pulse(10, 25, 40)).
		add("cpu_usage", svc("store"), stepAt(10, 0.3, 1.3), 0.012)
	res := Analyze(f.b, defaultCatalog(), Options{})
	var activity, cpu Finding
	for _, a := range res.Anomalies {
		switch a.Service {
		case "indexer":
			activity = a
		case "store":
			cpu = a
		}
	}
	if activity.Score <= cpu.Score {
		t.Fatalf("the burst scores %.2f, the CPU %.2f: the test needs the burst's deviation the larger", activity.Score, cpu.Score)
	}
	t.Logf("burst %.2f, CPU %.2f; scores %+v", activity.Score, cpu.Score, res.Services)
	if len(res.RootCauses) < 2 || res.RootCauses[0].Service != "store" {
		t.Errorf("root causes %+v, want store (its CPU) first", res.RootCauses)
	}
}

// A leaf that all of whose callers also call a service with callees of its
// own, and that moved with it by about as much, is the callers' view of a
// call to that service (a load balancer's node, a client-side span): the
// service's own view is the origin, however many of the leaf's percentiles
// moved. A leaf that moved by a different amount, or that a caller reaches
// without the service, is a cause of its own.
func TestOutsideViewOfACall(t *testing.T) {
	slower := func(by float64) shape { return stepAt(10, 0.05, 0.05+by) }
	for _, tc := range []struct {
		name  string
		lbBy  float64 // how far the leaf's latency rose, seconds
		extra bool    // a second caller reaches the leaf alone
		own   bool    // the leaf's own logs are in the data
		want  string
	}{
		{"the view of the call", 1, false, false, "search"},
		{"a different shift", 4, false, false, "lb"},
		{"a caller of the leaf alone", 1, true, false, "lb"},
		{"a leaf seen from inside", 1, false, true, "lb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(6).
				add("latency_p90", svc("lb"), slower(tc.lbBy), 0.002).
				add("latency_p95", svc("lb"), slower(tc.lbBy), 0.002).
				add("latency_p99", svc("lb"), slower(tc.lbBy), 0.002).
				add("latency_p99", svc("search"), slower(1), 0.002).
				add("latency_p99", svc("db"), stepAt(10, 0.01, 0.01), 0.001).
				edge("web", "lb").edge("web", "search").edge("search", "db")
			if tc.extra {
				f.edge("worker", "lb")
			}
			if tc.own {
				for m := -60; m < 30; m += 5 {
					f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: t0.Add(time.Duration(m) * time.Minute), Labels: svc("lb", "level", "info"), Line: "proxied the request"})
				}
			}
			res := Analyze(f.b, defaultCatalog(), Options{})
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != tc.want {
				t.Errorf("root causes %+v, want %s first", res.RootCauses, tc.want)
			}
			// The confidence reads the view as the graph saying lb is no
			// origin (-1); a leaf that is a cause of its own is not (0).
			for _, c := range res.RootCauses {
				if c.Service != "lb" {
					continue
				}
				if want := map[bool]float64{true: -1, false: 0}[tc.want == "search"]; c.Features[5] != want {
					t.Errorf("lb's origin feature %v, want %v", c.Features[5], want)
				}
			}
			if tc.want != "search" {
				return
			}
			// search's margin is over its next rival, not over lb, which
			// is search seen from outside.
			var top, rival float64
			for _, s := range res.Services {
				switch {
				case s.Service == "search":
					top = s.Score
				case s.Service != "lb" && top > 0 && rival == 0:
					rival = s.Score
				}
			}
			if want := (top - rival) / top; math.Abs(res.RootCauses[0].Features[1]-want) > 1e-9 {
				t.Errorf("search's margin %.4f, want %.4f, over the next service but lb (%+v)", res.RootCauses[0].Features[1], want, res.Services)
			}
			// The report says what the leaf is: a link of the chain above
			// search, or a hypothesis ruled out as the callers' view.
			for _, f := range res.Chain {
				if f.Service == "lb" {
					return
				}
			}
			for _, ro := range res.RuledOut {
				if ro.Service == "lb" && strings.Contains(ro.Why, "what its callers see of their calls to search") {
					return
				}
			}
			t.Errorf("lb is neither in the chain %+v nor ruled out as the callers' view: %+v", res.Chain, res.RuledOut)
		})
	}
}

// The origin feature is -1 where the call graph shows an anomalous callee
// that explains the candidate, else 0, with a graph or without: a graph
// that blames no callee is no evidence that every service is an origin.
func TestOriginFeature(t *testing.T) {
	for _, graph := range []bool{true, false} {
		f := newFixture(8).
			add("cpu_usage", svc("db"), stepAt(5, 0.2, 0.9), 0.01).
			add("request_latency_seconds", svc("api"), stepAt(6, 0.1, 0.4), 0.004)
		if graph {
			f.edge("api", "db")
		}
		res := Analyze(f.b, defaultCatalog(), Options{})
		want := map[string]float64{"db": 0, "api": 0}
		if graph {
			want["api"] = -1
		}
		for _, c := range res.RootCauses {
			if w, ok := want[c.Service]; ok && c.Features[5] != w {
				t.Errorf("graph %v: %s's origin feature %v, want %v", graph, c.Service, c.Features[5], w)
			}
			delete(want, c.Service)
		}
		if len(want) > 0 {
			t.Errorf("graph %v: %v are no candidates: %+v", graph, want, res.RootCauses)
		}
	}
}

// A baseline the data does not cover leaves nothing to judge against: no
// cause is named, and the warning says what to fix (cmd/rca's
// TestAnalyzeBaselineOutsideData: the demo's candidates from its logs get
// no confidence). Series new in the window beside others that have a
// baseline (the pods a rollout made) do not make the baseline short.
func TestBaselineWithoutData(t *testing.T) {
	for _, tc := range []struct {
		name      string
		baseline  int // minutes of baseline data each old series has (0: none)
		newSeries int // series with no baseline sample at all
		wantNamed bool
		wantWarn  string
	}{
		{"no series has a baseline sample", 0, 0, false, "no series has a sample in the baseline"},
		{"the pods of a rollout are new", 60, 6, true, ""},
	} {
		f := newFixture(7)
		add := func(metric string, labels telemetry.Labels, s shape, from int) {
			var pts []telemetry.Point
			for m := from; m < 30; m++ {
				pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: s(m) * (1 + 0.02*f.rng.NormFloat64())})
			}
			f.b.Series = append(f.b.Series, telemetry.Series{Metric: metric, Signal: metric, Labels: labels}.WithPoints(pts...))
		}
		from := -tc.baseline
		if tc.baseline == 0 {
			from = 0
		}
		add("container_cpu_usage_seconds_total", svc("api"), stepAt(10, 0.2, 0.9), from)
		add("http_request_duration_seconds", svc("api"), stepAt(11, 0.1, 0.8), from)
		add("container_cpu_usage_seconds_total", svc("web"), stepAt(10, 0.3, 0.3), from)
		add("http_request_duration_seconds", svc("web"), stepAt(11, 0.05, 0.05), from)
		for i := range tc.newSeries {
			add("container_memory_working_set_bytes", svc("web", "pod", fmt.Sprintf("web-7d9f-%d", i)), stepAt(0, 1e8, 1e8), 0)
		}
		f.change(9, "api", "deploy api v2")
		res := Analyze(f.b, defaultCatalog(), Options{})
		if tc.wantNamed && (len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api") {
			t.Errorf("%s: root causes %+v, want api's deploy first", tc.name, res.RootCauses)
		}
		if named := res.Verdict == VerdictCauseFound; named != tc.wantNamed {
			t.Errorf("%s: verdict %s (root causes %+v), want a cause named: %v", tc.name, res.Verdict, res.RootCauses, tc.wantNamed)
		}
		for _, w := range res.Warnings {
			if strings.Contains(w, "too short to judge") {
				t.Errorf("%s: warning %q", tc.name, w)
			}
		}
		if tc.wantWarn != "" && !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, tc.wantWarn) }) {
			t.Errorf("%s: warnings %q lack %q", tc.name, res.Warnings, tc.wantWarn)
		}
	}
}

// TestBaselineSamples: the baseline's length in samples is the median over
// the series with samples on both sides; series new in the window are left
// out, and counts made from log lines count only when nothing else does.
func TestBaselineSamples(t *testing.T) {
	// sig has base baseline samples of value v, and win window samples.
	sig := func(base, win int, logs bool, v float64) signal {
		var s signal
		for i := range base {
			s.base.ts = append(s.base.ts, int64(i))
			s.base.vs = append(s.base.vs, v)
		}
		for i := range win {
			s.win.ts = append(s.win.ts, int64(base+i))
			s.win.vs = append(s.win.vs, 1)
		}
		s.fromLogs = logs
		return s
	}
	metric := func(base, win int) signal { return sig(base, win, false, 1) }
	lines := func(base int) signal { return sig(base, 5, true, 2) }
	// unread is a log count zero-filled over a baseline no line was read
	// in (a Loki past its retention).
	unread := func(base int) signal { return sig(base, 5, true, 0) }
	for _, tc := range []struct {
		name     string
		sigs     []signal
		want     int
		measured bool
	}{
		{"no series", nil, 0, false},
		{"no window samples", []signal{metric(5, 0)}, 0, false},
		{"no baseline samples", []signal{metric(0, 5), metric(0, 5)}, 0, true},
		{"new series beside old ones", []signal{metric(0, 5), metric(0, 5), metric(0, 5), metric(40, 5)}, 40, true},
		{"log counts beside metrics", []signal{metric(4, 5), lines(60), lines(60)}, 4, true},
		{"log counts alone", []signal{lines(60)}, 60, true},
		{"metrics without a baseline beside lines read in it", []signal{metric(0, 5), lines(60)}, 60, true},
		{"metrics without a baseline beside counts of no line", []signal{metric(0, 5), unread(60)}, 0, true},
		// Lines read that no count holds (a logging library counts them
		// by level, or no signal counts that level).
		{"metrics without a baseline beside counts of no line, lines read", []signal{metric(0, 5), unread(60)}, 60, true},
		// Alone, a baseline with no line is a quiet one (services that
		// log only warnings), as far as the counts can tell.
		{"counts of no line alone", []signal{unread(60), unread(60)}, 60, true},
		{"counts of no line beside lines read", []signal{unread(60), lines(60)}, 60, true},
	} {
		r := &run{sigs: tc.sigs}
		if strings.HasSuffix(tc.name, "lines read") {
			r.logs = &logIndex{baseLines: map[string]int{"api": 120}}
		}
		if got, measured := r.baselineSamples(); got != tc.want || measured != tc.measured {
			t.Errorf("%s: %d samples, measured %v; want %d, %v", tc.name, got, measured, tc.want, tc.measured)
		}
	}
}
