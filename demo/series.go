package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// emitter turns the model into series shaped like what the collectors
// return: catalog signals as aggregated PromQL results (Metric = Signal =
// the signal id, labels = the query's by-labels), everything else under
// its raw (or recording-rule) name with service and pod labels.
type emitter struct {
	m      *model
	cat    *catalog.Catalog
	series []telemetry.Series
	// pods are the pods of every service over time (a deploy replaces them).
	pods map[string][]pod
	// hooks keeps per-step values the signals are made of, for
	// WriteOpenMetrics; Generate does not read them.
	hooks hooks
}

// hooks are the per-step quantities behind the catalog signals before a
// 2m rate() smooths them, with the same noise the signals carry.
type hooks struct {
	// latBase is, per route, the p99 of its normal (not slow) requests
	// per step, noise and spikes included.
	latBase map[string][]float64
	// upBase is the same for the calls of a caller -> callee pair.
	upBase map[string][]float64
	// res is, per service, CPU, throttling and GC pause per step with the
	// fault's severity unsmoothed.
	res map[string]rawResources
}

// rawResources are a service's counter rates per step, before rate()[2m].
type rawResources struct{ cpu, thr, gc []float64 }

// pairKey names a caller -> callee pair.
func pairKey(caller, callee string) string { return caller + "->" + callee }

// pod is one pod and the steps [from, to) it reports.
type pod struct {
	name, ip, node string
	from, to       int
}

// signal adds a catalog signal series.
func (e *emitter) signal(id string, labels telemetry.Labels, vals []float64) {
	sig, ok := e.cat.Signal(id)
	if !ok {
		panic("demo: catalog has no signal " + id) // the built-in catalog is fixed
	}
	e.add(telemetry.Series{Metric: id, Signal: id, Query: sig.Query, Labels: labels}, vals, 0, len(vals))
}

// raw adds a series the catalog has no query for, over steps [from, to).
func (e *emitter) raw(metric string, labels telemetry.Labels, vals []float64, from, to int) {
	e.add(telemetry.Series{Metric: metric, Labels: labels}, vals, from, to)
}

func (e *emitter) add(s telemetry.Series, vals []float64, from, to int) {
	s.Times, s.Values = make([]int64, 0, to-from), make([]float64, 0, to-from)
	for i := from; i < to; i++ {
		v := vals[i]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			panic(fmt.Sprintf("demo: %s has a non-finite value at step %d", s.ID(), i)) // a model bug
		}
		s.Append(e.m.times[i], sig(math.Max(0, v)))
	}
	e.series = append(e.series, s)
}

func (e *emitter) n() int { return len(e.m.times) }

// step returns the index of the first step at or after t.
func (e *emitter) step(t time.Time) int {
	i, _ := slices.BinarySearchFunc(e.m.times, t, func(a, b time.Time) int { return a.Compare(b) })
	return i
}

// makePods names the pods of every service. A deployed service gets a new
// ReplicaSet: its old pods stop reporting 30 s after the deploy, the new
// ones start at it.
func (e *emitter) makePods() {
	e.pods = map[string][]pod{}
	deploys := map[string]time.Time{e.m.s.FaultyService: e.m.tl.Deploy, decoyService(e.m.s.FaultyService): e.m.tl.DecoyDeploy}
	for _, svc := range e.m.topo.services {
		r := e.m.rng("pods/" + svc.name)
		hash := func() string { return kubeRand(r, 10) }
		if svc.db {
			// StatefulSets: stable names.
			e.pods[svc.name] = []pod{{name: svc.name + "-0", ip: svc.podIPs[0], node: svc.node[0], from: 0, to: e.n()}}
			continue
		}
		old := hash()
		d, deployed := deploys[svc.name]
		end := e.n()
		if deployed {
			end = e.step(d.Add(hopLag))
		}
		for k := range svc.pods {
			e.pods[svc.name] = append(e.pods[svc.name], pod{
				name: svc.name + "-" + old + "-" + kubeRand(r, 5), ip: svc.podIPs[k], node: svc.node[k%len(svc.node)], from: 0, to: end})
		}
		if deployed {
			nu := hash()
			for k := range svc.pods {
				e.pods[svc.name] = append(e.pods[svc.name], pod{
					name: svc.name + "-" + nu + "-" + kubeRand(r, 5), ip: svc.newPodIPs[k], node: svc.node[k%len(svc.node)], from: e.step(d), to: e.n()})
			}
		}
	}
}

// kubeRand draws from the alphabet Kubernetes uses for generated names.
func kubeRand(r *rand.Rand, n int) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// podsAt is how many pods of a service report at step i.
func (e *emitter) podsAt(service string, i int) int {
	n := 0
	for _, p := range e.pods[service] {
		if i >= p.from && i < p.to {
			n++
		}
	}
	return max(1, n)
}

// decoyService is the service of the unrelated deploy: catalog, unless
// catalog is the faulty one.
func decoyService(faulty string) string {
	if faulty == "catalog" {
		return "cart"
	}
	return "catalog"
}

// blipService is the service of the unrelated memory blip.
func blipService(faulty string) string {
	if faulty == "cart" {
		return "catalog"
	}
	return "cart"
}

// routeSignals emits request rate, 5xx ratio and p99 latency of every route.
// It returns the observed request rate per route, which other series reuse.
func (e *emitter) routeSignals() map[string][]float64 {
	obs := map[string][]float64{}
	e.hooks.latBase = map[string][]float64{}
	for _, spec := range e.m.topo.routes {
		st := e.m.routes[routeKey(spec.service, spec.name)]
		labels := func() telemetry.Labels { return telemetry.Labels{"service": spec.service, "route": spec.name} }
		id := routeKey(spec.service, spec.name)
		r := e.m.rng("route/" + id)
		n := e.n()
		rate, ratio, lat := make([]float64, n), make([]float64, n), make([]float64, n)
		// A 2m rate over few requests is noisier than over many.
		rateNoise := newAR(r, 0.6, 0.02)
		latNoise := newAR(r, 0.5, 0.06+0.3/math.Sqrt(st.rate[0]*120))
		spike := 0
		bases := make([]float64, n)
		// Counters and histogram buckets are read through a 2m rate().
		errW, slowW, rateW := trailing(st.err, e.m.win), trailing(st.slow, e.m.win), trailing(st.rate, e.m.win)
		for i := range n {
			reqs := rateW[i] * 120
			rate[i] = rateW[i] * (1 + rateNoise.next() + r.NormFloat64()/math.Sqrt(reqs))
			nreq := math.Max(1, math.Round(rate[i]*120))
			ratio[i] = binomial(r, nreq, errW[i]) / nreq
			// p99 has a heavy tail of its own: now and then a cold cache
			// or a GC cycle lifts it for a step or two.
			if spike == 0 && r.Float64() < 0.015 {
				spike = 1 + r.IntN(2)
			}
			base := st.base99 * math.Exp(latNoise.next())
			if spike > 0 {
				base *= 1.5 + r.Float64()
				spike--
			}
			bases[i] = base
			full := p99(st.base99, slowW[i], st.mu[i], st.sd[i], st.cap[i])
			lat[i] = base + (full-st.base99)*(1+0.03*r.NormFloat64())
			if c := st.cap[i]; !math.IsInf(c, 0) && slowW[i] > 0 {
				lat[i] = math.Min(lat[i], c+spec.ownP99)
			}
		}
		obs[id] = rate
		e.hooks.latBase[id] = bases
		e.signal("http_request_rate", labels(), rate)
		e.signal("http_error_ratio", labels(), ratio)
		e.signal("http_latency_p99", labels(), lat)
	}
	return obs
}

// upstreamSignals emits the client-side view of every caller -> callee
// pair: timeouts, 502/503/504 ratio and p99 latency, one lag after the callee.
func (e *emitter) upstreamSignals(obs map[string][]float64) {
	n := e.n()
	e.hooks.upBase = map[string][]float64{}
	for _, p := range e.pairs() {
		r := e.m.rng("upstream/" + pairKey(p.caller, p.callee))
		timeouts, ratio, lat := make([]float64, n), make([]float64, n), make([]float64, n)
		bases := make([]float64, n)
		latNoise := newAR(r, 0.5, 0.05)
		ps := e.pairSteps(p, obs)
		calls, base, timeout := ps.calls, ps.base, ps.timeout
		w := e.m.win
		callsW, toutW, badW, slowWW, mu1W, mu2W := trailing(calls, w), trailing(ps.tout, w), trailing(ps.bad, w), trailing(ps.slowW, w), trailing(ps.mu1, w), trailing(ps.mu2, w)
		for i := range n {
			nreq := math.Max(1, math.Round(callsW[i]*120))
			// A healthy upstream still times out now and then.
			timeouts[i] = poisson(r, (toutW[i]+callsW[i]*2e-5)*120) / 120
			ratio[i] = binomial(r, nreq, badW[i]/callsW[i]+1e-4) / nreq
			b := base[i] / calls[i]
			frac, mu, sd := 0.0, 0.0, 1.0
			if slowWW[i] > 0 {
				frac, mu = slowWW[i]/callsW[i], mu1W[i]/slowWW[i]
				sd = math.Sqrt(math.Max(0.04, mu2W[i]/slowWW[i]-mu*mu))
			}
			full := p99(b, frac, mu, sd, timeout)
			bases[i] = b * math.Exp(latNoise.next())
			lat[i] = math.Min(timeout, bases[i]+(full-b)*(1-0.01*math.Abs(r.NormFloat64())))
		}
		e.hooks.upBase[pairKey(p.caller, p.callee)] = bases
		labels := func() telemetry.Labels { return telemetry.Labels{"service": p.caller, "upstream": p.callee} }
		e.signal("upstream_timeouts", labels(), timeouts)
		e.signal("upstream_error_ratio", labels(), ratio)
		e.signal("upstream_latency_p99", labels(), lat)
	}
}

// callPair is a caller and a service it calls.
type callPair struct{ caller, callee string }

// pairs are the caller -> callee pairs of the shop, in route order.
func (e *emitter) pairs() []callPair {
	var pairs []callPair
	for _, spec := range e.m.topo.routes {
		for _, c := range spec.calls {
			p := callPair{spec.service, c.service}
			if !slices.Contains(pairs, p) {
				pairs = append(pairs, p)
			}
		}
	}
	return pairs
}

// pairStep is what one caller -> callee pair does per step, given the
// callers' request rates: calls/s, timed-out calls/s, 502/503/504s/s,
// other 5xx answers/s, the calls' base p99 (times calls), and the slow
// calls' weight and first two moments (times calls).
type pairStep struct {
	calls, tout, bad, other5xx, base []float64
	slowW, mu1, mu2                  []float64
	timeout                          float64 // the longest client timeout, seconds
}

func (e *emitter) pairSteps(p callPair, rates map[string][]float64) pairStep {
	n := e.n()
	ps := pairStep{
		calls: make([]float64, n), tout: make([]float64, n), bad: make([]float64, n), other5xx: make([]float64, n), base: make([]float64, n),
		slowW: make([]float64, n), mu1: make([]float64, n), mu2: make([]float64, n),
	}
	for i := range n {
		j := max(0, i-e.m.lag)
		for _, spec := range e.m.topo.routesOf(p.caller) {
			for _, c := range spec.calls {
				if c.service != p.callee {
					continue
				}
				k := e.m.routes[routeKey(c.service, c.route)]
				cr := rates[routeKey(spec.service, spec.name)][i] * c.perReq * e.m.throughput(p.caller, i)
				t := c.timeout.Seconds()
				ps.timeout = math.Max(ps.timeout, t)
				x, y, cy := splitTimeouts(k, j, t)
				ps.calls[i] += cr
				ps.tout[i] += cr * x
				ps.bad[i] += cr * (x + k.err50x[j])
				ps.other5xx[i] += cr * math.Max(0, k.err[j]-k.err50x[j])
				ps.base[i] += cr * (k.base99 + 0.002)
				// The client's histogram records a timed-out call at the timeout.
				ps.slowW[i] += cr * (x + y)
				ps.mu1[i] += cr * (x*t + y*cy)
				ps.mu2[i] += cr * (x*t*t + y*(cy*cy+k.sd[j]*k.sd[j]))
			}
		}
	}
	return ps
}

// traffic is a service's request rate relative to its baseline mean; for a
// database, its caller's.
func (e *emitter) traffic(service string, obs map[string][]float64) []float64 {
	src := service
	switch service {
	case "payments-db":
		src = "payments"
	case "catalog-db":
		src = "catalog"
	}
	n := e.n()
	tot := make([]float64, n)
	for _, spec := range e.m.topo.routesOf(src) {
		if spec.health {
			continue
		}
		for i, v := range e.m.routes[routeKey(spec.service, spec.name)].rate {
			tot[i] += v
		}
	}
	b := e.step(e.m.tl.Baseline[1])
	mean := 0.0
	for _, v := range tot[:b] {
		mean += v
	}
	mean /= float64(b)
	for i := range tot {
		tot[i] /= mean
	}
	return tot
}

// resources holds a service's resource series, reused by the pod and node series.
type resources struct {
	cpu, mem, inflight []float64
	blip               []float64 // bytes of the memory blip, all on the first pod
}

// resourceSignals emits CPU, throttling, memory, GC pause and restarts per service.
func (e *emitter) resourceSignals(obs map[string][]float64) map[string]resources {
	out := map[string]resources{}
	m := e.m
	n := e.n()
	blipFrom, blipTo := m.s.Start.Add(BlipOffset), m.s.Start.Add(BlipOffset+BlipLength)
	// CPU, throttling and GC are counters read through rate()[2m]; the
	// working set is a gauge.
	sev := trailing(m.resSev, m.win)
	e.hooks.res = map[string]rawResources{}
	for _, svc := range m.topo.services {
		r := m.rng("resource/" + svc.name)
		tr := e.traffic(svc.name, obs)
		faulty := svc.name == m.s.FaultyService
		cpu, thr, mem, gc, restarts := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		blip := make([]float64, n)
		// The same with the fault's severity before rate() smooths it.
		raw := rawResources{cpu: make([]float64, n), thr: make([]float64, n), gc: make([]float64, n)}
		cpuN, memN, gcN := newAR(r, 0.7, 0.04), newAR(r, 0.9, 0.006), newAR(r, 0.6, 0.15)
		thrN := newAR(r, 0.4, 0.6)
		for i, t := range m.times {
			cpu[i] = svc.cpu * (0.35 + 0.65*tr[i]) * (1 + cpuN.next())
			thr[i] = svc.throttle * math.Exp(thrN.next())
			// Working sets breathe with the GC cycle and the page cache.
			mem[i] = svc.memory * (1 + memN.next() + 0.01*math.Sin(float64(i)/7))
			gc[i] = svc.gcPause * (0.5 + 0.5*tr[i]) * math.Exp(gcN.next())
			raw.cpu[i], raw.thr[i], raw.gc[i] = cpu[i], thr[i], gc[i]
			if faulty {
				rs := m.resSev[i]
				switch m.s.Fault {
				case FaultCPU:
					full := 0.975*svc.cpuLimit + 0.008*svc.cpuLimit*r.NormFloat64()
					tn := 1 + 0.05*r.NormFloat64()
					cpu[i] += sev[i] * (full - cpu[i])
					cpu[i] = math.Min(cpu[i], 0.998*svc.cpuLimit)
					thr[i] += sev[i] * 0.65 * svc.cpuLimit * tn
					gc[i] *= 1 + 1.5*sev[i]
					raw.cpu[i] = math.Min(raw.cpu[i]+rs*(full-raw.cpu[i]), 0.998*svc.cpuLimit)
					raw.thr[i] += rs * 0.65 * svc.cpuLimit * tn
					raw.gc[i] *= 1 + 1.5*rs
				case FaultMemoryLeak:
					mem[i] += m.leak[i] * (1 + 0.01*r.NormFloat64())
					cn := 1 + 0.05*r.NormFloat64()
					gn := 1 + 0.1*r.NormFloat64()
					cpu[i] += sev[i] * 0.2 * svc.cpuLimit * cn
					thr[i] += sev[i] * 0.03 * svc.cpuLimit
					gc[i] += sev[i] * 0.09 * gn
					raw.cpu[i] += rs * 0.2 * svc.cpuLimit * cn
					raw.thr[i] += rs * 0.03 * svc.cpuLimit
					raw.gc[i] += rs * 0.09 * gn
				}
			}
			if svc.name == blipService(m.s.FaultyService) && !t.Before(blipFrom) && t.Before(blipTo) {
				// One pod loads a huge cart into memory and lets it go.
				blip[i] = 0.06 * mem[i]
				mem[i] += blip[i]
			}
		}
		inflight := make([]float64, n)
		for _, spec := range m.topo.routesOf(svc.name) {
			st := m.routes[routeKey(spec.service, spec.name)]
			for i := range n {
				// Little's law: requests in flight = rate x time in system.
				inflight[i] += st.rate[i] * (st.base99/3 + st.slow[i]*st.mu[i])
			}
		}
		out[svc.name] = resources{cpu: cpu, mem: mem, inflight: inflight, blip: blip}
		e.hooks.res[svc.name] = raw
		l := func() telemetry.Labels { return telemetry.Labels{"service": svc.name} }
		e.signal("cpu_usage", l(), cpu)
		e.signal("cpu_throttling", l(), thr)
		e.signal("memory_working_set", l(), mem)
		if svc.gcPause > 0 {
			e.signal("gc_pause", l(), gc)
		}
		e.signal("pod_restarts", l(), restarts)
	}
	return out
}

// podSeries emits per-pod series: container CPU and memory (the raw
// cAdvisor view), Go runtime gauges, nginx connections, caches and pools.
func (e *emitter) podSeries(res map[string]resources) {
	m := e.m
	n := e.n()
	for _, svc := range m.topo.services {
		rs := res[svc.name]
		for k, p := range e.pods[svc.name] {
			r := m.rng("pod/" + p.name)
			l := func(extra ...string) telemetry.Labels {
				lb := telemetry.Labels{"service": svc.name, "pod": p.name, "namespace": "shop", "node": p.node}
				for x := 0; x+1 < len(extra); x += 2 {
					lb[extra[x]] = extra[x+1]
				}
				return lb
			}
			share := func(v []float64, i int) float64 { return v[i] / float64(e.podsAt(svc.name, i)) }
			cpu, mem := make([]float64, n), make([]float64, n)
			g1, g2, g3 := make([]float64, n), make([]float64, n), make([]float64, n)
			cn, mn := newAR(r, 0.5, 0.05), newAR(r, 0.8, 0.01)
			for i := p.from; i < p.to; i++ {
				cpu[i] = share(rs.cpu, i) * (1 + cn.next())
				mem[i] = (rs.mem[i] - rs.blip[i]) / float64(e.podsAt(svc.name, i)) * (1 + mn.next())
				if k == 0 {
					// The whole blip sits on this one pod.
					mem[i] += rs.blip[i]
				}
				inflight := share(rs.inflight, i)
				switch {
				case svc.name == "gateway":
					g1[i] = math.Round(inflight + 180 + 10*r.NormFloat64()) // active connections (keep-alive)
					g2[i] = math.Round(math.Max(0, 150+12*r.NormFloat64())) // waiting (idle keep-alive)
				case svc.db:
				default:
					g1[i] = math.Round(38 + inflight*1.6 + poisson(r, 6)) // goroutines
					g2[i] = math.Round(24 + inflight*1.1 + poisson(r, 3)) // open fds
					g3[i] = mem[i] * (0.52 + 0.02*r.NormFloat64())        // heap in use
				}
			}
			e.raw("node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m", l("container", svc.name), cpu, p.from, p.to)
			e.raw("container_memory_working_set_bytes", l("container", svc.name), mem, p.from, p.to)
			switch {
			case svc.name == "gateway":
				e.raw("nginx_connections_active", l(), g1, p.from, p.to)
				e.raw("nginx_connections_waiting", l(), g2, p.from, p.to)
			case svc.db:
			default:
				e.raw("go_goroutines", l(), g1, p.from, p.to)
				e.raw("process_open_fds", l(), g2, p.from, p.to)
				e.raw("go_memstats_heap_inuse_bytes", l(), g3, p.from, p.to)
			}
			switch svc.name {
			case "catalog", "cart":
				cache, hit := "products", 0.94
				if svc.name == "cart" {
					cache, hit = "sessions", 0.88
				}
				v := make([]float64, n)
				hn := newAR(r, 0.7, 0.008)
				for i := p.from; i < p.to; i++ {
					v[i] = math.Min(1, hit+hn.next())
				}
				e.raw("cache_hit_ratio", l("cache", cache), v, p.from, p.to)
			}
			switch svc.name {
			case "catalog", "payments":
				db, lambda := "catalog-db", 4.0
				if svc.name == "payments" {
					db, lambda = "payments-db", 2.5
				}
				used, idle := make([]float64, n), make([]float64, n)
				for i := p.from; i < p.to; i++ {
					used[i] = math.Min(20, poisson(r, lambda*e.traffic1(svc.name, i)))
					idle[i] = math.Max(0, 10-used[i])
				}
				e.raw("db_pool_connections_in_use", l("db", db), used, p.from, p.to)
				e.raw("db_pool_connections_idle", l("db", db), idle, p.from, p.to)
			}
		}
	}
}

// traffic1 is the load a service sees at step i relative to the window
// start: the daily shape, less what a saturated caller no longer sends.
func (e *emitter) traffic1(service string, i int) float64 {
	return e.m.daily[i] * e.m.throughputOfCallers(service, i)
}

// throughputOfCallers is the share of normal traffic a callee of the
// faulty service still gets.
func (m *model) throughputOfCallers(service string, i int) float64 {
	for _, spec := range m.topo.routes {
		if spec.service != m.s.FaultyService {
			continue
		}
		for _, c := range spec.calls {
			if c.service == service {
				return m.throughput(m.s.FaultyService, i)
			}
		}
	}
	return 1
}

// dbSeries emits postgres_exporter-style series for the two databases.
func (e *emitter) dbSeries() {
	m := e.m
	n := e.n()
	for _, db := range []struct{ svc, datname, caller string }{
		{"payments-db", "payments", "payments"},
		{"catalog-db", "catalog", "catalog"},
	} {
		r := m.rng("db/" + db.svc)
		l := func(extra ...string) telemetry.Labels {
			lb := telemetry.Labels{"service": db.svc, "datname": db.datname}
			for x := 0; x+1 < len(extra); x += 2 {
				lb[extra[x]] = extra[x+1]
			}
			return lb
		}
		pool := float64(10 * len(e.pods[db.caller]))
		act, idle, iit := make([]float64, n), make([]float64, n), make([]float64, n)
		locks := [3][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
		xact, lag := make([]float64, n), make([]float64, n)
		base := 3.0
		if db.caller == "catalog" {
			base = 7
		}
		lagN := newAR(r, 0.8, 0.35)
		for i := range n {
			tr := e.traffic1(db.caller, i)
			act[i] = poisson(r, base*tr)
			iit[i] = poisson(r, 0.3)
			idle[i] = math.Max(0, pool*float64(e.podsAt(db.caller, i))/float64(len(e.pods[db.caller]))-act[i]-iit[i])
			locks[0][i] = poisson(r, 9*tr)
			locks[1][i] = poisson(r, 2.5*tr)
			locks[2][i] = poisson(r, 0.4)
			xact[i] = base * 31 * tr * (1 + 0.04*r.NormFloat64())
			lag[i] = 0.12 * math.Exp(lagN.next())
		}
		e.raw("pg_stat_activity_count", l("state", "active"), act, 0, n)
		e.raw("pg_stat_activity_count", l("state", "idle"), idle, 0, n)
		e.raw("pg_stat_activity_count", l("state", "idle in transaction"), iit, 0, n)
		for k, mode := range []string{"accesssharelock", "rowexclusivelock", "exclusivelock"} {
			e.raw("pg_locks_count", l("mode", mode), locks[k], 0, n)
		}
		e.raw("datname:pg_stat_database_xact_commit:rate2m", l(), xact, 0, n)
		e.raw("pg_replication_lag_seconds", l(), lag, 0, n)
	}
}

// businessSeries emits application metrics the catalog knows nothing about,
// as recording rules of their counters.
func (e *emitter) businessSeries(obs map[string][]float64) {
	m := e.m
	n := e.n()
	rt := func(s, route string) *routeState { return m.routes[routeKey(s, route)] }
	r := m.rng("business")
	orders := make([]float64, n)
	fraud := [3][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
	amount, items, searches := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		// An order exists once checkout answered 2xx to the gateway in time.
		gw := rt("gateway", "POST /api/checkout")
		orders[i] = poisson(r, obs[routeKey("gateway", "POST /api/checkout")][i]*120*0.97*(1-gw.err[i])) / 120
		auth := obs[routeKey("payments", "POST /internal/payments/authorize")][i]
		for k, share := range []float64{0.955, 0.04, 0.005} {
			fraud[k][i] = poisson(r, auth*share*120) / 120
		}
		// Basket sizes are lumpy: a few big orders move the sum.
		amount[i] = auth * 47.3 * math.Exp(0.12*r.NormFloat64())
		items[i] = poisson(r, obs[routeKey("cart", "POST /api/cart/items")][i]*1.1*120) / 120
		searches[i] = poisson(r, obs[routeKey("catalog", "GET /api/search")][i]*120) / 120
	}
	e.raw("service:orders_created:rate2m", telemetry.Labels{"service": "checkout"}, orders, 0, n)
	for k, result := range []string{"pass", "review", "reject"} {
		e.raw("service:payments_fraud_checks:rate2m", telemetry.Labels{"service": "payments", "result": result}, fraud[k], 0, n)
	}
	e.raw("service:payments_authorized_amount_eur:rate2m", telemetry.Labels{"service": "payments"}, amount, 0, n)
	e.raw("service:cart_items_added:rate2m", telemetry.Labels{"service": "cart"}, items, 0, n)
	e.raw("service:catalog_search_queries:rate2m", telemetry.Labels{"service": "catalog"}, searches, 0, n)
}

// probeSeries emits blackbox availability probes of the HTTP services: all
// green, because the health checks stay cheap even on a saturated pod.
func (e *emitter) probeSeries() {
	n := e.n()
	for _, s := range FaultableServices() {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1
		}
		e.raw("probe_success", telemetry.Labels{"service": s, "instance": "http://" + s + ".shop.svc:8080/healthz"}, v, 0, n)
	}
}

// noisySeries is the decoy that is always spiky: the catalog re-indexer,
// a worker that wakes every few minutes and burns CPU for a minute or two,
// in the baseline and the window alike.
func (e *emitter) noisySeries() {
	m := e.m
	n := e.n()
	r := m.rng("noisy/catalog-indexer")
	v := make([]float64, n)
	next := r.IntN(8)
	burst, level := 0, 0.0
	for i := range n {
		if burst == 0 && i >= next {
			burst, level = 2+r.IntN(4), 0.8+0.8*r.Float64()
			// Next wake-up in 3..7 minutes of steps.
			next = i + int((3*time.Minute+time.Duration(r.IntN(240))*time.Second)/m.s.Step)
		}
		v[i] = 0.02 + 0.01*math.Abs(r.NormFloat64())
		if burst > 0 {
			v[i] += level * (0.85 + 0.3*r.Float64())
			burst--
		}
	}
	e.raw("node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m",
		telemetry.Labels{"service": "catalog", "pod": "catalog-indexer-" + kubeRand(r, 10) + "-" + kubeRand(r, 5), "namespace": "shop", "container": "indexer", "node": "10.0.0.2"}, v, 0, n)
}

// nodeSeries emits node_exporter recording rules for the three nodes:
// infrastructure context, derived from the pods placed on each node.
func (e *emitter) nodeSeries(res map[string]resources, obs map[string][]float64) {
	m := e.m
	n := e.n()
	const cores, memTotal = 8.0, 32 << 30
	gwTraffic := e.traffic("gateway", obs)
	for k, node := range m.topo.nodes {
		r := m.rng("node/" + node)
		cpu, memU, load, rx, tx, disk, fs := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		ln := newAR(r, 0.8, 0.08)
		for i := range n {
			used, mem := 0.35+0.05*r.NormFloat64(), 2.1*(1<<30)
			for _, svc := range m.topo.services {
				for _, p := range e.pods[svc.name] {
					if p.node == node && i >= p.from && i < p.to {
						used += res[svc.name].cpu[i] / float64(e.podsAt(svc.name, i))
						mem += res[svc.name].mem[i] / float64(e.podsAt(svc.name, i))
					}
				}
			}
			cpu[i] = math.Min(1, used/cores)
			memU[i] = math.Min(1, mem/memTotal)
			load[i] = math.Max(0, cpu[i]*1.15*math.Exp(ln.next()))
			rx[i] = 4.2e6 * gwTraffic[i] * (1 + 0.05*r.NormFloat64())
			tx[i] = 6.8e6 * gwTraffic[i] * (1 + 0.05*r.NormFloat64())
			disk[i] = 0.02 * math.Exp(0.5*r.NormFloat64())
			if node == "10.0.0.1" || node == "10.0.0.2" {
				// The databases' nodes: checkpoints write in bursts.
				disk[i] += 0.06 * math.Exp(0.8*r.NormFloat64())
			}
			// Logs slowly fill the root filesystem.
			fs[i] = float64(41+7*k)*(1<<30) - float64(i)*2.3e6 + 4e6*r.NormFloat64()
		}
		l := func(extra ...string) telemetry.Labels {
			lb := telemetry.Labels{"service": "node:" + node, "node": node, "instance": node + ":9100"}
			for x := 0; x+1 < len(extra); x += 2 {
				lb[extra[x]] = extra[x+1]
			}
			return lb
		}
		e.raw("instance:node_cpu_utilisation:rate5m", l(), cpu, 0, n)
		e.raw("instance:node_memory_utilisation:ratio", l(), memU, 0, n)
		e.raw("instance:node_load1_per_cpu:ratio", l(), load, 0, n)
		e.raw("instance:node_network_receive_bytes_excluding_lo:rate5m", l(), rx, 0, n)
		e.raw("instance:node_network_transmit_bytes_excluding_lo:rate5m", l(), tx, 0, n)
		e.raw("instance_device:node_disk_io_time_seconds:rate5m", l("device", "nvme0n1"), disk, 0, n)
		e.raw("node_filesystem_avail_bytes", l("device", "/dev/nvme0n1p1", "mountpoint", "/", "fstype", "ext4"), fs, 0, n)
	}
}
