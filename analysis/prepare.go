package analysis

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// signal is one series made ready for scoring: classified, placed on a
// service, split into baseline and window points.
type signal struct {
	series  telemetry.Series
	cls     catalog.Classification
	service string
	callee  string
	infra   bool
	base    samples
	win     samples
	isRate  bool
	// counter marks a raw counter, rated here (isRate says a rate, from
	// here or from the server).
	counter bool
	// perSample marks a count of events per sample: a counter's name
	// (_total, _count) on a series that is not cumulative, as exporters of
	// per-interval counts and recorded datasets write them.
	perSample bool
	// traffic marks a request rate (see Finding.traffic): the catalog's
	// traffic signals, and the unknown metrics named like requests.
	traffic  bool
	fromLogs bool
	// wall is whether no sample carries a monotonic clock reading
	// (wallClock): intervals between them are then cheap.
	wall bool
	// id is series.ID(), made once.
	id string
	// steady is steadyStep of the baseline; ownStep the smallest
	// interval between the window's samples (0 with fewer than two). Both
	// are measured as the series is prepared, while its points are in the
	// cache.
	steady struct {
		step, widest time.Duration
		ok           bool
	}
	ownStep time.Duration
}

// prepare classifies every series of the bundle and splits its points. A
// raw counter is turned into a per-second rate first, whatever catalog
// signal matched it: its level says nothing, its slope does (see isCounter).
// The series are independent: they are prepared on all cores, each into its
// own slot, so the order (and the result) is the same on any machine.
func prepare(b telemetry.Bundle, cat *catalog.Catalog) []signal {
	sigs, _ := prepareScored(b, cat, nil)
	return sigs
}

// prepareScored is prepare, and each series scored (scoreOne) right after
// it is prepared, while its points are in the cache: one pass over a
// large case's samples, not two. A signal stop (asked with how far into
// its chunk it is) says to skip is left unscored (!ok), as are those after
// it in the chunk: the caller's context is done. Without stop, none is
// scored and each is nil.
func prepareScored(b telemetry.Bundle, cat *catalog.Catalog, stop func(i int) bool) (sigs []signal, each []scored) {
	sigs = make([]signal, len(b.Series))
	if stop != nil {
		each = make([]scored, len(b.Series))
	}
	parallel(len(b.Series), func(lo, hi int) {
		kinds := map[kindKey]kindInfo{}
		var buf scratch
		scoring := stop != nil
		for i := lo; i < hi; i++ {
			s := &sigs[i]
			*s = prepareOne(b.Series[i], b, cat, kinds)
			s.measureSteps()
			if scoring && stop(i-lo) { // counted from the chunk's start, so every chunk looks
				scoring = false
			}
			if scoring {
				each[i] = scoreOne(*s, b.Baseline, &buf)
			}
		}
	})
	return sigs, each
}

// measureSteps sets steady and ownStep.
func (s *signal) measureSteps() {
	s.steady.step, s.steady.widest, s.steady.ok = steadyStep(s.base.times(), s.wall)
	pts := s.win.times()
	if len(pts) < 2 {
		return
	}
	d := sampleInterval(pts[0].T, pts[1].T, s.wall)
	for j := 2; j < len(pts); j++ {
		d = min(d, sampleInterval(pts[j-1].T, pts[j].T, s.wall))
	}
	s.ownStep = d
}

// kindKey is what a series' classification depends on: its catalog
// signal and its metric name. A case holds thousands of series of a few
// kinds; each kind is classified once (by regular expressions) per worker.
type kindKey struct{ signal, metric string }

type kindInfo struct {
	cls   catalog.Classification
	query string // the catalog signal's query
	known bool
	log   bool
}

func prepareOne(s telemetry.Series, b telemetry.Bundle, cat *catalog.Catalog, kinds map[kindKey]kindInfo) signal {
	k := kindKey{s.Signal, s.Metric}
	ki, ok := kinds[k]
	if !ok {
		ki.cls = cat.Classify(s.Signal, s.Metric)
		var cs catalog.Signal
		cs, ki.known = cat.Signal(s.Signal)
		ki.query, ki.log = cs.Query, ki.known && cs.IsLog()
		kinds[k] = ki
	}
	sig := signal{
		series:  s,
		cls:     ki.cls,
		service: cat.Service(s.Labels),
		callee:  cat.Callee(s.Labels),
	}
	if sig.service == "" {
		sig.service = "(unknown)"
	}
	sig.infra = hostLevel(cat, sig.service, s)
	sig.traffic = sig.cls.Impact == catalog.ImpactTraffic ||
		sig.cls.Heuristic && sig.cls.Layer == catalog.LayerSymptom && sig.cls.Unit == "per_second"
	sig.fromLogs = ki.log
	// Lines at a verbose level count what a service is doing, as its
	// requests do: they move with the load it is given. A warning or an
	// error is its word that something is wrong.
	sig.traffic = sig.traffic || (sig.fromLogs || isCountName(s.Metric)) && activityLevels[seriesLevel(s.Labels)]
	pts := s.Points
	sig.id = s.ID()
	var sorted bool
	sig.wall, sorted = scanTimes(pts)
	switch {
	case s.Signal == "" && s.Rated():
		sig.isRate = true // rate() on the server
		sig.cls.Unit = rateUnit(s.Metric, sig.cls.Unit)
	case !sig.fromLogs && isCounter(s, ki.query):
		sig.isRate, sig.counter = true, true
		sig.cls.Unit = rateUnit(s.Metric, sig.cls.Unit)
		if base, win, ok := splitRates(pts, sorted, sig.wall, b.Baseline, b.Window); ok {
			// A rate's unit is no ratio, nor is it a count per sample.
			sig.base, sig.win = base, win
			return sig
		}
		pts = rateOf(pts, sig.wall)
	}
	if sig.cls.Unit == "ratio" && aboveOne(pts) {
		sig.cls.Unit = "percent" // 99.5 is a percentage, not 9950 %
	}
	sig.perSample = !sig.isRate && isCountName(s.Metric)
	base, win := split(pts, sorted, b.Baseline, b.Window)
	sig.base, sig.win = samples{pts: base, wall: sig.wall}, samples{pts: win, wall: sig.wall}
	return sig
}

// hostLevel reports whether a series describes a host rather than a service:
// the catalog says so, or it is one of node_exporter's (its metrics are all
// named node_*, whatever job scraped them). Host-level series are context
// for the chains of the services that run there, never a service to blame
// or to roll back.
func hostLevel(cat *catalog.Catalog, service string, s telemetry.Series) bool {
	return cat.Infrastructure(service, s.Labels) || strings.HasPrefix(s.Metric, "node_")
}

// isCounter reports whether a series holds a raw cumulative counter: a
// counter's name (_total, _count, _sum, _bucket, as Prometheus' client
// libraries and exposition format name them) and a counter's shape (values
// that only go up, but for resets to near zero). A series whose query already
// rates it (rate, irate, increase) is not one; signalQuery is the catalog
// signal's query, consulted when the series does not carry its own.
func isCounter(s telemetry.Series, signalQuery string) bool {
	q := s.Query
	if q == "" && s.Metric == s.Signal {
		// An aggregate the signal's query made: the series is named after it.
		q = signalQuery
	}
	if ratesAlready(q) {
		return false
	}
	return isCounterName(s.Metric) && monotonic(s.Points)
}

// ratesAlready reports whether a PromQL expression turns counters into rates.
func ratesAlready(q string) bool {
	for _, f := range []string{"rate(", "irate(", "increase("} {
		if strings.Contains(q, f) {
			return true
		}
	}
	return false
}

func isCounterName(name string) bool {
	for _, suffix := range []string{"_total", "_count", "_sum", "_bucket"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// aboveOne reports whether a series ever exceeds 1, which no ratio does.
func aboveOne(pts []telemetry.Point) bool {
	for _, p := range pts {
		if p.V > 1 {
			return true
		}
	}
	return false
}

// increase is what a counter counted from a to b: their difference, or
// b when it fell (a reset; float jitter of an unchanged value is no reset).
func increase(a, b float64) float64 {
	d := b - a
	if d < 0 {
		if sameValue(b, a) {
			return 0
		}
		return b
	}
	return d
}

// isCountName reports whether a metric's name says it counts events.
func isCountName(name string) bool {
	return strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count")
}

// rateUnit is the unit of a counter's per-second rate, given the unit the
// catalog gives the signal: a count (and a histogram's _count and _bucket,
// whatever they observe) becomes a count per second, anything else (bytes,
// the seconds of a _sum) that thing per second.
func rateUnit(metric, unit string) string {
	switch {
	case unit == "" || unit == "count" || unit == "per_second" || unit == "per_minute",
		strings.HasSuffix(metric, "_count"), strings.HasSuffix(metric, "_bucket"):
		return "per_second"
	}
	return unit + "/s"
}

// jitter is the relative difference below which two samples are the same
// value: VictoriaMetrics, for one, returns an unchanged float as
// 1796570346.31 and then 1796570346.3100002.
const jitter = 1e-9

// sameValue reports whether two samples are equal but for float jitter.
func sameValue(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= jitter*math.Max(math.Abs(a), math.Abs(b))
}

// monotonic reports whether values never decrease but for rare resets: a
// counter's only way down is a restart, which takes it to (near) zero, and
// it climbs many times between two. A gauge that dips a little (39, 40, 39)
// is not a counter, however rarely it dips, nor a count per interval of a
// rare event (0, 1, 0, 0, 1, 0): it goes back to zero as often as it rises.
func monotonic(pts []telemetry.Point) bool {
	n, resets, rises := 0, 0, 0
	var prev float64
	for _, p := range pts {
		cur := p.V
		if math.IsNaN(cur) || math.IsInf(cur, 0) {
			continue
		}
		n++
		if n == 1 {
			prev = cur
			continue
		}
		last := prev
		prev = cur
		if sameValue(cur, last) {
			continue
		}
		if cur > last {
			rises++
			continue
		}
		if cur > last/2 {
			return false
		}
		resets++
	}
	if n < 3 {
		return false
	}
	return rises > 0 && rises >= 3*resets && resets*20 <= n
}

// toRate differentiates a counter into a per-second rate, treating a drop as
// a counter reset, as PromQL's rate() does; a drop within float jitter is no
// drop at all. Missing samples (NaN) are skipped, so a gap stays a gap.
func toRate(pts []telemetry.Point) []telemetry.Point { return rateOf(pts, wallClock(pts)) }

// rateOf is toRate on points whose wallClock is wall.
func rateOf(pts []telemetry.Point, wall bool) []telemetry.Point {
	// Mostly the k-th rate is at the time of sample k+1: the times are
	// copied over in one go, and only the values written one by one (a
	// time is a pointer-holding struct, costly to store sample by sample).
	out := make([]telemetry.Point, max(len(pts)-1, 0))
	copy(out, pts[min(1, len(pts)):])
	k := 0
	prev := -1
	var (
		lastGap   time.Duration = -1
		lastDt    float64
		lastStamp stamp
	)
	for i, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		var st stamp
		if wall {
			st = stampOf(p.T)
		}
		if prev < 0 {
			prev, lastStamp = i, st
			continue
		}
		last := pts[prev]
		gap, ok := st.since(lastStamp)
		if !wall || !ok {
			gap = p.T.Sub(last.T)
		}
		if gap != lastGap { // samples at a steady step: one conversion
			lastGap, lastDt = gap, gap.Seconds()
		}
		dt := lastDt
		if dt <= 0 {
			continue
		}
		prev, lastStamp = i, st // the stamp of pts[prev]
		d := increase(last.V, p.V)
		if i == k+1 {
			out[k].V = d / dt // out[k].T is p.T already
		} else {
			out[k] = telemetry.Point{T: p.T, V: d / dt}
		}
		k++
	}
	return out[:k]
}

// split is where points enter scoring: it keeps the finite samples of the
// baseline and of the window. NaN is a missing sample; an infinity (a
// division by zero upstream, "+Inf" in a file) is too, and so is a rate
// that overflowed. Points are sorted by time, so each side is usually one
// run of them: it is then returned as a slice of pts (capped, so an append
// cannot reach into pts), and only a side with a hole (a non-finite
// sample, a point out of order) is copied.
// sorted says the points are in time order (a toRate of sorted points is).
func split(pts []telemetry.Point, sorted bool, baseline, window telemetry.Window) (base, win []telemetry.Point) {
	if base, win, ok := splitSorted(pts, sorted, baseline, window); ok {
		return base, win
	}
	var b, w pointRun
	for i, p := range pts {
		switch side(p, baseline, window) {
		case inBaseline:
			b.add(i)
		case inWindow:
			w.add(i)
		}
	}
	return b.take(pts, baseline, window, inBaseline), w.take(pts, baseline, window, inWindow)
}

// splitSorted is split for points in time order whose baseline and window
// runs do not overlap: each side is found by binary search, and is a slice
// of pts when all its samples are finite. ok is false otherwise.
func splitSorted(pts []telemetry.Point, sorted bool, baseline, window telemetry.Window) (base, win []telemetry.Point, ok bool) {
	if !sorted {
		return nil, nil, false
	}
	b0, b1, w0, w1, ok := sortedRuns(pts, baseline, window)
	if !ok {
		return nil, nil, false
	}
	return finitePoints(pts[b0:b1:b1]), finitePoints(pts[w0:w1:w1]), true
}

// sortedRuns finds the baseline's points, pts[b0:b1], and the window's,
// pts[w0:w1], in points in time order, by binary search; ok is false when
// the two runs overlap.
func sortedRuns(pts []telemetry.Point, baseline, window telemetry.Window) (b0, b1, w0, w1 int, ok bool) {
	notBefore := func(t time.Time) int {
		i, _ := slices.BinarySearchFunc(pts, t, func(p telemetry.Point, t time.Time) int {
			if p.T.Before(t) {
				return -1
			}
			return 1
		})
		return i
	}
	after := func(t time.Time) int {
		i, _ := slices.BinarySearchFunc(pts, t, func(p telemetry.Point, t time.Time) int {
			if p.T.After(t) {
				return 1
			}
			return -1
		})
		return i
	}
	w0, w1 = notBefore(window.From), after(window.To) // [From, To]: the end is the window's
	b0, b1 = notBefore(baseline.From), notBefore(baseline.To)
	if b0 < b1 && w0 < w1 && b0 < w1 && w0 < b1 {
		return 0, 0, 0, 0, false // the baseline overlaps the window: the window wins, point by point
	}
	return b0, b1, w0, w1, true
}

// splitRates is split for a counter's rates, as samples over its points
// (see samples), without copying them: ok is false unless the rates
// are in place (ratesInPlace) and in two runs (sortedRuns).
func splitRates(pts []telemetry.Point, sorted, wall bool, baseline, window telemetry.Window) (base, win samples, ok bool) {
	if !sorted || len(pts) < 2 || !ratesInPlace(pts, wall) {
		return samples{}, samples{}, false
	}
	b0, b1, w0, w1, ok := sortedRuns(pts[1:], baseline, window)
	if !ok {
		return samples{}, samples{}, false
	}
	// Rates i to j-1 (each at pts[i+1]) are those from pts[i] to pts[j].
	run := func(i, j int) samples {
		if i == j {
			return samples{}
		}
		return samples{pts: pts[i : j+1 : j+1], rate: true, wall: wall}
	}
	return run(b0, b1), run(w0, w1), true
}

// finitePoints is pts when all samples are finite, else a copy without
// the others; nil when none is.
func finitePoints(pts []telemetry.Point) []telemetry.Point {
	for i, p := range pts {
		if finite(p.V) {
			continue
		}
		out := slices.Clone(pts[:i:i])
		for _, p := range pts[i+1:] {
			if finite(p.V) {
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if len(pts) == 0 {
		return nil
	}
	return pts
}

// pointRun tracks the indices of the points of one side: the first, one past
// the last, how many, and so whether they are contiguous.
type pointRun struct{ from, to, n int }

func (r *pointRun) add(i int) {
	if r.n == 0 {
		r.from = i
	}
	r.to = i + 1
	r.n++
}

func (r pointRun) take(pts []telemetry.Point, baseline, window telemetry.Window, which int) []telemetry.Point {
	switch {
	case r.n == 0:
		return nil
	case r.to-r.from == r.n:
		return pts[r.from:r.to:r.to]
	}
	out := make([]telemetry.Point, 0, r.n)
	for _, p := range pts[r.from:r.to] {
		if side(p, baseline, window) == which {
			out = append(out, p)
		}
	}
	return out
}

const (
	dropped = iota
	inBaseline
	inWindow
)

// side is where split puts a point: a non-finite sample is dropped, the
// window's end is the window's.
func side(p telemetry.Point, baseline, window telemetry.Window) int {
	switch {
	case !finite(p.V):
		return dropped
	case window.Contains(p.T) || p.T.Equal(window.To):
		return inWindow
	case baseline.Contains(p.T):
		return inBaseline
	}
	return dropped
}

// activityLevels are the log levels of lines that report activity, lower
// case.
var activityLevels = map[string]bool{"trace": true, "debug": true, "info": true, "notice": true, "verbose": true}

// seriesLevel is the log level a series' labels name, lower case, or "".
func seriesLevel(l telemetry.Labels) string {
	for _, k := range levelLabels {
		if v, ok := l[k]; ok {
			return strings.ToLower(v)
		}
	}
	return ""
}
