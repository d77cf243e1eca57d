package prometheus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// ErrUnreachable is a Prometheus that could not be asked at all: refused
// connections, DNS failures, timeouts, or an endpoint that is not the API.
//
//lint:ignore ST1005 Prometheus is a name.
var ErrUnreachable = errors.New("Prometheus is unreachable")

// maxRawMetrics bounds how many metric names one catalog signal without a
// query may pull raw: a loose regex must not fetch a whole server.
const maxRawMetrics = 20

// Source is the live metrics source: one range query per catalog signal
// over the baseline and the window, aggregated on the server.
type Source struct {
	cfg    Config
	api    v1.API
	log    *slog.Logger
	redact httpsource.Redactor
	// Progress, when set, is called by Read after each query with the
	// number done and the total.
	Progress func(done, total int)
}

// New checks cfg and builds the HTTP client. It does no I/O.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	cfg, err := cfg.check()
	red := httpsource.Redactor(cfg.Secrets())
	if err != nil {
		return nil, red.Error(fmt.Errorf("prometheus: %w", err))
	}
	log = collectors.Logger(log)
	hc, err := cfg.Client(log, red)
	if err != nil {
		return nil, red.Error(fmt.Errorf("prometheus: %w", err))
	}
	client, err := httpsource.NewAPIClient(cfg.URL, hc)
	if err != nil {
		return nil, red.Error(fmt.Errorf("prometheus: %w", err))
	}
	return &Source{cfg: cfg, api: v1.NewAPI(client), log: log, redact: red}, nil
}

// Name is the source's name in errors.
func (p *Source) Name() string { return "prometheus" }

// Collect reads the request's range (see Read), reporting progress.
func (p *Source) Collect(ctx context.Context, req collectors.Request) (collectors.Part, error) {
	start := time.Now()
	b, err := p.read(ctx, req.Catalog, req.Window, req.Baseline, req.Status, func(done, total int) {
		req.Status(fmt.Sprintf("querying %s: %d/%d", p.URL(), done, total))
	})
	if err != nil {
		return collectors.Part{}, err
	}
	p.log.Debug("collected from prometheus", "url", p.URL(), "series", len(b.Series), "warnings", len(b.Warnings), "took", time.Since(start).Round(time.Millisecond))
	b.Window, b.Baseline = telemetry.Window{}, telemetry.Window{}
	return collectors.Part{Bundle: b, Origin: collectors.Origin{Source: p.Name(), URL: p.URL()}}, nil
}

// URL is the server's base URL, without credentials.
func (p *Source) URL() string { return httpsource.RedactURL(p.cfg.URL) }

// Step is the resolution Collect will use for a baseline and window.
func (p *Source) Step(window, baseline telemetry.Window) time.Duration {
	if p.cfg.Step > 0 {
		return time.Duration(p.cfg.Step)
	}
	return autoStep(window, baseline)
}

// promQuery is one planned query: a catalog signal's PromQL, one metric
// its patterns match, or one metric the catalog does not know.
type promQuery struct {
	// signal is the catalog signal's id, "" for a metric the catalog does
	// not know.
	signal string
	// metric names the series of an aggregate (which have no __name__)
	// when the query reads one metric: its name, or FAMILY:p99.
	metric string
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
	if q.signal == "" {
		return "metric " + q.metric
	}
	return "signal " + q.signal
}

// Read queries every catalog signal whose metrics exist over the
// baseline and the window. A failing query becomes a warning in the
// bundle; an unreachable server is an error wrapping ErrUnreachable.
func (p *Source) Read(ctx context.Context, cat *catalog.Catalog, window, baseline telemetry.Window) (telemetry.Bundle, error) {
	return p.read(ctx, cat, window, baseline, nil, p.Progress)
}

// read is Read, saying what it does through status (when set) and the
// debug log from before its first request.
func (p *Source) read(ctx context.Context, cat *catalog.Catalog, window, baseline telemetry.Window, status func(string), progress func(done, total int)) (telemetry.Bundle, error) {
	// Each step is said before its requests: on a terminal as the status
	// line, with -v as a debug line, so a slow server or proxy never
	// leaves the user looking at nothing.
	say := func(msg string) {
		if status != nil {
			status(msg)
		}
		p.log.Debug(msg)
	}
	b := telemetry.Bundle{Window: window, Baseline: baseline}
	step := p.Step(window, baseline)
	ranges := planRanges(window, baseline, step)
	if len(ranges) == 0 {
		return b, errors.New("prometheus: empty time range")
	}
	full := telemetry.Window{From: ranges[0].Start, To: ranges[len(ranges)-1].End}

	say(fmt.Sprintf("listing metric names on %s…", p.URL()))
	names, err := p.metricNames(ctx, full)
	if err != nil {
		return b, err
	}
	var meta map[string]string
	if names != nil {
		say(fmt.Sprintf("reading metric types on %s (%d names)…", p.URL(), len(names)))
		meta = p.metadata(ctx)
	}
	say(fmt.Sprintf("planning queries for %d metric names", len(names)))
	plan := planner{cat: cat, names: names, meta: meta, rateWindow: rateWindow(step), maxQueries: p.cfg.MaxQueries, log: p.log}.plan()
	queries := plan.queries
	b.Warnings = append(b.Warnings, plan.warns...)
	if len(queries) > 0 && plan.incomplete() {
		b.Warnings = append(b.Warnings, plan.summary(p.cfg.MaxQueries))
	}
	p.log.Debug("planned queries", "names", plan.found, "queries", len(queries), "catalog signals", plan.signals, "change sources", plan.changes, "other metrics", plan.others)
	for _, r := range skipOrder {
		if n := plan.skipped[r]; len(n) > 0 {
			p.log.Debug("metrics not queried", "why", r, "count", len(n), "metrics", strings.Join(n, ","))
		}
	}
	if len(queries) == 0 {
		b.Warnings = append(b.Warnings, fmt.Sprintf("prometheus %s: no catalog signal's metrics exist between %s and %s, and no other metric to read (%d names)", p.URL(), full.From.Format(time.RFC3339), full.To.Format(time.RFC3339), len(names)))
		return b, nil
	}
	p.log.Debug("querying prometheus", "url", p.URL(), "queries", len(queries), "ranges", len(ranges), "step", step)
	if status != nil {
		status(fmt.Sprintf("querying %s: 0/%d", p.URL(), len(queries)*len(ranges)))
	}

	results := make([]rangeResult, len(queries)*len(ranges))
	var (
		mu   sync.Mutex
		done int
	)
	total := len(results)
	if err := httpsource.Parallel(ctx, total, p.cfg.Concurrency, func(i int) {
		series, warns, pushed, err := p.queryCapped(ctx, queries[i/len(ranges)], ranges[i%len(ranges)], window, baseline, step)
		results[i] = rangeResult{series, warns, pushed, err}
		mu.Lock()
		done++
		if progress != nil {
			progress(done, total)
		}
		mu.Unlock()
	}); err != nil {
		return b, err
	}
	pushed := p.pushEverywhere(ctx, queries, ranges, results, window, baseline, step)

	perQuery := make([][][]telemetry.Series, len(queries))
	changeSeries := make([][][]telemetry.Series, len(cat.ChangeSources))
	failed, unreachable := 0, 0
	var firstUnreachable error
	var unfinished []string // cut off by the collection's deadline: one warning
	for i, res := range results {
		q := queries[i/len(ranges)]
		b.Warnings = append(b.Warnings, res.warns...)
		if res.err != nil {
			failed++
			if errors.Is(res.err, ErrUnreachable) {
				unreachable++
				firstUnreachable = cmp.Or(firstUnreachable, res.err)
			}
			if httpsource.Unfinished(res.err) {
				unfinished = append(unfinished, q.what())
				continue
			}
			b.Warnings = append(b.Warnings, fmt.Sprintf("prometheus: %s: query %s failed: %v", q.what(), oneLineQuery(q.query), res.err))
			continue
		}
		if q.change > 0 {
			changeSeries[q.change-1] = append(changeSeries[q.change-1], res.series)
			continue
		}
		perQuery[i/len(ranges)] = append(perQuery[i/len(ranges)], res.series)
	}
	if failed == total && unreachable > 0 {
		return b, firstUnreachable
	}
	if len(unfinished) > 0 {
		b.Warnings = append(b.Warnings, httpsource.UnfinishedWarning("prometheus", p.URL(), len(unfinished), total, time.Duration(p.cfg.Timeout), p.cfg.Names.Field("timeout"), slices.Compact(unfinished)))
	}
	var got [][]telemetry.Series
	for qi, groups := range perQuery {
		if len(groups) == 0 {
			continue
		}
		if pushed[qi] {
			b.Warnings = append(b.Warnings, p.pushedWarning(queries[qi]))
		}
		series := telemetry.MergeSeries(groups)
		if len(series) > p.cfg.MaxSeries {
			q := queries[qi]
			b.Warnings = append(b.Warnings, fmt.Sprintf("prometheus: %s: query %s returned %d series; the %d that moved most from the baseline to the window are kept (max_series)", q.what(), oneLineQuery(q.query), len(series), p.cfg.MaxSeries))
			series = mostMoved(series, p.cfg.MaxSeries, window, baseline)
		}
		got = append(got, series)
	}
	b.Series = telemetry.MergeSeries(got)
	for i, groups := range changeSeries {
		if len(groups) > 0 {
			b.Changes = append(b.Changes, DetectChanges(cat.ChangeSources[i], telemetry.MergeSeries(groups), cat)...)
		}
	}
	b.Changes = collectors.MergeChanges(b.Changes)
	p.log.Debug("queried prometheus", "series", len(b.Series), "failed", failed, "of", total)
	return b, nil
}

// rangeResult is one query's answer over one range.
type rangeResult struct {
	series []telemetry.Series
	warns  []string
	pushed bool // the answer was too large: its top-K was pushed
	err    error
}

// queryRange runs one query over one range under the query timeout.
func (p *Source) queryRange(ctx context.Context, q promQuery, r v1.Range) ([]telemetry.Series, []string, error) {
	return p.queryExpr(ctx, q, q.query, r)
}

// queryExpr is queryRange sending expr, a form of q's query, in its place:
// the series still carry q's query.
func (p *Source) queryExpr(ctx context.Context, q promQuery, expr string, r v1.Range) ([]telemetry.Series, []string, error) {
	timeout := time.Duration(p.cfg.Timeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	val, warns, _, err := p.api.QueryRange(ctx, expr, r, v1.WithTimeout(timeout))
	notes := make([]string, 0, len(warns))
	for _, w := range warns {
		notes = append(notes, p.redact.String(fmt.Sprintf("prometheus: %s: server warning: %s", q.what(), w)))
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
		return nil, notes, fmt.Errorf("%w %q, want \"matrix\"", promapi.ErrResultType, val.Type())
	}
	series, err := promapi.ToSeries(m)
	if err != nil {
		return nil, notes, fmt.Errorf("in the result: %w", err)
	}
	for i := range series {
		if series[i].Metric == "" {
			// An aggregate has no __name__: the metric it reads or the signal
			// names it, as in a snapshot.
			series[i].Metric = cmp.Or(q.metric, q.signal)
		}
		series[i].Signal, series[i].Query = q.signal, q.query
	}
	p.log.Debug("query", "what", q.what(), "from", r.Start, "to", r.End, "series", len(series), "took", time.Since(start).Round(time.Millisecond))
	return series, notes, nil
}

// metricNames lists the metric names with data in w, or nil when the
// server does not offer the list (then every signal is queried).
func (p *Source) metricNames(ctx context.Context, w telemetry.Window) (map[string]bool, error) {
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

// metadata is the type of each metric family the server reports
// (/api/v1/metadata), or nil: VictoriaMetrics may answer with none, a
// backfilled Prometheus has none, and a proxy may refuse the endpoint.
// Then the names decide (_total, _count, _sum and _bucket).
func (p *Source) metadata(ctx context.Context) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.Timeout))
	defer cancel()
	md, err := p.api.Metadata(ctx, "", "")
	if err != nil {
		p.log.Debug("no metric metadata; the names say which metrics are counters", "err", p.describe(ctx, err))
		return nil
	}
	out := make(map[string]string, len(md))
	for name, ms := range md {
		// A family scraped from several targets may be typed differently;
		// the first non-unknown type wins.
		for _, m := range ms {
			if t := strings.ToLower(string(m.Type)); t != "" && t != "unknown" && t != "untyped" {
				out[name] = t
				break
			}
		}
	}
	p.log.Debug("metric metadata", "families", len(out))
	return out
}

// mostMoved keeps the n series that moved most from the baseline to the
// window, in their order: first those present in only one of the two (a
// target gone in the window, a series born in it), then by how far the
// window's median moved from the baseline's, in units of the baseline's
// spread (its median absolute deviation, at least a thousandth of its
// level), then the largest. Keeping the largest alone would cut a small or
// falling signal, which is as often the cause.
func mostMoved(series []telemetry.Series, n int, window, baseline telemetry.Window) []telemetry.Series {
	type rank struct {
		i           int
		one         bool // in only one of the baseline and the window
		moved, size float64
	}
	ranks := make([]rank, len(series))
	w, b := window.Nanos(), baseline.Nanos()
	for i, s := range series {
		var base, win []float64
		size, k := 0.0, 0
		for j, t := range s.Times {
			v := s.Values[j]
			if math.IsNaN(v) {
				continue
			}
			size += math.Abs(v)
			k++
			switch {
			case w.Contains(t):
				win = append(win, v)
			case b.Contains(t):
				base = append(base, v)
			}
		}
		r := rank{i: i, one: (len(base) == 0) != (len(win) == 0)}
		if k > 0 {
			r.size = size / float64(k)
		}
		if len(base) > 0 && len(win) > 0 {
			mb := medianOf(base)
			dev := make([]float64, len(base))
			for j, v := range base {
				dev[j] = math.Abs(v - mb)
			}
			spread := math.Max(medianOf(dev), math.Max(1e-3*math.Abs(mb), 1e-12))
			r.moved = math.Abs(medianOf(win)-mb) / spread
		}
		ranks[i] = r
	}
	slices.SortStableFunc(ranks, func(a, b rank) int {
		if a.one != b.one {
			if a.one {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.moved, a.moved), cmp.Compare(b.size, a.size), cmp.Compare(series[a.i].ID(), series[b.i].ID()))
	})
	keep := make([]int, 0, n)
	for _, r := range ranks[:n] {
		keep = append(keep, r.i)
	}
	slices.Sort(keep)
	out := make([]telemetry.Series, 0, n)
	for _, i := range keep {
		out = append(out, series[i])
	}
	return out
}

// medianOf is the median of values, which it sorts.
func medianOf(v []float64) float64 {
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// describe turns a client error into one actionable line, free of secrets.
func (p *Source) describe(ctx context.Context, err error) error {
	e := p.cfg.Endpoint(ErrUnreachable, p.redact)
	if d, ok := e.Describe(ctx, err, "narrow the window or aggregate more in the catalog query, or raise "+p.cfg.Names.Field("max_response_bytes")); ok {
		return d
	}
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		// Scrub before apiError cuts the text: a cut secret is not found.
		e := *apiErr
		e.Msg, e.Detail = p.redact.String(e.Msg), p.redact.String(e.Detail)
		err = apiError(&e, p.cfg.Names)
	}
	return p.redact.Error(err)
}

// apiError words the client library's errors: the server's own error text
// for a refused query, the status for the rest.
func apiError(e *v1.Error, names httpsource.Names) error {
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
	var env promapi.Envelope
	switch {
	case status("404", "405"):
		return fmt.Errorf("%w: %s: not a Prometheus API at this URL — check the path (e.g. a /prometheus prefix)", ErrUnreachable, e.Msg)
	case e.Type == v1.ErrBadResponse:
		return fmt.Errorf("the server's answer is not a Prometheus API response: %s", strictjson.Plain(e.Msg))
	case status("401", "403"):
		return fmt.Errorf("%w: %s: the server refused the credentials — check basic_auth / authorization%s", ErrUnreachable, e.Msg, names.In())
	case json.Unmarshal([]byte(e.Detail), &env) == nil && env.Status == "error" && env.Error != "":
		// A 5xx whose body is a Prometheus error (Thanos, Mimir, a timeout):
		// the server's whole error text, not the cut JSON.
		return fmt.Errorf("%s: %w", e.Msg, &promapi.APIError{Type: env.ErrorType, Msg: env.Error})
	case detail != "":
		return fmt.Errorf("%s: %s", e.Msg, detail)
	default:
		return &promapi.APIError{Type: string(e.Type), Msg: e.Msg}
	}
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
	spans := (collectors.Range{Window: window, Baseline: baseline}).Spans()
	var out []v1.Range
	for _, s := range spans {
		from := collectors.AlignDown(s.From, step)
		// The last sample is the last step before To: windows are half-open.
		to := collectors.AlignDown(s.To.Add(-time.Nanosecond), step)
		if to.Before(from) {
			to = from
		}
		chunk := time.Duration(maxPointsPerQuery-1) * step
		for start := from; !start.After(to); start = start.Add(chunk + step) {
			end := telemetry.Earliest(start.Add(chunk), to)
			out = append(out, v1.Range{Start: start.UTC(), End: end.UTC(), Step: step})
		}
	}
	return out
}
