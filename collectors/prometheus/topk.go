package prometheus

import (
	"context"
	"fmt"
	"math"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

// On a big installation one aggregated query gives a series per service or
// pod: thousands, each hundreds of samples. Up to max_response_bytes the
// whole answer is read and max_series cuts it here (mostMoved); past it,
// where 100,000 series would be gigabytes, the query is asked again with
// its top-K in it (topKQuery): the server ranks the series and sends only
// the max_series that moved most. The common, smaller answer costs no
// extra request.

// topKQuery wraps q so that the server returns at most k of its series:
// first those present in only one of the baseline and the window, then
// those whose mean moved most between them in units of the baseline's
// standard deviation (at least a thousandth of its level), as mostMoved
// ranks them here (mean and deviation for median and MAD: PromQL before
// 3.x has no MAD). Every subquery is pinned with @ to the end of its
// period, so the ranking is the same at every step of the range query
// (Prometheus evaluates it once) and in every range the query is split
// into: the same k series come back from each.
func topKQuery(q string, k int, window, baseline telemetry.Window, step time.Duration) string {
	sub := func(w telemetry.Window) string {
		// At most rankPoints samples a series: the ranking's subqueries
		// must not cost the server as much as the query itself (its
		// sample limit holds both at once). Pinned a millisecond before
		// the end, as the periods are half-open: the baseline's holds
		// nothing of the window.
		d := max(int(math.Ceil(w.Duration().Seconds())), 1)
		res := max(int(step.Seconds()), (d+rankPoints-1)/rankPoints, 1)
		return fmt.Sprintf("(%s)[%ds:%ds] @ %.3f", q, max(d, res), res, float64(w.To.UnixMilli()-1)/1000)
	}
	win, base := sub(window), sub(baseline)
	mw := "avg_over_time(" + win + ")"
	mb := "avg_over_time(" + base + ")"
	moved := fmt.Sprintf("abs(%s - %s) / (stddev_over_time(%s) + 0.001 * abs(%s) + 1e-12)", mw, mb, base, mb)
	one := fmt.Sprintf("(%s unless %s) * 0 + Inf or (%s unless %s) * 0 + Inf", mw, mb, mb, mw)
	return fmt.Sprintf("(%s) and topk(%d, %s or %s)", q, k, one, moved)
}

// rankPoints bounds the samples a series gives each of topKQuery's
// subqueries.
const rankPoints = 60

// pushEverywhere asks, for each query one of whose ranges was too large
// and asked again with its top-K, its other ranges with the same top-K:
// the server's choice is then the same in every range. (Kept from the
// ranges answered whole by the series the ranked ranges hold, a series
// born in the window would be lost whenever only the baseline's range was
// too large: it has no baseline samples.) It reports which queries were
// ranked on the server.
func (p *Source) pushEverywhere(ctx context.Context, queries []promQuery, ranges []v1.Range, results []rangeResult, window, baseline telemetry.Window, step time.Duration) []bool {
	pushed := make([]bool, len(queries))
	for i, r := range results {
		pushed[i/len(ranges)] = pushed[i/len(ranges)] || r.pushed
	}
	var again []int
	for i, r := range results {
		if pushed[i/len(ranges)] && !r.pushed && r.err == nil {
			again = append(again, i)
		}
	}
	_ = httpsource.Parallel(ctx, len(again), p.cfg.Concurrency, func(k int) {
		i := again[k]
		q := queries[i/len(ranges)]
		series, warns, err := p.queryExpr(ctx, q, topKQuery(q.query, p.cfg.MaxSeries, window, baseline, step), ranges[i%len(ranges)])
		results[i] = rangeResult{series: series, warns: append(results[i].warns, warns...), pushed: err == nil, err: err}
	})
	return pushed
}

// queryCapped is queryRange, but an answer too large to read
// (max_response_bytes) is asked for again with its top max_series series
// pushed into the query; pushed says it was.
func (p *Source) queryCapped(ctx context.Context, q promQuery, r v1.Range, window, baseline telemetry.Window, step time.Duration) (series []telemetry.Series, warns []string, pushed bool, err error) {
	series, warns, err = p.queryRange(ctx, q, r)
	if err == nil || q.change > 0 || !httpsource.TooLarge(err) {
		return series, warns, false, err
	}
	top, more, topErr := p.queryExpr(ctx, q, topKQuery(q.query, p.cfg.MaxSeries, window, baseline, step), r)
	warns = append(warns, more...)
	if topErr != nil {
		return nil, warns, false, fmt.Errorf("%w; asked for the %d series that moved most instead, the server answered: %w", err, p.cfg.MaxSeries, topErr)
	}
	return top, warns, true, nil
}

// pushedWarning says that a query's answer was too large and its top k
// was pushed to the server.
func (p *Source) pushedWarning(q promQuery) string {
	return fmt.Sprintf("prometheus: %s: the answer to query %s is larger than %s; the server was asked for the %d series that moved most from the baseline to the window instead (max_series)",
		q.what(), oneLineQuery(q.query), p.cfg.Names.Field("max_response_bytes"), p.cfg.MaxSeries)
}
