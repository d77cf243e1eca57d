package analysis

import "github.com/rca-tool/rca/telemetry"

// carriedWeight is how much an anomaly already under way when the window
// began counts, against one that starts in it, when services are ranked:
// when it started is not in the data (often the tail of an earlier event,
// a rate()'s range still holding a burst that ended), so it is weak
// evidence for what starts in the window.
const carriedWeight = 1.0 / 3

// carriedOver reports whether an anomalous series was already abnormal at
// the window's first sample while the data has nothing right before it
// (the baseline ends more than two steps earlier, or lies after the
// window): it began before the window, at a time the data does not show.
// A baseline that ends where the window begins shows the rise, and then
// the onset is known.
func (s scoredSignal) carriedOver() bool {
	win, base := s.win.times(), s.base.times()
	n := len(win)
	if !s.anomalous || n < 2 || telemetry.Nanos(s.onset) != win[0] {
		return false
	}
	step := interval(win[0], win[1])
	// The baseline sample right before the window, if the baseline lies
	// before it at all (a baseline from a later day shows nothing of the
	// window's start).
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] < win[0] {
			return interval(base[i], win[0]) > 2*step
		}
	}
	return true
}

// carried reports whether every one of a service's anomalies was carried
// over from before the window (false for a service with none).
func (s *serviceState) carried() bool {
	for _, f := range s.anomalous {
		if !f.CarriedOver {
			return false
		}
	}
	return len(s.anomalous) > 0
}
