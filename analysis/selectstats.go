package analysis

import (
	"math"
	"slices"
)

// minSelect is the fewest baseline values fitSelect handles; fewer are
// sorted, which is as quick.
const minSelect = 32

// fitSelect is fitBaseline without sorting, for the common baseline: the
// median, the quartiles and the MAD are order statistics, found by
// selection (the very values a sort would put at those places), and the
// scale floor (the smallest gap between distinct values, which does need
// the sort) is skipped when a bound on it shows it cannot matter: the gap
// from the median's value to its nearest distinct value is one of the
// gaps, so no smaller than the smallest, and if the scale clears the
// floor computed with it, it clears the real one too. v is scratch holding
// the values (reordered); dev is scratch of the same length. ok is false
// when fitSelect cannot tell (a -0 among the values, whose place slices.Sort
// leaves to itself; the floor that may matter; too few values): the caller
// sorts. lo and hi are the smallest and largest values.
func fitSelect(v, dev []float64) (st baselineStats, lo, hi float64, ok bool) {
	n := len(v)
	if n < minSelect {
		return baselineStats{}, 0, 0, false
	}
	lo, hi = v[0], v[0]
	for _, x := range v {
		if x == 0 && math.Signbit(x) || x != x {
			return baselineStats{}, 0, 0, false
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	q := func(p float64) (int, int, float64) {
		pos := p * float64(n-1)
		l := int(math.Floor(pos))
		return l, int(math.Ceil(pos)), pos - float64(l)
	}
	l2, h2, f2 := q(0.5)
	l1, h1, f1 := q(0.25)
	l3, h3, f3 := q(0.75)
	// a[:k] <= a[k] <= a[k+1:] after selectK(a, k); the next order
	// statistic is the smallest of what lies above.
	selectK(v, l2)
	m2, n2 := v[l2], next(v, l2, h2, n)
	selectK(v[:l2], l1)
	m1, n1 := v[l1], next(v, l1, h1, l2+1)
	selectK(v[l2+1:], l3-l2-1)
	m3, n3 := v[l3], next(v, l3, h3, n)
	med := m2*(1-f2) + n2*f2
	iqr := (m3*(1-f3) + n3*f3) - (m1*(1-f1) + n1*f1)

	gap := math.Inf(1)
	for i, x := range v {
		d := math.Abs(x - med)
		dev[i] = d
		if g := math.Abs(x - m2); g > 0 && g < gap {
			gap = g
		}
	}
	selectK(dev, l2)
	mad := dev[l2]*(1-f2) + next(dev, l2, h2, n)*f2
	scale := math.Max(1.4826*mad, iqr/1.349)
	bound := 0.01 * math.Abs(med)
	if !math.IsInf(gap, 1) {
		bound = math.Max(bound, gap)
	}
	bound = math.Max(bound, 1e-9)
	if !(scale >= bound) {
		return baselineStats{}, 0, 0, false
	}
	return baselineStats{median: med, scale: scale}, lo, hi, true
}

// next is the order statistic at h (k or k+1) of a selected at k, looking
// no further than end.
func next(a []float64, k, h, end int) float64 {
	if h == k {
		return a[k]
	}
	return slices.Min(a[k+1 : end])
}

// selectK reorders a so that a[k] is the value a sort would put there,
// nothing after it smaller and nothing before it larger (Hoare's
// selection, median-of-three pivots; sorted outright should it take too
// many rounds).
func selectK(a []float64, k int) {
	lo, hi := 0, len(a)-1
	for rounds := 0; lo < hi; rounds++ {
		if rounds > 64 {
			slices.Sort(a[lo : hi+1])
			return
		}
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return // j < k < i: a[k] equals the pivot, in place
		}
	}
}
