package analysis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// onsetWeightLinear is onsetWeight as it was before issue 17 #8: a scan of
// every onset, kept as the reference the binary search must agree with.
func onsetWeightLinear(onset time.Time, sorted []time.Time, tol time.Duration) float64 {
	if len(sorted) < 2 {
		return 1
	}
	earlier := 0
	for _, o := range sorted {
		if before(o, onset, tol) {
			earlier++
		}
	}
	return 1.3 - 0.3*float64(earlier)/float64(len(sorted)-1)
}

// Issue 17 #8: onsetWeight gives the same weights as the linear scan, for
// onsets with ties, onsets exactly tol apart, and onsets not in the list.
func TestOnsetWeightMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 8))
	for trial := range 500 {
		n := rng.IntN(40)
		onsets := make([]time.Time, n)
		for i := range onsets {
			onsets[i] = t0.Add(time.Duration(rng.IntN(20)) * 30 * time.Second)
		}
		slices.SortFunc(onsets, func(a, b time.Time) int { return a.Compare(b) })
		tol := time.Duration(rng.IntN(4)) * 30 * time.Second
		probes := append(slices.Clone(onsets), t0.Add(-time.Hour), t0.Add(time.Hour), t0.Add(95*time.Second))
		for _, o := range probes {
			if got, want := onsetWeight(o, onsets, tol), onsetWeightLinear(o, onsets, tol); got != want {
				t.Fatalf("trial %d: onsetWeight(%v, %d onsets, tol %v) = %v, the linear scan gives %v", trial, o, n, tol, got, want)
			}
		}
	}
}

// Issue 17 #8: ranking many services takes O(n log n). 50,000 anomalous
// services took seconds with the quadratic scan (2.5e9 comparisons); this
// allows two seconds on a slow, shared machine for what takes about 0.1 s.
func TestRankServicesScales(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	states := map[string]*serviceState{}
	for i := range 50_000 {
		name := fmt.Sprintf("svc-%06d", i)
		states[name] = &serviceState{
			name: name, series: 1, peak: 5,
			anomalous: []Finding{{Service: name, Score: 5, Onset: t0.Add(time.Duration(i%600) * time.Second)}},
			onset:     t0.Add(time.Duration(i%600) * time.Second),
		}
	}
	start := time.Now()
	out := rankServices(states, graph{}, nil, DefaultLookback, time.Minute)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ranking 50,000 anomalous services took %v, want well under two seconds", d)
	}
	if len(out) != len(states) {
		t.Errorf("ranked %d services, want %d", len(out), len(states))
	}
}
