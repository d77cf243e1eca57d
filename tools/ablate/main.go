// Command ablate scores the analysis on labelled datasets with part of each
// case's data taken away or degraded, to measure how it holds up on an
// installation that has less than the dev sets do: no level labels on the
// log streams, no log-derived counts, logs alone, no call graph, a shorter
// baseline, coarser or gappier samples.
//
//	go run ./tools/ablate [flags] DATASET_DIR...
//
// With no directory it reads the three dev sets under ../shared/datasets.
// Each flag removes or degrades one thing; they combine. The cases are
// scored by rca eval's own Run (eval.RCA on the degraded bundle), which
// prints, per dataset, AC@1 and Avg@5 over the fault cases, the
// specificity over the fault-free cases, the Brier score over all, and how
// many fault cases leave the truth unranked. Run it once without flags for
// the reference row.
package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/eval"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/tools/internal/devsets"
)

// options are what is taken away from every case.
type options struct {
	noLevels    bool           // drop the level labels of log lines
	noLogs      bool           // drop the log lines
	noSeries    bool           // drop every series (logs alone)
	dropSeries  *regexp.Regexp // drop the series whose metric name matches
	noGraph     bool           // drop the call graph
	baseline    float64        // keep this fraction of the baseline, its end
	step        time.Duration  // keep one sample per step of each series
	gaps        float64        // drop this fraction of the samples, at random
	gapsSeed    uint64
	opaque      bool     // rename every metric to a name that says nothing
	levelLabels []string // the catalog's: the labels the analysis reads a line's level from
}

func main() {
	var o options
	var drop string
	flag.BoolVar(&o.noLevels, "no-level-labels", false, "drop the level labels of log lines: the level must be read from the text")
	flag.BoolVar(&o.noLogs, "no-logs", false, "drop the log lines")
	flag.BoolVar(&o.noSeries, "no-series", false, "drop every series: the logs alone")
	flag.StringVar(&drop, "drop-series", "", "drop the series whose metric name matches this regular expression (e.g. '^log_' for log-derived counts)")
	flag.BoolVar(&o.noGraph, "no-graph", false, "drop the call graph")
	flag.Float64Var(&o.baseline, "baseline", 1, "keep this fraction of the baseline, the part next to the window (0 < f <= 1)")
	flag.DurationVar(&o.step, "step", 0, "keep one sample per step of each series (coarser scrapes)")
	flag.Float64Var(&o.gaps, "gaps", 0, "drop this fraction of all samples, at random (0 <= f < 1)")
	flag.Uint64Var(&o.gapsSeed, "seed", 1, "seed of -gaps")
	flag.BoolVar(&o.opaque, "opaque-names", false, "rename every metric to a name that says nothing (m_ and a hash): no catalog signal or name rule applies")
	flag.Parse()
	if drop != "" {
		re, err := regexp.Compile(drop)
		if err != nil {
			fail("-drop-series: %v", err)
		}
		o.dropSeries = re
	}
	if !(o.baseline > 0 && o.baseline <= 1) { // NaN fails too
		fail("-baseline %v: want a fraction in (0, 1]", o.baseline)
	}
	if !(o.gaps >= 0 && o.gaps < 1) {
		fail("-gaps %v: want a fraction in [0, 1)", o.gaps)
	}
	if o.step < 0 {
		fail("-step %v: want a positive duration", o.step)
	}
	dirs := devsets.Dirs(flag.Args())
	cat, err := catalog.Default()
	if err != nil {
		fail("catalog: %v", err)
	}
	o.levelLabels = cat.LevelLabels
	rep, err := eval.Run(context.Background(), dirs, []eval.Ranker{degraded{eval.RCA{Catalog: cat}, o}}, nil)
	if err != nil {
		fail("%v", err)
	}
	fmt.Printf("%-28s %6s %6s %6s %6s %5s %5s %8s\n", "dataset", "AC@1", "Avg@5", "spec", "brier", "cases", "free", "unranked")
	for _, d := range rep.Datasets {
		for _, e := range d.Errors {
			fmt.Fprintf(os.Stderr, "ablate: %s %s: %s\n", d.Name, e.Case, e.Error)
		}
		m := d.Methods[0]
		spec, brier := 0.0, 0.0
		if m.Specificity != nil {
			spec = *m.Specificity
		}
		if m.Brier != nil {
			brier = *m.Brier
		}
		unranked := 0
		for _, w := range d.Wrong {
			if w.Rank == 0 {
				unranked++
			}
		}
		fmt.Printf("%-28s %6.3f %6.3f %6.2f %6.3f %5d %5d %8d\n", d.Name, m.AC1, m.Avg5, spec, brier, d.FaultCount, d.FaultFreeCount, unranked)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "ablate: "+format+"\n", a...)
	os.Exit(1)
}

// degraded is rca's ranker on every case with what o takes away taken away;
// rca eval's Run scores it.
type degraded struct {
	rca eval.RCA
	o   options
}

func (d degraded) Name() string { return d.rca.Name() }

// Answer implements eval.Answerer, which Run calls.
func (d degraded) Answer(b telemetry.Bundle) eval.Answer { return d.rca.Answer(degrade(b, d.o)) }

// Rank implements eval.Ranker.
func (d degraded) Rank(b telemetry.Bundle) []string { return d.Answer(b).Services }

// degrade returns a copy of b with what o takes away taken away.
func degrade(b telemetry.Bundle, o options) telemetry.Bundle {
	if o.noGraph {
		b.Edges = nil
	}
	if o.baseline < 1 {
		b.Baseline.From = b.Baseline.To.Add(-time.Duration(o.baseline * float64(b.Baseline.Duration())))
	}
	if o.noLogs {
		b.Logs = nil
	}
	if o.noLevels {
		logs := make([]telemetry.LogLine, len(b.Logs))
		for i, l := range b.Logs {
			labels := telemetry.Labels{}
			for k, v := range l.Labels {
				if !slices.Contains(o.levelLabels, k) {
					labels[k] = v
				}
			}
			l.Labels = labels
			logs[i] = l
		}
		b.Logs = logs
	}
	rng := rand.New(rand.NewPCG(o.gapsSeed, 0))
	var series []telemetry.Series
	for _, s := range b.Series {
		if o.noSeries || o.dropSeries != nil && o.dropSeries.MatchString(s.Metric) {
			continue
		}
		if o.step > 0 || o.gaps > 0 {
			s = thin(s, o.step, o.gaps, rng)
		}
		if o.opaque {
			s.Metric, s.Signal = opaqueName(s.Metric), ""
		}
		series = append(series, s)
	}
	b.Series = series
	return b
}

// thin keeps the first sample of every step and drops a fraction at random.
func thin(s telemetry.Series, step time.Duration, gaps float64, rng *rand.Rand) telemetry.Series {
	var times []int64
	var values []float64
	last := int64(-1)
	for i, t := range s.Times {
		if step > 0 {
			bucket := t / int64(step)
			if bucket == last {
				continue
			}
			last = bucket
		}
		if gaps > 0 && rng.Float64() < gaps {
			continue
		}
		times = append(times, t)
		values = append(values, s.Values[i])
	}
	s.Times, s.Values = times, values
	return s
}

// opaqueName is a metric name that keeps which metric it was and nothing
// of what it measures.
func opaqueName(metric string) string {
	h := fnv.New32a()
	h.Write([]byte(metric))
	return fmt.Sprintf("m_%08x", h.Sum32())
}
