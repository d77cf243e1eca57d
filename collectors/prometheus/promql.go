package prometheus

import (
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// queryMetricNames lists the metric names a PromQL expression selects by
// name, sorted, so the collector can skip queries over absent metrics.
func queryMetricNames(q string) ([]string, error) {
	expr, err := parser.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	// An *_info metric on a group_left join's right side only lends labels
	// (node_uname_info naming a host): the query reads no data there.
	joins := map[parser.Node]bool{}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if b, ok := n.(*parser.BinaryExpr); ok && b.VectorMatching != nil && b.VectorMatching.Card == parser.CardManyToOne {
			parser.Inspect(b.RHS, func(m parser.Node, _ []parser.Node) error {
				if vs, ok := m.(*parser.VectorSelector); ok && strings.HasSuffix(vs.Name, "_info") {
					joins[m] = true
				}
				return nil
			})
		}
		return nil
	})
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || joins[n] {
			return nil
		}
		if vs.Name != "" {
			names = append(names, vs.Name)
		}
		// {__name__="x"} and the quoted {"x"} select x without a Name.
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && m.Value != "" {
				names = append(names, m.Value)
			}
		}
		return nil
	})
	slices.Sort(names)
	return slices.Compact(names), nil
}
