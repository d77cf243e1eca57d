package eval

import (
	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// RCA adapts rca's own analysis to a Ranker: the service ranking is
// analysis.Result.Services, the same ranking `rca analyze` draws its root
// causes from.
type RCA struct {
	Catalog *catalog.Catalog
	Options analysis.Options
}

// Name implements Ranker.
func (RCA) Name() string { return "rca" }

// Rank implements Ranker.
func (r RCA) Rank(b telemetry.Bundle) []string {
	s, _ := r.RankMetrics(b)
	return s
}

// RankMetrics implements MetricRanker.
func (r RCA) RankMetrics(b telemetry.Bundle) ([]string, []MetricRef) {
	a := r.Answer(b)
	return a.Services, a.Metrics
}

// Answer implements Answerer: services from Result.Services; the
// metric-level ranking is the ranked root causes' evidence metrics, then the
// remaining anomalies strongest first. rca names a culprit when its verdict
// is "cause found" (the top candidate's confidence reaches
// analysis.ConfidenceThreshold); on "nothing stands out" it still ranks
// the services, for AC@k, but names none.
func (r RCA) Answer(b telemetry.Bundle) Answer {
	res := analysis.Analyze(b, r.Catalog, r.Options)
	services := make([]string, 0, len(res.Services))
	for _, s := range res.Services {
		services = append(services, s.Service)
	}
	var metrics []MetricRef
	seen := map[MetricRef]bool{}
	add := func(service, metric string) {
		m := MetricRef{Service: service, Metric: metric}
		if service == "" || metric == "" || seen[m] {
			return
		}
		seen[m] = true
		metrics = append(metrics, m)
	}
	for _, c := range res.RootCauses {
		add(c.Service, c.Metric)
	}
	for _, f := range res.Anomalies {
		add(f.Service, f.Metric)
	}
	a := Answer{Services: services, Metrics: metrics, HasConfidence: true}
	a.Culprit = res.Verdict == analysis.VerdictCauseFound && len(res.RootCauses) > 0
	if len(res.RootCauses) > 0 {
		a.Confidence = res.RootCauses[0].Confidence
	}
	return a
}
