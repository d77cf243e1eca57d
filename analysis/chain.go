package analysis

import (
	"slices"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// chainStage builds the cause chain from a symptom to the top candidate,
// with the log templates that corroborate its links.
func chainStage(r *run) {
	if len(r.res.RootCauses) == 0 {
		return
	}
	r.res.Chain = buildChain(r.res.Symptoms, r.res.RootCauses[0], r.states, r.g, r.b.Target, r.tol, r.skew)
	r.res.Chain = corroborate(r.res.Chain, patternsByService(r.patterns), r.tol)
}

// buildChain links the top symptom to the root cause: symptom, then the
// propagation along the call path, then the root service's resource
// anomaly, then the change that preceded it. Every link starts no later
// than the one above it (within the sampling tolerance), and a root
// service's link above its change starts after the change (within a
// sampling step): what was there before a change is not its effect. When
// the change reached its effect through its host or its callers, that
// anomaly is the link above the change.
func buildChain(symptoms []Finding, root Candidate, states map[string]*serviceState, g graph, target *telemetry.Target, tol time.Duration, skew func(Finding) time.Duration) []Finding {
	rs := states[root.Service]
	var floor func(Finding) bool
	if rs != nil && rs.change != nil {
		ct := rs.change.finding.Onset
		floor = func(f Finding) bool { return !f.Onset.Add(skew(f)).Before(ct) }
	}
	top, ok := topSymptom(symptoms, g, states, target)
	var chain []Finding
	used := map[string]bool{}
	limit := root.Onset.Add(24 * time.Hour)
	from := root.Service
	if ok {
		chain = append(chain, top)
		used[linkKey(top)] = true
		limit = top.Onset
		from = top.Service
	}
	path := g.path(from, root.Service)
	if path == nil {
		path = []string{from}
		if from != root.Service {
			path = append(path, root.Service)
		}
	}
	add := func(f Finding, found bool) {
		if !found {
			return
		}
		chain = append(chain, f)
		used[linkKey(f)] = true
		limit = f.Onset
	}
	for i, svc := range path {
		st := states[svc]
		if st == nil {
			continue
		}
		next := ""
		if i+1 < len(path) {
			next = path[i+1]
		}
		var after func(Finding) bool
		if svc == root.Service {
			after = floor
		}
		add(pick(st, catalog.LayerPropagation, next, limit, tol, used, after))
		if next == "" {
			add(pick(st, catalog.LayerResource, "", limit, tol, used, after))
		}
	}
	if rs != nil && rs.change != nil {
		if e := rs.change.effect; e.Service != root.Service && e.SeriesID != "" && !used[linkKey(e)] && !before(limit, e.Onset, tol) {
			// The host's disk, or the caller, the change showed on.
			add(e, true)
		}
		add(rs.change.finding, true)
		add(commitLink(rs.change.finding))
	} else if len(chain) == 0 {
		chain = append(chain, root.Finding)
	}
	return chain
}

// topSymptom is the user-facing symptom to start from: the alert's target
// when the user named one, else the strongest symptom of the most upstream
// anomalous service (the one users talk to).
func topSymptom(symptoms []Finding, g graph, states map[string]*serviceState, target *telemetry.Target) (Finding, bool) {
	if len(symptoms) == 0 {
		return Finding{}, false
	}
	if target != nil {
		for _, f := range symptoms {
			if f.Service == target.Service && (target.Metric == "" || f.Metric == target.Metric) {
				return f, true
			}
		}
	}
	// Fewer anomalous callers means closer to the user; a measured request
	// signal (errors, latency) says more about users than a log line rate.
	// Symptoms are sorted strongest first, so the first such wins ties.
	best, bestUpstream, bestLog := -1, 0, false
	for i, f := range symptoms {
		up := 0
		for a := range g.ancestors(f.Service) {
			if s := states[a]; s != nil && len(s.anomalous) > 0 {
				up++
			}
		}
		log := f.Source == "logs"
		if best < 0 || up < bestUpstream || (up == bestUpstream && bestLog && !log) {
			best, bestUpstream, bestLog = i, up, log
		}
	}
	return symptoms[best], true
}

// pick returns the strongest unused anomaly of the layer on a service that
// starts no later than limit (plus tolerance) and passes ok (when given),
// preferring one that names the callee when a callee is given, then a
// catalog signal to a metric whose layer was guessed (as candidateFinding).
func pick(st *serviceState, layer catalog.Layer, callee string, limit time.Time, tol time.Duration, used map[string]bool, ok func(Finding) bool) (Finding, bool) {
	var best Finding
	found, bestNames := false, false
	for _, f := range st.anomalous {
		if f.Layer != layer || used[linkKey(f)] || before(limit, f.Onset, tol) || (ok != nil && !ok(f)) {
			continue
		}
		names := callee != "" && f.Callee == callee
		if !found || names && !bestNames || names == bestNames && best.Heuristic && !f.Heuristic {
			best, found, bestNames = f, true, names
		}
	}
	return best, found
}

// corroborate puts beside each chain link the log templates of its service
// and layer that were abnormal at the same time (and name the same callee,
// if both name one): the gateway's upstream latency link shows the
// "upstream timed out" lines the gateway logged meanwhile. Each template
// appears once in the chain, on the first link it fits; a link keeps the
// templates it already carries and gets at most maxPatterns.
func corroborate(chain []Finding, patterns map[string][]LogPattern, tol time.Duration) []Finding {
	used := map[string]bool{}
	for _, f := range chain {
		for _, p := range f.Patterns {
			used[p.ID] = true
		}
	}
	for k := range chain {
		f := &chain[k]
		if f.Change != nil || f.Layer == catalog.LayerChange {
			continue
		}
		until := f.Until
		if until.IsZero() {
			until = f.Onset
		}
		for _, p := range patterns[f.Service] {
			if len(f.Patterns) >= maxPatterns {
				break
			}
			if used[p.ID] || p.Layer != f.Layer || (p.Callee != "" && f.Callee != "" && p.Callee != f.Callee) {
				continue
			}
			if before(until, p.Onset, tol) || before(p.Until, f.Onset, tol) {
				continue // not at the same time
			}
			f.Patterns = append(slices.Clip(f.Patterns), p)
			used[p.ID] = true
		}
	}
	return chain
}

// linkKey tells the chain's links apart: a series can stand for two, as
// a caller's view of its calls does for the caller's propagation and for
// its callee's network (see netGapStage).
func linkKey(f Finding) string { return f.SeriesID + "\x00" + f.SignalID }
