package report

import (
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// svgInfo is what a chart drew, read back from its markup.
type svgInfo struct {
	root    string            // the root element's class
	classes map[string]int    // elements by class
	texts   map[string]string // text by class (joined with "|")
	tags    map[string]int
}

func (s svgInfo) text(class string) string { return s.texts[class] }

// check wants as many elements of each class as counts says, and the
// texts of each class texts names.
func (s svgInfo) check(t *testing.T, counts map[string]int, texts map[string]string) {
	t.Helper()
	for class, n := range counts {
		if got := s.classes[class]; got != n {
			t.Errorf("%d elements of class %s, want %d", got, class, n)
		}
	}
	for class, want := range texts {
		if got := s.text(class); got != want {
			t.Errorf("%s texts = %q, want %q", class, got, want)
		}
	}
}

// parseSVG reads a chart back as XML, which also proves it is well formed,
// and checks that every coordinate is a finite number inside the viewBox.
func parseSVG(t *testing.T, out string) svgInfo {
	t.Helper()
	info := svgInfo{classes: map[string]int{}, texts: map[string]string{}, tags: map[string]int{}}
	dec := xml.NewDecoder(strings.NewReader(out))
	var w, h float64
	var textClass []string
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, out)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			info.tags[tok.Name.Local]++
			attrs := map[string]string{}
			for _, a := range tok.Attr {
				attrs[a.Name.Local] = a.Value
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					t.Errorf("event attribute %s in chart", a.Name.Local)
				}
			}
			if tok.Name.Local == "svg" && info.root == "" {
				info.root = attrs["class"]
				vb := strings.Fields(attrs["viewBox"])
				if len(vb) != 4 {
					t.Fatalf("viewBox %q", attrs["viewBox"])
				}
				w, _ = strconv.ParseFloat(vb[2], 64)
				h, _ = strconv.ParseFloat(vb[3], 64)
			}
			for _, c := range strings.Fields(attrs["class"]) {
				info.classes[c]++
			}
			for _, name := range []string{"x", "x1", "x2", "cx"} {
				checkCoord(t, tok.Name.Local, name, attrs, w)
			}
			for _, name := range []string{"y", "y1", "y2", "cy"} {
				checkCoord(t, tok.Name.Local, name, attrs, h)
			}
			for _, name := range []string{"width", "height", "r"} {
				if v, ok := attrs[name]; ok && tok.Name.Local != "svg" {
					f, err := strconv.ParseFloat(v, 64)
					if err != nil || f < 0 || !finite(f) {
						t.Errorf("<%s %s=%q>", tok.Name.Local, name, v)
					}
				}
			}
			if p, ok := attrs["points"]; ok {
				for _, xy := range strings.Fields(p) {
					x, y, _ := strings.Cut(xy, ",")
					checkNum(t, "points x", x, w)
					checkNum(t, "points y", y, h)
				}
			}
			if d, ok := attrs["d"]; ok {
				for _, f := range strings.FieldsFunc(d, func(r rune) bool { return strings.ContainsRune("MLZ,", r) }) {
					if _, err := strconv.ParseFloat(f, 64); err != nil {
						t.Errorf("path d %q: %v", d, err)
					}
				}
			}
			if tok.Name.Local == "text" {
				inText = true
				textClass = append(textClass[:0], strings.Fields(attrs["class"])...)
			}
		case xml.CharData:
			if inText {
				for _, c := range textClass {
					if info.texts[c] != "" {
						info.texts[c] += "|"
					}
					info.texts[c] += string(tok)
				}
			}
		case xml.EndElement:
			if tok.Name.Local == "text" {
				inText = false
			}
		}
	}
	// Coordinates were checked finite above; texts may say "n/a" or "+Inf".
	for _, bad := range []string{"-0,", `"-0"`} {
		if strings.Contains(out, bad) {
			t.Errorf("chart has %q:\n%s", bad, out)
		}
	}
	return info
}

func checkCoord(t *testing.T, tag, name string, attrs map[string]string, limit float64) {
	t.Helper()
	if v, ok := attrs[name]; ok {
		checkNum(t, "<"+tag+" "+name+">", v, limit)
	}
}

func checkNum(t *testing.T, what, v string, limit float64) {
	t.Helper()
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !finite(f) || f < -0.5 || f > limit+0.5 {
		t.Errorf("%s = %q, want a number in [0, %v]", what, v, limit)
	}
}

// series is n points a minute apart from 12:50, the demo's baseline start.
func series(n int, v func(i int) float64) []telemetry.Point {
	start := time.Date(2026, 11, 24, 12, 50, 0, 0, time.UTC)
	pts := make([]telemetry.Point, n)
	for i := range pts {
		pts[i] = telemetry.Point{T: start.Add(time.Duration(i) * time.Minute), V: v(i)}
	}
	return pts
}

func demoChartWindow() telemetry.Window {
	return telemetry.Window{From: time.Date(2026, 11, 24, 13, 50, 0, 0, time.UTC), To: time.Date(2026, 11, 24, 14, 20, 0, 0, time.UTC)}
}

func TestSeriesChart(t *testing.T) {
	win := demoChartWindow()
	onset := time.Date(2026, 11, 24, 14, 4, 0, 0, time.UTC)
	step := func(i int) float64 {
		if i >= 74 {
			return 30
		}
		return 0.07
	}
	tests := []struct {
		name  string
		chart seriesChart
		// want counts elements by class (-1: at least one); texts must
		// appear among the labels of the class.
		want  map[string]int
		texts map[string]string
	}{
		{"incident", seriesChart{Points: series(90, step), Window: win, Onset: onset, Baseline: 0.07, Unit: "seconds", Day: "2026-11-24"},
			map[string]int{"c-win": 1, "c-line-base": 1, "c-line-win": 1, "c-area": 1, "c-baseline": 1, "c-onset": 1, "c-grid": 2, "c-dot": 0},
			map[string]string{"c-ylab": "30s|70ms", "c-xlab": "12:50|14:20 UTC|13:50", "c-onset-lab": "onset 14:04:00", "c-region": "window|baseline"}},
		{"flat", seriesChart{Points: series(90, func(int) float64 { return 5 }), Window: win, Onset: onset, Baseline: 5, Unit: "count"},
			map[string]int{"c-grid": 1, "c-ylab": 1, "c-line-base": 1, "c-line-win": 1, "c-baseline": 1},
			map[string]string{"c-ylab": "5"}},
		{"flat zero", seriesChart{Points: series(10, func(int) float64 { return 0 }), Baseline: 0},
			map[string]int{"c-grid": 1, "c-line-base": 1, "c-line-win": 0, "c-win": 0},
			map[string]string{"c-ylab": "0"}},
		{"NaN and Inf are skipped", seriesChart{Points: series(90, func(i int) float64 {
			switch i {
			case 20:
				return math.NaN()
			case 40:
				return math.Inf(1)
			case 80:
				return math.Inf(-1)
			}
			return float64(i)
		}), Window: win, Baseline: math.NaN()},
			// Runs 0-19, 21-39, 41-79 and 81-89: the window splits 41-79.
			map[string]int{"c-line-base": 3, "c-line-win": 2, "c-baseline": 0},
			map[string]string{"c-ylab": "89|0"}},
		{"single point", seriesChart{Points: series(1, func(int) float64 { return 2 }), Baseline: 1, Unit: "cores"},
			map[string]int{"c-dot": 1, "c-line-base": 1, "c-baseline": 1},
			map[string]string{"c-ylab": "2 cores|1 core"}},
		{"empty", seriesChart{Window: win, Onset: onset, Baseline: 1},
			map[string]int{"c-empty": 1, "c-line-base": 0, "c-line-win": 0, "c-baseline": 0, "c-onset": 0},
			map[string]string{"c-empty": "no samples to plot"}},
		{"only NaN", seriesChart{Points: series(5, func(int) float64 { return math.NaN() }), Baseline: math.NaN()},
			map[string]int{"c-empty": 1, "c-line-base": 0},
			nil},
		{"huge values", seriesChart{Points: series(90, func(i int) float64 {
			if i%2 == 0 {
				return math.MaxFloat64
			}
			return -math.MaxFloat64
		}), Window: win, Baseline: 1e300},
			map[string]int{"c-grid": 2, "c-line-base": 1, "c-line-win": 1, "c-baseline": 1},
			map[string]string{"c-ylab": "1.8e+308|-1.8e+308", "c-note": "baseline 1e+300"}},
		{"window after the series", seriesChart{Points: series(60, func(i int) float64 { return float64(i) }),
			Window: telemetry.Window{From: win.From.Add(24 * time.Hour), To: win.To.Add(24 * time.Hour)}, Onset: onset.Add(24 * time.Hour), Baseline: 3},
			map[string]int{"c-win": 0, "c-line-base": 1, "c-line-win": 0, "c-onset": 0},
			map[string]string{"c-xlab": "12:50|13:49 UTC"}},
		{"window past the series end", seriesChart{Points: series(70, func(i int) float64 { return float64(i) }), Window: win, Baseline: 3},
			map[string]int{"c-win": 1, "c-line-base": 1, "c-line-win": 1},
			map[string]string{"c-xlab": "12:50|14:20 UTC|13:50"}},
		{"other day", seriesChart{Points: series(10, func(i int) float64 { return float64(i) }), Baseline: 3, Day: "2026-11-25"},
			nil,
			map[string]string{"c-xlab": "11-24 12:50|11-24 12:59 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.chart.Label = "gateway: p99 latency"
			out := tt.chart.svg()
			info := parseSVG(t, out)
			if info.root != "chart chart-series" {
				t.Errorf("root class %q", info.root)
			}
			info.check(t, tt.want, tt.texts)
			if again := tt.chart.svg(); again != out {
				t.Error("the same chart gave different bytes")
			}
		})
	}
}

// TestSeriesChartFlatSitsOnBaseline: a flat series equal to its baseline
// draws its line exactly on the dashed baseline.
func TestSeriesChartFlatSitsOnBaseline(t *testing.T) {
	out := seriesChart{Points: series(5, func(int) float64 { return 5 }), Baseline: 5}.svg()
	i := strings.Index(out, `class="c-baseline"`)
	if i < 0 {
		t.Fatal("no baseline")
	}
	y1 := between(out[i:], `y1="`, `"`)
	pts := between(out, `points="`, `"`)
	for _, xy := range strings.Fields(pts) {
		if _, y, _ := strings.Cut(xy, ","); y != y1 {
			t.Errorf("point %s is off the baseline at y=%s", xy, y1)
		}
	}
}

func between(s, a, b string) string {
	_, s, _ = strings.Cut(s, a)
	s, _, _ = strings.Cut(s, b)
	return s
}

func TestLinear(t *testing.T) {
	tests := []struct {
		l    linear
		v    float64
		want float64
	}{
		{linear{0, 10, 100, 0}, 5, 50},
		{linear{0, 10, 100, 0}, 0, 100},
		{linear{0, 10, 100, 0}, 10, 0},
		{linear{-math.MaxFloat64, math.MaxFloat64, 100, 0}, 0, 50},
		{linear{-math.MaxFloat64, math.MaxFloat64, 100, 0}, math.MaxFloat64, 0},
		{linear{3, 3, 100, 0}, 3, 50},
	}
	for _, tt := range tests {
		if got := tt.l.at(tt.v); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%+v.at(%v) = %v, want %v", tt.l, tt.v, got, tt.want)
		}
	}
}

func TestCoord(t *testing.T) {
	for in, want := range map[float64]string{0: "0", -0.04: "0", math.Copysign(0, -1): "0", 1.25: "1.3", 100: "100", -3.14159: "-3.1", math.NaN(): "0"} {
		if got := coord(in); got != want {
			t.Errorf("coord(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestThin(t *testing.T) {
	pts := series(10000, func(i int) float64 { return math.Sin(float64(i) / 50) })
	pts[5003].V = 99
	pts[7001].V = -99
	got := thin(pts)
	if len(got) > maxChartPoints {
		t.Fatalf("%d points, want at most %d", len(got), maxChartPoints)
	}
	var hi, lo bool
	for i, p := range got {
		hi = hi || p.V == 99
		lo = lo || p.V == -99
		if i > 0 && !p.T.After(got[i-1].T) {
			t.Fatalf("point %d does not move forward in time", i)
		}
	}
	if !hi || !lo {
		t.Error("thinning lost a spike")
	}
	if short := series(10, func(i int) float64 { return 1 }); len(thin(short)) != 10 {
		t.Error("a short series was thinned")
	}
}

func TestChangeChart(t *testing.T) {
	win := demoChartWindow()
	at := func(hms string) time.Time {
		tm, _ := time.Parse(time.DateTime, "2026-11-24 "+hms)
		return tm
	}
	tests := []struct {
		name   string
		events []timelineEvent
		want   map[string]int
		texts  map[string]string
	}{
		{"chain", []timelineEvent{
			{T: at("14:04:30"), Label: "p99 latency 14:04:30", Class: "l-symptom"},
			{T: at("14:03:00"), Label: "CPU throttling 14:03:00", Class: "l-resource"},
			{T: at("14:02:00"), Label: "deploy 14:02:00", Class: "l-change", Change: true},
		}, map[string]int{"c-change": 1, "c-mark": 3, "c-row": 3, "c-win": 1, "l-change": 2},
			map[string]string{"c-region": "window since 13:50", "c-change-lab": "deploy 14:02:00", "c-xlab": "14:01|14:05 UTC"}},
		{"change alone, before the window", []timelineEvent{{T: at("13:20:00"), Label: "deploy 13:20:00", Change: true}},
			map[string]int{"c-change": 1, "c-mark": 1, "c-win": 0},
			map[string]string{"c-xlab": "13:19|13:21 UTC"}},
		{"no time", []timelineEvent{{Label: "deploy", Change: true}},
			map[string]int{"c-empty": 1, "c-change": 0},
			map[string]string{"c-empty": "time of the change unknown"}},
		{"long label", []timelineEvent{{T: at("14:19:00"), Label: strings.Repeat("long signal name ", 10), Change: true}},
			map[string]int{"c-change": 1},
			map[string]string{"c-change-lab": strings.Repeat("long signal name ", 10)[:maxEventLabel-1] + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := parseSVG(t, changeChart{Label: "checkout: deploy", Window: win, Day: "2026-11-24", Events: tt.events}.svg())
			info.check(t, tt.want, tt.texts)
		})
	}
}

func TestBarChart(t *testing.T) {
	tests := []struct {
		name   string
		groups []barGroup
		bars   int
		notes  string
	}{
		{"pattern", []barGroup{{Bars: []bar{{Label: "baseline", Value: 0, Text: "0/min"}, {Label: "window", Value: 15.9, Text: "15.9/min", Hot: true}}}}, 2, "0/min|15.9/min"},
		{"non-finite and negative", []barGroup{{Caption: "x", Bars: []bar{{Label: "baseline", Value: math.NaN(), Text: "n/a"}, {Label: "observed", Value: -3, Text: "-3"}, {Label: "inf", Value: math.Inf(1), Text: "+Inf"}}}}, 3, "n/a|-3|+Inf"},
		{"nothing", nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := parseSVG(t, barChart{Label: "x", Groups: tt.groups}.svg())
			if info.classes["c-bar"] != tt.bars {
				t.Errorf("%d bars, want %d", info.classes["c-bar"], tt.bars)
			}
			if got := info.text("c-note"); got != tt.notes {
				t.Errorf("notes %q, want %q", got, tt.notes)
			}
		})
	}
}

// TestChartTextEscaped: labels, units and event names are data; in a chart
// they stay text.
func TestChartTextEscaped(t *testing.T) {
	const evil = `</text><script>alert(1)</script><text x="0" onload="alert(2)">&amp;`
	charts := map[string]string{
		"series": seriesChart{Label: evil, Points: series(10, func(i int) float64 { return float64(i) }), Baseline: 2, Unit: evil}.svg(),
		"change": changeChart{Label: evil, Events: []timelineEvent{{T: time.Unix(0, 0), Label: evil, Change: true}}}.svg(),
		"bars":   barChart{Label: evil, Groups: []barGroup{{Caption: evil, Bars: []bar{{Label: evil, Value: 1, Text: evil}}}}}.svg(),
		"spark":  sparkline(series(10, func(i int) float64 { return float64(i) }), telemetry.Window{}, evil),
	}
	for name, out := range charts {
		t.Run(name, func(t *testing.T) {
			info := parseSVG(t, out)
			if info.tags["script"] != 0 || strings.Contains(out, "<script") {
				t.Errorf("markup from data:\n%s", out)
			}
			// The text is still there, escaped.
			if !strings.Contains(out, "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("the label's text is gone:\n%s", out)
			}
		})
	}
}
