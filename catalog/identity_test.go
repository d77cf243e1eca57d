package catalog

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestIdentity(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		name   string
		labels map[string]string
		want   Identity
	}{
		{"service label", map[string]string{"service": "checkout", "job": "kubernetes-pods", "instance": "10.1.2.3:8080"},
			Identity{Service: "checkout", Host: "10.1.2.3", From: "service"}},
		{"app.kubernetes.io/name before app", map[string]string{"app_kubernetes_io_name": "cart", "app": "cart-v2"},
			Identity{Service: "cart", From: "app_kubernetes_io_name"}},
		{"container before job", map[string]string{"container": "payments", "job": "kubelet", "pod": "payments-5ff676694b-fzj9z"},
			Identity{Service: "payments", From: "container"}},
		{"job alone", map[string]string{"job": "backend", "instance": "127.0.0.1:8081"},
			Identity{Service: "backend", Host: "127.0.0.1", From: "job"}},
		{"pod alone", map[string]string{"pod": "carts-5ff676694b-fzj9z"},
			Identity{Service: "carts", From: "pod"}},
		{"node_exporter's job is its host", map[string]string{"job": "node", "instance": "web-1:9100"},
			Identity{Service: "host:web-1", Host: "web-1", Infrastructure: true, From: "job"}},
		{"kube-prometheus node-exporter service", map[string]string{"service": "node-exporter", "job": "node-exporter", "instance": "10.0.0.7:9100", "node": "worker-3"},
			Identity{Service: "host:worker-3", Host: "worker-3", Infrastructure: true, From: "service"}},
		{"host exporter job without an instance", map[string]string{"job": "node"},
			Identity{Service: "node", Infrastructure: true, From: "job"}},
		{"a blackbox probe belongs to its target", map[string]string{"job": "blackbox", "instance": "http://checkout.shop.svc:8080/healthz"},
			Identity{Service: "checkout.shop.svc", From: "instance"}},
		{"a probe with a service label keeps it", map[string]string{"service": "checkout", "job": "blackbox", "instance": "http://x:8080/healthz"},
			Identity{Service: "checkout", From: "service"}},
		{"host-scoped query result", map[string]string{"service": "host:10.0.0.1", "instance": "10.0.0.1:9100"},
			Identity{Service: "host:10.0.0.1", Host: "10.0.0.1", Infrastructure: true, From: "service"}},
		{"dataset node series", map[string]string{"service": "node:192.168.31.103", "node": "192.168.31.103:9100"},
			Identity{Service: "node:192.168.31.103", Host: "192.168.31.103", Infrastructure: true, From: "service"}},
		{"a node label without a pod", map[string]string{"node": "n1"},
			Identity{Host: "n1", Infrastructure: true}},
		{"an instance alone names no service", map[string]string{"instance": "[::1]:9100"},
			Identity{Host: "::1"}},
		{"nothing", map[string]string{"le": "0.5"}, Identity{}},
	}
	for _, tc := range tests {
		if got := c.Identity(tc.labels); got != tc.want {
			t.Errorf("%s: Identity(%v) = %+v, want %+v", tc.name, tc.labels, got, tc.want)
		}
		if got := c.Service(tc.labels); got != tc.want.Service {
			t.Errorf("%s: Service = %q, want %q", tc.name, got, tc.want.Service)
		}
		if got := c.Infrastructure(c.Service(tc.labels), tc.labels); got != tc.want.Infrastructure {
			t.Errorf("%s: Infrastructure = %v, want %v", tc.name, got, tc.want.Infrastructure)
		}
	}
}

// A host-scoped signal's series are the host's whatever labels they carry.
func TestSeriesIdentity(t *testing.T) {
	c := mustDefault(t)
	labels := map[string]string{"service": "monitoring-stack", "pod": "node-exporter-x7k2p", "instance": "10.0.0.7:9100"}
	if got := c.SeriesIdentity("", "node_load1", labels); got.Service != "host:10.0.0.7" || !got.Infrastructure || got.Host != "10.0.0.7" {
		t.Errorf("node_load1: %+v, want the host 10.0.0.7", got)
	}
	if got := c.SeriesIdentity("", "process_resident_memory_bytes", labels); got.Service != "monitoring-stack" || got.Infrastructure {
		t.Errorf("process_resident_memory_bytes: %+v, want the service", got)
	}
	if got := c.SeriesIdentity("host_cpu_busy", "host_cpu_busy", map[string]string{"pod": "x-0"}); !got.Infrastructure {
		t.Errorf("a host signal without a host: %+v, want infrastructure", got)
	}
}

// Built-in queries aggregate by the service identity, never by service
// alone, and host signals name their host.
func TestQueriesKeepIdentity(t *testing.T) {
	c := mustDefault(t)
	identity := strings.Join(c.IdentityLabels(), ", ")
	n := 0
	for _, s := range c.Signals {
		if s.Query == "" {
			continue
		}
		n++
		expr, err := parser.ParseExpr(s.Query)
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			agg, ok := node.(*parser.AggregateExpr)
			if !ok || agg.Op == parser.COUNT {
				return nil
			}
			if vs, ok := agg.Expr.(*parser.VectorSelector); ok && vs.Name == "node_uname_info" && s.Host() {
				return nil // the join that names the host
			}
			g := strings.Join(agg.Grouping, ", ")
			switch {
			case s.Host():
				if !strings.HasPrefix(g, strings.Join(c.HostLabels(), ", ")) {
					t.Errorf("%s: host signal sums by (%s), want $host", s.ID, g)
				}
			case strings.HasPrefix(g, identity):
			case strings.HasPrefix(g, "service") && strings.Contains(s.Query, `label_replace(rate(istio_`):
				// Istio's: the workload label is made the service first.
			default:
				t.Errorf("%s: sums by (%s), want $identity first", s.ID, g)
			}
			return nil
		})
		if s.Host() && !strings.Contains(s.Query, `"service", "host:$1", "instance"`) {
			t.Errorf("%s: host query does not name its host: %s", s.ID, s.Query)
		}
		if strings.Contains(s.Query, "$identity") || strings.Contains(s.Query, "$host") {
			t.Errorf("%s: placeholder left in %s", s.ID, s.Query)
		}
	}
	if n < 40 {
		t.Errorf("only %d signals with a query", n)
	}
}

// A user catalog with other service labels expands the built-in queries
// with them.
func TestIdentityLabelsFollowExtend(t *testing.T) {
	base := mustDefault(t)
	user, err := Parse([]byte("service_labels: [team_service, app.kubernetes.io/name, job]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := base.Extend(user)
	if got := strings.Join(c.IdentityLabels(), ","); got != "team_service,job" {
		t.Errorf("IdentityLabels = %s, want team_service,job (app.kubernetes.io/name cannot be named in PromQL)", got)
	}
	s, _ := c.Signal("process_cpu")
	if !strings.Contains(s.Query, "sum by (team_service, job)") {
		t.Errorf("process_cpu query %q does not sum by the user's labels", s.Query)
	}
}

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1:9100": "10.0.0.1", "[::1]:9100": "::1", "web-1": "web-1", "": "", "web-1.example.com:9100": "web-1.example.com"} {
		if got := HostName(in); got != want {
			t.Errorf("HostName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Host signals join node_uname_info, so a host is named by its host name
// where node_exporter says it, and keep their series where it does not.
func TestHostQueriesJoinTheHostName(t *testing.T) {
	c := mustDefault(t)
	s, ok := c.Signal("host_disk_busy")
	if !ok {
		t.Fatal("no host_disk_busy")
	}
	for _, want := range []string{"group_left (nodename)", "node_uname_info", "or on (instance)"} {
		if !strings.Contains(s.Query, want) {
			t.Errorf("query %q has no %q", s.Query, want)
		}
	}
}
