package loki

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

// logStep is the resolution of log signals: the analysis counts a
// signal's lines per minute, the lines of [t, t+1m) at t.
const logStep = time.Minute

// maxPoints stays under Loki's limit of 11,000 points per series in one
// range query.
const maxPoints = 10000

// lokiMetricConcurrency bounds the metric queries in flight at once.
const lokiMetricConcurrency = 4

// logMetricQuery is one log signal's LogQL metric query.
type logMetricQuery struct {
	signal, query string
}

// Metrics counts the catalog's log signals on the server: for each, its
// LogQL metric query (catalog.LogMetricQuery, over the selector in use) is
// run with query_range at a one-minute step over the baseline and the
// window, so its counts are whole however many lines Collect may read
// (max_lines). The series come per service and minute, as the analysis
// counts lines: Signal and Metric are the signal's id, Query the LogQL,
// Labels the result's, one point a minute at the minute's start, the
// minutes without a line zero, like the ones the analysis makes from
// lines.
//
// A minute t of the analysis holds the lines of [t, t+1m). Loki's range
// at an instant T holds (T-1m, T] — with the derived queries' offset 1ms,
// [T-1m, T) for timestamps of whole milliseconds — so the queries are
// evaluated at t+1m and their samples labelled with the minute before.
//
// A signal whose query fails over any range makes no series (a warning
// names it and its query): the analysis counts it from the lines read.
// Series that name no service are left out. Only a cancelled ctx is an
// error.
func (l *Source) Metrics(ctx context.Context, cat *catalog.Catalog, window, baseline telemetry.Window) ([]telemetry.Series, []string, error) {
	ranges, grid := planLogRanges(window, baseline)
	if len(ranges) == 0 {
		return nil, nil, nil
	}
	var queries []logMetricQuery
	for _, s := range cat.LogSignals() {
		q, ok := cat.LogMetricQuery(s, l.cfg.Selector)
		if !ok {
			l.log.Debug("log signal counted from the lines read: no logql, and none can be derived", "signal", s.ID)
			continue
		}
		queries = append(queries, logMetricQuery{signal: s.ID, query: q})
	}

	type result struct {
		series []telemetry.Series
		warns  []string
		err    error
	}
	results := make([]result, len(queries)*len(ranges))
	if err := httpsource.Parallel(ctx, len(results), lokiMetricConcurrency, func(i int) {
		s, w, err := l.metricRange(ctx, queries[i/len(ranges)], ranges[i%len(ranges)])
		results[i] = result{s, w, err}
	}); err != nil {
		return nil, nil, err
	}

	var out []telemetry.Series
	var warns []string
	for qi, q := range queries {
		var groups [][]telemetry.Series
		var firstErr error
		var firstRange telemetry.Window
		failed := 0
		for ri, r := range ranges {
			res := results[qi*len(ranges)+ri]
			warns = append(warns, res.warns...)
			if res.err != nil {
				if failed == 0 {
					firstErr, firstRange = res.err, r
				}
				failed++
				continue
			}
			groups = append(groups, res.series)
		}
		if failed > 0 {
			// One warning per signal, however many of its ranges failed.
			more := ""
			if failed > 1 {
				more = fmt.Sprintf(" (and %d more ranges)", failed-1)
			}
			warns = append(warns, fmt.Sprintf("loki %s: signal %s: query %s failed over %s%s: %v; counted from the lines read instead",
				l.URL(), q.signal, oneLine(q.query), bucketSpan(firstRange), more, firstErr))
			// Part of a series would be read as a quiet baseline or window.
			continue
		}
		series := telemetry.MergeSeries(groups)
		kept, nameless := 0, 0
		for _, s := range series {
			if cat.Service(s.Labels) == "" {
				nameless++
				continue
			}
			s.Times, s.Values = onGrid(s, grid)
			out = append(out, s)
			kept++
		}
		if nameless > 0 && kept == 0 {
			warns = append(warns, fmt.Sprintf("loki %s: signal %s: no series of its query names a service (keep a service label in by (...)): %s; counted from the lines read instead",
				l.URL(), q.signal, oneLine(q.query)))
		}
		l.log.Debug("loki log signal", "signal", q.signal, "series", kept, "without a service", nameless)
	}
	telemetry.SortSeries(out)
	return out, warns, nil
}

// planLogRanges plans the metric queries of a baseline and a window: the
// minutes the analysis counts (each whole minute that starts inside one,
// in time order) and the query ranges that cover them, as the instants
// to evaluate at: a minute's end. Each range stays under
// maxPoints points (Loki refuses more than 11,000).
func planLogRanges(window, baseline telemetry.Window) (ranges []telemetry.Window, grid []time.Time) {
	for _, span := range (collectors.Range{Window: window, Baseline: baseline}).Spans() {
		first := collectors.AlignDown(span.From, logStep)
		if first.Before(span.From) {
			first = first.Add(logStep)
		}
		// The last minute that starts before the span's end.
		last := collectors.AlignDown(span.To.Add(-time.Nanosecond), logStep)
		if last.Before(first) {
			continue
		}
		for t := first; !t.After(last); t = t.Add(logStep) {
			grid = append(grid, t.UTC())
		}
		chunk := time.Duration(maxPoints-1) * logStep
		for start := first; !start.After(last); start = start.Add(chunk + logStep) {
			end := telemetry.Earliest(start.Add(chunk), last)
			ranges = append(ranges, telemetry.Window{From: start.Add(logStep).UTC(), To: end.Add(logStep).UTC()})
		}
	}
	return ranges, grid
}

// bucketSpan names the minutes a range of instants counts, for warnings.
func bucketSpan(r telemetry.Window) string {
	return telemetry.Window{From: r.From.Add(-logStep), To: r.To}.String()
}

// metricRange is one query_range of a metric query over the instants of r,
// its samples moved to the minute they count.
func (l *Source) metricRange(ctx context.Context, q logMetricQuery, r telemetry.Window) ([]telemetry.Series, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	v := url.Values{}
	v.Set("query", q.query)
	v.Set("start", strconv.FormatInt(r.From.UnixNano(), 10))
	v.Set("end", strconv.FormatInt(r.To.UnixNano(), 10))
	v.Set("step", strconv.FormatFloat(logStep.Seconds(), 'f', -1, 64))
	started := time.Now()
	body, err := l.get(ctx, "/loki/api/v1/query_range", v)
	if err != nil {
		return nil, nil, err
	}
	series, notes, err := DecodeMatrix(body)
	if err != nil {
		return nil, nil, l.redact.Error(err)
	}
	for i := range notes {
		notes[i] = l.redact.String(fmt.Sprintf("loki: signal %s: %s", q.signal, notes[i]))
	}
	for i := range series {
		s := &series[i]
		if s.Metric == "" {
			s.Metric = q.signal
		}
		s.Signal, s.Query = q.signal, q.query
		for j := range s.Times {
			s.Times[j] = sampleMinute(s.Time(j)).UnixNano()
		}
	}
	l.log.Debug("loki metric query", "signal", q.signal, "from", r.From, "to", r.To, "series", len(series), "took", time.Since(started).Round(time.Millisecond))
	return series, notes, nil
}

// sampleMinute is the minute a sample evaluated at the end of it counts:
// the instant asked for, rounded to the nearest minute (a server that
// reports an offset sample at its offset time stays on its minute), less
// a minute.
func sampleMinute(t time.Time) time.Time {
	return collectors.AlignDown(t.Add(logStep/2), logStep).Add(-logStep).UTC()
}

// onGrid puts a signal's counts on the minutes of the analysis: a minute
// Loki has no sample for counted no line.
func onGrid(s telemetry.Series, grid []time.Time) (times []int64, values []float64) {
	at := make(map[int64]float64, s.Len())
	for i, t := range s.Times {
		at[t] = s.Values[i]
	}
	times, values = make([]int64, len(grid)), make([]float64, len(grid))
	for i, t := range grid {
		times[i] = t.UnixNano()
		values[i] = at[times[i]]
	}
	return times, values
}

// oneLine folds a multi-line catalog query for a warning.
func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
