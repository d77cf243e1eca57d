package analysis

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
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
//   - margin: how far the candidate leads the next service in the ranking,
//     (S_i − S_next) / S_i, skipping a service that is the callers' view of
//     the candidate (see outsideView: a load balancer's node, a client-side
//     span): the candidate seen from outside, not a rival. Counted, it
//     held petshop's delays, seen by the load balancer in front as well,
//     below the threshold: Brier 0.318 → 0.288 in rca eval, and left out
//     0.292 → 0.256, the other sets within 0.002;
//   - share: the candidate's score against the top one's, S_i / S_1 (1 for
//     the top candidate), so a lower rank is less likely the cause;
//   - breadth: log1p of how many distinct signals of the service moved;
//     the ones that count activity (requests, lines at a verbose level)
//     count as one: together they say one thing, that it was given more
//     work;
//   - first: 1 when the service's onset is the first of the anomalous
//     services (within the onset tolerance), else 0;
//   - origin: −1 when the call graph shows an anomalous callee that
//     explains it or shows it as its callers' view of another service (see
//     outsideView), else 0. A graph that blames no callee is no evidence
//     for the candidate: coded +1, as it was, it marked nearly every top
//     candidate of a system with a graph, and the model learned "a graph
//     is present" (fitted without sockshop, which has none, it named no
//     sockshop cause);
//   - change: 1 when the evidence is a change (deploy, config, restart);
//   - errors: 1 when one of the service's anomalous signals that rose is
//     the service logging errors: lines at an error level (error,
//     critical, fatal, ...), error log templates, the catalog's log signals
//     of errors and panics (see isError); or its availability fell (the
//     catalog's: a success ratio, a probe; or all of an instance's series
//     went missing); or its up gauge is at 0. Code faults, failed
//     dependencies and bad deploys log new errors and fail requests;
//     normal variation seldom does. −1 when the service's logs are in the
//     data and hold no new error, 0 when they are not: without logs, no
//     error seen is no evidence either way. Availability came in later:
//     with it, petshop (no logs, an availability per node) reads its error
//     faults as failing, and its Brier in rca eval went 0.423 → 0.317
//     (request error counters stay out, see isError);
//   - oneSample: −1 when every anomaly of the service peaks in a run of one
//     sample of a level or a rate, inside the window (see oneSample), else
//     0. Sockshop's fault-free windows are full of them; a fault's
//     evidence lasts. In the dev sets it marks no right top-three
//     candidate, so its weight is bounded by the L2 penalty, not measured:
//     what it costs a real cause seen for one sample is not known;
//   - baseline: log(n/10) for a baseline of n samples per series at the
//     data's step (a query's step: a longer step, fewer samples), n
//     clamped to [10, 300] (see baselineEvidence). The longer the
//     baseline, the better it shows normal variation, and the rarer a
//     sample of noise beyond it: fitted on the other sets and cut to 10
//     samples, petshop's fault-free windows name a cause in 7 of 20; with
//     their whole baselines (103 to 283 samples), in none. Below 10
//     samples the confidence is shrunk instead (confidenceStage).
//
// Tried and left out (tools/fitconfidence -drop shows the effect): the
// share of the evidence whose baseline was flat (no gain), and two
// measures of how often the system's noise alone goes as far: the odds of
// a window's sample beating all the baseline's, log((n_b+n_w)/n_w), and a
// placebo (the baseline's last window-length scored against the rest).
// Both helped petshop and failed openstack left out: its fault-free
// windows are cut shorter than its fault windows, so they read as the
// better evidence. (Neither is in the tree; the numbers are from the
// session that tried them.)
//
// The weights below were fitted by `go run ./tools/fitconfidence` on the
// three dev sets of ../shared/datasets pooled (opennetai-sockshop, petshop,
// openstack-fault-injection: fault cases and fault-free ones), on the top
// three candidates of every case (label: the candidate is the labelled
// root-cause service; on a fault-free case every candidate is wrong), by
// L2-regularised logistic regression with each dataset weighted equally.
// The fit is on every case with its baseline cut to its last 10, 15, ...
// 200 samples, not on the cases as given: the dev sets' fault-free
// windows are cut from their fault cases' baselines, so as given theirs
// are shorter, and a baseline feature fitted on them would learn that
// cut (which is why it was left out until then). Cut to the same length,
// fault and fault-free cases differ only in their windows; a length is
// fitted on where at least half of a set's fault cases and half of its
// fault-free ones reach it, each class weighted by the inverse of the
// share that does, so every length holds both in the set's proportion
// (the fault cases, with the longer baselines, would otherwise fill the
// longer lengths). Runs shrunk for a baseline under ten samples are left
// out: the shrink, not the model, sets their confidence. λ = 0.1 is the
// largest on a grid whose leave-one-dataset-out log loss is within one
// standard error of the best (λ = 1 before: 0.336 against 0.397). The
// tool prints the fit, the calibration per dataset and the
// leave-one-dataset-out check (fit on two, score the third), also with
// baselines cut short; λ and the threshold are chosen reading it, so it
// is not fully held out.
//
// Last refit (the baseline feature, the fit on cut baselines and λ
// together): `rca eval` Brier 0.024 / 0.288 / 0.103 → 0.015 / 0.187 /
// 0.094 (sockshop / petshop / openstack), no fault-free window named,
// AC@k unchanged; left out (the tool's scores) 0.048 / 0.319 / 0.138 →
// 0.021 / 0.256 / 0.096, specificity 0.99 / 1.00 / 0.89 → 0.97 / 1.00 /
// 0.98. Fitted on every cut length reached, however few fault-free cases
// reach it (one sockshop case at 20 samples, weighted 92), petshop left
// out scores 0.180: the longer lengths of the other sets say more, but on
// a handful of cases, so that fit was not kept. With every metric name a
// hash (tools/ablate -opaque-names) openstack names 11 of its 65
// fault-free windows (8 before).
//
// Earlier refits moved the weights as evidence was added: when a service
// only given more work stopped ranking above one that broke (see
// givenWork), when the margin stopped counting the callers' view of a
// candidate as its rival, and when availability joined the errors
// feature (petshop 0.423 → 0.317 in rca eval). Origin once was +1 where
// the graph blamed no callee: in-sample better, but left out it named 1
// of sockshop's 57 right top candidates instead of all 57. The dev sets
// are not the judge; an unseen system is, so the coding that transfers
// was kept.
var confidenceWeights = [1 + numConfidenceFeatures]float64{
	-11.908, // intercept
	1.399,   // strength
	1.550,   // margin
	4.667,   // share
	2.194,   // breadth
	1.675,   // first
	0.527,   // origin
	1.386,   // change: the prior ln 4, not fitted (see ConfidencePriors)
	0.973,   // errors
	2.989,   // oneSample
	0.189,   // baseline
}

// ConfidencePriors are the weights of features that never occur in the
// dev sets, set rather than fitted: no dev case holds a change event, so
// the fit cannot learn what a deploy that precedes the onset is worth.
// ln 4 says such a change multiplies the odds that its service is the
// cause by four (the chain ends at a change whenever one is found: the
// state change is the cause, degraded performance its effect).
var ConfidencePriors = map[string]float64{"change": math.Log(4)}

// ConfidenceThreshold is the confidence the top candidate needs for the
// verdict "cause found". Below it the verdict is "nothing stands out": the
// candidates are still listed, as the strongest deviations seen, but none
// is named the cause. 0.5 is "more likely than not", what a calibrated
// probability must reach to be the better bet. Checked on the sets left
// out of the fit: it names a cause in 3 %, 0 % and 2 % of their
// fault-free windows, and in at most 15 % with their baselines cut to 15
// or 20 samples (35 % of petshop's cut to 10). The rule before, the
// lowest threshold that keeps every set left out at or below one
// fault-free window in five, would now give 0.30 or less (0.30 is the
// lowest the tool prints): in-sample, petshop's Brier 0.187 → 0.174 for
// openstack's specificity 1.00 → 0.83. Each cause named right lowers the
// Brier score; each left unnamed counts as a miss (fitconfidence
// -threshold prints both).
const ConfidenceThreshold = 0.5

// ConfidenceFeatureNames names the model's inputs, in Candidate.Features order.
var ConfidenceFeatureNames = []string{"strength", "margin", "share", "breadth", "first", "origin", "change", "errors", "oneSample", "baseline"}

const numConfidenceFeatures = 10

// minBaselineSamples is the baseline length, in samples of the usual step,
// below which the result warns that the baseline is too short to judge.
const minBaselineSamples = 10

// maxBaselineSamples caps the baseline feature: 300 samples, about the
// longest baseline in the dev sets (petshop's day of five-minute samples).
const maxBaselineSamples = 300

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
	baseSamples, measured := r.baselineSamples()
	// A baseline too short to show normal variation shrinks every
	// confidence in proportion: with one sample of ten, a tenth; with
	// none, to nothing.
	shrink := 1.0
	switch {
	case !measured:
	case baseSamples == 0:
		shrink = 0
		r.res.Warnings = append(r.res.Warnings,
			"no series has a sample in the baseline to judge the window against (a counter needs two, to give a rate): no cause is named; pick a baseline the data covers, or a longer one")
	case baseSamples < minBaselineSamples:
		shrink = float64(baseSamples) / minBaselineSamples
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(
			"the baseline holds only about %d samples per series (%s): too short to judge normal variation; confidence is lowered",
			baseSamples, r.b.Baseline.Duration().Round(time.Second)))
	}
	r.res.BaselineShrink = shrink
	feats := candidateFeatures(r, baseSamples)
	model := ConfidenceModel(confidenceWeights[:])
	left := 1.0
	for i := range r.res.RootCauses {
		c := &r.res.RootCauses[i]
		c.Features = feats[i]
		// One incident, one root cause: the candidates' chances cannot add
		// up to more than one, so a lower candidate gets at most what the
		// better ones leave (the model scores each on its own).
		c.Confidence = round(math.Min(shrink*model.Probability(feats[i]), left), 3)
		left = math.Max(0, left-c.Confidence)
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

// baselineSamples is the median number of baseline samples of the series
// with samples in both the baseline and the window; 0 when series have
// window samples but none has one in the baseline, and measured false when
// no series has a window sample. Series new in the window (a pod a rollout
// made) do not count: the others still have a baseline. Counts made from
// log lines are left out beside metric series with a baseline: their
// minutes are the analysis' buckets, not the data's resolution, and a
// service's counts by level would outnumber its metrics. Beside metrics
// with no baseline they count only if a line was read in the baseline:
// they are zero-filled where no line could be read.
func (r *run) baselineSamples() (samples int, measured bool) {
	var n, logs []int
	metrics, read := false, false
	if r.logs != nil {
		for _, c := range r.logs.baseLines {
			read = read || c > 0
		}
	}
	for _, s := range r.sigs {
		switch {
		case s.win.len() == 0:
			continue
		case s.fromLogs:
			if s.base.len() > 0 {
				logs = append(logs, s.base.len())
				read = read || !zeros(s.base)
			}
		default:
			metrics = true
			if s.base.len() > 0 {
				n = append(n, s.base.len())
			}
		}
		measured = true
	}
	// Log counts are zero-filled over the baseline whether or not a line
	// could have been read there. Beside metrics that have no baseline
	// (Prometheus holds no data there), they stand in only when a line
	// was read in it; alone, a baseline with no line is taken as quiet (a
	// service that logs only warnings), which a Loki past its retention
	// also looks like.
	if len(n) == 0 && (read || !metrics) {
		n = logs
	}
	if len(n) == 0 {
		return 0, measured
	}
	sort.Ints(n)
	return n[len(n)/2], true
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
	out := make([][]float64, len(cs))
	for i, c := range cs {
		st := r.states[c.Service]
		x := make([]float64, numConfidenceFeatures)
		x[0] = math.Log1p(math.Max(c.Score, 0))
		// The margin is over the next service in the ranking but the
		// callers' view of the candidate (a load balancer's node): that is
		// the candidate seen from outside, not another hypothesis.
		next, past := 0.0, false
		for _, o := range r.res.Services {
			if !past {
				past = o.Service == c.Service
				continue
			}
			if v := r.states[o.Service]; v != nil && v.view != nil && v.view.of == c.Service {
				continue
			}
			next = o.Score
			break
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
		if st != nil && !r.g.empty() && (st.explained || st.view != nil) {
			x[5] = -1
		}
		if c.Change != nil {
			x[6] = 1
		}
		switch {
		case errorSignals(st) > 0 || st != nil && st.down:
			x[7] = 1
		case st != nil && st.logged:
			x[7] = -1
		}
		if oneSample(st, r.b.Window.To, r.tol) {
			x[8] = -1
		}
		x[9] = baselineEvidence(baseSamples)
		out[i] = x
	}
	return out
}

// baselineEvidence is the baseline feature: log(n/minBaselineSamples) for
// a baseline of n samples per series, clamped to [minBaselineSamples,
// maxBaselineSamples]. Below the minimum the confidence is shrunk instead
// (confidenceStage); above the maximum, the longest baseline of the dev
// sets, the fit has seen nothing to say that more helps.
func baselineEvidence(n int) float64 {
	return math.Log(float64(min(max(n, minBaselineSamples), maxBaselineSamples)) / minBaselineSamples)
}

// oneSample reports whether each anomaly of a service peaks in a run of
// one sample of a measured level or rate, over before the window ended
// (within tol) and begun inside it: a lone sample past the baseline's worst
// is what noise produces now and then, and why alerting rules wait
// (Prometheus' "for:") before they fire. A run at the window's edge may go
// on beyond it: an incident only a sample old is not judged so. Nor is a
// count of whole events (a count per sample, a log line count, a counter
// of events rated here): one sample of a burst of errors can be far past
// chance (see countNoise). A change is no run of samples at all.
func oneSample(st *serviceState, end time.Time, tol time.Duration) bool {
	if st == nil || len(st.anomalous) == 0 || st.change != nil {
		return false
	}
	for _, f := range st.anomalous {
		if f.events || !f.Until.Equal(f.Onset) || f.CarriedOver || !before(f.Until, end, tol) {
			return false
		}
	}
	return true
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
		if f.traffic {
			k = "\x00activity"
		}
		seen[k] = true
	}
	n := len(seen)
	if st.change != nil {
		n++
	}
	return n
}

// errorLevels are the log levels of errors, lower case.
var errorLevels = map[string]bool{"error": true, "err": true, "critical": true, "crit": true, "fatal": true, "alert": true, "emerg": true, "emergency": true, "panic": true, "severe": true}

// levelLabels are the labels that usually carry a log level, read besides
// the catalog's own level labels.
var levelLabels = []string{"level", "severity", "lvl", "log_level", "loglevel", "detected_level"}

// errorLogSignals are the catalog's log signals of errors.
var errorLogSignals = []string{"error", "panic", "exception", "fatal", "crash"}

// errorSignals counts the distinct anomalous signals of a service that say
// it failed: errors that rose (see isError), availability that fell.
func errorSignals(st *serviceState) int {
	if st == nil {
		return 0
	}
	seen := map[string]bool{}
	for _, f := range st.anomalous {
		// Errors count when they rose, availability when it fell, whatever
		// direction a catalog gives the signal.
		fell := f.ObservedValue < f.BaselineValue
		if !(f.failing && fell || !fell && isError(f)) {
			continue
		}
		seen[f.SeriesID+"|"+f.SignalID+"|"+f.Metric] = true
	}
	return len(seen)
}

// isError reports whether a finding is the service logging errors: lines
// at an error level (its level label, or its log templates' level), or a
// catalog log signal of errors, panics or exceptions. Request error
// counters are left out on purpose: they count client errors (4xx,
// polling for what is not there yet) that normal operation is full of,
// while an error-level line is the service's own word that something
// failed.
func isError(f Finding) bool {
	// The level label read is the first there (seriesLevel's order): a
	// stream labelled level="info" is not made an error by a
	// detected_level="error" beside it.
	if errorLevels[f.level] || errorLevels[seriesLevel(f.Labels)] {
		return true
	}
	for _, p := range f.Patterns {
		if errorLevels[p.Level] {
			return true
		}
	}
	if f.Source == "logs" {
		id := strings.ToLower(f.SignalID)
		for _, w := range errorLogSignals {
			if strings.Contains(id, w) {
				return true
			}
		}
	}
	return false
}
