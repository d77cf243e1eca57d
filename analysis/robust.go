package analysis

import (
	"math"
	"slices"
)

// baselineStats are the robust location and scale of a series' baseline.
type baselineStats struct {
	median float64
	scale  float64
}

// fitBaseline fits median and a robust scale (the larger of MAD and IQR,
// both normalised to a standard deviation) on the baseline values, as BARO's
// RobustScaler does; unlike a plain standard deviation it is not inflated by
// the odd spike in the baseline. The scale never drops below a floor, so a
// flat baseline (a 5xx ratio that is always 0) still yields finite scores.
func fitBaseline(values []float64) baselineStats {
	v := slices.Clone(values)
	slices.Sort(v)
	return fitSorted(v)
}

// fitSorted is fitBaseline on values already sorted.
func fitSorted(v []float64) baselineStats { return fitSortedBelow(v, 0) }

// fitSortedBelow is fitSorted for a ratio that cannot exceed ceiling
// (an availability, 1 or 100 %), when ceiling is above zero: its floor is
// measured on what is left to lose, not on its level (see scaleFloor).
func fitSortedBelow(v []float64, ceiling float64) baselineStats {
	med := quantileSorted(v, 0.5)
	iqr := quantileSorted(v, 0.75) - quantileSorted(v, 0.25)
	mad := madSorted(v, med)
	scale := math.Max(1.4826*mad, iqr/1.349)
	floor := scaleFloor(v, baseLevel(med, ceiling), math.Max(1e-9, ceilingResolution*ceiling))
	return baselineStats{median: med, scale: math.Max(scale, floor)}
}

// baseLevel is what a baseline's spread is measured against: its median, or,
// for a ratio bounded by ceiling (above zero), what it can still lose.
func baseLevel(med, ceiling float64) float64 {
	if ceiling > 0 {
		return ceiling - med
	}
	return med
}

// ceilingResolution is the smallest change of a ratio at its ceiling worth
// one deviation, as a fraction of the ceiling: a tenth of a percent of
// requests failing. Availability is judged in nines (99.9 % is the
// coarsest objective in common use), so a service that never failed in its
// baseline and now fails 2 % of requests is 20 deviations off, as its
// error ratio is off a flat zero; against a percent of its level, as any
// other series, it was 2, inside the noise.
const ceilingResolution = 0.001

// madSorted is the median absolute deviation from med of the sorted values
// v: quantileSorted(0.5) of the sorted |x - med|. Those deviations are two
// sorted runs (below med, read backwards, and above it), so each order
// statistic of them is found by binary search, without sorting them.
func madSorted(v []float64, med float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	pos := 0.5 * float64(n-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	frac := pos - float64(lo)
	k, _ := slices.BinarySearch(v, med) // v[:k] < med <= v[k:]
	d := deviations{v: v, med: med, k: k}
	atLo := d.nth(lo)
	atHi := atLo
	if hi != lo {
		atHi = d.nth(hi)
	}
	return atLo*(1-frac) + atHi*frac
}

// deviations are the |x - med| of sorted values v, v[:k] < med <= v[k:]:
// the runs below(j), j < k, and above(j), j < len(v)-k, each ascending.
type deviations struct {
	v   []float64
	med float64
	k   int
}

func (d deviations) below(j int) float64 { return math.Abs(d.v[d.k-1-j] - d.med) }
func (d deviations) above(j int) float64 { return math.Abs(d.v[d.k+j] - d.med) }

// nth is the deviation at index i of all of them in ascending order: the
// larger of the last taken from each run, when i+1 are taken, as few from
// below as keep the other run's last no larger than below's next.
func (d deviations) nth(i int) float64 {
	nb, na := d.k, len(d.v)-d.k
	m := i + 1
	x, hi := max(0, m-na), min(m, nb)
	for x < hi { // the fewest x for which done(x)
		mid := int(uint(x+hi) >> 1)
		if y := m - mid; y == 0 || mid == nb || d.above(y-1) <= d.below(mid) {
			hi = mid
		} else {
			x = mid + 1
		}
	}
	y := m - x
	switch {
	case x == 0:
		return d.above(y - 1)
	case y == 0:
		return d.below(x - 1)
	}
	return math.Max(d.below(x-1), d.above(y-1))
}

// scaleFloor is the smallest deviation worth measuring: the larger of the
// data's own resolution (the smallest gap between distinct baseline
// values) and a percent of the level, and never below least.
func scaleFloor(sorted []float64, level, least float64) float64 {
	gap := math.Inf(1)
	for i := 1; i < len(sorted); i++ {
		if d := sorted[i] - sorted[i-1]; d > 0 && d < gap {
			gap = d
		}
	}
	floor := 0.01 * math.Abs(level)
	if !math.IsInf(gap, 1) {
		floor = math.Max(floor, gap)
	}
	return math.Max(floor, least)
}

// quantileSorted is the linearly interpolated quantile of sorted values.
func quantileSorted(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	pos := q * float64(n-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return sorted[lo]*(1-frac) + sorted[hi]*frac
}

func median(values []float64) float64 {
	v := slices.Clone(values)
	slices.Sort(v)
	return quantileSorted(v, 0.5)
}

// scratch is the reusable space of one scoring worker: scoring a series
// needs a few float slices of its length, and reusing them keeps a case of
// many series from allocating them series by series.
type scratch struct {
	base, win    []float64 // a series' values, in time order
	vals, z, run []float64
	keys         []uint64
}

// grow returns buf resized to n, reallocated only when too small.
func grow(buf *[]float64, n int) []float64 {
	if cap(*buf) < n {
		*buf = make([]float64, n, n+n/4)
	}
	*buf = (*buf)[:n]
	return *buf
}

// sortFloats sorts finite values ascending, as slices.Sort does: an LSD
// radix sort on the top half of their bits when there are enough of them,
// then an insertion sort, which has only keys sharing that half to move
// (slices.Sort finishes when they are many). A baseline of hundreds of
// samples sorts several times faster, and the scores do not change, for a
// sorted slice of numbers is one and the same whichever way it was sorted.
// The one exception is zero's sign: slices.Sort leaves -0 and +0 in an
// order of its own, so a slice holding -0 goes to it.
func sortFloats(v []float64, buf *[]uint64) {
	const minRadix = 64
	n := len(v)
	if n < minRadix {
		slices.Sort(v)
		return
	}
	if cap(*buf) < 2*n {
		*buf = make([]uint64, 2*n, 2*n+n/2)
	}
	a, b := (*buf)[:n], (*buf)[n:2*n]
	var hist [4][256]uint32 // of bytes 4 to 7
	for i, f := range v {
		k := math.Float64bits(f)
		if k == 1<<63 || f != f {
			slices.Sort(v) // -0 (or NaN, which scoring never sees)
			return
		}
		if k>>63 == 1 {
			k = ^k // negative: larger magnitude sorts first
		} else {
			k |= 1 << 63
		}
		a[i] = k
		hist[0][byte(k>>32)]++
		hist[1][byte(k>>40)]++
		hist[2][byte(k>>48)]++
		hist[3][byte(k>>56)]++
	}
	for p := range 4 {
		shift := 32 + 8*p
		h := &hist[p]
		if int(h[byte(a[0]>>shift)]) == n {
			continue // every key has this byte: the pass would move nothing
		}
		var sum uint32
		for i, c := range h {
			h[i] = sum
			sum += c
		}
		for _, k := range a {
			d := byte(k >> shift)
			b[h[d]] = k
			h[d]++
		}
		a, b = b, a
	}
	if !insertionSort(a, 4*n) {
		slices.Sort(a)
	}
	for i, k := range a {
		if k>>63 == 1 {
			k &^= 1 << 63
		} else {
			k = ^k
		}
		v[i] = math.Float64frombits(k)
	}
}

// insertionSort sorts a, unless that takes more than budget moves: it
// then stops, a still a permutation of its keys, and says so.
func insertionSort(a []uint64, budget int) bool {
	for i := 1; i < len(a); i++ {
		k := a[i]
		j := i
		for ; j > 0 && a[j-1] > k; j-- {
			a[j] = a[j-1]
		}
		a[j] = k
		if budget -= i - j; budget < 0 {
			return false
		}
	}
	return true
}
