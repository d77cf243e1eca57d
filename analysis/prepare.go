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
		switch {
		case s.Signal == "" && s.Rated():
			sig.isRate = true // rate() on the server
		case s.Signal == "" && isCounterName(s.Metric) && monotonic(pts):
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
// a counter reset, as PromQL's rate() does.
func toRate(pts []telemetry.Point) []telemetry.Point {
	out := make([]telemetry.Point, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		dt := pts[i].T.Sub(pts[i-1].T).Seconds()
		if dt <= 0 {
			continue
		}
		d := pts[i].V - pts[i-1].V
		if d < 0 {
			d = pts[i].V
		}
		out = append(out, telemetry.Point{T: pts[i].T, V: d / dt})
	}
	return out
}

func split(pts []telemetry.Point, baseline, window telemetry.Window) (base, win []telemetry.Point) {
	for _, p := range pts {
		if p.V != p.V { // NaN: a missing sample
			continue
		}
		switch {
		case window.Contains(p.T) || p.T.Equal(window.To):
			win = append(win, p)
		case baseline.Contains(p.T):
			base = append(base, p)
		}
	}
	return base, win
}
