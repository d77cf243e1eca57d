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

// TestCandidateNamesAKnownSignal: a candidate is named by its deepest
// anomaly, and in that layer by a catalog signal before a metric whose
// layer was guessed from its name, however much further that one moved
// (stress tools fork processes; the CPU or memory they burn is the story).
func TestCandidateNamesAKnownSignal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(f *fixture)
		want  string
	}{
		{"a guessed resource and a known one", func(f *fixture) {
			f.add("container_processes", svc("api"), stepAt(10, 1, 6), 0.01)
			f.add("container_memory_working_set_bytes", svc("api"), stepAt(10, 1e8, 1.6e8), 2e6)
		}, "container_memory_working_set_bytes"},
		{"only guessed resources: the strongest", func(f *fixture) {
			f.add("container_processes", svc("api"), stepAt(10, 1, 6), 0.01)
			f.add("container_memory_cache", svc("api"), stepAt(10, 1e8, 1.6e8), 2e6)
		}, "container_processes"},
		{"a guessed resource below a known symptom: the deeper layer", func(f *fixture) {
			f.add("container_processes", svc("api"), stepAt(10, 1, 6), 0.01)
			f.add("http_request_duration_seconds", svc("api"), stepAt(10, 0.1, 0.9), 0.005)
		}, "container_processes"},
	} {
		f := newFixture(5)
		f.add("container_memory_working_set_bytes", svc("web"), stepAt(0, 2e8, 2e8), 2e6)
		// web calls api and suffers after it: the chain runs web -> api.
		f.edge("web", "api").add("http_request_duration_seconds", svc("web"), stepAt(12, 0.2, 1.2), 0.01)
		tc.build(f)
		res := Analyze(f.b, defaultCatalog(), Options{})
		if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "api" {
			t.Errorf("%s: root causes %+v, want api first", tc.name, res.RootCauses)
			continue
		}
		if got := res.RootCauses[0].Metric; got != tc.want {
			t.Errorf("%s: named by %s, want %s", tc.name, got, tc.want)
		}
		// The chain ends at the same finding.
		if n := len(res.Chain); n == 0 || res.Chain[n-1].Service != "api" || res.Chain[n-1].Metric != tc.want {
			t.Errorf("%s: chain %+v, want it to end at api's %s", tc.name, res.Chain, tc.want)
		}
	}
}
