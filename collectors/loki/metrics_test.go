package loki

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/internal/logoracle"
	"github.com/rca-tool/rca/telemetry"
)

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// lokiRangeOffset finds a log range and its offset in a LogQL query.
var lokiRangeOffset = regexp.MustCompile(`\[(\w+)\](?:\s+offset\s+(\w+))?`)

// serveMetric answers a metric query_range the way Loki 3.7 computes it
// (pkg/querier/queryrange/splitters.go, pkg/logql/range_vector.go): the
// query frontend aligns the start down and the end up to the step; the
// sample at instant T counts the lines of (T-offset-range, T-offset],
// summed by the catalog's service (and level, for a query by level, as
// the catalog's level labels read it, in lower case if the query says
// ToLower); its time is T-offset in whole
// milliseconds plus the offset in whole milliseconds, and a sample whose
// time is not T is dropped (an offset of less than whole milliseconds
// gives none, as a real Loki does); an instant without a line has no
// sample. f.counts says which lines each query counts.
func (f *fakeLoki) serveMetric(w http.ResponseWriter, q url.Values) {
	query := q.Get("query")
	match, ok := f.counts[query]
	m := lokiRangeOffset.FindStringSubmatch(query)
	if !ok || m == nil {
		http.Error(w, "parse error : syntax error: unexpected IDENTIFIER in "+query, http.StatusBadRequest)
		return
	}
	rng, err := model.ParseDuration(m[1])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var off time.Duration
	if m[2] != "" {
		if off, err = time.ParseDuration(m[2]); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	stepSec, err := strconv.ParseFloat(q.Get("step"), 64)
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	if err != nil || err1 != nil || err2 != nil || stepSec <= 0 {
		http.Error(w, "bad start, end or step", http.StatusBadRequest)
		return
	}
	step := int64(stepSec * 1e9)
	start -= start % step
	if mod := end % step; mod != 0 {
		end += step - mod
	}
	if (end-start)/step > 11000 {
		http.Error(w, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)", http.StatusBadRequest)
		return
	}
	byLevel := strings.Contains(query, "sum by (service, level)")
	lower := strings.Contains(query, "| ToLower}}")
	type group struct{ service, level string }
	bySvc := map[group]*model.SampleStream{}
	for at := start; at <= end; at += step {
		hi := at - off.Nanoseconds()
		lo := hi - time.Duration(rng).Nanoseconds()
		counts := map[group]int{}
		for _, l := range f.lines {
			if ns := l.T.UnixNano(); ns > lo && ns <= hi && match(l) {
				g := group{service: f.cat.Service(l.Labels)}
				if byLevel {
					g.level = f.cat.Level(l.Labels)
				}
				if lower {
					g.level = strings.ToLower(g.level)
				}
				counts[g]++
			}
		}
		ts := model.Time(hi/1e6 + off.Nanoseconds()/1e6)
		if int64(ts)*1e6 != at {
			continue
		}
		for g, n := range counts {
			ss := bySvc[g]
			if ss == nil {
				ss = &model.SampleStream{Metric: model.Metric{}}
				if g.service != "" {
					ss.Metric["service"] = model.LabelValue(g.service)
				}
				if g.level != "" {
					ss.Metric["level"] = model.LabelValue(g.level)
				}
				bySvc[g] = ss
			}
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: ts, Value: model.SampleValue(n)})
		}
	}
	var streams []*model.SampleStream
	for _, g := range slices.SortedFunc(maps.Keys(bySvc), func(a, b group) int {
		return cmp.Or(strings.Compare(a.service, b.service), strings.Compare(a.level, b.level))
	}) {
		streams = append(streams, bySvc[g])
	}
	body, err := promapi.EncodeMatrix(streams)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// oneCount is what Loki counts of lines over window for one signal,
// without a baseline: one series, and no warnings.
func oneCount(t *testing.T, cat *catalog.Catalog, signal string, lines []telemetry.LogLine, window telemetry.Window) telemetry.Series {
	t.Helper()
	got, warns, err := countingLoki(t, cat, lines).Metrics(context.Background(), cat, window, telemetry.Window{})
	got = slices.DeleteFunc(got, func(s telemetry.Series) bool { return s.Signal != signal })
	if err != nil || len(warns) > 0 || len(got) != 1 {
		t.Fatalf("got %d series of %s, %v %q", len(got), signal, err, warns)
	}
	return got[0]
}

// countingLoki is a source over a fake Loki that holds lines and counts
// them for the catalog's log signals as Loki would.
func countingLoki(t *testing.T, cat *catalog.Catalog, lines []telemetry.LogLine) *Source {
	t.Helper()
	f := newFakeLoki(t, lines)
	f.cat, f.counts = cat, countAs(cat, DefaultSelector)
	return newTestLoki(t, f.srv.URL, nil)
}

// countAs makes the fake count a query's lines as the catalog's matching
// does: the signal's level (first level label) or pattern.
func countAs(cat *catalog.Catalog, selector string) map[string]func(telemetry.LogLine) bool {
	out := map[string]func(telemetry.LogLine) bool{}
	for _, s := range cat.LogSignals() {
		q, ok := cat.LogMetricQuery(s, selector)
		if !ok {
			continue
		}
		out[q] = func(l telemetry.LogLine) bool { return s.MatchLog(cat.Level(l.Labels), l.Line) }
	}
	return out
}

// boundaryLines are lines of the log signals on the minutes' edges: at a
// minute's first nanosecond, its last millisecond, inside its first
// millisecond, and in between, of three services, some with a level
// label, some with only Loki's detected_level, and some whose level label
// says info while detected_level says error (the level label wins).
func boundaryLines(from, to time.Time, seed uint64) []telemetry.LogLine {
	rng := rand.New(rand.NewPCG(seed, 7))
	texts := []string{
		"upstream timed out (110: Connection timed out) while reading response header from upstream",
		"dial tcp 10.0.0.7:8080: connect: connection refused",
		"panic: runtime error: index out of range",
		"java.lang.OutOfMemoryError: Java heap space",
		"GET /healthz 200",
		"payment declined",
	}
	offsets := []time.Duration{0, time.Nanosecond, time.Minute - time.Millisecond, 999 * time.Microsecond, time.Millisecond, 30 * time.Second}
	var out []telemetry.LogLine
	for t := from.Truncate(time.Minute); t.Before(to); t = t.Add(time.Minute) {
		for _, off := range offsets {
			if rng.IntN(3) == 0 {
				continue
			}
			labels := telemetry.Labels{"service": []string{"gateway", "checkout", "cart"}[rng.IntN(3)]}
			switch rng.IntN(4) {
			case 0:
				labels["level"] = "error"
			case 1:
				labels["detected_level"] = "error"
			case 2:
				labels["level"], labels["detected_level"] = "info", "error"
			default:
				labels["level"] = "INFO"
			}
			out = append(out, telemetry.LogLine{T: t.Add(off), Labels: labels, Line: texts[rng.IntN(len(texts))] + fmt.Sprintf(" #%d", len(out))})
		}
	}
	return out
}

// TestLokiMetricsMatchLines is the check of the pushed-down counts: for the
// same lines, Loki's per-minute counts (as Loki computes them, with its
// left-open ranges and the frontend's step alignment) must equal the
// analysis' counts of the lines read, minute by minute, including lines
// on a minute's first and last nanosecond.
func TestLokiMetricsMatchLines(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	tests := []struct {
		name             string
		window, baseline telemetry.Window
	}{
		{"baseline before the window", telemetry.Window{From: lokiT0.Add(time.Hour), To: lokiT0.Add(90 * time.Minute)}, telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}},
		{"baseline a week earlier", telemetry.Window{From: lokiT0.Add(time.Hour), To: lokiT0.Add(90 * time.Minute)}, telemetry.Window{From: lokiT0.Add(time.Hour - 7*24*time.Hour), To: lokiT0.Add(2*time.Hour - 7*24*time.Hour)}},
		{"no baseline", telemetry.Window{From: lokiT0, To: lokiT0.Add(30 * time.Minute)}, telemetry.Window{}},
		// Not on whole minutes: the minutes cut by the start are not
		// counted (as the analysis' grid), and the lines stop a minute
		// before the end (see TestLokiMetricsLastMinute).
		{"window off the minute", telemetry.Window{From: lokiT0.Add(61*time.Minute + 17*time.Second), To: lokiT0.Add(90*time.Minute + 17*time.Second)}, telemetry.Window{From: lokiT0.Add(17 * time.Second), To: lokiT0.Add(61*time.Minute + 17*time.Second)}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from, to := tc.window.From, tc.window.To
			if !tc.baseline.From.IsZero() {
				from = tc.baseline.From
			}
			// Lines from 5 minutes before to 5 after, the edges included;
			// off the minute, none in the last minute that the end cuts.
			lines := boundaryLines(from.Add(-5*time.Minute), to.Add(5*time.Minute), uint64(i))
			if !tc.baseline.From.IsZero() && tc.baseline.To.Before(tc.window.From) {
				lines = append(lines, boundaryLines(tc.window.From.Add(-5*time.Minute), tc.window.To.Add(5*time.Minute), uint64(i+100))...)
			}
			if to.Truncate(time.Minute) != to {
				lines = slices.DeleteFunc(lines, func(l telemetry.LogLine) bool {
					return !l.T.Before(to.Truncate(time.Minute)) && l.T.Before(to.Truncate(time.Minute).Add(time.Minute))
				})
			}
			l := countingLoki(t, cat, lines)
			read, warns, err := l.Lines(context.Background(), cat, tc.window, tc.baseline)
			if err != nil || len(warns) > 0 {
				t.Fatalf("collect: %v %q", err, warns)
			}
			got, warns, err := l.Metrics(context.Background(), cat, tc.window, tc.baseline)
			if err != nil || len(warns) > 0 {
				t.Fatalf("metrics: %v %q", err, warns)
			}
			want := logoracle.MinuteCounts(cat, read, tc.window, tc.baseline)
			if len(want) < 10 {
				t.Fatalf("only %d signal and service pairs: the test lines are too few", len(want))
			}
			compareCounts(t, got, want)
		})
	}
}

// compareCounts checks pushed-down series against line counts.
func compareCounts(t *testing.T, got []telemetry.Series, want map[string][]telemetry.Point) {
	t.Helper()
	for _, s := range got {
		if s.Metric != s.Signal || !strings.Contains(s.Query, "count_over_time") {
			t.Errorf("%s: metric %q query %q, want the signal and its LogQL", s.Signal+s.Labels.String(), s.Metric, s.Query)
		}
	}
	logoracle.CompareCounts(t, got, want)
}

// TestLokiMetricsSubMillisecond: the one line Loki counts in another
// minute than the analysis does: stamped after a minute's last whole
// millisecond (offset 1ms is as fine as Loki's range queries go).
func TestLokiMetricsSubMillisecond(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	window := telemetry.Window{From: lokiT0, To: lokiT0.Add(3 * time.Minute)}
	gw := telemetry.Labels{"service": "gateway"}
	lines := []telemetry.LogLine{
		{T: lokiT0.Add(time.Minute - time.Millisecond), Labels: gw, Line: "upstream timed out 1"},       // minute 0, both
		{T: lokiT0.Add(time.Minute - time.Microsecond), Labels: gw, Line: "upstream timed out 2"},       // minute 0 from the lines, 1 from Loki
		{T: lokiT0.Add(time.Minute), Labels: gw, Line: "upstream timed out 3"},                          // minute 1, both
		{T: lokiT0.Add(2*time.Minute + time.Nanosecond), Labels: gw, Line: "upstream timed out 4"},      // minute 2, both
		{T: lokiT0.Add(2*time.Minute + 999*time.Microsecond), Labels: gw, Line: "upstream timed out 5"}, // minute 2, both
	}
	got := oneCount(t, cat, "log_timeouts", lines, window)
	var counts []float64
	for _, p := range got.Points() {
		counts = append(counts, p.V)
	}
	if want := []float64{1, 2, 2}; !slices.Equal(counts, want) {
		t.Errorf("Loki's counts %v, want %v", counts, want)
	}
	if want := logoracle.MinuteCounts(cat, lines, window, telemetry.Window{})[`log_timeouts{service="gateway"}`]; want[0].V != 2 || want[1].V != 1 {
		t.Errorf("the lines' counts %v, want 2, 1, 2", want)
	}
}

// TestLokiMetricsLastMinute: a window that ends inside a minute counts that
// whole minute on the server, where the lines read stop at the end.
func TestLokiMetricsLastMinute(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	window := telemetry.Window{From: lokiT0, To: lokiT0.Add(10*time.Minute + 20*time.Second)}
	gw := telemetry.Labels{"service": "gateway"}
	lines := []telemetry.LogLine{
		{T: lokiT0.Add(10*time.Minute + 10*time.Second), Labels: gw, Line: "upstream timed out"}, // read
		{T: lokiT0.Add(10*time.Minute + 30*time.Second), Labels: gw, Line: "upstream timed out"}, // after the end
	}
	got := oneCount(t, cat, "log_timeouts", lines, window)
	pts := got.Points()
	if len(pts) != 11 || !pts[10].T.Equal(lokiT0.Add(10*time.Minute)) || pts[10].V != 2 {
		t.Errorf("points %v, want 11 minutes, the last counting both lines", pts)
	}
}

// TestLokiMetricsQueries: one query_range per log signal and range, at a
// one-minute step, evaluated at the ends of the minutes, with the tenant
// header, the selector in use in the queries.
func TestLokiMetricsQueries(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	const selector = `{namespace="shop"}`
	f := newFakeLoki(t, nil)
	f.cat, f.counts = cat, countAs(cat, selector)
	l := newTestLoki(t, f.srv.URL, func(c *Config) {
		c.Selector = selector
		c.Headers = map[string]string{"X-Scope-OrgID": "shop"}
	})
	window := telemetry.Window{From: lokiT0.Add(time.Hour), To: lokiT0.Add(90 * time.Minute)}
	baseline := telemetry.Window{From: lokiT0.Add(-7 * 24 * time.Hour), To: lokiT0.Add(-7*24*time.Hour + time.Hour)}
	got, warns, err := l.Metrics(context.Background(), cat, window, baseline)
	if err != nil || len(warns) > 0 || len(got) != 0 {
		t.Fatalf("got %d series, %v %q; want none (no lines)", len(got), err, warns)
	}
	var wantQueries []string
	for _, s := range cat.LogSignals() {
		q, ok := cat.LogMetricQuery(s, selector)
		if !ok {
			t.Fatalf("no query for %s", s.ID)
		}
		if !strings.Contains(q, selector) {
			t.Errorf("%s: query %s does not use the selector", s.ID, q)
		}
		wantQueries = append(wantQueries, q, q)
	}
	var asked []string
	ranges := map[string]bool{}
	for _, r := range f.Requests() {
		q := r.URL.Query()
		asked = append(asked, q.Get("query"))
		ranges[q.Get("start")+" "+q.Get("end")] = true
		if q.Get("step") != "60" || r.Header.Get("X-Scope-OrgID") != "shop" {
			t.Errorf("request %s with org %q, want step 60 and the tenant", r.URL, r.Header.Get("X-Scope-OrgID"))
		}
	}
	slices.Sort(asked)
	slices.Sort(wantQueries)
	if !slices.Equal(asked, wantQueries) {
		t.Errorf("queries\n%s\nwant each signal's twice (baseline, window)\n%s", strings.Join(asked, "\n"), strings.Join(wantQueries, "\n"))
	}
	ns := func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }
	wantRanges := map[string]bool{
		ns(baseline.From.Add(time.Minute)) + " " + ns(baseline.To): true,
		ns(window.From.Add(time.Minute)) + " " + ns(window.To):     true,
	}
	if fmt.Sprint(ranges) != fmt.Sprint(wantRanges) {
		t.Errorf("ranges %v, want the ends of the minutes of each %v", ranges, wantRanges)
	}
}

// TestLokiMetricsFailures: a signal whose query fails, over any of its
// ranges, makes no series and a warning naming it and its query; the
// other signals still count, and the analysis counts the failed one from
// the lines read.
func TestLokiMetricsFailures(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	window, baseline, lines := incidentCase(3)
	timeouts, _ := cat.Signal("log_timeouts")
	timeoutQuery, _ := cat.LogMetricQuery(timeouts, DefaultSelector)
	tests := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request) bool
		want  string
	}{
		{"refused", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Query().Get("query") != timeoutQuery {
				return false
			}
			http.Error(w, "parse error at line 1, col 42: syntax error: unexpected |", http.StatusBadRequest)
			return true
		}, "400 Bad Request: parse error at line 1, col 42"},
		{"the baseline's range fails", func(w http.ResponseWriter, r *http.Request) bool {
			q := r.URL.Query()
			if q.Get("query") != timeoutQuery || q.Get("start") != strconv.FormatInt(lokiT0.Add(time.Minute).UnixNano(), 10) {
				return false
			}
			http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
			return true
		}, "429 Too Many Requests"},
		{"a log query's answer", func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Query().Get("query") != timeoutQuery {
				return false
			}
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"streams","result":[]}}`))
			return true
		}, `wrong resultType "streams", want "matrix" — a log query returns streams`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLoki(t, lines)
			f.cat, f.counts, f.fault = cat, countAs(cat, DefaultSelector), tc.fault
			l := newTestLoki(t, f.srv.URL, nil)
			read, _, err := l.Lines(context.Background(), cat, window, baseline)
			if err != nil {
				t.Fatal(err)
			}
			got, warns, err := l.Metrics(context.Background(), cat, window, baseline)
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 1 || !strings.Contains(warns[0], "signal log_timeouts: query "+timeoutQuery) ||
				!strings.Contains(warns[0], tc.want) || !strings.Contains(warns[0], "counted from the lines read instead") {
				t.Errorf("warnings %q, want one naming log_timeouts, its query and %q", warns, tc.want)
			}
			signals := map[string]bool{}
			for _, s := range got {
				signals[s.Signal] = true
			}
			if signals["log_timeouts"] || !signals["log_errors"] || !signals["log_connection_refused"] {
				t.Errorf("series of %v, want all but log_timeouts", signals)
			}

			// The analysis counts the timeouts from the lines, the errors as Loki did.
			b := telemetry.Bundle{Window: window, Baseline: baseline, Logs: read, Series: got}
			res := analysis.Analyze(b, cat, analysis.Options{})
			queries := map[string]string{}
			for _, f := range res.Anomalies {
				if f.Source == "logs" && f.Service == "gateway" {
					queries[f.SignalID] = f.Query
				}
			}
			errorsQuery, _ := cat.LogMetricQuery(mustSignal(t, cat, "log_errors"), DefaultSelector)
			if q := queries["log_timeouts"]; !strings.HasPrefix(q, `sum(count_over_time({service="gateway"}`) {
				t.Errorf("gateway log_timeouts finding's query %q, want the one of its lines", q)
			}
			if q := queries["log_errors"]; q != errorsQuery {
				t.Errorf("gateway log_errors finding's query %q, want Loki's %q", q, errorsQuery)
			}
		})
	}
}

// TestLokiMetricsMatchAnalysis: the analysis of the lines alone and of the
// lines with Loki's counts agree in everything but the queries the log
// findings name, so the pushed-down counts are the counts the analysis
// would have made from the lines.
func TestLokiMetricsMatchAnalysis(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	window, baseline, lines := incidentCase(11)
	l := countingLoki(t, cat, lines)
	read, _, err := l.Lines(context.Background(), cat, window, baseline)
	if err != nil {
		t.Fatal(err)
	}
	pushed, warns, err := l.Metrics(context.Background(), cat, window, baseline)
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	fromLines := analysis.Analyze(telemetry.Bundle{Window: window, Baseline: baseline, Logs: read}, cat, analysis.Options{})
	fromLoki := analysis.Analyze(telemetry.Bundle{Window: window, Baseline: baseline, Logs: read, Series: pushed}, cat, analysis.Options{})
	if len(fromLoki.Anomalies) == 0 {
		t.Fatal("no anomaly: the test incident is too weak")
	}
	lokiQueries := 0
	for _, r := range []*analysis.Result{&fromLines, &fromLoki} {
		for _, fs := range [][]analysis.Finding{r.Anomalies, r.Symptoms, r.Chain} {
			for i := range fs {
				if strings.Contains(fs[i].Query, "offset 1ms") {
					lokiQueries++
				}
				if fs[i].SignalID != "log_pattern" {
					fs[i].Query = ""
				}
			}
		}
		for i := range r.RootCauses {
			if r.RootCauses[i].SignalID != "log_pattern" {
				r.RootCauses[i].Query = ""
			}
		}
		for k, s := range r.Evidence {
			s.Query = ""
			r.Evidence[k] = s
		}
	}
	a, _ := json.MarshalIndent(fromLines, "", " ")
	b, _ := json.MarshalIndent(fromLoki, "", " ")
	if string(a) != string(b) {
		t.Errorf("the analyses differ:\nfrom lines: %s\nfrom Loki: %s", a, b)
	}
	a, _ = json.Marshal(fromLines.Evidence)
	b, _ = json.Marshal(fromLoki.Evidence)
	if string(a) != string(b) {
		t.Errorf("the evidence series differ:\nfrom lines: %s\nfrom Loki: %s", a, b)
	}
	if lokiQueries == 0 {
		t.Error("no finding names Loki's query: the pushed-down series were not used")
	}
}

// incidentCase is a 30-minute window an hour after lokiT0, the hour
// before as its baseline, and over both boundaryLines (of seed) with the
// window's incidentLines.
func incidentCase(seed uint64) (window, baseline telemetry.Window, lines []telemetry.LogLine) {
	window = telemetry.Window{From: lokiT0.Add(time.Hour), To: lokiT0.Add(90 * time.Minute)}
	baseline = telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}
	return window, baseline, append(boundaryLines(lokiT0, window.To, seed), incidentLines(window)...)
}

// incidentLines are a gateway timing out calling checkout from ten
// minutes into the window, at error level.
func incidentLines(window telemetry.Window) []telemetry.LogLine {
	var out []telemetry.LogLine
	for t := window.From.Add(10 * time.Minute); t.Before(window.To); t = t.Add(3 * time.Second) {
		out = append(out, telemetry.LogLine{T: t, Labels: telemetry.Labels{"service": "gateway", "level": "error"},
			Line: fmt.Sprintf("upstream timed out (110: Connection timed out) while reading response header from upstream, request %d, upstream: \"http://checkout:8080/api\"", len(out))})
	}
	return out
}

func mustSignal(t *testing.T, cat *catalog.Catalog, id string) catalog.Signal {
	t.Helper()
	s, ok := cat.Signal(id)
	if !ok {
		t.Fatalf("no signal %s", id)
	}
	return s
}

func TestPlanLogRanges(t *testing.T) {
	t.Parallel()
	min := func(m int) time.Time { return lokiT0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name             string
		window, baseline telemetry.Window
		ranges           []telemetry.Window
		grid             int
	}{
		{"touching", telemetry.Window{From: min(60), To: min(90)}, telemetry.Window{From: min(0), To: min(60)},
			[]telemetry.Window{{From: min(1), To: min(90)}}, 90},
		{"apart", telemetry.Window{From: min(60), To: min(90)}, telemetry.Window{From: min(0), To: min(30)},
			[]telemetry.Window{{From: min(1), To: min(30)}, {From: min(61), To: min(90)}}, 60},
		{"off the minute", telemetry.Window{From: min(60).Add(10 * time.Second), To: min(90).Add(10 * time.Second)}, telemetry.Window{},
			[]telemetry.Window{{From: min(62), To: min(91)}}, 30},
		{"shorter than a minute", telemetry.Window{From: min(0).Add(time.Second), To: min(0).Add(50 * time.Second)}, telemetry.Window{}, nil, 0},
		{"two weeks: split under 11,000 points", telemetry.Window{From: min(0), To: min(14 * 24 * 60)}, telemetry.Window{},
			[]telemetry.Window{{From: min(1), To: min(10000)}, {From: min(10001), To: min(20000)}, {From: min(20001), To: min(14 * 24 * 60)}}, 14 * 24 * 60},
	}
	for _, tc := range tests {
		ranges, grid := planLogRanges(tc.window, tc.baseline)
		if fmt.Sprint(ranges) != fmt.Sprint(tc.ranges) || len(grid) != tc.grid {
			t.Errorf("%s: ranges %v and %d minutes, want %v and %d", tc.name, ranges, len(grid), tc.ranges, tc.grid)
		}
		for i := 1; i < len(grid); i++ {
			if !grid[i].After(grid[i-1]) || grid[i].Truncate(time.Minute) != grid[i] {
				t.Fatalf("%s: grid not whole minutes in order at %d", tc.name, i)
			}
		}
	}
}

func TestSampleMinute(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{lokiT0, lokiT0.Add(-time.Millisecond), lokiT0.Add(-time.Nanosecond), lokiT0.Add(20 * time.Second), lokiT0.Add(-29 * time.Second)} {
		if got := sampleMinute(at); !got.Equal(lokiT0.Add(-time.Minute)) {
			t.Errorf("sampleMinute(%s) = %s, want the minute before %s", at.Format(time.StampMilli), got.Format(time.StampMilli), lokiT0.Format(time.Kitchen))
		}
	}
}

// TestLokiMetricsNoService: a logql of the user's that sums the service
// away makes no series, and a warning says to keep a service label.
func TestLokiMetricsNoService(t *testing.T) {
	t.Parallel()
	user, err := catalog.Parse([]byte(`
signals:
  - id: log_timeouts
    layer: propagation
    log_pattern: 'timed out'
    logql: 'sum(count_over_time($selector |= "timed out" [1m] offset 1ms))'
`))
	if err != nil {
		t.Fatal(err)
	}
	cat := testCatalog(t).Extend(user)
	s, _ := cat.Signal("log_timeouts")
	q, _ := cat.LogMetricQuery(s, DefaultSelector)
	if q != `sum(count_over_time({service=~".+"} |= "timed out" [1m] offset 1ms))` {
		t.Fatalf("query %s: $selector not replaced", q)
	}
	f := newFakeLoki(t, nil)
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("query") != q {
			return false
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[` +
			strconv.FormatInt(lokiT0.Add(time.Minute).Unix(), 10) + `,"4"]]}]}}`))
		return true
	}
	f.cat, f.counts = cat, countAs(cat, DefaultSelector)
	l := newTestLoki(t, f.srv.URL, nil)
	got, warns, err := l.Metrics(context.Background(), cat, telemetry.Window{From: lokiT0, To: lokiT0.Add(10 * time.Minute)}, telemetry.Window{})
	if err != nil || len(got) != 0 {
		t.Fatalf("got %d series, %v", len(got), err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "signal log_timeouts: no series of its query names a service (keep a service label in by (...))") {
		t.Errorf("warnings %q, want one saying to keep a service label", warns)
	}
}

// TestLokiMetricsTransport: the metric queries go through the shared HTTP
// stack: a 503 is retried, a query that outlasts the timeout is a warning
// naming its signal, and the rest still count.
func TestLokiMetricsTransport(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	window := telemetry.Window{From: lokiT0, To: lokiT0.Add(30 * time.Minute)}
	lines := boundaryLines(window.From, window.To, 5)
	timeoutQuery, _ := cat.LogMetricQuery(mustSignal(t, cat, "log_timeouts"), DefaultSelector)
	panicQuery, _ := cat.LogMetricQuery(mustSignal(t, cat, "log_panics"), DefaultSelector)
	f := newFakeLoki(t, lines)
	f.cat, f.counts = cat, countAs(cat, DefaultSelector)
	var failedOnce sync.Once
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Query().Get("query") {
		case timeoutQuery:
			done := false
			failedOnce.Do(func() {
				http.Error(w, "the ingester is restarting", http.StatusServiceUnavailable)
				done = true
			})
			return done
		case panicQuery:
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		}
		return false
	}
	l := newTestLoki(t, f.srv.URL, func(c *Config) {
		c.Retries = 2
		c.Timeout = model.Duration(time.Second)
	})
	got, warns, err := l.Metrics(context.Background(), cat, window, telemetry.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "signal log_panics: query") || !strings.Contains(warns[0], "no answer within 1s (sources.loki.timeout)") {
		t.Errorf("warnings %q, want one: log_panics timed out", warns)
	}
	signals := map[string]bool{}
	for _, s := range got {
		signals[s.Signal] = true
	}
	if !signals["log_timeouts"] || signals["log_panics"] {
		t.Errorf("series of %v, want log_timeouts (retried) and no log_panics", signals)
	}
}
