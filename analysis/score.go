package analysis

import (
	"math"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

const (
	// minDeviation is the robust deviation below which nothing counts as
	// abnormal, however quiet the baseline was.
	minDeviation = 3.0
	// anomalyRatio is how far past the baseline's own worst excursion the
	// window must go to be called anomalous.
	anomalyRatio = 1.5
	// maxDeviation caps deviations from flat baselines so one series
	// cannot drown all others.
	maxDeviation = 1000.0
)

// seriesScore is how one series behaves in the window against its baseline.
type seriesScore struct {
	stats baselineStats
	// peak is the largest directional deviation in the window, in robust
	// standard deviations.
	peak float64
	// noise is the largest directional deviation the baseline itself shows.
	noise float64
	// score is peak relative to noise: >= anomalyRatio is anomalous.
	score     float64
	onset     time.Time
	end       time.Time
	observed  float64
	anomalous bool
}

// directional turns a deviation into "how bad", given which way is bad.
func directional(z float64, d catalog.Direction) float64 {
	switch d {
	case catalog.Down:
		z = -z
	case catalog.Both:
		z = math.Abs(z)
	}
	return math.Min(z, maxDeviation)
}

// scoreSeries scores the window points against the baseline points. ok is
// false when either side has too little data to say anything.
func scoreSeries(base, win []telemetry.Point, dir catalog.Direction) (seriesScore, bool) {
	if len(base) < 3 || len(win) == 0 {
		return seriesScore{}, false
	}
	bv := make([]float64, len(base))
	for i, p := range base {
		bv[i] = p.V
	}
	st := fitBaseline(bv)
	var s seriesScore
	s.stats = st
	for _, v := range bv {
		s.noise = math.Max(s.noise, directional((v-st.median)/st.scale, dir))
	}
	z := make([]float64, len(win))
	peakAt := 0
	for i, p := range win {
		z[i] = directional((p.V-st.median)/st.scale, dir)
		if z[i] > z[peakAt] {
			peakAt = i
		}
	}
	s.peak = math.Max(sustainedPeak(z, peakAt), 0)
	threshold := math.Max(minDeviation, s.noise)
	s.score = s.peak / threshold
	if !finite(s.score) || !finite(st.median) {
		// Finite samples near the float64 limit overflow the baseline's
		// spread (+Inf - -Inf): nothing can be measured against it.
		return seriesScore{}, false
	}
	s.anomalous = s.score >= anomalyRatio

	// The onset is where the deviation rose past the anomaly threshold (or a
	// tenth of its peak, for a slow ramp) and stayed there up to the peak.
	start, end := excursion(z, peakAt, math.Max(threshold, 0.1*s.peak))
	s.onset = win[start].T
	s.end = win[end].T
	run := make([]float64, 0, end-start+1)
	for _, p := range win[start : end+1] {
		run = append(run, p.V)
	}
	s.observed = median(run)
	return s, true
}

// excursion finds the run of points around the peak that stay above level,
// bridging single-point dips, so the onset is where the deviation started
// and stayed rather than its first noisy blip.
func excursion(z []float64, peak int, level float64) (start, end int) {
	start, end = peak, peak
	for start > 0 {
		switch {
		case z[start-1] > level:
			start--
		case start > 1 && z[start-2] > level:
			start -= 2
		default:
			return start, extend(z, end, level)
		}
	}
	return start, extend(z, end, level)
}

func extend(z []float64, end int, level float64) int {
	for end+1 < len(z) && z[end+1] > level {
		end++
	}
	return end
}

// sustainedPeak is the peak deviation that lasted more than one sample: the
// second-highest point of the window, once the window has a few points. A
// lone sample off a flat baseline (one scrape of a counter that is otherwise
// always zero) is a blip, not a state the service is in.
func sustainedPeak(z []float64, peakAt int) float64 {
	if len(z) < 4 {
		return z[peakAt]
	}
	second := math.Inf(-1)
	for i, v := range z {
		if i != peakAt && v > second {
			second = v
		}
	}
	return second
}
