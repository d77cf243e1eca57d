// Package analysis is pure computation on a telemetry.Bundle: anomaly scoring,
// onset detection, layers, the dependency graph, ranking and the cause chain.
package analysis

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// DefaultLookback is how long before an anomaly a change may lie and still be its cause.
const DefaultLookback = 2 * time.Hour

// maxRootCauses is how many candidates a result lists.
const maxRootCauses = 10

// Analyze ranks root-cause candidates and builds the cause chain. It is
// deterministic: the same bundle and catalog always give the same result.
func Analyze(b telemetry.Bundle, cat *catalog.Catalog, opt Options) Result {
	lookback := opt.Lookback
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	res := Result{
		Window:          b.Window,
		Baseline:        b.Baseline,
		Warnings:        slices.Clone(b.Warnings),
		Symptoms:        []Finding{},
		RootCauses:      []Candidate{},
		Chain:           []Finding{},
		Anomalies:       []Finding{},
		UnlinkedChanges: []telemetry.Change{},
	}
	logs := indexLogs(b, cat)
	b.Series = append(slices.Clip(b.Series), logSeries(logs, b, cat)...)
	sigs := prepare(b, cat)
	scored, skipped := scoreAll(sigs)
	tol := tolerance(sigs)
	g := buildGraph(b.Edges, sigs)
	mined := minePatterns(logs)
	patterns := notablePatterns(logs, mined, b, cat, calleeCandidates(g, knownServices(sigs, logs, g)))
	res.Stats = Stats{Series: len(scored), LogLines: len(b.Logs), LogPatterns: len(mined), Changes: len(b.Changes)}
	if skipped > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d series had too little data in the baseline or the window and were not scored", skipped, len(sigs)))
	}
	heuristic := 0

	states := map[string]*serviceState{}
	observed := map[string]bool{}
	for _, s := range scored {
		st := states[s.service]
		if st == nil {
			st = &serviceState{name: s.service, infra: true}
			states[s.service] = st
		}
		st.infra = st.infra && s.infra
		st.series++
		st.peak = max(st.peak, s.score)
		observed[s.service] = true
		if !s.anomalous {
			continue
		}
		f := s.finding()
		if f.Heuristic {
			heuristic++
		}
		res.Anomalies = append(res.Anomalies, f)
	}
	// Log templates that are new or surging: evidence of the log-rate
	// findings that count their lines, or findings of their own.
	var ranked, weak []Finding
	res.Anomalies, ranked, weak = applyPatterns(res.Anomalies, patterns, logs, cat)
	for _, f := range ranked {
		st := states[f.Service]
		if st == nil {
			st = &serviceState{name: f.Service, infra: cat.Infrastructure(f.Service, f.Labels)}
			states[f.Service] = st
		}
		// A template is one more signal of its service, and it moved.
		st.series++
		st.peak = max(st.peak, f.Score)
		observed[f.Service] = true
		res.Anomalies = append(res.Anomalies, f)
	}
	sortFindings(res.Anomalies)
	for _, f := range res.Anomalies {
		st := states[f.Service]
		if len(st.anomalous) == 0 || f.Onset.Before(st.onset) {
			st.onset = f.Onset
		}
		st.anomalous = append(st.anomalous, f)
		if f.Layer == catalog.LayerSymptom && !st.infra {
			res.Symptoms = append(res.Symptoms, f)
		}
	}
	if heuristic > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d anomalous series are not in the signal catalog; their layer was guessed from the metric name", heuristic))
	}
	res.Stats.Anomalous = len(res.Anomalies)

	linked, unlinked := linkChanges(withoutShipped(b.Changes), res.Anomalies, observed, g, lookback, tol, b.Window)
	res.UnlinkedChanges = append(res.UnlinkedChanges, unlinked...)
	for svc, lc := range linked {
		st := states[svc]
		if st == nil {
			st = &serviceState{name: svc}
			states[svc] = st
		}
		st.change = &lc
		if st.onset.IsZero() || lc.finding.Onset.Before(st.onset) {
			st.onset = lc.finding.Onset
		}
	}

	res.Services = rankServices(states, g, b.Target, lookback, tol)
	res.Stats.Services = len(res.Services)
	for _, ss := range res.Services {
		st := states[ss.Service]
		if len(st.anomalous) == 0 && st.change == nil {
			continue
		}
		res.RootCauses = append(res.RootCauses, Candidate{
			Rank: len(res.RootCauses) + 1, Service: ss.Service, Score: ss.Score, Finding: candidateFinding(st),
		})
		if len(res.RootCauses) == maxRootCauses {
			break
		}
	}
	if len(res.RootCauses) > 0 {
		res.Chain = buildChain(res.Symptoms, res.RootCauses[0], states, g, b.Target, tol)
		res.Chain = corroborate(res.Chain, patternsByService(patterns), tol)
	}
	// Warnings no catalog signal covers are listed, never ranked or linked.
	if len(weak) > 0 {
		res.Anomalies = append(res.Anomalies, weak...)
		sortFindings(res.Anomalies)
		res.Stats.Anomalous = len(res.Anomalies)
	}
	res.Evidence = evidence(b.Series, res)
	return res
}

// evidence picks the series a report charts.
func evidence(series []telemetry.Series, res Result) map[string]telemetry.Series {
	want := map[string]bool{}
	for _, f := range res.Chain {
		want[f.SeriesID] = true
	}
	for _, f := range res.Symptoms {
		want[f.SeriesID] = true
	}
	for _, c := range res.RootCauses {
		want[c.SeriesID] = true
	}
	delete(want, "")
	ev := make(map[string]telemetry.Series, len(want))
	for _, s := range series {
		if id := s.ID(); want[id] {
			ev[id] = s
		}
	}
	return ev
}

// tolerance is how far apart two onsets may be and still count as
// simultaneous: two sampling steps, at least a minute.
func tolerance(sigs []signal) time.Duration {
	var steps []time.Duration
	for _, s := range sigs {
		pts := s.win
		if len(pts) < 2 {
			continue
		}
		steps = append(steps, pts[1].T.Sub(pts[0].T))
		if len(steps) == 50 {
			break
		}
	}
	if len(steps) == 0 {
		return time.Minute
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	return max(2*steps[len(steps)/2], time.Minute)
}
