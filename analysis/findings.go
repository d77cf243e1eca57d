package analysis

import (
	"cmp"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// scoreStage scores every series against its baseline and gathers the
// anomalous ones, as findings, on their services.
func scoreStage(r *run) {
	var each []scored
	r.sigs, each = prepareScored(r.b, r.cat, r.stopped)
	scored, skipped := scoreAll(r.sigs, each)
	r.step, r.steps = sampling(r.sigs)
	r.tol = max(2*r.step, time.Minute)
	r.res.Stats.Series = len(scored)
	if skipped > 0 {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%d of %d series had too little data in the baseline or the window and were not scored", skipped, len(r.sigs)))
	}
	heuristic := 0
	// Near misses by service (see Result.Nearest); the hosts' count only
	// when no service has a series, as in the ranking.
	near, nearHosts := map[string]scoredSignal{}, map[string]scoredSignal{}
	nearMiss := func(s scoredSignal) {
		m := near
		if s.infra {
			m = nearHosts
		}
		if b, ok := m[s.service]; s.ratio >= 1 && round(s.ratio, 3) < AnomalyRatio && (!ok || weighed(s.traffic, s.score) > weighed(b.traffic, b.score)) {
			m[s.service] = s
		}
	}
	for i, s := range scored {
		if s.byLevel && !s.anomalous {
			// Only the services that log have these. One that did not
			// move says nothing of its service (it may be a near miss):
			// counted, it would lower the share that moved of a service
			// that logs against one that does not, and make a service seen
			// in its logs alone "observed", so that its deploy no longer
			// takes its callers' anomalies.
			nearMiss(s)
			continue
		}
		if s.fromLogs && s.anomalous && !s.carried && r.logs.silentBefore(s.service) && s.onset.Equal(s.win.t(0)) {
			// Its lines run from the window's start and the baseline has
			// none of the service's at all: when they began is not in the
			// data.
			s.carried = true
			scored[i] = s
		}
		if s.fromLogs && s.anomalous && !s.carried && s.observed > s.stats.median {
			// A count is made per bucket; the lines say when the first of
			// a rise was written and when the last was. (When lines
			// stopped, the ones still written say nothing of it.)
			r.lineTimes(&s)
			scored[i] = s
		}
		st := r.state(s.service, s.infra)
		st.infra = st.infra && s.infra
		st.logged = st.logged || countsLines(s.signal)
		st.inside = st.inside || s.fromLogs || s.cls.Layer == catalog.LayerResource || s.cls.Layer == catalog.LayerChange
		r.count(st, weighed(s.traffic, s.score), s.carried)
		if s.callee == "" && s.cls.Unit == "seconds" && !s.infra {
			own := r.latency[s.service]
			own.series++
			own.rose = own.rose || (s.anomalous && s.observed > s.stats.median)
			r.latency[s.service] = own
		}
		if !s.anomalous {
			nearMiss(s)
			continue
		}
		f := s.finding()
		if f.Heuristic {
			heuristic++
		}
		r.res.Anomalies = append(r.res.Anomalies, f)
	}
	if heuristic > 0 {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("%d anomalous series are not in the signal catalog; their layer was guessed from the metric name", heuristic))
	}
	if !anyService(r.states) {
		near = nearHosts
	}
	r.nearest = nearestOf(near)
}

// nearestOf is Result.Nearest from the strongest near miss of each service.
func nearestOf(near map[string]scoredSignal) []Finding {
	out := make([]Finding, 0, len(near))
	for _, s := range near {
		out = append(out, s.finding())
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := weighed(out[i].traffic, out[i].Score), weighed(out[j].traffic, out[j].Score)
		if a != b {
			return a > b
		}
		return out[i].Service < out[j].Service
	})
	return out[:min(len(out), maxNearest)]
}

// weighed is a series' score as it counts toward its service: activity at
// activityWeight. Near misses are ordered by it too.
func weighed(traffic bool, score float64) float64 {
	if traffic {
		return score * activityWeight
	}
	return score
}

// maxNearest is how many near misses a result lists.
const maxNearest = 3

// lineTimes makes a log count's onset the time of the first line it counts
// in its onset bucket, and the end of a run of several buckets the last
// line's in its last bucket. A run of one bucket ends where it begins: one
// sample, as a metric's.
func (r *run) lineTimes(s *scoredSignal) {
	level, byLevel := "", s.byLevel
	if byLevel {
		level = labelLevel(r.cat, s.series.Labels) // "unknown" kept: s.level reads it as none
	}
	step := logStep(r.b)
	first, _, ok := r.logs.lineSpan(s.service, s.cls.SignalID, byLevel, level, s.onset, s.onset.Add(step))
	if !ok {
		return
	}
	end := first
	if s.end.After(s.onset) {
		if _, last, ok := r.logs.lineSpan(s.service, s.cls.SignalID, byLevel, level, s.end, s.end.Add(step)); ok {
			end = last
		} else {
			end = telemetry.Latest(s.end, first)
		}
	}
	s.onset, s.end = first, end
}

// sampling is the median sampling step of the series (their first two
// window samples, of at most 50 series; a minute when none has two) and
// each series' own step (its smallest interval in the window, where it has
// two samples). Two onsets within two usual steps, and at least a minute,
// count as simultaneous. Counts made from log lines count only when no
// other series has two samples: their buckets are the analysis' own, and
// their onsets are their first lines' times.
func sampling(sigs []signal) (step time.Duration, each map[string]time.Duration) {
	var steps, logs []time.Duration
	each = make(map[string]time.Duration, len(sigs))
	for _, s := range sigs {
		ts := s.win.times()
		if len(ts) < 2 {
			continue
		}
		if s.ownStep > 0 { // measured by prepare
			each[s.id] = s.ownStep
		}
		switch {
		case s.fromLogs && len(logs) < 50:
			logs = append(logs, interval(ts[0], ts[1]))
		case !s.fromLogs && len(steps) < 50:
			steps = append(steps, interval(ts[0], ts[1]))
		}
	}
	if len(steps) == 0 {
		steps = logs
	}
	if len(steps) == 0 {
		return time.Minute / 2, each
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	return steps[len(steps)/2], each
}

// scoredSignal is a prepared signal with its score.
type scoredSignal struct {
	signal
	seriesScore
	carried bool // see carriedOver
}

// scoreAll gathers the signals that were scored, in their order, and
// counts the rest; each is prepareScored's.
func scoreAll(sigs []signal, each []scored) (scored []scoredSignal, skipped int) {
	n := 0
	for _, r := range each {
		if r.ok {
			n++
		}
	}
	scored = make([]scoredSignal, 0, n)
	for i, r := range each {
		if !r.ok {
			skipped++
			continue
		}
		scored = append(scored, scoredSignal{signal: sigs[i], seriesScore: r.seriesScore, carried: r.carried})
	}
	return scored, skipped
}

// shortByConstruction reports whether a signal's baseline is too short to
// hold minBaselinePoints samples at the signal's own step (its smallest
// interval in the window), rather than the signal missing samples.
func shortByConstruction(s signal, baseline telemetry.Window) bool {
	win := s.win.times()
	if len(win) < 2 {
		return false
	}
	step := interval(win[0], win[1])
	for i := 2; i < len(win); i++ {
		step = min(step, interval(win[i-1], win[i]))
	}
	return step > 0 && baseline.Duration() < time.Duration(minBaselinePoints)*step
}

// finding describes a scored signal for people.
func (s scoredSignal) finding() Finding {
	f := Finding{
		Service:       s.service,
		Signal:        signalName(s.name(), s.series.Labels, s.callee),
		SignalID:      s.cls.SignalID,
		Metric:        s.series.Metric,
		Labels:        s.series.Labels,
		Callee:        s.callee,
		Layer:         s.cls.Layer,
		Direction:     s.cls.Direction,
		Unit:          s.cls.Unit,
		Query:         s.series.Query,
		Score:         round(s.score, 3),
		Onset:         s.onset.UTC(),
		Until:         s.end.UTC(),
		CarriedOver:   s.carried,
		BaselineValue: s.stats.median,
		ObservedValue: s.observed,
		Heuristic:     s.cls.Heuristic,
		SeriesID:      s.id,
		Source:        "metrics",
		traffic:       s.traffic,
		level:         s.level,
		events:        s.events,
		failing:       s.cls.Impact == catalog.ImpactAvailability,
	}
	if s.fromLogs {
		f.Source = "logs"
	}
	if s.isRate {
		f.Signal += " (per-second rate)"
	}
	verb := "rose"
	if s.observed < s.stats.median {
		verb = "fell"
	}
	if s.carried {
		f.Explanation = fmt.Sprintf("%s on %s was already at %s (baseline %s) when the window began at %s, %.1fx beyond the baseline's own variation: it started before the window, at a time the data does not show",
			f.Signal, f.Service, units.Format(f.ObservedValue, f.Unit), units.Format(f.BaselineValue, f.Unit),
			f.Onset.Format("15:04:05"), s.ratio)
	} else {
		f.Explanation = fmt.Sprintf("%s on %s %s from %s to %s at %s, %.1fx beyond the baseline's own variation",
			f.Signal, f.Service, verb, units.Format(f.BaselineValue, f.Unit), units.Format(f.ObservedValue, f.Unit),
			f.Onset.Format("15:04:05"), s.ratio)
	}
	if f.Heuristic {
		f.Explanation += "; layer guessed from the metric name (not in the catalog)"
	}
	return f
}

// routeLabels say which part of a service a series is about.
var routeLabels = []string{"route", "handler", "path", "endpoint", "uri", "operation", "method"}

// name is what the series counts: its catalog signal's name, or for a
// count of lines by level, the level's ("warn log lines").
func (s signal) name() string {
	if !s.byLevel {
		return s.cls.Name
	}
	return cmp.Or(s.level, "unlevelled") + " log lines"
}

func signalName(name string, labels telemetry.Labels, callee string) string {
	var parts []string
	parts = append(parts, name)
	for _, l := range routeLabels {
		if v := labels[l]; v != "" {
			parts = append(parts, "on "+v)
			break
		}
	}
	if callee != "" {
		parts = append(parts, "to "+callee)
	}
	return strings.Join(parts, " ")
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// sortFindings orders findings strongest first, with stable tie-breaks so the
// same bundle always gives the same report.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c < 0 // strongest first; a NaN, should one slip in, last
		}
		if !a.Onset.Equal(b.Onset) {
			return a.Onset.Before(b.Onset)
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.SeriesID < b.SeriesID
	})
}

// before reports whether a is earlier than b by more than tol.
func before(a, b time.Time, tol time.Duration) bool { return a.Add(tol).Before(b) }

// countsLines reports whether a signal counts a service's log lines (a log
// signal, or a count of lines by level) and saw some: then whether the
// service logged errors can be told. An alert's severity label is no log.
func countsLines(s signal) bool {
	if !s.fromLogs && (s.level == "" || !isCountName(s.series.Metric)) {
		return false
	}
	for _, p := range []samples{s.base, s.win} {
		for i := range p.len() {
			if v := p.v(i); v != 0 && !math.IsNaN(v) {
				return true
			}
		}
	}
	return false
}
