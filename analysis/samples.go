package analysis

import (
	"math"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// samples is one side (baseline or window) of a prepared series: slices of
// its time and value columns (ts in Unix nanoseconds). A counter's rate is
// not copied out: when rate is set, sample i is the per-second rate from
// sample i to sample i+1 of the columns, at i+1's time, worked out when
// read. prepare sets rate only where that is what rateOf would give:
// finite samples, strictly rising times.
type samples struct {
	ts   []int64
	vs   []float64
	rate bool
}

// samplesOf is the samples of a series' columns, as they are.
func samplesOf(s telemetry.Series) samples { return samples{ts: s.Times, vs: s.Values} }

func (s samples) len() int {
	if s.rate {
		return max(len(s.ts)-1, 0)
	}
	return len(s.ts)
}

// times are the samples' times in Unix nanoseconds.
func (s samples) times() []int64 {
	if s.rate && len(s.ts) > 0 {
		return s.ts[1:]
	}
	return s.ts
}

// t is the time of sample i.
func (s samples) t(i int) time.Time { return telemetry.TimeOf(s.times()[i]) }

func (s samples) v(i int) float64 {
	if s.rate {
		return rateAt(s.ts[i], s.ts[i+1], s.vs[i], s.vs[i+1])
	}
	return s.vs[i]
}

// values is the samples' values: the value column itself, or the rates
// written into buf (resized to len).
func (s samples) values(buf *[]float64) []float64 {
	if !s.rate {
		return s.vs
	}
	out := grow(buf, s.len())
	for i := range out {
		out[i] = rateAt(s.ts[i], s.ts[i+1], s.vs[i], s.vs[i+1])
	}
	return out
}

// rateAt is the rate rateOf gives at time b, b's predecessor being at a:
// rateOf's arithmetic, step for step.
func rateAt(a, b int64, va, vb float64) float64 {
	return increase(va, vb) / interval(a, b).Seconds()
}

// maxRateInput bounds the counter values rated in place: below it, no
// difference of two, over at least a nanosecond, overflows a float64.
const maxRateInput = 1e290

// ratesInPlace reports whether rateOf is, sample for sample, the rate from
// each sample to the next at the next one's time: every value finite and
// below maxRateInput, every interval positive, and so every rate finite.
func ratesInPlace(ts []int64, vs []float64) bool {
	for i, v := range vs {
		if !(math.Abs(v) < maxRateInput) {
			return false
		}
		if i > 0 && interval(ts[i-1], ts[i]) <= 0 {
			return false
		}
	}
	return true
}

// every is every n-th of the samples (the first, the n+1-th, ...), as a
// copy: counts over a minute read at a finer step, one a minute.
func (s samples) every(n int) samples {
	var out samples
	times := s.times()
	for i := 0; i < s.len(); i += n {
		out.ts = append(out.ts, times[i])
		out.vs = append(out.vs, s.v(i))
	}
	return out
}

// interval is the time from a to b (Unix nanoseconds), as time.Time's Sub
// gives it: saturated where the difference overflows.
func interval(a, b int64) time.Duration {
	d := b - a
	if (d < 0) != (b < a) { // overflowed
		if b < a {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return time.Duration(d)
}
