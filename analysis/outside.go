package analysis

import (
	"math"
	"slices"
	"time"

	"github.com/rca-tool/rca/catalog"
)

// outside is what makes a service its callers' view of the calls to
// another: its anomaly and the other's that moved alike.
type outside struct {
	of          string
	own, theirs Finding
}

// outsideView says which service s is the callers' view of, or nil: all
// that is seen of s is what its callers see (it calls nothing the graph
// knows, and the data holds no resource, change or log signal of its own),
// every caller of s also calls that service, which has callees of its own,
// and both moved together by about as much (sameShift). A caller's view of
// a call holds the time and the errors of the service behind it (a load
// balancer's node, a client-side span), so when both moved, the service's
// own view is the origin.
func outsideView(s *serviceState, states map[string]*serviceState, g graph, tol time.Duration) *outside {
	callers := g.callers[s.name]
	if len(callers) == 0 || len(g.callees[s.name]) > 0 || len(s.anomalous) == 0 || s.inside || s.logged {
		return nil
	}
	for _, o := range g.callees[callers[0]] {
		st := states[o]
		if o == s.name || st == nil || len(st.anomalous) == 0 || len(g.callees[o]) == 0 {
			continue
		}
		own, theirs, ok := sameShift(s.anomalous, st.anomalous, tol)
		if !ok {
			continue
		}
		all := true
		for _, c := range callers[1:] {
			all = all && slices.Contains(g.callees[c], o)
		}
		if all {
			return &outside{of: o, own: own, theirs: theirs}
		}
	}
	return nil
}

// sameShift finds a symptom of a that moved as one of b did: in the same
// layer (what callers see: errors, latency, availability; not the requests
// they send), unit and direction, together, by about as much (within a
// factor of shiftFactor), both starting in the window: what a caller's
// view of a call shows of the service behind it.
func sameShift(a, b []Finding, tol time.Duration) (Finding, Finding, bool) {
	seen := func(f Finding) bool {
		return (f.Layer == catalog.LayerSymptom || f.Layer == catalog.LayerPropagation) && !f.traffic && !f.CarriedOver && f.Unit != ""
	}
	for _, x := range a {
		if !seen(x) {
			continue
		}
		dx := x.ObservedValue - x.BaselineValue
		for _, y := range b {
			dy := y.ObservedValue - y.BaselineValue
			if !seen(y) || x.Layer != y.Layer || x.Unit != y.Unit || !(dx*dy > 0) || before(x.Onset, y.Onset, tol) || before(y.Onset, x.Onset, tol) {
				continue
			}
			r := math.Abs(dx / dy)
			if r <= shiftFactor && r >= 1/shiftFactor {
				return x, y, true
			}
		}
	}
	return Finding{}, Finding{}, false
}

// shiftFactor is how far apart two shifts may be and still be "about as
// much": a caller's view adds the network's time to the service's and may
// read another percentile (p95 against p99).
const shiftFactor = 1.5
