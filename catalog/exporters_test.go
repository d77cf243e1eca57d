package catalog

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the classification column of testdata/exporters/*.txt from the catalog")

// exporterFamily is one line of testdata/exporters/*.txt: a metric family
// a real exporter exposed, and how the built-in catalog classifies it.
type exporterFamily struct {
	name, typ, labels string
	signal            string // the catalog signal, "~" for the name heuristic
	layer             Layer
}

func readExporter(t *testing.T, path string) (header []string, fams []exporterFamily) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			header = append(header, line)
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 && len(f) != 5 {
			t.Fatalf("%s: %q: want name type labels [signal layer]", path, line)
		}
		fam := exporterFamily{name: f[0], typ: f[1], labels: f[2]}
		if len(f) == 5 {
			fam.signal, fam.layer = f[3], Layer(f[4])
		}
		fams = append(fams, fam)
	}
	return header, fams
}

// classifyFamily is how the catalog places a family's series: a histogram
// or summary by its _bucket (or quantile series) name, the rest by name.
func classifyFamily(c *Catalog, f exporterFamily) Classification {
	name := f.name
	if f.typ == "histogram" {
		name += "_bucket"
	}
	return c.Classify("", name)
}

// TestExporterFamilies classifies every metric family of the exporters
// people run, as read from their real /metrics, against the column the
// file records (rewritten with -update, then reviewed in the diff).
func TestExporterFamilies(t *testing.T) {
	c := mustDefault(t)
	paths, err := filepath.Glob("testdata/exporters/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no exporter files: %v", err)
	}
	for _, path := range paths {
		header, fams := readExporter(t, path)
		var out bytes.Buffer
		for _, h := range header {
			out.WriteString(h + "\n")
		}
		for _, f := range fams {
			cls := classifyFamily(c, f)
			sig := cls.SignalID
			if cls.Heuristic {
				sig = "~"
			}
			fmt.Fprintf(&out, "%s %s %s %s %s\n", f.name, f.typ, f.labels, sig, cls.Layer)
			if !*update && (f.signal != sig || f.layer != cls.Layer) {
				t.Errorf("%s: %s classified %s %s, the file says %s %s (go test ./catalog -run TestExporterFamilies -update, and review)",
					filepath.Base(path), f.name, sig, cls.Layer, f.signal, f.layer)
			}
		}
		if *update {
			if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestExporterSignals: the families that tell what went wrong are the
// catalog's own signals, never left to the name heuristic, and in the
// layer meant for them. Names come from the exporters' real /metrics
// (testdata/exporters) and, for the runtimes and proxies not run here,
// from their documentation and source: Micrometer and client_java (JVM),
// prometheus-net and OpenTelemetry (.NET), HAProxy's Prometheus endpoint and
// haproxy_exporter, Envoy's and Istio's standard metrics, and the client
// libraries' conventional http_requests_total and
// http_request_duration_seconds.
func TestExporterSignals(t *testing.T) {
	c := mustDefault(t)
	exposed := map[string]bool{}
	paths, _ := filepath.Glob("testdata/exporters/*.txt")
	for _, path := range paths {
		_, fams := readExporter(t, path)
		for _, f := range fams {
			exposed[f.name] = true
		}
	}
	tests := []struct {
		exporter, metric, signal string
		layer                    Layer
		dir                      Direction
		host                     bool
	}{
		// node_exporter: the host
		{"node", "node_cpu_seconds_total", "host_cpu_busy", LayerResource, Up, true},
		{"node", "node_load1", "host_load", LayerResource, Up, true},
		{"node", "node_load15", "host_load", LayerResource, Up, true},
		{"node", "node_memory_MemAvailable_bytes", "host_memory_available", LayerResource, Down, true},
		{"node", "node_disk_io_time_seconds_total", "host_disk_busy", LayerResource, Up, true},
		{"node", "node_disk_io_time_weighted_seconds_total", "host_disk_io_time", LayerResource, Up, true},
		{"node", "node_disk_write_time_seconds_total", "host_disk_io_time", LayerResource, Up, true},
		{"node", "node_disk_written_bytes_total", "host_disk_throughput", LayerResource, Up, true},
		{"node", "node_filesystem_avail_bytes", "host_filesystem_available", LayerResource, Down, true},
		{"node", "node_network_receive_errs_total", "host_network_errors", LayerResource, Up, true},
		{"node", "node_network_transmit_drop_total", "host_network_errors", LayerResource, Up, true},
		{"node", "node_network_receive_bytes_total", "host_network_traffic", LayerResource, Up, true},
		{"node", "node_pressure_io_stalled_seconds_total", "host_io_pressure", LayerResource, Up, true},
		// process_* and go_* (every Go exporter, client_golang)
		{"node", "process_cpu_seconds_total", "process_cpu", LayerResource, Up, false},
		{"node", "process_resident_memory_bytes", "process_memory", LayerResource, Up, false},
		{"node", "process_open_fds", "process_fds", LayerResource, Up, false},
		{"node", "go_goroutines", "go_goroutines", LayerResource, Up, false},
		{"node", "go_memstats_heap_inuse_bytes", "go_heap", LayerResource, Up, false},
		{"node", "go_gc_duration_seconds", "gc_pause", LayerResource, Up, false},
		{"node", "process_start_time_seconds", "process_start_time_seconds", LayerChange, Up, false},
		// availability
		{"prometheus", "up", "availability", LayerSymptom, Down, false},
		{"nginx", "nginx_up", "availability", LayerSymptom, Down, false},
		{"redis", "redis_up", "availability", LayerSymptom, Down, false},
		{"blackbox", "probe_success", "availability", LayerSymptom, Down, false},
		{"blackbox", "probe_duration_seconds", "probe_duration", LayerSymptom, Up, false},
		{"blackbox", "probe_http_duration_seconds", "probe_duration", LayerSymptom, Up, false},
		{"mysqld_exporter", "mysql_up", "availability", LayerSymptom, Down, false},
		{"postgres_exporter", "pg_up", "availability", LayerSymptom, Down, false},
		{"haproxy_exporter", "haproxy_backend_up", "availability", LayerSymptom, Down, false},
		// nginx
		{"nginx", "nginx_http_requests_total", "nginx_request_rate", LayerSymptom, Both, false},
		{"nginx", "nginx_connections_active", "proxy_connections", LayerPropagation, Up, false},
		{"nginx", "nginx_connections_waiting", "proxy_connections", LayerPropagation, Up, false},
		{"nginx", "nginx_connections_accepted", "nginx_dropped_connections", LayerPropagation, Up, false},
		// redis
		{"redis", "redis_memory_used_bytes", "redis_memory", LayerResource, Up, false},
		{"redis", "redis_connected_clients", "redis_clients", LayerResource, Up, false},
		{"redis", "redis_blocked_clients", "redis_clients", LayerResource, Up, false},
		{"redis", "redis_evicted_keys_total", "redis_evictions", LayerResource, Up, false},
		{"redis", "redis_rejected_connections_total", "redis_errors", LayerSymptom, Up, false},
		{"redis", "redis_commands_failed_calls_total", "redis_errors", LayerSymptom, Up, false},
		{"redis", "redis_commands_processed_total", "redis_command_rate", LayerSymptom, Both, false},
		{"redis", "redis_commands_duration_seconds_total", "redis_command_latency", LayerSymptom, Up, false},
		// the client libraries' classic HTTP names
		{"client library", "http_requests_total", "http_requests_rate", LayerSymptom, Both, false},
		{"client library", "http_request_duration_seconds_bucket", "http_request_duration_p99", LayerSymptom, Up, false},
		{"prometheus-net", "http_requests_received_total", "http_requests_rate", LayerSymptom, Both, false},
		// OpenTelemetry's semantic conventions as Prometheus exports them
		{"opentelemetry", "http_server_request_duration_seconds_bucket", "http_latency_p99", LayerSymptom, Up, false},
		{"opentelemetry", "http_server_request_duration_seconds_count", "otel_http_request_rate", LayerSymptom, Both, false},
		{"opentelemetry", "http_client_request_duration_seconds_bucket", "upstream_latency_p99", LayerPropagation, Up, false},
		// Spring Boot (Micrometer)
		{"micrometer", "http_server_requests_seconds_count", "spring_http_request_rate", LayerSymptom, Both, false},
		{"micrometer", "http_server_requests_seconds_bucket", "spring_http_latency_p99", LayerSymptom, Up, false},
		{"micrometer", "http_server_requests_seconds_max", "spring_http_latency_p99", LayerSymptom, Up, false},
		// JVM
		{"micrometer", "jvm_memory_used_bytes", "jvm_heap", LayerResource, Up, false},
		{"client_java", "jvm_memory_bytes_used", "jvm_heap", LayerResource, Up, false},
		{"micrometer", "jvm_gc_pause_seconds_sum", "jvm_gc_pause", LayerResource, Up, false},
		{"client_java", "jvm_gc_collection_seconds_sum", "jvm_gc_pause", LayerResource, Up, false},
		{"micrometer", "jvm_threads_live_threads", "jvm_threads", LayerResource, Up, false},
		{"client_java", "jvm_threads_deadlocked", "jvm_threads", LayerResource, Up, false},
		// .NET
		{"prometheus-net", "dotnet_collection_count_total", "dotnet_gc", LayerResource, Up, false},
		{"prometheus-net", "dotnet_total_memory_bytes", "dotnet_memory", LayerResource, Up, false},
		{"prometheus-net", "process_working_set_bytes", "process_memory", LayerResource, Up, false},
		{"opentelemetry", "dotnet_gc_collections_total", "dotnet_gc", LayerResource, Up, false},
		{"opentelemetry", "dotnet_gc_pause_time_seconds_total", "dotnet_gc_pause", LayerResource, Up, false},
		{"opentelemetry", "dotnet_thread_pool_queue_length", "queue_backlog", LayerPropagation, Up, false},
		// HAProxy
		{"haproxy", "haproxy_backend_http_responses_total", "haproxy_backend_error_ratio", LayerPropagation, Up, false},
		{"haproxy", "haproxy_backend_connection_errors_total", "haproxy_backend_errors", LayerPropagation, Up, false},
		{"haproxy", "haproxy_backend_response_time_average_seconds", "haproxy_backend_response_time", LayerPropagation, Up, false},
		{"haproxy", "haproxy_backend_current_queue", "queue_backlog", LayerPropagation, Up, false},
		{"haproxy", "haproxy_frontend_http_requests_total", "haproxy_request_rate", LayerSymptom, Both, false},
		// Envoy and Istio
		{"envoy", "envoy_cluster_upstream_rq_xx", "envoy_upstream_error_ratio", LayerPropagation, Up, false},
		{"envoy", "envoy_cluster_upstream_rq_time_bucket", "envoy_upstream_latency_p99", LayerPropagation, Up, false},
		{"envoy", "envoy_cluster_upstream_rq_timeout", "upstream_timeouts", LayerPropagation, Up, false},
		{"istio", "istio_requests_total", "istio_request_rate", LayerSymptom, Both, false},
		{"istio", "istio_request_duration_milliseconds_bucket", "istio_latency_p99", LayerSymptom, Up, false},
	}
	for _, tc := range tests {
		got := c.Classify("", tc.metric)
		want := tc.signal
		if tc.layer == LayerChange {
			want = tc.metric // the heuristic places start times among changes; the change source reads them
		}
		if got.SignalID != want || got.Layer != tc.layer || got.Direction != tc.dir || got.Host != tc.host {
			t.Errorf("%s %s = %s %s %s host=%v, want %s %s %s host=%v", tc.exporter, tc.metric,
				got.SignalID, got.Layer, got.Direction, got.Host, want, tc.layer, tc.dir, tc.host)
		}
		if tc.layer != LayerChange && got.Heuristic {
			t.Errorf("%s %s falls through to the name heuristic", tc.exporter, tc.metric)
		}
		switch tc.exporter {
		case "node", "nginx", "redis", "blackbox":
			base := strings.TrimSuffix(tc.metric, "_bucket")
			if !exposed[tc.metric] && !exposed[base] {
				t.Errorf("%s: %s is not among the families the real exporter exposed (testdata/exporters)", tc.exporter, tc.metric)
			}
		}
	}
}
