package analysis

import (
	"math"
	"strings"

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
	base    []telemetry.Point
	win     []telemetry.Point
	isRate  bool
	// perSample marks a count of events per sample: a counter's name
	// (_total, _count) on a series that is not cumulative, as exporters of
	// per-interval counts and recorded datasets write them.
	perSample bool
	// traffic marks a request rate (see Finding.traffic): the catalog's
	// traffic signals, and the unknown metrics named like requests.
	traffic  bool
	fromLogs bool
	// rated is the per-second rate of a counter (isRate), for charts.
	rated []telemetry.Point
}

// prepare classifies every series of the bundle and splits its points. A
// raw counter is turned into a per-second rate first, whatever catalog
// signal matched it: its level says nothing, its slope does (see isCounter).
func prepare(b telemetry.Bundle, cat *catalog.Catalog) []signal {
	out := make([]signal, 0, len(b.Series))
	for _, s := range b.Series {
		sig := signal{
			series:  s,
			cls:     cat.Classify(s.Signal, s.Metric),
			service: cat.Service(s.Labels),
			callee:  cat.Callee(s.Labels),
		}
		if sig.service == "" {
			sig.service = "(unknown)"
		}
		sig.infra = hostLevel(cat, sig.service, s)
		sig.traffic = sig.cls.Impact == catalog.ImpactTraffic ||
			sig.cls.Heuristic && sig.cls.Layer == catalog.LayerSymptom && sig.cls.Unit == "per_second"
		cs, known := cat.Signal(s.Signal)
		if known && cs.IsLog() {
			sig.fromLogs = true
		}
		pts := s.Points
		switch {
		case s.Signal == "" && s.Rated():
			sig.isRate = true // rate() on the server
			sig.cls.Unit = rateUnit(s.Metric, sig.cls.Unit)
		case !sig.fromLogs && isCounter(s, cs.Query):
			pts = toRate(pts)
			sig.isRate, sig.rated = true, pts
			sig.cls.Unit = rateUnit(s.Metric, sig.cls.Unit)
		}
		if sig.cls.Unit == "ratio" && aboveOne(pts) {
			sig.cls.Unit = "percent" // 99.5 is a percentage, not 9950 %
		}
		sig.perSample = !sig.isRate && isCountName(s.Metric)
		sig.base, sig.win = split(pts, b.Baseline, b.Window)
		out = append(out, sig)
	}
	return out
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
	var vals []float64
	for _, p := range pts {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			vals = append(vals, p.V)
		}
	}
	if len(vals) < 3 {
		return false
	}
	resets, rises := 0, 0
	for i := 1; i < len(vals); i++ {
		prev, cur := vals[i-1], vals[i]
		if sameValue(cur, prev) {
			continue
		}
		if cur > prev {
			rises++
			continue
		}
		if cur > prev/2 {
			return false
		}
		resets++
	}
	return rises > 0 && rises >= 3*resets && resets*20 <= len(vals)
}

// toRate differentiates a counter into a per-second rate, treating a drop as
// a counter reset, as PromQL's rate() does; a drop within float jitter is no
// drop at all. Missing samples (NaN) are skipped, so a gap stays a gap.
func toRate(pts []telemetry.Point) []telemetry.Point {
	out := make([]telemetry.Point, 0, len(pts))
	prev := -1
	for i, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		if prev < 0 {
			prev = i
			continue
		}
		last := pts[prev]
		dt := p.T.Sub(last.T).Seconds()
		if dt <= 0 {
			continue
		}
		prev = i
		d := p.V - last.V
		if d < 0 {
			if sameValue(p.V, last.V) {
				d = 0
			} else {
				d = p.V
			}
		}
		out = append(out, telemetry.Point{T: p.T, V: d / dt})
	}
	return out
}

// split is where points enter scoring: it keeps the finite samples of the
// baseline and of the window. NaN is a missing sample; an infinity (a
// division by zero upstream, "+Inf" in a file) is too, and so is a rate
// that overflowed.
func split(pts []telemetry.Point, baseline, window telemetry.Window) (base, win []telemetry.Point) {
	// Count first, so each side is allocated once, at its size: on a case
	// of 100k series the doubling of append was half the analysis' garbage.
	nb, nw := 0, 0
	for _, p := range pts {
		switch side(p, baseline, window) {
		case inBaseline:
			nb++
		case inWindow:
			nw++
		}
	}
	if nb > 0 {
		base = make([]telemetry.Point, 0, nb)
	}
	if nw > 0 {
		win = make([]telemetry.Point, 0, nw)
	}
	for _, p := range pts {
		switch side(p, baseline, window) {
		case inBaseline:
			base = append(base, p)
		case inWindow:
			win = append(win, p)
		}
	}
	return base, win
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
