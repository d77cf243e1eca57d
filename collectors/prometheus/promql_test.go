package prometheus

import (
	"slices"
	"testing"
)

func TestQueryMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  []string
	}{
		{`up`, []string{"up"}},
		{`sum by (service) (rate(http_server_requests_total{code=~"5.."}[2m])) / sum by (service) (rate(http_server_requests_total[2m]))`,
			[]string{"http_server_requests_total"}},
		{`rate(b_total[1m]) + on(service) group_left rate(a_total[1m]) * 2`, []string{"a_total", "b_total"}},
		{`x or y unless z`, []string{"x", "y", "z"}},
		// An _info metric joined in only names things: the query reads x.
		{`(max by (instance) (rate(x_total[2m])) * on (instance) group_left (nodename) max by (instance, nodename) (node_uname_info)) or on (instance) max by (instance) (rate(x_total[2m]))`, []string{"x_total"}},
		{`max_over_time(rate(requests_total[1m])[1h:30s])`, []string{"requests_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[5m])))`, []string{"latency_seconds_bucket"}},
		{`{__name__="by_matcher", job="a"}`, []string{"by_matcher"}},
		{`rate({__name__="by_matcher_total"}[5m])`, []string{"by_matcher_total"}},
		{`{__name__=~"regex_.*"}`, nil},
		{`{__name__!="not_this", job="a"}`, nil},
		{`{"utf8.metric.name"}`, []string{"utf8.metric.name"}},
		{`x offset 1w - x @ start()`, []string{"x"}},
		{`vector(1)`, nil},
		{`time() - process_start_time_seconds`, []string{"process_start_time_seconds"}},
		{`label_replace(up, "service", "$1", "job", "(.*)")`, []string{"up"}},
		{`count(-(a)) > bool 0`, []string{"a"}},
	}
	for _, tc := range tests {
		got, err := queryMetricNames(tc.query)
		if err != nil {
			t.Errorf("queryMetricNames(%q): %v", tc.query, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("queryMetricNames(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
	for _, bad := range []string{``, `sum(`, `rate(x)`, `x[5m] + `, `{}`} {
		if _, err := queryMetricNames(bad); err == nil {
			t.Errorf("queryMetricNames(%q) parsed", bad)
		}
	}
}

// Every query of the built-in catalog parses and names its metrics.
func TestQueryMetricNamesCatalog(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	n := 0
	for _, s := range cat.Signals {
		if s.Query == "" {
			continue
		}
		n++
		names, err := queryMetricNames(s.Query)
		if err != nil {
			t.Errorf("signal %s: %v", s.ID, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("signal %s: query %q names no metric, so it is always run", s.ID, s.Query)
		}
		if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("signal %s: names %q not sorted and unique", s.ID, names)
		}
	}
	if n < 5 {
		t.Errorf("only %d catalog signals have a query", n)
	}
	want := map[string][]string{
		"http_error_ratio": {"http_server_requests_total"},
		"http_latency_p99": {"http_server_request_duration_seconds_bucket"},
		"cpu_usage":        {"container_cpu_usage_seconds_total"},
		"pod_restarts":     {"kube_pod_container_status_restarts_total"},
	}
	for id, w := range want {
		s, _ := cat.Signal(id)
		if got, _ := queryMetricNames(s.Query); !slices.Equal(got, w) {
			t.Errorf("signal %s: %q, want %q", id, got, w)
		}
	}
}
