package analysis

import (
	"math"
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
