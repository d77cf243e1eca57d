package demo

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Generate simulates the scenario and returns its bundle. It is
// deterministic: the same Scenario gives the same bundle, value for value.
func Generate(s Scenario) (telemetry.Bundle, error) {
	r, err := simulate(s)
	if err != nil {
		return telemetry.Bundle{}, err
	}
	m, e := r.m, r.e
	series := e.series
	slices.SortStableFunc(series, func(a, b telemetry.Series) int { return strings.Compare(a.ID(), b.ID()) })

	return telemetry.Bundle{
		Window:   telemetry.Window{From: m.tl.Window[0], To: m.tl.Window[1]},
		Baseline: telemetry.Window{From: m.tl.Baseline[0], To: m.tl.Baseline[1]},
		Series:   series,
		Logs:     e.logs(r.obs),
		Changes:  changes(m),
		Edges:    m.topo.edges,
	}, nil
}

// run is one simulation with the emitters' intermediate results, which
// WriteOpenMetrics turns into raw series.
type run struct {
	m   *model
	e   *emitter
	obs map[string][]float64 // observed request rate per route
}

// simulate runs the model and every series emitter (not the logs).
func simulate(s Scenario) (*run, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	cat, err := catalog.Default()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	m := newModel(s)
	e := &emitter{m: m, cat: cat}
	e.makePods()
	obs := e.routeSignals()
	e.upstreamSignals(obs)
	res := e.resourceSignals(obs)
	e.podSeries(res)
	e.dbSeries()
	e.businessSeries(obs)
	e.probeSeries()
	e.noisySeries()
	e.nodeSeries(res, obs)
	return &run{m: m, e: e, obs: obs}, nil
}

// changes are the deploys the change sources would find: the decoy and
// the bad one, oldest first.
func changes(m *model) []telemetry.Change {
	decoy := m.topo.service(decoyService(m.s.FaultyService))
	bad := m.topo.service(m.s.FaultyService)
	msg, files := badCommit(bad.name, m.s.Fault)
	return []telemetry.Change{
		deploy(decoy, m.tl.DecoyDeploy, "reword the out-of-stock banner", []string{"web/templates/stock_banner.tmpl"}),
		deploy(bad, m.tl.Deploy, msg, files),
	}
}

func deploy(s serviceSpec, t time.Time, msg string, files []string) telemetry.Change {
	return telemetry.Change{
		T:           t,
		Service:     s.name,
		Kind:        telemetry.ChangeDeploy,
		Summary:     fmt.Sprintf("deploy %s %s (commit %s: %s)", s.name, s.version[1], s.commit, msg),
		FromVersion: s.version[0],
		ToVersion:   s.version[1],
		Commit:      s.commit,
		Author:      s.author,
		Files:       files,
		Source:      "kube-state-metrics",
	}
}

// badCommit is what the faulty deploy ships.
func badCommit(service string, f Fault) (string, []string) {
	if f == FaultMemoryLeak {
		return "cache rendered responses per request id", []string{"internal/render/cache.go"}
	}
	if service == "checkout" {
		return "compute pi to 10,000 places for the receipt footer", []string{"internal/receipt/footer.go", "internal/receipt/pi.go"}
	}
	return "recompute the full price index on every request", []string{"internal/pricing/index.go"}
}
