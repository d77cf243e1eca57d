package demo

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rca-tool/rca/telemetry"
)

// WriteOpenMetrics writes the scenario's incident as the raw series a real
// shop would expose, in the OpenMetrics text format with a timestamp (in
// seconds) on every sample, one sample per Scenario.Step: ready for
// `promtool tsdb create-blocks-from openmetrics`. A Prometheus holding them
// evaluates the catalog queries (configs/catalog.yaml) to about the signals
// Generate returns.
//
// Per pod (labels service, namespace="shop", pod):
//   - http_server_requests_total{route,code} and the histogram
//     http_server_request_duration_seconds{route};
//   - http_client_requests_total{upstream,code}, http_client_timeouts_total
//     {upstream} and the histogram http_client_request_duration_seconds
//     {upstream};
//   - cAdvisor's container_cpu_usage_seconds_total and
//     container_cpu_cfs_throttled_seconds_total (also container, node),
//     kube-state-metrics' kube_pod_container_status_restarts_total (also
//     container) and the Go runtime's go_gc_duration_seconds summary (_sum,
//     _count);
//   - every series Generate emits under a raw or recording-rule name
//     (container_memory_working_set_bytes, probe_success, node and
//     business recording rules, ...), as a gauge with the same labels and
//     values;
//   - process_start_time_seconds, and app_build_info{version,revision} (1)
//     on the HTTP services' pods.
//
// The deploys (Generate's Changes) show as a cluster shows them:
// kube-state-metrics' kube_deployment_metadata_generation and
// kube_deployment_status_observed_generation{namespace,deployment} of the
// HTTP services step up by one at the deploy (the observed one a scrape
// later; kube_statefulset_* of the databases stay put), and a deploy's new
// pods carry its ToVersion and Commit in app_build_info and start their
// processes at their first sample. These per-pod gauges follow the pod's
// life as Generate has it, not the counters' extra scrapes below.
//
// Counters and histograms carry what the signals are made of before the 2m
// rate() smooths them, with the signals' noise, so that rate()[2m] gives
// the signals back rather than a second smoothing of them. They start two
// minutes before the baseline (so the first rate() has a full window) from
// a value that stands for the pod's uptime; a pod created by a deploy is
// scraped once at zero before it takes traffic. A replaced pod is drained
// at its last step and keeps being scraped, its counters flat, for one
// rate() window while it terminates: rate() then sees its share go to zero
// instead of extrapolating its last increments.
//
// Gauges end with their pod, and a backfilled TSDB holds no staleness
// markers: with Prometheus's default 5m lookback a replaced pod's last
// working set still counts in sum by (service) for five minutes after the
// deploy. Query with --query.lookback-delta=30s to see what a scraping
// Prometheus would.
//
// The output is deterministic. A name or label that is not valid
// OpenMetrics is an error, never rewritten.
func WriteOpenMetrics(w io.Writer, s Scenario) error {
	r, err := simulate(s)
	if err != nil {
		return err
	}
	b := newOMBuild(r)
	fams, err := b.families()
	if err != nil {
		return err
	}
	ow := &omWriter{w: bufio.NewWriterSize(w, 1<<16), b: b}
	for _, f := range fams {
		f.write(ow)
		if ow.err != nil {
			return ow.err
		}
	}
	if _, err := ow.w.WriteString("# EOF\n"); err != nil {
		return err
	}
	return ow.w.Flush()
}

// Shapes of the request duration distributions.
const (
	// normalSigma is the log-spread of a route's normal requests: their
	// p99 is about 3x their median.
	normalSigma = 0.45
	// z99 is the 0.99 quantile of the standard normal distribution.
	z99 = 2.3263
	// gcPausePerCycle is the mean stop-the-world pause of one Go GC cycle.
	gcPausePerCycle = 0.0004
)

// durationBounds are the bucket bounds of the request duration histograms
// in seconds: from the health checks' ~2 ms to the stuck requests' 10 ..
// 45 s, with the client timeouts (5 s, 10 s, 30 s) as bounds so that a
// call recorded at its timeout does not spill into the next bucket. 17
// bounds keep the default scenario's file at about 60 MB; the normal
// requests' distribution is calibrated to the bounds (see calibrated), so
// coarse buckets cost accuracy only while a route moves between normal
// and stuck.
func durationBounds() []float64 {
	return []float64{0.001, 0.0025, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.6, 1, 1.5, 2.5, 5, 10, 20, 30, 45}
}

// omBuild turns one simulation run into OpenMetrics families. Its sample
// grid is the model's steps plus warm steps of warm-up before them.
type omBuild struct {
	r      *run
	n      int     // model steps
	warm   int     // warm-up steps: one rate() window
	step   float64 // seconds
	bounds []float64
	// rate is the observed request rate per route per step before
	// rate()[2m] smoothing.
	rate map[string][]float64
	// signals are Generate's catalog signals by id and labels.
	signals map[string][]float64
}

func newOMBuild(r *run) *omBuild {
	m := r.m
	b := &omBuild{r: r, n: len(m.times), warm: m.win, step: m.s.Step.Seconds(), bounds: durationBounds(),
		rate: map[string][]float64{}, signals: map[string][]float64{}}
	for _, s := range r.e.series {
		if s.Signal == "" {
			continue
		}
		b.signals[s.Signal+s.Labels.String()] = slices.Clone(s.Values)
	}
	for _, spec := range m.topo.routes {
		id := routeKey(spec.service, spec.name)
		st := m.routes[id]
		smooth := trailing(st.rate, m.win)
		u := make([]float64, b.n)
		for i := range u {
			// The signal is smoothed truth times noise; keep its noise on
			// the unsmoothed truth.
			u[i] = st.rate[i]
			if smooth[i] > 0 {
				u[i] *= r.obs[id][i] / smooth[i]
			}
		}
		b.rate[id] = u
	}
	return b
}

// at is the model step of grid index g: the warm-up repeats step 0.
func (b *omBuild) at(g int) int { return max(0, g-b.warm) }

// span is the grid range [from, to) a pod's counters cover: from one
// scrape before it takes traffic (counters at zero: rate() then counts its
// first step) or the warm-up, to its end plus one rate() window of
// draining.
func (b *omBuild) span(p pod) (from, to int) {
	from = p.from + b.warm - 1
	if p.from == 0 {
		from = 0
	}
	to = b.n + b.warm
	if p.to < b.n {
		to = min(b.n, p.to+b.warm) + b.warm
	}
	return from, to
}

// serving reports whether the pod takes traffic at grid index g.
func (b *omBuild) serving(p pod, g int) bool {
	i := g - b.warm
	return (i < 0 && p.from == 0) || (i >= p.from && i < p.to)
}

// uptime is how long an old pod has been running at the first sample, in
// seconds: its counters start at what it counted in that time.
func (b *omBuild) uptime(p pod) float64 {
	if p.from > 0 {
		return 0
	}
	r := b.r.m.rng("om/uptime/" + p.name)
	return (2 + 7*r.Float64()) * 86400
}

// podCounters accumulates a service's per-second rate (per model step)
// into the counters of its pods, each over its span: the serving pods
// share every step, a draining pod counts nothing. Values are indexed by
// pod (as in emitter.pods) and then from the span's start.
//
// Whole counts (integer) are counted for the service first, the fraction
// carrying over to the next step, then handed to the pods owed most: a
// rare event (one timeout in ten minutes) lands whole on one pod instead
// of being split into fractions that no pod's counter ever shows. Other
// counters are rounded to micro-units, which keeps the file small.
func (b *omBuild) podCounters(svc string, perSec []float64, integer bool) [][]float64 {
	pods := b.r.e.pods[svc]
	out := make([][]float64, len(pods))
	c := make([]float64, len(pods))    // each pod's counter
	owed := make([]float64, len(pods)) // its share not handed out yet
	spans := make([][2]int, len(pods))
	for k, p := range pods {
		from, to := b.span(p)
		spans[k] = [2]int{from, to}
		out[k] = make([]float64, 0, to-from)
		c[k] = perSec[0] / float64(b.r.e.podsAt(svc, 0)) * b.uptime(p)
		if integer {
			c[k] = math.Floor(c[k])
		}
	}
	// Whole counts round up, so the first of a run of rare events shows at
	// the step the signal has it (the signal draws a 2m window's events
	// per step; a step holds a quarter of them), and a baseline with any
	// event keeps one.
	carry := math.Nextafter(1, 0)
	var serving []int
	for g := range b.n + b.warm {
		serving = serving[:0]
		for k, p := range pods {
			if b.serving(p, g) {
				serving = append(serving, k)
			}
		}
		if x := perSec[b.at(g)] * b.step; len(serving) > 0 && x > 0 {
			share := x / float64(len(serving))
			for _, k := range serving {
				if integer {
					owed[k] += share
				} else {
					c[k] += share
				}
			}
			if integer {
				carry += x
				d := math.Floor(carry)
				carry -= d
				allocate(d, serving, owed, c)
			}
		}
		for k := range pods {
			if g >= spans[k][0] && g < spans[k][1] {
				out[k] = append(out[k], math.Round(c[k]*1e6)/1e6)
			}
		}
	}
	return out
}

// allocate hands d whole counts to the serving pods: what each is owed,
// rounded down, then one more to each of the pods owed most.
func allocate(d float64, serving []int, owed, c []float64) {
	give := func(k int, a float64) {
		owed[k] -= a
		c[k] += a
		d -= a
	}
	for _, k := range serving {
		give(k, math.Max(0, math.Min(d, math.Floor(owed[k]))))
	}
	if n := float64(len(serving)); d >= n {
		// Only after a pod stopped serving while still owed something.
		each := math.Floor(d / n)
		for _, k := range serving {
			give(k, each)
		}
	}
	for d > 0 {
		best := serving[0]
		for _, k := range serving[1:] {
			if owed[k] > owed[best] {
				best = k
			}
		}
		give(best, 1)
	}
}

// durations is the distribution of request durations at one step: normal
// requests log-normal with p99 base, a share slow of them ~N(mu, sd)
// recorded at cap when longer.
type durations struct{ base, slow, mu, sd, cap float64 }

// calibrated is the p99 to give the normal requests' log-normal so that
// histogram_quantile(0.99) reads p99 back: linear interpolation inside a
// bucket overestimates a tail quantile (the density falls across the
// bucket), by up to ~25 % with these bounds.
func (b *omBuild) calibrated(p99 float64) float64 {
	if p99 <= 0 || p99 >= b.bounds[len(b.bounds)-1]/2 {
		return p99
	}
	// What histogram_quantile reads grows with the true p99 but not
	// smoothly (it jumps in slope at every bound): bisect on a log scale.
	lo, hi := math.Log(p99/8), math.Log(p99*2)
	for range 30 {
		mid := (lo + hi) / 2
		if b.interpolatedP99(durations{base: math.Exp(mid)}) < p99 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp((lo + hi) / 2)
}

// interpolatedP99 is what histogram_quantile(0.99) makes of d over the
// bounds.
func (b *omBuild) interpolatedP99(d durations) float64 {
	lo, flo := 0.0, 0.0
	for _, le := range b.bounds {
		f := d.cdf(le)
		if f >= 0.99 {
			return lo + (le-lo)*(0.99-flo)/(f-flo)
		}
		lo, flo = le, f
	}
	return lo
}

func (d durations) cdf(x float64) float64 {
	med := d.base / math.Exp(z99*normalSigma)
	f := normCDF(math.Log(x/med) / normalSigma)
	if d.slow <= 0 {
		return f
	}
	g := 1.0
	if x < d.cap {
		// A normal truncated at zero: nothing takes negative time.
		lo := normCDF(-d.mu / d.sd)
		g = math.Max(0, (normCDF((x-d.mu)/d.sd)-lo)/(1-lo))
	}
	s := math.Min(1, d.slow)
	return (1-s)*f + s*g
}

func (d durations) mean() float64 {
	m := d.base / math.Exp(z99*normalSigma) * math.Exp(normalSigma*normalSigma/2)
	if d.slow <= 0 {
		return m
	}
	slow := d.mu
	if !math.IsInf(d.cap, 0) {
		// Mean of min(X, cap) for X ~ N(mu, sd).
		a := (d.cap - d.mu) / d.sd
		slow = d.mu*normCDF(a) - d.sd*normPDF(a) + d.cap*(1-normCDF(a))
	}
	s := math.Min(1, d.slow)
	return (1-s)*m + s*slow
}

// histRates are the per-second rates behind one histogram per step: of
// observations in each bucket (the last one above every bound), and of
// their sum.
type histRates struct {
	in  [][]float64 // [bucket][step]
	sum []float64
}

func (b *omBuild) histRates(rate []float64, dist []durations) histRates {
	h := histRates{in: make([][]float64, len(b.bounds)+1), sum: make([]float64, b.n)}
	for k := range h.in {
		h.in[k] = make([]float64, b.n)
	}
	for i, d := range dist {
		below := 0.0
		for k, le := range b.bounds {
			f := d.cdf(le)
			h.in[k][i] = rate[i] * math.Max(0, f-below)
			below = math.Max(below, f)
		}
		h.in[len(b.bounds)][i] = rate[i] * (1 - below)
		h.sum[i] = rate[i] * d.mean()
	}
	return h
}

// histogram turns h into the lines of every pod's histogram (one per
// bound, +Inf, _sum, _count), indexed [pod][line][sample]. Whole
// observations are counted per bucket, so the buckets of every pod are
// cumulative in le by construction.
func (b *omBuild) histogram(svc string, h histRates) [][][]float64 {
	nb := len(b.bounds)
	in := make([][][]float64, nb+1) // [bucket][pod][sample]
	for k := range in {
		in[k] = b.podCounters(svc, h.in[k], true)
	}
	sums := b.podCounters(svc, h.sum, false)
	out := make([][][]float64, len(sums))
	for p := range out {
		n := len(sums[p])
		lines := make([][]float64, nb+3)
		cum := make([]float64, n)
		for k := range nb + 1 {
			for j := range cum {
				cum[j] += in[k][p][j]
			}
			lines[k] = slices.Clone(cum)
		}
		lines[nb+1] = sums[p]
		lines[nb+2] = lines[nb]
		out[p] = lines
	}
	return out
}

// histLines are the lines of a histogram metric point.
func (b *omBuild) histLines() []omLine {
	var ls []omLine
	for _, le := range b.bounds {
		ls = append(ls, omLine{"_bucket", omFloat(le)})
	}
	return append(ls, omLine{"_bucket", "+Inf"}, omLine{"_sum", ""}, omLine{"_count", ""})
}

// family is one metric family and how to write its series.
type family struct {
	name, typ, help string
	lines           []omLine
	series          func(emit func(labels telemetry.Labels, from int, vals [][]float64))
}

// omLine is one sample line of a metric point: the name suffix and the
// le label of a bucket.
type omLine struct{ suffix, le string }

func (f family) write(ow *omWriter) {
	ow.family(f)
	if ow.err != nil {
		return
	}
	f.series(func(l telemetry.Labels, from int, vals [][]float64) { ow.metric(f, l, from, vals) })
}

// podLabels are the labels a scrape of a pod gets.
func podLabels(svc string, p pod, extra ...string) telemetry.Labels {
	l := telemetry.Labels{"service": svc, "namespace": "shop", "pod": p.name}
	for x := 0; x+1 < len(extra); x += 2 {
		l[extra[x]] = extra[x+1]
	}
	return l
}

// families builds every family, sorted by name.
func (b *omBuild) families() ([]family, error) {
	fams := []family{
		b.serverRequests(), b.serverDurations(),
		b.clientRequests(), b.clientTimeouts(), b.clientDurations(),
		b.containerCounter("container_cpu_usage_seconds", "Cumulative CPU time consumed (cAdvisor).", func(r rawResources) []float64 { return r.cpu }),
		b.containerCounter("container_cpu_cfs_throttled_seconds", "Total time duration the container has been throttled (cAdvisor).", func(r rawResources) []float64 { return r.thr }),
		b.gcDurations(), b.restarts(),
		b.generations("deployment", false), b.generations("deployment", true),
		b.generations("statefulset", false), b.generations("statefulset", true),
		b.buildInfo(), b.processStart(),
	}
	gauges, err := b.gauges()
	if err != nil {
		return nil, err
	}
	fams = append(fams, gauges...)
	slices.SortFunc(fams, func(x, y family) int { return strings.Compare(x.name, y.name) })
	return fams, nil
}

// noise is how far a signal is off its expectation: the factor that puts
// the signal's noise (Poisson and binomial draws on few events, AR noise)
// on the unsmoothed per-step rates. Rare events then happen where the
// signal has them, and a baseline keeps its occasional error or timeout
// instead of a flat zero that would make one event look like news.
func noise(sig, expected float64) float64 {
	if expected <= 0 {
		return 1
	}
	return sig / expected
}

// signal returns a catalog signal's values per step, as Generate emits them.
func (b *omBuild) signal(id string, labels telemetry.Labels) []float64 {
	v, ok := b.signals[id+labels.String()]
	if !ok {
		panic("demo: no signal " + id + labels.String()) // the emitters are fixed
	}
	return v
}

// capErrors scales error rates down so that they do not exceed total.
func capErrors(total float64, errs ...*float64) {
	sum := 0.0
	for _, e := range errs {
		sum += *e
	}
	if sum > total && sum > 0 {
		for _, e := range errs {
			*e *= total / sum
		}
	}
}

func (b *omBuild) serverRequests() family {
	m := b.r.m
	return family{name: "http_server_requests", typ: "counter", help: "HTTP requests served, by route and status code.", lines: []omLine{{"_total", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			for _, spec := range m.topo.routes {
				id := routeKey(spec.service, spec.name)
				st, rate := m.routes[id], b.rate[id]
				sig := b.signal("http_error_ratio", telemetry.Labels{"service": spec.service, "route": spec.name})
				errW := trailing(st.err, m.win)
				// 5xx of the route's own work and of calls failing under it
				// are 500s; timeouts and upstream 502/503/504 are 504s.
				ok, e500, e504 := make([]float64, b.n), make([]float64, b.n), make([]float64, b.n)
				for i := range b.n {
					f := noise(sig[i], errW[i])
					e500[i] = rate[i] * math.Max(0, st.err[i]-st.err50x[i]) * f
					e504[i] = rate[i] * math.Min(st.err[i], st.err50x[i]) * f
					capErrors(rate[i], &e500[i], &e504[i])
					ok[i] = math.Max(0, rate[i]-e500[i]-e504[i])
				}
				// 200 and 500 are exported from the start (as client
				// libraries do with pre-initialised labels), so a route
				// without errors has a 5xx ratio of 0, not none, as in
				// Generate; 504 only on the routes that ever answer it.
				codes := []struct {
					code string
					rate []float64
				}{{"200", ok}, {"500", e500}, {"504", e504}}
				for _, c := range codes {
					if c.code == "504" && !slices.ContainsFunc(c.rate, func(v float64) bool { return v > 0 }) {
						continue
					}
					b.emitPods(spec.service, b.podCounters(spec.service, c.rate, true), emit, "route", spec.name, "code", c.code)
				}
			}
		}}
}

// emitPods emits one counter per pod of svc, with the extra labels.
func (b *omBuild) emitPods(svc string, vals [][]float64, emit func(telemetry.Labels, int, [][]float64), extra ...string) {
	for k, p := range b.r.e.pods[svc] {
		from, _ := b.span(p)
		emit(podLabels(svc, p, extra...), from, [][]float64{vals[k]})
	}
}

// emitHistograms emits one histogram per pod of svc, with the extra labels.
func (b *omBuild) emitHistograms(svc string, h histRates, emit func(telemetry.Labels, int, [][]float64), extra ...string) {
	for k, lines := range b.histogram(svc, h) {
		p := b.r.e.pods[svc][k]
		from, _ := b.span(p)
		emit(podLabels(svc, p, extra...), from, lines)
	}
}

func (b *omBuild) serverDurations() family {
	m := b.r.m
	return family{name: "http_server_request_duration_seconds", typ: "histogram", help: "Duration of HTTP requests served, by route.", lines: b.histLines(),
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			for _, spec := range m.topo.routes {
				id := routeKey(spec.service, spec.name)
				st, rate := m.routes[id], b.rate[id]
				dist := make([]durations, b.n)
				for i := range dist {
					dist[i] = durations{base: b.calibrated(b.r.e.hooks.latBase[id][i]), slow: st.slow[i], mu: st.mu[i], sd: st.sd[i], cap: st.cap[i]}
				}
				b.emitHistograms(spec.service, b.histRates(rate, dist), emit, "route", spec.name)
			}
		}}
}

// clientCodes are the status codes of http_client_requests_total.
func clientCodes() []string { return []string{"200", "500", "502", "503", "504"} }

// clientRates are one caller -> callee pair's per-step rates.
type clientRates struct {
	steps    pairStep    // unsmoothed calls and their fates
	codes    [][]float64 // calls/s per clientCodes entry
	timeouts []float64   // timed-out calls/s
}

// clients computes every pair's rates from the callers' unsmoothed request
// rates, with the noise of the upstream_timeouts and upstream_error_ratio
// signals.
func (b *omBuild) clients() map[callPair]clientRates {
	e, w := b.r.e, b.r.m.win
	out := map[callPair]clientRates{}
	for _, p := range e.pairs() {
		u := e.pairSteps(p, b.rate)
		// What the signals expected: the same sums from the observed
		// rates, through rate()[2m].
		s := e.pairSteps(p, b.r.obs)
		callsW, toutW, badW := trailing(s.calls, w), trailing(s.tout, w), trailing(s.bad, w)
		l := telemetry.Labels{"service": p.caller, "upstream": p.callee}
		sigT, sigR := b.signal("upstream_timeouts", l), b.signal("upstream_error_ratio", l)
		c := clientRates{steps: u, codes: make([][]float64, len(clientCodes())), timeouts: make([]float64, b.n)}
		for k := range c.codes {
			c.codes[k] = make([]float64, b.n)
		}
		for i := range b.n {
			// A healthy upstream still times out now and then (2e-5 of
			// the calls), and 1e-4 of the calls fail on a reset connection.
			c.timeouts[i] = (u.tout[i] + 2e-5*u.calls[i]) * noise(sigT[i], toutW[i]+callsW[i]*2e-5)
			// The generator's upstream_error_ratio counts timeouts (504),
			// the upstream's own 502/503/504 answers (503) and the resets
			// (502); the upstream's other 5xx (500) are not in it.
			f := noise(sigR[i], badW[i]/callsW[i]+1e-4)
			e500 := u.other5xx[i]
			e502 := 8e-5 * u.calls[i] * f
			e503 := math.Max(0, u.bad[i]-u.tout[i]) * f
			e504 := (u.tout[i] + 2e-5*u.calls[i]) * f
			capErrors(u.calls[i], &e500, &e502, &e503, &e504)
			c.codes[0][i] = math.Max(0, u.calls[i]-e500-e502-e503-e504)
			c.codes[1][i], c.codes[2][i], c.codes[3][i], c.codes[4][i] = e500, e502, e503, e504
		}
		out[p] = c
	}
	return out
}

func (b *omBuild) clientRequests() family {
	return family{name: "http_client_requests", typ: "counter", help: "HTTP requests sent to an upstream service, by status code (504: timed out).", lines: []omLine{{"_total", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			cs := b.clients()
			for _, p := range b.r.e.pairs() {
				for k, code := range clientCodes() {
					b.emitPods(p.caller, b.podCounters(p.caller, cs[p].codes[k], true), emit, "upstream", p.callee, "code", code)
				}
			}
		}}
}

func (b *omBuild) clientTimeouts() family {
	return family{name: "http_client_timeouts", typ: "counter", help: "HTTP requests to an upstream service that hit the client timeout.", lines: []omLine{{"_total", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			cs := b.clients()
			for _, p := range b.r.e.pairs() {
				b.emitPods(p.caller, b.podCounters(p.caller, cs[p].timeouts, true), emit, "upstream", p.callee)
			}
		}}
}

func (b *omBuild) clientDurations() family {
	return family{name: "http_client_request_duration_seconds", typ: "histogram", help: "Duration of HTTP requests to an upstream service; a timed-out call counts at the timeout.", lines: b.histLines(),
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			cs := b.clients()
			for _, p := range b.r.e.pairs() {
				ps := cs[p].steps
				base := b.r.e.hooks.upBase[pairKey(p.caller, p.callee)]
				dist := make([]durations, b.n)
				for i := range dist {
					d := durations{base: b.calibrated(base[i]), cap: ps.timeout}
					if ps.slowW[i] > 0 && ps.calls[i] > 0 {
						d.slow, d.mu = ps.slowW[i]/ps.calls[i], ps.mu1[i]/ps.slowW[i]
						d.sd = math.Sqrt(math.Max(0.04, ps.mu2[i]/ps.slowW[i]-d.mu*d.mu))
					}
					dist[i] = d
				}
				b.emitHistograms(p.caller, b.histRates(ps.calls, dist), emit, "upstream", p.callee)
			}
		}}
}

// containerCounter is a cAdvisor counter per pod, from a service's
// unsmoothed resource rate.
func (b *omBuild) containerCounter(name, help string, pick func(rawResources) []float64) family {
	m := b.r.m
	return family{name: name, typ: "counter", help: help, lines: []omLine{{"_total", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			for _, svc := range m.topo.services {
				vals := b.podCounters(svc.name, pick(b.r.e.hooks.res[svc.name]), false)
				for k, p := range b.r.e.pods[svc.name] {
					from, _ := b.span(p)
					emit(podLabels(svc.name, p, "container", svc.name, "node", p.node), from, [][]float64{vals[k]})
				}
			}
		}}
}

func (b *omBuild) gcDurations() family {
	m := b.r.m
	return family{name: "go_gc_duration_seconds", typ: "summary", help: "A summary of the pause duration of garbage collection cycles.", lines: []omLine{{"_sum", ""}, {"_count", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			for _, svc := range m.topo.services {
				if svc.gcPause <= 0 {
					continue // nginx and the databases are not Go
				}
				gc := b.r.e.hooks.res[svc.name].gc
				cycles := make([]float64, len(gc))
				for i, v := range gc {
					cycles[i] = v / gcPausePerCycle
				}
				sums, counts := b.podCounters(svc.name, gc, false), b.podCounters(svc.name, cycles, true)
				for k, p := range b.r.e.pods[svc.name] {
					from, _ := b.span(p)
					emit(podLabels(svc.name, p), from, [][]float64{sums[k], counts[k]})
				}
			}
		}}
}

func (b *omBuild) restarts() family {
	m := b.r.m
	return family{name: "kube_pod_container_status_restarts", typ: "counter", help: "The number of container restarts per container.", lines: []omLine{{"_total", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			for _, svc := range m.topo.services {
				for _, p := range b.r.e.pods[svc.name] {
					from, to := b.span(p)
					// Nothing restarts in the story; an old pod may have
					// restarted once, days ago.
					n := 0.0
					if p.from == 0 && m.rng("om/restarts/"+p.name).IntN(4) == 0 {
						n = 1
					}
					v := make([]float64, to-from)
					for g := range v {
						v[g] = n
					}
					emit(podLabels(svc.name, p, "container", svc.name), from, [][]float64{v})
				}
			}
		}}
}

// deploys are the scenario's deploys (Generate's Changes) by service,
// oldest first.
func (b *omBuild) deploys() map[string][]telemetry.Change {
	out := map[string][]telemetry.Change{}
	for _, c := range changes(b.r.m) {
		if c.Kind == telemetry.ChangeDeploy {
			out[c.Service] = append(out[c.Service], c)
		}
	}
	return out
}

// deployStep is the grid index of the first scrape at or after a deploy:
// the model step the deploy's new pods start at (makePods), plus the
// warm-up.
func (b *omBuild) deployStep(c telemetry.Change) int { return b.r.e.step(c.T) + b.warm }

// constant is n copies of v.
func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// generations is kube-state-metrics' kube_<kind>_metadata_generation
// (observed false) or kube_<kind>_status_observed_generation (observed
// true) of every service of that kind (Deployments: the HTTP services;
// StatefulSets: the databases): a per-service generation drawn from the
// seed that a deploy steps up by one at the first scrape at or after it;
// the controller observes it one scrape later.
func (b *omBuild) generations(kind string, observed bool) family {
	m := b.r.m
	name, help := "kube_"+kind+"_metadata_generation", "Sequence number representing a specific generation of the desired state."
	if observed {
		name, help = "kube_"+kind+"_status_observed_generation", "The generation observed by the "+kind+" controller."
	}
	return family{name: name, typ: "gauge", help: help, lines: []omLine{{"", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			deploys := b.deploys()
			for _, svc := range m.topo.services {
				if svc.db != (kind == "statefulset") {
					continue
				}
				v := constant(b.n+b.warm, float64(2+m.rng("om/generation/"+svc.name).IntN(60)))
				for _, c := range deploys[svc.name] {
					from := b.deployStep(c)
					if observed {
						from++
					}
					for g := from; g < len(v); g++ {
						v[g]++
					}
				}
				emit(telemetry.Labels{"namespace": "shop", kind: svc.name}, 0, [][]float64{v})
			}
		}}
}

// podLife is the grid range [from, to) a pod lives in, as the bundle has
// it (emitter.pods): an old pod from the first sample, a new one from its
// deploy's step; a replaced one to 30 s after the deploy. The counters'
// extra scrapes (at zero before a new pod takes traffic, while a replaced
// one drains) are not in it.
func (b *omBuild) podLife(p pod) (from, to int) {
	if p.from > 0 {
		from = p.from + b.warm
	}
	return from, p.to + b.warm
}

// revision is the VCS revision a service ran before the scenario's
// deploys: seven hex digits drawn from the seed, never the deploy's.
func (b *omBuild) revision(svc serviceSpec) string {
	r := b.r.m.rng("om/revision/" + svc.name)
	for {
		if s := fmt.Sprintf("%07x", r.Uint32()>>4); s != svc.commit {
			return s
		}
	}
}

// buildInfo is app_build_info{version,revision} = 1 per pod of every HTTP
// service, over the pod's life: the pods a deploy replaces carry its
// FromVersion and the revision before it, the pods it creates its
// ToVersion and Commit; a service no deploy touches runs its current
// version. The databases are not builds of the shop's: no build info.
func (b *omBuild) buildInfo() family {
	m := b.r.m
	return family{name: "app_build_info", typ: "gauge", help: "A metric with a constant '1' value labeled by the version and VCS revision the service was built from.", lines: []omLine{{"", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			deploys := b.deploys()
			for _, svc := range m.topo.services {
				if svc.db {
					continue
				}
				version, rev := svc.version[0], b.revision(svc)
				if ds := deploys[svc.name]; len(ds) > 0 {
					version = ds[0].FromVersion
				}
				for _, p := range b.r.e.pods[svc.name] {
					from, to := b.podLife(p)
					v, r := version, rev
					for _, c := range deploys[svc.name] {
						if from >= b.deployStep(c) {
							v, r = c.ToVersion, c.Commit
						}
					}
					emit(podLabels(svc.name, p, "version", v, "revision", r), from, [][]float64{constant(to-from, 1)})
				}
			}
		}}
}

// processStart is process_start_time_seconds per pod, over the pod's life:
// an old pod's process started its uptime before the first sample (the
// counters' starting values count that uptime), a new pod's at its first
// sample. A restart in place would change the value; a new pod is a new
// series.
func (b *omBuild) processStart() family {
	m := b.r.m
	return family{name: "process_start_time_seconds", typ: "gauge", help: "Start time of the process since unix epoch in seconds.", lines: []omLine{{"", ""}},
		series: func(emit func(telemetry.Labels, int, [][]float64)) {
			for _, svc := range m.topo.services {
				for _, p := range b.r.e.pods[svc.name] {
					from, to := b.podLife(p)
					t := m.times[0].Add(time.Duration(from-b.warm) * m.s.Step)
					start := float64(t.UnixMilli())/1000 - b.uptime(p)
					emit(podLabels(svc.name, p), from, [][]float64{constant(to-from, math.Round(start*100)/100)})
				}
			}
		}}
}

// gauges are the bundle's raw and recording-rule series, one gauge family
// per name, series sorted by labels.
func (b *omBuild) gauges() ([]family, error) {
	byName := map[string][]telemetry.Series{}
	for _, s := range b.r.e.series {
		if s.Signal != "" {
			continue // a query result, not something a system exposes
		}
		if err := checkSeries(s.Metric, s.Labels, "gauge"); err != nil {
			return nil, err
		}
		byName[s.Metric] = append(byName[s.Metric], s)
	}
	var fams []family
	for name, ss := range byName {
		slices.SortFunc(ss, func(x, y telemetry.Series) int { return strings.Compare(x.Labels.String(), y.Labels.String()) })
		fams = append(fams, family{name: name, typ: "gauge", help: "Demo series " + name + ", as the demo bundle carries it.", lines: []omLine{{"", ""}},
			series: func(emit func(telemetry.Labels, int, [][]float64)) {
				for _, s := range ss {
					if s.Len() == 0 {
						continue
					}
					from := b.r.e.step(s.Time(0)) + b.warm
					emit(s.Labels, from, [][]float64{slices.Clone(s.Values)})
				}
			}})
	}
	return fams, nil
}

// checkSeries says what makes a metric name or labels invalid OpenMetrics
// for a family of type typ.
func checkSeries(name string, labels telemetry.Labels, typ string) error {
	if !validMetricName(name) {
		return fmt.Errorf("demo: %q is not a valid OpenMetrics metric name", name)
	}
	for k, v := range labels {
		switch {
		case !validLabelName(k):
			return fmt.Errorf("demo: %s: %q is not a valid OpenMetrics label name", name, k)
		case strings.HasPrefix(k, "__"):
			return fmt.Errorf("demo: %s: label name %q is reserved", name, k)
		case k == "le" && typ != "histogram", k == "quantile" && typ != "summary":
			return fmt.Errorf("demo: %s: label %q is reserved for a %s", name, k, map[string]string{"le": "histogram", "quantile": "summary"}[k])
		case !utf8.ValidString(v):
			return fmt.Errorf("demo: %s: label %s has a value that is not UTF-8", name, k)
		}
	}
	return nil
}

func validMetricName(s string) bool {
	for i, c := range s {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func validLabelName(s string) bool {
	return validMetricName(s) && !strings.Contains(s, ":")
}

// omWriter writes families, checking that no two of them share a name or
// a sample name and that every value is finite.
type omWriter struct {
	w        *bufio.Writer
	b        *omBuild
	families map[string]bool
	samples  map[string]string // sample name -> family
	buf      []byte
	err      error
}

func (ow *omWriter) fail(err error) {
	if ow.err == nil {
		ow.err = err
	}
}

func (ow *omWriter) family(f family) {
	if err := checkSeries(f.name, nil, f.typ); err != nil {
		ow.fail(err)
		return
	}
	if ow.samples == nil {
		ow.families, ow.samples = map[string]bool{}, map[string]string{}
	}
	if ow.families[f.name] {
		ow.fail(fmt.Errorf("demo: family %s written twice", f.name))
		return
	}
	ow.families[f.name] = true
	for _, l := range f.lines {
		s := f.name + l.suffix
		if other, ok := ow.samples[s]; ok && other != f.name {
			ow.fail(fmt.Errorf("demo: sample name %s of family %s clashes with family %s", s, f.name, other))
			return
		}
		ow.samples[s] = f.name
	}
	fmt.Fprintf(ow.w, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
}

// metric writes one metric: per sample time, one line per family line.
// vals[line][k] is the value at grid index from+k.
func (ow *omWriter) metric(f family, l telemetry.Labels, from int, vals [][]float64) {
	if ow.err != nil {
		return
	}
	if err := checkSeries(f.name, l, f.typ); err != nil {
		ow.fail(err)
		return
	}
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	slices.Sort(names)
	var lb strings.Builder
	for i, k := range names {
		if i > 0 {
			lb.WriteByte(',')
		}
		lb.WriteString(k)
		lb.WriteString(`="`)
		lb.WriteString(escapeLabel(l[k]))
		lb.WriteByte('"')
	}
	prefixes := make([]string, len(f.lines))
	for j, line := range f.lines {
		p := f.name + line.suffix + "{" + lb.String()
		if line.le != "" {
			if len(names) > 0 {
				p += ","
			}
			p += `le="` + line.le + `"`
		}
		prefixes[j] = p + "} "
	}
	m := ow.b.r.m
	for k := range vals[0] {
		g := from + k
		ts := omTimestamp(m.times[0].Add(time.Duration(g-ow.b.warm) * m.s.Step))
		for j, p := range prefixes {
			v := vals[j][k]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				ow.fail(fmt.Errorf("demo: %s%s has a non-finite value %v", f.name, l, v))
				return
			}
			ow.buf = append(ow.buf[:0], p...)
			ow.buf = strconv.AppendFloat(ow.buf, v, 'f', -1, 64)
			ow.buf = append(ow.buf, ' ')
			ow.buf = append(ow.buf, ts...)
			ow.buf = append(ow.buf, '\n')
			if _, err := ow.w.Write(ow.buf); err != nil {
				ow.fail(err)
				return
			}
		}
	}
}

// omTimestamp is t in seconds, as promtool's backfill wants it.
func omTimestamp(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// omFloat renders a bucket bound the way OpenMetrics wants it: a float,
// with ".0" on whole numbers.
func omFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, "e.") {
		s += ".0"
	}
	return s
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
