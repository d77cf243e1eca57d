package analysis

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

func points(start time.Time, values ...float64) []telemetry.Point {
	out := make([]telemetry.Point, len(values))
	for i, v := range values {
		out[i] = telemetry.Point{T: start.Add(time.Duration(i) * time.Minute), V: v}
	}
	return out
}

func TestScoreSeries(t *testing.T) {
	noisy := []float64{10, 11, 9, 10, 12, 8, 10, 11, 9, 10}
	spiky := []float64{1, 1, 30, 1, 1, 28, 1, 1, 32, 1, 1, 29}
	tests := []struct {
		name      string
		base, win []float64
		dir       catalog.Direction
		anomalous bool
		onset     int // index into win, -1 to skip
	}{
		{"step up", noisy, []float64{10, 11, 40, 41, 39, 40}, catalog.Up, true, 2},
		{"step up, direction down", noisy, []float64{10, 11, 40, 41, 39, 40}, catalog.Down, false, -1},
		{"drop, direction down", noisy, []float64{10, 10, 0, 0, 0, 0}, catalog.Down, true, 2},
		{"drop, direction both", noisy, []float64{10, 10, 0, 0, 0, 0}, catalog.Both, true, 2},
		{"within noise", noisy, []float64{10, 12, 8, 11, 9, 10}, catalog.Up, false, -1},
		{"flat zero baseline then errors", []float64{0, 0, 0, 0, 0, 0}, []float64{0, 0, 0.3, 0.35, 0.4}, catalog.Up, true, 2},
		{"flat baseline stays flat", []float64{5, 5, 5, 5, 5}, []float64{5, 5, 5}, catalog.Up, false, -1},
		{"spiky baseline, spike in window", spiky, []float64{1, 1, 31, 1, 1}, catalog.Up, false, -1},
		{"spiky baseline, sustained rise", spiky, []float64{1, 1, 200, 210, 190, 205}, catalog.Up, true, 2},
		{"ramp", noisy, []float64{10, 10, 14, 20, 30, 45, 60, 80}, catalog.Up, true, 3},
		{"single-sample dip is bridged", noisy, []float64{10, 40, 41, 10, 42, 43}, catalog.Up, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := points(t0.Add(-time.Hour), tc.base...)
			w := points(t0, tc.win...)
			s, ok := scoreSeries(samplesFrom(b), samplesFrom(w), tc.dir)
			if !ok {
				t.Fatal("not scored")
			}
			if s.anomalous != tc.anomalous {
				t.Fatalf("anomalous = %v (score %.2f, peak %.2f, noise %.2f), want %v", s.anomalous, s.score, s.peak, s.noise, tc.anomalous)
			}
			if math.IsNaN(s.score) || math.IsInf(s.score, 0) {
				t.Fatalf("score %v is not finite", s.score)
			}
			if tc.onset >= 0 && !s.onset.Equal(w[tc.onset].T) {
				t.Errorf("onset = %s, want %s", s.onset.Format("15:04"), w[tc.onset].T.Format("15:04"))
			}
		})
	}
}

func TestScoreSeriesTooLittleData(t *testing.T) {
	if _, ok := scoreSeries(samplesFrom(points(t0, 1, 2)), samplesFrom(points(t0, 5)), catalog.Up); ok {
		t.Error("two baseline points were scored")
	}
	if _, ok := scoreSeries(samplesFrom(points(t0, 1, 2, 3, 4)), samples{}, catalog.Up); ok {
		t.Error("an empty window was scored")
	}
}

func TestFitBaselineFloor(t *testing.T) {
	for _, vals := range [][]float64{{0, 0, 0}, {7, 7, 7, 7}, {1e12, 1e12, 1e12}} {
		st := fitBaseline(vals)
		if !(st.scale > 0) {
			t.Errorf("fitBaseline(%v).scale = %v, want > 0", vals, st.scale)
		}
	}
	// Resolution floor: integer counts cannot vary by less than one.
	if st := fitBaseline([]float64{3, 3, 3, 3, 4, 3, 3}); st.scale < 1 {
		t.Errorf("scale %v below the data's resolution of 1", st.scale)
	}
}

func TestCounterBecomesRate(t *testing.T) {
	f := newFixture(1)
	var pts []telemetry.Point
	total := 0.0
	for m := -60; m < 30; m++ {
		rate := 10.0
		if m >= 5 {
			rate = 100
		}
		total += rate * 60
		pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: total})
	}
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: "payments_errors_total", Labels: svc("payments")}.WithPoints(pts...))
	_, a := rateStep(t, f, 10, 100)
	if !a.Onset.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("onset %s, want 14:05", a.Onset.Format("15:04"))
	}
}

// An availability flat at 100 % all baseline that fails a few percent of
// requests for two samples is as abnormal as an error ratio off a flat zero;
// against a percent of its level, like any other series, it was noise.
func TestAvailabilityAtItsCeiling(t *testing.T) {
	flat := make([]float64, 288)
	for i := range flat {
		flat[i] = 100
	}
	flickers := slices.Clone(flat)
	for i := 0; i < len(flickers); i += 12 {
		flickers[i] = 97.5
	}
	at99 := scaled(flat, 0.99)
	tests := []struct {
		name      string
		base, win []float64
		dir       catalog.Direction
		ceiling   float64
		anomalous bool
	}{
		{"flat 100 %, two failing samples", flat, []float64{100, 100, 97.79, 99.25, 100}, catalog.Down, 100, true},
		{"flat 1.0 ratio, two failing samples", scaled(flat, 0.01), []float64{1, 1, 0.9779, 0.9925, 1}, catalog.Down, 1, true},
		{"no ceiling: a percent of the level", flat, []float64{100, 100, 97.79, 99.25, 100}, catalog.Down, 0, false},
		{"one failing sample is a blip", flat, []float64{100, 100, 97.79, 100, 100}, catalog.Down, 100, false},
		{"a baseline that flickers as low", flickers, []float64{100, 100, 97.79, 99.25, 100}, catalog.Down, 100, false},
		{"half a percent, twice, is news", flat, []float64{100, 100, 99.5, 99.5, 100}, catalog.Down, 100, true},
		{"a tenth of a percent is noise", flat, []float64{100, 100, 99.9, 99.9, 100}, catalog.Down, 100, false},
		{"a move either way is measured on the level", at99, []float64{99, 99, 99.5, 99.5, 99}, catalog.Both, 100, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := points(t0.Add(-24*time.Hour), tc.base...)
			w := points(t0, tc.win...)
			s, ok := scoreSeriesBuf(samplesFrom(b), samplesFrom(w), tc.dir, tc.ceiling, count{}, &scratch{})
			if !ok {
				t.Fatal("not scored")
			}
			if s.anomalous != tc.anomalous {
				t.Fatalf("anomalous = %v (score %.2f, peak %.2f, scale %g), want %v", s.anomalous, s.score, s.peak, s.stats.scale, tc.anomalous)
			}
		})
	}
}

func scaled(v []float64, k float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * k
	}
	return out
}

// Through the whole analysis: the catalog's availability, as percent and as
// a ratio that overshoots 1 a little (handled over started), is judged
// below its ceiling. A day at 100 % then two samples failing 2 % of
// requests is an anomaly of the service.
func TestAvailabilityCeilingInAnalysis(t *testing.T) {
	const step = 5 * time.Minute
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-24 * time.Hour), To: t0.Add(-step)},
		Window:   telemetry.Window{From: t0, To: t0.Add(25 * time.Minute)},
	}
	add := func(service string, base func(i int) float64, win ...float64) {
		var pts []telemetry.Point
		for i := range 288 {
			pts = append(pts, telemetry.Point{T: b.Baseline.From.Add(time.Duration(i) * step), V: base(i)})
		}
		for i, v := range win {
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(i) * step), V: v})
		}
		b.Series = append(b.Series, telemetry.Series{Metric: "availability_average", Labels: svc(service)}.WithPoints(pts...))
	}
	add("listing", func(int) float64 { return 100 }, 100, 100, 97.79, 99.25, 100)
	add("search", func(i int) float64 { return 1 + 1e-10*float64(i%2) }, 1, 1, 0.9779, 0.9925, 1)
	add("steady", func(int) float64 { return 100 }, 100, 100, 100, 100, 100)
	res := Analyze(b, defaultCatalog(), Options{})
	found := map[string]bool{}
	for _, a := range res.Anomalies {
		found[a.Service] = true
	}
	if !found["listing"] || !found["search"] || found["steady"] {
		t.Fatalf("anomalous services %v, want listing and search (each failed 2 %% of requests after a day at 100 %%), not steady", found)
	}
}

// A baseline of one sample is measured against a tenth of its level; an
// availability's level is what it can still lose, as for its floor: one
// sample at 100 % and then 2 % of requests failing twice is news, where a
// tenth of 100 % called it nothing.
func TestShortBaselineAvailability(t *testing.T) {
	base := samplesFrom(points(t0.Add(-5*time.Minute), 100))
	win := samplesFrom(points(t0, 100, 97.79, 99.25, 100))
	for _, tc := range []struct {
		ceiling   float64
		anomalous bool
	}{{100, true}, {0, false}} {
		s, ok := scoreShortBaseline(base, win, catalog.Down, tc.ceiling, count{}, &scratch{})
		if !ok || s.anomalous != tc.anomalous {
			t.Errorf("ceiling %v: scored %v, anomalous %v (score %.2f, scale %g), want %v", tc.ceiling, ok, s.anomalous, s.score, s.stats.scale, tc.anomalous)
		}
	}
}
