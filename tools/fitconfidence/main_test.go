package main

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo/demotest"
	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/telemetry"
)

// TestCaseRows: a case is run as given and with its baseline cut, each
// length the analysis tells apart once, every row labelled as the case.
func TestCaseRows(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	c := dataset.Case{ID: "demo", Truth: dataset.Truth{Service: "checkout"}, Bundle: demotest.PiDigits(t)}
	rows := caseRows(0, c, cat)
	bf := slices.Index(analysis.ConfidenceFeatureNames, "baseline")
	given := -1.0
	seen := map[int]float64{}
	right := map[int]int{}
	for _, r := range rows {
		if r.y == 1 {
			right[r.cut]++
		}
		if r.rank == 1 {
			if _, dup := seen[r.cut]; dup {
				t.Errorf("cut %d: two top candidates", r.cut)
			}
			seen[r.cut] = r.x[bf]
			if r.cut == 0 {
				given = r.x[bf]
			}
		}
	}
	for cut := range seen {
		if right[cut] != 1 {
			t.Errorf("cut %d: %d candidates labelled the cause, want checkout alone", cut, right[cut])
		}
	}
	if given < 0 {
		t.Fatal("no row for the case as given")
	}
	// The demo's baseline holds 120 samples of 30 s: cut to 10, 15, 20,
	// 30, 50 and 100.
	if len(seen) != 7 {
		t.Errorf("%d baseline lengths, want 7 (as given and six cuts): %v", len(seen), seen)
	}
	vals := map[float64]bool{}
	for cut, v := range seen {
		if vals[v] {
			t.Errorf("baseline feature %.3f twice", v)
		}
		vals[v] = true
		if cut > 0 && !(v < given) {
			t.Errorf("cut %d: baseline feature %.3f, want below the given %.3f", cut, v, given)
		}
		if cut > 0 && math.Abs(v-baseline(cut)) > 0.2 {
			t.Errorf("cut %d: baseline feature %.3f, want about %.3f", cut, v, baseline(cut))
		}
	}
}

func baseline(n int) float64 { return math.Log(float64(max(n, 10)) / 10) }

func TestCutFrom(t *testing.T) {
	sec := func(v int64) int64 { return v * int64(time.Second) }
	every := func(step, until int64) []int64 {
		var out []int64
		for v := int64(0); v < until; v += step {
			out = append(out, sec(v))
		}
		return out
	}
	base := telemetry.Window{From: time.Unix(0, 0), To: time.Unix(100, 0)}
	for _, tc := range []struct {
		name   string
		series [][]int64
		k      int
		want   int64 // seconds; -1: no cut
	}{
		{"no series", nil, 5, -1},
		{"none has more than k", [][]int64{every(20, 200)}, 5, -1},
		{"one series: its k-th last", [][]int64{every(10, 200)}, 5, 50},
		{"median over those with more", [][]int64{every(10, 200), every(5, 200), every(2, 200), every(25, 200)}, 5, 75},
		{"an irregular first interval", [][]int64{append([]int64{0, sec(1)}, every(10, 200)[1:]...)}, 3, 70},
		{"samples before the baseline do not count", [][]int64{every(10, 200)}, 4, 60},
		{"only the baseline's own: five", [][]int64{every(10, 200)}, 5, -1},
	} {
		var ss []telemetry.Series
		for _, ts := range tc.series {
			ss = append(ss, telemetry.Series{Times: ts, Values: make([]float64, len(ts))})
		}
		b := base
		if strings.Contains(tc.name, "baseline") {
			b.From = time.Unix(50, 0) // the series begin 50 s before it
		}
		got, ok := cutFrom(telemetry.Bundle{Baseline: b, Series: ss}, tc.k)
		switch {
		case tc.want < 0 && ok:
			t.Errorf("%s: cut at %s, want none", tc.name, got)
		case tc.want >= 0 && (!ok || got.Unix() != tc.want):
			t.Errorf("%s: cut at %d (%v), want %d", tc.name, got.Unix(), ok, tc.want)
		}
	}
}

func TestTrains(t *testing.T) {
	for _, tc := range []struct {
		r    row
		want bool
	}{
		{row{rank: 1, cut: 10, shrink: 1}, true},
		{row{rank: 1, cut: 0, shrink: 1}, false},    // as given: scored, not fitted
		{row{rank: 1, cut: 10, shrink: 0.9}, false}, // shrunk: the shrink sets it
		{row{rank: 0, cut: 10, shrink: 1}, false},   // no candidate
	} {
		if got := trains(tc.r); got != tc.want {
			t.Errorf("trains(%+v) = %v, want %v", tc.r, got, tc.want)
		}
	}
}

// TestLogLosses: the cases as given, the top candidate's confidence with
// its shrink; no candidate is confidence 0.
func TestLogLosses(t *testing.T) {
	m := analysis.ConfidenceModel(make([]float64, len(analysis.ConfidenceFeatureNames)+1)) // p = 0.5
	x := make([]float64, len(analysis.ConfidenceFeatureNames))
	rows := []row{
		{ds: 0, rank: 1, x: x, y: 0, shrink: 0.1},
		{ds: 0, rank: 2, x: x, y: 1, shrink: 0.1},
		{ds: 0, rank: 1, x: x, y: 1, shrink: 1, cut: 10},
		{ds: 1, rank: 1, x: x, y: 1, shrink: 1},
		{ds: 0, rank: 0, y: 0, shrink: 1},
	}
	got := logLosses(rows, 0, m)
	want := []float64{-math.Log(0.95), -math.Log(1 - 1e-4)}
	if len(got) != len(want) {
		t.Fatalf("%d losses, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("loss %d = %.5f, want %.5f", i, got[i], want[i])
		}
	}
}

// TestChooseLambda: the largest λ whose left-out log loss is within one
// standard error of the best.
func TestChooseLambda(t *testing.T) {
	// Two datasets of ten right and ten wrong top candidates: p = 0.5 is
	// the best; a fake fit sets p by λ.
	var rows []row
	for ds := range 2 {
		for i := range 20 {
			rows = append(rows, row{ds: ds, rank: 1, x: []float64{1}, y: float64(i % 2), shrink: 1})
		}
	}
	pOf := map[float64]float64{0.01: 0.6, 0.03: 0.55, 0.1: 0.5, 0.3: 0.505, 1: 0.52, 3: 0.8}
	fit := func(_ int, l float64) analysis.ConfidenceModel {
		p := pOf[l]
		return analysis.ConfidenceModel{math.Log(p / (1 - p)), 0}
	}
	// 0.52 costs 0.0008 more than 0.5, its standard error 0.006; 0.8
	// costs 0.22 more, its standard error about 0.11.
	if got := chooseLambda(rows, []string{"a", "b"}, fit); got != 1 {
		t.Errorf("chose %g, want 1", got)
	}
}

// TestTrainingSet: the cut runs alone, at lengths half of each class
// reaches, each class weighted to its share of the dataset.
func TestTrainingSet(t *testing.T) {
	run := func(id string, free bool, cut, rank int) row {
		return row{ds: 0, caseID: id, faultFree: free, cut: cut, rank: rank, shrink: 1, x: []float64{0}}
	}
	rows := []row{
		run("a", false, 0, 1), // as given: never fitted
		run("a", false, 10, 1), run("a", false, 20, 1),
		run("b", false, 10, 1), run("b", false, 20, 1), run("b", false, 20, 2),
		run("d", true, 10, 1), run("d", true, 20, 1),
		run("e", true, 10, 0), // no candidate: reaches 10, not fitted
		run("f", true, 10, 1),
	}
	type got struct {
		id  string
		cut int
		w   float64
	}
	check := func(rows []row, want []got) {
		t.Helper()
		train, w := trainingSet(rows)
		var have []got
		for i, r := range train {
			have = append(have, got{r.caseID, r.cut, w[i]})
		}
		if !slices.Equal(have, want) {
			t.Errorf("training set %v, want %v", have, want)
		}
	}
	// At 20, one fault-free case of three: not a length to fit on.
	check(rows, []got{{"a", 10, 1}, {"b", 10, 1}, {"d", 10, 1}, {"f", 10, 1}})
	// Two of three reach 20: fitted, weighted 3/2 against the faults' 1.
	rows = append(rows, run("e", true, 20, 1))
	check(rows, []got{{"a", 10, 1}, {"a", 20, 1}, {"b", 10, 1}, {"b", 20, 1}, {"b", 20, 1}, {"d", 10, 1}, {"d", 20, 1.5}, {"f", 10, 1}, {"e", 20, 1.5}})
}
