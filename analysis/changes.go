package analysis

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// changesStage links each change to the anomalies it may explain; a linked
// change is its service's deepest evidence and may move its onset earlier.
func changesStage(r *run) {
	r.res.Stats.Changes = len(r.b.Changes)
	lk := linker{anomalies: r.res.Anomalies, observed: r.observed, g: r.g, lookback: r.lookback, tol: r.tol, window: r.b.Window, skew: r.skew}
	linked, unlinked := lk.link(withoutShipped(r.b.Changes))
	r.res.UnlinkedChanges = append(r.res.UnlinkedChanges, unlinked...)
	for svc, lc := range linked {
		st := r.state(svc, false)
		st.change = &lc
		if lc.carried {
			continue // it explains an earlier event, not what starts in the window
		}
		if st.onset.IsZero() || lc.finding.Onset.Before(st.onset) {
			st.onset = lc.finding.Onset
		}
	}
}

// linkedChange is a change that precedes anomalies on its own service, on
// the host it ran on, or (for a service without telemetry) on its callers.
type linkedChange struct {
	finding Finding
	// gap is the time from the change to the first anomaly it explains
	// (zero when that anomaly was first sampled within a step after it).
	gap time.Duration
	// effect is the first anomaly it explains that starts in the window,
	// else the first it explains.
	effect Finding
	// carried is true when every anomaly it explains was carried over from
	// before the window: it caused an earlier event whose tail the window
	// holds.
	carried bool
}

// linker decides which changes explain which anomalies.
type linker struct {
	anomalies []Finding
	observed  map[string]bool
	g         graph
	lookback  time.Duration
	tol       time.Duration
	window    telemetry.Window
	// skew is how long after an anomaly's onset a change may lie and still
	// be its cause: the sampling step of the anomaly's series. An onset is
	// only known to a sample (a log count per minute starts at the minute);
	// a change later than that came after the anomaly was already there.
	skew func(Finding) time.Duration
}

// link decides, for every change, whether it precedes anomalies on its
// service or its host within the lookback (a candidate cause) or is
// followed by nothing anomalous. A change on a service that has no
// telemetry of its own (a database, a config store) is linked through its
// anomalous callers. A change is never listed as without effect while an
// anomaly in its reach that started after it is left unexplained.
func (lk linker) link(changes []telemetry.Change) (linked map[string]linkedChange, unlinked []telemetry.Change) {
	linked = map[string]linkedChange{}
	sorted := append([]telemetry.Change(nil), changes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].T.Before(sorted[j].T) })
	var candidates []telemetry.Change
	undone := undoneAt(sorted)
	for i, c := range sorted {
		if restores(sorted, i) {
			// It brought back the version that ran before: nothing new to
			// blame on it.
			candidates = append(candidates, c)
			continue
		}
		effects, via := lk.effects(c, true)
		if len(effects) == 0 {
			// Only blips followed it: a weak candidate, but never one to
			// hide, nor to list as having no effect.
			effects, via = lk.effects(c, false)
		}
		effects = lk.beforeUndo(effects, undone[i])
		if len(effects) == 0 {
			if c.T.After(lk.window.From.Add(-lk.lookback)) && c.T.Before(lk.window.To) {
				candidates = append(candidates, c)
			}
			continue
		}
		first, carried := effects[0], true
		for _, e := range effects {
			if !e.CarriedOver {
				first, carried = e, false
				break
			}
		}
		gap := first.Onset.Sub(c.T)
		f := Finding{
			Service:       c.Service,
			Signal:        c.Summary,
			SignalID:      "change:" + string(c.Kind),
			Layer:         catalog.LayerChange,
			Direction:     catalog.Up,
			Score:         first.Score,
			Onset:         c.T.UTC(),
			BaselineValue: 0,
			ObservedValue: 1,
			Change:        &c,
			Source:        "changes",
		}
		if f.Signal == "" {
			f.Signal = fmt.Sprintf("%s of %s", c.Kind, c.Service)
		}
		who := first.Service
		if via != "" {
			who = via + " (" + first.Service + ")"
		}
		when := c.T.UTC().Format("15:04:05")
		switch {
		case carried:
			f.Explanation = fmt.Sprintf("%s at %s, before %s on %s, which was already under way when the window began at %s",
				f.Signal, when, first.Signal, who, first.Onset.UTC().Format("15:04:05"))
		case gap > 0:
			f.Explanation = fmt.Sprintf("%s at %s, %s before %s on %s started", f.Signal, when, units.Duration(gap), first.Signal, who)
		default:
			// Within a step after the onset: the same sample saw both.
			f.Explanation = fmt.Sprintf("%s at %s, in the same %s sample as the start of %s on %s (first seen at %s)",
				f.Signal, when, units.Duration(lk.skew(first)), first.Signal, who, first.Onset.UTC().Format("15:04:05"))
			gap = 0
		}
		// The latest change before the anomalies is the likelier cause.
		if prev, ok := linked[c.Service]; !ok || gap <= prev.gap {
			if ok {
				candidates = append(candidates, *prev.finding.Change)
			}
			linked[c.Service] = linkedChange{finding: f, gap: gap, effect: first, carried: carried}
		} else {
			candidates = append(candidates, c)
		}
	}
	for _, c := range candidates {
		if !lk.unexplainedAfter(c, linked) {
			unlinked = append(unlinked, c)
		}
	}
	sort.SliceStable(unlinked, func(i, j int) bool { return unlinked[i].T.Before(unlinked[j].T) })
	return linked, unlinked
}

// effects are the anomalies a change may explain, earliest first, and how
// they were reached: "" for its own service or its host, "its callers" for
// those of a service without telemetry. lasting drops the blips (see after).
func (lk linker) effects(c telemetry.Change, lasting bool) ([]Finding, string) {
	host := normalHost(c.Host)
	out := lk.after(c, lasting, func(f Finding) bool {
		return f.Service == c.Service || (host != "" && sameHost(hostOf(f.Labels), host))
	})
	if len(out) > 0 || lk.observed[c.Service] {
		return out, ""
	}
	callers := map[string]bool{}
	for _, p := range lk.g.callers[c.Service] {
		callers[p] = true
	}
	return lk.after(c, lasting, func(f Finding) bool { return callers[f.Service] }), "its callers"
}

// after are the matching anomalies that start after the change (or within
// a sampling step before it: the same sample saw both) and within the
// lookback, earliest first. A change is a new state, so its effects last:
// when lasting, a blip that was over within a couple of samples, while the
// window went on, is not one.
func (lk linker) after(c telemetry.Change, lasting bool, match func(Finding) bool) []Finding {
	var out []Finding
	for _, f := range lk.anomalies {
		if f.Layer == catalog.LayerChange || !match(f) {
			continue
		}
		if lasting && f.Until.Sub(f.Onset) < lk.tol && before(f.Until, lk.window.To, lk.tol) {
			continue
		}
		if f.Onset.Add(lk.skew(f)).Before(c.T) || f.Onset.Sub(c.T) > lk.lookback {
			continue
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Onset.Before(out[j].Onset) })
	return out
}

// unexplainedAfter reports whether an anomaly in the change's reach (blips
// included) started after it and is not explained by a later linked
// change: then the change may be its cause, and "no effect seen" would
// tell the engineer to rule out the culprit.
func (lk linker) unexplainedAfter(c telemetry.Change, linked map[string]linkedChange) bool {
	effects, _ := lk.effects(c, false)
	for _, f := range effects {
		explained := false
		for _, l := range linked {
			lc := *l.finding.Change
			if !lc.T.After(c.T) {
				continue
			}
			later, _ := lk.effects(lc, false)
			if slices.ContainsFunc(later, func(e Finding) bool {
				return e.SeriesID == f.SeriesID && e.Onset.Equal(f.Onset) && e.Signal == f.Signal
			}) {
				explained = true
				break
			}
		}
		if !explained {
			return true
		}
	}
	return false
}

// hostLabels name the host a series was measured on, best first; the
// instance (host:port) is the fallback.
var hostLabels = []string{"host", "hostname", "nodename", "node", "kubernetes_node"}

// hostOf is the host a series' labels place it on, "" when none says.
func hostOf(l telemetry.Labels) string {
	for _, n := range hostLabels {
		if v := l[n]; v != "" {
			return normalHost(v)
		}
	}
	return normalHost(l["instance"])
}

// normalHost is a host or instance without its port, lower case, with the
// loopback names as one.
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" {
		return ""
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	switch h {
	case "localhost", "127.0.0.1", "::1":
		return "localhost"
	}
	return h
}

// sameHost compares normalised hosts; a short name matches its qualified
// form (web-1 and web-1.example.com).
func sameHost(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	if net.ParseIP(a) != nil || net.ParseIP(b) != nil {
		return false
	}
	short := func(s string) string { x, _, _ := strings.Cut(s, "."); return x }
	return (!strings.Contains(a, ".") || !strings.Contains(b, ".")) && short(a) == short(b)
}

// undoneAt is, for each change of sorted (in time order), when a later
// change of the same service brought back the version it replaced (zero
// when none did): after that, what ran was the old version again.
func undoneAt(sorted []telemetry.Change) []time.Time {
	out := make([]time.Time, len(sorted))
	for i, c := range sorted {
		if c.FromVersion == "" {
			continue
		}
		for _, later := range sorted[i+1:] {
			if later.Service == c.Service && later.ToVersion == c.FromVersion && later.T.After(c.T) {
				out[i] = later.T
				break
			}
		}
	}
	return out
}

// restores reports whether sorted[i] undid an earlier change of its
// service: it brought back the version that ran before that change.
func restores(sorted []telemetry.Change, i int) bool {
	c := sorted[i]
	if c.ToVersion == "" {
		return false
	}
	for _, earlier := range sorted[:i] {
		if earlier.Service == c.Service && earlier.FromVersion == c.ToVersion && earlier.T.Before(c.T) {
			return true
		}
	}
	return false
}

// beforeUndo keeps the effects a change undone at undone (zero: never) can
// still explain: those under way before it was undone, give or take two of
// their samples, and those already under way when the window began.
func (lk linker) beforeUndo(effects []Finding, undone time.Time) []Finding {
	if undone.IsZero() {
		return effects
	}
	var out []Finding
	for _, e := range effects {
		if e.CarriedOver || !e.Onset.After(undone.Add(2*lk.skew(e))) {
			out = append(out, e)
		}
	}
	return out
}

// withoutShipped drops commit changes that a deploy in the list shipped:
// the deploy is when they reached production, and it carries them.
func withoutShipped(changes []telemetry.Change) []telemetry.Change {
	shipped := map[string]bool{}
	for _, c := range changes {
		for _, cm := range c.Commits {
			shipped[c.Service+" "+cm.Hash] = true
		}
	}
	if len(shipped) == 0 {
		return changes
	}
	out := make([]telemetry.Change, 0, len(changes))
	for _, c := range changes {
		if c.Kind == telemetry.ChangeCommit && shipped[c.Service+" "+c.Commit] {
			continue
		}
		out = append(out, c)
	}
	return out
}

// commitLink is the link below a deploy that shipped commits touching its
// service: the commit itself when there is one, else all of them, newest
// first, for a person to read.
func commitLink(deploy Finding) (Finding, bool) {
	c := deploy.Change
	if c == nil || len(c.Commits) == 0 {
		return Finding{}, false
	}
	cm := c.Commits[0]
	link := telemetry.Change{
		T: cm.Time.UTC(), Service: c.Service, Kind: telemetry.ChangeCommit,
		Summary: cm.Subject, Commit: cm.Hash, Author: cm.Author, Files: cm.Files, Source: c.Source,
	}
	why := fmt.Sprintf("the only commit %s shipped that touches %s", deploy.Signal, c.Service)
	if n := len(c.Commits); n > 1 {
		link.Summary = fmt.Sprintf("%d commits to %s", n, c.Service)
		link.Author, link.Files = "", nil
		var parts []string
		for _, x := range c.Commits {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", shortHash(x.Hash), x.Subject, x.Author))
			link.Files = append(link.Files, x.Files...)
		}
		slices.Sort(link.Files)
		link.Files = slices.Compact(link.Files)
		why = fmt.Sprintf("%s shipped %d commits that touch %s, newest first: %s", deploy.Signal, n, c.Service, strings.Join(parts, "; "))
	}
	return Finding{
		Service:       c.Service,
		Signal:        link.Summary,
		SignalID:      "change:commit",
		Layer:         catalog.LayerChange,
		Direction:     catalog.Up,
		Score:         deploy.Score,
		Onset:         link.T,
		ObservedValue: 1,
		Change:        &link,
		Source:        "changes",
		Explanation:   why,
	}, true
}

// shortHash abbreviates a commit hash as git does.
func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
