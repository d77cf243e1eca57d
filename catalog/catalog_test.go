package catalog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustDefault(t *testing.T) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassify(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		signal, metric string
		layer          Layer
		dir            Direction
		heuristic      bool
	}{
		{"cpu_usage", "cpu_usage", LayerResource, Up, false},
		{"", "container_cpu_usage_seconds_total", LayerResource, Up, false},
		{"", "container_memory_working_set_bytes", LayerResource, Up, false},
		{"upstream_timeouts", "upstream_timeouts", LayerPropagation, Up, false},
		{"", "availability_average", LayerSymptom, Down, false},
		{"", "kube_pod_container_status_restarts_total", LayerChange, Up, false},
		{"", "payments_fraud_check_errors_total", LayerSymptom, Up, true},
		{"", "orders_queue_backlog_messages", LayerPropagation, Up, false},
		{"", "checkout_grpc_latency_average", LayerSymptom, Up, true},
		{"", "shop_build_info", LayerChange, Up, true},
		{"", "something_unheard_of", LayerResource, Both, true},
		// Words, not substrings: a workload is requests, load1 a host's load.
		{"", "workload", LayerSymptom, Both, true},
		{"", "frontend_workload", LayerSymptom, Both, true},
		{"", "kube_workload_replicas", LayerResource, Both, true},
		{"", "sys_load1", LayerResource, Up, true},
		{"", "load1m", LayerResource, Up, true},
		{"", "system.load.1", LayerResource, Up, true},
		{"", "host.loadavg", LayerResource, Up, true},
		{"", "loadavg1", LayerResource, Up, true},
		{"", "java_lang_OperatingSystem_SystemLoadAverage", LayerResource, Up, true},
		{"", "cpu_load", LayerResource, Up, true},
		{"", "sys_load_avg", LayerResource, Up, true},
		{"", "host_load_15m", LayerResource, Up, true},
		{"", "load_balancer_requests_total", LayerSymptom, Both, true},
		{"", "payload_size", LayerResource, Both, true},
		{"", "mem", LayerResource, Up, true},
		{"", "cartservice-mem", LayerResource, Up, true},
		{"", "socket", LayerResource, Up, true},
		{"", "container_sockets", LayerResource, Up, true},
		{"", "websocket_requests_total", LayerSymptom, Both, true},
		{"", "tcp_retrans", LayerResource, Up, true},
		{"", "packet_loss", LayerResource, Up, true},
	}
	for _, tc := range tests {
		got := c.Classify(tc.signal, tc.metric)
		if got.Layer != tc.layer || got.Direction != tc.dir || got.Heuristic != tc.heuristic {
			t.Errorf("Classify(%q, %q) = %+v, want %s/%s heuristic=%v", tc.signal, tc.metric, got, tc.layer, tc.dir, tc.heuristic)
		}
	}
}

func TestService(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"service": "checkout", "pod": "x-1"}, "checkout"},
		{map[string]string{"app": "cart"}, "cart"},
		{map[string]string{"pod": "carts-5ff676694b-fzj9z"}, "carts"},
		{map[string]string{"pod": "kafka-0"}, "kafka"},
		{map[string]string{"pod": "node-exporter-x7k2p"}, "node-exporter"},
		{map[string]string{"pod": "user-admin"}, "user-admin"},
		{map[string]string{"replicaset": "checkout-7d9f8b6c5d"}, "checkout"},
		{map[string]string{"replicaset": "payments-backend"}, "payments-backend"},
		{map[string]string{"instance": "10.0.0.1:9100"}, ""},
		{map[string]string{"job": "node", "instance": "10.0.0.1:9100"}, "host:10.0.0.1"},
	}
	for _, tc := range tests {
		if got := c.Service(tc.labels); got != tc.want {
			t.Errorf("Service(%v) = %q, want %q", tc.labels, got, tc.want)
		}
	}
	if !c.Infrastructure("node:10.0.0.1", nil) || !c.Infrastructure("x", map[string]string{"node": "n1"}) {
		t.Error("node series not recognised as infrastructure")
	}
	if c.Infrastructure("checkout", map[string]string{"node": "n1", "pod": "checkout-1"}) {
		t.Error("a pod series on a node is a service, not infrastructure")
	}
}

func TestLoadExtends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.yaml")
	user := `
service_labels: [team_service]
signals:
  - id: cpu_usage
    name: CPU (ours)
    layer: resource
    direction: up
    metrics: ['our_cpu']
  - id: checkout_failures
    name: checkout failures
    layer: symptom
    metrics: ['shop_checkout_failed_total']
`
	if err := os.WriteFile(path, []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Classify("", "our_cpu"); got.Name != "CPU (ours)" {
		t.Errorf("user signal did not replace the built-in: %+v", got)
	}
	if got := c.Classify("", "shop_checkout_failed_total"); got.SignalID != "checkout_failures" || got.Direction != Up {
		t.Errorf("new user signal not used: %+v", got)
	}
	if got := c.Classify("", "container_memory_working_set_bytes"); got.SignalID != "memory_working_set" {
		t.Errorf("built-in signals lost: %+v", got)
	}
	if c.Service(map[string]string{"team_service": "a", "service": "b"}) != "a" {
		t.Error("user service_labels not applied")
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"signals: [{id: a, layer: bogus}]":                             "layer",
		"signals: [{id: a, layer: symptom, direction: x}]":             "direction",
		"signals: [{layer: symptom}]":                                  "no id",
		"signals: [{id: a, layer: symptom, metrics: ['(']}]":           "metric pattern",
		"signals: [{id: a, layer: symptom}, {id: a, layer: resource}]": "twice",
		"sinals: []":       "field sinals not found",
		"signals: {id: a}": "parse",
		"signals: [{id: a, layer: symptom, log_pattern: '['}]":                                                                   "log pattern",
		"signals: [{id: a, layer: symptom, log_by_level: true, log_levels: [warn]}]":                                             "log_by_level counts every line",
		"signals: [{id: a, layer: symptom, log_by_level: true, log_pattern: x}]":                                                 "log_by_level counts every line",
		"signals: [{id: a, layer: symptom, log_by_level: true, query: up}]":                                                      "log_by_level counts every line",
		"signals: [{id: a, layer: symptom, log_by_level: true}, {id: b, layer: symptom, log_by_level: true}]":                    "\"a\" counts the lines by level already",
		"signals: [{id: a, layer: symptom, query: 'sum by (service) (rate(x[2m])'}]":                                             "query is not valid PromQL",
		"change_sources: [{id: c, kind: deploy, detect: increase, query: 'max(x'}]":                                              "change source \"c\": query is not valid PromQL",
		"change_sources: [{id: c, kind: launch, detect: increase, query: x}]":                                                    "kind \"launch\" is not one of",
		"change_sources: [{id: c, kind: deploy, detect: steps, query: x}]":                                                       "detect \"steps\" is not one of",
		"change_sources: [{id: c, kind: version, detect: label, query: x}]":                                                      "needs label:",
		"change_sources: [{id: c, kind: version, detect: log, logql: '{a=\"b\"}'}]":                                              "needs logql: (a stream selector) and pattern:",
		"change_sources: [{id: c, kind: version, detect: log, logql: x, pattern: '('}]":                                          "pattern \"(\"",
		"change_sources: [{id: c, kind: deploy, detect: increase, query: x}, {id: c, kind: deploy, detect: increase, query: y}]": "appears twice",
	}
	for doc, want := range tests {
		_, err := Parse([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to mention %q", doc, err, want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing catalog file gave no error")
	}
}

func TestLogSignals(t *testing.T) {
	c := mustDefault(t)
	var ids []string
	for _, s := range c.LogSignals() {
		ids = append(ids, s.ID)
	}
	if len(ids) == 0 {
		t.Fatal("no built-in log signals")
	}
	timeouts, _ := c.Signal("log_timeouts")
	if !timeouts.MatchLog("info", `upstream timed out (110: Connection timed out)`) || timeouts.MatchLog("info", "all good") {
		t.Error("log_timeouts pattern wrong")
	}
	errs, _ := c.Signal("log_errors")
	if !errs.MatchLog("ERROR", "x") || errs.MatchLog("info", "x") {
		t.Error("log_errors level match wrong")
	}
}

// TestLogByLevel: a signal by level counts every line but the levels the
// catalog's other signals of levels count, whatever their case, and a
// user's catalog that adds levels takes them from it too.
func TestLogByLevel(t *testing.T) {
	c := mustDefault(t)
	lines, ok := c.Signal("log_lines")
	if !ok || !lines.IsLog() || !lines.LogByLevel {
		t.Fatalf("no built-in signal by level: %+v", lines)
	}
	for _, tc := range []struct {
		level string
		want  bool
	}{
		{"info", true}, {"WARN", true}, {"debug", true}, {"", true}, {"unknown", true},
		{"error", false}, {"ERROR", false}, {"fatal", false}, {"crit", false},
	} {
		if got := lines.MatchLog(tc.level, "any text, even error: it is the level that counts"); got != tc.want {
			t.Errorf("level %q: counted %v, want %v", tc.level, got, tc.want)
		}
	}
	user, err := Parse([]byte("signals: [{id: warnings, layer: symptom, log_levels: [Warn, warning]}]"))
	if err != nil {
		t.Fatal(err)
	}
	ext := c.Extend(user)
	lines, _ = ext.Signal("log_lines")
	if lines.MatchLog("warn", "x") || lines.MatchLog("WARNING", "x") || !lines.MatchLog("info", "x") || lines.MatchLog("error", "x") {
		t.Error("extended catalog: a signal by level counts the user's warnings, or stopped leaving errors out")
	}
	// A user's own signal by level replaces the built-in one.
	own, err := Parse([]byte("signals: [{id: my_levels, layer: symptom, log_by_level: true}]"))
	if err != nil {
		t.Fatal(err)
	}
	ext = c.Extend(own)
	var byLevel []string
	for _, s := range ext.LogSignals() {
		if s.LogByLevel {
			byLevel = append(byLevel, s.ID)
		}
	}
	if !slices.Equal(byLevel, []string{"my_levels"}) {
		t.Errorf("signals by level after extending: %v, want the user's alone", byLevel)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("signals: [{id: a, layer: symptom, metrics: ['x.*']}]"))
	f.Add([]byte("service_labels: [a, b]\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must be usable.
		_ = c.Classify("", "some_metric_total")
		_ = c.Service(map[string]string{"pod": "a-1"})
	})
}

func TestChangeSourceByID(t *testing.T) {
	cat, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range cat.ChangeSources {
		if got, ok := cat.ChangeSource(cs.ID); !ok || got.ID != cs.ID {
			t.Errorf("ChangeSource(%q) = %q, %v", cs.ID, got.ID, ok)
		}
	}
	if _, ok := cat.ChangeSource("no-such-source"); ok {
		t.Error("an unknown id was found")
	}
}

// A service named after a host exporter's job (a change recorded for
// "node") is the host's, not a service to roll back.
func TestInfrastructureJobNames(t *testing.T) {
	cat, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for svc, want := range map[string]bool{"node": true, "node-exporter": true, "checkout": false, "": false} {
		if got := cat.Infrastructure(svc, nil); got != want {
			t.Errorf("Infrastructure(%q) = %v, want %v", svc, got, want)
		}
	}
}
