package main

import (
	"math"
	"slices"
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

func TestSampleStep(t *testing.T) {
	at := func(s ...int64) []int64 {
		out := make([]int64, len(s))
		for i, v := range s {
			out[i] = v * int64(time.Second)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		series []telemetry.Series
		want   time.Duration
	}{
		{"none", nil, 0},
		{"one sample", []telemetry.Series{{Times: at(0)}}, 0},
		{"median", []telemetry.Series{{Times: at(0, 15)}, {Times: at(0, 30, 60)}, {Times: at(0, 30)}}, 30 * time.Second},
	} {
		if got := sampleStep(telemetry.Bundle{Series: tc.series}); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestChooseLambda: the largest λ whose left-out log loss is within 1 % of
// the best.
func TestChooseLambda(t *testing.T) {
	// One feature; two datasets. The model's probability is set by λ
	// through a fake fit, so each λ's loss is known.
	var rows []row
	for ds := range 2 {
		rows = append(rows, row{ds: ds, rank: 1, x: []float64{1}, y: 1, shrink: 1}, row{ds: ds, rank: 1, x: []float64{1}, y: 0, shrink: 1})
	}
	// p = 0.5 is the best for one right and one wrong; λ moves it away.
	pOf := map[float64]float64{0.01: 0.6, 0.03: 0.55, 0.1: 0.5, 0.3: 0.505, 1: 0.52, 3: 0.7}
	fit := func(_ int, l float64) analysis.ConfidenceModel {
		p := pOf[l]
		return analysis.ConfidenceModel{math.Log(p / (1 - p)), 0}
	}
	if got := chooseLambda(rows, []string{"a", "b"}, fit); got != 1 {
		t.Errorf("chose %g, want 1 (0.52 costs under 1 %% more than 0.5; 0.7 more)", got)
	}
}
