package telemetry

import (
	"cmp"
	"slices"
)

// The canonical orders of the bundle's parts: every source and snapshot
// sorts with these, so the same data gives the same bundle however it was
// split into queries, streams or files.

// SortSamples orders the series' samples by time, keeping the order of
// equal times. Out of order, the samples are sorted into new columns: the
// old ones may be shared (see Series).
func (s *Series) SortSamples() {
	if slices.IsSorted(s.Times) {
		return
	}
	idx := make([]int, len(s.Times))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.Times[a], s.Times[b]) })
	times, values := make([]int64, len(idx)), make([]float64, len(idx))
	for k, i := range idx {
		times[k], values[k] = s.Times[i], s.Values[i]
	}
	s.Times, s.Values = times, values
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
				// Full slice expressions: the columns may be shared (see
				// Series), append must not write past their end.
				prev.Times = append(prev.Times[:len(prev.Times):len(prev.Times)], s.Times...)
				prev.Values = append(prev.Values[:len(prev.Values):len(prev.Values)], s.Values...)
				continue
			}
			merged[k] = &s
		}
	}
	out := make([]Series, 0, len(merged))
	for _, s := range merged {
		s.dedupe()
		out = append(out, *s)
	}
	SortSeries(out)
	return out
}

// dedupe sorts the samples by time and keeps the first of each timestamp,
// which overlapping recorded ranges repeat; in new columns, when there is a
// repeat (the old ones may be shared, see Series).
func (s *Series) dedupe() {
	s.SortSamples()
	for i := 1; i < len(s.Times); i++ {
		if s.Times[i] != s.Times[i-1] {
			continue
		}
		times, values := slices.Clone(s.Times[:i]), slices.Clone(s.Values[:i])
		for j := i + 1; j < len(s.Times); j++ {
			if s.Times[j] != times[len(times)-1] {
				times, values = append(times, s.Times[j]), append(values, s.Values[j])
			}
		}
		s.Times, s.Values = times, values
		return
	}
}
