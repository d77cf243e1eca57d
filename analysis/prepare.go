package analysis

import (
	"cmp"
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
	// byLevel marks a count of a service's lines at one level (a catalog
	// signal LogByLevel).
	byLevel bool
	// level is the log level its labels name (the catalog's level labels,
	// then the usual ones), lower case, or "".
	level string
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
	s.steady.step, s.steady.widest, s.steady.ok = steadyStep(s.base.times())
	ts := s.win.times()
	if len(ts) < 2 {
		return
	}
	d := interval(ts[0], ts[1])
	for j := 2; j < len(ts); j++ {
		d = min(d, interval(ts[j-1], ts[j]))
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
	// byLevel: a log signal by level (catalog LogByLevel).
	byLevel bool
}

func prepareOne(s telemetry.Series, b telemetry.Bundle, cat *catalog.Catalog, kinds map[kindKey]kindInfo) signal {
	k := kindKey{s.Signal, s.Metric}
	ki, ok := kinds[k]
	if !ok {
		ki.cls = cat.Classify(s.Signal, s.Metric)
		var cs catalog.Signal
		cs, ki.known = cat.Signal(s.Signal)
		ki.query, ki.log, ki.byLevel = cs.Query, ki.known && cs.IsLog(), ki.known && cs.LogByLevel
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
	sig.fromLogs, sig.byLevel = ki.log, ki.byLevel
	// Lines at a verbose level count what a service is doing, as its
	// requests do: they move with the load it is given. A warning or an
	// error is its word that something is wrong.
	sig.level = labelLevel(cat, s.Labels)
	if noLevel(sig.level) {
		sig.level = ""
	}
	sig.traffic = sig.traffic || (sig.fromLogs || isCountName(s.Metric)) && activityLevels[sig.level] ||
		sig.byLevel && sig.level == "" // lines that state no level: mostly requests served
	pts := samplesOf(s)
	sig.id = s.ID()
	sorted := slices.IsSorted(pts.ts)
	switch {
	case s.Signal == "" && s.Rated():
		sig.isRate = true // rate() on the server
		sig.cls.Unit = rateUnit(s.Metric, sig.cls.Unit)
	case !sig.fromLogs && isCounter(s, ki.query):
		sig.isRate, sig.counter = true, true
		sig.cls.Unit = rateUnit(s.Metric, sig.cls.Unit)
		if base, win, ok := splitRates(pts, sorted, b.Baseline, b.Window); ok {
			// A rate's unit is no ratio, nor is it a count per sample.
			sig.base, sig.win = base, win
			return sig
		}
		pts = rateOf(pts)
	}
	if sig.cls.Unit == "ratio" && aboveOne(pts.vs) {
		sig.cls.Unit = "percent" // 99.5 is a percentage, not 9950 %
	}
	sig.perSample = !sig.isRate && isCountName(s.Metric)
	sig.base, sig.win = split(pts, sorted, b.Baseline, b.Window)
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
	return isCounterName(s.Metric) && monotonic(s.Values)
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
func aboveOne(vs []float64) bool {
	for _, v := range vs {
		if v > 1 {
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
func monotonic(vs []float64) bool {
	n, resets, rises := 0, 0, 0
	var prev float64
	for _, cur := range vs {
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

// rateOf differentiates a counter into a per-second rate, treating a drop
// as a counter reset, as PromQL's rate() does; a drop within float jitter
// is no drop at all. Missing samples (NaN) are skipped, so a gap stays a
// gap. The rates are new columns.
func rateOf(s samples) samples {
	ts, vs := s.ts, s.vs
	n := max(len(ts)-1, 0)
	out := samples{ts: make([]int64, 0, n), vs: make([]float64, 0, n)}
	prev := -1
	var (
		lastGap time.Duration = -1
		lastDt  float64
	)
	for i, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if prev < 0 {
			prev = i
			continue
		}
		gap := interval(ts[prev], ts[i])
		if gap != lastGap { // samples at a steady step: one conversion
			lastGap, lastDt = gap, gap.Seconds()
		}
		dt := lastDt
		if dt <= 0 {
			continue
		}
		d := increase(vs[prev], v)
		prev = i
		out.ts = append(out.ts, ts[i])
		out.vs = append(out.vs, d/dt)
	}
	return out
}

// split is where samples enter scoring: it keeps the finite samples of
// the baseline and of the window. NaN is a missing sample; an infinity (a
// division by zero upstream, "+Inf" in a file) is too, and so is a rate
// that overflowed. Samples are sorted by time, so each side is usually one
// run of them: it is then returned as a slice of the columns (capped, so
// an append cannot reach into them), and only a side with a hole (a
// non-finite sample, a sample out of order) is copied.
// sorted says the samples are in time order (a rateOf of sorted samples is).
func split(pts samples, sorted bool, baseline, window telemetry.Window) (base, win samples) {
	bw, ww := baseline.Nanos(), window.Nanos()
	if base, win, ok := splitSorted(pts, sorted, bw, ww); ok {
		return base, win
	}
	var b, w pointRun
	for i, t := range pts.ts {
		switch side(t, pts.vs[i], bw, ww) {
		case inBaseline:
			b.add(i)
		case inWindow:
			w.add(i)
		}
	}
	return b.take(pts, bw, ww, inBaseline), w.take(pts, bw, ww, inWindow)
}

// splitSorted is split for samples in time order whose baseline and
// window runs do not overlap: each side is found by binary search, and is
// a slice of the columns when all its samples are finite. ok is false
// otherwise.
func splitSorted(pts samples, sorted bool, baseline, window telemetry.Span) (base, win samples, ok bool) {
	if !sorted {
		return samples{}, samples{}, false
	}
	b0, b1, w0, w1, ok := sortedRuns(pts.ts, baseline, window)
	if !ok {
		return samples{}, samples{}, false
	}
	return finiteRun(pts, b0, b1), finiteRun(pts, w0, w1), true
}

// sortedRuns finds the baseline's samples, ts[b0:b1], and the window's,
// ts[w0:w1], in times in order, by binary search; ok is false when the two
// runs overlap.
func sortedRuns(ts []int64, baseline, window telemetry.Span) (b0, b1, w0, w1 int, ok bool) {
	notBefore := func(t int64) int {
		i, _ := slices.BinarySearch(ts, t) // the first at or after t
		return i
	}
	after := func(t int64) int {
		if t == math.MaxInt64 {
			return len(ts)
		}
		return notBefore(t + 1)
	}
	w0, w1 = notBefore(window.From), after(window.To) // [From, To]: the end is the window's
	b0, b1 = notBefore(baseline.From), notBefore(baseline.To)
	if b0 < b1 && w0 < w1 && b0 < w1 && w0 < b1 {
		return 0, 0, 0, 0, false // the baseline overlaps the window: the window wins, sample by sample
	}
	return b0, b1, w0, w1, true
}

// splitRates is split for a counter's rates, as samples over its columns
// (see samples), without copying them: ok is false unless the rates
// are in place (ratesInPlace) and in two runs (sortedRuns).
func splitRates(pts samples, sorted bool, baseline, window telemetry.Window) (base, win samples, ok bool) {
	if !sorted || len(pts.ts) < 2 || !ratesInPlace(pts.ts, pts.vs) {
		return samples{}, samples{}, false
	}
	b0, b1, w0, w1, ok := sortedRuns(pts.ts[1:], baseline.Nanos(), window.Nanos())
	if !ok {
		return samples{}, samples{}, false
	}
	// Rates i to j-1 (each at sample i+1) are those from sample i to j.
	run := func(i, j int) samples {
		if i == j {
			return samples{}
		}
		return samples{ts: pts.ts[i : j+1 : j+1], vs: pts.vs[i : j+1 : j+1], rate: true}
	}
	return run(b0, b1), run(w0, w1), true
}

// finiteRun is samples i to j-1 of pts when all are finite, else a copy
// without the others; empty when none is.
func finiteRun(pts samples, i, j int) samples {
	ts, vs := pts.ts[i:j:j], pts.vs[i:j:j]
	for k, v := range vs {
		if finite(v) {
			continue
		}
		out := samples{ts: slices.Clone(ts[:k:k]), vs: slices.Clone(vs[:k:k])}
		for m, v := range vs[k+1:] {
			if finite(v) {
				out.ts = append(out.ts, ts[k+1+m])
				out.vs = append(out.vs, v)
			}
		}
		if len(out.ts) == 0 {
			return samples{}
		}
		return out
	}
	if len(ts) == 0 {
		return samples{}
	}
	return samples{ts: ts, vs: vs}
}

// pointRun tracks the indices of the samples of one side: the first, one
// past the last, how many, and so whether they are contiguous.
type pointRun struct{ from, to, n int }

func (r *pointRun) add(i int) {
	if r.n == 0 {
		r.from = i
	}
	r.to = i + 1
	r.n++
}

func (r pointRun) take(pts samples, baseline, window telemetry.Span, which int) samples {
	switch {
	case r.n == 0:
		return samples{}
	case r.to-r.from == r.n:
		return samples{ts: pts.ts[r.from:r.to:r.to], vs: pts.vs[r.from:r.to:r.to]}
	}
	out := samples{ts: make([]int64, 0, r.n), vs: make([]float64, 0, r.n)}
	for i := r.from; i < r.to; i++ {
		if side(pts.ts[i], pts.vs[i], baseline, window) == which {
			out.ts = append(out.ts, pts.ts[i])
			out.vs = append(out.vs, pts.vs[i])
		}
	}
	return out
}

const (
	dropped = iota
	inBaseline
	inWindow
)

// side is where split puts a sample at t of value v: a non-finite sample
// is dropped, the window's end is the window's.
func side(t int64, v float64, baseline, window telemetry.Span) int {
	switch {
	case !finite(v):
		return dropped
	case window.Contains(t) || t == window.To:
		return inWindow
	case baseline.Contains(t):
		return inBaseline
	}
	return dropped
}

// activityLevels are the log levels of lines that report activity, lower
// case.
var activityLevels = map[string]bool{"trace": true, "debug": true, "info": true, "information": true, "notice": true, "verbose": true}

// labelLevel is the log level a series' labels name, lower case, or "":
// the catalog's level labels first, then the usual ones (seriesLevel).
func labelLevel(cat *catalog.Catalog, l telemetry.Labels) string {
	return strings.ToLower(cmp.Or(cat.Level(l), seriesLevel(l)))
}

// seriesLevel is the log level a series' labels name, lower case, or "".
func seriesLevel(l telemetry.Labels) string {
	for _, k := range levelLabels {
		if v, ok := l[k]; ok {
			return strings.ToLower(v)
		}
	}
	return ""
}
