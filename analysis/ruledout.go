package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// Ruled-out hypotheses: for the top candidate's runners-up and for each
// layer of the chain, what else was checked and why it lost, with the
// numbers. Every reason is read off what the run already knows (onsets,
// the call graph, the baseline's range, the changes' effects); none is a
// new score.

const (
	// maxRuledOut bounds the list: the engineer reads it, all of it.
	maxRuledOut = 5
	// maxRuledOutPerLayer keeps one layer from filling it.
	maxRuledOutPerLayer = 2
)

// ruledOutStage lists the hypotheses that were checked and lost.
func ruledOutStage(r *run) {
	in := ruleInput{
		causes:   r.res.RootCauses,
		chain:    r.res.Chain,
		anoms:    r.res.Anomalies,
		unlinked: r.res.UnlinkedChanges,
		states:   r.states,
		g:        r.g,
		window:   r.b.Window,
		lookback: r.lookback,
		tol:      r.tol,
		observed: r.observed,
		skew:     r.skew,
		ranges:   map[string]valueRange{},
	}
	anomalous := map[string]bool{}
	for _, f := range r.res.Anomalies {
		anomalous[f.SeriesID] = true
	}
	for _, s := range r.sigs {
		if id := s.id; anomalous[id] {
			if lo, hi, ok := rangeOf(s.base); ok {
				in.ranges[id] = valueRange{lo, hi}
			}
		}
	}
	r.res.RuledOut = ruleOut(in)
}

// valueRange is the lowest and highest value a series took in the baseline.
type valueRange struct{ lo, hi float64 }

// rangeOf is the range of the finite values among s.
func rangeOf(s samples) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := range s.len() {
		if v := s.v(i); finite(v) {
			lo, hi, ok = math.Min(lo, v), math.Max(hi, v), true
		}
	}
	return lo, hi, ok
}

// ruleInput is what deciding the ruled-out hypotheses reads: plain data
// from the run, so the reasoning can be tested on its own.
type ruleInput struct {
	causes   []Candidate
	chain    []Finding
	anoms    []Finding // strongest first
	unlinked []telemetry.Change
	states   map[string]*serviceState
	g        graph
	window   telemetry.Window
	lookback time.Duration
	tol      time.Duration
	observed map[string]bool
	skew     func(Finding) time.Duration
	// ranges are the baseline ranges of the series, by ID.
	ranges map[string]valueRange
}

func (in ruleInput) linker() linker {
	skew := in.skew
	if skew == nil {
		skew = func(Finding) time.Duration { return 0 }
	}
	return linker{anomalies: in.anoms, observed: in.observed, g: in.g, lookback: in.lookback, tol: in.tol, window: in.window, skew: skew}
}

// ruleOut decides the ruled-out hypotheses, in a fixed order: the other
// changes first (what one would roll back), then the runners-up, then the
// other anomalies of each layer of the chain; at most two per layer and
// five in all, listed by layer from the change up, as the chain reads
// from its bottom.
func ruleOut(in ruleInput) []RuledOut {
	out := []RuledOut{}
	var root *Candidate
	if len(in.causes) > 0 {
		root = &in.causes[0]
	}
	ref, hasRef := in.reference(root)
	inChain := map[string]bool{}
	chainChange := map[string]bool{}
	for _, f := range in.chain {
		inChain[f.Service] = true
		if f.Change != nil {
			chainChange[changeKey(*f.Change)] = true
		}
	}
	if root != nil {
		inChain[root.Service] = true
		if root.Change != nil {
			chainChange[changeKey(*root.Change)] = true
		}
	}
	perLayer := map[catalog.Layer]int{}
	seen := map[string]bool{}
	covered := map[string]bool{} // services with a hypothesis already
	// room says whether a hypothesis would be listed, before its reason is
	// worked out: a large incident has thousands of anomalies.
	room := func(l catalog.Layer, key string) bool {
		return len(out) < maxRuledOut && !seen[key] && perLayer[l] < maxRuledOutPerLayer
	}
	add := func(ro RuledOut, key string) {
		if !room(ro.Layer, key) {
			return
		}
		seen[key] = true
		covered[ro.Service] = true
		perLayer[ro.Layer]++
		out = append(out, ro)
	}
	lk := in.linker()

	// Changes: the runners-up that are changes, then those with no effect.
	for _, c := range in.causes {
		if root != nil && c.Service == root.Service || c.Change == nil || chainChange[changeKey(*c.Change)] || !room(catalog.LayerChange, "change "+changeKey(*c.Change)) {
			continue
		}
		add(in.changeRuledOut(*c.Change, &c, root, ref, hasRef, lk), "change "+changeKey(*c.Change))
	}
	for _, c := range in.unlinked {
		if chainChange[changeKey(c)] || !room(catalog.LayerChange, "change "+changeKey(c)) {
			continue
		}
		add(in.changeRuledOut(c, nil, root, ref, hasRef, lk), "change "+changeKey(c))
	}
	if root == nil {
		return out
	}
	// The runners-up off the chain, by rank.
	for _, c := range in.causes[1:] {
		if c.Change != nil || inChain[c.Service] || covered[c.Service] || in.infra(c.Service) || !room(c.Layer, "signal "+c.Service) {
			continue
		}
		add(in.signalRuledOut(c.Finding, &c, *root, ref, hasRef), "signal "+c.Service)
	}
	// The other anomalies of each layer of the chain, strongest first.
	layers := map[catalog.Layer]bool{}
	for _, f := range in.chain {
		layers[f.Layer] = true
	}
	for _, f := range in.anoms {
		if len(out) >= maxRuledOut {
			break
		}
		if !layers[f.Layer] || f.Layer == catalog.LayerChange || inChain[f.Service] || covered[f.Service] || in.infra(f.Service) || !room(f.Layer, "signal "+f.Service) {
			continue
		}
		add(in.signalRuledOut(f, nil, *root, ref, hasRef), "signal "+f.Service)
	}
	slices.SortStableFunc(out, func(a, b RuledOut) int { return b.Layer.Depth() - a.Layer.Depth() })
	return out
}

func (in ruleInput) infra(service string) bool {
	st := in.states[service]
	return st != nil && st.infra
}

// changeKey identifies a change across the result's lists.
func changeKey(c telemetry.Change) string {
	return c.T.UTC().Format(time.RFC3339Nano) + " " + c.Service + " " + string(c.Kind) + " " + c.Summary
}

// reference is what the losers are measured against: the earliest anomaly
// of the root cause's service or of the chain's links, the moment the
// incident is first seen to start.
func (in ruleInput) reference(root *Candidate) (Finding, bool) {
	var ref Finding
	ok := false
	consider := func(f Finding) {
		if f.Change != nil || f.Layer == catalog.LayerChange || f.Onset.IsZero() {
			return
		}
		if !ok || f.Onset.Before(ref.Onset) {
			ref, ok = f, true
		}
	}
	if root != nil {
		if st := in.states[root.Service]; st != nil {
			for _, f := range st.anomalous {
				consider(f)
			}
		}
	}
	for _, f := range in.chain {
		consider(f)
	}
	return ref, ok
}

// changeRuledOut says why a change is not the cause: it came after the
// incident started, only a blip followed it, nothing moved after it, what
// moved after it follows a later change, or it ranked below the top.
func (in ruleInput) changeRuledOut(c telemetry.Change, cand *Candidate, root *Candidate, ref Finding, hasRef bool, lk linker) RuledOut {
	ro := RuledOut{
		Hypothesis: changeName(c) + " at " + hhmmss(c.T),
		Service:    c.Service,
		Layer:      catalog.LayerChange,
		Numbers:    map[string]float64{},
	}
	refWhat := ""
	if hasRef {
		refWhat = fmt.Sprintf("%s on %s started (%s)", ref.Signal, ref.Service, hhmmss(ref.Onset))
	}
	if hasRef && c.T.After(ref.Onset.Add(lk.skew(ref))) {
		lag := c.T.Sub(ref.Onset)
		ro.Why = fmt.Sprintf("it came %s after %s: a change after the start cannot have caused it", units.Duration(lag), refWhat)
		ro.Numbers["after_start_seconds"] = lag.Seconds()
		return ro
	}
	if lasting, _ := lk.effects(c, true); len(lasting) == 0 {
		blips, via := lk.effects(c, false)
		if len(blips) > 0 {
			e := blips[0]
			where := e.Service
			if via != "" {
				where = via + " (" + e.Service + ")"
			}
			ro.Why = fmt.Sprintf("only %s followed it: %s on %s from %s to %s, then back to normal", blipPhrase(e), e.Signal, where, hhmmss(e.Onset), hhmmss(e.Until))
			ro.Numbers["blip_seconds"] = e.Until.Sub(e.Onset).Seconds()
			if hasRef && e.Until.Before(ref.Onset) {
				gap := ref.Onset.Sub(e.Until)
				ro.Why += fmt.Sprintf(", %s before %s", units.Duration(gap), refWhat)
				ro.Numbers["over_before_start_seconds"] = gap.Seconds()
			}
			ro.Why += fmt.Sprintf("; nothing lasting moved on %s in the %s after it", where, units.Duration(in.lookback))
			ro.Numbers["lookback_seconds"] = in.lookback.Seconds()
			ro.Finding = ptr(e)
			return ro
		}
		ro.Numbers["lookback_seconds"] = in.lookback.Seconds()
		switch callers := in.g.callers[c.Service]; {
		case in.observed[c.Service]:
			ro.Why = fmt.Sprintf("nothing moved on %s in the %s after it", c.Service, units.Duration(in.lookback))
		case len(callers) > 0:
			ro.Why = fmt.Sprintf("%s has no telemetry of its own, and nothing moved on its callers (%s) in the %s after it", c.Service, strings.Join(callers, ", "), units.Duration(in.lookback))
		default:
			ro.Why = fmt.Sprintf("nothing moved on %s in the %s after it (it has no telemetry of its own and no known callers)", c.Service, units.Duration(in.lookback))
		}
		return ro
	}
	effects, _ := lk.effects(c, true)
	e := effects[0]
	if later, ok := in.laterChange(c, e, lk); ok {
		gap := later.T.Sub(c.T)
		ro.Why = fmt.Sprintf("what moved after it (%s on %s from %s) follows the later %s at %s, %s after it", e.Signal, e.Service, hhmmss(e.Onset), changeName(later), hhmmss(later.T), units.Duration(gap))
		ro.Numbers["later_change_after_seconds"] = gap.Seconds()
		ro.Finding = ptr(e)
		return ro
	}
	ro.Finding = ptr(e)
	if root != nil && hasRef && e.Service != root.Service && in.connected(e.Service, root.Service) && before(ref.Onset, e.Onset, in.tol) {
		lag := e.Onset.Sub(ref.Onset)
		ro.Why = fmt.Sprintf("what moved after it (%s on %s from %s) follows %s by %s: downstream of %s, not a cause", e.Signal, e.Service, hhmmss(e.Onset), refWhat, units.Duration(lag), root.Service)
		ro.Numbers["lag_seconds"] = lag.Seconds()
		return ro
	}
	if cand != nil && root != nil {
		ro.Why = fmt.Sprintf("ranked below %s: candidate score %s against %s", rootName(*root), units.Sig3(cand.Score), units.Sig3(root.Score))
		ro.Numbers["candidate_score"] = cand.Score
		ro.Numbers["top_score"] = root.Score
		return ro
	}
	ro.Why = fmt.Sprintf("%s on %s followed it from %s, but no chain from the symptoms reaches it", e.Signal, e.Service, hhmmss(e.Onset))
	return ro
}

// laterChange is the linked change after c whose effects include e.
func (in ruleInput) laterChange(c telemetry.Change, e Finding, lk linker) (telemetry.Change, bool) {
	var best telemetry.Change
	found := false
	for _, name := range sortedStates(in.states) {
		st := in.states[name]
		if st.change == nil || st.change.finding.Change == nil {
			continue
		}
		lc := *st.change.finding.Change
		if !lc.T.After(c.T) {
			continue
		}
		later, _ := lk.effects(lc, false)
		if slices.ContainsFunc(later, func(x Finding) bool {
			return x.SeriesID == e.SeriesID && x.Onset.Equal(e.Onset) && x.Signal == e.Signal
		}) {
			if !found || lc.T.Before(best.T) {
				best, found = lc, true
			}
		}
	}
	return best, found
}

// signalRuledOut says why an anomaly elsewhere is not the cause: it did
// not leave its baseline's range, it follows the root cause in the call
// graph, it started after the incident did, it was a blip, or it is far
// weaker than the chain's link of its layer.
func (in ruleInput) signalRuledOut(f Finding, cand *Candidate, root Candidate, ref Finding, hasRef bool) RuledOut {
	ro := RuledOut{
		Hypothesis: f.Service + " " + f.Signal,
		Service:    f.Service,
		Layer:      f.Layer,
		Numbers:    map[string]float64{},
		Finding:    ptr(f),
	}
	refWhat := ""
	if hasRef {
		refWhat = fmt.Sprintf("%s on %s (%s)", ref.Signal, ref.Service, hhmmss(ref.Onset))
	}
	if rg, ok := in.ranges[f.SeriesID]; ok && f.SeriesID != "" && finite(f.ObservedValue) && f.ObservedValue >= rg.lo && f.ObservedValue <= rg.hi {
		ro.Why = fmt.Sprintf("%s, inside its baseline range (%s to %s)", moved(f), units.Format(rg.lo, f.Unit), units.Format(rg.hi, f.Unit))
		if p, ok := percent(f); ok {
			ro.Numbers["change_percent"] = p
		}
		ro.Numbers["observed"] = f.ObservedValue
		ro.Numbers["baseline_min"] = rg.lo
		ro.Numbers["baseline_max"] = rg.hi
		return ro
	}
	if st := in.states[f.Service]; st != nil && st.view != nil && st.view.of == root.Service {
		v := st.view
		own, theirs := v.own.ObservedValue-v.own.BaselineValue, v.theirs.ObservedValue-v.theirs.BaselineValue
		ro.Hypothesis, ro.Layer, ro.Finding = f.Service+" "+v.own.Signal, v.own.Layer, ptr(v.own)
		ro.Why = fmt.Sprintf("what its callers see of their calls to %s: its %s %s by %s as %s's %s did by %s, together (%s): %s's own view is the origin",
			v.of, v.own.Signal, risenOrFallen(v.own), units.Format(math.Abs(own), v.own.Unit),
			v.of, v.theirs.Signal, units.Format(math.Abs(theirs), v.theirs.Unit), hhmmss(v.theirs.Onset), v.of)
		ro.Numbers["shift"] = round(own, 4)
		ro.Numbers["origin_shift"] = round(theirs, 4)
		return ro
	}
	if hasRef && before(ref.Onset, f.Onset, in.tol) {
		lag := f.Onset.Sub(ref.Onset)
		ro.Numbers["lag_seconds"] = lag.Seconds()
		if rel := in.relation(f.Service, root.Service); rel != "" {
			ro.Why = fmt.Sprintf("%s; its %s follows %s, onset %s later: downstream, not a cause", rel, f.Signal, refWhat, units.Duration(lag))
		} else {
			ro.Why = fmt.Sprintf("its %s started at %s, %s after %s: later than the incident's start, not its cause", f.Signal, hhmmss(f.Onset), units.Duration(lag), refWhat)
		}
		return ro
	}
	if blip(f, in.window, in.tol) {
		ro.Why = fmt.Sprintf("%s: %s from %s to %s, then back to normal", blipPhrase(f), moved(f), hhmmss(f.Onset), hhmmss(f.Until))
		ro.Numbers["blip_seconds"] = f.Until.Sub(f.Onset).Seconds()
		if hasRef && f.Until.Before(ref.Onset) {
			gap := ref.Onset.Sub(f.Until)
			ro.Why += fmt.Sprintf(", %s before %s", units.Duration(gap), refWhat)
			ro.Numbers["over_before_start_seconds"] = gap.Seconds()
		}
		return ro
	}
	if link, ok := in.linkOf(f.Layer); ok && f.Score*weakRatio < link.Score {
		ro.Why = fmt.Sprintf("%.1fx beyond its baseline's variation, against %.0fx for %s on %s in the chain", f.Score, link.Score, link.Signal, link.Service)
		ro.Numbers["score"] = f.Score
		ro.Numbers["chain_score"] = link.Score
		return ro
	}
	if cand != nil {
		ro.Why = fmt.Sprintf("ranked below %s: candidate score %s against %s", rootName(root), units.Sig3(cand.Score), units.Sig3(root.Score))
		ro.Numbers["candidate_score"] = cand.Score
		ro.Numbers["top_score"] = root.Score
		return ro
	}
	ro.Numbers["score"] = f.Score
	if !in.g.empty() && !in.connected(f.Service, root.Service) {
		ro.Why = fmt.Sprintf("%.1fx beyond its baseline's variation, but no call path joins %s and %s, where the chain ends", f.Score, f.Service, root.Service)
	} else {
		ro.Why = fmt.Sprintf("%.1fx beyond its baseline's variation, and %s ranked below %s", f.Score, f.Service, rootName(root))
	}
	return ro
}

// risenOrFallen is "rose" or "fell", as f moved.
func risenOrFallen(f Finding) string {
	if f.ObservedValue < f.BaselineValue {
		return "fell"
	}
	return "rose"
}

// weakRatio: an anomaly this many times weaker than the chain's link of
// its layer is not a rival to it.
const weakRatio = 10

// linkOf is the chain's (first) signal link of a layer.
func (in ruleInput) linkOf(l catalog.Layer) (Finding, bool) {
	for _, f := range in.chain {
		if f.Layer == l && f.Change == nil {
			return f, true
		}
	}
	return Finding{}, false
}

// blipPhrase is "a 30s blip", or "a one-sample blip" for one that was
// over at the sample it started.
func blipPhrase(f Finding) string {
	if d := f.Until.Sub(f.Onset); d > 0 {
		return "a " + units.Duration(d) + " blip"
	}
	return "a one-sample blip"
}

// blip is an anomaly over within the onset tolerance while the window went
// on: the linker's test for an effect that does not last.
func blip(f Finding, w telemetry.Window, tol time.Duration) bool {
	return !f.Until.IsZero() && f.Until.Sub(f.Onset) < tol && before(f.Until, w.To, tol)
}

// relation says how a service sits in the call graph relative to the root
// cause's: "gateway calls checkout", "checkout calls payments" (through
// others, when not directly), or "" when no call path joins them.
func (in ruleInput) relation(svc, root string) string {
	if svc == root || in.g.empty() {
		return ""
	}
	if in.g.ancestors(root)[svc] {
		return callPhrase(in.g.path(svc, root))
	}
	if in.g.descendants(root)[svc] {
		return callPhrase(in.g.path(root, svc))
	}
	return ""
}

func callPhrase(path []string) string {
	if len(path) < 2 {
		return ""
	}
	s := path[0] + " calls " + path[len(path)-1]
	if len(path) > 2 {
		s += " (through " + strings.Join(path[1:len(path)-1], ", ") + ")"
	}
	return s
}

// connected reports whether a call path joins two services, either way.
func (in ruleInput) connected(a, b string) bool {
	return in.relation(a, b) != ""
}

// moved is "memory working set rose 6.2 % (445 MiB to 473 MiB)".
func moved(f Finding) string {
	s := fmt.Sprintf("%s %s", f.Signal, risenOrFallen(f))
	if p, ok := percent(f); ok {
		s += fmt.Sprintf(" %s %%", units.Sig3(math.Abs(p)))
	}
	return s + fmt.Sprintf(" (%s to %s)", units.Format(f.BaselineValue, f.Unit), units.Format(f.ObservedValue, f.Unit))
}

// percent is the relative change from the baseline to the observed value.
func percent(f Finding) (float64, bool) {
	if f.BaselineValue == 0 || !finite(f.BaselineValue) || !finite(f.ObservedValue) {
		return 0, false
	}
	return round((f.ObservedValue-f.BaselineValue)/math.Abs(f.BaselineValue)*100, 1), true
}

func hhmmss(t time.Time) string { return t.UTC().Format("15:04:05") }

// changeName is a change's summary, or its kind and service.
func changeName(c telemetry.Change) string {
	if c.Summary != "" {
		return c.Summary
	}
	return strings.TrimSpace(string(c.Kind) + " of " + c.Service)
}

// rootName is the top candidate in a sentence: its change, or its service
// and signal.
func rootName(c Candidate) string {
	if c.Change != nil {
		return changeName(*c.Change)
	}
	return c.Service + " " + c.Signal
}

func sortedStates(m map[string]*serviceState) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func ptr[T any](v T) *T { return &v }
