package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// ErrUnreachable is a Prometheus that could not be asked at all: refused
// connections, DNS failures, timeouts, or an endpoint that is not the API.
var ErrUnreachable = errors.New("Prometheus is unreachable")

// maxRawMetrics bounds how many metric names one catalog signal without a
// query may pull raw: a loose regex must not fetch a whole server.
const maxRawMetrics = 20

// Prometheus is the live metrics collector: one range query per catalog
// signal over the baseline and the window, aggregated on the server.
type Prometheus struct {
	cfg    PrometheusConfig
	api    v1.API
	log    *slog.Logger
	redact redactor
	// Progress, when set, is called after each query with the number done
	// and the total.
	Progress func(done, total int)
}

// NewPrometheus checks cfg and builds the HTTP client. It does no I/O.
func NewPrometheus(cfg PrometheusConfig, log *slog.Logger) (*Prometheus, error) {
	cfg, err := cfg.withDefaults()
	red := redactor(cfg.secrets())
	if err != nil {
		return nil, red.Error(fmt.Errorf("prometheus: %w", err))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc, err := newHTTPClient(cfg, log, red)
	if err != nil {
		return nil, red.Error(fmt.Errorf("prometheus: %w", err))
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL, Client: hc})
	if err != nil {
		return nil, red.Error(fmt.Errorf("prometheus: %w", err))
	}
	return &Prometheus{cfg: cfg, api: v1.NewAPI(client), log: log, redact: red}, nil
}

// newHTTPClient builds the client every collector uses: Prometheus's own
// HTTP settings (auth, TLS, proxy), extra headers, retries, a size cap.
func newHTTPClient(cfg PrometheusConfig, log *slog.Logger, red redactor) (*http.Client, error) {
	rt, err := config.NewRoundTripperFromConfig(cfg.HTTPClientConfig, "rca")
	if err != nil {
		return nil, fmt.Errorf("http client settings: %w", err)
	}
	rt = &headerTransport{next: rt, headers: cfg.Headers}
	rt = &retryTransport{next: rt, retries: max(0, cfg.Retries), log: log, redact: red}
	rt = &limitTransport{next: rt, limit: cfg.MaxResponseBytes}
	// The redirect policy lives in the http.Client, not the round tripper:
	// build the client as config.NewClientFromConfig does.
	hc := &http.Client{Transport: rt}
	if !cfg.HTTPClientConfig.FollowRedirects {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return hc, nil
}

// URL is the server's base URL, without credentials.
func (p *Prometheus) URL() string { return redactURL(p.cfg.URL) }

// Step is the resolution Collect will use for a baseline and window.
func (p *Prometheus) Step(window, baseline telemetry.Window) time.Duration {
	if p.cfg.Step > 0 {
		return time.Duration(p.cfg.Step)
	}
	return autoStep(window, baseline)
}

// promQuery is one planned query: a catalog signal's PromQL, or one raw
// metric of a signal that has no query.
type promQuery struct {
	signal string
	query  string
	// change is 1 + the index of the catalog change source it serves; 0
	// for a signal.
	change int
}

// what names the query's purpose in warnings.
func (q promQuery) what() string {
	if q.change > 0 {
		return "change source " + strings.TrimPrefix(q.signal, "change:")
	}
	return "signal " + q.signal
}

// Collect queries every catalog signal whose metrics exist over the
// baseline and the window. A failing query becomes a warning in the
// bundle; an unreachable server is an error wrapping ErrUnreachable.
func (p *Prometheus) Collect(ctx context.Context, cat *catalog.Catalog, window, baseline telemetry.Window) (telemetry.Bundle, error) {
	b := telemetry.Bundle{Window: window, Baseline: baseline}
	step := p.Step(window, baseline)
	ranges := planRanges(window, baseline, step)
	if len(ranges) == 0 {
		return b, errors.New("prometheus: empty time range")
	}
	full := telemetry.Window{From: ranges[0].Start, To: ranges[len(ranges)-1].End}

	names, err := p.metricNames(ctx, full)
	if err != nil {
		return b, err
	}
	queries, warns := planQueries(cat, names, p.log)
	b.Warnings = append(b.Warnings, warns...)
	if len(queries) > 0 {
		// Changes matter only beside signals to explain.
		queries = append(queries, planChangeQueries(cat, names, p.log)...)
	}
	if len(queries) == 0 {
		b.Warnings = append(b.Warnings, fmt.Sprintf("prometheus %s: no catalog signal's metrics exist between %s and %s", p.URL(), full.From.Format(time.RFC3339), full.To.Format(time.RFC3339)))
		return b, nil
	}
	p.log.Debug("querying prometheus", "url", p.URL(), "queries", len(queries), "ranges", len(ranges), "step", step)

	type result struct {
		series []telemetry.Series
		warns  []string
		err    error
	}
	results := make([]result, len(queries)*len(ranges))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	sem := make(chan struct{}, p.cfg.Concurrency)
	total := len(results)
	for qi, q := range queries {
		for ri, r := range ranges {
			wg.Add(1)
			go func(i int, q promQuery, r v1.Range) {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					results[i].err = ctx.Err()
					return
				}
				defer func() { <-sem }()
				series, warns, err := p.queryRange(ctx, q, r)
				results[i] = result{series, warns, err}
				mu.Lock()
				done++
				if p.Progress != nil {
					p.Progress(done, total)
				}
				mu.Unlock()
			}(qi*len(ranges)+ri, q, r)
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return b, err
	}

	var got [][]telemetry.Series
	changeSeries := make([][][]telemetry.Series, len(cat.ChangeSources))
	failed, unreachable := 0, 0
	var firstUnreachable error
	for i, res := range results {
		q := queries[i/len(ranges)]
		b.Warnings = append(b.Warnings, res.warns...)
		if res.err != nil {
			failed++
			if errors.Is(res.err, ErrUnreachable) {
				unreachable++
				firstUnreachable = cmpOr(firstUnreachable, res.err)
			}
			b.Warnings = append(b.Warnings, fmt.Sprintf("prometheus: %s: query %s failed: %v", q.what(), oneLineQuery(q.query), res.err))
			continue
		}
		if q.change > 0 {
			changeSeries[q.change-1] = append(changeSeries[q.change-1], res.series)
			continue
		}
		got = append(got, res.series)
	}
	if failed == total && unreachable > 0 {
		return b, firstUnreachable
	}
	b.Series = mergeSeries(got)
	for i, groups := range changeSeries {
		if len(groups) > 0 {
			b.Changes = append(b.Changes, DetectChanges(cat.ChangeSources[i], mergeSeries(groups), cat)...)
		}
	}
	b.Changes = MergeChanges(b.Changes)
	p.log.Debug("queried prometheus", "series", len(b.Series), "failed", failed, "of", total)
	return b, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// queryRange runs one query over one range under the query timeout.
func (p *Prometheus) queryRange(ctx context.Context, q promQuery, r v1.Range) ([]telemetry.Series, []string, error) {
	timeout := time.Duration(p.cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	val, warns, _, err := p.api.QueryRange(ctx, q.query, r, v1.WithTimeout(timeout))
	notes := make([]string, 0, len(warns))
	for _, w := range warns {
		notes = append(notes, p.redact.String(fmt.Sprintf("prometheus: signal %s: server warning: %s", q.signal, w)))
	}
	if err != nil {
		return nil, notes, p.describe(ctx, err)
	}
	if val == nil {
		// {"status":"success"} without data: nothing to convert.
		return nil, notes, errors.New("the server's answer is a success with no result (no data.resultType)")
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return nil, notes, fmt.Errorf("%w %q, want \"matrix\"", ErrResultType, val.Type())
	}
	series := MatrixToSeries(m)
	for i := range series {
		if series[i].Metric == "" {
			// An aggregate has no __name__: the signal names it, as in a snapshot.
			series[i].Metric = q.signal
		}
		series[i].Signal, series[i].Query = q.signal, q.query
	}
	p.log.Debug("query", "signal", q.signal, "from", r.Start, "to", r.End, "series", len(series), "took", time.Since(start).Round(time.Millisecond))
	return series, notes, nil
}

// metricNames lists the metric names with data in w, or nil when the
// server does not offer the list (then every signal is queried).
func (p *Prometheus) metricNames(ctx context.Context, w telemetry.Window) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.Timeout))
	defer cancel()
	vals, _, _, err := p.api.LabelValues(ctx, model.MetricNameLabel, nil, w.From, w.To)
	if err != nil {
		// Test the client's error: describe rewords API errors into plain ones.
		var apiErr *v1.Error
		refused := errors.As(err, &apiErr) && apiErr.Type != v1.ErrBadResponse
		err = p.describe(ctx, err)
		if errors.Is(err, ErrUnreachable) || !refused {
			return nil, err
		}
		// Some proxies refuse the label API but answer queries.
		p.log.Debug("cannot list metric names; querying every signal", "err", err)
		return nil, nil
	}
	names := make(map[string]bool, len(vals))
	for _, v := range vals {
		names[string(v)] = true
	}
	p.log.Debug("metric names in range", "count", len(names))
	return names, nil
}

// describe turns a client error into one actionable line, free of secrets.
func (p *Prometheus) describe(ctx context.Context, err error) error {
	e := endpoint{unreachable: ErrUnreachable, url: p.URL(), flag: "--prometheus-url", section: "sources.prometheus",
		timeout: time.Duration(p.cfg.Timeout), redact: p.redact}
	if d, ok := e.describe(ctx, err, "narrow the window or aggregate more in the catalog query, or raise sources.prometheus.max_response_bytes"); ok {
		return d
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		// Scrub before apiError cuts the text: a cut secret is not found.
		e := *apiErr
		e.Msg, e.Detail = p.redact.String(e.Msg), p.redact.String(e.Detail)
		err = apiError(&e)
	}
	return p.redact.Error(err)
}

// apiError words the client library's errors: the server's own error text
// for a refused query, the status for the rest.
func apiError(e *v1.Error) error {
	detail := strings.Join(strings.Fields(e.Detail), " ")
	if len(detail) > 300 {
		detail = strings.ToValidUTF8(detail[:300], "") + "…"
	}
	// The client words a bare HTTP status as "client error: 404"; the
	// server's own text (e.Type bad_data, execution, ...) may end in a
	// number too.
	status := func(codes ...string) bool {
		return e.Type == v1.ErrClient && slices.ContainsFunc(codes, func(c string) bool { return strings.HasSuffix(e.Msg, " "+c) })
	}
	var env apiEnvelope
	switch {
	case status("404", "405"):
		return fmt.Errorf("%w: %s: not a Prometheus API at this URL — check the path (e.g. a /prometheus prefix)", ErrUnreachable, e.Msg)
	case e.Type == v1.ErrBadResponse:
		return fmt.Errorf("the server's answer is not a Prometheus API response: %s", e.Msg)
	case status("401", "403"):
		return fmt.Errorf("%w: %s: the server refused the credentials — check basic_auth / authorization in sources.prometheus", ErrUnreachable, e.Msg)
	case json.Unmarshal([]byte(e.Detail), &env) == nil && env.Status == "error" && env.Error != "":
		// A 5xx whose body is a Prometheus error (Thanos, Mimir, a timeout):
		// the server's whole error text, not the cut JSON.
		return fmt.Errorf("%s: %w", e.Msg, &APIError{Type: env.ErrorType, Msg: env.Error})
	case detail != "":
		return fmt.Errorf("%s: %s", e.Msg, detail)
	default:
		return &APIError{Type: string(e.Type), Msg: e.Msg}
	}
}

// isConnError reports errors that mean no server answered.
func isConnError(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &opErr) || errors.As(err, &dnsErr)
}

// planQueries picks what to ask: a signal's query when one of its metrics
// exists (names nil: always), and for a signal without a query the
// existing metrics its patterns match, each pulled raw.
func planQueries(cat *catalog.Catalog, names map[string]bool, log *slog.Logger) ([]promQuery, []string) {
	var out []promQuery
	var warns []string
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, s := range cat.Signals {
		switch {
		case s.IsLog():
			continue
		case s.Query != "":
			metrics, err := queryMetricNames(s.Query)
			if err != nil {
				warns = append(warns, fmt.Sprintf("catalog signal %s: query does not parse, skipped: %v", s.ID, err))
				continue
			}
			if names != nil && len(metrics) > 0 && !slices.ContainsFunc(metrics, func(m string) bool { return names[m] }) {
				log.Debug("skipping signal: none of its metrics exist in the range", "signal", s.ID, "metrics", strings.Join(metrics, ","))
				continue
			}
			out = append(out, promQuery{signal: s.ID, query: s.Query})
		case len(s.Metrics) > 0 && names != nil:
			var matched []string
			res := compilePatterns(s.Metrics)
			for _, n := range sorted {
				// A name two signals' patterns match belongs to the first, as
				// offline (Classify): it is read once, under that signal.
				if slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(n) }) &&
					cat.Classify("", n).SignalID == s.ID {
					matched = append(matched, n)
				}
			}
			if len(matched) > maxRawMetrics {
				warns = append(warns, fmt.Sprintf("catalog signal %s: %d metrics match its patterns; only the first %d are read — give it a query in the catalog", s.ID, len(matched), maxRawMetrics))
				matched = matched[:maxRawMetrics]
			}
			if len(matched) == 0 {
				log.Debug("skipping signal: no metric matches its patterns", "signal", s.ID)
			}
			for _, n := range matched {
				out = append(out, promQuery{signal: s.ID, query: n})
			}
		}
	}
	return out, warns
}

// planChangeQueries asks each catalog change source whose metrics exist.
func planChangeQueries(cat *catalog.Catalog, names map[string]bool, log *slog.Logger) []promQuery {
	var out []promQuery
	for i, cs := range cat.ChangeSources {
		if cs.Detect == catalog.DetectLog {
			continue // read from Loki
		}
		metrics, err := queryMetricNames(cs.Query)
		if err != nil {
			continue // the catalog checked it at load
		}
		if names != nil && len(metrics) > 0 && !slices.ContainsFunc(metrics, func(m string) bool { return names[m] }) {
			log.Debug("skipping change source: none of its metrics exist in the range", "source", cs.ID, "metrics", strings.Join(metrics, ","))
			continue
		}
		out = append(out, promQuery{signal: "change:" + cs.ID, query: cs.Query, change: i + 1})
	}
	return out
}

// compilePatterns compiles a signal's metric patterns once for all the
// names of a server, anchored as in the catalog.
func compilePatterns(patterns []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		if re, err := regexp.Compile("^(?:" + p + ")$"); err == nil {
			out = append(out, re)
		}
	}
	return out
}

// oneLineQuery folds a multi-line catalog query for a warning.
func oneLineQuery(q string) string { return strings.Join(strings.Fields(q), " ") }

// niceSteps are the steps autoStep picks from: round numbers that line up
// with dashboards.
var niceSteps = []time.Duration{
	30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// targetPoints is the resolution autoStep aims for per range: enough to
// place an onset within a step, few enough to keep the pull small.
const targetPoints = 2000

// maxPointsPerQuery stays under Prometheus's limit of 11,000 points per
// series in one range query.
const maxPointsPerQuery = 10000

// autoStep chooses the finest nice step that keeps each of the window and
// the baseline under targetPoints.
func autoStep(window, baseline telemetry.Window) time.Duration {
	longest := max(window.Duration(), baseline.Duration())
	for _, s := range niceSteps {
		if s >= DefaultMinStep && longest/s <= targetPoints {
			return s
		}
	}
	return niceSteps[len(niceSteps)-1]
}

// planRanges covers the baseline and the window with query ranges at step:
// one range when they touch, two when the baseline lies elsewhere (e.g. a
// week earlier), each split so no query returns more than
// maxPointsPerQuery points per series. Starts are aligned to the step so
// repeated runs ask for the same timestamps.
func planRanges(window, baseline telemetry.Window, step time.Duration) []v1.Range {
	spans := readSpans(window, baseline)
	var out []v1.Range
	for _, s := range spans {
		from := alignDown(s.From, step)
		// The last sample is the last step before To: windows are half-open.
		to := alignDown(s.To.Add(-time.Nanosecond), step)
		if to.Before(from) {
			to = from
		}
		chunk := time.Duration(maxPointsPerQuery-1) * step
		for start := from; !start.After(to); start = start.Add(chunk + step) {
			end := minTime(start.Add(chunk), to)
			out = append(out, v1.Range{Start: start.UTC(), End: end.UTC(), Step: step})
		}
	}
	return out
}

// alignDown rounds t down to a multiple of step since the Unix epoch, as
// Grafana and the query frontends of Thanos and Mimir align (and cache)
// range queries. time.Time.Truncate counts from year 1 instead, which
// differs for steps that do not divide a day.
func alignDown(t time.Time, step time.Duration) time.Time {
	if step <= 0 {
		return t
	}
	// The epoch's offset from Truncate's grid; no UnixNano, so no overflow.
	epoch := time.Unix(0, 0)
	shift := epoch.Sub(epoch.Truncate(step))
	return t.Add(-shift).Truncate(step).Add(shift)
}

// readSpans are the stretches of time to read for a window and its
// baseline: one when they touch, two when the baseline lies elsewhere
// (e.g. a week earlier).
func readSpans(window, baseline telemetry.Window) []telemetry.Window {
	switch {
	case isZeroWindow(baseline):
		return []telemetry.Window{window}
	case baseline.To.Before(window.From):
		return []telemetry.Window{baseline, window}
	}
	return []telemetry.Window{{From: minTime(baseline.From, window.From), To: maxTime(baseline.To, window.To)}}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// headerTransport adds configured headers (tenant ids and the like).
type headerTransport struct {
	next    http.RoundTripper
	headers map[string]string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) == 0 {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	return t.next.RoundTrip(req)
}
