package analysis

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Confidence: how sure the analysis is that a candidate is the root cause.
//
// Every root-cause candidate gets a probability from a small logistic
// regression over features of the ranker's own evidence (never over
// dataset, system, service or metric names):
//
//	p = 1 / (1 + exp(-(w0 + Σ wi·xi)))
//
// The features (ConfidenceFeatureNames, in order) are:
//
//   - strength: log1p of the service's rank score (the score is already a
//     log of the series deviations, so this compresses twice: one extreme
//     series off a flat baseline cannot buy certainty);
//   - margin: how far the candidate leads the next one, (S_i − S_{i+1}) / S_i;
//   - share: the candidate's score against the top one's, S_i / S_1 (1 for
//     the top candidate), so a lower rank is less likely the cause;
//   - breadth: log1p of how many distinct signals of the service moved;
//   - first: 1 when the service's onset is the first of the anomalous
//     services (within the onset tolerance), else 0;
//   - origin: +1 when the call graph shows no anomalous callee that explains
//     it, −1 when one does, 0 without a call graph;
//   - change: 1 when the evidence is a change (deploy, config, restart);
//   - baseline: log10 of the baseline's length in samples of the usual
//     step, capped at 2 (100 samples): a short baseline says little about
//     normal variation.
//
// The weights below were fitted by `go run ./tools/fitconfidence` on the
// three dev sets of ../shared/datasets pooled (opennetai-sockshop, petshop,
// openstack-fault-injection: fault cases and fault-free ones), on the top
// three candidates of every case (label: the candidate is the labelled
// root-cause service; on a fault-free case every candidate is wrong), by
// L2-regularised logistic regression (λ in the tool's header) with each
// dataset weighted equally. The tool prints the fit, the calibration per
// dataset and a leave-one-dataset-out check (fit on two, score the third).
var confidenceWeights = [1 + numConfidenceFeatures]float64{
	-4.0, // intercept
	0.0,  // strength
	0.0,  // margin
	0.0,  // share
	0.0,  // breadth
	0.0,  // first
	0.0,  // origin
	0.0,  // change
	0.0,  // baseline
}

// ConfidenceThreshold is the confidence the top candidate needs for the
// verdict "cause found". Below it the verdict is "nothing stands out": the
// candidates are still listed, as the strongest deviations seen, but none
// is named the cause. 0.5 is the point where a calibrated candidate is
// more likely right than wrong; on the dev sets it keeps the fault-free
// windows quiet (specificity) while naming the cause in most fault cases
// the ranker gets right (see the README's Accuracy section).
const ConfidenceThreshold = 0.5

// ConfidenceFeatureNames names the model's inputs, in Candidate.Features order.
var ConfidenceFeatureNames = []string{"strength", "margin", "share", "breadth", "first", "origin", "change", "baseline"}

const numConfidenceFeatures = 8

// minBaselineSamples is the baseline length, in samples of the usual step,
// below which the result warns that the baseline is too short to judge.
const minBaselineSamples = 10

// ConfidenceModel maps features to a probability.
type ConfidenceModel []float64

// Probability is the logistic model's output for x.
func (m ConfidenceModel) Probability(x []float64) float64 {
	z := m[0]
	for i, v := range x {
		z += m[i+1] * v
	}
	return 1 / (1 + math.Exp(-z))
}

// DefaultConfidenceModel is the fitted model Analyze uses.
func DefaultConfidenceModel() ConfidenceModel { return slices.Clone(confidenceWeights[:]) }

// confidenceStage gives every candidate its features and confidence, and
// the result its verdict.
func confidenceStage(r *run) {
	baseSamples := r.baselineSamples()
	if baseSamples > 0 && baseSamples < minBaselineSamples {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(
			"the baseline holds only about %d samples per series (%s): too short to judge normal variation; confidence is lowered",
			baseSamples, r.b.Baseline.Duration().Round(time.Second)))
	}
	feats := candidateFeatures(r, baseSamples)
	model := ConfidenceModel(confidenceWeights[:])
	for i := range r.res.RootCauses {
		c := &r.res.RootCauses[i]
		c.Features = feats[i]
		c.Confidence = round(model.Probability(feats[i]), 3)
	}
	r.res.Verdict = verdict(r.res.RootCauses)
}

// verdict is "cause found" when the top candidate's confidence reaches the
// threshold.
func verdict(cs []Candidate) string {
	if len(cs) > 0 && cs[0].Confidence >= ConfidenceThreshold {
		return VerdictCauseFound
	}
	return VerdictNothingStandsOut
}

// baselineSamples is the median number of baseline samples of the scored
// signals (0 when there are none).
func (r *run) baselineSamples() int {
	var n []int
	for _, s := range r.sigs {
		if len(s.win) > 0 {
			n = append(n, len(s.base))
		}
	}
	if len(n) == 0 {
		return 0
	}
	sort.Ints(n)
	return n[len(n)/2]
}

// candidateFeatures computes the model's inputs for every candidate.
func candidateFeatures(r *run, baseSamples int) [][]float64 {
	cs := r.res.RootCauses
	var onsets []time.Time
	for _, st := range r.states {
		if len(st.anomalous) > 0 && !st.infra {
			onsets = append(onsets, st.onset)
		}
	}
	first := time.Time{}
	for _, o := range onsets {
		if first.IsZero() || o.Before(first) {
			first = o
		}
	}
	baseline := 0.0
	if baseSamples > 0 {
		baseline = math.Min(math.Log10(float64(baseSamples)), 2)
	}
	out := make([][]float64, len(cs))
	for i, c := range cs {
		st := r.states[c.Service]
		x := make([]float64, numConfidenceFeatures)
		x[0] = math.Log1p(math.Max(c.Score, 0))
		next := 0.0
		if i+1 < len(cs) {
			next = cs[i+1].Score
		} else if len(r.res.Services) > len(cs) {
			next = r.res.Services[len(cs)].Score
		}
		if c.Score > 0 {
			x[1] = math.Max(0, (c.Score-next)/c.Score)
		}
		if cs[0].Score > 0 {
			x[2] = c.Score / cs[0].Score
		}
		x[3] = math.Log1p(float64(distinctSignals(st)))
		if st != nil && len(st.anomalous) > 0 && !first.IsZero() && !before(first, st.onset, r.tol) {
			x[4] = 1
		}
		if st != nil && !r.g.empty() {
			x[5] = 1
			for _, d := range sortedKeys(r.g.descendants(st.name)) {
				if cst := r.states[d]; cst != nil && len(st.anomalous) > 0 && explains(cst, st.onset, r.tol) {
					x[5] = -1
					break
				}
			}
		}
		if c.Change != nil {
			x[6] = 1
		}
		x[7] = baseline
		out[i] = x
	}
	return out
}

// distinctSignals counts the distinct signals (by signal id, else metric)
// among a service's anomalies, plus one for a linked change.
func distinctSignals(st *serviceState) int {
	if st == nil {
		return 0
	}
	seen := map[string]bool{}
	for _, f := range st.anomalous {
		k := f.SignalID
		if k == "" {
			k = f.Metric
		}
		seen[k] = true
	}
	n := len(seen)
	if st.change != nil {
		n++
	}
	return n
}
