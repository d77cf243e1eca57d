package demo

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/rca-tool/rca/telemetry"
)

// The tests below read the OpenMetrics output with Prometheus's own parser
// and evaluate the catalog's queries on it Go-side, the way Prometheus 2.x
// does (rate() with its extrapolation, histogram_quantile with its linear
// interpolation), then compare with what Generate returns for the same
// scenario.

// omSeries is one parsed series: its samples in file order.
type omSeries struct {
	name   string
	labels map[string]string // without __name__
	ts     []int64           // milliseconds
	vals   []float64
}

// omFile is a parsed OpenMetrics file.
type omFile struct {
	types  map[string]pmodel.MetricType // family -> type
	series []*omSeries
}

// parseOM parses data with Prometheus's OpenMetrics parser and checks the
// structure promtool's backfill relies on: it ends with # EOF, every family
// has a HELP and a TYPE, every sample belongs to the family whose TYPE came
// last (a family's lines are contiguous), every sample has a timestamp and
// a series' samples are in time order.
func parseOM(t *testing.T, data []byte) *omFile {
	t.Helper()
	p := textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	f := &omFile{types: map[string]pmodel.MetricType{}}
	byKey := map[string]*omSeries{}
	fam, help, done := "", map[string]bool{}, map[string]bool{}
	var lset labels.Labels
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		switch e {
		case textparse.EntryHelp:
			name, _ := p.Help()
			help[string(name)] = true
		case textparse.EntryType:
			name, typ := p.Type()
			if done[string(name)] {
				t.Fatalf("family %s appears twice", name)
			}
			if fam != "" {
				done[fam] = true
			}
			fam = string(name)
			if !help[fam] {
				t.Errorf("family %s has no HELP", fam)
			}
			f.types[fam] = typ
		case textparse.EntrySeries:
			id, ts, v := p.Series()
			if ts == nil {
				t.Fatal("a sample without a timestamp")
			}
			// The series text as written is a cheaper key than the
			// parsed labels: the writer always orders labels the same.
			key := string(id)
			s := byKey[key]
			if s == nil {
				p.Labels(&lset)
				m := lset.Map()
				delete(m, labels.MetricName)
				s = &omSeries{name: lset.Get(labels.MetricName), labels: m}
				byKey[key] = s
				f.series = append(f.series, s)
			}
			if !sampleOf(s.name, fam, f.types[fam]) {
				t.Fatalf("sample %s outside its family (in %s)", s.name, fam)
			}
			if n := len(s.ts); n > 0 && *ts <= s.ts[n-1] {
				t.Fatalf("%s: sample at %d after %d", key, *ts, s.ts[n-1])
			}
			s.ts = append(s.ts, *ts)
			s.vals = append(s.vals, v)
		}
	}
	if !bytes.HasSuffix(data, []byte("\n# EOF\n")) {
		t.Fatal("no # EOF at the end")
	}
	return f
}

func sampleOf(name, fam string, typ pmodel.MetricType) bool {
	switch typ {
	case pmodel.MetricTypeCounter:
		return name == fam+"_total"
	case pmodel.MetricTypeHistogram:
		return name == fam+"_bucket" || name == fam+"_sum" || name == fam+"_count"
	case pmodel.MetricTypeSummary:
		return name == fam || name == fam+"_sum" || name == fam+"_count"
	}
	return name == fam
}

func writeOM(t *testing.T, s Scenario) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Grow(64 << 20)
	if err := WriteOpenMetrics(&buf, s); err != nil {
		t.Fatalf("WriteOpenMetrics(%+v): %v", s, err)
	}
	return buf.Bytes()
}

// promRate is Prometheus 2.x's rate() (extrapolatedRate) of one series at
// t over [t-rng, t], both ends included; ok is false with fewer than two
// samples in range.
func promRate(s *omSeries, t, rng int64) (float64, bool) {
	lo, _ := slices.BinarySearch(s.ts, t-rng)
	hi, found := slices.BinarySearch(s.ts, t)
	if found {
		hi++
	}
	if hi-lo < 2 {
		return 0, false
	}
	ts, vs := s.ts[lo:hi], s.vals[lo:hi]
	result := vs[len(vs)-1] - vs[0]
	for i := 1; i < len(vs); i++ {
		if vs[i] < vs[i-1] {
			result += vs[i-1] // a counter reset
		}
	}
	toStart := float64(ts[0]-(t-rng)) / 1000
	toEnd := float64(t-ts[len(ts)-1]) / 1000
	sampled := float64(ts[len(ts)-1]-ts[0]) / 1000
	avg := sampled / float64(len(ts)-1)
	if result > 0 && vs[0] >= 0 {
		if toZero := sampled * (vs[0] / result); toZero < toStart {
			toStart = toZero
		}
	}
	interval := sampled
	for _, d := range []float64{toStart, toEnd} {
		if d < avg*1.1 {
			interval += d
		} else {
			interval += avg / 2
		}
	}
	return result * (interval / sampled) / (float64(rng) / 1000), true
}

// bucketQuantile is Prometheus 2.x's histogram_quantile over (le, count)
// pairs sorted by le, the last one +Inf.
func bucketQuantile(q float64, les, counts []float64) float64 {
	counts = slices.Clone(counts)
	for i := 1; i < len(counts); i++ {
		counts[i] = math.Max(counts[i], counts[i-1])
	}
	total := counts[len(counts)-1]
	if len(les) < 2 || total == 0 {
		return math.NaN()
	}
	rank := q * total
	b := sort.Search(len(counts)-1, func(i int) bool { return counts[i] >= rank })
	if b == len(counts)-1 {
		return les[len(les)-2]
	}
	start, count := 0.0, counts[b]
	if b > 0 {
		start = les[b-1]
		count -= counts[b-1]
		rank -= counts[b-1]
	}
	return start + (les[b]-start)*(rank/count)
}

// evaluator evaluates the catalog's queries on a parsed file at an instant.
type evaluator struct {
	byName map[string][]*omSeries
}

func newEvaluator(f *omFile) *evaluator {
	e := &evaluator{byName: map[string][]*omSeries{}}
	for _, s := range f.series {
		e.byName[s.name] = append(e.byName[s.name], s)
	}
	return e
}

const rate2m = int64(2 * time.Minute / time.Millisecond)

// sumRate is sum by (by) (rate(name{keep}[rng])) at t.
func (e *evaluator) sumRate(name string, keep func(map[string]string) bool, t, rng int64, by []string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range e.byName[name] {
		if keep != nil && !keep(s.labels) {
			continue
		}
		if v, ok := promRate(s, t, rng); ok {
			out[groupKey(s.labels, by)] += v
		}
	}
	return out
}

// sumLast is sum by (by) (name) at t with a lookback shorter than a step:
// the series with a sample at t.
func (e *evaluator) sumLast(name string, t int64, by []string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range e.byName[name] {
		if i, ok := slices.BinarySearch(s.ts, t); ok {
			out[groupKey(s.labels, by)] += s.vals[i]
		}
	}
	return out
}

// quantile is histogram_quantile(q, sum by (by, le) (rate(name_bucket[2m]))) at t.
func (e *evaluator) quantile(q float64, name string, t int64, by []string) map[string]float64 {
	type bucket struct{ le, n float64 }
	groups := map[string][]bucket{}
	for _, s := range e.byName[name+"_bucket"] {
		v, ok := promRate(s, t, rate2m)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			panic(err)
		}
		k := groupKey(s.labels, by)
		i := slices.IndexFunc(groups[k], func(b bucket) bool { return b.le == le })
		if i < 0 {
			groups[k] = append(groups[k], bucket{le: le})
			i = len(groups[k]) - 1
		}
		groups[k][i].n += v
	}
	out := map[string]float64{}
	for k, bs := range groups {
		slices.SortFunc(bs, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
		les, ns := make([]float64, len(bs)), make([]float64, len(bs))
		for i, b := range bs {
			les[i], ns[i] = b.le, b.n
		}
		out[k] = bucketQuantile(q, les, ns)
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func groupKey(l map[string]string, by []string) string {
	parts := make([]string, len(by))
	for i, k := range by {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}

// ratioOf is num / den as PromQL divides: only groups on both sides.
func ratioOf(num, den map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, d := range den {
		if n, ok := num[k]; ok {
			out[k] = n / d
		}
	}
	return out
}

func is5xx(l map[string]string) bool { return strings.HasPrefix(l["code"], "5") }
func is50x(l map[string]string) bool {
	return l["code"] == "502" || l["code"] == "503" || l["code"] == "504"
}

// signalQuery is a catalog signal's query, evaluated Go-side at t.
type signalQuery struct {
	by   []string
	eval func(e *evaluator, t int64, by []string) map[string]float64
}

// signalQueries mirror the queries of configs/catalog.yaml.
func signalQueries() map[string]signalQuery {
	rate := func(name string) func(*evaluator, int64, []string) map[string]float64 {
		return func(e *evaluator, t int64, by []string) map[string]float64 {
			return e.sumRate(name, nil, t, rate2m, by)
		}
	}
	route, upstream, service := []string{"service", "route"}, []string{"service", "upstream"}, []string{"service"}
	return map[string]signalQuery{
		"http_request_rate": {route, rate("http_server_requests_total")},
		"http_error_ratio": {route, func(e *evaluator, t int64, by []string) map[string]float64 {
			return ratioOf(e.sumRate("http_server_requests_total", is5xx, t, rate2m, by), e.sumRate("http_server_requests_total", nil, t, rate2m, by))
		}},
		"http_latency_p99": {route, func(e *evaluator, t int64, by []string) map[string]float64 {
			return e.quantile(0.99, "http_server_request_duration_seconds", t, by)
		}},
		"upstream_timeouts": {upstream, rate("http_client_timeouts_total")},
		"upstream_error_ratio": {upstream, func(e *evaluator, t int64, by []string) map[string]float64 {
			return ratioOf(e.sumRate("http_client_requests_total", is50x, t, rate2m, by), e.sumRate("http_client_requests_total", nil, t, rate2m, by))
		}},
		"upstream_latency_p99": {upstream, func(e *evaluator, t int64, by []string) map[string]float64 {
			return e.quantile(0.99, "http_client_request_duration_seconds", t, by)
		}},
		"cpu_usage":      {service, rate("container_cpu_usage_seconds_total")},
		"cpu_throttling": {service, rate("container_cpu_cfs_throttled_seconds_total")},
		"gc_pause":       {service, rate("go_gc_duration_seconds_sum")},
		"memory_working_set": {service, func(e *evaluator, t int64, by []string) map[string]float64 {
			return e.sumLast("container_memory_working_set_bytes", t, by)
		}},
		"pod_restarts": {service, func(e *evaluator, t int64, by []string) map[string]float64 {
			// increase(x[5m]) is rate(x[5m]) times 300.
			out := e.sumRate("kube_pod_container_status_restarts_total", nil, t, 5*60*1000, by)
			for k := range out {
				out[k] *= 300
			}
			return out
		}},
	}
}

// reevaluate evaluates every catalog signal of the bundle on the file at
// each of the bundle's steps: series by ID, with a point wherever the
// query has a value.
func reevaluate(b telemetry.Bundle, f *omFile) map[string]telemetry.Series {
	e := newEvaluator(f)
	queries := signalQueries()
	type at struct {
		signal string
		t      time.Time
	}
	cache := map[at]map[string]float64{}
	out := map[string]telemetry.Series{}
	for _, s := range b.Series {
		q, ok := queries[s.Signal]
		if !ok {
			continue
		}
		got := telemetry.Series{Metric: s.Metric, Signal: s.Signal, Labels: s.Labels}
		for _, p := range s.Points() {
			vals, ok := cache[at{s.Signal, p.T}]
			if !ok {
				vals = q.eval(e, p.T.UnixMilli(), q.by)
				cache[at{s.Signal, p.T}] = vals
			}
			if v, ok := vals[groupKey(s.Labels, q.by)]; ok && !math.IsNaN(v) {
				got.Append(p.T, v)
			}
		}
		out[s.ID()] = got
	}
	return out
}

// relDiff is |a-b| relative to the larger of them, with floor as the
// smallest scale that counts (below it both are "about zero").
func relDiff(a, b, floor float64) float64 {
	return math.Abs(a-b) / math.Max(floor, math.Max(math.Abs(a), math.Abs(b)))
}

// floors are the scales below which a signal's values count as zero in a
// relative difference: half a request per second, a handful of errors or
// timeouts per 2m window, 5 ms of latency, 10 millicores, a few
// milliseconds of throttling or GC per second, a MiB, a restart. Without
// them Poisson noise on rare events reads as a 100 % difference.
func omFloors() map[string]float64 {
	return map[string]float64{
		"http_request_rate": 0.5, "http_error_ratio": 0.005, "http_latency_p99": 0.005,
		"upstream_timeouts": 0.05, "upstream_error_ratio": 0.005, "upstream_latency_p99": 0.005,
		"cpu_usage": 0.01, "cpu_throttling": 0.003, "gc_pause": 0.001, "memory_working_set": 1 << 20, "pod_restarts": 1,
	}
}

// omTolerances bound the median relative difference per signal, in the
// baseline and in the window alike. The generator draws its noise per
// step, on the value rate()[2m] would show; a counter can only carry it
// per step, so rate() averages it over four steps. The bounds are about
// twice the medians measured on the default scenario, which sit near the
// share of the per-step noise that averaging removes:
//   - request rate 2 %: AR(1) noise of 2 % plus sampling noise;
//   - 5xx and upstream 502/503/504 ratios 2 % and 0 %: binomial draws on a
//     few errors per window (most samples are within the floor);
//   - p99 4 % server side, 2.5 % client side: the normal requests' p99
//     noise (6 %), and what histogram_quantile's interpolation inside a
//     bucket leaves after calibration;
//   - CPU 2 %: 4 % noise per step; GC 6 %: 15 % log-normal noise;
//   - throttling 20 %: log-normal noise with a 60 % spread per step;
//   - memory 0.5 %: a gauge, only the pods' 1 % noise around their share;
//   - restarts: none, exactly.
func omTolerances() map[string]float64 {
	return map[string]float64{
		"http_request_rate": 0.05, "http_error_ratio": 0.05, "http_latency_p99": 0.08,
		"upstream_timeouts": 0.02, "upstream_error_ratio": 0.03, "upstream_latency_p99": 0.06,
		"cpu_usage": 0.04, "cpu_throttling": 0.35, "gc_pause": 0.15, "memory_working_set": 0.015, "pod_restarts": 0,
	}
}

func median1(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// storySeries is a series whose onset must agree between the generator
// and the re-evaluation.
type storySeries struct {
	signal string
	labels telemetry.Labels
}

func TestWriteOpenMetrics(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     Scenario
		story []storySeries
	}{
		{"pi-digits", PiDigits(), []storySeries{
			{"cpu_usage", telemetry.Labels{"service": "checkout"}},
			{"cpu_throttling", telemetry.Labels{"service": "checkout"}},
			{"http_latency_p99", telemetry.Labels{"service": "checkout", "route": "POST /api/checkout"}},
			{"upstream_latency_p99", telemetry.Labels{"service": "gateway", "upstream": "checkout"}},
			{"upstream_timeouts", telemetry.Labels{"service": "gateway", "upstream": "checkout"}},
			{"upstream_error_ratio", telemetry.Labels{"service": "gateway", "upstream": "checkout"}},
			{"http_error_ratio", telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"}},
		}},
		// A memory leak in payments, sampled every minute (half the data).
		{"payments-memory-leak-1m", Scenario{Seed: 7, FaultyService: "payments", Fault: FaultMemoryLeak, Step: time.Minute}, []storySeries{
			{"memory_working_set", telemetry.Labels{"service": "payments"}},
			{"gc_pause", telemetry.Labels{"service": "payments"}},
			{"upstream_latency_p99", telemetry.Labels{"service": "checkout", "upstream": "payments"}},
			{"upstream_timeouts", telemetry.Labels{"service": "checkout", "upstream": "payments"}},
			{"http_error_ratio", telemetry.Labels{"service": "gateway", "route": "POST /api/checkout"}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := generate(t, c.s)
			f := parseOM(t, writeOM(t, c.s))
			t.Run("counters", func(t *testing.T) { checkCounters(t, f) })
			t.Run("buckets", func(t *testing.T) { checkBuckets(t, f) })
			t.Run("gauges", func(t *testing.T) { checkGauges(t, b, f) })
			t.Run("deploys", func(t *testing.T) { checkDeploys(t, c.s, b, f) })
			got := reevaluate(b, f)
			t.Run("signals", func(t *testing.T) { checkSignals(t, b, got) })
			t.Run("story", func(t *testing.T) {
				s, _ := c.s.withDefaults()
				for _, st := range c.story {
					want := find(t, b, st.signal, st.labels)
					base, _, late := stats(b, want)
					threshold := base + (late-base)/2
					w, g := onset(t, b, want, threshold), onset(t, b, got[want.ID()], threshold)
					if d := g.Sub(w); d < -s.Step || d > s.Step {
						t.Errorf("%s crosses %.3g at %s in the file, at %s in the bundle", want.ID(), threshold, g.Format("15:04:05"), w.Format("15:04:05"))
					}
				}
			})
		})
	}
}

// checkCounters: a counter, a histogram's buckets, sum and count and a
// summary's sum and count never decrease, and start at zero or above.
func checkCounters(t *testing.T, f *omFile) {
	n := 0
	for _, s := range f.series {
		if f.types[s.name] == pmodel.MetricTypeGauge {
			continue
		}
		n++
		for i, v := range s.vals {
			if v < 0 || i > 0 && v < s.vals[i-1] {
				t.Errorf("%s%v: %g after %g at sample %d", s.name, s.labels, v, s.vals[max(0, i-1)], i)
				break
			}
		}
	}
	if n < 1000 {
		t.Errorf("%d cumulative series, want the catalog's counters per pod", n)
	}
}

// checkBuckets: the buckets of a histogram point are cumulative in le, end
// with +Inf, and the +Inf bucket is the count.
func checkBuckets(t *testing.T, f *omFile) {
	type bucket struct {
		le float64
		s  *omSeries
	}
	groups := map[string][]bucket{} // histogram and labels but le -> buckets
	counts := map[string]*omSeries{}
	key := func(name string, l map[string]string) string {
		rest := make(map[string]string, len(l))
		for k, v := range l {
			if k != "le" {
				rest[k] = v
			}
		}
		return name + telemetry.Labels(rest).String()
	}
	for _, s := range f.series {
		if base, ok := strings.CutSuffix(s.name, "_bucket"); ok {
			le, err := strconv.ParseFloat(s.labels["le"], 64)
			if err != nil {
				t.Fatalf("%s%v: le: %v", s.name, s.labels, err)
			}
			k := key(base, s.labels)
			groups[k] = append(groups[k], bucket{le, s})
		} else if base, ok := strings.CutSuffix(s.name, "_count"); ok && f.types[base] == pmodel.MetricTypeHistogram {
			counts[key(base, s.labels)] = s
		}
	}
	if len(groups) == 0 {
		t.Fatal("no histogram buckets")
	}
	for k, bs := range groups {
		slices.SortFunc(bs, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
		count, last := counts[k], bs[len(bs)-1]
		if len(bs) != len(durationBounds())+1 || !math.IsInf(last.le, 1) || count == nil {
			t.Errorf("%s: %d buckets, the last le=%g, count %v", k, len(bs), last.le, count != nil)
			continue
		}
		for j, ts := range count.ts {
			ok := true
			for i, b := range bs {
				ok = ok && len(b.s.ts) == len(count.ts) && b.s.ts[j] == ts && (i == 0 || b.s.vals[j] >= bs[i-1].s.vals[j])
			}
			if !ok || last.s.vals[j] != count.vals[j] {
				t.Errorf("%s at %d: buckets not cumulative, or +Inf is not the count", k, ts)
				break
			}
		}
	}
}

// checkGauges: every raw series of the bundle is in the file under its own
// name and labels, with its values.
func checkGauges(t *testing.T, b telemetry.Bundle, f *omFile) {
	byID := map[string]*omSeries{}
	for _, s := range f.series {
		if f.types[s.name] == pmodel.MetricTypeGauge && !deployFamilies()[s.name] {
			byID[telemetry.Series{Metric: s.name, Labels: s.labels}.ID()] = s
		}
	}
	n := 0
	for _, s := range b.Series {
		if s.Signal != "" {
			continue
		}
		n++
		g, ok := byID[s.ID()]
		if !ok {
			t.Errorf("%s is not in the file", s.ID())
			continue
		}
		if len(g.vals) != s.Len() {
			t.Errorf("%s: %d samples, want %d", s.ID(), len(g.vals), s.Len())
			continue
		}
		for i, p := range s.Points() {
			if g.ts[i] != p.T.UnixMilli() || g.vals[i] != p.V {
				t.Errorf("%s: sample %d is %g at %d, want %g at %d", s.ID(), i, g.vals[i], g.ts[i], p.V, p.T.UnixMilli())
				break
			}
		}
	}
	if n != len(byID) {
		t.Errorf("%d gauges in the file, %d raw series in the bundle", len(byID), n)
	}
}

// deployFamilies are the gauges that show the deploys (and the pods'
// lives) in the raw series; the bundle has none of them.
func deployFamilies() map[string]bool {
	return map[string]bool{
		"kube_deployment_metadata_generation": true, "kube_deployment_status_observed_generation": true,
		"kube_statefulset_metadata_generation": true, "kube_statefulset_status_observed_generation": true,
		"app_build_info": true, "process_start_time_seconds": true,
	}
}

// steps are the changes of a series' value: at which sample, by how much.
type valueStep struct {
	ts    int64
	delta float64
}

func valueSteps(s *omSeries) []valueStep {
	var out []valueStep
	for i := 1; i < len(s.vals); i++ {
		if s.vals[i] != s.vals[i-1] {
			out = append(out, valueStep{s.ts[i], s.vals[i] - s.vals[i-1]})
		}
	}
	return out
}

// checkDeploys: the deploys of Generate's Changes show in the raw series
// as kube-state-metrics and the pods' own metrics show them.
//   - Every Deployment (HTTP service) and StatefulSet (database) has a
//     generation over the whole file; a deployed service's steps up by one
//     at the first scrape at or after the deploy, its observed generation
//     one scrape later; no other generation changes.
//   - app_build_info: every pod of an HTTP service has one, always 1; the
//     pods before a deploy carry its FromVersion and one revision (not the
//     deploy's commit), the pods after it its ToVersion and Commit, from
//     the first scrape at or after the deploy on; both versions are scraped
//     together for no longer than the pod replacement (hopLag, at least one
//     step), and no scrape has neither. A service no deploy touches runs
//     its current version on every pod.
//   - process_start_time_seconds: one per pod (the same pods as the
//     counters'), constant; an old pod's is before the file starts, a new
//     pod's is its first sample, at or after its deploy.
func checkDeploys(t *testing.T, sc Scenario, b telemetry.Bundle, f *omFile) {
	sc, _ = sc.withDefaults()
	step := sc.Step.Milliseconds()
	deployed := map[string]telemetry.Change{}
	for _, c := range b.Changes {
		if c.Kind != telemetry.ChangeDeploy {
			continue
		}
		if _, ok := deployed[c.Service]; ok {
			t.Fatalf("two deploys of %s", c.Service)
		}
		deployed[c.Service] = c
	}
	if len(deployed) != 2 {
		t.Fatalf("%d deployed services, want the decoy and the faulty one", len(deployed))
	}
	byName := map[string][]*omSeries{}
	var first, last int64 = math.MaxInt64, math.MinInt64
	for _, s := range f.series {
		byName[s.name] = append(byName[s.name], s)
		first, last = min(first, s.ts[0]), max(last, s.ts[len(s.ts)-1])
	}
	// The first scrape at or after t.
	scrapeAt := func(t time.Time) int64 {
		ms := t.UnixMilli()
		return first + (ms-first+step-1)/step*step
	}
	var deployments, statefulsets []string
	for _, svc := range shop().services {
		if svc.db {
			statefulsets = append(statefulsets, svc.name)
		} else {
			deployments = append(deployments, svc.name)
		}
	}

	for _, kind := range []string{"deployment", "statefulset"} {
		want := map[string][]string{"deployment": deployments, "statefulset": statefulsets}[kind]
		meta, obs := map[string]*omSeries{}, map[string]*omSeries{}
		for name, into := range map[string]map[string]*omSeries{"kube_" + kind + "_metadata_generation": meta, "kube_" + kind + "_status_observed_generation": obs} {
			for _, s := range byName[name] {
				if len(s.labels) != 2 || s.labels["namespace"] != "shop" || s.labels[kind] == "" {
					t.Errorf("%s%v: want labels namespace=shop and %s", name, s.labels, kind)
				}
				if s.ts[0] != first || s.ts[len(s.ts)-1] != last || len(s.ts) != int((last-first)/step)+1 {
					t.Errorf("%s%v: samples from %d to %d (%d), want every step of the file", name, s.labels, s.ts[0], s.ts[len(s.ts)-1], len(s.ts))
				}
				into[s.labels[kind]] = s
			}
		}
		for _, svc := range want {
			m, o := meta[svc], obs[svc]
			if m == nil || o == nil {
				t.Errorf("%s %s: metadata generation %v, observed generation %v", kind, svc, m != nil, o != nil)
				continue
			}
			if m.vals[0] < 1 || m.vals[0] != math.Trunc(m.vals[0]) || o.vals[0] != m.vals[0] {
				t.Errorf("%s %s: generation %g, observed %g at the start", kind, svc, m.vals[0], o.vals[0])
			}
			ms, os := valueSteps(m), valueSteps(o)
			c, ok := deployed[svc]
			if !ok {
				if len(ms)+len(os) > 0 {
					t.Errorf("%s %s is not deployed, its generation changes: %v, observed %v", kind, svc, ms, os)
				}
				continue
			}
			at := scrapeAt(c.T)
			if len(ms) != 1 || ms[0] != (valueStep{at, 1}) {
				t.Errorf("%s %s deployed at %s: generation steps %v, want one +1 at %d", kind, svc, c.T.Format(time.TimeOnly), ms, at)
			}
			if len(os) != 1 || os[0].delta != 1 || os[0].ts <= at || os[0].ts > at+step {
				t.Errorf("%s %s deployed at %s: observed generation steps %v, want one +1 one scrape after %d", kind, svc, c.T.Format(time.TimeOnly), os, at)
			}
		}
		if len(meta) != len(want) || len(obs) != len(want) {
			t.Errorf("%d %s metadata generations, %d observed, want %d (%v)", len(meta), kind, len(obs), len(want), want)
		}
	}

	// The pods are the counters' pods.
	pods := map[string]map[string]bool{} // service -> pods
	for _, s := range byName["container_cpu_usage_seconds_total"] {
		if pods[s.labels["service"]] == nil {
			pods[s.labels["service"]] = map[string]bool{}
		}
		pods[s.labels["service"]][s.labels["pod"]] = true
	}
	samePods := func(name string, got map[string]map[string]bool, services []string) {
		if len(got) != len(services) {
			t.Errorf("%s: services %v, want %v", name, slices.Sorted(maps.Keys(got)), services)
		}
		for _, svc := range services {
			if !maps.Equal(got[svc], pods[svc]) {
				t.Errorf("%s: pods of %s %v, want the counters' %v", name, svc, slices.Sorted(maps.Keys(got[svc])), slices.Sorted(maps.Keys(pods[svc])))
			}
		}
	}

	// Build info: versions and revisions per service, over time.
	type version struct{ version, revision string }
	type life struct{ from, to int64 }
	builds := map[string]map[version][]life{} // service -> version -> its pods' lives
	got := map[string]map[string]bool{}
	for _, s := range byName["app_build_info"] {
		svc, l := s.labels["service"], s.labels
		if len(l) != 5 || l["namespace"] != "shop" || l["pod"] == "" || l["version"] == "" || len(l["revision"]) != 7 {
			t.Errorf("app_build_info%v: want labels service, pod, namespace=shop, version and a 7-digit revision", l)
		}
		if slices.ContainsFunc(s.vals, func(v float64) bool { return v != 1 }) {
			t.Errorf("app_build_info%v is not always 1", l)
		}
		if got[svc] == nil {
			got[svc], builds[svc] = map[string]bool{}, map[version][]life{}
		}
		if got[svc][l["pod"]] {
			t.Errorf("pod %s has two build infos", l["pod"])
		}
		got[svc][l["pod"]] = true
		v := version{l["version"], l["revision"]}
		builds[svc][v] = append(builds[svc][v], life{s.ts[0], s.ts[len(s.ts)-1]})
	}
	samePods("app_build_info", got, deployments)
	replace := max(1, int64(hopLag/sc.Step)) * step // how long both versions serve
	for _, svc := range deployments {
		spec := shop().service(svc)
		c, ok := deployed[svc]
		if !ok {
			if len(builds[svc]) != 1 {
				t.Errorf("%s is not deployed and runs %v", svc, builds[svc])
			}
			for v := range builds[svc] {
				if v.version != spec.version[0] || v.revision == spec.commit {
					t.Errorf("%s is not deployed and runs %v, want %s and a revision before %s", svc, v, spec.version[0], spec.commit)
				}
			}
			continue
		}
		var olds, news []life
		for v, ls := range builds[svc] {
			switch {
			case v.version == c.FromVersion && v.revision != c.Commit:
				olds = append(olds, ls...)
			case v.version == c.ToVersion && v.revision == c.Commit:
				news = append(news, ls...)
			default:
				t.Errorf("%s deployed %s -> %s (commit %s): a pod runs %v", svc, c.FromVersion, c.ToVersion, c.Commit, v)
			}
		}
		if len(builds[svc]) != 2 || len(olds) == 0 || len(news) == 0 {
			t.Errorf("%s deployed %s -> %s: pods run %v, want both, one revision each", svc, c.FromVersion, c.ToVersion, builds[svc])
			continue
		}
		at := scrapeAt(c.T)
		for _, o := range olds {
			// No gap: an old pod is scraped at least until the scrape
			// before the deploy's; and it is gone once replaced.
			if o.from != first || o.to < at-step || o.to > at+replace-step {
				t.Errorf("%s: an old pod runs %s from %d to %d, want from the start to at least %d and less than %d ms after the deploy's first scrape %d",
					svc, c.FromVersion, o.from, o.to, at-step, replace, at)
			}
		}
		for _, n := range news {
			if n.from != at || n.to != last {
				t.Errorf("%s: a new pod runs %s from %d to %d, want from the deploy at %d to the end", svc, c.ToVersion, n.from, n.to, at)
			}
		}
	}

	// Process start times.
	got = map[string]map[string]bool{}
	for _, s := range byName["process_start_time_seconds"] {
		svc, l := s.labels["service"], s.labels
		if len(l) != 3 || l["namespace"] != "shop" || l["pod"] == "" {
			t.Errorf("process_start_time_seconds%v: want labels service, pod and namespace=shop", l)
		}
		if got[svc] == nil {
			got[svc] = map[string]bool{}
		}
		got[svc][l["pod"]] = true
		if steps := valueSteps(s); len(steps) > 0 {
			t.Errorf("process_start_time_seconds%v changes: %v", l, steps)
		}
		start := int64(math.Round(s.vals[0] * 1000))
		switch c, ok := deployed[svc]; {
		case s.ts[0] == first:
			if start > first-86400*1000 {
				t.Errorf("process_start_time_seconds%v: an old pod started at %d, less than a day before the first sample %d", l, start, first)
			}
		case start != s.ts[0] || !ok || start < c.T.UnixMilli():
			t.Errorf("process_start_time_seconds%v: a new pod started at %d, first sampled at %d (deploy of %s: %v)", l, start, s.ts[0], svc, c.T)
		}
	}
	samePods("process_start_time_seconds", got, append(slices.Clone(deployments), statefulsets...))
}

// checkSignals: every catalog series of the bundle is there at every step,
// and the median relative difference per signal stays in its tolerance in
// the baseline and in the window.
func checkSignals(t *testing.T, b telemetry.Bundle, got map[string]telemetry.Series) {
	floors, tols := omFloors(), omTolerances()
	diffs := map[string]*[2][]float64{}
	for _, want := range b.Series {
		g, ok := got[want.ID()]
		if !ok {
			continue // not a catalog query
		}
		if g.Len() != want.Len() {
			t.Errorf("%s: %d points from the file, %d from Generate", want.ID(), g.Len(), want.Len())
			continue
		}
		d := diffs[want.Signal]
		if d == nil {
			d = &[2][]float64{}
			diffs[want.Signal] = d
		}
		for i, p := range want.Points() {
			k := 1
			if b.Baseline.Contains(p.T) {
				k = 0
			}
			d[k] = append(d[k], relDiff(g.Point(i).V, p.V, floors[want.Signal]))
		}
	}
	if len(diffs) != len(tols) {
		t.Errorf("re-evaluated %d signals, want %d", len(diffs), len(tols))
	}
	sigs := make([]string, 0, len(diffs))
	for sig := range diffs {
		sigs = append(sigs, sig)
	}
	slices.Sort(sigs)
	for _, sig := range sigs {
		d := diffs[sig]
		base, win := median1(d[0]), median1(d[1])
		t.Logf("%-22s median relative difference: baseline %.3f, window %.3f", sig, base, win)
		if base > tols[sig] || win > tols[sig] {
			t.Errorf("%s: median relative difference %.3f in the baseline, %.3f in the window, want <= %.3f", sig, base, win, tols[sig])
		}
	}
}

func TestWriteOpenMetricsDeterministic(t *testing.T) {
	s := Scenario{Seed: 3, FaultyService: "cart", Step: 2 * time.Minute}
	a, b := writeOM(t, s), writeOM(t, s)
	if !bytes.Equal(a, b) {
		t.Fatal("two writes of the same scenario differ")
	}
	s.Seed = 4
	if bytes.Equal(a, writeOM(t, s)) {
		t.Fatal("seeds 3 and 4 write the same file")
	}
}

// failingWriter fails once n bytes have been written.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return w.n, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteOpenMetricsErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		s    Scenario
		w    io.Writer
		want string
	}{
		{"bad fault", Scenario{Fault: "disk"}, io.Discard, "unknown fault"},
		{"bad service", Scenario{FaultyService: "catalog-db"}, io.Discard, "cannot be the faulty one"},
		{"bad step", Scenario{Step: time.Hour}, io.Discard, "out of range"},
		{"failing writer", Scenario{Step: time.Minute}, &failingWriter{n: 1 << 20}, "disk full"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := WriteOpenMetrics(c.w, c.s); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestCheckSeries(t *testing.T) {
	for _, c := range []struct {
		name   string
		labels telemetry.Labels
		typ    string
		want   string // in the error; "" for none
	}{
		{"node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m", telemetry.Labels{"pod": "a"}, "gauge", ""},
		{"http_server_request_duration_seconds", telemetry.Labels{"le": "0.5"}, "histogram", ""},
		{"probe_success", telemetry.Labels{"instance": "http://x:8080/healthz \"quoted\"\n"}, "gauge", ""},
		{"", nil, "gauge", "metric name"},
		{"9lives", nil, "gauge", "metric name"},
		{"cpu-usage", nil, "gauge", "metric name"},
		{"cpu_usage", telemetry.Labels{"pod-name": "a"}, "gauge", "label name"},
		{"cpu_usage", telemetry.Labels{"a:b": "a"}, "gauge", "label name"},
		{"cpu_usage", telemetry.Labels{"__name__": "a"}, "gauge", "reserved"},
		{"cpu_usage", telemetry.Labels{"le": "1"}, "gauge", "reserved for a histogram"},
		{"cpu_usage", telemetry.Labels{"quantile": "0.5"}, "counter", "reserved for a summary"},
		{"cpu_usage", telemetry.Labels{"pod": "\xff"}, "gauge", "UTF-8"},
	} {
		err := checkSeries(c.name, c.labels, c.typ)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("checkSeries(%q, %v, %s) = %v, want %q", c.name, c.labels, c.typ, err, c.want)
		}
	}
}

func TestOMFormat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{{0.005, "0.005"}, {1, "1.0"}, {30, "30.0"}, {0.25, "0.25"}, {1e-7, "1e-07"}} {
		if got := omFloat(c.f); got != c.want {
			t.Errorf("omFloat(%g) = %q, want %q", c.f, got, c.want)
		}
	}
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{DefaultStart(), "1795528200"},
		{DefaultStart().Add(1500 * time.Millisecond), "1795528201.5"},
	} {
		if got := omTimestamp(c.t); got != c.want {
			t.Errorf("omTimestamp(%s) = %q, want %q", c.t, got, c.want)
		}
	}
	if got := escapeLabel("a\\b\"c\nd"); got != `a\\b\"c\nd` {
		t.Errorf("escapeLabel: %q", got)
	}
}

// TestCalibrated: a log-normal calibrated to a p99 reads that p99 back
// through histogram_quantile's interpolation, wherever it falls between
// the bounds.
func TestCalibrated(t *testing.T) {
	b := &omBuild{bounds: durationBounds()}
	for p99 := 0.003; p99 < 20; p99 *= 1.37 {
		d := durations{base: b.calibrated(p99)}
		les, counts := append(slices.Clone(b.bounds), math.Inf(1)), make([]float64, len(b.bounds)+1)
		for i, le := range b.bounds {
			counts[i] = 1e6 * d.cdf(le)
		}
		counts[len(b.bounds)] = 1e6
		if got := bucketQuantile(0.99, les, counts); math.Abs(got-p99)/p99 > 0.005 {
			t.Errorf("p99 %g: histogram_quantile reads %g", p99, got)
		}
	}
}

// TestAllocate: whole counts go to the pods owed most, and none is lost.
func TestAllocate(t *testing.T) {
	owed, c := []float64{0.25, 0.5, 0.25}, make([]float64, 3)
	allocate(1, []int{0, 1, 2}, owed, c)
	if !slices.Equal(c, []float64{0, 1, 0}) {
		t.Errorf("one count over owed 0.25/0.5/0.25 went %v, want all to the second pod", c)
	}
	owed, c = []float64{2.4, 2.6}, make([]float64, 2)
	allocate(5, []int{0, 1}, owed, c)
	if !slices.Equal(c, []float64{2, 3}) {
		t.Errorf("five counts over owed 2.4/2.6 went %v, want 2 and 3", c)
	}
	// A pod that stopped serving while owed something leaves more to hand
	// out than the serving pods are owed.
	owed, c = []float64{0.1, 0.1}, make([]float64, 2)
	allocate(3, []int{0, 1}, owed, c)
	if c[0]+c[1] != 3 {
		t.Errorf("three counts went %v", c)
	}
}
