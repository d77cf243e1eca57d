package analysis

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// changesStage links each change to the anomalies it may explain; a linked
// change is its service's deepest evidence and may move its onset earlier.
func changesStage(r *run) {
	r.res.Stats.Changes = len(r.b.Changes)
	linked, unlinked := linkChanges(withoutShipped(r.b.Changes), r.res.Anomalies, r.observed, r.g, r.lookback, r.tol, r.b.Window)
	r.res.UnlinkedChanges = append(r.res.UnlinkedChanges, unlinked...)
	for svc, lc := range linked {
		st := r.state(svc, false)
		st.change = &lc
		if st.onset.IsZero() || lc.finding.Onset.Before(st.onset) {
			st.onset = lc.finding.Onset
		}
	}
}

// linkedChange is a change that precedes anomalies on its own service.
type linkedChange struct {
	finding Finding
	// gap is the time from the change to the first anomaly it explains.
	gap time.Duration
}

// linkChanges decides, for every change, whether it precedes anomalies on
// its service within the lookback (a candidate cause) or is followed by
// nothing anomalous. A change on a service that has no telemetry of its own
// (a database, a config store) is linked through its anomalous callers.
func linkChanges(changes []telemetry.Change, anomalies []Finding, observed map[string]bool, g graph, lookback, tol time.Duration, window telemetry.Window) (linked map[string]linkedChange, unlinked []telemetry.Change) {
	linked = map[string]linkedChange{}
	sorted := append([]telemetry.Change(nil), changes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].T.Before(sorted[j].T) })
	for _, c := range sorted {
		effects := effectsOf(c, anomalies, window, lookback, tol, func(svc string) bool { return svc == c.Service })
		via := ""
		if len(effects) == 0 && !observed[c.Service] {
			callers := map[string]bool{}
			for _, p := range g.callers[c.Service] {
				callers[p] = true
			}
			effects = effectsOf(c, anomalies, window, lookback, tol, func(svc string) bool { return callers[svc] })
			via = "its callers"
		}
		if len(effects) == 0 {
			if c.T.After(window.From.Add(-lookback)) && c.T.Before(window.To) {
				unlinked = append(unlinked, c)
			}
			continue
		}
		first := effects[0]
		gap := first.Onset.Sub(c.T)
		if gap < 0 {
			gap = 0
		}
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
		who := c.Service
		if via != "" {
			who = via + " (" + first.Service + ")"
		}
		f.Explanation = fmt.Sprintf("%s at %s, %s before %s on %s started", f.Signal, c.T.UTC().Format("15:04:05"), gap.Round(time.Second), first.Signal, who)
		// The latest change before the anomalies is the likelier cause.
		if prev, ok := linked[c.Service]; !ok || gap <= prev.gap {
			if ok {
				unlinked = append(unlinked, *prev.finding.Change)
			}
			linked[c.Service] = linkedChange{finding: f, gap: gap}
		} else {
			unlinked = append(unlinked, c)
		}
	}
	sort.SliceStable(unlinked, func(i, j int) bool { return unlinked[i].T.Before(unlinked[j].T) })
	return linked, unlinked
}

// effectsOf are the anomalies on matching services that start after the
// change (allowing for sampling tolerance) and within the lookback, earliest
// first. A change is a new state, so its effects last: a blip that was over
// within a couple of samples, while the window went on, is not one.
func effectsOf(c telemetry.Change, anomalies []Finding, window telemetry.Window, lookback, tol time.Duration, match func(string) bool) []Finding {
	var out []Finding
	for _, f := range anomalies {
		if f.Layer == catalog.LayerChange || !match(f.Service) {
			continue
		}
		if f.Until.Sub(f.Onset) < tol && before(f.Until, window.To, tol) {
			continue
		}
		if f.Onset.Add(tol).Before(c.T) || f.Onset.Sub(c.T) > lookback {
			continue
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Onset.Before(out[j].Onset) })
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
