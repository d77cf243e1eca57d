package catalog

import (
	"strings"
	"testing"
)

func TestIsCounter(t *testing.T) {
	tests := []struct {
		name, meta string
		want       bool
	}{
		{"http_requests_total", "", true},
		{"http_request_duration_seconds_bucket", "", true},
		{"http_request_duration_seconds_sum", "", true},
		{"jvm_gc_pause_seconds_count", "", true},
		{"node_load1", "", false},
		{"nginx_connections_accepted", "counter", true}, // no suffix: the metadata tells
		{"nginx_connections_accepted", "", false},
		{"node_memory_HugePages_Total", "", false},
		{"http_request_duration_seconds_count", "histogram", true},
		{"some_gauge_total", "gauge", false},
	}
	for _, tc := range tests {
		if got := IsCounter(tc.name, tc.meta); got != tc.want {
			t.Errorf("IsCounter(%q, %q) = %v, want %v", tc.name, tc.meta, got, tc.want)
		}
	}
}

func TestClassifyCounter(t *testing.T) {
	c := mustDefault(t)
	for _, tc := range []struct {
		signal, metric string
		want           bool
	}{
		{"", "node_network_receive_errs_total", true},         // a raw counter a pattern matched
		{"host_network_errors", "host_network_errors", false}, // the query's rate
		{"availability", "up", false},
		{"retries", "vm_promscrape_scrape_retries_total", true}, // pulled raw under a signal without a query
		{"", "node_load1", false},
	} {
		if got := c.Classify(tc.signal, tc.metric).Counter; got != tc.want {
			t.Errorf("Classify(%q, %q).Counter = %v, want %v", tc.signal, tc.metric, got, tc.want)
		}
	}
}

// A signal's query may not read a counter as a level.
func TestQueryCountersRated(t *testing.T) {
	for _, tc := range []struct {
		query, err string
	}{
		{"sum by (service) (http_requests_total)", "reads the counter http_requests_total as a level"},
		{"sum by (service) (rate(http_requests_total[2m]))", ""},
		{"histogram_quantile(0.99, sum by (service, le) (rate(x_seconds_bucket[2m])))", ""},
		{"sum by (service) (x_seconds_sum) / sum by (service) (x_seconds_count)", "x_seconds_"},
		{"sum by (service) (increase(restarts_total[5m]))", ""},
		{"count by (instance) (node_cpu_seconds_total)", ""},
		{"sum by (service) (jvm_thread_count)", ""}, // a gauge OpenTelemetry names _count
	} {
		_, err := Parse([]byte("signals:\n  - id: s\n    layer: resource\n    query: '" + tc.query + "'\n"))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.query, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.query, err, tc.err)
		}
	}
}
