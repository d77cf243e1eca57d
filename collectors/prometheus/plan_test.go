package prometheus

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/snapshot"
)

func set(names ...string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

func testPlanner(t testing.TB, names map[string]bool, meta map[string]string, maxQueries int) queryPlan {
	t.Helper()
	cat := defaultCatalog(t)
	return planner{cat: cat, names: names, meta: meta, rateWindow: 2 * time.Minute, maxQueries: maxQueries, log: slog.New(slog.DiscardHandler)}.plan()
}

// TestPlanWhatIsThere: every name found is read by the catalog, read on
// its own by identity (counters as rates, histograms as a p99), or
// skipped for a reason the summary counts.
func TestPlanWhatIsThere(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	by := strings.Join(identityLabels(cat), ", ")
	node := []string{
		"node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_load1", "node_boot_time_seconds",
		"node_uname_info", "nginx_up", "up", "process_cpu_seconds_total", "process_start_time_seconds",
		"http_requests_total", "http_requests_created",
		"http_request_duration_seconds_bucket", "http_request_duration_seconds_sum", "http_request_duration_seconds_count",
		"go_gc_duration_seconds", "go_gc_duration_seconds_sum", "go_gc_duration_seconds_count",
		"app_build_info", "cache_hit_ratio",
	}
	tests := []struct {
		name  string
		names []string
		meta  map[string]string
		max   int
		// want maps a name to the query that reads it on its own (a
		// catalog signal's id and the query for a name its patterns match),
		// or to "skip: reason", or "catalog".
		want map[string]string
	}{
		{
			name:  "names only (VictoriaMetrics, a backfilled Prometheus)",
			names: node,
			max:   DefaultMaxQueries,
			want: map[string]string{
				"node_cpu_seconds_total":         "catalog",
				"node_memory_MemAvailable_bytes": "catalog",
				"node_load1":                     "catalog",
				"nginx_up":                       "availability: avg by (" + by + ") (nginx_up)",
				"cache_hit_ratio":                "avg by (" + by + ") (cache_hit_ratio)",
				"up":                             "availability: avg by (" + by + ") (up)",
				"process_cpu_seconds_total":      "catalog", // the process CPU signal's query

				"http_requests_total":                  "catalog",
				"http_request_duration_seconds_bucket": "catalog",
				"http_request_duration_seconds_count":  "catalog", // the classic HTTP signals read the histogram
				"http_request_duration_seconds_sum":    "catalog",
				"http_requests_created":                "catalog", // the classic HTTP signals' pattern reads http_requests_.*
				"node_uname_info":                      "skip: " + skipInfo,
				"app_build_info":                       "skip: " + skipInfo,
				"node_boot_time_seconds":               "skip: " + skipTime,
				"process_start_time_seconds":           "catalog", // a change source reads it
				"go_gc_duration_seconds":               "catalog", // gc_pause reads its _sum
				"go_gc_duration_seconds_sum":           "catalog",
				"go_gc_duration_seconds_count":         "catalog",
			},
		},
		{
			name:  "metadata decides over the name",
			names: []string{"queue_items_total", "jobs_done", "weird_count", "lat_bucket", "lat_sum", "lat_count"},
			meta:  map[string]string{"queue_items_total": "gauge", "jobs_done": "counter", "weird_count": "gauge", "lat": "histogram"},
			max:   DefaultMaxQueries,
			want: map[string]string{
				"queue_items_total": "sum by (" + by + ") (queue_items_total)",
				"jobs_done":         "sum by (" + by + ") (rate(jobs_done[2m]))",
				"weird_count":       "sum by (" + by + ") (weird_count)",
				"lat_bucket":        "histogram_quantile(0.99, sum by (le, " + by + ") (rate(lat_bucket[2m])))",
				"lat_sum":           "skip: " + skipSum,
				"lat_count":         "sum by (" + by + ") (rate(lat_count[2m]))",
			},
		},
		{
			// Availability, then symptoms, then the rest, by name.
			name:  "budget",
			names: []string{"zzz_things", "acme_up", "acme_errors_total", "acme_load", "mystery_gauge"},
			max:   2,
			want: map[string]string{
				"acme_up":           "availability: avg by (" + by + ") (acme_up)",
				"acme_errors_total": "sum by (" + by + ") (rate(acme_errors_total[2m]))",
				"acme_load":         "avg by (" + by + ") (acme_load)",
				"mystery_gauge":     "skip: " + skipBudget,
				"zzz_things":        "skip: " + skipBudget,
			},
		},
		{
			name:  "catalog only (max_queries -1)",
			names: []string{"up", "mystery_gauge"},
			max:   -1,
			want: map[string]string{
				"up":            "availability: avg by (" + by + ") (up)",
				"mystery_gauge": "skip: " + skipBudget,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			qp := testPlanner(t, set(tc.names...), tc.meta, tc.max)
			got := map[string]string{}
			for _, q := range qp.queries {
				if q.change > 0 {
					continue
				}
				if q.metric == "" {
					continue // a catalog signal's own query
				}
				name := q.metric
				if f, ok := strings.CutSuffix(name, ":p99"); ok {
					name = f + "_bucket"
				}
				if q.signal != "" {
					got[name] = q.signal + ": " + q.query
				} else {
					got[name] = q.query
				}
			}
			for reason, names := range qp.skipped {
				for _, n := range names {
					if _, dup := got[n]; dup {
						t.Errorf("%s both queried (%s) and skipped (%s)", n, got[n], reason)
					}
					got[n] = "skip: " + reason
					if sig := cat.Classify("", n); !sig.Heuristic && reason != skipBudget {
						got[n] = sig.SignalID + ": skip: " + reason
					}
				}
			}
			for n, w := range tc.want {
				g, ok := got[n]
				if w == "catalog" {
					if ok {
						t.Errorf("%s: %q, want it read by the catalog's query", n, g)
					}
					continue
				}
				if g != w {
					t.Errorf("%s:\n got %q\nwant %q", n, g, w)
				}
			}
			// Every name is accounted for once.
			skipped := 0
			for _, n := range qp.skipped {
				skipped += len(n)
			}
			if qp.byCatalog+qp.own+skipped != len(tc.names) {
				t.Errorf("%d by the catalog + %d own + %d skipped != %d names", qp.byCatalog, qp.own, skipped, len(tc.names))
			}
			// Every query rca writes itself keeps the identity.
			for _, q := range qp.queries {
				if q.metric != "" && !strings.Contains(q.query, "by ("+by+")") && !strings.Contains(q.query, "by (le, "+by+")") {
					t.Errorf("query %q does not aggregate by identity", q.query)
				}
			}
		})
	}
}

func TestPlanSummary(t *testing.T) {
	t.Parallel()
	names := set("up", "mystery_gauge", "zzz_things", "node_uname_info", "x_bucket", "x_sum", "x_count", "node_boot_time_seconds")
	qp := testPlanner(t, names, nil, 2)
	got := qp.summary(2)
	want := "prometheus: 8 metric names in the range; 5 queries (1 catalog signals, 2 change sources, 2 other metrics); 1 names read by the catalog, 2 on their own, 5 not read: 2 over the budget of 2 queries (max_queries), 1 histogram and summary sums, 1 metadata (_info, _created), 1 timestamps (-v lists them)"
	if got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
	if !qp.incomplete() {
		t.Error("a plan that skips names is complete")
	}
	if qp := testPlanner(t, set("up"), nil, 2); qp.incomplete() {
		t.Errorf("a plan that reads every name is incomplete: %q", qp.summary(2))
	}
	if qp := testPlanner(t, nil, nil, 2); !qp.incomplete() || !strings.Contains(qp.summary(2), "does not list its metric names") {
		t.Errorf("without names: %q", qp.summary(2))
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	names := set("s", "s_sum", "s_count", "h_bucket", "h_sum", "h_count")
	tests := []struct {
		name string
		meta map[string]string
		want metricKind
	}{
		{"requests_total", nil, kindCounter},
		{"requests_total", map[string]string{"requests": "counter"}, kindCounter}, // OpenMetrics families drop _total
		{"requests_total", map[string]string{"requests_total": "gauge"}, kindGauge},
		{"h_bucket", nil, kindBucket},
		{"h_sum", nil, kindSum},
		{"h_count", nil, kindCounter},
		{"s", nil, kindSummary},
		{"s", map[string]string{"s": "gauge"}, kindGauge},
		{"x_created", nil, kindInfo},
		{"target_info", nil, kindInfo},
		{"x", map[string]string{"x": "stateset"}, kindInfo},
		{"prometheus_config_last_reload_success_timestamp_seconds", nil, kindTime},
		{"node_time_seconds", nil, kindTime},
		{"http_response_time_seconds", nil, kindGauge},
		{"g_count", map[string]string{"g": "gaugehistogram"}, kindGauge},
		{"instance:node_cpu_utilisation:rate5m", nil, kindGauge},
	}
	for _, tc := range tests {
		if got := kindOf(tc.name, tc.meta, names); got != tc.want {
			t.Errorf("kindOf(%q, %v) = %d, want %d", tc.name, tc.meta, got, tc.want)
		}
	}
}

// TestCollectMetadata: the types come from /api/v1/metadata where the
// server has them; a server that returns none (VictoriaMetrics) or
// refuses the endpoint falls back to the names.
func TestCollectMetadata(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	by := strings.Join(identityLabels(cat), ", ")
	names := []string{"up", "queue_items_total"}
	tests := []struct {
		name string
		meta map[string]string
		want string
	}{
		{"Prometheus", map[string]string{"queue_items_total": "gauge"}, "sum by (" + by + ") (queue_items_total)"},
		{"VictoriaMetrics: empty", map[string]string{}, "sum by (" + by + ") (rate(queue_items_total[2m]))"},
		{"refused", nil, "sum by (" + by + ") (rate(queue_items_total[2m]))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t, names, nil)
			f.meta = tc.meta
			p := newTestProm(t, f.srv.URL, nil, nil)
			b, err := p.Read(context.Background(), cat, tWindow, tBaseline)
			if err != nil {
				t.Fatal(err)
			}
			if f.queries()[tc.want] != 1 {
				t.Errorf("queries %v, want %q", slices.Collect(maps.Keys(f.queries())), tc.want)
			}
			if len(f.requests("/api/v1/metadata")) != 1 {
				t.Errorf("metadata asked %d times, want once", len(f.requests("/api/v1/metadata")))
			}
			for _, s := range b.Series {
				if s.Metric == "queue_items_total" && s.Rated() != strings.Contains(tc.want, "rate(") {
					t.Errorf("%s: Rated() = %v for query %q", s.ID(), s.Rated(), s.Query)
				}
			}
		})
	}
}

// TestCollectStatusFirst: the user sees what rca does before its first
// request, however slow the server is to list its names.
func TestCollectStatusFirst(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t, []string{"up", "node_load1"}, nil)
	p := newTestProm(t, f.srv.URL, nil, nil)
	var (
		mu       sync.Mutex
		statuses []string
		asked    []int // requests received when each status was given
	)
	req := collectors.Request{
		Range:   collectors.Range{Window: tWindow, Baseline: tBaseline},
		Catalog: smallCatalog(t),
		Progress: func(s string) {
			mu.Lock()
			defer mu.Unlock()
			statuses = append(statuses, s)
			asked = append(asked, len(f.requests("")))
		},
	}
	if _, err := p.Collect(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(statuses) == 0 || asked[0] != 0 || statuses[0] != "listing metric names on "+f.srv.URL+"…" {
		t.Fatalf("statuses %q (after %v requests), want the name lookup announced before any request", statuses, asked)
	}
	var planning bool
	for _, s := range statuses {
		planning = planning || strings.HasPrefix(s, "planning queries for 2 metric names")
	}
	if !planning {
		t.Errorf("statuses %q: no planning step", statuses)
	}
	if last := statuses[len(statuses)-1]; last != fmt.Sprintf("querying %s: 2/2", f.srv.URL) {
		t.Errorf("last status %q", last)
	}
}

// syncBuffer is a bytes.Buffer safe to write from the collector and read
// from a request handler.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestCollectSlowNameLookup: behind a slow proxy, the first request (the
// metric name list) takes seconds; what rca is doing is said before it is
// sent, as the status line and, for -v, as a debug line.
func TestCollectSlowNameLookup(t *testing.T) {
	t.Parallel()
	var (
		logs     syncBuffer
		mu       sync.Mutex
		statuses []string
		seen     []string // what the user had been told when the name list was asked for
	)
	f := newFakeProm(t, []string{"up"}, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		if q.Path != "/api/v1/label/__name__/values" {
			return false
		}
		mu.Lock()
		first := seen == nil
		if first {
			seen = append([]string{"log: " + logs.String()}, statuses...)
		}
		mu.Unlock()
		if first {
			time.Sleep(300 * time.Millisecond) // the slow proxy
		}
		return false
	})
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := newTestProm(t, f.srv.URL, log, func(c *Config) { c.Timeout = model.Duration(5 * time.Second) })
	req := collectors.Request{
		Range:   collectors.Range{Window: tWindow, Baseline: tBaseline},
		Catalog: smallCatalog(t),
		Progress: func(s string) {
			mu.Lock()
			defer mu.Unlock()
			statuses = append(statuses, s)
		},
	}
	if _, err := p.Collect(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "listing metric names on " + f.srv.URL + "…"
	if len(seen) != 2 || seen[1] != want {
		t.Errorf("statuses before the name list was asked for: %q; want just %q", seen[1:], want)
	}
	if len(seen) == 0 || !strings.Contains(seen[0], `msg="`+want+`"`) {
		t.Errorf("debug log before the name list was asked for:\n%s\nwant a line %q", seen, want)
	}
}

// TestCollectSeriesCap: a query that gives more series than max_series
// keeps those that moved most and says so: first a series with points only
// in the baseline (a target gone in the window), then the one whose window
// moved, however small, then the largest of the rest.
func TestCollectSeriesCap(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t, []string{"mem_bytes"}, nil)
	f.answer = func(q promReq) model.Matrix {
		var m model.Matrix
		for i, svc := range []string{"small", "big", "gone", "mid"} {
			ss := &model.SampleStream{Metric: model.Metric{"service": model.LabelValue(svc)}}
			for ts := q.Start; !ts.After(q.End); ts = ts.Add(q.Step) {
				if svc == "gone" && !ts.Before(tWindow.From) {
					break // no points in the window
				}
				v := 10 * float64(i+1)
				if svc == "small" && !ts.Before(tWindow.From) {
					v = 2 // a small signal that fell
				}
				ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(ts.UnixMilli()), Value: model.SampleValue(v)})
			}
			m = append(m, ss)
		}
		return m
	}
	p := newTestProm(t, f.srv.URL, nil, func(c *Config) { c.MaxSeries = 3 })
	b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range b.Series {
		got = append(got, s.Labels["service"])
	}
	if want := []string{"gone", "mid", "small"}; !slices.Equal(got, want) {
		t.Errorf("series of %v, want %v", got, want)
	}
	if _, ok := warningWith(b, "signal mem", "returned 4 series; the 3 that moved most from the baseline to the window are kept (max_series)"); !ok {
		t.Errorf("warnings %q", b.Warnings)
	}
}

// TestCollectReplays: what a live collection read, written as a snapshot
// and read back, is the same series, so a replay gives the same report.
func TestCollectReplays(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	// acme_*: names no catalog signal knows, read on their own.
	names := []string{"up", "acme_widget_temperature", "acme_jobs_total", "acme_latency_seconds_bucket",
		"http_server_requests_total", "db_pool_connections_in_use", "container_memory_working_set_bytes"}
	f := newFakeProm(t, names, nil)
	p := newTestProm(t, f.srv.URL, nil, nil)
	live, err := p.Read(context.Background(), cat, tWindow, tBaseline)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range live.Series {
		switch {
		case s.Signal == "" && s.Rated():
			kinds["rated"] = true
		case s.Signal == "" && strings.HasSuffix(s.Metric, ":p99"):
			kinds["p99"] = true
		case s.Signal == "":
			kinds["gauge"] = true
		case s.Metric != s.Signal:
			kinds["pattern"] = true
		default:
			kinds["signal"] = true
		}
	}
	if len(kinds) != 5 {
		t.Fatalf("series kinds %v, want every kind", kinds)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	if err := snapshot.Write(context.Background(), dir, live); err != nil {
		t.Fatal(err)
	}
	replay, err := snapshot.Read(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(replay.Series) != len(live.Series) {
		t.Fatalf("%d series replayed, %d live", len(replay.Series), len(live.Series))
	}
	for i, l := range live.Series {
		r := replay.Series[i]
		if l.ID() != r.ID() || l.Signal != r.Signal || l.Query != r.Query || l.Rated() != r.Rated() || l.Len() != r.Len() {
			t.Errorf("series %d: live %s (%q %q, %d points), replay %s (%q %q, %d points)",
				i, l.ID(), l.Signal, l.Query, l.Len(), r.ID(), r.Signal, r.Query, r.Len())
			continue
		}
		for j := range l.Points() {
			if !l.Point(j).T.Equal(r.Point(j).T) || l.Point(j).V != r.Point(j).V {
				t.Errorf("%s: point %d live %v, replay %v", l.ID(), j, l.Point(j), r.Point(j))
				break
			}
		}
	}
}
