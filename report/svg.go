package report

import (
	"html"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// Charts are inline SVG built here rather than through html/template: every
// text node and attribute that could hold data goes through svgText, and
// coordinates are numbers formatted with a fixed precision, so the same
// result always gives the same bytes. Styling is by class only, from the
// page's <style>, so dark mode and the layer colours reach inside the charts.

// Chart geometry in viewBox units. The width suits a half-width column on a
// laptop and the full width of a phone, so the text stays readable on both.
const (
	chartW        = 440.0
	chartPadRight = 10.0
	chartGutter   = 66.0 // room for the value labels left of the plot
	// chartCharW is a character's rough width at the phone's larger font,
	// so labels placed by it never collide on either.
	chartCharW = 7.6
	// maxChartPoints bounds a polyline; longer series keep each bucket's
	// first, lowest, highest and last point, so spikes survive.
	maxChartPoints = 600
)

// svgText escapes a data string for an SVG text node or attribute value.
func svgText(s string) string { return html.EscapeString(clean(s)) }

// coord formats a coordinate with one decimal, never "-0".
func coord(v float64) string {
	r := math.Round(v*10) / 10
	if r == 0 || math.IsNaN(r) {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// svgBuilder writes one chart.
type svgBuilder struct {
	b strings.Builder
}

func (s *svgBuilder) open(kind string, h float64, label string) {
	s.b.WriteString(`<svg class="chart ` + kind + `" viewBox="0 0 ` + coord(chartW) + ` ` + coord(h) +
		`" width="` + coord(chartW) + `" height="` + coord(h) + `" role="img" aria-label="` + svgText(label) + `">`)
	s.b.WriteString(`<title>` + svgText(label) + `</title>`)
}

func (s *svgBuilder) close() string {
	s.b.WriteString(`</svg>`)
	return s.b.String()
}

func (s *svgBuilder) rect(class string, x, y, w, h float64) {
	s.b.WriteString(`<rect class="` + class + `" x="` + coord(x) + `" y="` + coord(y) + `" width="` + coord(max(w, 0)) + `" height="` + coord(max(h, 0)) + `"/>`)
}

func (s *svgBuilder) line(class string, x1, y1, x2, y2 float64) {
	s.b.WriteString(`<line class="` + class + `" x1="` + coord(x1) + `" y1="` + coord(y1) + `" x2="` + coord(x2) + `" y2="` + coord(y2) + `"/>`)
}

// text writes a label; anchor is "start", "middle" or "end".
func (s *svgBuilder) text(class string, x, y float64, anchor, txt string) {
	s.b.WriteString(`<text class="` + class + `" x="` + coord(x) + `" y="` + coord(y) + `"`)
	if anchor != "start" {
		s.b.WriteString(` text-anchor="` + anchor + `"`)
	}
	s.b.WriteString(`>` + svgText(txt) + `</text>`)
}

func (s *svgBuilder) polyline(class string, pts [][2]float64) {
	if len(pts) == 0 {
		return
	}
	s.b.WriteString(`<polyline class="` + class + `" points="`)
	for i, p := range pts {
		if i > 0 {
			s.b.WriteByte(' ')
		}
		s.b.WriteString(coord(p[0]) + "," + coord(p[1]))
	}
	s.b.WriteString(`"/>`)
}

// area fills under a run of points down to the plot's bottom.
func (s *svgBuilder) area(class string, pts [][2]float64, bottom float64) {
	if len(pts) < 2 {
		return
	}
	s.b.WriteString(`<path class="` + class + `" d="M` + coord(pts[0][0]) + "," + coord(bottom))
	for _, p := range pts {
		s.b.WriteString("L" + coord(p[0]) + "," + coord(p[1]))
	}
	s.b.WriteString("L" + coord(pts[len(pts)-1][0]) + "," + coord(bottom) + `Z"/>`)
}

// labelWidth estimates a label's width in viewBox units.
func labelWidth(s string) float64 { return float64(runeLen(s)) * chartCharW }

// linear maps [d0, d1] onto [r0, r1]. Halves keep the span finite for
// values near ±MaxFloat64.
type linear struct{ d0, d1, r0, r1 float64 }

func (l linear) at(v float64) float64 {
	span := l.d1/2 - l.d0/2
	if span == 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return (l.r0 + l.r1) / 2
	}
	f := (v/2 - l.d0/2) / span
	return l.r0 + f*(l.r1-l.r0)
}

// finite says whether v can be plotted.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// valueRange is the lowest and highest finite value among the points and
// extra (the baseline value); ok is false when there is none.
func valueRange(pts []telemetry.Point, extra ...float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if finite(v) {
			lo, hi, ok = min(lo, v), max(hi, v), true
		}
	}
	for _, p := range pts {
		see(p.V)
	}
	for _, v := range extra {
		see(v)
	}
	return lo, hi, ok
}

// timeRange is the first and last time of the points with a finite value.
func timeRange(pts []telemetry.Point) (from, to time.Time, ok bool) {
	for _, p := range pts {
		if !finite(p.V) || p.T.IsZero() {
			continue
		}
		if !ok || p.T.Before(from) {
			from = p.T
		}
		if !ok || p.T.After(to) {
			to = p.T
		}
		ok = true
	}
	return from, to, ok
}

// timeScale maps times onto x; a zero-length domain maps to the middle.
type timeScale struct {
	from, to    time.Time
	left, right float64
}

func (s timeScale) x(t time.Time) float64 {
	d := s.to.Sub(s.from)
	if d <= 0 {
		return (s.left + s.right) / 2
	}
	return s.left + float64(t.Sub(s.from))/float64(d)*(s.right-s.left)
}

func (s timeScale) contains(t time.Time) bool {
	return !t.IsZero() && !t.Before(s.from) && !t.After(s.to)
}

// axisValue is formatValue, or a short exponent form when that is too long
// for the gutter (values near the float64 limits).
func axisValue(v float64, unit string) string {
	if s := units.Format(v, unit); runeLen(s) <= 14 {
		return s
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// axisTime is HH:MM, with the date in front when it is not the report's day.
func axisTime(t time.Time, day string) string {
	t = t.UTC()
	if d := t.Format(time.DateOnly); day != "" && d != day {
		return t.Format("01-02 15:04")
	}
	return t.Format("15:04")
}

// thin keeps at most maxChartPoints points: per bucket its first, lowest,
// highest and last point, in time order.
func thin(pts []telemetry.Point) []telemetry.Point {
	if len(pts) <= maxChartPoints {
		return pts
	}
	buckets := maxChartPoints / 4
	out := make([]telemetry.Point, 0, maxChartPoints)
	for b := 0; b < buckets; b++ {
		lo, hi := b*len(pts)/buckets, (b+1)*len(pts)/buckets
		if lo >= hi {
			continue
		}
		idx := []int{lo, lo, lo, hi - 1}
		for i := lo; i < hi; i++ {
			if pts[i].V < pts[idx[1]].V {
				idx[1] = i
			}
			if pts[i].V > pts[idx[2]].V {
				idx[2] = i
			}
		}
		// Sort the four indexes so the line keeps going forward in time.
		for i := 1; i < 4; i++ {
			for j := i; j > 0 && idx[j] < idx[j-1]; j-- {
				idx[j], idx[j-1] = idx[j-1], idx[j]
			}
		}
		for i, k := range idx {
			if i == 0 || k != idx[i-1] {
				out = append(out, pts[k])
			}
		}
	}
	return out
}

// seriesChart is a time series with the baseline and the window marked.
type seriesChart struct {
	Label    string // accessible name, e.g. "CPU usage on checkout"
	Points   []telemetry.Point
	Window   telemetry.Window
	Onset    time.Time
	Baseline float64 // the baseline value; NaN when unknown
	Unit     string
	Day      string
}

// Vertical layout of the series chart.
const (
	seriesH      = 180.0
	seriesTop    = 22.0  // the plot's top edge; region labels sit above it
	seriesBottom = 150.0 // the plot's bottom edge; time labels sit below it
	seriesHeadY  = 15.0
	seriesTimeY  = 168.0
)

// svg draws the chart. The window is a shaded band, the baseline value a
// dashed line, the onset a vertical marker; the part of the line inside
// the window is drawn in the link's colour, the part before it muted.
// Non-finite values break the line; they are never plotted.
func (c seriesChart) svg() string {
	var s svgBuilder
	s.open("chart-series", seriesH, c.Label)
	pts := thin(c.Points)
	lo, hi, okV := valueRange(pts, c.Baseline)
	from, to, okT := timeRange(pts)
	if !okV || !okT {
		return c.empty(&s)
	}
	// The window widens the time axis only when it overlaps the series:
	// a window far off would squash the data into a sliver.
	win := telemetry.Window{}
	if !c.Window.From.IsZero() && !c.Window.To.IsZero() && c.Window.From.Before(c.Window.To) &&
		!c.Window.From.After(to) && !c.Window.To.Before(from) {
		win = c.Window
		if win.From.Before(from) {
			from = win.From
		}
		if win.To.After(to) {
			to = win.To
		}
	}
	if !from.Before(to) {
		// A single instant: give it a minute either side.
		from, to = from.Add(-time.Minute), to.Add(time.Minute)
	}

	minLab, maxLab := axisValue(lo, c.Unit), axisValue(hi, c.Unit)
	left := max(chartGutter, 10+max(labelWidth(minLab), labelWidth(maxLab)))
	right := chartW - chartPadRight
	ts := timeScale{from: from, to: to, left: left, right: right}
	// hi sits below the top edge so the onset label has its row; a flat
	// series sits in the middle.
	ys := linear{d0: lo, d1: hi, r0: seriesBottom - 8, r1: seriesTop + 20}
	if lo == hi {
		ys = linear{d0: lo - 1, d1: hi + 1, r0: seriesBottom - 8, r1: seriesTop + 20}
	}

	s.rect("c-plot", left, seriesTop, right-left, seriesBottom-seriesTop)
	winX0, winX1 := right, right
	if !win.From.IsZero() {
		winX0, winX1 = ts.x(win.From), ts.x(win.To)
		s.rect("c-win", winX0, seriesTop, winX1-winX0, seriesBottom-seriesTop)
		s.text("c-region", winX0+4, seriesHeadY, "start", "window")
	}
	if winX0-left >= 60 {
		s.text("c-region", left+4, seriesHeadY, "start", "baseline")
	}

	// Gridlines and labels at the data's lowest and highest values.
	s.line("c-grid", left, ys.at(hi), right, ys.at(hi))
	s.text("c-ylab", left-6, ys.at(hi)+4, "end", maxLab)
	if lo != hi {
		s.line("c-grid", left, ys.at(lo), right, ys.at(lo))
		s.text("c-ylab", left-6, ys.at(lo)+4, "end", minLab)
	}

	// Runs of finite points, split at the window's start so the two parts
	// can be told apart; the window part starts at the last baseline point
	// so the line stays joined.
	var runs [][]telemetry.Point
	var cur []telemetry.Point
	for _, p := range pts {
		if !finite(p.V) || p.T.IsZero() {
			if len(cur) > 0 {
				runs = append(runs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, p)
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	xy := func(p telemetry.Point) [2]float64 { return [2]float64{ts.x(p.T), ys.at(p.V)} }
	var before, inside [][][2]float64
	for _, run := range runs {
		var b, in [][2]float64
		for i, p := range run {
			if win.From.IsZero() || p.T.Before(win.From) {
				b = append(b, xy(p))
				continue
			}
			if len(in) == 0 && i > 0 && run[i-1].T.Before(win.From) {
				in = append(in, xy(run[i-1]))
			}
			in = append(in, xy(p))
		}
		if len(b) > 0 {
			before = append(before, b)
		}
		if len(in) > 0 {
			inside = append(inside, in)
		}
	}
	for _, run := range inside {
		s.area("c-area", run, seriesBottom)
	}
	for _, run := range before {
		s.polyline("c-line-base", run)
	}
	for _, run := range inside {
		s.polyline("c-line-win", run)
	}
	// A lone point has no line to show it.
	for _, run := range runs {
		if len(run) == 1 {
			p := xy(run[0])
			s.b.WriteString(`<circle class="c-dot" cx="` + coord(p[0]) + `" cy="` + coord(p[1]) + `" r="2.5"/>`)
		}
	}

	if finite(c.Baseline) {
		y := ys.at(c.Baseline)
		s.line("c-baseline", left, y, right, y)
		lab := "baseline " + axisValue(c.Baseline, c.Unit)
		// Above the line, or below it when the line hugs the top.
		ly := y - 5
		if ly < seriesTop+26 {
			ly = y + 13
		}
		s.text("c-note", left+4, ly, "start", lab)
	}

	if ts.contains(c.Onset) {
		x := ts.x(c.Onset)
		s.line("c-onset", x, seriesTop, x, seriesBottom)
		lab := "onset " + clock(c.Onset, c.Day)
		if x+4+labelWidth(lab) <= right {
			s.text("c-note c-onset-lab", x+4, seriesTop+12, "start", lab)
		} else {
			s.text("c-note c-onset-lab", x-4, seriesTop+12, "end", lab)
		}
	}

	c.timeAxis(&s, ts, win)
	return s.close()
}

// empty draws the frame of a chart with nothing to plot, so the link still
// has its chart and says why it is blank.
func (c seriesChart) empty(s *svgBuilder) string {
	left, right := chartGutter, chartW-chartPadRight
	s.rect("c-plot", left, seriesTop, right-left, seriesBottom-seriesTop)
	s.text("c-empty", (left+right)/2, (seriesTop+seriesBottom)/2+4, "middle", "no samples to plot")
	return s.close()
}

// timeAxis labels the start and end of the time axis and the window's
// start when there is room between them.
func (c seriesChart) timeAxis(s *svgBuilder, ts timeScale, win telemetry.Window) {
	start, end := axisTime(ts.from, c.Day), axisTime(ts.to, c.Day)+" UTC"
	s.text("c-xlab", ts.left, seriesTimeY, "start", start)
	s.text("c-xlab", ts.right, seriesTimeY, "end", end)
	if !win.From.IsZero() && win.From.After(ts.from) {
		x, lab := ts.x(win.From), axisTime(win.From, c.Day)
		w := labelWidth(lab)
		if x-w/2 > ts.left+labelWidth(start)+8 && x+w/2 < ts.right-labelWidth(end)-8 {
			s.line("c-tick", x, seriesBottom, x, seriesBottom+4)
			s.text("c-xlab", x, seriesTimeY, "middle", lab)
		}
	}
}

// changeChart is a timeline of one change and the onsets of what it caused
// (the chain's links above it), zoomed on them, against the window.
type changeChart struct {
	Label  string
	Window telemetry.Window
	Day    string
	// Events are drawn one row each, top to bottom: the links above the
	// change in chain order, then the change itself, last.
	Events []timelineEvent
}

// timelineEvent is one onset or change on the timeline.
type timelineEvent struct {
	T      time.Time
	Label  string // e.g. "CPU throttling 14:03:00"
	Class  string // the layer's colour class, l-*
	Change bool
}

// Vertical layout of the change timeline.
const (
	changeTop   = 22.0
	changeRow   = 22.0
	changeTimeY = 16.0 // below the last row
	// maxEventLabel keeps a long signal name from running off the chart.
	maxEventLabel = 44
)

func (c changeChart) svg() string {
	var evs []timelineEvent
	for _, e := range c.Events {
		if !e.T.IsZero() {
			evs = append(evs, e)
		}
	}
	rows := max(len(evs), 1)
	bottom := changeTop + float64(rows)*changeRow + 6
	h := bottom + changeTimeY + 6
	var s svgBuilder
	s.open("chart-change", h, c.Label)
	left, right := chartGutter, chartW-chartPadRight
	s.rect("c-plot", left, changeTop, right-left, bottom-changeTop)
	if len(evs) == 0 {
		s.text("c-empty", (left+right)/2, (changeTop+bottom)/2+4, "middle", "time of the change unknown")
		return s.close()
	}
	from, to := evs[0].T, evs[0].T
	for _, e := range evs {
		from, to = telemetry.Earliest(from, e.T), telemetry.Latest(to, e.T)
	}
	pad := max(to.Sub(from)/3, time.Minute)
	from, to = from.Add(-pad), to.Add(pad)
	ts := timeScale{from: from, to: to, left: left, right: right}

	// The window, clipped to the zoomed range.
	if w := c.Window; !w.From.IsZero() && w.From.Before(w.To) && w.From.Before(to) && w.To.After(from) {
		x0, x1 := ts.x(telemetry.Latest(w.From, from)), ts.x(telemetry.Earliest(w.To, to))
		s.rect("c-win", x0, changeTop, x1-x0, bottom-changeTop)
		lab := "window"
		if w.From.Before(from) {
			lab += " since " + axisTime(w.From, c.Day)
		}
		s.text("c-region", x0+4, changeTop-7, "start", lab)
		if x0-left >= 60 {
			s.text("c-region", left+4, changeTop-7, "start", "before")
		}
		if w.From.After(from) {
			s.line("c-tick", x0, bottom, x0, bottom+4)
		}
	}

	// The change's line first, so the labels of the rows above sit on it.
	for _, e := range evs {
		if e.Change {
			x := ts.x(e.T)
			s.b.WriteString(`<g class="` + e.Class + `">`)
			s.line("c-change", x, changeTop, x, bottom)
			s.b.WriteString(`</g>`)
		}
	}
	for i, e := range evs {
		y := changeTop + float64(i)*changeRow + changeRow/2 + 3
		x := ts.x(e.T)
		s.b.WriteString(`<g class="` + e.Class + `">`)
		s.line("c-row", left, y, right, y)
		lab := e.Label
		if runeLen(lab) > maxEventLabel {
			lab = string([]rune(lab)[:maxEventLabel-1]) + "…"
		}
		if e.Change {
			const r = 6.0
			s.b.WriteString(`<path class="c-mark" d="M` + coord(x) + "," + coord(y-r) + "L" + coord(x+r) + "," + coord(y) +
				"L" + coord(x) + "," + coord(y+r) + "L" + coord(x-r) + "," + coord(y) + `Z"/>`)
		} else {
			s.b.WriteString(`<circle class="c-mark" cx="` + coord(x) + `" cy="` + coord(y) + `" r="4.5"/>`)
		}
		class := "c-note"
		if e.Change {
			class = "c-note c-change-lab"
		}
		if x+10+labelWidth(lab) <= right {
			s.text(class, x+10, y+4, "start", lab)
		} else {
			s.text(class, x-10, y+4, "end", lab)
		}
		s.b.WriteString(`</g>`)
	}

	start, end := axisTime(ts.from, c.Day), axisTime(ts.to, c.Day)+" UTC"
	s.text("c-xlab", left, bottom+changeTimeY, "start", start)
	s.text("c-xlab", right, bottom+changeTimeY, "end", end)
	return s.close()
}

// barGroup is a set of bars under one caption: a log template's baseline
// and window rates, or a finding's baseline and observed values.
type barGroup struct {
	Caption string
	Bars    []bar
}

type bar struct {
	Label string // "baseline", "window"
	Value float64
	Text  string // the value as shown, e.g. "15.9/min (476 lines)"
	Hot   bool   // the window's bar, drawn in the link's colour
}

// barChart compares values as horizontal bars from zero; a value that is
// not finite or below zero gets no bar, only its text.
type barChart struct {
	Label  string
	Groups []barGroup
}

const (
	barRow     = 22.0
	barHeight  = 14.0
	barCaption = 18.0
	barGutter  = 70.0
	barTextW   = 150.0 // room right of the longest bar for its value
)

func (c barChart) svg() string {
	h := 8.0
	for _, g := range c.Groups {
		if g.Caption != "" {
			h += barCaption
		}
		h += float64(len(g.Bars))*barRow + 6
	}
	if len(c.Groups) == 0 {
		h = 60
	}
	var s svgBuilder
	s.open("chart-bars", h, c.Label)
	if len(c.Groups) == 0 {
		s.text("c-empty", chartW/2, 34, "middle", "nothing to compare")
		return s.close()
	}
	top := 0.0
	for _, g := range c.Groups {
		for _, b := range g.Bars {
			if finite(b.Value) {
				top = max(top, b.Value)
			}
		}
	}
	left, full := barGutter, chartW-chartPadRight-barTextW-barGutter
	xs := linear{d0: 0, d1: top, r0: left, r1: left + full}
	y := 8.0
	for _, g := range c.Groups {
		if g.Caption != "" {
			s.text("c-region", 4, y+11, "start", g.Caption)
			y += barCaption
		}
		for _, b := range g.Bars {
			s.text("c-ylab", left-6, y+barHeight-3, "end", b.Label)
			end := left
			if finite(b.Value) && b.Value > 0 && top > 0 {
				end = max(xs.at(b.Value), left+1.5)
			}
			class := "c-bar"
			if b.Hot {
				class = "c-bar c-bar-hot"
			}
			s.rect(class, left, y, end-left, barHeight)
			s.text("c-note", end+6, y+barHeight-3, "start", b.Text)
			y += barRow
		}
		y += 6
	}
	s.line("c-axis", left, 4, left, y-6)
	return s.close()
}
