package demo

import (
	"slices"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// The shop. Everything here is built by functions, not package variables, so
// the package holds no mutable state.

// call is one downstream call a route makes per request.
type call struct {
	service, route string
	perReq         float64
	timeout        time.Duration
}

// routeSpec is one HTTP route a service serves.
type routeSpec struct {
	service, name string
	// external is the request rate (req/s, at the daily factor of the window
	// start) that does not come from another service of the shop: users at
	// the gateway, probes, a back office.
	external float64
	// ownP99 is the route's own p99 work in seconds, without its calls.
	ownP99 float64
	// errRatio is the baseline 5xx ratio of the route's own work.
	errRatio float64
	calls    []call
	health   bool
}

// serviceSpec is one service of the shop.
type serviceSpec struct {
	name string
	pods int
	db   bool // a database: no HTTP routes, no Go runtime
	// Resource baselines for the whole service.
	cpu, cpuLimit float64 // cores
	memory        float64 // bytes
	gcPause       float64 // seconds of GC pause per second
	throttle      float64 // seconds throttled per second
	node          []string
	podIPs        []string // before a deploy
	newPodIPs     []string // after a deploy
	version       [2]string
	commit        string
	author        string
}

type topology struct {
	services []serviceSpec
	routes   []routeSpec
	edges    []telemetry.Edge
	nodes    []string
}

// order lists the HTTP services callees first, so a caller's state can be
// computed from its callees'.
func callOrder() []string { return []string{"payments", "cart", "catalog", "checkout", "gateway"} }

// FaultableServices are the services a Scenario can break.
func FaultableServices() []string {
	return []string{"gateway", "checkout", "cart", "catalog", "payments"}
}

func faultable(s string) bool { return slices.Contains(FaultableServices(), s) }

func shop() topology {
	const (
		gw  = 30 * time.Second // nginx proxy_read_timeout
		pay = 10 * time.Second // checkout's client timeout to payments
		crt = 5 * time.Second  // checkout's client timeout to cart
	)
	routes := []routeSpec{
		{service: "gateway", name: "GET /api/products", external: 85, ownP99: 0.006, errRatio: 0.0004, calls: []call{{"catalog", "GET /api/products", 1, gw}}},
		{service: "gateway", name: "GET /api/products/{id}", external: 140, ownP99: 0.005, errRatio: 0.0003, calls: []call{{"catalog", "GET /api/products/{id}", 1, gw}}},
		{service: "gateway", name: "GET /api/search", external: 40, ownP99: 0.006, errRatio: 0.0006, calls: []call{{"catalog", "GET /api/search", 1, gw}}},
		{service: "gateway", name: "GET /api/cart", external: 35, ownP99: 0.005, errRatio: 0.0004, calls: []call{{"cart", "GET /api/cart", 1, gw}}},
		{service: "gateway", name: "POST /api/cart/items", external: 9, ownP99: 0.006, errRatio: 0.0008, calls: []call{{"cart", "POST /api/cart/items", 1, gw}}},
		{service: "gateway", name: "DELETE /api/cart/items/{id}", external: 2.5, ownP99: 0.006, errRatio: 0.0008, calls: []call{{"cart", "DELETE /api/cart/items/{id}", 1, gw}}},
		{service: "gateway", name: "POST /api/checkout", external: 12, ownP99: 0.008, errRatio: 0.0010, calls: []call{{"checkout", "POST /api/checkout", 1, gw}}},
		{service: "gateway", name: "GET /api/orders/{id}", external: 6, ownP99: 0.006, errRatio: 0.0006, calls: []call{{"checkout", "GET /api/orders/{id}", 1, gw}}},
		{service: "gateway", name: "GET /healthz", external: 1, ownP99: 0.002, health: true},

		{service: "checkout", name: "POST /api/checkout", ownP99: 0.19, errRatio: 0.0015, calls: []call{
			{"cart", "GET /internal/cart/{id}", 1, crt},
			{"payments", "POST /internal/payments/authorize", 1, pay},
			{"payments", "POST /internal/payments/capture", 0.96, pay},
		}},
		{service: "checkout", name: "GET /api/orders/{id}", ownP99: 0.07, errRatio: 0.0008},
		{service: "checkout", name: "GET /healthz", external: 0.2, ownP99: 0.002, health: true},

		{service: "cart", name: "GET /api/cart", ownP99: 0.028, errRatio: 0.0004},
		{service: "cart", name: "POST /api/cart/items", ownP99: 0.041, errRatio: 0.0007},
		{service: "cart", name: "DELETE /api/cart/items/{id}", ownP99: 0.033, errRatio: 0.0007},
		{service: "cart", name: "GET /internal/cart/{id}", ownP99: 0.017, errRatio: 0.0003},
		{service: "cart", name: "GET /healthz", external: 0.3, ownP99: 0.002, health: true},

		{service: "catalog", name: "GET /api/products", ownP99: 0.095, errRatio: 0.0005},
		{service: "catalog", name: "GET /api/products/{id}", ownP99: 0.043, errRatio: 0.0003},
		{service: "catalog", name: "GET /api/search", ownP99: 0.16, errRatio: 0.0009},
		{service: "catalog", name: "GET /healthz", external: 0.3, ownP99: 0.002, health: true},

		{service: "payments", name: "POST /internal/payments/authorize", ownP99: 0.24, errRatio: 0.0012},
		{service: "payments", name: "POST /internal/payments/capture", ownP99: 0.16, errRatio: 0.0009},
		// Refunds come from the back office, outside the shop's graph.
		{service: "payments", name: "POST /internal/payments/refund", external: 0.35, ownP99: 0.21, errRatio: 0.0020},
		{service: "payments", name: "GET /healthz", external: 0.2, ownP99: 0.002, health: true},
	}
	const (
		mib = 1 << 20
		n1  = "10.0.0.1"
		n2  = "10.0.0.2"
		n3  = "10.0.0.3"
	)
	services := []serviceSpec{
		{name: "gateway", pods: 3, cpu: 0.62, cpuLimit: 3, memory: 3 * 96 * mib, gcPause: 0, throttle: 0.004, node: []string{n1, n2, n3},
			podIPs: []string{"10.0.1.5", "10.0.2.8", "10.0.3.4"}, newPodIPs: []string{"10.0.1.31", "10.0.2.36", "10.0.3.38"},
			version: [2]string{"v2.14.0", "v2.14.1"}, commit: "c41a7d0", author: "r.iyer"},
		{name: "checkout", pods: 2, cpu: 0.31, cpuLimit: 2, memory: 2 * 188 * mib, gcPause: 0.0021, throttle: 0.003, node: []string{n2, n3},
			podIPs: []string{"10.0.3.11", "10.0.3.12"}, newPodIPs: []string{"10.0.3.17", "10.0.3.29"},
			version: [2]string{"v1.4.1", "v1.4.2"}, commit: "9f3c1e2", author: "m.lindqvist"},
		{name: "cart", pods: 3, cpu: 0.44, cpuLimit: 3, memory: 3 * 142 * mib, gcPause: 0.0032, throttle: 0.002, node: []string{n1, n2, n3},
			podIPs: []string{"10.0.1.14", "10.0.2.19", "10.0.3.21"}, newPodIPs: []string{"10.0.1.40", "10.0.2.44", "10.0.3.47"},
			version: [2]string{"v0.9.6", "v0.9.7"}, commit: "5e02b9a", author: "a.okafor"},
		{name: "catalog", pods: 3, cpu: 0.83, cpuLimit: 3, memory: 3 * 310 * mib, gcPause: 0.0048, throttle: 0.006, node: []string{n1, n2, n3},
			podIPs: []string{"10.0.1.9", "10.0.2.11", "10.0.3.9"}, newPodIPs: []string{"10.0.1.27", "10.0.2.30", "10.0.3.33"},
			version: [2]string{"v2.3.0", "v2.3.1"}, commit: "4b7e0d8", author: "j.moreau"},
		{name: "payments", pods: 2, cpu: 0.27, cpuLimit: 2, memory: 2 * 164 * mib, gcPause: 0.0017, throttle: 0.002, node: []string{n1, n3},
			podIPs: []string{"10.0.1.22", "10.0.3.25"}, newPodIPs: []string{"10.0.1.45", "10.0.3.51"},
			version: [2]string{"v3.8.0", "v3.8.1"}, commit: "e7d21f4", author: "s.haddad"},
		{name: "payments-db", pods: 1, db: true, cpu: 0.48, cpuLimit: 4, memory: 2300 * mib, throttle: 0.001, node: []string{n1}, podIPs: []string{"10.0.1.3"}},
		{name: "catalog-db", pods: 1, db: true, cpu: 0.91, cpuLimit: 4, memory: 3100 * mib, throttle: 0.002, node: []string{n2}, podIPs: []string{"10.0.2.3"}},
	}
	edges := []telemetry.Edge{
		{Caller: "gateway", Callee: "checkout"},
		{Caller: "gateway", Callee: "cart"},
		{Caller: "gateway", Callee: "catalog"},
		{Caller: "checkout", Callee: "payments"},
		{Caller: "checkout", Callee: "cart"},
		{Caller: "payments", Callee: "payments-db"},
		{Caller: "catalog", Callee: "catalog-db"},
	}
	return topology{services: services, routes: routes, edges: edges, nodes: []string{n1, n2, n3}}
}

func (t topology) service(name string) serviceSpec {
	for _, s := range t.services {
		if s.name == name {
			return s
		}
	}
	panic("demo: no service " + name) // the tables above are fixed
}

func (t topology) routesOf(service string) []routeSpec {
	var out []routeSpec
	for _, r := range t.routes {
		if r.service == service {
			out = append(out, r)
		}
	}
	return out
}

// hotRoute is the route the bad code path is on: the busiest non-health
// route of the service that its callers reach.
func hotRoute(service string) string {
	switch service {
	case "gateway":
		return "POST /api/checkout"
	case "checkout":
		return "POST /api/checkout"
	case "cart":
		return "GET /internal/cart/{id}"
	case "catalog":
		return "GET /api/products/{id}"
	default:
		return "POST /internal/payments/authorize"
	}
}
