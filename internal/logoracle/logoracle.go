package logoracle

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// MinuteCounts counts lines per log signal, service and minute as the
// analysis does (analysis/logs.go logSeries): a line at t counts in the
// minute t.Truncate(1m), by its catalog service and level (a signal by
// level, LogByLevel, keyed by both: the level its label reads, lower
// case); one point for each whole minute that starts in the baseline or
// the window.
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
		level := cat.Level(l.Labels)
		for _, s := range cat.LogSignals() {
			if s.MatchLog(level, l.Line) {
				labels := telemetry.Labels{"service": svc}
				if s.LogByLevel && level != "" {
					labels["level"] = strings.ToLower(level)
				}
				k := s.ID + labels.String()
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

// CompareCounts checks counted series (Signal + labels as the key, as
// MinuteCounts keys them) against want, minute by minute: every series
// must have lines, every counted signal and service a series, and every
// minute the same count.
func CompareCounts(t testing.TB, got []telemetry.Series, want map[string][]telemetry.Point) {
	t.Helper()
	seen := map[string]bool{}
	minutes, lines := 0, 0.0
	for _, s := range got {
		k := s.Signal + s.Labels.String()
		seen[k] = true
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("%s is counted, but no line counts toward it", k)
		case len(w) != s.Len():
			t.Errorf("%s: %d minutes counted, %d from the lines", k, s.Len(), len(w))
		default:
			minutes += len(w)
			for _, p := range w {
				lines += p.V
			}
			for i := range w {
				if p := s.Point(i); !p.T.Equal(w[i].T) || p.V != w[i].V {
					t.Errorf("%s: minute %s counts %v, the lines %v (at %s)", k, p.T.Format("15:04:05"), p.V, w[i].V, w[i].T.Format("15:04:05"))
					break
				}
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s: lines count toward it, but it has no series", k)
		}
	}
	t.Logf("compared %d series, %d minutes, %v counted lines", len(got), minutes, lines)
}
