package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/telemetry"
)

// Ranker ranks the services of an incident, most likely root cause first.
type Ranker interface {
	Name() string
	Rank(b telemetry.Bundle) []string
}

// MetricRef is a (service, metric) answer at metric level.
type MetricRef struct {
	Service string `json:"service"`
	Metric  string `json:"metric"`
}

// MetricRanker is a Ranker that also ranks (service, metric) pairs, for the
// metric-level score where a dataset labels the root-cause metric. Run calls
// RankMetrics instead of Rank, once per case.
type MetricRanker interface {
	Ranker
	RankMetrics(b telemetry.Bundle) (services []string, metrics []MetricRef)
}

// Answer is a ranker's whole answer on one case.
type Answer struct {
	Services []string
	Metrics  []MetricRef
	// Culprit is whether the ranker names a root cause at all; false is
	// "nothing here stands out", the right answer on a fault-free case.
	Culprit bool
	// Confidence is the top candidate's confidence in [0, 1], when the
	// ranker gives one (HasConfidence).
	Confidence    float64
	HasConfidence bool
}

// Answerer is a Ranker that can also say that nothing stands out. Run
// calls Answer instead of Rank or RankMetrics, once per case. A ranker
// that is not an Answerer names its top service whenever it ranks one.
type Answerer interface {
	Ranker
	Answer(b telemetry.Bundle) Answer
}

// Schema is the version of the JSON report.
const Schema = "rca.eval/v1"

// Scores are the accuracy numbers of one method over a set of cases.
type Scores struct {
	Cases int     `json:"cases"`
	AC1   float64 `json:"ac1"`
	AC3   float64 `json:"ac3"`
	AC5   float64 `json:"ac5"`
	Avg5  float64 `json:"avg5"`
}

// FaultFree is how a method did on the fault-free cases: a case where it
// named no root cause is Quiet; Specificity is Quiet / Cases.
type FaultFree struct {
	Cases       int     `json:"cases"`
	Quiet       int     `json:"quiet"`
	Specificity float64 `json:"specificity"`
}

// Timing is the time per case, in seconds.
type Timing struct {
	Median float64 `json:"median"`
	P95    float64 `json:"p95"`
}

// Trust is how far a method's answer can be trusted over a set of cases.
type Trust struct {
	// Specificity is the fraction of the fault-free cases where the method
	// named no root cause; nil when there are none. A method that always
	// names a cause (N-Sigma, BARO) has 0.
	Specificity *float64 `json:"specificity,omitempty"`
	// HasConfidence is whether the method gives a confidence. Brier and
	// Reliability are only for one that does: N-Sigma and BARO have none,
	// and scoring them as certain (c = 1) would only restate their
	// accuracy.
	HasConfidence bool `json:"has_confidence"`
	// Brier is the mean over all cases (fault and fault-free) of (c − y)²:
	// c is the top candidate's confidence if a root cause is named, else
	// 0; y is 1 iff the case has a fault and the top candidate is its true
	// service.
	Brier *float64 `json:"brier,omitempty"`
	// Reliability bins the top candidate's confidence (named or not) over
	// all cases against how often it was right (y as for Brier).
	Reliability []Bin `json:"reliability,omitempty"`
}

// Bin is one row of a reliability table: the cases whose confidence lies
// in [From, To), their mean confidence and the fraction right.
type Bin struct {
	From       float64 `json:"from"`
	To         float64 `json:"to"`
	Cases      int     `json:"cases"`
	Confidence float64 `json:"confidence"`
	Accuracy   float64 `json:"accuracy"`
}

// reliabilityBins is how many equal bins a reliability table has.
const reliabilityBins = 5

// SystemScores is a method's result on the cases of one system, for a
// dataset that holds several.
type SystemScores struct {
	Scores
	Trust
}

// Method is one ranker's result on one dataset.
type Method struct {
	Name string `json:"-"`
	// Scores are over the fault cases only: a fault-free case has no root
	// cause to find, so it is no hit and no miss.
	Scores
	// Trust is the specificity over the fault-free cases, and the Brier
	// score and reliability over all.
	Trust
	ByFault map[string]Scores `json:"by_fault"`
	// BySystem splits the scores by system when the dataset has several.
	BySystem map[string]SystemScores `json:"by_system,omitempty"`
	// FaultFree is the specificity on the fault-free cases; nil when the
	// dataset has none.
	FaultFree *FaultFree `json:"fault_free,omitempty"`
	// Metric is the metric-level score over the cases that label a root-cause
	// metric; nil when there are none or the ranker gives no metric answers.
	Metric         *Scores `json:"metric,omitempty"`
	SecondsPerCase Timing  `json:"seconds_per_case"`
}

// Wrong is a case the primary ranker did not rank first.
type Wrong struct {
	Case  string `json:"case"`
	Fault string `json:"fault"`
	Truth string `json:"truth"`
	// Rank is where the truth ranked (1-based); 0 means not ranked at all.
	Rank int      `json:"rank"`
	Top  []string `json:"top"`
}

// CaseError is a case that could not be loaded or ranked.
type CaseError struct {
	Case   string `json:"case"`
	Method string `json:"method,omitempty"`
	Error  string `json:"error"`
}

// Dataset is the result on one dataset.
type Dataset struct {
	Name string `json:"name"`
	Dir  string `json:"-"`
	// Cases is the number of cases scored (loaded without error), fault
	// cases and fault-free ones.
	Cases int `json:"cases"`
	// FaultCount and FaultFreeCount split Cases: AC@k is over the first,
	// specificity over the second.
	FaultCount     int      `json:"fault_cases"`
	FaultFreeCount int      `json:"fault_free_cases"`
	Methods        []Method `json:"-"`
	// Faults lists the fault types in order.
	Faults     []string       `json:"-"`
	FaultCases map[string]int `json:"-"`
	// SecondsPerCase is the primary ranker's time per case.
	SecondsPerCase Timing      `json:"seconds_per_case"`
	Primary        string      `json:"primary"`
	Wrong          []Wrong     `json:"wrong"`
	Errors         []CaseError `json:"errors"`
}

// Report is the result of a Run.
type Report struct {
	Datasets []Dataset
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration
}

// caseResult is what one case gave, per method.
type caseResult struct {
	dir       string
	id, fault string
	system    string
	truth     dataset.Truth
	faultFree bool
	loadErr   error
	methods   []methodResult
}

type methodResult struct {
	rank       int // 1-based rank of the true service; 0 = not ranked
	metricRank int // same for (service, metric); -1 = no metric answers
	top        []string
	culprit    bool // named a root cause
	conf       float64
	hasConf    bool
	seconds    float64
	err        error
}

// Run loads every case of every dataset and runs every ranker on it. The
// first ranker is the primary one: its misses are listed and its time is the
// dataset's time per case. Cases load and rank in parallel; the report does
// not depend on the order they finish in. A case that fails to load is listed
// under the dataset's errors and the rest is still scored; a dataset directory
// that is missing or holds no cases is an error.
func Run(ctx context.Context, datasets []string, rankers []Ranker, progress func(done, total int)) (Report, error) {
	start := time.Now()
	if len(datasets) == 0 {
		return Report{}, errors.New("no dataset given")
	}
	if len(rankers) == 0 {
		return Report{}, errors.New("no ranker given")
	}
	type job struct{ ds, i int }
	var jobs []job
	results := make([][]caseResult, len(datasets))
	for d, dir := range datasets {
		cases, skipped, err := dataset.Scan(dir)
		if err != nil {
			return Report{}, err
		}
		if len(cases) == 0 && len(skipped) == 0 {
			return Report{}, fmt.Errorf("dataset %s holds no cases (no <case>/case.json under it or under its cases/)", dir)
		}
		results[d] = make([]caseResult, len(cases), len(cases)+len(skipped))
		for i, c := range cases {
			results[d][i].dir = c
			jobs = append(jobs, job{d, i})
		}
		// A case folder not followed is a case that did not load, listed
		// with the others, never dropped without a word.
		for _, e := range skipped {
			id := "?"
			if se, ok := e.(*dataset.SkippedError); ok {
				id = se.Case
			}
			results[d] = append(results[d], caseResult{id: id, loadErr: e})
		}
	}

	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	next := make(chan job)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				r := &results[j.ds][j.i]
				runCase(ctx, r, rankers)
				if progress != nil {
					mu.Lock()
					done++
					progress(done, len(jobs))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}

	rep := Report{}
	for d, dir := range datasets {
		ds := summarize(dir, results[d], rankers)
		if ds.Cases == 0 {
			return Report{}, noCaseLoaded(dir, results[d])
		}
		rep.Datasets = append(rep.Datasets, ds)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// noCaseLoaded is the error of a dataset none of whose cases loaded: a
// table of zeros would read as a ranker that fails everywhere.
func noCaseLoaded(dir string, results []caseResult) error {
	first := "no case folder"
	for _, r := range results {
		if r.loadErr != nil {
			first = r.loadErr.Error()
			break
		}
	}
	n := fmt.Sprintf("%d cases", len(results))
	if len(results) == 1 {
		n = "one case"
	}
	return fmt.Errorf("dataset %s: no case loaded (of %s); the first error: %s", dir, n, first)
}

func runCase(ctx context.Context, r *caseResult, rankers []Ranker) {
	c, err := dataset.Load(ctx, r.dir)
	if err != nil {
		r.id, r.loadErr = filepath.Base(r.dir), err
		return
	}
	r.id, r.fault, r.system, r.truth, r.faultFree = c.ID, c.FaultType, c.System, c.Truth, c.FaultFree
	r.methods = make([]methodResult, len(rankers))
	// The methods are timed from a collected heap: the loader's garbage
	// (a case's whole CSV text, on a case of 10,000 series hundreds of
	// megabytes) is freed first, so the first method neither pays for its
	// collection nor takes fresh pages from the system while the freed
	// ones wait. As testing.B does before it times.
	runtime.GC()
	for k, rk := range rankers {
		r.methods[k] = runRanker(rk, c)
	}
}

// runRanker times one ranker on one case. A panic is that case's error for
// that method (scored as not ranked), not the end of the run.
func runRanker(rk Ranker, c dataset.Case) (m methodResult) {
	m.metricRank = -1
	start := time.Now()
	defer func() {
		m.seconds = time.Since(start).Seconds()
		if p := recover(); p != nil {
			m.rank, m.metricRank, m.top = 0, -1, nil
			m.err = fmt.Errorf("panic: %v", p)
		}
	}()
	var a Answer
	switch rk := rk.(type) {
	case Answerer:
		a = rk.Answer(c.Bundle)
	case MetricRanker:
		a.Services, a.Metrics = rk.RankMetrics(c.Bundle)
	default:
		a.Services = rk.Rank(c.Bundle)
	}
	services := dedupe(a.Services)
	if _, ok := rk.(Answerer); !ok {
		a.Culprit = len(services) > 0 // a plain ranking always names its top service
	}
	if len(a.Metrics) > 0 {
		m.metricRank = rankOf(a.Metrics, MetricRef{Service: c.Truth.Service, Metric: c.Truth.Metric})
	}
	m.culprit = a.Culprit
	m.conf, m.hasConf = a.Confidence, a.HasConfidence
	m.rank = rankOf(services, c.Truth.Service)
	m.top = services[:min(3, len(services))]
	return m
}

// dedupe keeps the first occurrence of each non-empty service: a ranker that
// names a service twice gets no second chance.
func dedupe(s []string) []string {
	out := make([]string, 0, len(s))
	seen := make(map[string]bool, len(s))
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// rankOf returns the 1-based position of the first want in ranking, 0 if absent.
func rankOf[T comparable](ranking []T, want T) int {
	var zero T
	if want == zero {
		return 0
	}
	for i, v := range ranking {
		if v == want {
			return i + 1
		}
	}
	return 0
}

// score computes AC@1, AC@3, AC@5 and Avg@5 from the truth's rank per case
// (1-based; 0 = not ranked). AC@k is the fraction of cases whose truth is in
// the top k; Avg@5 is the mean of AC@1..AC@5. No cases score 0.
func score(ranks []int) Scores {
	s := Scores{Cases: len(ranks)}
	if len(ranks) == 0 {
		return s
	}
	var ac [6]float64
	for k := 1; k <= 5; k++ {
		hits := 0
		for _, r := range ranks {
			if r >= 1 && r <= k {
				hits++
			}
		}
		ac[k] = float64(hits) / float64(len(ranks))
	}
	s.AC1, s.AC3, s.AC5 = ac[1], ac[3], ac[5]
	s.Avg5 = (ac[1] + ac[2] + ac[3] + ac[4] + ac[5]) / 5
	return s
}

// timing is the median and 95th percentile, interpolated linearly.
func timing(seconds []float64) Timing {
	if len(seconds) == 0 {
		return Timing{}
	}
	s := slices.Clone(seconds)
	slices.Sort(s)
	return Timing{Median: percentile(s, 50), P95: percentile(s, 95)}
}

func summarize(dir string, results []caseResult, rankers []Ranker) Dataset {
	ds := Dataset{Name: filepath.Base(filepath.Clean(dir)), Dir: dir, Primary: rankers[0].Name(), FaultCases: map[string]int{}}
	var ok []caseResult
	for _, r := range results {
		if r.loadErr != nil {
			ds.Errors = append(ds.Errors, CaseError{Case: r.id, Error: r.loadErr.Error()})
			continue
		}
		ok = append(ok, r)
		if r.faultFree {
			ds.FaultFreeCount++
			continue
		}
		ds.FaultCount++
		ds.FaultCases[r.fault]++
	}
	ds.Cases = len(ok)
	for f := range ds.FaultCases {
		ds.Faults = append(ds.Faults, f)
	}
	sort.Strings(ds.Faults)

	for k, rk := range rankers {
		m := Method{Name: rk.Name(), ByFault: map[string]Scores{}}
		var ranks, metricRanks []int
		byFault := map[string][]int{}
		var secs []float64
		var ff *FaultFree
		if ds.FaultFreeCount > 0 {
			ff = &FaultFree{}
		}
		for _, r := range ok {
			mr := r.methods[k]
			if mr.err != nil {
				ds.Errors = append(ds.Errors, CaseError{Case: r.id, Method: rk.Name(), Error: mr.err.Error()})
			}
			secs = append(secs, mr.seconds)
			if r.faultFree {
				ff.Cases++
				if !mr.culprit && mr.err == nil {
					ff.Quiet++
				}
				continue
			}
			ranks = append(ranks, mr.rank)
			byFault[r.fault] = append(byFault[r.fault], mr.rank)
			if r.truth.Metric != "" && mr.metricRank >= 0 {
				metricRanks = append(metricRanks, mr.metricRank)
			}
		}
		m.Scores = score(ranks)
		for f, rs := range byFault {
			m.ByFault[f] = score(rs)
		}
		if len(metricRanks) > 0 {
			s := score(metricRanks)
			m.Metric = &s
		}
		if ff != nil {
			ff.Specificity = float64(ff.Quiet) / float64(ff.Cases)
			m.FaultFree = ff
		}
		m.Trust = trust(ok, k)
		systems := map[string][]caseResult{}
		for _, r := range ok {
			systems[r.system] = append(systems[r.system], r)
		}
		if len(systems) > 1 {
			m.BySystem = map[string]SystemScores{}
			for sys, rs := range systems {
				var ranks []int
				for _, r := range rs {
					if !r.faultFree {
						ranks = append(ranks, r.methods[k].rank)
					}
				}
				m.BySystem[sys] = SystemScores{Scores: score(ranks), Trust: trust(rs, k)}
			}
		}
		m.SecondsPerCase = timing(secs)
		if k == 0 {
			ds.SecondsPerCase = m.SecondsPerCase
			for _, r := range ok {
				if mr := r.methods[0]; mr.rank != 1 && !r.faultFree {
					ds.Wrong = append(ds.Wrong, Wrong{Case: r.id, Fault: r.fault, Truth: r.truth.Service, Rank: mr.rank, Top: mr.top})
				}
			}
		}
		ds.Methods = append(ds.Methods, m)
	}
	slices.SortStableFunc(ds.Errors, func(a, b CaseError) int {
		return cmp.Or(cmp.Compare(a.Case, b.Case), cmp.Compare(a.Method, b.Method))
	})
	if ds.Wrong == nil {
		ds.Wrong = []Wrong{}
	}
	if ds.Errors == nil {
		ds.Errors = []CaseError{}
	}
	return ds
}

// Method returns the named method's result.
func (d Dataset) Method(name string) (Method, bool) {
	for _, m := range d.Methods {
		if m.Name == name {
			return m, true
		}
	}
	return Method{}, false
}

// round keeps reports readable and stable: accuracy to 4 decimals.
func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// outcome is one case's answer by one method, for the trust scores.
type outcome struct {
	faultFree bool
	culprit   bool // named a root cause (and did not fail)
	right     bool // a fault case whose top candidate is the truth
	conf      float64
	hasConf   bool
}

// trust computes the specificity, Brier score and reliability table of
// method k over the cases.
func trust(cases []caseResult, k int) Trust {
	outs := make([]outcome, 0, len(cases))
	for _, r := range cases {
		mr := r.methods[k]
		outs = append(outs, outcome{faultFree: r.faultFree, culprit: mr.culprit && mr.err == nil, right: !r.faultFree && mr.rank == 1, conf: mr.conf, hasConf: mr.hasConf})
	}
	return trustOf(outs)
}

func trustOf(outs []outcome) Trust {
	var t Trust
	free, quiet := 0, 0
	t.HasConfidence = len(outs) > 0
	for _, o := range outs {
		t.HasConfidence = t.HasConfidence && o.hasConf
		if o.faultFree {
			free++
			if !o.culprit {
				quiet++
			}
		}
	}
	if free > 0 {
		v := float64(quiet) / float64(free)
		t.Specificity = &v
	}
	if !t.HasConfidence {
		return t
	}
	var brier float64
	bins := make([]Bin, reliabilityBins)
	for i := range bins {
		bins[i].From, bins[i].To = float64(i)/reliabilityBins, float64(i+1)/reliabilityBins
	}
	for _, o := range outs {
		y := 0.0
		if o.right {
			y = 1
		}
		c := 0.0
		if o.culprit {
			c = o.conf
		}
		brier += (c - y) * (c - y)
		b := &bins[min(int(o.conf*reliabilityBins), reliabilityBins-1)]
		b.Cases++
		b.Confidence += o.conf
		b.Accuracy += y
	}
	brier /= float64(len(outs))
	t.Brier = &brier
	for i := range bins {
		if n := bins[i].Cases; n > 0 {
			bins[i].Confidence /= float64(n)
			bins[i].Accuracy /= float64(n)
		}
	}
	t.Reliability = bins
	return t
}
