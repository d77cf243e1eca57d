package analysis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// logBucket is the resolution of log-derived rates.
const logBucket = time.Minute

// logSeries turns log lines into per-service, per-minute counts for every
// log signal of the catalog, zero-filled across baseline and window so that
// a quiet minute counts as a zero rather than a gap.
func logSeries(b telemetry.Bundle, cat *catalog.Catalog) []telemetry.Series {
	sigs := cat.LogSignals()
	if len(b.Logs) == 0 || len(sigs) == 0 {
		return nil
	}
	type key struct{ signal, service string }
	bySignal := map[string]catalog.Signal{}
	for _, s := range sigs {
		bySignal[s.ID] = s
	}
	counts := map[key]map[time.Time]float64{}
	for _, l := range b.Logs {
		if !b.Window.Contains(l.T) && !b.Baseline.Contains(l.T) {
			continue
		}
		svc := cat.Service(l.Labels)
		if svc == "" {
			continue
		}
		level := cat.Level(l.Labels)
		for _, s := range sigs {
			if !s.MatchLog(level, l.Line) {
				continue
			}
			k := key{s.ID, svc}
			if counts[k] == nil {
				counts[k] = map[time.Time]float64{}
			}
			counts[k][l.T.Truncate(logBucket)]++
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].signal != keys[j].signal {
			return keys[i].signal < keys[j].signal
		}
		return keys[i].service < keys[j].service
	})
	out := make([]telemetry.Series, 0, len(keys))
	for _, k := range keys {
		var pts []telemetry.Point
		for _, w := range []telemetry.Window{b.Baseline, b.Window} {
			for t := w.From.Truncate(logBucket); t.Before(w.To); t = t.Add(logBucket) {
				if t.Before(w.From) {
					continue
				}
				pts = append(pts, telemetry.Point{T: t, V: counts[k][t]})
			}
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].T.Before(pts[j].T) })
		out = append(out, telemetry.Series{
			Metric: k.signal,
			Signal: k.signal,
			Query:  logQuery(bySignal[k.signal], serviceLabel(cat), k.service),
			Labels: telemetry.Labels{serviceLabel(cat): k.service},
			Points: pts,
		})
	}
	return out
}

func serviceLabel(cat *catalog.Catalog) string {
	if len(cat.ServiceLabels) > 0 {
		return cat.ServiceLabels[0]
	}
	return "service"
}

// logQuery is the LogQL that counts what a log signal counts, so the report
// can show the query a user would run in Grafana to see the same lines.
func logQuery(s catalog.Signal, label, service string) string {
	sel := fmt.Sprintf("{%s=%q}", label, service)
	if s.LogPattern != "" {
		sel += fmt.Sprintf(" |~ %q", s.LogPattern)
	} else if len(s.LogLevels) > 0 {
		sel += fmt.Sprintf(" | level=~%q", "(?i)"+strings.Join(s.LogLevels, "|"))
	}
	return "sum(count_over_time(" + sel + " [1m]))"
}
