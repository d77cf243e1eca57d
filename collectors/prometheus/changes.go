package prometheus

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
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
		eachStep(series, cat, func(s telemetry.Series, svc string, i int, prev, cur float64) {
			if !(cur > prev) || math.IsNaN(prev) || sameValue(cur, prev) {
				return
			}
			out = append(out, telemetry.Change{
				T: s.Time(i), Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: source,
				Summary: fmt.Sprintf("%s %s (%s %s -> %s)", src.Kind, svc, src.Name, formatCount(prev), formatCount(cur)),
			})
		})
	case catalog.DetectTimestamp:
		eachStep(series, cat, func(s telemetry.Series, svc string, i int, prev, cur float64) {
			if sameValue(cur, prev) || cur <= 0 || prev <= 0 || math.IsNaN(cur) || math.IsNaN(prev) {
				return
			}
			// The value says when; keep it within the samples that saw it.
			t := time.Unix(0, int64(cur*1e9)).UTC()
			if t.Before(s.Time(i-1)) || t.After(s.Time(i)) {
				t = s.Time(i)
			}
			what := svc
			if inst := cmp.Or(s.Labels["pod"], s.Labels["instance"]); inst != "" {
				what += " " + inst
			}
			out = append(out, telemetry.Change{
				T: t, Service: svc, Kind: telemetry.ChangeKind(src.Kind), Source: source,
				Summary: fmt.Sprintf("%s %s (%s)", src.Kind, what, src.Name),
			})
		})
	case catalog.DetectCreated:
		for _, s := range series {
			svc := cat.Service(s.Labels)
			if svc == "" || s.Len() == 0 {
				continue
			}
			v := s.Values[0]
			if math.IsNaN(v) || v <= 0 {
				continue
			}
			// Only an object born while we watched is a change: one that
			// existed before the range began says nothing about when.
			t := time.Unix(0, int64(v*1e9)).UTC()
			if t.Before(s.Time(0).Add(-step(s))) || t.After(s.Time(s.Len()-1)) {
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
	out = collectors.DedupeChanges(out)
	telemetry.SortChanges(out)
	return out
}

// jitter is the relative difference below which two samples are one value.
// VictoriaMetrics returns an unchanged process_start_time_seconds as
// 1796570346.31 and then 1796570346.3100002 (a relative 1e-16); 1e-12 of a
// Unix time is under 2 ms, far below any two starts that two samples see.
const jitter = 1e-12

// sameValue reports whether two samples are equal but for float jitter.
func sameValue(a, b float64) bool {
	return a == b || math.Abs(a-b) <= jitter*math.Max(math.Abs(a), math.Abs(b))
}

// step is the sampling interval of a series, a minute when unknown.
func step(s telemetry.Series) time.Duration {
	if s.Len() < 2 {
		return time.Minute
	}
	return s.Time(1).Sub(s.Time(0))
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
		if svc == "" || v == "" || s.Len() == 0 {
			continue
		}
		if start.IsZero() || s.Time(0).Before(start) {
			start = s.Time(0)
		}
		if byService[svc] == nil {
			byService[svc] = map[string]*seen{}
		}
		e := byService[svc][v]
		if e == nil {
			e = &seen{version: v, first: s.Time(0), last: s.Time(s.Len() - 1)}
			byService[svc][v] = e
		}
		e.first = telemetry.Earliest(e.first, s.Time(0))
		e.last = telemetry.Latest(e.last, s.Time(s.Len()-1))
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

func formatCount(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%g", v)
}

// eachStep calls f for every pair of neighbouring samples, i-1 and i
// (values prev and cur), of each series whose service the catalog tells.
func eachStep(series []telemetry.Series, cat *catalog.Catalog, f func(s telemetry.Series, svc string, i int, prev, cur float64)) {
	for _, s := range series {
		svc := cat.Service(s.Labels)
		if svc == "" {
			continue
		}
		for i := 1; i < s.Len(); i++ {
			f(s, svc, i, s.Values[i-1], s.Values[i])
		}
	}
}
