package collectors

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// MergeWindow is how close in time two reports of one rollout are: a
// generation bump, the new version's first sample and a CI deploy record.
const MergeWindow = 2 * time.Minute

// MergeChanges folds reports of the same rollout from different sources
// (a deploy record, a generation step, a version label change) into one
// change: same service, deploy or version kind, within MergeWindow. The
// richest report (with a commit, an author, versions) is kept and the
// others fill what it lacks. A restart of the service within MergeWindow
// of a rollout is that rollout's own restart, and folds into it; two
// rollouts whose versions disagree (a deploy and its rollback) stay two. Other
// kinds pass through, repeats removed.
// The result is sorted; merging an already merged list changes nothing.
func MergeChanges(changes []telemetry.Change) []telemetry.Change {
	in := slices.Clone(changes)
	telemetry.SortChanges(in)
	rollout := func(k telemetry.ChangeKind) bool { return k == telemetry.ChangeDeploy || k == telemetry.ChangeVersion }
	var out []telemetry.Change
	for _, c := range in {
		merged := false
		if rollout(c.Kind) || c.Kind == telemetry.ChangeRestart {
			for i := len(out) - 1; i >= 0; i-- {
				o := &out[i]
				if c.T.Sub(o.T) > MergeWindow {
					break
				}
				if o.Service != c.Service {
					continue
				}
				switch {
				case rollout(o.Kind) && rollout(c.Kind) && sameRollout(*o, c):
					*o = mergeRollout(*o, c)
				case rollout(o.Kind) && c.Kind == telemetry.ChangeRestart:
					// A rollout restarts what it deploys: the restart is its echo.
					o.Source = joinSources(o.Source, c.Source)
				case o.Kind == telemetry.ChangeRestart && rollout(c.Kind):
					c.Source = joinSources(c.Source, o.Source)
					*o = c
				default:
					continue
				}
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, c)
		}
	}
	out = dedupeExact(out)
	telemetry.SortChanges(out)
	return out
}

// sameRollout reports whether two rollouts of a service can be one: their
// versions agree where both name them. A deploy and the rollback right
// after it are two.
func sameRollout(a, b telemetry.Change) bool {
	agree := func(x, y string) bool { return x == "" || y == "" || x == y }
	return agree(a.FromVersion, b.FromVersion) && agree(a.ToVersion, b.ToVersion)
}

// mergeRollout joins two reports of one rollout.
func mergeRollout(a, b telemetry.Change) telemetry.Change {
	base, other := a, b
	if richness(b) > richness(a) {
		base, other = b, a
	}
	base.T = telemetry.Earliest(a.T, b.T)
	if a.Kind == telemetry.ChangeDeploy || b.Kind == telemetry.ChangeDeploy {
		base.Kind = telemetry.ChangeDeploy
	}
	base.FromVersion = cmp.Or(base.FromVersion, other.FromVersion)
	base.ToVersion = cmp.Or(base.ToVersion, other.ToVersion)
	base.Commit = cmp.Or(base.Commit, other.Commit)
	base.Author = cmp.Or(base.Author, other.Author)
	base.Host = cmp.Or(base.Host, other.Host)
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
	telemetry.SortChanges(c)
	return slices.CompactFunc(c, func(a, b telemetry.Change) bool {
		return a.T.Equal(b.T) && a.Service == b.Service && a.Kind == b.Kind && a.Summary == b.Summary
	})
}

// DedupeChanges drops events of the same service, kind and time (several
// pods or containers seeing one rollout).
func DedupeChanges(c []telemetry.Change) []telemetry.Change {
	telemetry.SortChanges(c)
	return slices.CompactFunc(c, func(a, b telemetry.Change) bool {
		return a.Service == b.Service && a.Kind == b.Kind && a.T.Equal(b.T)
	})
}
