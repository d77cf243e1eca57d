package catalog

import (
	"strings"
	"testing"
)

func TestLogMetricQueryDerived(t *testing.T) {
	c := mustDefault(t)
	sig := func(id string) Signal {
		s, ok := c.Signal(id)
		if !ok {
			t.Fatalf("no signal %s", id)
		}
		return s
	}
	const services = "`{{or .service .service_name .app_kubernetes_io_name .app .k8s_app .container .deployment .statefulset .job}}`"
	tests := []struct {
		signal, selector, want string
	}{
		{"log_timeouts", `{service=~".+"}`,
			`sum by (service) (count_over_time({service=~".+"} |~ "(?i)(timed? ?out|deadline exceeded|upstream timeout)" [1m] offset 1ms))`},
		{"log_panics", `{service=~".+"}`,
			"sum by (service) (count_over_time({service=~\".+\"} |~ `(?i)(panic:|fatal error:|traceback \\(most recent call last\\)|segmentation fault)` [1m] offset 1ms))"},
		{"log_errors", ` {service="checkout", namespace="shop"} `,
			"sum by (service) (count_over_time({service=\"checkout\", namespace=\"shop\"} | label_format level=`{{or .level .detected_level .severity .lvl}}` | level=~\"(?i)error|err|fatal|critical|crit|panic|emerg|alert\" [1m] offset 1ms))"},
		// Streams the selector picks need not have service: the first
		// service label present names them, as Service reads them.
		{"log_timeouts", `{namespace="shop"} |= "upstream"`,
			`sum by (service) (count_over_time({namespace="shop"} |= "upstream" |~ "(?i)(timed? ?out|deadline exceeded|upstream timeout)" | label_format service=` + services + ` [1m] offset 1ms))`},
		{"log_timeouts", `{service=~".*"}`,
			`sum by (service) (count_over_time({service=~".*"} |~ "(?i)(timed? ?out|deadline exceeded|upstream timeout)" | label_format service=` + services + ` [1m] offset 1ms))`},
		// By level: every line but the other level signals' levels, summed
		// by service and level.
		{"log_lines", `{service=~".+"}`,
			"sum by (service, level) (count_over_time({service=~\".+\"} | label_format level=`{{or .level .detected_level .severity .lvl | ToLower}}` | level!~\"(?i)alert|crit|critical|emerg|err|error|fatal|panic\" [1m] offset 1ms))"},
		{"log_lines", `{namespace="shop"}`,
			"sum by (service, level) (count_over_time({namespace=\"shop\"} | label_format level=`{{or .level .detected_level .severity .lvl | ToLower}}` | level!~\"(?i)alert|crit|critical|emerg|err|error|fatal|panic\" | label_format service=" + services + " [1m] offset 1ms))"},
	}
	for _, tc := range tests {
		got, ok := c.LogMetricQuery(sig(tc.signal), tc.selector)
		if !ok || got != tc.want {
			t.Errorf("LogMetricQuery(%s, %s) =\n%s\nwant\n%s", tc.signal, tc.selector, got, tc.want)
		}
		if err := checkLogQL(got); err != nil {
			t.Errorf("derived query %s fails the check: %v", got, err)
		}
	}
	if _, ok := c.LogMetricQuery(Signal{ID: "both", LogLevels: []string{"error"}, LogPattern: "x"}, `{a="b"}`); ok {
		t.Error("a signal of levels and a pattern has no derived query: LogQL cannot or a label filter with a line filter")
	}
	if _, ok := c.LogMetricQuery(sig("cpu_usage"), `{a="b"}`); ok {
		t.Error("a metric signal has no LogQL")
	}
	one := &Catalog{ServiceLabels: []string{"app"}, LevelLabels: []string{"severity"}}
	if got, _ := one.LogMetricQuery(Signal{LogLevels: []string{"ERROR"}}, `{ns="x"}`); got != `sum by (app) (count_over_time({ns="x"} | severity=~"(?i)ERROR" [1m] offset 1ms))` {
		t.Errorf("one service label and one level label: %s", got)
	}
	if got, _ := one.LogMetricQuery(Signal{LogByLevel: true}, `{ns="x"}`); got != "sum by (app, severity) (count_over_time({ns=\"x\"} | label_format severity=`{{or .severity | ToLower}}` [1m] offset 1ms))" {
		t.Errorf("by level, no other level signal: %s", got)
	}
	if _, ok := (&Catalog{ServiceLabels: []string{"app"}}).LogMetricQuery(Signal{LogByLevel: true}, `{ns="x"}`); ok {
		t.Error("by level with no level label: nothing to sum by, counted from the lines read")
	}
}

func TestLogMetricQueryUser(t *testing.T) {
	c, err := Parse([]byte(`
signals:
  - id: http_5xx_lines
    layer: symptom
    unit: per_minute
    logql: |
      sum by (service) (count_over_time($selector | json | status >= 500 | msg != "$selector" [1m] offset 1ms))
`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.Signal("http_5xx_lines")
	if !s.IsLog() || len(c.LogSignals()) != 1 {
		t.Error("a signal with only logql is a log signal")
	}
	got, ok := c.LogMetricQuery(s, `{namespace="shop"}`)
	if want := `sum by (service) (count_over_time({namespace="shop"} | json | status >= 500 | msg != "$selector" [1m] offset 1ms))`; !ok || got != want {
		t.Errorf("got %s, want %s ($selector replaced outside strings only)", got, want)
	}
}

func TestLogQLErrors(t *testing.T) {
	tests := []struct{ logql, want string }{
		{`' '`, "logql: empty"},
		{`'{service="a"} |= "timeout"'`, "not a metric query"},
		{`'sum by (service) (count_over_time($selector [1m])'`, `unclosed '('`},
		{`'sum by (service) (count_over_time($selector [1m])))'`, `unbalanced ')'`},
		{`'sum by (service) (count_over_time($selector |= "x [1m]))'`, "not closed"},
		{`'sum by (service) (count_over_time($selector [$__interval]))'`, "unknown placeholder $__interval: only $selector is replaced"},
		{`'sum by (service) (count_over_time([1m]))'`, "no stream selector"},
	}
	for _, tc := range tests {
		doc := "signals:\n  - id: x\n    layer: symptom\n    logql: " + tc.logql + "\n"
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `signal "x": logql`) {
			t.Errorf("logql %s: err %v, want %q", tc.logql, err, tc.want)
		}
	}
	_, err := Parse([]byte("signals:\n  - id: x\n    layer: symptom\n    query: up\n    logql: 'count_over_time({a=\"b\"}[1m])'\n"))
	if err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("logql and query: err %v", err)
	}
}

func TestSelectorRequires(t *testing.T) {
	tests := []struct {
		selector string
		want     bool
	}{
		{`{service=~".+"}`, true},
		{`{ service = "checkout" }`, true},
		{`{namespace="shop", service=~"check.*|pay.+"}`, true},
		{`{namespace="shop", service=~"check.*|"}`, false},
		{`{namespace="shop",service!=""}`, false},
		{`{service=~".*"}`, false},
		{`{service=""}`, false},
		{`{namespace="shop"}`, false},
		{`{service=~` + "`.+`" + `} |= "x"`, true},
		{`{service="a\"b"}`, true},
		{`{service=~"("}`, false},
		{`service="a"`, false},
		{`{service="a"`, true},
		{`{namespace="x" service="a"}`, false},
	}
	for _, tc := range tests {
		if got := selectorRequires(tc.selector, "service"); got != tc.want {
			t.Errorf("selectorRequires(%s) = %v, want %v", tc.selector, got, tc.want)
		}
	}
}
