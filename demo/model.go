package demo

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// routeState is the simulated health of one route over time, index-aligned
// with model.times. A route's requests are a mix of normal ones (p99 base99)
// and a "slow" population (fraction slow, durations ~ N(mu, sd) capped at
// cap); err is the fraction answered 5xx, err50x the part of it that is
// 502/503/504 (what a caller's upstream error ratio counts).
type routeState struct {
	spec   routeSpec
	rate   []float64
	base99 float64
	slow   []float64
	mu, sd []float64
	cap    []float64
	err    []float64
	err50x []float64
}

// model is one run of the simulation.
type model struct {
	s     Scenario
	tl    Timeline
	topo  topology
	times []time.Time
	lag   int // steps per hopLag
	win   int // steps per rate() window
	daily []float64
	// The faulty service's fault, per step: resSev is the resource layer
	// (CPU saturation or GC pressure) 0..1, latSev its effect on requests,
	// leak the extra bytes of a memory leak.
	resSev, latSev, leak []float64
	routes               map[string]*routeState
}

func routeKey(service, route string) string { return service + " " + route }

func newModel(s Scenario) *model {
	tl, _ := s.Timeline() // s is already validated
	m := &model{s: s, tl: tl, topo: shop(), routes: map[string]*routeState{}}
	for t := tl.Baseline[0]; t.Before(tl.Window[1]); t = t.Add(s.Step) {
		m.times = append(m.times, t)
	}
	m.lag = max(1, int(math.Round(float64(hopLag)/float64(s.Step))))
	m.win = max(1, int(math.Round(float64(rateWindow)/float64(s.Step))))
	n := len(m.times)
	m.daily = make([]float64, n)
	// Shop traffic peaks in the (European) late afternoon; normalised to 1
	// at the window start so the route tables read as "req/s around now".
	shape := func(t time.Time) float64 {
		h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
		return 1 + 0.3*math.Cos(2*math.Pi*(h-17)/24)
	}
	for i, t := range m.times {
		m.daily[i] = shape(t) / shape(s.Start)
	}
	m.resSev, m.latSev, m.leak = make([]float64, n), make([]float64, n), make([]float64, n)
	d := tl.Deploy
	for i, t := range m.times {
		switch s.Fault {
		case FaultCPU:
			m.resSev[i] = ramp(t, d.Add(cpuDelay), cpuRamp)
			m.latSev[i] = ramp(t.Add(-hopLag), d.Add(cpuDelay), cpuRamp)
		case FaultMemoryLeak:
			m.resSev[i] = ramp(t, d.Add(gcDelay), gcRamp)
			m.latSev[i] = ramp(t.Add(-hopLag), d.Add(gcDelay), gcRamp)
			if since := t.Sub(d.Add(leakDelay)); since > 0 {
				// Fast enough to be plain within two minutes, slow enough
				// to stay under the limit (no OOM kill) in the window.
				m.leak[i] = since.Seconds() * m.topo.service(s.FaultyService).memory / 290
			}
		}
	}
	for _, r := range m.topo.routes {
		m.routes[routeKey(r.service, r.name)] = &routeState{spec: r}
	}
	m.computeRates()
	m.computeHealth()
	return m
}

// rateWindow is the range of the catalog queries' rate(...[2m]): a step in
// the underlying events shows as a two-minute ramp in every counter signal.
const rateWindow = 2 * time.Minute

// trailing is what rate(...[window]) makes of a per-step quantity: the mean
// over the window ending at each step.
func trailing(v []float64, k int) []float64 {
	out := make([]float64, len(v))
	sum := 0.0
	for i, x := range v {
		sum += x
		if i >= k {
			sum -= v[i-k]
		}
		out[i] = sum / float64(min(i+1, k))
	}
	return out
}

// ramp rises smoothly from 0 at start to 1 at start+length.
func ramp(t, start time.Time, length time.Duration) float64 {
	x := float64(t.Sub(start)) / float64(length)
	x = math.Max(0, math.Min(1, x))
	return x * x * (3 - 2*x)
}

// throughput is the share of its normal downstream calls a service still
// makes: a saturated service gets through fewer requests.
func (m *model) throughput(service string, i int) float64 {
	if service != m.s.FaultyService {
		return 1
	}
	return 1 - 0.2*m.latSev[i]
}

// computeRates fills the request rates top-down: user traffic at the gateway
// and the other external sources, then each callee from its callers.
func (m *model) computeRates() {
	n := len(m.times)
	order := callOrder()
	for k := len(order) - 1; k >= 0; k-- {
		for _, spec := range m.topo.routesOf(order[k]) {
			st := m.routes[routeKey(spec.service, spec.name)]
			st.rate = make([]float64, n)
			for i := range n {
				ext := spec.external
				if !spec.health {
					ext *= m.daily[i]
				}
				st.rate[i] = ext
			}
			for _, caller := range m.topo.routes {
				for _, c := range caller.calls {
					if c.service != spec.service || c.route != spec.name {
						continue
					}
					cs := m.routes[routeKey(caller.service, caller.name)]
					for i := range n {
						st.rate[i] += cs.rate[i] * c.perReq * m.throughput(caller.service, i)
					}
				}
			}
		}
	}
}

// slowComp is one population of slow requests.
type slowComp struct{ frac, mu, sd, cap float64 }

// faultSlow is how long the faulty service's stuck requests take.
func (m *model) faultSlow() (mu, sd float64) {
	if m.s.Fault == FaultMemoryLeak {
		return 29, 8
	}
	return 31, 6
}

// slowMax is the share of a faulty route's requests that get stuck at full
// severity. The hot route carries the bad code path; the others queue
// behind it on the same CPU (or heap).
func (m *model) slowMax(spec routeSpec) float64 {
	switch {
	case spec.health:
		return 0.08
	case spec.name == hotRoute(spec.service):
		if m.s.Fault == FaultMemoryLeak {
			return 0.55
		}
		return 0.67
	}
	if m.s.Fault == FaultMemoryLeak {
		return 0.42
	}
	return 0.52
}

// computeHealth fills latency and error state bottom-up: the faulty
// service's own requests, then each caller from its callees two lags back
// (one lag for the client-side signals to move, one more for the caller to
// answer its own clients).
func (m *model) computeHealth() {
	n := len(m.times)
	fmu, fsd := m.faultSlow()
	for _, svc := range callOrder() {
		for _, spec := range m.topo.routesOf(svc) {
			st := m.routes[routeKey(spec.service, spec.name)]
			st.base99 = spec.ownP99
			for _, c := range spec.calls {
				st.base99 += 0.85 * m.routes[routeKey(c.service, c.route)].base99
			}
			st.slow, st.mu, st.sd, st.cap = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			st.err, st.err50x = make([]float64, n), make([]float64, n)
			for i := range n {
				var comps []slowComp
				if svc == m.s.FaultyService {
					comps = append(comps, slowComp{m.latSev[i] * m.slowMax(spec), fmu, fsd, math.Inf(1)})
				}
				ok, ok50x := 1-spec.errRatio, 1.0
				j := max(0, i-2*m.lag)
				for _, c := range spec.calls {
					k := m.routes[routeKey(c.service, c.route)]
					x, y, cy := splitTimeouts(k, j, c.timeout.Seconds())
					tsec := c.timeout.Seconds()
					comps = append(comps, slowComp{x, tsec, 0.3, tsec}, slowComp{y, cy, k.sd[j], tsec})
					ok *= 1 - math.Min(1, x+k.err[j])
					ok50x *= 1 - math.Min(1, x+k.err50x[j])
				}
				st.err[i], st.err50x[i] = 1-ok, 1-ok50x
				st.slow[i], st.mu[i], st.sd[i], st.cap[i] = mix(comps)
			}
		}
	}
}

// splitTimeouts splits callee k's slow requests at step j by a client
// timeout: x time out, y finish late but in time with mean duration cy.
func splitTimeouts(k *routeState, j int, timeout float64) (x, y, cy float64) {
	sf := k.slow[j]
	if sf <= 0 {
		return 0, 0, 0
	}
	if k.cap[j] <= timeout {
		return 0, sf, k.mu[j]
	}
	a := (timeout - k.mu[j]) / k.sd[j]
	below := normCDF(a)
	x = sf * (1 - below)
	y = sf - x
	cy = k.mu[j]
	if below > 1e-9 {
		// Mean of a normal truncated above at the timeout.
		cy = k.mu[j] - k.sd[j]*normPDF(a)/below
	}
	return x, y, math.Max(0, math.Min(cy, timeout))
}

// mix combines slow populations into one: the union's share, and the mean,
// spread and cap of the mixture.
func mix(comps []slowComp) (frac, mu, sd, cap float64) {
	none, w, m1, m2 := 1.0, 0.0, 0.0, 0.0
	for _, c := range comps {
		if c.frac <= 0 {
			continue
		}
		none *= 1 - math.Min(1, c.frac)
		w += c.frac
		m1 += c.frac * c.mu
		m2 += c.frac * (c.sd*c.sd + c.mu*c.mu)
		cap = math.Max(cap, c.cap)
	}
	if w == 0 {
		return 0, 0, 1, math.Inf(1)
	}
	mu = m1 / w
	sd = math.Sqrt(math.Max(0.04, m2/w-mu*mu))
	return 1 - none, mu, sd, cap
}

// p99 of a route whose normal requests have p99 base and a share slow of
// requests take ~N(mu, sd), capped at cap (a client timeout).
func p99(base, slow, mu, sd, cap float64) float64 {
	if slow <= 0 {
		return base
	}
	w := math.Min(1, slow/0.01)
	q := math.Max(0.02, math.Min(0.999, 1-0.01/math.Max(slow, 0.01)))
	qs := mu + sd*math.Sqrt2*math.Erfinv(2*q-1)
	qs = math.Max(base, math.Min(qs, cap))
	return base + w*(qs-base)
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
func normPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

// rng returns the random source of one series (or log stream): seeded by
// the scenario and the name, so adding a series does not reshuffle the
// noise of every other one.
func (m *model) rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(uint64(m.s.Seed), h.Sum64()))
}

// ar is AR(1) noise: consecutive rate()[2m] samples 30 s apart share most of
// their data, so real series wander rather than jump.
type ar struct {
	r          *rand.Rand
	phi, sd, x float64
}

func newAR(r *rand.Rand, phi, sd float64) *ar {
	return &ar{r: r, phi: phi, sd: sd, x: sd * r.NormFloat64()}
}

func (a *ar) next() float64 {
	a.x = a.phi*a.x + math.Sqrt(1-a.phi*a.phi)*a.sd*a.r.NormFloat64()
	return a.x
}

// poisson draws a Poisson count (normal approximation for large means).
func poisson(r *rand.Rand, lambda float64) float64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda > 40:
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// binomial draws how many of n requests failed with probability p.
func binomial(r *rand.Rand, n, p float64) float64 {
	p = math.Max(0, math.Min(1, p))
	if n <= 0 {
		return 0
	}
	if n*p < 30 && p < 0.5 {
		return math.Min(n, poisson(r, n*p))
	}
	v := n * p * (1 - p)
	return math.Max(0, math.Min(n, math.Round(n*p+math.Sqrt(v)*r.NormFloat64())))
}

// sig rounds to five significant digits: what a dashboard would show, and
// it keeps the snapshot small and its text stable across platforms.
func sig(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	e := int(math.Ceil(math.Log10(math.Abs(v))))
	if e > 5 {
		// Scale by an exact integer power of ten so 1013800000 stays exact.
		p := math.Pow(10, float64(e-5))
		return math.Round(v/p) * p
	}
	p := math.Pow(10, float64(5-e))
	return math.Round(v*p) / p
}
