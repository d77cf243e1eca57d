package telemetry

import (
	"cmp"
	"slices"
)

// The canonical orders of the bundle's parts: every source and snapshot
// sorts with these, so the same data gives the same bundle however it was
// split into queries, streams or files.

// SortPoints orders samples by time, keeping the order of equal times.
func SortPoints(p []Point) {
	slices.SortStableFunc(p, func(a, b Point) int { return a.T.Compare(b.T) })
}

// SortSeries orders series by identity, then signal and query.
func SortSeries(s []Series) {
	slices.SortStableFunc(s, func(a, b Series) int {
		return cmp.Or(cmp.Compare(a.ID(), b.ID()), cmp.Compare(a.Signal, b.Signal), cmp.Compare(a.Query, b.Query))
	})
}

// CompareLogs orders log lines by time, then labels, then text, which makes
// the order independent of how a server split them into streams.
func CompareLogs(a, b LogLine) int {
	if c := a.T.Compare(b.T); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Labels.String(), b.Labels.String()); c != 0 {
		return c
	}
	return cmp.Compare(a.Line, b.Line)
}

// SortLogs orders log lines by CompareLogs.
func SortLogs(l []LogLine) { slices.SortStableFunc(l, CompareLogs) }

// SortChanges orders changes by time, then service, kind and summary.
func SortChanges(c []Change) {
	slices.SortStableFunc(c, func(a, b Change) int {
		return cmp.Or(a.T.Compare(b.T), cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Summary, b.Summary))
	})
}

type seriesKey struct{ signal, query, metric, labels string }

// MergeSeries joins the results of several range queries (a baseline and
// a window, or the chunks of a long range) into one series per query and
// label set, sorted, as both a live collection and a snapshot read give them.
func MergeSeries(groups [][]Series) []Series {
	merged := map[seriesKey]*Series{}
	for _, got := range groups {
		for _, s := range got {
			k := seriesKey{s.Signal, s.Query, s.Metric, s.Labels.String()}
			if prev, ok := merged[k]; ok {
				prev.Points = append(prev.Points, s.Points...)
				continue
			}
			merged[k] = &s
		}
	}
	out := make([]Series, 0, len(merged))
	for _, s := range merged {
		s.Points = dedupePoints(s.Points)
		out = append(out, *s)
	}
	SortSeries(out)
	return out
}

// dedupePoints sorts by time and keeps the first sample of each timestamp,
// which overlapping recorded ranges repeat.
func dedupePoints(p []Point) []Point {
	SortPoints(p)
	return slices.CompactFunc(p, func(a, b Point) bool { return a.T.Equal(b.T) })
}
