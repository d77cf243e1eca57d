package collectors

import (
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// queryMetricNames lists the metric names a PromQL expression selects by
// name, sorted, so the collector can skip queries over absent metrics.
func queryMetricNames(q string) ([]string, error) {
	expr, err := parser.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			names = append(names, vs.Name)
		}
		return nil
	})
	slices.Sort(names)
	return slices.Compact(names), nil
}
