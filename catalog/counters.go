package catalog

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// counterSuffixes end the names of cumulative series: counters (_total)
// and the parts of histograms and summaries (_count, _sum, _bucket).
var counterSuffixes = []string{"_total", "_count", "_sum", "_bucket"}

// IsCounterName reports whether a metric name is a counter's by the
// exposition format's conventions: it ends in _total, _count, _sum or
// _bucket.
func IsCounterName(name string) bool {
	for _, s := range counterSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// IsCounter reports whether a metric holds a cumulative count: its type
// from the server's metadata ("counter"; a histogram's or summary's
// _count, _sum and _bucket), or, without metadata (""), its name
// (IsCounterName). A gauge is not one whatever its name. Some exporters'
// counters have no suffix (nginx_connections_accepted): only the metadata
// tells them.
func IsCounter(name, metaType string) bool {
	switch metaType {
	case "counter":
		return true
	case "histogram", "gaugehistogram", "summary":
		return IsCounterName(name) && !strings.HasSuffix(name, "_total")
	case "gauge", "info", "stateset":
		return false
	}
	return IsCounterName(name)
}

// checkedCounter reports whether checkCounters holds a query to reading
// name through rate(): a _total, _sum or _bucket, and a _count of a
// histogram or summary with a unit (_seconds_count). Other _count names
// may be gauges (OpenTelemetry's jvm_thread_count, an up-down counter).
func checkedCounter(name string) bool {
	if base, ok := strings.CutSuffix(name, "_count"); ok {
		return strings.HasSuffix(base, "_seconds") || strings.HasSuffix(base, "_milliseconds") || strings.HasSuffix(base, "_bytes")
	}
	return IsCounterName(name)
}

// rateFuncs turn a counter's range into something that may be compared.
var rateFuncs = map[string]bool{"rate": true, "irate": true, "increase": true, "resets": true}

// checkCounters refuses a query that reads a counter-named metric as a
// level: every selector of such a name must be the range of rate(),
// irate() or increase() (histogram_quantile over rate()d buckets is fine),
// or counted (count, group).
func checkCounters(expr parser.Expr) error {
	var err error
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || err != nil {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if !checkedCounter(name) {
			return nil
		}
		if len(path) >= 1 {
			// count and group read how many series there are, not their values.
			if agg, ok := path[len(path)-1].(*parser.AggregateExpr); ok && (agg.Op == parser.COUNT || agg.Op == parser.GROUP) {
				return nil
			}
		}
		if len(path) >= 2 {
			if _, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
				if call, ok := path[len(path)-2].(*parser.Call); ok && rateFuncs[call.Func.Name] {
					return nil
				}
			}
		}
		err = fmt.Errorf("query reads the counter %s as a level: wrap it in rate(%s[2m]) (or increase)", name, name)
		return nil
	})
	return err
}
