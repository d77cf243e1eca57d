package eval

import (
	"math"
	"testing"
)

// TestTrustOf checks the specificity, Brier score and reliability bins
// against hand-computed values.
func TestTrustOf(t *testing.T) {
	ptr := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name    string
		outs    []outcome
		spec    *float64
		brier   *float64
		binsN   [reliabilityBins]int
		binsAcc [reliabilityBins]float64
	}{
		{
			name: "named right, named wrong, quiet fault-free, loud fault-free",
			outs: []outcome{
				{culprit: true, right: true, conf: 0.9, hasConf: true},      // (0.9-1)² = 0.01
				{culprit: true, right: false, conf: 0.7, hasConf: true},     // 0.49
				{faultFree: true, culprit: false, conf: 0.3, hasConf: true}, // c=0: 0
				{faultFree: true, culprit: true, conf: 0.65, hasConf: true}, // 0.4225
			},
			spec:    ptr(0.5),
			brier:   ptr((0.01 + 0.49 + 0 + 0.4225) / 4),
			binsN:   [reliabilityBins]int{0, 1, 0, 2, 1},
			binsAcc: [reliabilityBins]float64{0, 0, 0, 0, 1},
		},
		{
			name: "right but not named: c = 0, y = 1",
			outs: []outcome{
				{culprit: false, right: true, conf: 0.4, hasConf: true},  // (0-1)² = 1
				{culprit: false, right: false, conf: 0.1, hasConf: true}, // 0
			},
			brier:   ptr(0.5),
			binsN:   [reliabilityBins]int{1, 0, 1, 0, 0},
			binsAcc: [reliabilityBins]float64{0, 0, 1, 0, 0},
		},
		{
			name:    "confidence 1 falls in the last bin",
			outs:    []outcome{{culprit: true, right: true, conf: 1, hasConf: true}},
			brier:   ptr(0),
			binsN:   [reliabilityBins]int{0, 0, 0, 0, 1},
			binsAcc: [reliabilityBins]float64{0, 0, 0, 0, 1},
		},
		{
			name: "no confidence: specificity only",
			outs: []outcome{
				{culprit: true, right: true},
				{faultFree: true, culprit: true},
			},
			spec: ptr(0),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := trustOf(tc.outs)
			if !sameOpt(got.Specificity, tc.spec) {
				t.Errorf("specificity %v, want %v", deref(got.Specificity), deref(tc.spec))
			}
			if !sameOpt(got.Brier, tc.brier) {
				t.Errorf("brier %v, want %v", deref(got.Brier), deref(tc.brier))
			}
			if tc.brier == nil {
				if got.HasConfidence || got.Reliability != nil {
					t.Errorf("a method without confidence got HasConfidence %v, reliability %v", got.HasConfidence, got.Reliability)
				}
				return
			}
			if len(got.Reliability) != reliabilityBins {
				t.Fatalf("%d bins, want %d", len(got.Reliability), reliabilityBins)
			}
			for i, b := range got.Reliability {
				if b.Cases != tc.binsN[i] || math.Abs(b.Accuracy-tc.binsAcc[i]) > 1e-9 {
					t.Errorf("bin %d [%.1f, %.1f): %d cases accuracy %.2f, want %d, %.2f", i, b.From, b.To, b.Cases, b.Accuracy, tc.binsN[i], tc.binsAcc[i])
				}
			}
		})
	}
}

func sameOpt(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-9
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
