package analysis

import (
	"strings"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// signal is one series made ready for scoring: classified, placed on a
// service, split into baseline and window points.
type signal struct {
	series   telemetry.Series
	cls      catalog.Classification
	service  string
	callee   string
	infra    bool
	base     []telemetry.Point
	win      []telemetry.Point
	isRate   bool
	fromLogs bool
}

// prepare classifies every series of the bundle and splits its points. A
// raw counter (a name ending in _total and values that only go up) is turned
// into a per-second rate first: its level says nothing, its slope does.
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
		sig.infra = cat.Infrastructure(sig.service, s.Labels)
		if cs, ok := cat.Signal(s.Signal); ok && cs.IsLog() {
			sig.fromLogs = true
		}
		pts := s.Points
		if s.Signal == "" && isCounterName(s.Metric) && monotonic(pts) {
			pts = toRate(pts)
			sig.isRate = true
		}
		sig.base, sig.win = split(pts, b.Baseline, b.Window)
		out = append(out, sig)
	}
	return out
}

func isCounterName(name string) bool {
	return strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_count")
}

// monotonic reports whether values never decrease, allowing rare resets.
func monotonic(pts []telemetry.Point) bool {
	if len(pts) < 3 {
		return false
	}
	drops := 0
	for i := 1; i < len(pts); i++ {
		if pts[i].V < pts[i-1].V {
			drops++
		}
	}
	return drops*20 <= len(pts) && pts[len(pts)-1].V > pts[0].V
}

// toRate differentiates a counter into a per-second rate, treating a drop as
// a counter reset, as PromQL's rate() does. A sample that is not a finite
// number is missing: the rate spans the gap from the last finite sample
// rather than reading +Inf as a rise and the next sample as a reset.
func toRate(pts []telemetry.Point) []telemetry.Point {
	out := make([]telemetry.Point, 0, len(pts)-1)
	prev := -1
	for i := range pts {
		if !finite(pts[i].V) {
			continue
		}
		if prev >= 0 {
			if dt := pts[i].T.Sub(pts[prev].T).Seconds(); dt > 0 {
				d := pts[i].V - pts[prev].V
				if d < 0 {
					d = pts[i].V
				}
				out = append(out, telemetry.Point{T: pts[i].T, V: d / dt})
			}
		}
		prev = i
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
