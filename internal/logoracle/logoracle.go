// Package logoracle counts log lines the simple way, for tests that check
// faster or remote counts (Loki's metric queries) against it.
package logoracle

import (
	"slices"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// MinuteCounts counts lines per log signal, service and minute as the
// analysis does (analysis/logs.go logSeries): a line at t counts in the
// minute t.Truncate(1m), by its catalog service and level; one point for
// each whole minute that starts in the baseline or the window.
func MinuteCounts(cat *catalog.Catalog, lines []telemetry.LogLine, window, baseline telemetry.Window) map[string][]telemetry.Point {
	var grid []time.Time
	for _, w := range []telemetry.Window{baseline, window} {
		for t := w.From.Truncate(time.Minute); t.Before(w.To); t = t.Add(time.Minute) {
			if !t.Before(w.From) {
				grid = append(grid, t)
			}
		}
	}
	slices.SortFunc(grid, func(a, b time.Time) int { return a.Compare(b) })
	counts := map[string]map[int64]float64{}
	for _, l := range lines {
		svc := cat.Service(l.Labels)
		if svc == "" || (!window.Contains(l.T) && !baseline.Contains(l.T)) {
			continue
		}
		for _, s := range cat.LogSignals() {
			if s.MatchLog(cat.Level(l.Labels), l.Line) {
				k := s.ID + telemetry.Labels{"service": svc}.String()
				if counts[k] == nil {
					counts[k] = map[int64]float64{}
				}
				counts[k][l.T.Truncate(time.Minute).Unix()]++
			}
		}
	}
	out := map[string][]telemetry.Point{}
	for k, c := range counts {
		for _, t := range grid {
			out[k] = append(out[k], telemetry.Point{T: t, V: c[t.Unix()]})
		}
	}
	return out
}
