package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// sortFloats must give exactly what slices.Sort gives: the scores are
// computed from the sorted baseline.
func TestSortFloats(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := map[string]func(i int) float64{
		"cpu rates":        func(int) float64 { return 0.3 + 0.02*rng.NormFloat64() },
		"mixed signs":      func(int) float64 { return rng.NormFloat64() * 1e6 },
		"few distinct":     func(int) float64 { return float64(rng.IntN(4)) },
		"bytes":            func(int) float64 { return math.Round(2.5e8 + 1e6*rng.NormFloat64()) },
		"tiny and huge":    func(int) float64 { return math.Ldexp(rng.Float64()-0.5, rng.IntN(2000)-1000) },
		"constant":         func(int) float64 { return 42 },
		"with zero":        func(i int) float64 { return float64(i%3) - 1 },
		"with minus zero":  func(i int) float64 { return []float64{math.Copysign(0, -1), 0, 1, -1}[i%4] },
		"infinities":       func(i int) float64 { return []float64{math.Inf(1), math.Inf(-1), 3, -3, 0}[i%5] },
		"sorted":           func(i int) float64 { return float64(i) },
		"reverse":          func(i int) float64 { return -float64(i) },
		"subnormal values": func(i int) float64 { return math.SmallestNonzeroFloat64 * float64(i%7-3) },
		"top half shared":  func(int) float64 { return 1796570346.31 * (1 + 1e-9*rng.Float64()) },
		"some top shared":  func(i int) float64 { return float64(i%9) + 1e-9*rng.Float64() },
	}
	var buf []uint64
	for name, f := range gen {
		for _, n := range []int{0, 1, 5, 63, 64, 65, 540, 2000, 9000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = f(i)
			}
			want := slices.Clone(v)
			slices.Sort(want)
			sortFloats(v, &buf)
			for i := range v {
				if math.Float64bits(v[i]) != math.Float64bits(want[i]) {
					t.Fatalf("%s, n=%d: at %d got %v (bits %x), slices.Sort gives %v (bits %x)", name, n, i, v[i], math.Float64bits(v[i]), want[i], math.Float64bits(want[i]))
				}
			}
		}
	}
}

// fitSorted merges the deviations instead of sorting them: the same
// statistics as sorting both, on values of every shape.
func TestFitSortedMatchesTwoSorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	twoSorts := func(values []float64) baselineStats {
		v := slices.Clone(values)
		slices.Sort(v)
		med := quantileSorted(v, 0.5)
		iqr := quantileSorted(v, 0.75) - quantileSorted(v, 0.25)
		dev := make([]float64, len(v))
		for i, x := range v {
			dev[i] = math.Abs(x - med)
		}
		slices.Sort(dev)
		mad := quantileSorted(dev, 0.5)
		scale := math.Max(1.4826*mad, iqr/1.349)
		return baselineStats{median: med, scale: math.Max(scale, scaleFloor(v, med, 1e-9))}
	}
	for trial := range 2000 {
		n := 3 + rng.IntN(600)
		v := make([]float64, n)
		for i := range v {
			switch trial % 4 {
			case 0:
				v[i] = rng.NormFloat64()
			case 1:
				v[i] = float64(rng.IntN(5))
			case 2:
				v[i] = math.Exp(rng.NormFloat64() * 5)
			default:
				v[i] = 1e9 + float64(rng.IntN(3))*1e-7
			}
		}
		if got, want := fitBaseline(v), twoSorts(v); got != want {
			t.Fatalf("trial %d (n=%d): fitBaseline = %+v, two sorts give %+v", trial, n, got, want)
		}
	}
}

// interval is time.Time's Sub of the two sample times, saturation included.
func TestInterval(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 250).UTC()
	for _, tc := range []struct {
		name string
		a, b time.Time
	}{
		{"same", t0, t0},
		{"ten seconds", t0, t0.Add(10 * time.Second)},
		{"backwards", t0.Add(90 * time.Minute), t0},
		{"nanoseconds across a second", time.Unix(10, 999_999_999), time.Unix(11, 1)},
		{"the whole range", telemetry.MinTime, telemetry.MaxTime},
		{"the whole range backwards", telemetry.MaxTime, telemetry.MinTime},
	} {
		if got, want := interval(tc.a.UnixNano(), tc.b.UnixNano()), tc.b.Sub(tc.a); got != want {
			t.Errorf("%s: interval = %v, Sub = %v", tc.name, got, want)
		}
	}
}

// scoreSeries reads the baseline's worst excursion off the ends of the
// sorted baseline: the same as the largest over every value, in every
// direction, extreme values included.
func TestNoiseFromTheEnds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Unix(1_700_000_000, 0).UTC()
	for trial := range 600 {
		n := 3 + rng.IntN(300)
		base := make([]telemetry.Point, n)
		for i := range base {
			v := rng.NormFloat64()
			switch trial % 5 {
			case 1:
				v = float64(rng.IntN(3))
			case 2:
				v = math.MaxFloat64 * (rng.Float64()*2 - 1) // spreads that overflow
			case 3:
				v = math.Exp(rng.NormFloat64() * 8)
			}
			base[i] = telemetry.Point{T: t0.Add(time.Duration(i) * time.Minute), V: v}
		}
		win := []telemetry.Point{{T: t0.Add(time.Duration(n) * time.Minute), V: 5}}
		for _, dir := range []catalog.Direction{catalog.Up, catalog.Down, catalog.Both} {
			got, ok := scoreSeries(samplesFrom(base), samplesFrom(win), dir)
			vals := make([]float64, n)
			for i, p := range base {
				vals[i] = p.V
			}
			st := fitBaseline(vals)
			want := 0.0
			for _, v := range vals {
				want = math.Max(want, directional((v-st.median)/st.scale, dir))
			}
			if !ok {
				threshold := math.Max(minDeviation, want)
				if finite(compress(math.Max(directional((5-st.median)/st.scale, dir), 0)/threshold)) && finite(st.median) {
					t.Fatalf("trial %d %v: not scored, but the noise %v gives a finite score", trial, dir, want)
				}
				continue
			}
			if math.Float64bits(got.noise) != math.Float64bits(want) {
				t.Fatalf("trial %d %v: noise %v, the largest over all values %v", trial, dir, got.noise, want)
			}
		}
	}
}

// rateOf with its stamps is the plain rate with Sub, on samples with gaps,
// repeated and backward times, resets and NaNs.
func TestRateOfMatchesSub(t *testing.T) {
	plain := func(pts []telemetry.Point) []telemetry.Point {
		out := make([]telemetry.Point, 0, len(pts))
		prev := -1
		for i, p := range pts {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				continue
			}
			if prev < 0 {
				prev = i
				continue
			}
			last := pts[prev]
			dt := p.T.Sub(last.T).Seconds()
			if dt <= 0 {
				continue
			}
			prev = i
			d := p.V - last.V
			if d < 0 {
				if sameValue(p.V, last.V) {
					d = 0
				} else {
					d = p.V
				}
			}
			out = append(out, telemetry.Point{T: p.T, V: d / dt})
		}
		return out
	}
	rng := rand.New(rand.NewPCG(11, 12))
	t0 := time.Unix(1_700_000_000, 0).UTC()
	for trial := range 500 {
		n := rng.IntN(200)
		pts := make([]telemetry.Point, n)
		at, v := t0, 0.0
		for i := range pts {
			switch rng.IntN(20) {
			case 0:
				at = at.Add(-time.Duration(rng.IntN(30)) * time.Second) // backwards
			case 1: // the same time again
			case 2:
				at = at.Add(time.Duration(rng.IntN(1e9)) + 7*time.Second) // off the step
			default:
				at = at.Add(15 * time.Second)
			}
			v += rng.Float64() * 10
			if rng.IntN(40) == 0 {
				v = rng.Float64() // a reset
			}
			pts[i] = telemetry.Point{T: at, V: v}
			if rng.IntN(30) == 0 {
				pts[i].V = math.NaN()
			}
		}
		want := plain(pts)
		got := rateOf(samplesFrom(pts)).points()
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d rates, want %d", trial, len(got), len(want))
		}
		for i := range got {
			if !got[i].T.Equal(want[i].T) || math.Float64bits(got[i].V) != math.Float64bits(want[i].V) {
				t.Fatalf("trial %d: rate %d = %v, want %v", trial, i, got[i], want[i])
			}
		}
	}
}

// splitRates, where it applies, gives the samples split gives on rateOf's
// points, bit for bit: wall and monotonic times, resets, jitter, gaps.
func TestSplitRatesMatchesRateOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	t0 := time.Unix(1_700_000_000, 0).UTC()
	applied := 0
	for trial := range 2000 {
		n := rng.IntN(120)
		pts := make([]telemetry.Point, n)
		at, v := t0, 0.0
		if rng.IntN(4) == 0 {
			at = time.Now() // a monotonic reading
		}
		for i := range pts {
			switch rng.IntN(20 + 400*(trial%2)) { // every other trial in order
			case 0:
				at = at.Add(time.Duration(rng.IntN(1e9)) + 7*time.Second) // off the step
			case 1:
				at = at.Add(time.Duration(rng.IntN(3)) * time.Nanosecond) // tiny, or none
			case 2:
				at = at.Add(-time.Second) // backwards
			default:
				at = at.Add(15 * time.Second)
			}
			v += rng.Float64() * 10
			switch rng.IntN(40) {
			case 0:
				v = rng.Float64() // a reset
			case 1:
				v -= v * 1e-12 // jitter down
			case 2:
				if rng.IntN(20) == 0 {
					v = math.MaxFloat64 / 2 // too large to rate in place
				}
			}
			pts[i] = telemetry.Point{T: at, V: v}
		}
		first, last := t0, t0
		if n > 0 {
			first, last = pts[0].T, pts[n-1].T
		}
		cut := first.Add(time.Duration(rng.IntN(int(max(last.Sub(first), 1)))))
		baseline := telemetry.Window{From: first.Add(-time.Minute), To: cut}
		from := cut.Add(time.Duration(rng.IntN(3)-1) * time.Minute) // may overlap the baseline
		window := telemetry.Window{From: from, To: telemetry.Latest(from, last.Add(-time.Duration(rng.IntN(2))*time.Minute))}
		all := samplesFrom(pts)
		sorted := slices.IsSorted(all.ts)
		base, win, ok := splitRates(all, sorted, baseline, window)
		if !ok {
			continue
		}
		applied++
		wantBase, wantWin := split(rateOf(all), sorted, baseline, window)
		for _, c := range []struct {
			got  samples
			want []telemetry.Point
		}{{base, wantBase.points()}, {win, wantWin.points()}} {
			if c.got.len() != len(c.want) {
				t.Fatalf("trial %d: %d samples, want %d", trial, c.got.len(), len(c.want))
			}
			vals := c.got.values(new([]float64))
			for i, w := range c.want {
				if !c.got.t(i).Equal(w.T) || math.Float64bits(c.got.v(i)) != math.Float64bits(w.V) || math.Float64bits(vals[i]) != math.Float64bits(w.V) {
					t.Fatalf("trial %d: sample %d = %v %v (%v), want %v", trial, i, c.got.t(i), c.got.v(i), vals[i], w)
				}
			}
		}
	}
	if applied < 500 {
		t.Fatalf("splitRates applied in %d trials of 2000", applied)
	}
}

// The baseline sort of the 10,000-series case: 540 noisy values.
func BenchmarkSortFloats(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float64, 540)
	for i := range src {
		src[i] = 0.5 + 0.1*(rng.Float64()*2-1)
	}
	v := make([]float64, len(src))
	var buf []uint64
	for b.Loop() {
		copy(v, src)
		sortFloats(v, &buf)
	}
}
