package analysis

import (
	"cmp"
	"math"
	"sort"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// maxRootCauses is how many candidates a result lists.
const maxRootCauses = 10

// rankStage ranks the services and lists, best first, those with an
// anomaly or a change as root-cause candidates.
func rankStage(r *run) {
	r.res.Services = rankServices(r.states, r.g, r.b.Target, r.lookback, r.tol)
	r.res.Stats.Services = len(r.res.Services)
	for _, ss := range r.res.Services {
		st := r.states[ss.Service]
		if len(st.anomalous) == 0 && st.change == nil {
			continue
		}
		r.res.RootCauses = append(r.res.RootCauses, Candidate{
			Rank: len(r.res.RootCauses) + 1, Service: ss.Service, Score: ss.Score, Finding: candidateFinding(st),
		})
		if len(r.res.RootCauses) == maxRootCauses {
			break
		}
	}
	if len(r.res.RootCauses) == 0 {
		r.res.Nearest = r.nearest
	}
}

// serviceState gathers what is known about one service.
type serviceState struct {
	name      string
	infra     bool
	series    int
	anomalous []Finding // strongest first
	peak      float64   // highest series score, anomalous or not (activity at half)
	onset     time.Time // earliest anomalous onset
	change    *linkedChange
	// down is true when an up gauge of the service fell to 0: the service
	// itself stopped, a state change like a deploy or a restart.
	down bool
	// explained is true when an anomaly of a callee explains the service's
	// own (explainedByCallee); set when the services are ranked.
	explained bool
	// view, when not nil, says the service is its callers' view of the
	// calls to another (outsideView); set when the services are ranked.
	view *outside
	// inside is true when the data holds a resource, change or log signal
	// of the service's own; with logged, that it is seen from inside, not
	// only as its callers see it.
	inside bool
	// logged is true when the service's log lines, or series counting
	// them, are in the data: whether it logged errors can be told.
	logged bool
}

func (s *serviceState) deepest() int {
	d := -1
	for _, f := range s.anomalous {
		d = max(d, f.Layer.Depth())
	}
	if (s.change != nil && !s.change.carried) || s.down {
		d = 3
	}
	return d
}

// layerWeight: a service whose deepest anomaly is a resource or a change is a
// likelier cause than one that only shows symptoms (Watchdog's rule: the
// state change is the cause, degraded performance its effect).
var layerWeight = map[int]float64{-1: 0.5, 0: 0.7, 1: 0.8, 2: 1.0, 3: 1.2}

// activityWeight is how much a signal of activity (the requests a service
// receives, its lines at a verbose level) counts toward how abnormal the
// service is, against any other signal: more work is what it is given, by
// callers or users, so it says the load moved more than that the service
// broke. A service that breaks shows it in errors, latency or resources.
const activityWeight = 0.5

// errorWeight credits a service that logs errors in the window (see
// isError), or whose availability fell (see errorSignals), while nothing
// it calls explains them: its own word that
// something failed in it, which normal variation, new activity included,
// seldom brings. Errors that follow a callee's trouble are its echo.
const errorWeight = 1.5

// rankServices scores every service as a root-cause candidate. The score
// multiplies how abnormal the service is by how much of it moved, its
// deepest anomalous layer, whether it started early, whether the call graph
// shows it as the source (no anomalous callee started first) rather than a
// victim, and whether a change preceded it.
func rankServices(states map[string]*serviceState, g graph, target *telemetry.Target, lookback, tol time.Duration) []ServiceScore {
	var names []string
	for n := range states {
		names = append(names, n)
	}
	hostsOnly := !anyService(states)
	sort.Strings(names)

	// Onset order among anomalous services: causes start before effects.
	var onsets []time.Time
	for _, n := range names {
		if s := states[n]; len(s.anomalous) > 0 && !s.infra {
			onsets = append(onsets, s.onset)
		}
	}
	sort.Slice(onsets, func(i, j int) bool { return onsets[i].Before(onsets[j]) })

	var scope map[string]bool
	if target != nil && target.Service != "" && states[target.Service] != nil {
		scope = g.descendants(target.Service)
		scope[target.Service] = true
	}

	out := make([]ServiceScore, 0, len(names))
	for _, n := range names {
		s := states[n]
		if s.infra && !hostsOnly {
			continue
		}
		frac, peak := 0.0, s.peak
		if s.series > 0 {
			frac = float64(len(s.anomalous)) / float64(s.series)
		} else if s.change != nil {
			// No telemetry of its own: its change is all we see of it, and
			// its callers' anomaly is its strength.
			frac, peak = 1, s.change.finding.Score
			if s.change.carried {
				peak *= carriedWeight
			}
		}
		score := math.Log1p(peak) * (1 + frac) * layerWeight[s.deepest()]
		if s.carried() && s.change == nil && !s.down {
			score *= carriedWeight
		}
		if len(s.anomalous) > 0 {
			s.explained = explainedByCallee(s, states, g, tol)
			score *= onsetWeight(s.onset, onsets, tol)
			s.view = outsideView(s, states, g, tol)
			score *= graphWeight(s, states, g, tol, sentWork(s, states, g, tol) || s.view != nil)
		}
		switch {
		case s.down && (s.change == nil || s.change.carried):
			score *= 1.5 // its outage is the state change, as a change's would be, with no gap to credit
		case errorSignals(s) > 0 && !s.explained:
			// Not on top of an outage's credit: being down says it failed
			// already. (An up gauge at 0 is no error signal: a service down
			// after a deploy has the change's credit, not this one.)
			score *= errorWeight
		}
		if s.change != nil && !s.change.carried {
			closeness := 1 - math.Min(1, s.change.gap.Seconds()/lookback.Seconds())
			score *= 1.5 + 0.5*closeness
		}
		if scope != nil && !scope[n] {
			score *= 0.3
		}
		out = append(out, ServiceScore{Service: n, Score: round(score, 4)})
	}
	// More requests are an effect of whoever sent them: a service only
	// given more work (see givenWork) ranks below every service in scope
	// that broke in another way, its callers or not (the graph may not
	// show who sent the work): it is where the load went. All of them are
	// scaled alike, so that they keep their order.
	floor, most := math.Inf(1), 0.0
	for _, o := range out {
		st := states[o.Service]
		switch {
		case math.IsNaN(o.Score):
		case givenWork(st):
			most = math.Max(most, o.Score)
		case len(st.anomalous) > 0 && (scope == nil || scope[o.Service]):
			floor = math.Min(floor, o.Score)
		}
	}
	if most > 0 && most >= floor {
		k := 0.9 * floor / most
		for i, o := range out {
			if givenWork(states[o.Service]) {
				out[i].Score = round(k*o.Score, 4)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if c := cmp.Compare(out[j].Score, out[i].Score); c != 0 {
			return c < 0 // best first; a NaN, should one slip in, last
		}
		return out[i].Service < out[j].Service
	})
	return out
}

// givenWork reports whether all a service shows is more activity (see
// activityWeight): the requests it received rose, or its lines at a
// verbose level; no change of its own in the window. Less activity is no
// work given: a service whose requests stopped may have stopped serving.
func givenWork(s *serviceState) bool {
	if s.change != nil && !s.change.carried || len(s.anomalous) == 0 {
		return false
	}
	for _, f := range s.anomalous {
		if !f.traffic || !(f.ObservedValue > f.BaselineValue) {
			return false
		}
	}
	return true
}

// onsetWeight favours the services whose anomalies started first. sorted
// holds every anomalous service's onset in time order, so the onsets
// earlier than onset by more than tol are a prefix of it: a binary search
// counts them, and ranking n services costs O(n log n), not O(n²).
func onsetWeight(onset time.Time, sorted []time.Time, tol time.Duration) float64 {
	if len(sorted) < 2 {
		return 1
	}
	earlier := sort.Search(len(sorted), func(i int) bool { return !before(sorted[i], onset, tol) })
	return 1.3 - 0.3*float64(earlier)/float64(len(sorted)-1)
}

// graphWeight discounts a service whose anomaly a callee explains (the
// callee's anomaly started no later and was still going on when this one
// began: s.explained), and one marked sent: its only anomaly is the
// requests a caller sent (see sentWork), or it is the callers' view of
// another (see outsideView). It credits one whose callers suffer after it:
// the blame flows down the call graph to its source.
func graphWeight(s *serviceState, states map[string]*serviceState, g graph, tol time.Duration, sent bool) float64 {
	if g.empty() {
		return 1
	}
	w := 1.0
	if s.explained || sent {
		w = 0.5
	}
	victims := 0
	for a := range g.ancestors(s.name) {
		if c := states[a]; c != nil && len(c.anomalous) > 0 && !before(c.onset, s.onset, tol) {
			victims++
		}
	}
	return w * (1 + 0.1*float64(min(victims, 5)))
}

// explainedByCallee reports whether an anomaly of a service s calls,
// directly or not, explains s's own (see explains).
func explainedByCallee(s *serviceState, states map[string]*serviceState, g graph, tol time.Duration) bool {
	if g.empty() {
		return false
	}
	for _, d := range sortedKeys(g.descendants(s.name)) {
		if c := states[d]; c != nil && explains(c, s.onset, tol, explainShare*min(s.peak, compressKnee)) {
			return true
		}
	}
	return false
}

// sentWork reports whether a caller, direct or not, was abnormal (not only
// in its own traffic) when all of s's anomalies, the requests it receives,
// began: load flows down the call graph, so it sent them.
func sentWork(s *serviceState, states map[string]*serviceState, g graph, tol time.Duration) bool {
	if len(s.anomalous) == 0 || g.empty() {
		return false
	}
	for _, f := range s.anomalous {
		if !f.traffic {
			return false
		}
	}
	for a := range g.ancestors(s.name) {
		c := states[a]
		if c == nil {
			continue
		}
		for _, f := range c.anomalous {
			if !f.traffic && !before(s.onset, f.Onset, tol) && !before(f.Until, s.onset, tol) {
				return true
			}
		}
	}
	return false
}

// explainShare is how strong, against the caller's strongest anomaly, a
// callee's anomaly must be to explain it: a callee that barely moved does
// not account for a caller that moved a lot.
const explainShare = 0.5

// explains reports whether one of c's anomalies at least as strong as
// atLeast, or its change, was under way at t.
func explains(c *serviceState, t time.Time, tol time.Duration, atLeast float64) bool {
	if c.change != nil && !before(t, c.change.finding.Onset, tol) {
		return true
	}
	for _, f := range c.anomalous {
		if f.traffic {
			// The requests it receives are what its callers send.
			continue
		}
		if f.CarriedOver && before(f.Onset, t, tol) {
			// Already there when the window began, while the caller was
			// still fine: it did not bring on what started later.
			continue
		}
		if f.Score >= atLeast && !before(t, f.Onset, tol) && !before(f.Until, t, tol) {
			return true
		}
	}
	return false
}

// candidateFinding is the finding that best says why a service is the cause:
// its linked change, else its outage (an up gauge at 0), else its deepest
// and strongest anomaly, a catalog signal before a metric whose layer was
// guessed from its name (a stress tool's forked processes move further
// than the CPU they burn; the CPU is what to name).
func candidateFinding(s *serviceState) Finding {
	if s.change != nil && (!s.change.carried || !s.down) {
		return s.change.finding
	}
	if s.down {
		// Its outage is the state change that explains the rest of it.
		for _, f := range s.anomalous {
			if isUpGauge(f.Metric) && f.ObservedValue == 0 && f.BaselineValue == 1 {
				return f
			}
		}
	}
	best := s.anomalous[0]
	for _, f := range s.anomalous[1:] {
		if f.Layer.Depth() > best.Layer.Depth() || f.Layer == best.Layer && best.Heuristic && !f.Heuristic {
			best = f
		}
	}
	return best
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// anyService reports whether a state is a service's, not a host's: hosts
// are ranked, and their near misses listed, only when there is none.
func anyService(states map[string]*serviceState) bool {
	for _, s := range states {
		if !s.infra {
			return true
		}
	}
	return false
}
