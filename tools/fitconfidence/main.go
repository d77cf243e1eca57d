// Command fitconfidence fits the confidence model of analysis/confidence.go.
//
//	go run ./tools/fitconfidence [-lambda λ] [-top 3] [-drop FEATURES] [-dump FILE] DATASET_DIR...
//
// With no directory it reads the three dev sets under ../shared/datasets.
// For every case (fault and fault-free) it runs the analysis, takes the top
// candidates' features (Candidate.Features) and labels each 1 when it is
// the labelled root-cause service (always 0 on a fault-free case). It fits
// an L2-regularised logistic regression (Newton's method; the intercept is
// not penalised) with each dataset weighted equally, whatever its size, so
// no one set dominates, and prints:
//
//   - the weights, as Go to paste into analysis/confidence.go;
//   - per dataset, with the fitted model and the verdict threshold: the
//     specificity on fault-free cases, the Brier score of the top candidate
//     over all cases (c = confidence if a cause is named, else 0; y = 1 iff
//     a fault case's top candidate is the truth) and a reliability table;
//   - leave-one-dataset-out: fit on the others, score the one left out.
//
// Baselines of every length: besides each case as given, it runs the case
// again with its baseline cut to its last 10, 15, 20, 30, 50, 100 and 200
// samples (where that shortens it, each length the analysis tells apart
// once), fault cases and fault-free ones alike. The dev sets' fault-free
// windows are cut from their fault cases' baselines, so their own
// baselines are shorter: fitted on the cases as given, a baseline feature
// would learn that cut. So the fit is on the cut runs alone, at the
// lengths half of each class reaches, weighted so that fault and
// fault-free cases stand in their dataset's proportion at every length
// (see trainingSet); the cases as given are only scored. The scores
// below are on the cases as given unless they say otherwise.
//
// The L2 penalty is the largest λ on a grid whose leave-one-dataset-out
// log loss is within one standard error (of the paired per-case
// difference) of the best (-lambda sets it instead). λ and the verdict
// threshold are chosen reading the left-out scores, so those are not
// fully held out.
//
// A case's label is its top root-cause candidate; rca eval's is its
// top-ranked service, which may be no candidate (then c = 0 and y may be
// 1): on sockshop the same model scores 0.004 here and 0.015 there.
//
// It never reads a dataset's, system's, service's or metric's name into the
// model: the features are those the analysis computes on any incident.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/tools/internal/devsets"
)

// row is one candidate of one case.
type row struct {
	ds        int
	caseID    string
	fault     string
	faultFree bool
	rank      int
	x         []float64
	y         float64
	// cut is the baseline length, in samples, the case was cut to; 0 for
	// the case as given.
	cut int
	// shrink is the factor a too short baseline put on the confidence.
	shrink float64
}

// cuts are the baseline lengths, in samples, every case is also run with.
var cuts = []int{10, 15, 20, 30, 50, 100, 200}

// lambdas is the grid the L2 penalty is chosen from.
var lambdas = []float64{0.01, 0.03, 0.1, 0.3, 1, 3}

func main() {
	lambda := flag.Float64("lambda", 0, "L2 penalty on the (non-intercept) weights, per unit of total sample weight (0: chosen by leave-one-dataset-out log loss)")
	top := flag.Int("top", 3, "fit on this many top candidates per case")
	threshold := flag.Float64("threshold", analysis.ConfidenceThreshold, "verdict threshold for the per-dataset scores")
	dump := flag.String("dump", "", "write every row as CSV to this file")
	drop := flag.String("drop", "", "comma-separated features to leave out of the fit (their weight stays 0)")
	flag.Parse()
	dirs := devsets.Dirs(flag.Args())
	cat, err := catalog.Default()
	if err != nil {
		fail(err)
	}
	var rows []row
	names := make([]string, len(dirs))
	for i, d := range dirs {
		names[i] = filepath.Base(filepath.Clean(d))
		rs, err := load(i, d, cat)
		if err != nil {
			fail(err)
		}
		rows = append(rows, rs...)
	}
	if *drop != "" {
		for _, n := range strings.Split(*drop, ",") {
			i := slices.Index(analysis.ConfidenceFeatureNames, n)
			if i < 0 {
				fail(fmt.Errorf("no feature %q", n))
			}
			for k := range rows {
				if rows[k].x != nil {
					rows[k].x = slices.Clone(rows[k].x)
					rows[k].x[i] = 0
				}
			}
		}
	}
	if *dump != "" {
		writeDump(*dump, rows, names)
	}
	fitWith := func(exclude int, lambda float64) analysis.ConfidenceModel {
		var train []row
		for _, r := range rows {
			if r.ds != exclude && r.rank <= *top {
				train = append(train, r)
			}
		}
		return fitLogistic(train, len(dirs), lambda)
	}
	if *lambda == 0 {
		*lambda = chooseLambda(rows, names, fitWith)
	}
	fit := func(exclude int) analysis.ConfidenceModel { return fitWith(exclude, *lambda) }
	m := fit(-1)
	fmt.Printf("# fitted on %d datasets pooled, top %d candidates, lambda %g\n", len(dirs), *top, *lambda)
	fmt.Printf("var confidenceWeights = [1 + numConfidenceFeatures]float64{\n\t%.3f, // intercept\n", m[0])
	for i, n := range analysis.ConfidenceFeatureNames {
		fmt.Printf("\t%.3f, // %s\n", m[i+1], n)
	}
	fmt.Printf("}\n\n")
	fmt.Printf("# in-sample, threshold %.2f\n", *threshold)
	for i, n := range names {
		report(n, rows, i, m, *threshold)
	}
	fmt.Printf("\n# leave one dataset out (fit on the others, score this one), threshold %.2f\n", *threshold)
	left := make([]analysis.ConfidenceModel, len(names))
	for i, n := range names {
		left[i] = fit(i)
		report(n, rows, i, left[i], *threshold)
	}
	fmt.Printf("\n# left out, baseline cut: specificity / brier per dataset, threshold %.2f\n", *threshold)
	for _, k := range cuts[:3] {
		fmt.Printf("cut to %3d samples", k)
		for i, n := range names {
			s := scoreCut(rows, i, left[i], *threshold, k)
			spec := "-"
			if s.free > 0 {
				spec = fmt.Sprintf("%.2f", s.spec)
			}
			fmt.Printf("  %s %s / %.3f (%d cases, %d fault-free)", short(n), spec, s.brier, s.cases, s.free)
		}
		fmt.Println()
	}
	// What other thresholds would give, in-sample and left out: the
	// ConfidenceThreshold comment weighs 0.5 against them.
	for _, side := range []struct {
		name  string
		model func(i int) analysis.ConfidenceModel
	}{
		{"in-sample", func(int) analysis.ConfidenceModel { return m }},
		{"left out", func(i int) analysis.ConfidenceModel { return left[i] }},
	} {
		fmt.Printf("\n# %s by threshold: specificity / brier per dataset\n", side.name)
		for k := 0; k <= 8; k++ {
			t := 0.3 + 0.05*float64(k)
			fmt.Printf("t=%.2f", t)
			for i, n := range names {
				s := scoreSet(rows, i, side.model(i), t)
				fmt.Printf("  %s %.2f / %.3f (named %d/%d faults, right %d)", short(n), s.spec, s.brier, s.named, s.faults, s.namedRight)
			}
			fmt.Println()
		}
	}
}

func short(n string) string {
	if i := strings.IndexAny(n, "-"); i > 0 && len(n) > 10 {
		return n[:i]
	}
	return n
}

// load runs the analysis on every case of a dataset.
func load(ds int, dir string, cat *catalog.Catalog) ([]row, error) {
	cases, _, err := dataset.Scan(dir)
	if err != nil {
		return nil, err
	}
	out := make([][]row, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dataset.Load(context.Background(), cases[i])
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				out[i] = caseRows(ds, c, cat)
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	var rows []row
	for _, r := range out {
		rows = append(rows, r...)
	}
	return rows, firstErr
}

// trains reports whether a row can be fitted on: a candidate of a
// baseline cut short (as given, a dataset's fault-free cases have the
// shorter baselines), not shrunk (below ten samples the shrink, not the
// model, sets the confidence). trainingSet picks among them.
func trains(r row) bool { return r.rank > 0 && r.cut > 0 && r.shrink == 1 }

// caseRows runs the analysis on a case as given and with its baseline cut
// to each of cuts, keeping each baseline length the analysis tells apart
// (by the baseline feature) once.
func caseRows(ds int, c dataset.Case, cat *catalog.Catalog) []row {
	bf := slices.Index(analysis.ConfidenceFeatureNames, "baseline")
	rowsOf := func(res analysis.Result, cut int) []row {
		var out []row
		for _, cand := range res.RootCauses {
			y := 0.0
			if !c.FaultFree && cand.Service == c.Truth.Service {
				y = 1
			}
			out = append(out, row{ds: ds, caseID: c.ID, fault: c.FaultType, faultFree: c.FaultFree, rank: cand.Rank, x: cand.Features, y: y, cut: cut, shrink: res.BaselineShrink})
		}
		if len(res.RootCauses) == 0 {
			out = append(out, row{ds: ds, caseID: c.ID, fault: c.FaultType, faultFree: c.FaultFree, cut: cut, shrink: res.BaselineShrink})
		}
		return out
	}
	res := analysis.Analyze(c.Bundle, cat, analysis.Options{})
	out := rowsOf(res, 0)
	seen := map[float64]bool{}
	if len(res.RootCauses) > 0 {
		seen[res.RootCauses[0].Features[bf]] = true
	}
	for _, k := range cuts {
		b := c.Bundle
		from, ok := cutFrom(b, k)
		if !ok {
			break
		}
		b.Baseline.From = from
		r := analysis.Analyze(b, cat, analysis.Options{})
		if len(r.RootCauses) > 0 {
			if seen[r.RootCauses[0].Features[bf]] {
				continue
			}
			seen[r.RootCauses[0].Features[bf]] = true
		}
		out = append(out, rowsOf(r, k)...)
	}
	return out
}

// cutFrom is the baseline start that leaves a bundle's series k samples
// of their baseline: the median, over the series with more than k, of
// each one's k-th last baseline sample. False when no series has more (a
// bundle of logs alone is never cut).
func cutFrom(b telemetry.Bundle, k int) (time.Time, bool) {
	from, to := telemetry.Nanos(b.Baseline.From), telemetry.Nanos(b.Baseline.To)
	var at []int64
	for _, s := range b.Series {
		lo, _ := slices.BinarySearch(s.Times, from)
		hi, _ := slices.BinarySearch(s.Times, to)
		if hi-lo > k {
			at = append(at, s.Times[hi-k])
		}
	}
	if len(at) == 0 {
		return time.Time{}, false
	}
	slices.Sort(at)
	return time.Unix(0, at[len(at)/2]).UTC(), true
}

// chooseLambda prints the leave-one-dataset-out log loss of each λ of the
// grid (the mean over datasets of each one's mean over its cases) and
// returns the largest within one standard error of the best (the
// one-standard-error rule, with the standard error of the paired per-case
// difference to the best): the most regularised of those that transfer
// as well, as far as the dev sets can tell.
func chooseLambda(rows []row, names []string, fitWith func(int, float64) analysis.ConfidenceModel) float64 {
	loss := make([][][]float64, len(lambdas)) // λ, dataset, case
	mean := make([]float64, len(lambdas))
	best := 0
	for j, l := range lambdas {
		loss[j] = make([][]float64, len(names))
		for i := range names {
			loss[j][i] = logLosses(rows, i, fitWith(i, l))
			mean[j] += avg(loss[j][i]) / float64(len(names))
		}
		if mean[j] < mean[best] {
			best = j
		}
	}
	chosen := best
	fmt.Printf("# lambda by leave-one-dataset-out log loss (mean over datasets; standard error of the difference to the best)\n")
	for j, l := range lambdas {
		se := diffError(loss[j], loss[best])
		if j > chosen && mean[j]-mean[best] <= se {
			chosen = j
		}
		fmt.Printf("lambda %-5g %.4f  ± %.4f\n", l, mean[j], se)
	}
	fmt.Printf("chosen: %g\n\n", lambdas[chosen])
	return lambdas[chosen]
}

// diffError is the standard error of the mean over datasets of the mean
// per-case difference between two sets of losses.
func diffError(a, b [][]float64) float64 {
	v := 0.0
	for i := range a {
		n := len(a[i])
		if n < 2 {
			continue
		}
		d := make([]float64, n)
		for k := range d {
			d[k] = a[i][k] - b[i][k]
		}
		m := avg(d)
		ss := 0.0
		for _, x := range d {
			ss += (x - m) * (x - m)
		}
		v += ss / float64(n-1) / float64(n) / float64(len(a)*len(a))
	}
	return math.Sqrt(v)
}

func avg(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// logLosses is the log loss of the top candidate's confidence (as the
// analysis gives it, shrink included) for each case of one dataset as
// given, in row order.
func logLosses(rows []row, ds int, m analysis.ConfidenceModel) []float64 {
	var out []float64
	for _, r := range rows {
		if r.ds != ds || r.cut != 0 || r.rank > 1 {
			continue
		}
		c := 0.0
		if r.rank == 1 {
			c = r.shrink * m.Probability(r.x)
		}
		c = min(max(c, 1e-4), 1-1e-4)
		out = append(out, -(r.y*math.Log(c) + (1-r.y)*math.Log(1-c)))
	}
	return out
}

// trainingSet picks the rows the fit is on, and their weights: the
// candidates of the cut baselines (see trains), at the lengths at least
// half of a dataset's fault cases and half of its fault-free ones reach,
// each weighted by the inverse of the share of its class that reaches
// that length. A dataset's fault cases have the longer baselines, so
// unweighted the longer lengths would be mostly faults and the baseline
// feature would learn that again; weighted, every length holds fault and
// fault-free cases in the dataset's own proportion. Every candidate row
// counts (a case with three candidates, three times), as before the cuts.
func trainingSet(rows []row) ([]row, []float64) {
	type class struct {
		ds   int
		free bool
	}
	type at struct {
		c   class
		cut int
	}
	cases := map[class]map[string]bool{}
	reach := map[at]map[string]bool{}
	for _, r := range rows {
		if r.cut == 0 {
			continue
		}
		c := class{r.ds, r.faultFree}
		if cases[c] == nil {
			cases[c] = map[string]bool{}
		}
		cases[c][r.caseID] = true
		k := at{c, r.cut}
		if reach[k] == nil {
			reach[k] = map[string]bool{}
		}
		reach[k][r.caseID] = true
	}
	usable := func(ds, cut int) bool {
		for _, free := range []bool{false, true} {
			c := class{ds, free}
			if n := len(cases[c]); n > 0 && 2*len(reach[at{c, cut}]) < n {
				return false
			}
		}
		return true
	}
	var train []row
	var weight []float64
	for _, r := range rows {
		if !trains(r) || !usable(r.ds, r.cut) {
			continue
		}
		c := class{r.ds, r.faultFree}
		train = append(train, r)
		weight = append(weight, float64(len(cases[c]))/float64(len(reach[at{c, r.cut}])))
	}
	return train, weight
}

// fitLogistic fits weights by Newton's method on the L2-penalised,
// sample-weighted log-likelihood, on trainingSet's rows and weights. Each
// dataset's rows share a total weight of 1, so every dataset counts the
// same.
func fitLogistic(rows []row, datasets int, lambda float64) analysis.ConfidenceModel {
	train, weight := trainingSet(rows)
	count := make([]float64, datasets)
	for i, r := range train {
		count[r.ds] += weight[i]
	}
	used := 0.0
	for _, c := range count {
		if c > 0 {
			used++
		}
	}
	d := len(analysis.ConfidenceFeatureNames) + 1
	w := make([]float64, d)
	for range 50 {
		g := make([]float64, d)
		h := make([][]float64, d)
		for i := range h {
			h[i] = make([]float64, d)
		}
		for k, r := range train {
			sw := weight[k] / count[r.ds] / used
			x := append([]float64{1}, r.x...)
			p := analysis.ConfidenceModel(w).Probability(r.x)
			for i := range d {
				g[i] += sw * (p - r.y) * x[i]
				for j := range d {
					h[i][j] += sw * p * (1 - p) * x[i] * x[j]
				}
			}
		}
		for i := 1; i < d; i++ {
			g[i] += lambda * w[i] / 100
			h[i][i] += lambda / 100
		}
		for i := 1; i < d; i++ {
			if h[i][i] == lambda/100 { // the feature never occurs: keep it out of the fit
				for j := range d {
					h[i][j], h[j][i] = 0, 0
				}
				h[i][i], g[i] = 1, 0
			}
		}
		h[0][0] += 1e-9
		step := solve(h, g)
		done := true
		for i := range w {
			w[i] -= step[i]
			if math.Abs(step[i]) > 1e-7 {
				done = false
			}
		}
		if done {
			break
		}
	}
	// A feature that never occurs in the training rows keeps its prior.
	for i, n := range analysis.ConfidenceFeatureNames {
		if p, ok := analysis.ConfidencePriors[n]; ok {
			occurs := false
			for _, r := range train {
				occurs = occurs || r.x[i] != 0
			}
			if !occurs {
				w[i+1] = p
			}
		}
	}
	return w
}

// solve solves a·x = b by Gaussian elimination with partial pivoting.
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(append([]float64{}, a[i]...), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for k := r + 1; k < n; k++ {
			s -= m[r][k] * x[k]
		}
		x[r] = s / m[r][r]
	}
	return x
}

type setScore struct {
	spec, brier                                   float64
	faults, named, namedRight, right, cases, free int
	bins                                          [5][3]float64 // count, sum conf, sum y
}

// scoreSet scores the top candidate of every case of one dataset, as given.
func scoreSet(rows []row, ds int, m analysis.ConfidenceModel, t float64) setScore {
	return scoreCut(rows, ds, m, t, 0)
}

// scoreCut scores the top candidate of every case of one dataset whose
// baseline was cut to cut samples (0: as given), with the confidence as
// the analysis gives it (a too short baseline's shrink included).
func scoreCut(rows []row, ds int, m analysis.ConfidenceModel, t float64, cut int) setScore {
	var s setScore
	quiet, free, n := 0, 0, 0
	for _, r := range rows {
		if r.ds != ds || r.rank > 1 || r.cut != cut {
			continue
		}
		n++
		c := 0.0
		if r.rank == 1 {
			c = r.shrink * m.Probability(r.x)
		}
		namedIt := r.rank == 1 && c >= t
		if !namedIt {
			c = 0
		}
		if r.faultFree {
			free++
			if !namedIt {
				quiet++
			}
		} else {
			s.faults++
			if r.y == 1 {
				s.right++
			}
			if namedIt {
				s.named++
				if r.y == 1 {
					s.namedRight++
				}
			}
		}
		s.brier += (c - r.y) * (c - r.y)
		if r.rank == 1 {
			p := r.shrink * m.Probability(r.x)
			b := min(int(p*5), 4)
			s.bins[b][0]++
			s.bins[b][1] += p
			s.bins[b][2] += r.y
		}
	}
	s.cases, s.free = n, free
	if free > 0 {
		s.spec = float64(quiet) / float64(free)
	}
	if n > 0 {
		s.brier /= float64(n)
	}
	return s
}

func report(name string, rows []row, ds int, m analysis.ConfidenceModel, t float64) {
	s := scoreSet(rows, ds, m, t)
	fmt.Printf("%-28s spec %.2f  brier %.3f  top right %d/%d, named %d (right %d)\n", name, s.spec, s.brier, s.right, s.faults, s.named, s.namedRight)
	fmt.Printf("  %-28s", "reliability (top cand.):")
	for b, bin := range s.bins {
		if bin[0] == 0 {
			fmt.Printf("  [%.1f,%.1f) -", float64(b)/5, float64(b+1)/5)
			continue
		}
		fmt.Printf("  [%.1f,%.1f) n=%d conf %.2f acc %.2f", float64(b)/5, float64(b+1)/5, int(bin[0]), bin[1]/bin[0], bin[2]/bin[0])
	}
	fmt.Println()
}

func writeDump(path string, rows []row, names []string) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ds < rows[j].ds })
	var b strings.Builder
	b.WriteString("dataset,case,fault,fault_free,cut,shrink,rank,y," + strings.Join(analysis.ConfidenceFeatureNames, ",") + "\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%t,%d,%g,%d,%g", names[r.ds], r.caseID, r.fault, r.faultFree, r.cut, r.shrink, r.rank, r.y)
		for i := range analysis.ConfidenceFeatureNames {
			v := 0.0
			if i < len(r.x) {
				v = r.x[i]
			}
			fmt.Fprintf(&b, ",%g", v)
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fitconfidence:", err)
	os.Exit(1)
}
