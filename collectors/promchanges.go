package collectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// DetectChanges turns the series of one change source (the answer to its
// query) into change events, per the source's detect rule. Series whose
// service cannot be told are skipped. The result is sorted by time.
func DetectChanges(src catalog.ChangeSource, series []telemetry.Series, cat *catalog.Catalog) []telemetry.Change {
	var out []telemetry.Change
	source := "prometheus: " + src.Name
	switch src.Detect {
	case catalog.DetectIncrease:
		for _, s := range series {
			svc := cat.Service(s.Labels)
			if svc == "" {
				continue
			}
			for i := 1; i < len(s.Points); i++ {
				prev, cur := s.Points[i-1].V, s.Points[i].V
				if !(cur > prev) || math.IsNaN(prev) {
					continue
				}
				out = append(out, telemetry.Change{
					T: s.Points[i].T, Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: source,
					Summary: fmt.Sprintf("%s %s (%s %s -> %s)", src.Kind, svc, src.Name, formatCount(prev), formatCount(cur)),
				})
			}
		}
	case catalog.DetectTimestamp:
		for _, s := range series {
			svc := cat.Service(s.Labels)
			if svc == "" {
				continue
			}
			for i := 1; i < len(s.Points); i++ {
				prev, cur := s.Points[i-1].V, s.Points[i].V
				if cur == prev || cur <= 0 || prev <= 0 || math.IsNaN(cur) || math.IsNaN(prev) {
					continue
				}
				// The value says when; keep it within the samples that saw it.
				t := time.Unix(0, int64(cur*1e9)).UTC()
				if t.Before(s.Points[i-1].T) || t.After(s.Points[i].T) {
					t = s.Points[i].T
				}
				what := svc
				if inst := cmp.Or(s.Labels["pod"], s.Labels["instance"]); inst != "" {
					what += " " + inst
				}
				out = append(out, telemetry.Change{
					T: t, Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: source,
					Summary: fmt.Sprintf("%s %s (%s)", src.Kind, what, src.Name),
				})
			}
		}
	case catalog.DetectCreated:
		for _, s := range series {
			svc := cat.Service(s.Labels)
			if svc == "" || len(s.Points) == 0 {
				continue
			}
			v := s.Points[0].V
			if math.IsNaN(v) || v <= 0 {
				continue
			}
			// Only an object born while we watched is a change: one that
			// existed before the range began says nothing about when.
			t := time.Unix(0, int64(v*1e9)).UTC()
			if t.Before(s.Points[0].T.Add(-step(s.Points))) || t.After(s.Points[len(s.Points)-1].T) {
				continue
			}
			what := svc
			for _, l := range []string{"replicaset", "pod", "instance"} {
				if x := s.Labels[l]; x != "" {
					what = x
					break
				}
			}
			out = append(out, telemetry.Change{
				T: t, Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: source,
				Summary: fmt.Sprintf("%s %s (%s %s)", src.Kind, svc, src.Name, what),
			})
		}
	case catalog.DetectLabel:
		out = detectVersions(src, series, cat, source)
	}
	out = dedupeChanges(out)
	SortChanges(out)
	return out
}

// step is the sampling interval of a series, a minute when unknown.
func step(pts []telemetry.Point) time.Duration {
	if len(pts) < 2 {
		return time.Minute
	}
	return pts[1].T.Sub(pts[0].T)
}

// detectVersions finds, per service, each version that first appears after
// the first sample: a rollout from the version seen before it.
func detectVersions(src catalog.ChangeSource, series []telemetry.Series, cat *catalog.Catalog, source string) []telemetry.Change {
	type seen struct {
		version, revision string
		first, last       time.Time
	}
	byService := map[string]map[string]*seen{}
	start := time.Time{}
	for _, s := range series {
		svc, v := cat.Service(s.Labels), s.Labels[src.Label]
		if svc == "" || v == "" || len(s.Points) == 0 {
			continue
		}
		if start.IsZero() || s.Points[0].T.Before(start) {
			start = s.Points[0].T
		}
		if byService[svc] == nil {
			byService[svc] = map[string]*seen{}
		}
		e := byService[svc][v]
		if e == nil {
			e = &seen{version: v, first: s.Points[0].T, last: s.Points[len(s.Points)-1].T}
			byService[svc][v] = e
		}
		e.first = minTime(e.first, s.Points[0].T)
		e.last = maxTime(e.last, s.Points[len(s.Points)-1].T)
		for _, l := range src.RevisionLabels {
			if r := s.Labels[l]; r != "" && e.revision == "" {
				e.revision = r
			}
		}
	}
	var out []telemetry.Change
	for svc, versions := range byService {
		list := make([]*seen, 0, len(versions))
		for _, e := range versions {
			list = append(list, e)
		}
		slices.SortFunc(list, func(a, b *seen) int { return cmp.Or(a.first.Compare(b.first), cmp.Compare(a.version, b.version)) })
		for i, e := range list {
			if i == 0 || !e.first.After(start) {
				continue
			}
			// The version before is the latest one still running when this
			// one appeared.
			prev := list[i-1]
			for _, p := range list[:i] {
				if !p.last.Before(e.first) && p.first.Before(e.first) {
					prev = p
				}
			}
			out = append(out, telemetry.Change{
				T: e.first, Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: source,
				Summary:     fmt.Sprintf("%s %s %s -> %s", src.Kind, svc, prev.version, e.version),
				FromVersion: prev.version, ToVersion: e.version, Commit: e.revision,
			})
		}
	}
	return out
}

// dedupeChanges drops events of the same service, kind and time (several
// pods or containers seeing one rollout).
func dedupeChanges(c []telemetry.Change) []telemetry.Change {
	SortChanges(c)
	return slices.CompactFunc(c, func(a, b telemetry.Change) bool {
		return a.Service == b.Service && a.Kind == b.Kind && a.T.Equal(b.T)
	})
}

func formatCount(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}

// MergeWindow is how close in time two reports of one rollout are: a
// generation bump, the new version's first sample and a CI deploy record.
const MergeWindow = 2 * time.Minute

// MergeChanges folds reports of the same rollout from different sources
// (a deploy record, a generation step, a version label change) into one
// change: same service, deploy or version kind, within MergeWindow. The
// richest report (with a commit, an author, versions) is kept and the
// others fill what it lacks. Other kinds pass through, repeats removed.
// The result is sorted; merging an already merged list changes nothing.
func MergeChanges(changes []telemetry.Change) []telemetry.Change {
	in := slices.Clone(changes)
	SortChanges(in)
	rollout := func(k telemetry.ChangeKind) bool { return k == telemetry.ChangeDeploy || k == telemetry.ChangeVersion }
	var out []telemetry.Change
	for _, c := range in {
		merged := false
		if rollout(c.Kind) {
			for i := len(out) - 1; i >= 0; i-- {
				o := &out[i]
				if c.T.Sub(o.T) > MergeWindow {
					break
				}
				if o.Service == c.Service && rollout(o.Kind) {
					*o = mergeRollout(*o, c)
					merged = true
					break
				}
			}
		}
		if !merged {
			out = append(out, c)
		}
	}
	out = dedupeExact(out)
	SortChanges(out)
	return out
}

// mergeRollout joins two reports of one rollout.
func mergeRollout(a, b telemetry.Change) telemetry.Change {
	base, other := a, b
	if richness(b) > richness(a) {
		base, other = b, a
	}
	base.T = minTime(a.T, b.T)
	if a.Kind == telemetry.ChangeDeploy || b.Kind == telemetry.ChangeDeploy {
		base.Kind = telemetry.ChangeDeploy
	}
	base.FromVersion = cmp.Or(base.FromVersion, other.FromVersion)
	base.ToVersion = cmp.Or(base.ToVersion, other.ToVersion)
	base.Commit = cmp.Or(base.Commit, other.Commit)
	base.Author = cmp.Or(base.Author, other.Author)
	if len(base.Files) == 0 {
		base.Files = other.Files
	}
	if len(base.Commits) == 0 {
		base.Commits = other.Commits
	}
	if strings.HasPrefix(base.Source, "prometheus: ") && base.ToVersion != "" && base.Kind == telemetry.ChangeDeploy {
		// Only metrics saw it: name the rollout by what it deployed.
		base.Summary = fmt.Sprintf("deploy %s %s", base.Service, base.ToVersion)
	}
	base.Source = joinSources(base.Source, other.Source)
	return base
}

// richness ranks reports: a human deploy record beats a label change,
// which beats a bare generation step.
func richness(c telemetry.Change) int {
	n := 0
	for _, s := range []string{c.Commit, c.Author, c.ToVersion} {
		if s != "" {
			n++
		}
	}
	if len(c.Files) > 0 || len(c.Commits) > 0 {
		n++
	}
	if !strings.HasPrefix(c.Source, "prometheus: ") {
		n++
	}
	return n
}

func joinSources(a, b string) string {
	parts := strings.Split(a, " + ")
	for _, p := range strings.Split(b, " + ") {
		if p != "" && !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " + ")
}

// dedupeExact drops changes repeated verbatim (the same file read twice).
func dedupeExact(c []telemetry.Change) []telemetry.Change {
	SortChanges(c)
	return slices.CompactFunc(c, func(a, b telemetry.Change) bool {
		return a.T.Equal(b.T) && a.Service == b.Service && a.Kind == b.Kind && a.Summary == b.Summary
	})
}

// DetectLogChanges turns the lines of a log change source into changes:
// each line the pattern matches announces one, with the service, version
// and commit its named groups give (the service else from the labels). A
// version is announced by every pod that starts it, so only its first
// line counts. The result is sorted by time.
func DetectLogChanges(src catalog.ChangeSource, lines []telemetry.LogLine, cat *catalog.Catalog) []telemetry.Change {
	seen := map[string]bool{}
	var out []telemetry.Change
	sorted := slices.Clone(lines)
	sortLogs(sorted)
	for _, l := range sorted {
		g, ok := src.Match(l.Line)
		if !ok {
			continue
		}
		svc := cmp.Or(g["service"], cat.Service(l.Labels))
		if svc == "" {
			continue
		}
		c := telemetry.Change{T: l.T.UTC(), Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: "loki: " + src.Name,
			ToVersion: g["version"], Commit: g["commit"]}
		if c.ToVersion != "" {
			key := svc + " " + c.ToVersion
			if seen[key] {
				continue
			}
			seen[key] = true
			c.Summary = fmt.Sprintf("%s %s %s (%s)", src.Kind, svc, c.ToVersion, src.Name)
		} else {
			c.Summary = fmt.Sprintf("%s %s (%s)", src.Kind, svc, src.Name)
		}
		out = append(out, c)
	}
	out = dedupeChanges(out)
	SortChanges(out)
	return out
}
