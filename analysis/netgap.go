package analysis

import (
	"fmt"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
)

// networkGapSignalID names the findings netGapStage makes.
const networkGapSignalID = "network_gap"

// ownLatency is what a service's own (server-side) latency series showed:
// how many were scored, and whether one rose to an anomaly.
type ownLatency struct {
	series int
	rose   bool
}

// netGapStage locates faults between services. Where the caller's view of
// its calls to a service (a latency series of the caller labelled with the
// callee) rose while the callee's own view of the requests it serves held,
// the time was lost between them: the callee's network, or the path to it.
// The callee then gets a finding of its own, at the resource layer, so the
// blame no longer stops at the caller that merely waited. Where the
// callee's own latency rose too, or it has none, nothing is added: the
// ordinary propagation rules (onset order, the call graph) decide.
func netGapStage(r *run) {
	var gaps []Finding
	seen := map[string]bool{}
	for _, f := range r.res.Anomalies {
		if f.Callee == "" || f.Unit != "seconds" || f.ObservedValue <= f.BaselineValue || f.Service == f.Callee {
			continue
		}
		own, ok := r.latency[f.Callee]
		if !ok || own.series == 0 || own.rose {
			continue
		}
		key := f.Service + "\x00" + f.Callee
		if seen[key] {
			continue // the caller's strongest view of the call is enough
		}
		seen[key] = true
		g := f
		g.Service = f.Callee
		g.Callee = ""
		g.SignalID = networkGapSignalID
		g.Signal = fmt.Sprintf("network to %s (%s's calls vs its own latency)", f.Callee, f.Service)
		g.Layer = catalog.LayerResource
		g.Heuristic = false
		g.Explanation = fmt.Sprintf("calls from %s to %s took %s (baseline %s) from %s, while %s's own latency of the requests it serves did not rise: the time was lost between them, in %s's network or the path to it",
			f.Service, f.Callee, units.Format(f.ObservedValue, f.Unit), units.Format(f.BaselineValue, f.Unit),
			f.Onset.Format("15:04:05"), f.Callee, f.Callee)
		gaps = append(gaps, g)
	}
	for _, g := range gaps {
		r.addFinding(g, false)
	}
}
