package analysis

import (
	"fmt"
	"sort"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// namedBySignalID names the findings namedStage makes.
const namedBySignalID = "named_by_callers"

// namedStage follows the errors a service logs about another. When a
// service's anomalous error lines (timeouts, refused connections, failed
// calls: log findings that rose and name a callee) point at a service that
// has no telemetry of its own in the bundle, that service is where the
// trouble most likely is: a database or cache nobody exports metrics for
// is the usual case. It gets a finding of its own, at the propagation
// layer (the calls to it fail), and the call becomes an edge of the graph,
// so the caller's errors are put down to it. A named service whose own
// telemetry is there is judged by it, not by what its callers say.
func namedStage(r *run) {
	type named struct {
		f     Finding
		count int
	}
	best := map[string]named{} // by callee: the strongest finding naming it
	for _, f := range r.res.Anomalies {
		if f.Source != "logs" || f.Callee == "" || f.Callee == f.Service || f.ObservedValue <= f.BaselineValue || !isError(f) && !isTrouble(f) {
			continue
		}
		if r.observed[f.Callee] {
			continue
		}
		n := best[f.Callee]
		n.count++
		if n.f.Service == "" || f.Score > n.f.Score {
			n.f = f
		}
		best[f.Callee] = n
	}
	callees := make([]string, 0, len(best))
	for c := range best {
		callees = append(callees, c)
	}
	sort.Strings(callees)
	for _, callee := range callees {
		n := best[callee]
		f := n.f
		r.g.add(telemetry.Edge{Caller: f.Service, Callee: callee})
		g := f
		g.Service = callee
		g.Callee = ""
		g.SignalID = namedBySignalID
		g.Signal = fmt.Sprintf("calls to %s failing (%s's logs)", callee, f.Service)
		g.Layer = catalog.LayerPropagation
		g.SeriesID = f.SeriesID
		g.Explanation = fmt.Sprintf("%s logs errors that name %s from %s (%s), and %s has no telemetry of its own here: the calls to it are what fails",
			f.Service, callee, f.Onset.Format("15:04:05"), f.Signal, callee)
		r.addFinding(g, false)
	}
}

// isTrouble reports whether a log finding counts calls that fail between
// services, timeouts and refused connections, which the catalog places in
// the propagation layer and a caller may log at any level.
func isTrouble(f Finding) bool {
	return f.Layer == catalog.LayerPropagation
}
