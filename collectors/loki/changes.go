package loki

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/telemetry"
)

// DetectLogChanges turns the lines of a log change source into changes:
// each line the pattern matches announces one, with the service, version
// and commit its named groups give (the service else from the labels). A
// version is announced by every pod that starts it, so only its first
// line counts. The result is sorted by time.
func DetectLogChanges(src catalog.ChangeSource, lines []telemetry.LogLine, cat *catalog.Catalog) []telemetry.Change {
	seen := map[string]bool{}
	var out []telemetry.Change
	sorted := slices.Clone(lines)
	telemetry.SortLogs(sorted)
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
	out = collectors.DedupeChanges(out)
	telemetry.SortChanges(out)
	return out
}
