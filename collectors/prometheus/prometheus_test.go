package prometheus

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

// promReq is one request the fake Prometheus received.
type promReq struct {
	Method, Path string
	Query        string // the PromQL of a query_range
	Start, End   time.Time
	Step         time.Duration
	Header       http.Header
}

// fakeProm speaks enough of the Prometheus HTTP API for the collector:
// the metric name list and range queries, answered with two series per
// query (service checkout and cart) holding one sample per step. fault
// may answer a request itself instead (returning true), to inject errors.
type fakeProm struct {
	srv   *httptest.Server
	names []string
	fault func(w http.ResponseWriter, r *http.Request, q promReq) bool
	// overlap repeats the sample one step before each range's start, as
	// two adjacent chunks that share a boundary would.
	overlap bool
	// meta, when set, is served as /api/v1/metadata (empty: the
	// VictoriaMetrics answer); nil answers 404.
	meta map[string]string
	// answer, when set, gives a query's series instead of matrix.
	answer func(q promReq) model.Matrix

	mu   sync.Mutex
	reqs []promReq
}

func newFakeProm(t testing.TB, names []string, fault func(w http.ResponseWriter, r *http.Request, q promReq) bool) *fakeProm {
	t.Helper()
	f := &fakeProm{names: names, fault: fault}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := promReq{Method: r.Method, Path: r.URL.Path, Query: r.Form.Get("query"), Header: r.Header.Clone()}
	q.Start, _ = parsePromTime(r.Form.Get("start"))
	q.End, _ = parsePromTime(r.Form.Get("end"))
	if s, err := strconv.ParseFloat(r.Form.Get("step"), 64); err == nil {
		q.Step = time.Duration(s * float64(time.Second))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, q)
	f.mu.Unlock()
	if f.fault != nil && f.fault(w, r, q) {
		return
	}
	switch r.URL.Path {
	case "/api/v1/label/__name__/values":
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": f.names})
	case "/api/v1/metadata":
		if f.meta == nil {
			http.NotFound(w, r)
			return
		}
		data := map[string]any{}
		for name, typ := range f.meta {
			data[name] = []map[string]string{{"type": typ, "help": "", "unit": ""}}
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": data})
	case "/api/v1/query_range":
		if q.Query == "" || q.Step <= 0 || q.Start.IsZero() || q.End.Before(q.Start) {
			writeBody(w, http.StatusBadRequest, "application/json", promErrorBody("bad_data", "invalid parameters"))
			return
		}
		m := f.matrix(q)
		if f.answer != nil {
			m = f.answer(q)
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": m}})
	default:
		http.NotFound(w, r)
	}
}

// matrix is the answer to a range query: a raw metric name keeps its
// __name__, an aggregate has none, as on a real server.
func (f *fakeProm) matrix(q promReq) model.Matrix {
	var m model.Matrix
	for _, svc := range []string{"checkout", "cart"} {
		metric := model.Metric{"service": model.LabelValue(svc)}
		if model.LegacyValidation.IsValidMetricName(q.Query) {
			metric[model.MetricNameLabel] = model.LabelValue(q.Query)
		}
		ss := &model.SampleStream{Metric: metric}
		start := q.Start
		if f.overlap {
			start = start.Add(-q.Step)
		}
		for ts := start; !ts.After(q.End); ts = ts.Add(q.Step) {
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(ts.UnixMilli()), Value: model.SampleValue(ts.Unix() % 1000)})
		}
		m = append(m, ss)
	}
	return m
}

// requests returns what the server received, optionally only one path.
func (f *fakeProm) requests(path string) []promReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []promReq
	for _, r := range f.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// queries counts the range queries received per PromQL expression.
func (f *fakeProm) queries() map[string]int {
	out := map[string]int{}
	for _, r := range f.requests("/api/v1/query_range") {
		out[r.Query]++
	}
	return out
}

func parsePromTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(int64(f * 1000)).UTC(), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeBody(w http.ResponseWriter, code int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func promErrorBody(typ, msg string) string {
	b, _ := json.Marshal(map[string]string{"status": "error", "errorType": typ, "error": msg})
	return string(b)
}

// waitGone blocks a handler until the client gives up on the request.
func waitGone(r *http.Request) { <-r.Context().Done() }

// defaultCatalog is the built-in catalog.
func defaultCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// smallCatalog has three query signals over three metrics.
func smallCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Parse([]byte(`
signals:
  - id: errors
    layer: symptom
    query: sum by (service) (rate(errors_total[2m]))
  - id: cpu
    layer: resource
    query: sum by (service) (rate(cpu_seconds_total[2m]))
  - id: mem
    layer: resource
    query: sum by (service) (mem_bytes)
`))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

var smallNames = []string{"errors_total", "cpu_seconds_total", "mem_bytes"}

const cpuQuery = "sum by (service) (rate(cpu_seconds_total[2m]))"

// Incident times: a 30 minute window after a one hour baseline.
var (
	tWindow   = telemetry.Window{From: time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)}
	tBaseline = telemetry.Window{From: time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)}
)

// newTestProm builds a collector for url with a short timeout; edit
// changes the configuration first.
func newTestProm(t testing.TB, url string, log *slog.Logger, edit func(*Config)) *Source {
	t.Helper()
	cfg := NewConfig(url)
	cfg.Timeout = model.Duration(time.Second)
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seriesOf returns the series of one signal.
func seriesOf(b telemetry.Bundle, signal string) []telemetry.Series {
	var out []telemetry.Series
	for _, s := range b.Series {
		if s.Signal == signal {
			out = append(out, s)
		}
	}
	return out
}

func signalsOf(b telemetry.Bundle) []string {
	var out []string
	for _, s := range b.Series {
		out = append(out, s.Signal)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// warningWith returns the first warning containing every one of subs.
func warningWith(b telemetry.Bundle, subs ...string) (string, bool) {
next:
	for _, w := range b.Warnings {
		for _, s := range subs {
			if !strings.Contains(w, s) {
				continue next
			}
		}
		return w, true
	}
	return "", false
}

// checkPoints asserts a series has n points from first, strictly
// increasing, on the step's grid.
func checkPoints(t *testing.T, s telemetry.Series, first time.Time, step time.Duration, n int) {
	t.Helper()
	if s.Len() != n {
		t.Errorf("%s: %d points, want %d", s.ID(), s.Len(), n)
		return
	}
	if !s.Point(0).T.Equal(first) {
		t.Errorf("%s: first point at %s, want %s", s.ID(), s.Point(0).T, first)
	}
	for i := 1; i < s.Len(); i++ {
		gap := s.Point(i).T.Sub(s.Point(i - 1).T)
		if gap <= 0 || gap%step != 0 {
			t.Fatalf("%s: point %d at %s follows point %d at %s", s.ID(), i, s.Point(i).T, i-1, s.Point(i-1).T)
		}
	}
}

func TestCollectHappyPath(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	names := []string{
		"http_server_requests_total", "container_cpu_usage_seconds_total",
		"kube_pod_container_status_restarts_total", "up", "go_gc_duration_seconds_sum",
		"some_unrelated_metric_total",
	}
	// Signals whose metrics exist, and what each runs; availability has no
	// query, so its matching metric is read on its own, by identity, and so
	// is the metric the catalog does not know (a counter: its rate).
	by := strings.Join(identityLabels(cat), ", ")
	want := map[string]string{
		"availability":                       "avg by (" + by + ") (up)",
		"metric:some_unrelated_metric_total": "sum by (" + by + ") (rate(some_unrelated_metric_total[2m]))",
	}
	for _, id := range []string{"http_error_ratio", "http_request_rate", "cpu_usage", "gc_pause", "pod_restarts"} {
		s, ok := cat.Signal(id)
		if !ok || s.Query == "" {
			t.Fatalf("catalog has no query signal %s", id)
		}
		want[id] = s.Query
	}
	// Change sources whose metric exists, and those that select by a name
	// pattern (no name to check first), are asked too.
	for _, cs := range cat.ChangeSources {
		switch cs.ID {
		case "container_restarts", "build_info_version", "config_reload":
			want["change:"+cs.ID] = cs.Query
		}
	}
	weekEarlier := telemetry.Window{From: tWindow.From.Add(-7 * 24 * time.Hour), To: tWindow.To.Add(-7*24*time.Hour + 30*time.Minute)}

	tests := []struct {
		name     string
		baseline telemetry.Window
		ranges   int
		// starts of the ranges and the points per series
		starts []time.Time
		points int
	}{
		{"adjacent baseline", tBaseline, 1, []time.Time{tBaseline.From}, 180},
		{"baseline a week earlier", weekEarlier, 2, []time.Time{weekEarlier.From, tWindow.From}, 120 + 60},
		{"no baseline", telemetry.Window{}, 1, []time.Time{tWindow.From}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t, names, nil)
			p := newTestProm(t, f.srv.URL, nil, nil)
			var (
				mu    sync.Mutex
				calls [][2]int
			)
			p.Progress = func(done, total int) {
				mu.Lock()
				calls = append(calls, [2]int{done, total})
				mu.Unlock()
			}
			b, err := p.Read(context.Background(), cat, tWindow, tc.baseline)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Warnings) != 0 {
				t.Errorf("warnings: %q", b.Warnings)
			}
			if !b.Window.From.Equal(tWindow.From) || b.Baseline != tc.baseline {
				t.Errorf("bundle window %v baseline %v", b.Window, b.Baseline)
			}

			// Only the signals whose metrics exist were asked, each once per range.
			got := f.queries()
			if len(got) != len(want) {
				t.Errorf("server received %d distinct queries, want %d: %v", len(got), len(want), got)
			}
			for id, q := range want {
				if got[q] != tc.ranges {
					t.Errorf("signal %s: query %q received %d times, want %d", id, q, got[q], tc.ranges)
				}
			}
			var starts []time.Time
			for _, r := range f.requests("/api/v1/query_range") {
				if r.Method != http.MethodPost {
					t.Errorf("query sent with %s, want POST", r.Method)
				}
				if r.Step != 30*time.Second {
					t.Errorf("step %s, want 30s", r.Step)
				}
				if !slices.ContainsFunc(starts, r.Start.Equal) {
					starts = append(starts, r.Start)
				}
			}
			slices.SortFunc(starts, time.Time.Compare)
			if !slices.EqualFunc(starts, tc.starts, time.Time.Equal) {
				t.Errorf("range starts %v, want %v", starts, tc.starts)
			}
			disc := f.requests("/api/v1/label/__name__/values")
			if len(disc) != 1 || !disc[0].Start.Equal(tc.starts[0]) || !disc[0].End.After(tWindow.From) {
				t.Errorf("discovery requests %+v", disc)
			}

			// Series: two per signal (checkout and cart), merged across
			// ranges; change sources give changes, never series.
			signals := 0
			for id := range want {
				if !strings.HasPrefix(id, "change:") && !strings.HasPrefix(id, "metric:") {
					signals++
				}
			}
			signals++ // "": the metric the catalog does not know
			if sig := signalsOf(b); len(sig) != signals {
				t.Errorf("series of signals %v, want %d signals", sig, signals)
			}
			if len(b.Series) != 2*signals {
				t.Errorf("%d series, want %d", len(b.Series), 2*signals)
			}
			for _, s := range b.Series {
				key := s.Signal
				if key == "" {
					key = "metric:" + s.Metric
				}
				q, ok := want[key]
				switch {
				case !ok:
					t.Errorf("series %s of unexpected signal %q", s.ID(), s.Signal)
				case s.Query != q:
					t.Errorf("series %s: query %q, want %q", s.ID(), s.Query, q)
				case s.Signal == "availability" && s.Metric != "up":
					t.Errorf("series of a metric its patterns match: metric %q, want up", s.Metric)
				case s.Signal == "" && (s.Metric != "some_unrelated_metric_total" || !s.Rated()):
					t.Errorf("series %s of a metric the catalog does not know: want some_unrelated_metric_total, rated", s.ID())
				case s.Signal != "availability" && s.Signal != "" && s.Metric != s.Signal:
					t.Errorf("aggregate series metric %q, want the signal id %q", s.Metric, s.Signal)
				}
				if s.Labels["service"] == "" {
					t.Errorf("series %s lost its labels", s.ID())
				}
				checkPoints(t, s, tc.starts[0], 30*time.Second, tc.points)
			}

			// Progress: every query reported once, in order, up to the total.
			total := len(want) * tc.ranges
			mu.Lock()
			defer mu.Unlock()
			if len(calls) != total {
				t.Fatalf("Progress called %d times, want %d", len(calls), total)
			}
			for i, c := range calls {
				if c != [2]int{i + 1, total} {
					t.Errorf("Progress call %d = %v, want [%d %d]", i, c, i+1, total)
				}
			}
		})
	}
}

// A range longer than one query may return is split into chunks; samples
// both chunks return are kept once, sorted.
func TestCollectMergesChunks(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t, []string{"cpu_seconds_total"}, nil)
	f.overlap = true
	cat, err := catalog.Parse([]byte("signals:\n  - id: cpu\n    layer: resource\n    query: " + cpuQuery + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProm(t, f.srv.URL, nil, func(c *Config) {
		c.Step = model.Duration(time.Second)
		// Two 10,000-point answers under -race on a busy machine: this test
		// is about merging, not timeouts.
		c.Timeout = model.Duration(30 * time.Second)
	})
	window := telemetry.Window{From: tWindow.From, To: tWindow.From.Add(3 * time.Hour)}
	b, err := p.Read(context.Background(), cat, window, tBaseline)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Warnings) > 0 {
		t.Fatalf("warnings: %q", b.Warnings)
	}
	reqs := f.requests("/api/v1/query_range")
	if len(reqs) != 2 {
		t.Fatalf("%d range queries, want 2 chunks of 4h at 1s", len(reqs))
	}
	if len(b.Series) != 2 {
		t.Fatalf("%d series, want 2 (one per label set)", len(b.Series))
	}
	// 4h at 1s is 14,400 samples, and the overlap adds one before the start.
	for _, s := range b.Series {
		checkPoints(t, s, tBaseline.From.Add(-time.Second), time.Second, 14401)
	}
}

func TestCollectConcurrencyBound(t *testing.T) {
	t.Parallel()
	var inFlight, peak atomic.Int32
	f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		if q.Path == "/api/v1/query_range" {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			// Give other queries the chance to overlap; the bound is what is checked.
			time.Sleep(20 * time.Millisecond)
		}
		return false
	})
	p := newTestProm(t, f.srv.URL, nil, func(c *Config) { c.Concurrency = 1 })
	week := telemetry.Window{From: tBaseline.From.Add(-7 * 24 * time.Hour), To: tBaseline.To.Add(-7 * 24 * time.Hour)}
	b, err := p.Read(context.Background(), smallCatalog(t), tWindow, week)
	if err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != 1 {
		t.Errorf("%d queries in flight at once, want 1", got)
	}
	if len(b.Series) != 6 {
		t.Errorf("%d series, want 6", len(b.Series))
	}
}

func TestCollectSlowServer(t *testing.T) {
	t.Parallel()
	const timeout = 400 * time.Millisecond
	tests := []struct {
		name string
		slow func(q promReq) bool
		// stall writes the headers and part of the body before stalling.
		stall bool
		// wantErr: the whole collection fails as unreachable; otherwise
		// the cpu signal becomes a warning.
		wantErr bool
	}{
		{"one query", func(q promReq) bool { return q.Query == cpuQuery }, false, false},
		{"one query stalls mid-body", func(q promReq) bool { return q.Query == cpuQuery }, true, false},
		{"every query", func(q promReq) bool { return q.Path == "/api/v1/query_range" }, false, true},
		{"discovery", func(q promReq) bool { return q.Path != "/api/v1/query_range" }, false, true},
		{"everything", func(promReq) bool { return true }, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
				if !tc.slow(q) {
					return false
				}
				if tc.stall {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[`))
					w.(http.Flusher).Flush()
				}
				waitGone(r)
				return true
			})
			p := newTestProm(t, f.srv.URL, nil, func(c *Config) { c.Timeout = model.Duration(timeout) })
			start := time.Now()
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			elapsed := time.Since(start)
			if elapsed > 5*timeout {
				t.Errorf("Collect took %s with a timeout of %s", elapsed, timeout)
			}
			if tc.wantErr {
				if !errors.Is(err, ErrUnreachable) {
					t.Fatalf("err = %v, want ErrUnreachable", err)
				}
				if !strings.Contains(err.Error(), "no answer within 400ms") || strings.Contains(err.Error(), "\n") {
					t.Errorf("err = %q, want one line naming the timeout", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := warningWith(b, "signal cpu", "no answer within 400ms"); !ok {
				t.Errorf("no warning about the slow cpu query: %q", b.Warnings)
			}
			if got := signalsOf(b); !slices.Equal(got, []string{"errors", "mem"}) {
				t.Errorf("series of %v, want errors and mem", got)
			}
		})
	}
}

// failCPU injects a fault into the cpu signal's queries only.
func failCPU(answer func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request, q promReq) bool {
	return func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		if q.Query != cpuQuery {
			return false
		}
		answer(w, r)
		return true
	}
}

func TestCollectQueryFaults(t *testing.T) {
	t.Parallel()
	matrixPrefix := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"checkout"},"values":[[1795960800,"1"],`
	tests := []struct {
		name   string
		code   int
		ctype  string
		body   string
		want   []string
		absent []string
	}{
		{"500 execution error", 500, "application/json", promErrorBody("execution", "expanding series: too many samples"),
			[]string{"server error: 500", "execution", "expanding series: too many samples"}, nil},
		{"500 long error text", 500, "application/json", promErrorBody("execution", strings.Repeat("long ", 100)+"THE-END"),
			[]string{"THE-END"}, nil},
		// The server's text ends in a status-like number: still the server's error.
		{"400 bad_data", 400, "application/json", promErrorBody("bad_data", `invalid parameter "query": 1:14: parse error: unexpected number 404`),
			[]string{"bad_data", `parse error: unexpected number 404`}, []string{"not a Prometheus API"}},
		{"422 execution", 422, "application/json", promErrorBody("execution", "many-to-many matching not allowed"),
			[]string{"execution", "many-to-many matching not allowed"}, nil},
		{"200 with status error", 200, "application/json", promErrorBody("execution", "boom"),
			[]string{"execution", "boom"}, nil},
		{"truncated JSON", 200, "application/json", matrixPrefix,
			[]string{"not a Prometheus API response", "unexpected end of JSON input"}, nil},
		{"HTML page", 200, "text/html", "<!DOCTYPE html><html><body><h1>Grafana</h1></body></html>",
			[]string{"not a Prometheus API response", "invalid character '<'"}, nil},
		{"empty body", 200, "application/json", "",
			[]string{"not a Prometheus API response"}, nil},
		{"HTML error page", 500, "text/html", "<html>\n<body>\n<h1>Internal Server Error</h1>\n</body>\n</html>",
			[]string{"server error: 500", "<h1>Internal Server Error</h1>"}, nil},
		{"vector result", 200, "application/json", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795960800,"1"]}]}}`,
			[]string{`wrong resultType "vector", want "matrix"`}, nil},
		{"scalar result", 200, "application/json", `{"status":"success","data":{"resultType":"scalar","result":[1795960800,"1"]}}`,
			[]string{`wrong resultType "scalar"`}, nil},
		{"unknown result type", 200, "application/json", `{"status":"success","data":{"resultType":"table","result":[]}}`,
			[]string{"not a Prometheus API response"}, nil},
		{"null data", 200, "application/json", `{"status":"success","data":null}`,
			[]string{"no result"}, nil},
		{"no data", 200, "application/json", `{"status":"success"}`,
			[]string{"no result"}, nil},
		{"bad sample value", 200, "application/json", matrixPrefix + `[1795960830,"one"]]}]}}`,
			[]string{"not a Prometheus API response"}, nil},
		// The client library's wording names Go types and functions: rca's does not.
		{"sample value not a number", 200, "application/json", matrixPrefix + `[1795960830,"abc"]]}]}}`,
			[]string{`value "abc" is not a number`, `near "`}, []string{"strconv", "model.", "error found in"}},
		{"status not a string", 200, "application/json", `{"status":1}`,
			[]string{`"status" must be a string, not a JSON number`}, []string{"Go struct field", "apiResponse"}},
		{"label value not a string", 200, "application/json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":1},"values":[]}]}}`,
			[]string{`expected a string, found "1"`}, []string{"ReadString", "model."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t, smallNames, failCPU(func(w http.ResponseWriter, r *http.Request) {
				writeBody(w, tc.code, tc.ctype, tc.body)
			}))
			p := newTestProm(t, f.srv.URL, nil, nil)
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			if err != nil {
				t.Fatal(err)
			}
			if got := signalsOf(b); !slices.Equal(got, []string{"errors", "mem"}) {
				t.Errorf("series of %v, want errors and mem", got)
			}
			if len(b.Warnings) != 1 {
				t.Fatalf("warnings %q, want one", b.Warnings)
			}
			w := b.Warnings[0]
			for _, s := range append([]string{"signal cpu", "failed"}, tc.want...) {
				if !strings.Contains(w, s) {
					t.Errorf("warning %q does not contain %q", w, s)
				}
			}
			for _, s := range append([]string{"\n", "unreachable"}, tc.absent...) {
				if strings.Contains(w, s) {
					t.Errorf("warning %q contains %q", w, s)
				}
			}
			if n := f.queries()[cpuQuery]; n != 1 {
				t.Errorf("cpu query sent %d times, want 1 (not retried)", n)
			}
		})
	}
}

func TestCollectServerWarnings(t *testing.T) {
	t.Parallel()
	f := newFakeProm(t, smallNames, failCPU(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{
			"status":   "success",
			"data":     map[string]any{"resultType": "matrix", "result": []any{}},
			"warnings": []string{"PromQL info: metric might not be a counter", "partial response: store gateway down"},
		})
	}))
	p := newTestProm(t, f.srv.URL, nil, nil)
	b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"metric might not be a counter", "partial response: store gateway down"} {
		if _, ok := warningWith(b, "signal cpu", "server warning", want); !ok {
			t.Errorf("no warning with %q: %q", want, b.Warnings)
		}
	}
	if len(b.Warnings) != 2 {
		t.Errorf("warnings %q, want the two of the server", b.Warnings)
	}
}

func TestCollectRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// answer is given the attempt number (1 for the first) and says
		// whether it answered.
		answer   func(w http.ResponseWriter, attempt int32) bool
		retries  int
		timeout  time.Duration
		attempts int32
		// warning is what the cpu query's warning contains; empty: no warning.
		warning []string
		minTime time.Duration
		maxTime time.Duration
	}{
		{
			name: "429 Retry-After 0 twice, then success",
			answer: func(w http.ResponseWriter, n int32) bool {
				if n <= 2 {
					w.Header().Set("Retry-After", "0")
					writeBody(w, http.StatusTooManyRequests, "text/plain", "slow down")
					return true
				}
				return false
			},
			attempts: 3,
		},
		{
			name: "429 Retry-After 1, then success",
			answer: func(w http.ResponseWriter, n int32) bool {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					writeBody(w, http.StatusTooManyRequests, "text/plain", "slow down")
					return true
				}
				return false
			},
			timeout:  3 * time.Second,
			attempts: 2,
			minTime:  time.Second,
		},
		{
			name: "connection dropped, then success",
			answer: func(w http.ResponseWriter, n int32) bool {
				if n == 1 {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return true
				}
				return false
			},
			attempts: 2,
		},
		{
			name: "503 beyond the retries",
			answer: func(w http.ResponseWriter, n int32) bool {
				w.Header().Set("Retry-After", "0")
				writeBody(w, http.StatusServiceUnavailable, "application/json", promErrorBody("timeout", "query timed out in expression evaluation"))
				return true
			},
			retries:  2,
			attempts: 3,
			warning:  []string{"server error: 503", "query timed out in expression evaluation"},
		},
		{
			name: "Retry-After past the timeout",
			answer: func(w http.ResponseWriter, n int32) bool {
				w.Header().Set("Retry-After", "30")
				writeBody(w, http.StatusTooManyRequests, "text/plain", "slow down")
				return true
			},
			timeout:  2 * time.Second,
			attempts: 1,
			warning:  []string{"429 Too Many Requests", "asked to wait 30s", "timeout"},
			maxTime:  time.Second,
		},
		{
			name: "500 is not retried",
			answer: func(w http.ResponseWriter, n int32) bool {
				writeBody(w, http.StatusInternalServerError, "application/json", promErrorBody("internal", "oops"))
				return true
			},
			attempts: 1,
			warning:  []string{"server error: 500", "oops"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var attempts atomic.Int32
			f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
				if q.Query != cpuQuery {
					return false
				}
				return tc.answer(w, attempts.Add(1))
			})
			p := newTestProm(t, f.srv.URL, nil, func(c *Config) {
				if tc.retries != 0 {
					c.Retries = tc.retries
				}
				if tc.timeout != 0 {
					c.Timeout = model.Duration(tc.timeout)
				}
			})
			start := time.Now()
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if got := attempts.Load(); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if elapsed < tc.minTime || (tc.maxTime > 0 && elapsed > tc.maxTime) {
				t.Errorf("took %s, want %s to %s", elapsed, tc.minTime, tc.maxTime)
			}
			if tc.warning == nil {
				if len(b.Warnings) > 0 || len(seriesOf(b, "cpu")) != 2 {
					t.Errorf("warnings %q, %d cpu series; want none and 2", b.Warnings, len(seriesOf(b, "cpu")))
				}
				return
			}
			w, ok := warningWith(b, append([]string{"signal cpu"}, tc.warning...)...)
			if !ok {
				t.Fatalf("no warning with %q: %q", tc.warning, b.Warnings)
			}
			if strings.Contains(w, "unreachable") {
				t.Errorf("warning %q calls a server that answered unreachable", w)
			}
		})
	}
}

// collectCancelled runs Collect and cancels it once the server was asked;
// Collect must end with context.Canceled. It returns how long it took.
func collectCancelled(t *testing.T, p *Source, asked <-chan struct{}) time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-asked
		cancel()
	}()
	start := time.Now()
	_, err := p.Read(ctx, smallCatalog(t), tWindow, tBaseline)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	return time.Since(start)
}

// Cancelling the context while a request waits to be retried ends Collect
// at once.
func TestCollectCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{}, 1)
	f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		select {
		case asked <- struct{}{}:
		default:
		}
		w.Header().Set("Retry-After", "8")
		writeBody(w, http.StatusServiceUnavailable, "text/plain", "restarting")
		return true
	})
	p := newTestProm(t, f.srv.URL, nil, func(c *Config) { c.Timeout = model.Duration(30 * time.Second) })
	if elapsed := collectCancelled(t, p, asked); elapsed > 2*time.Second {
		t.Errorf("Collect took %s after the cancel, want it to stop waiting at once", elapsed)
	}
	if n := len(f.requests("")); n != 1 {
		t.Errorf("%d requests, want 1 (no retry after the cancel)", n)
	}
}

func TestCollectCancelDuringQueries(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{}, 3)
	f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		if q.Path != "/api/v1/query_range" {
			return false
		}
		asked <- struct{}{}
		waitGone(r)
		return true
	})
	p := newTestProm(t, f.srv.URL, nil, func(c *Config) { c.Timeout = model.Duration(30 * time.Second); c.Concurrency = 1 })
	if elapsed := collectCancelled(t, p, asked); elapsed > 2*time.Second {
		t.Errorf("Collect took %s after the cancel", elapsed)
	}
	// Queries waiting for a slot are not started after the cancel.
	if n := len(f.requests("/api/v1/query_range")); n > 1 {
		t.Errorf("%d queries sent, want 1", n)
	}
}

// A response far larger than max_response_bytes fails once the limit is
// read, without buffering the rest; an endless body ends too.
func TestCollectHugeResponse(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name string
		// contentLength, when set, is announced in the header.
		contentLength int64
	}{
		{"streamed", 0},
		{"announced length", 50 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var written atomic.Int64
			handlerDone := make(chan struct{})
			huge := failCPU(func(w http.ResponseWriter, r *http.Request) {
				defer close(handlerDone)
				w.Header().Set("Content-Type", "application/json")
				if tc.contentLength > 0 {
					w.Header().Set("Content-Length", strconv.FormatInt(tc.contentLength, 10))
				}
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[`))
				chunk := []byte(strings.Repeat(`{"metric":{"service":"checkout"},"values":[[1795960800,"1"]]},`, 512))
				// Endless, but stop at 256 MiB so a broken limit fails the test instead of hanging it.
				for written.Load() < 256<<20 {
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			// The query asked again with its top-K in it is refused, as an
			// older server or another dialect may (TestCollectTopKPushed
			// has it answered).
			f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
				if strings.HasPrefix(q.Query, "("+cpuQuery+") and topk(") {
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error: unexpected \"@\""}`)
					return true
				}
				return huge(w, r, q)
			})
			p := newTestProm(t, f.srv.URL, nil, func(c *Config) {
				c.MaxResponseBytes = limit
				c.Timeout = model.Duration(20 * time.Second)
			})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := warningWith(b, "signal cpu", "larger than 1 MiB", "max_response_bytes", "the 500 series that moved most instead, the server answered", "unexpected"); !ok {
				t.Errorf("no warning about the size: %q", b.Warnings)
			}
			if got := signalsOf(b); !slices.Equal(got, []string{"errors", "mem"}) {
				t.Errorf("series of %v, want errors and mem", got)
			}
			select {
			case <-handlerDone:
			case <-time.After(10 * time.Second):
				t.Fatal("the server is still writing: the client did not hang up")
			}
			if n := written.Load(); n >= 256<<20 {
				t.Errorf("the client read all %d bytes", n)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
				t.Errorf("allocated %d MiB for a 1 MiB limit", grew>>20)
			}
		})
	}
}

func TestCollectUnreachable(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	status := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeBody(w, code, "text/plain", http.StatusText(code))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name string
		url  string
		want []string
	}{
		// The library names its own field; the config layer's names (below) say where the user set it.
		{"closed listener", closed.URL, []string{"unreachable at " + closed.URL, "connection refused", "check url and"}},
		{"404", status(404), []string{"not a Prometheus API", "404", "/prometheus prefix"}},
		{"405", status(405), []string{"not a Prometheus API"}},
		{"401", status(401), []string{"refused the credentials", "401"}},
		{"403", status(403), []string{"refused the credentials", "403"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProm(t, tc.url, nil, nil)
			start := time.Now()
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("err = %v, want ErrUnreachable", err)
			}
			// The retries are bounded by the one-second query timeout.
			if elapsed := time.Since(start); elapsed > 3*time.Second {
				t.Errorf("took %s", elapsed)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("multi-line error %q", msg)
			}
			for _, s := range tc.want {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q does not contain %q", msg, s)
				}
			}
			if len(b.Series) != 0 {
				t.Errorf("%d series from an unreachable server", len(b.Series))
			}
		})
	}
}

// Where the config layer says how the user set the source, messages name
// that flag and section instead of the bare fields.
func TestCollectUnreachableNames(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, 401, "text/plain", "no")
	}))
	t.Cleanup(denied.Close)
	names := httpsource.Names{Section: "sources.prometheus", Set: map[string]string{"url": "--prometheus-url"}}
	for url, want := range map[string]string{
		closed.URL: "check --prometheus-url and that the server is up",
		denied.URL: "check basic_auth / authorization in sources.prometheus",
	} {
		p := newTestProm(t, url, nil, func(c *Config) { c.Names = names })
		_, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", url, err, want)
		}
	}
}

// A server that lists no names (a proxy refusing the label API) still gets
// every query signal asked.
func TestCollectDiscoveryRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		// wantErr: discovery's failure is the collection's.
		wantErr string
	}{
		{"500", func(w http.ResponseWriter) { writeBody(w, 500, "text/plain", "label API disabled") }, ""},
		{"400 bad_data", func(w http.ResponseWriter) {
			writeBody(w, 400, "application/json", promErrorBody("bad_data", "unsupported"))
		}, ""},
		{"HTML", func(w http.ResponseWriter) { writeBody(w, 200, "text/html", "<html>login</html>") }, "not a Prometheus API response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProm(t, nil, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
				if q.Path == "/api/v1/query_range" {
					return false
				}
				tc.answer(w)
				return true
			})
			p := newTestProm(t, f.srv.URL, nil, nil)
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := signalsOf(b); !slices.Equal(got, []string{"cpu", "errors", "mem"}) {
				t.Errorf("series of %v, want every signal", got)
			}
		})
	}
}

func TestCollectNoMetrics(t *testing.T) {
	t.Parallel()
	// Metadata and timestamps are no levels to read.
	f := newFakeProm(t, []string{"unrelated_info", "unrelated_created", "node_boot_time_seconds"}, nil)
	p := newTestProm(t, f.srv.URL, nil, nil)
	b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Series) != 0 || len(f.requests("/api/v1/query_range")) != 0 {
		t.Errorf("%d series, %d queries; want none", len(b.Series), len(f.requests("/api/v1/query_range")))
	}
	if _, ok := warningWith(b, "no catalog signal's metrics exist"); !ok {
		t.Errorf("warnings %q", b.Warnings)
	}
}

func TestFollowRedirects(t *testing.T) {
	t.Parallel()
	target := newFakeProm(t, smallNames, nil)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)

	p := newTestProm(t, redirect.URL, nil, func(c *Config) { c.HTTPClientConfig.FollowRedirects = false })
	_, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
	if err == nil {
		t.Error("follow_redirects: false, yet the redirect was followed")
	}
	if n := len(target.requests("")); n != 0 {
		t.Errorf("follow_redirects: false, yet the target got %d requests", n)
	}

	p = newTestProm(t, redirect.URL, nil, nil)
	if _, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline); err != nil {
		t.Errorf("follow_redirects: true: %v", err)
	}
	if n := len(target.requests("")); n == 0 {
		t.Error("follow_redirects: true, yet the redirect was not followed")
	}
}

// Secrets: whatever a server echoes back, no credential reaches a
// warning, an error or the debug log; and the credentials are sent.
func TestCollectSecretsNeverShown(t *testing.T) {
	t.Parallel()
	tokenFile := t.TempDir() + "/token"
	if err := writeFile(tokenFile, "s3cret-file-token-0001\n"); err != nil {
		t.Fatal(err)
	}
	const headerSecret = "s3cret-header-value-0002"
	tests := []struct {
		name string
		// yaml is the auth part of the configuration; %s is the URL.
		yaml    string
		secrets []string
		check   func(r *http.Request) error
	}{
		{
			name:    "basic auth",
			yaml:    "url: %s\nbasic_auth: {username: alice, password: s3cret-basic-pass-0003}\n",
			secrets: []string{"s3cret-basic-pass-0003", "YWxpY2U6czNjcmV0LWJhc2ljLXBhc3MtMDAwMw=="},
			check:   basicAuthIs("alice", "s3cret-basic-pass-0003"),
		},
		{
			name:    "authorization credentials",
			yaml:    "url: %s\nauthorization: {credentials: s3cret-bearer-token-0004}\n",
			secrets: []string{"s3cret-bearer-token-0004"},
			check:   authorizationIs("Bearer s3cret-bearer-token-0004"),
		},
		{
			name:    "bearer token file",
			yaml:    "url: %s\nbearer_token_file: " + tokenFile + "\n",
			secrets: []string{"s3cret-file-token-0001"},
			check:   authorizationIs("Bearer s3cret-file-token-0001"),
		},
		{
			name:    "credentials in the URL",
			yaml:    "url: %s\n",
			secrets: []string{"s3cret-url-pass-0005", "Ym9iOnMzY3JldC11cmwtcGFzcy0wMDA1"},
			check:   basicAuthIs("bob", "s3cret-url-pass-0005"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var authErrs, memAttempts atomic.Int32
			var tenant atomic.Value
			f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
				if err := tc.check(r); err != nil {
					authErrs.Add(1)
				}
				if h := r.Header.Get("X-Api-Key"); h != headerSecret {
					authErrs.Add(1)
				}
				tenant.Store(r.Header.Get("X-Scope-OrgID"))
				if strings.Contains(q.Query, "mem_bytes") && memAttempts.Add(1) > 1 {
					return false // the retry succeeds
				}
				return echoHeaders(w, r, q)
			})
			url := f.srv.URL
			if tc.name == "credentials in the URL" {
				url = strings.Replace(url, "http://", "http://bob:s3cret-url-pass-0005@", 1)
			}
			cfg := parsePromConfig(t, fmt.Sprintf(tc.yaml, url)+"headers: {X-Scope-OrgID: tenant-1, X-Api-Key: "+headerSecret+"}\nretries: 2\n")
			var logBuf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			p, err := New(cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			p.cfg.Timeout = model.Duration(2 * time.Second)
			b, err := p.Read(context.Background(), smallCatalog(t), tWindow, tBaseline)
			if err != nil {
				t.Fatal(err)
			}
			if n := authErrs.Load(); n != 0 {
				t.Errorf("%d requests without the right credentials or X-Api-Key header", n)
			}
			if got, _ := tenant.Load().(string); got != "tenant-1" {
				t.Errorf("X-Scope-OrgID = %q, want tenant-1", got)
			}
			all := strings.Join(b.Warnings, "\n") + "\n" + logBuf.String() + "\n" + p.URL()
			// The echoes did arrive, scrubbed.
			if !strings.Contains(all, "<secret>") || !strings.Contains(all, "retrying request") {
				t.Errorf("the server's echoes did not reach the warnings and the log:\n%s", all)
			}
			if len(seriesOf(b, "mem")) != 2 {
				t.Errorf("the retried mem query did not succeed: %q", b.Warnings)
			}
			for _, s := range append(tc.secrets, headerSecret) {
				// Not even part of one: a cut message must not show a prefix.
				for _, part := range []string{s, s[:10]} {
					if strings.Contains(all, part) {
						t.Errorf("%q shown:\n%s", part, all)
					}
				}
			}
			if !strings.Contains(all, "tenant-1") {
				t.Errorf("the tenant id, not a secret, was scrubbed too")
			}
		})
	}
}

// echoHeaders answers each query with the request's headers (the
// Authorization header included) in a different place.
func echoHeaders(w http.ResponseWriter, r *http.Request, q promReq) bool {
	var hdr strings.Builder
	_ = r.Header.Write(&hdr)
	echo := strings.Join(strings.Fields(hdr.String()), " ")
	auth := r.Header.Get("Authorization")
	switch {
	case q.Path == "/api/v1/label/__name__/values":
		writeJSON(w, 200, map[string]any{"status": "success", "data": smallNames, "warnings": []string{"names: " + echo}})
	case q.Query == cpuQuery:
		// A long error body, cut for the message right inside a secret.
		writeBody(w, 500, "text/plain", strings.Repeat("x", 290)+" "+r.Header.Get("X-Api-Key")+" "+auth+" "+echo)
	case strings.Contains(q.Query, "mem_bytes"):
		// A status line that repeats the credentials, retried.
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return true
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 503 %s %s\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", auth, r.Header.Get("X-Api-Key"))
		_ = buf.Flush()
	default:
		writeBody(w, 400, "application/json", promErrorBody("bad_data", "rejected "+echo))
	}
	return true
}

func basicAuthIs(user, pass string) func(r *http.Request) error {
	return func(r *http.Request) error {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			return fmt.Errorf("basic auth %q %q %v", u, p, ok)
		}
		return nil
	}
}

func authorizationIs(want string) func(r *http.Request) error {
	return func(r *http.Request) error {
		if got := r.Header.Get("Authorization"); got != want {
			return fmt.Errorf("authorization %q", got)
		}
		return nil
	}
}

func TestPrometheusURLHidesCredentials(t *testing.T) {
	t.Parallel()
	p := newTestProm(t, "https://bob:pw-in-url@mimir.example:443/prometheus?token=abc", nil, nil)
	if got := p.URL(); got != "https://mimir.example:443/prometheus" {
		t.Errorf("URL() = %q", got)
	}
	if p.cfg.HTTPClientConfig.BasicAuth == nil || string(p.cfg.HTTPClientConfig.BasicAuth.Password) != "pw-in-url" {
		t.Errorf("the URL's password did not move to basic_auth: %+v", p.cfg.HTTPClientConfig.BasicAuth)
	}
	if strings.Contains(p.cfg.URL, "pw-in-url") {
		t.Errorf("the password stays in the URL %q", p.cfg.URL)
	}
}

func TestPlanRanges(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	w := func(from, to string) telemetry.Window { return telemetry.Window{From: at(from), To: at(to)} }
	tests := []struct {
		name             string
		window, baseline telemetry.Window
		step             time.Duration
		// spans are the expected [first, last] sample of each contiguous
		// span; chunks the number of ranges.
		spans  [][2]string
		chunks int
	}{
		{"adjacent", w("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"), w("2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z"), 30 * time.Second,
			[][2]string{{"2026-11-24T13:00:00Z", "2026-11-24T14:29:30Z"}}, 1},
		{"overlapping", w("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"), w("2026-11-24T13:30:00Z", "2026-11-24T14:10:00Z"), time.Minute,
			[][2]string{{"2026-11-24T13:30:00Z", "2026-11-24T14:29:00Z"}}, 1},
		{"a week earlier", w("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"), w("2026-11-17T14:00:00Z", "2026-11-17T14:30:00Z"), 30 * time.Second,
			[][2]string{{"2026-11-17T14:00:00Z", "2026-11-17T14:29:30Z"}, {"2026-11-24T14:00:00Z", "2026-11-24T14:29:30Z"}}, 2},
		{"no baseline", w("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"), telemetry.Window{}, 30 * time.Second,
			[][2]string{{"2026-11-24T14:00:00Z", "2026-11-24T14:29:30Z"}}, 1},
		{"unaligned", w("2026-11-24T14:00:07Z", "2026-11-24T14:30:07Z"), w("2026-11-24T13:00:07Z", "2026-11-24T14:00:07Z"), time.Minute,
			[][2]string{{"2026-11-24T13:00:00Z", "2026-11-24T14:30:00Z"}}, 1},
		{"odd step aligned to the epoch", w("2026-11-24T14:00:00Z", "2026-11-24T15:00:00Z"), telemetry.Window{}, 7 * time.Minute,
			[][2]string{{"2026-11-24T13:56:00Z", "2026-11-24T14:59:00Z"}}, 1},
		{"exactly 10,000 points", telemetry.Window{From: at("2026-11-24T00:00:00Z"), To: at("2026-11-24T00:00:00Z").Add(10000 * time.Second)}, telemetry.Window{}, time.Second,
			[][2]string{{"2026-11-24T00:00:00Z", "2026-11-24T02:46:39Z"}}, 1},
		{"10,001 points", telemetry.Window{From: at("2026-11-24T00:00:00Z"), To: at("2026-11-24T00:00:00Z").Add(10001 * time.Second)}, telemetry.Window{}, time.Second,
			[][2]string{{"2026-11-24T00:00:00Z", "2026-11-24T02:46:40Z"}}, 2},
		{"a day at 1s", w("2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z"), w("2026-11-23T00:00:00Z", "2026-11-23T12:00:00Z"), time.Second,
			[][2]string{{"2026-11-23T00:00:00Z", "2026-11-23T11:59:59Z"}, {"2026-11-24T00:00:00Z", "2026-11-24T23:59:59Z"}}, 5 + 9},
		{"empty window", w("2026-11-24T14:00:10Z", "2026-11-24T14:00:10Z"), telemetry.Window{}, time.Minute,
			[][2]string{{"2026-11-24T14:00:00Z", "2026-11-24T14:00:00Z"}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := planRanges(tc.window, tc.baseline, tc.step)
			if len(got) != tc.chunks {
				t.Errorf("%d ranges, want %d: %v", len(got), tc.chunks, got)
			}
			var spans [][2]string
			for i, r := range got {
				if r.Step != tc.step {
					t.Errorf("range %d: step %s", i, r.Step)
				}
				if r.Start.UnixNano()%int64(tc.step) != 0 || r.End.UnixNano()%int64(tc.step) != 0 {
					t.Errorf("range %d %s..%s is not aligned to %s", i, r.Start, r.End, tc.step)
				}
				if r.Start.Location() != time.UTC {
					t.Errorf("range %d not in UTC", i)
				}
				if n := r.End.Sub(r.Start)/tc.step + 1; n > maxPointsPerQuery || r.End.Before(r.Start) {
					t.Errorf("range %d: %d points", i, n)
				}
				if i > 0 && r.Start.Equal(got[i-1].End.Add(tc.step)) {
					// The chunk continues the previous one: no gap, no overlap.
					spans[len(spans)-1][1] = r.End.Format(time.RFC3339)
					continue
				}
				if i > 0 && !r.Start.After(got[i-1].End) {
					t.Errorf("range %d starts at %s, inside range %d", i, r.Start, i-1)
				}
				spans = append(spans, [2]string{r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339)})
			}
			if !slices.Equal(spans, tc.spans) {
				t.Errorf("spans %v, want %v", spans, tc.spans)
			}
		})
	}
}

func TestAutoStep(t *testing.T) {
	t.Parallel()
	end := tWindow.To
	w := func(d time.Duration) telemetry.Window { return telemetry.Window{From: end.Add(-d), To: end} }
	tests := []struct {
		window, baseline time.Duration
		want             time.Duration
	}{
		{30 * time.Minute, time.Hour, 30 * time.Second},
		{time.Hour, time.Hour, 30 * time.Second},
		{30 * time.Minute, 0, 30 * time.Second},
		{16 * time.Hour, 0, 30 * time.Second},
		{17 * time.Hour, 0, time.Minute},
		{24 * time.Hour, time.Hour, time.Minute},
		{30 * time.Minute, 24 * time.Hour, time.Minute},
		{7 * 24 * time.Hour, 0, 10 * time.Minute},
		{30 * 24 * time.Hour, 0, 30 * time.Minute},
		{10 * 365 * 24 * time.Hour, 0, 24 * time.Hour},
	}
	for _, tc := range tests {
		var baseline telemetry.Window
		if tc.baseline > 0 {
			baseline = w(tc.baseline + 24*time.Hour)
			baseline.To = baseline.From.Add(tc.baseline)
		}
		got := autoStep(w(tc.window), baseline)
		if got != tc.want {
			t.Errorf("autoStep(window %s, baseline %s) = %s, want %s", tc.window, tc.baseline, got, tc.want)
		}
		if got < DefaultMinStep {
			t.Errorf("step %s under the minimum", got)
		}
	}
	// A configured step wins.
	p := newTestProm(t, "http://prometheus:9090", nil, func(c *Config) { c.Step = model.Duration(15 * time.Second) })
	if got := p.Step(w(7*24*time.Hour), telemetry.Window{}); got != 15*time.Second {
		t.Errorf("configured step: %s", got)
	}
}

func TestPlanQueries(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Parse([]byte(`
signals:
  - id: errors
    layer: symptom
    metrics: [errors_total]
    query: sum by (service) (rate(errors_total[2m]))
  - id: ratio
    layer: symptom
    query: sum(rate(a_total[1m])) / sum(rate(b_total[1m]))
  - id: constant
    layer: symptom
    query: vector(1)
  - id: queues
    layer: propagation
    metrics: ['.*queue_depth.*']
  - id: connections
    layer: resource
    metrics: ['conn_.*', 'pool_in_use']
  - id: logs
    layer: symptom
    log_levels: [error]
`))
	if err != nil {
		t.Fatal(err)
	}
	// The catalog refuses bad PromQL; a catalog built in code may not.
	broken := catalog.Signal{ID: "broken", Layer: catalog.LayerSymptom, Query: "sum(rate(x[1m])"}
	cat.Signals = slices.Insert(cat.Signals, 3, broken)
	names := map[string]bool{"errors_total": true, "b_total": true, "pool_in_use": true}
	for i := range 25 {
		names[fmt.Sprintf("kafka_queue_depth_%02d", i)] = true
	}
	plan := planner{cat: cat, names: names, rateWindow: 2 * time.Minute, maxQueries: DefaultMaxQueries, log: slog.New(slog.DiscardHandler)}.plan()
	got, warns := plan.queries, plan.warns
	var ids []string
	count := map[string]int{}
	for _, q := range got {
		if count[q.signal] == 0 {
			ids = append(ids, q.signal)
		}
		count[q.signal]++
	}
	// errors and ratio (one of two metrics) exist, constant names no
	// metric, broken does not parse, connections matches pool_in_use.
	if want := []string{"errors", "ratio", "constant", "queues", "connections"}; !slices.Equal(ids, want) {
		t.Errorf("signals %v, want %v", ids, want)
	}
	if count["queues"] != maxRawMetrics {
		t.Errorf("%d raw queue metrics, want the cap %d", count["queues"], maxRawMetrics)
	}
	// A catalog without service labels: the identity is where it runs.
	if last := got[len(got)-1]; last.metric != "pool_in_use" || last.query != "sum by (namespace, instance) (pool_in_use)" {
		t.Errorf("last query %+v, want pool_in_use read on its own, by identity", last)
	}
	for _, q := range got {
		if q.signal == "queues" && (q.metric < "kafka_queue_depth_00" || q.metric > "kafka_queue_depth_19") {
			t.Errorf("capped raw metrics are not the first in order: %q", q.metric)
		}
	}
	if len(warns) != 2 {
		t.Fatalf("warnings %q, want broken and queues", warns)
	}
	if !strings.Contains(warns[0], "signal broken") || !strings.Contains(warns[1], "signal queues: 25 metrics match") {
		t.Errorf("warnings %q", warns)
	}

	// Without a name list every query signal is asked, no raw one.
	got = planner{cat: cat, rateWindow: 2 * time.Minute, maxQueries: DefaultMaxQueries, log: slog.New(slog.DiscardHandler)}.plan().queries
	ids = ids[:0]
	for _, q := range got {
		ids = append(ids, q.signal)
	}
	if want := []string{"errors", "ratio", "constant"}; !slices.Equal(ids, want) {
		t.Errorf("without names: signals %v, want %v", ids, want)
	}
}

// TestRedactorLongestFirst: a secret that contains another is replaced
// whole, and redacting keeps the error chain.
func TestRedactorLongestFirst(t *testing.T) {
	t.Parallel()
	r := httpsource.Redactor{"abc", "abcdef-longer"}
	if got := r.String("token abcdef-longer and abc"); got != "token <secret> and <secret>" {
		t.Errorf("got %q", got)
	}
	err := r.Error(fmt.Errorf("wrapped: %w", ErrUnreachable))
	if !errors.Is(err, ErrUnreachable) {
		t.Error("redacting lost the error chain")
	}
}

func TestNewPrometheusErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", NewConfig(""), "no Prometheus URL"},
		{"no scheme", NewConfig("prometheus:9090"), `"prometheus:9090": want http://`},
		{"bad scheme keeps credentials out", NewConfig("ftp://bob:hunter22@host/x"), `"ftp://host/x"`},
		{"both basic auth and bearer", func() Config {
			c := parsePromConfig(t, "url: http://h\nbasic_auth: {username: a, password: hunter22}\nbearer_token: hunter33\n")
			return c
		}(), "at most one of"},
	}
	for _, tc := range tests {
		_, err := New(tc.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter") {
			t.Errorf("%s: err %q shows a secret", tc.name, err)
		}
	}
}

// TestPlanQueriesOneSignalPerMetric: a name that two signals' patterns
// match is read once, under the signal the offline classifier gives it.
func TestPlanQueriesOneSignalPerMetric(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	names := map[string]bool{"nginx_connections_active": true, "db_pool_connections_in_use": true, "container_memory_working_set_bytes": true}
	got := planner{cat: cat, names: names, rateWindow: 2 * time.Minute, maxQueries: DefaultMaxQueries, log: slog.New(slog.DiscardHandler)}.plan().queries
	bySignal := map[string][]string{}
	for _, q := range got {
		bySignal[q.signal] = append(bySignal[q.signal], cmp.Or(q.metric, q.query))
	}
	if q := bySignal["proxy_connections"]; len(q) != 1 || q[0] != "nginx_connections_active" {
		t.Errorf("proxy_connections reads %v, want [nginx_connections_active]", q)
	}
	if q := bySignal["db_connections"]; len(q) != 1 || q[0] != "db_pool_connections_in_use" {
		t.Errorf("db_connections reads %v, want only [db_pool_connections_in_use]", q)
	}
	for sig, qs := range bySignal {
		for _, q := range qs {
			if q == "container_memory_working_set_bytes" {
				t.Errorf("%s pulls container_memory_working_set_bytes raw; memory_working_set's query covers it", sig)
			}
		}
	}
}
