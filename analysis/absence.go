package analysis

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// absenceStage adds availability findings for what the scores cannot see:
// a target that stops answering leaves gaps, not high values, and an
// exporter's *_up gauge that drops to 0 says the thing it watches is down.
func absenceStage(r *run) {
	avail := availabilitySignal(r.cat)
	found := absences(r.sigs, r.b.Window, r.tol, avail)
	found = append(found, upDrops(r.sigs, avail)...)
	if len(found) == 0 {
		return
	}
	replaced := map[string]bool{}
	for _, f := range found {
		if f.SeriesID != "" && f.Metric != absentMetric {
			replaced[f.SeriesID] = true
		}
	}
	kept := r.res.Anomalies[:0]
	for _, f := range r.res.Anomalies {
		if !replaced[f.SeriesID] {
			kept = append(kept, f)
		}
	}
	r.res.Anomalies = kept
	for _, f := range found {
		st := r.state(f.Service, f.Layer != catalog.LayerSymptom)
		if st.series == 0 {
			st.series = 1
		}
		st.peak = max(st.peak, f.Score)
		st.down = st.down || (f.Metric != absentMetric && isUpGauge(f.Metric))
		r.observed[f.Service] = true
		r.res.Anomalies = append(r.res.Anomalies, f)
	}
}

// absentMetric names the findings of series that went missing.
const absentMetric = "(missing samples)"

// minAbsence is the shortest gap worth a finding, however fast the scrape:
// a scrape or two lost to a timeout is not an outage.
const minAbsence = 30 * time.Second

// availabilitySignal is the catalog's availability signal (the one whose
// impact is availability), or a bare one when the catalog has none.
func availabilitySignal(cat *catalog.Catalog) catalog.Classification {
	for _, s := range cat.Signals {
		if s.Impact == catalog.ImpactAvailability && !s.IsLog() {
			return cat.Classify(s.ID, "")
		}
	}
	return catalog.Classification{SignalID: "availability", Name: "availability", Layer: catalog.LayerSymptom, Direction: catalog.Down, Unit: "ratio", Impact: catalog.ImpactAvailability}
}

// gap is where one series went missing in the window.
type gap struct {
	sig      *signal
	step     time.Duration
	from, to time.Time // the first missing sample, and the first present again (or the data's end)
	stopped  bool      // nothing came back before the data's end
}

func (g gap) missing() time.Duration { return g.to.Sub(g.from) }

// absences finds the targets whose series, steadily present in the
// baseline, went missing in the window: all of a target's series (its
// service and instance; its up gauges aside) missing for at least three of their own steps
// (and minAbsence), longer than any gap their baseline shows. Only the
// window's own data range counts: a baseline a week earlier leaves no gap,
// a series born in the window has no baseline, a sparse series (a baseline
// with holes) is never expected at every step, and a series that a new one
// of the same service and metric took over from (a rollout's new pods,
// there by the time the old ones stopped) is a handover.
func absences(sigs []signal, window telemetry.Window, tol time.Duration, avail catalog.Classification) []Finding {
	var dataFrom time.Time
	for _, s := range sigs {
		if s.win.len() == 0 {
			continue
		}
		if t := s.win.t(0); dataFrom.IsZero() || t.Before(dataFrom) {
			dataFrom = t
		}
	}
	if dataFrom.IsZero() {
		return nil
	}
	// Each series' steady step (steadyStep) was measured by prepare.
	steady := func(i int) bool { return sigs[i].steady.ok && !sigs[i].fromLogs }
	dataTo := dataEnd(sigs, steady)
	type kind struct{ service, metric string }
	// The series born in the window, by service and metric, earliest
	// first sample: a new pod's series take over from the old pod's in a
	// rollout, and the old ones' end is a handover, not an outage.
	born := map[kind]time.Time{}
	for _, s := range sigs {
		if s.base.len() > 0 || s.win.len() == 0 {
			continue
		}
		k := kind{s.service, s.series.Metric}
		if t, ok := born[k]; !ok || s.win.t(0).Before(t) {
			born[k] = s.win.t(0)
		}
	}
	// Each series' longest gap, on all cores; then gathered in order.
	type look struct {
		eligible, missing bool
		g                 gap
	}
	looks := make([]look, len(sigs))
	parallel(len(sigs), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := &sigs[i]
			if !steady(i) || isUpGauge(s.series.Metric) {
				continue // up gauges stay when their target goes: see upDrops
			}
			g, ok := longestGap(s, s.steady.step, s.steady.widest, window, dataFrom, dataTo)
			if t, handover := born[kind{s.service, s.series.Metric}]; ok && handover && !t.After(g.from.Add(tol)) {
				ok = false
			}
			looks[i] = look{eligible: true, missing: ok, g: g}
		}
	})
	eligible := map[target]int{}
	gaps := map[target][]gap{}
	for i, s := range sigs {
		l := looks[i]
		if !l.eligible {
			continue
		}
		k := targetOf(s)
		eligible[k]++
		if l.missing {
			gaps[k] = append(gaps[k], l.g)
		}
	}
	var out []Finding
	for k, gs := range gaps {
		if len(gs) < eligible[k] {
			// Some of its series still came: the target answered, and what
			// went missing is what it reports only when it has something to
			// (a latency without requests, a label value gone quiet).
			continue
		}
		out = append(out, absenceFinding(k.service, k.instance, gs, eligible[k], avail, tol))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SeriesID < out[j].SeriesID })
	return out
}

// target is what a scrape reads: a service's instance (or pod).
type target struct{ service, instance string }

func targetOf(s signal) target {
	return target{s.service, cmpOr(s.series.Labels["instance"], s.series.Labels["pod"])}
}

// dataEnd is where the data ends: the median, over the targets (service
// and instance) with steady series, of each one's last sample. When most
// targets fall silent at once it is the data that ends (a recording, a
// backfill, ingestion lag), not most of the fleet failing (a failing
// target's up gauge says so): a few series that run on, rates whose range
// still holds old samples, must not make every other target look stopped.
func dataEnd(sigs []signal, steady func(i int) bool) time.Time {
	last := map[target]time.Time{}
	for i, s := range sigs {
		if !steady(i) || s.win.len() == 0 {
			continue
		}
		k := targetOf(s)
		last[k] = telemetry.Latest(last[k], s.win.t(s.win.len()-1))
	}
	if len(last) == 0 {
		return time.Time{}
	}
	ends := make([]time.Time, 0, len(last))
	for _, t := range last {
		ends = append(ends, t)
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	return ends[len(ends)/2]
}

// steadyStep is a series' sampling step in the baseline, when it was there
// at (nearly) every step: at least ten samples, at most a tenth missing.
// widest is the longest interval between two of its samples.
func steadyStep(base []int64) (step, widest time.Duration, ok bool) {
	if len(base) < 10 {
		return 0, 0, false
	}
	step, widest = medianStep(base)
	if step <= 0 {
		return 0, 0, false
	}
	expected := float64(interval(base[0], base[len(base)-1]))/float64(step) + 1
	return step, widest, float64(len(base)) >= 0.9*expected
}

// medianStep is the median interval between consecutive times (the upper
// median of an even count), and the widest. Mostly one interval holds more than half of
// them, and is then the median; only otherwise are they sorted.
func medianStep(ts []int64) (median, widest time.Duration) {
	n := len(ts) - 1
	first, same := interval(ts[0], ts[1]), 0
	widest = first
	for i := 1; i < len(ts); i++ {
		d := interval(ts[i-1], ts[i])
		if d == first {
			same++
		}
		widest = max(widest, d)
	}
	if 2*same > n {
		// A value taking more than half of the sorted places takes the middle one.
		return first, widest
	}
	d := make([]time.Duration, 0, n)
	for i := 1; i < len(ts); i++ {
		d = append(d, interval(ts[i-1], ts[i]))
	}
	slices.Sort(d)
	return d[n/2], widest
}

// longestGap is the longest stretch of the window's data range in which
// the series missed samples, when it is long enough to be an absence.
func longestGap(s *signal, step, widest time.Duration, window telemetry.Window, dataFrom, dataTo time.Time) (gap, bool) {
	from := telemetry.Latest(window.From, dataFrom)
	// The baseline runs into the window: the series' last baseline sample
	// says when it was last seen, not the window's start.
	lastSeen := s.base.t(s.base.len() - 1)
	adjacent := !lastSeen.Before(window.From.Add(-3 * step))
	var best gap
	consider := func(g gap) {
		if g.missing() > best.missing() {
			best = g
		}
	}
	var prev int64 // the sample before, if any
	some := adjacent
	if adjacent {
		prev = s.base.times()[s.base.len()-1]
	}
	fromNs := telemetry.Nanos(from)
	for _, t := range s.win.times() {
		if !some {
			if interval(fromNs, t) > step*3/2 {
				consider(gap{sig: s, step: step, from: from, to: telemetry.TimeOf(t)})
			}
		} else if interval(prev, t) > step*3/2 {
			consider(gap{sig: s, step: step, from: telemetry.TimeOf(prev).Add(step), to: telemetry.TimeOf(t)})
		}
		prev, some = t, true
	}
	switch {
	case !some:
		return gap{}, false // no sample near the window at all: nothing says when it went
	case dataTo.Sub(telemetry.TimeOf(prev)) > step*3/2:
		consider(gap{sig: s, step: step, from: telemetry.TimeOf(prev).Add(step), to: dataTo.Add(step), stopped: true})
	}
	// As long as the baseline's own worst hole is no absence.
	baseHole := max(0, widest-step) // widest: steadyStep's, over the baseline
	need := max(3*step, minAbsence, time.Duration(AnomalyRatio*float64(baseHole)))
	return best, best.missing() >= need
}

// absenceFinding describes a target whose series went missing.
func absenceFinding(service, instance string, gs []gap, eligible int, avail catalog.Classification, tol time.Duration) Finding {
	sort.Slice(gs, func(i, j int) bool {
		if !gs[i].from.Equal(gs[j].from) {
			return gs[i].from.Before(gs[j].from)
		}
		return gs[i].sig.series.ID() < gs[j].sig.series.ID()
	})
	first := gs[0]
	until := first.to.Add(-first.step)
	stopped := true
	for _, g := range gs {
		until = telemetry.Latest(until, g.to.Add(-g.step))
		stopped = stopped && g.stopped
	}
	// Share of the target's expected samples seen from the onset to the
	// end of the gap: none for a target that stopped.
	expected := float64(until.Sub(first.from))/float64(first.step) + 1
	seen := 0.0
	from, to := telemetry.Nanos(first.from), telemetry.Nanos(until)
	for _, t := range first.sig.win.times() {
		if t >= from && t <= to {
			seen++
		}
	}
	observed := math.Max(0, math.Min(1, seen/expected))
	layer := catalog.LayerSymptom
	if first.sig.infra {
		layer = catalog.LayerResource // a host's exporter gone: context, not what users see
	}
	labels := telemetry.Labels{}
	for _, l := range []string{"job", "instance", "pod"} {
		if v := first.sig.series.Labels[l]; v != "" {
			labels[l] = v
		}
	}
	who := first.sig.series.ID()
	if len(gs) > 1 {
		who = fmt.Sprintf("%d of %d series of %s", len(gs), eligible, describeTarget(service, labels))
	}
	var missing time.Duration
	for _, g := range gs {
		missing = max(missing, g.missing())
	}
	what := fmt.Sprintf("%s stopped at %s, %s of gaps", who, first.from.UTC().Format("15:04:05"), units.Duration(missing))
	if !stopped {
		what = fmt.Sprintf("%s went missing at %s and came back by %s, %s of gaps", who, first.from.UTC().Format("15:04:05"),
			until.Add(first.step).UTC().Format("15:04:05"), units.Duration(missing))
	}
	return Finding{
		Service:       service,
		Signal:        avail.Name + " (samples missing)",
		SignalID:      avail.SignalID,
		Metric:        absentMetric,
		Labels:        labels,
		Layer:         layer,
		Direction:     catalog.Down,
		Unit:          "ratio",
		Score:         round(availabilityScore(1, observed), 3),
		Onset:         first.from.UTC(),
		Until:         until.UTC(),
		BaselineValue: 1,
		ObservedValue: observed,
		failing:       true,
		SeriesID:      first.sig.series.ID(),
		Source:        "metrics",
		Explanation: fmt.Sprintf("%s (present at every %s in the baseline): availability of %s fell from 100%% to %s",
			what, units.Duration(first.step), service, units.Format(observed, "ratio")),
	}
}

// availabilityScore scores an availability that fell from base to observed
// as the scorer scores any series from a flat baseline: in steps of the
// scale floor (a percent of the level), against the minimum deviation.
func availabilityScore(base, observed float64) float64 {
	z := math.Min((base-observed)/math.Max(0.01*base, 1e-9), maxDeviation)
	return z / minDeviation
}

func describeTarget(service string, l telemetry.Labels) string {
	var parts []string
	for _, k := range []string{"job", "instance", "pod"} {
		if v := l[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return service
	}
	return strings.Join(parts, ", ")
}

// isUpGauge reports whether a metric is a target's or an exporter's up
// gauge: up, or *_up (mysql_up, redis_up, nginx_up).
func isUpGauge(name string) bool { return name == "up" || strings.HasSuffix(name, "_up") }

// upDrops are the up gauges that were 1 throughout the baseline and fell
// to 0 in the window: the thing they watch went down, whatever the catalog
// calls them. Each replaces the scored finding of its series, if any.
func upDrops(sigs []signal, avail catalog.Classification) []Finding {
	var out []Finding
	for _, s := range sigs {
		if !isUpGauge(s.series.Metric) || s.base.len() < 3 || s.win.len() == 0 {
			continue
		}
		up := true
		for i := range s.base.len() {
			up = up && s.base.v(i) == 1
		}
		if !up {
			continue
		}
		start, end := -1, -1
		for i := range s.win.len() {
			v := s.win.v(i)
			if v == 0 && start < 0 {
				start = i
			}
			if start >= 0 && v == 0 {
				end = i
			}
			if start >= 0 && v != 0 && end >= 0 {
				break
			}
		}
		if start < 0 || end-start < 1 {
			continue // never down, or for a single scrape
		}
		layer := catalog.LayerSymptom
		if s.infra {
			layer = catalog.LayerResource
		}
		on := s.win.t(start).UTC()
		why := fmt.Sprintf("%s %s 1 → 0 at %s: the target or what its exporter watches is down", s.series.Metric, s.series.Labels, on.Format("15:04:05"))
		if end+1 < s.win.len() {
			why += fmt.Sprintf(", up again at %s", s.win.t(end+1).UTC().Format("15:04:05"))
		}
		out = append(out, Finding{
			Service:   s.service,
			Signal:    avail.Name + " (" + s.series.Metric + ")",
			SignalID:  avail.SignalID,
			Metric:    s.series.Metric,
			Labels:    s.series.Labels,
			Layer:     layer,
			Direction: catalog.Down,
			Unit:      "ratio",
			Query:     s.series.Query,
			// An up gauge says only up or down: down is as far from its
			// baseline as any series can score.
			Score:         round(maxDeviation/minDeviation, 3),
			Onset:         on,
			Until:         s.win.t(end).UTC(),
			BaselineValue: 1,
			ObservedValue: 0,
			SeriesID:      s.series.ID(),
			Source:        "metrics",
			Explanation:   why,
		})
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
