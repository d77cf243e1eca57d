package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// Log volumes, lines per second. Real services log far more; the demo
// stands for a pipeline that samples access logs 1:2000 and keeps the
// snapshot under ~5,000 lines.
const (
	incidentLogShare = 0.08 // of timeouts / slow requests that reach Loki
	incidentLogCap   = 0.5  // lines per second per stream, at most
)

func infoRate(service string) float64 {
	switch service {
	case "gateway":
		return 0.18
	case "checkout":
		return 0.08
	case "cart":
		return 0.10
	case "catalog":
		return 0.12
	case "payments":
		return 0.06
	}
	return 0.01
}

// logger collects log lines.
type logger struct {
	e     *emitter
	lines []telemetry.LogLine
}

func (lg *logger) add(t time.Time, service, level, line string) {
	lg.lines = append(lg.lines, telemetry.LogLine{T: t, Labels: telemetry.Labels{"service": service, "level": level}, Line: line})
}

// at returns a time inside step i, at millisecond resolution.
func (lg *logger) at(r *rand.Rand, i int) time.Time {
	step := lg.e.m.s.Step
	return lg.e.m.times[i].Add(time.Duration(r.Int64N(int64(step/time.Millisecond))) * time.Millisecond)
}

func (e *emitter) logs(obs map[string][]float64) []telemetry.LogLine {
	lg := &logger{e: e}
	m := e.m
	n := e.n()
	stepSec := m.s.Step.Seconds()
	for _, svc := range m.topo.services {
		r := m.rng("logs/" + svc.name)
		for i := range n {
			for range int(poisson(r, infoRate(svc.name)*m.daily[i]*stepSec)) {
				lg.add(lg.at(r, i), svc.name, "info", e.infoLine(r, svc.name, lg.at(r, i), obs, i))
			}
			// Background warnings, as common in the baseline as in the window.
			for range int(poisson(r, warnRate(svc.name)*stepSec)) {
				lg.add(lg.at(r, i), svc.name, "warn", warnLine(r, svc.name))
			}
		}
	}
	e.deployLogs(lg)
	e.incidentLogs(lg)
	slices.SortStableFunc(lg.lines, func(a, b telemetry.LogLine) int {
		if c := a.T.Compare(b.T); c != 0 {
			return c
		}
		if c := strings.Compare(a.Labels["service"], b.Labels["service"]); c != 0 {
			return c
		}
		return strings.Compare(a.Line, b.Line)
	})
	return lg.lines
}

func warnRate(service string) float64 {
	perHour := map[string]float64{"gateway": 4, "catalog": 2, "payments": 3.5, "cart": 2.5, "payments-db": 2}[service]
	return perHour / 3600
}

// concrete fills a route template with an id: GET /api/orders/{id} -> GET /api/orders/58123.
func concrete(r *rand.Rand, route string) string {
	if !strings.Contains(route, "{id}") {
		return route
	}
	return strings.Replace(route, "{id}", fmt.Sprint(1000+r.IntN(90000)), 1)
}

func hexID(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

func orderID(r *rand.Rand) string { return "ord_" + strings.ToUpper(kubeRand(r, 8)) }

func (e *emitter) infoLine(r *rand.Rand, service string, t time.Time, obs map[string][]float64, i int) string {
	switch service {
	case "gateway":
		// An access log line, the route drawn by traffic.
		routes := e.m.topo.routesOf("gateway")
		w := make([]float64, len(routes))
		for k, spec := range routes {
			w[k] = obs[routeKey("gateway", spec.name)][i]
		}
		spec := routes[pick(r, w)]
		st := e.m.routes[routeKey("gateway", spec.name)]
		status := 200
		switch {
		case r.Float64() < st.err[i]:
			status = 504
			if r.Float64() < 0.3 {
				status = 502
			}
		case strings.HasPrefix(spec.name, "POST /api/cart"):
			status = 201
		case strings.HasPrefix(spec.name, "DELETE"):
			status = 204
		}
		method, path, _ := strings.Cut(concrete(r, spec.name), " ")
		rt := st.base99 / 3 * math.Exp(0.5*r.NormFloat64())
		return fmt.Sprintf(`10.0.0.%d - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s" rt=%.3f request_id=%s`,
			10+r.IntN(20), t.UTC().Format("02/Jan/2006:15:04:05 -0700"), method, path, status, 200+r.IntN(4000),
			[]string{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "shop-app/5.12.0 (Android 15)"}[r.IntN(3)],
			rt, hexID(r, 32))
	case "checkout":
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("order created order_id=%s items=%d total=%.2f currency=EUR duration_ms=%d", orderID(r), 1+r.IntN(6), 5+r.ExpFloat64()*42, 90+r.IntN(140))
		case 1:
			return fmt.Sprintf("receipt rendered order_id=%s bytes=%d", orderID(r), 2400+r.IntN(3000))
		default:
			return fmt.Sprintf("order status requested order_id=%s status=%s", orderID(r), []string{"paid", "shipped", "delivered"}[r.IntN(3)])
		}
	case "cart":
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("cart updated cart_id=c_%s items=%d duration_ms=%d", hexID(r, 8), 1+r.IntN(9), 4+r.IntN(30))
		case 1:
			return fmt.Sprintf("cart loaded cart_id=c_%s items=%d source=%s", hexID(r, 8), r.IntN(9), []string{"redis", "redis", "postgres"}[r.IntN(3)])
		default:
			return fmt.Sprintf("cart expired cart_id=c_%s idle=%dh%02dm", hexID(r, 8), 2+r.IntN(20), r.IntN(60))
		}
	case "catalog":
		switch r.IntN(5) {
		case 0, 1:
			q := []string{"red shoes", "rain jacket", "usb-c cable", "espresso", "yoga mat", "gift card", "winter boots"}[r.IntN(7)]
			return fmt.Sprintf("search query=%q results=%d took=%dms", q, r.IntN(80), 12+r.IntN(90))
		case 2, 3:
			return fmt.Sprintf("product viewed product_id=%d cache=%s", 1000+r.IntN(90000), []string{"hit", "hit", "hit", "miss"}[r.IntN(4)])
		default:
			return fmt.Sprintf("price list reloaded products=%d took=%.1fs", 12800+r.IntN(90), 0.8+r.Float64())
		}
	case "payments":
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("authorize ok order_id=%s amount=%.2f currency=EUR provider=%s latency_ms=%d", orderID(r), 5+r.ExpFloat64()*42, []string{"adyen", "stripe"}[r.IntN(2)], 80+r.IntN(200))
		case 1:
			return fmt.Sprintf("capture ok order_id=%s amount=%.2f currency=EUR", orderID(r), 5+r.ExpFloat64()*42)
		default:
			return fmt.Sprintf("fraud check passed order_id=%s score=%.2f", orderID(r), r.Float64()*0.4)
		}
	}
	// The databases.
	table := map[string]string{"payments-db": "payments.public.transactions", "catalog-db": "catalog.public.products"}[service]
	switch r.IntN(3) {
	case 0:
		return "LOG:  checkpoint starting: time"
	case 1:
		b := 200 + r.IntN(3000)
		return fmt.Sprintf("LOG:  checkpoint complete: wrote %d buffers (%.1f%%); 0 WAL file(s) added, 0 removed, %d recycled; write=%.3f s, sync=%.3f s, total=%.3f s",
			b, float64(b)/164, r.IntN(3), 20+10*r.Float64(), 0.002+0.01*r.Float64(), 20+10*r.Float64())
	default:
		return fmt.Sprintf("LOG:  automatic vacuum of table %q: index scans: %d", table, r.IntN(2))
	}
}

func warnLine(r *rand.Rand, service string) string {
	switch service {
	case "gateway":
		return fmt.Sprintf(`an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/%d/%02d/%010d while reading upstream, request: "GET /api/products?page=%d HTTP/1.1"`,
			r.IntN(10), r.IntN(100), r.IntN(100000), 1+r.IntN(40))
	case "catalog":
		return fmt.Sprintf("cache refresh slow products=%d took=%.1fs", 12800+r.IntN(90), 3+3*r.Float64())
	case "payments":
		return fmt.Sprintf("provider latency high provider=%s latency_ms=%d order_id=%s", []string{"adyen", "stripe"}[r.IntN(2)], 900+r.IntN(900), orderID(r))
	case "cart":
		return fmt.Sprintf("redis slow command cmd=GET key=cart:c_%s took=%dms", hexID(r, 8), 100+r.IntN(150))
	}
	return fmt.Sprintf("LOG:  duration: %.3f ms  execute <unnamed>: UPDATE transactions SET status = $1 WHERE id = $2", 1000+800*r.Float64())
}

// deployLogs are the pods' own lines around a rollout.
func (e *emitter) deployLogs(lg *logger) {
	m := e.m
	for _, d := range []struct {
		svc string
		t   time.Time
	}{{m.s.FaultyService, m.tl.Deploy}, {decoyService(m.s.FaultyService), m.tl.DecoyDeploy}} {
		spec := m.topo.service(d.svc)
		r := m.rng("logs/deploy/" + d.svc)
		k := 0
		for _, p := range e.pods[d.svc] {
			if p.from == 0 {
				t := d.t.Add(time.Duration(15+10*k)*time.Second + time.Duration(r.IntN(900))*time.Millisecond)
				lg.add(t, d.svc, "info", "received SIGTERM, draining connections")
				lg.add(t.Add(time.Duration(2000+r.IntN(3000))*time.Millisecond), d.svc, "info", "shutdown complete")
				continue
			}
			t := d.t.Add(time.Duration(10*k)*time.Second + time.Duration(r.IntN(900))*time.Millisecond)
			lg.add(t, d.svc, "info", fmt.Sprintf("starting %s version=%s commit=%s go=go1.26.8", d.svc, spec.version[1], spec.commit))
			lg.add(t.Add(time.Duration(300+r.IntN(600))*time.Millisecond), d.svc, "info", "listening on :8080")
			k++
		}
	}
}

// incidentLogs are the lines the failure writes: client timeouts at every
// caller of a stuck service, slow-request warnings where requests stall,
// heap warnings under a leak.
func (e *emitter) incidentLogs(lg *logger) {
	m := e.m
	n := e.n()
	stepSec := m.s.Step.Seconds()
	for _, caller := range callOrder() {
		r := m.rng("logs/timeouts/" + caller)
		for i := range n {
			j := max(0, i-m.lag)
			type cand struct {
				c    call
				rate float64
			}
			var cands []cand
			var w []float64
			total := 0.0
			for _, spec := range m.topo.routesOf(caller) {
				for _, c := range spec.calls {
					k := m.routes[routeKey(c.service, c.route)]
					x, _, _ := splitTimeouts(k, j, c.timeout.Seconds())
					rate := m.routes[routeKey(spec.service, spec.name)].rate[i] * c.perReq * x
					if rate > 0 {
						cands = append(cands, cand{c, rate})
						w = append(w, rate)
						total += rate
					}
				}
			}
			if total == 0 {
				continue
			}
			for range int(poisson(r, math.Min(incidentLogCap, total*incidentLogShare)*stepSec)) {
				c := cands[pick(r, w)].c
				t := lg.at(r, i)
				_, path, _ := strings.Cut(concrete(r, c.route), " ")
				if caller == "gateway" {
					ip := e.podIP(r, c.service, i)
					lg.add(t, caller, "error", fmt.Sprintf(`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://%s:8080%s", request_id=%s`, ip, path, hexID(r, 32)))
					continue
				}
				method, _, _ := strings.Cut(c.route, " ")
				lg.add(t, caller, "error", fmt.Sprintf("upstream request failed: context deadline exceeded (Client.Timeout exceeded while awaiting headers) upstream=%s method=%s path=%s request_id=%s",
					c.service, method, path, hexID(r, 32)))
			}
		}
	}
	for _, svc := range callOrder() {
		if svc == "gateway" {
			continue // nginx does not log slow requests
		}
		r := m.rng("logs/slow/" + svc)
		for i := range n {
			var w []float64
			routes := m.topo.routesOf(svc)
			total := 0.0
			for _, spec := range routes {
				st := m.routes[routeKey(svc, spec.name)]
				v := 0.0
				if st.slow[i] > 0.01 && st.mu[i] > 5 {
					v = st.rate[i] * st.slow[i]
				}
				w = append(w, v)
				total += v
			}
			if total == 0 {
				continue
			}
			for range int(poisson(r, math.Min(incidentLogCap, total*incidentLogShare)*stepSec)) {
				spec := routes[pick(r, w)]
				st := m.routes[routeKey(svc, spec.name)]
				d := math.Max(5.1, st.mu[i]+st.sd[i]*r.NormFloat64())
				lg.add(lg.at(r, i), svc, "warn", fmt.Sprintf("slow request %s took %.1fs", concrete(r, spec.name), d))
			}
		}
	}
	if m.s.Fault == FaultMemoryLeak {
		svc := m.topo.service(m.s.FaultyService)
		r := m.rng("logs/heap/" + svc.name)
		for i := range n {
			if m.leak[i] < 0.5*svc.memory {
				continue
			}
			for range int(poisson(r, stepSec/60)) {
				heap := (svc.memory + m.leak[i]) / float64(svc.pods) * 0.55
				lg.add(lg.at(r, i), svc.name, "warn", fmt.Sprintf("heap usage high heap_inuse=%.2fGiB gc_cpu_fraction=%.2f", heap/(1<<30), 0.05+0.3*m.resSev[i]+0.02*r.Float64()))
			}
		}
	}
}

// podIP is the IP of a pod of service that serves at step i.
func (e *emitter) podIP(r *rand.Rand, service string, i int) string {
	var ips []string
	for _, p := range e.pods[service] {
		if i >= p.from && i < p.to {
			ips = append(ips, p.ip)
		}
	}
	if len(ips) == 0 {
		return e.m.topo.service(service).podIPs[0]
	}
	return ips[r.IntN(len(ips))]
}

// pick draws an index with probability proportional to w.
func pick(r *rand.Rand, w []float64) int {
	total := 0.0
	for _, v := range w {
		total += v
	}
	x := r.Float64() * total
	for k, v := range w {
		if x < v {
			return k
		}
		x -= v
	}
	return len(w) - 1
}
