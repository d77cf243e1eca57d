package analysis

import (
	"math"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// samples is one side (baseline or window) of a prepared series. Mostly it
// is pts themselves. A counter's rate is not copied out as points (each
// holds a time.Time, a pointer the collector then scans): when rate is
// set, sample i is the per-second rate from pts[i] to pts[i+1], at
// pts[i+1]'s time, worked out when read. prepare sets rate only where that
// is what rateOf would give: finite samples, strictly rising times.
type samples struct {
	pts  []telemetry.Point
	rate bool
	wall bool // pts are wallClock (see rateAt)
}

func (s samples) len() int {
	if s.rate {
		return max(len(s.pts)-1, 0)
	}
	return len(s.pts)
}

// times are points at the samples' times; when rate is set their values
// are the counter's, not the samples': read those with v or values.
func (s samples) times() []telemetry.Point {
	if s.rate && len(s.pts) > 0 {
		return s.pts[1:]
	}
	return s.pts
}

func (s samples) t(i int) time.Time { return s.times()[i].T }

func (s samples) v(i int) float64 {
	if s.rate {
		return rateAt(s.pts[i], s.pts[i+1], s.wall)
	}
	return s.pts[i].V
}

// values writes the samples' values into buf (resized to len) and
// returns it.
func (s samples) values(buf *[]float64) []float64 {
	out := grow(buf, s.len())
	if !s.rate {
		for i, p := range s.pts {
			out[i] = p.V
		}
		return out
	}
	var last stamp
	if s.wall && len(s.pts) > 0 {
		last = stampOf(s.pts[0].T)
	}
	for i := range out {
		a, b := s.pts[i], s.pts[i+1]
		var st stamp
		if s.wall {
			st = stampOf(b.T)
		}
		out[i] = rateFrom(a, b, st, last, s.wall)
		last = st
	}
	return out
}

// rateAt is the rate rateOf gives at b, b's predecessor being a.
func rateAt(a, b telemetry.Point, wall bool) float64 {
	var sa, sb stamp
	if wall {
		sa, sb = stampOf(a.T), stampOf(b.T)
	}
	return rateFrom(a, b, sb, sa, wall)
}

// rateFrom is rateAt given the stamps of b and a (unset unless wall).
// It is rateOf's arithmetic, step for step.
func rateFrom(a, b telemetry.Point, sb, sa stamp, wall bool) float64 {
	gap, ok := sb.since(sa)
	if !wall || !ok {
		gap = b.T.Sub(a.T)
	}
	return increase(a.V, b.V) / gap.Seconds()
}

// maxRateInput bounds the counter values rated in place: below it, no
// difference of two, over at least a nanosecond, overflows a float64.
const maxRateInput = 1e290

// ratesInPlace reports whether rateOf(pts, wall) is, sample for sample,
// the rate from each point to the next at the next one's time: every value
// finite and below maxRateInput, every interval positive, and so every
// rate finite.
func ratesInPlace(pts []telemetry.Point, wall bool) bool {
	for i, p := range pts {
		if !(math.Abs(p.V) < maxRateInput) {
			return false
		}
		if i > 0 && sampleInterval(pts[i-1].T, p.T, wall) <= 0 {
			return false
		}
	}
	return true
}

// every is every n-th of the samples (the first, the n+1-th, ...), as a
// copy: counts over a minute read at a finer step, one a minute.
func (s samples) every(n int) samples {
	out := samples{wall: s.wall}
	for i := 0; i < s.len(); i += n {
		out.pts = append(out.pts, telemetry.Point{T: s.t(i), V: s.v(i)})
	}
	return out
}
