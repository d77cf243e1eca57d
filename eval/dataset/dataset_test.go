package dataset

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

const fixtureDataset = "testdata/dataset"

func TestList(t *testing.T) {
	for _, dir := range []string{fixtureDataset, filepath.Join(fixtureDataset, "cases")} {
		got, err := List(dir)
		if err != nil {
			t.Fatalf("List(%s): %v", dir, err)
		}
		var names []string
		for _, p := range got {
			names = append(names, filepath.Base(p))
		}
		want := []string{"case-a", "case-b", "case-nobase"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("List(%s) = %v, want %v", dir, names, want)
		}
	}
	if _, err := List(filepath.Join(fixtureDataset, "missing")); err == nil {
		t.Error("ListCases of a missing directory: no error")
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(context.Background(), filepath.Join(fixtureDataset, "cases", "case-a"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "case-a" || c.System != "fixture" || c.FaultType != "cpu-stress" {
		t.Errorf("id/system/fault = %q/%q/%q", c.ID, c.System, c.FaultType)
	}
	if want := (Truth{Service: "cart", Metric: "container_cpu_usage_seconds_total"}); c.Truth != want {
		t.Errorf("truth = %+v, want %+v", c.Truth, want)
	}
	b := c.Bundle
	if want := (telemetry.Window{From: time.Unix(960, 0).UTC(), To: time.Unix(1200, 0).UTC()}); b.Window != want {
		t.Errorf("window = %v, want %v", b.Window, want)
	}
	if want := (telemetry.Window{From: time.Unix(600, 0).UTC(), To: time.Unix(960, 0).UTC()}); b.Baseline != want {
		t.Errorf("baseline = %v, want %v", b.Baseline, want)
	}
	if b.Target == nil || *b.Target != (telemetry.Target{Service: "front", Metric: "latency_p99"}) {
		t.Errorf("target = %+v", b.Target)
	}
	if want := []telemetry.Edge{{Caller: "front", Callee: "cart"}, {Caller: "cart", Callee: "db"}}; !reflect.DeepEqual(b.Edges, want) {
		t.Errorf("edges = %v, want %v", b.Edges, want)
	}
	if len(b.Logs) != 2 || b.Logs[0].Labels["service"] != "cart" || !b.Logs[1].T.Equal(time.Unix(1030, 0)) {
		t.Errorf("logs = %+v, want 2 lines sorted by time", b.Logs)
	}

	byID := map[string]telemetry.Series{}
	for _, s := range b.Series {
		if s.Signal != "" {
			t.Errorf("%s: Signal = %q, want none", s.ID(), s.Signal)
		}
		byID[s.Metric+"/"+s.Labels["service"]+"/"+s.Labels["path"]] = s
	}
	// never_metric has no samples at all and is left out.
	if len(b.Series) != 5 {
		t.Errorf("got %d series, want 5: %v", len(b.Series), keys(byID))
	}
	cart := byID["container_cpu_usage_seconds_total/cart/"]
	if cart.Labels["pod"] != "cart-5ff676694b-fzj9z" {
		t.Errorf("cart labels = %v", cart.Labels)
	}
	if cart.Len() != 9 { // one empty cell
		t.Errorf("cart has %d points, want 9", cart.Len())
	}
	if p := cart.Point(2); !p.T.Equal(time.Unix(780, 0)) || p.V != 0.11 {
		t.Errorf("cart point 3 = %+v, want 780 0.11 (the empty cell at 720 skipped)", p)
	}
	if q, ok := byID[`queue_depth/db//a "b"`]; !ok || q.Len() != 10 {
		t.Errorf("escaped label value not parsed: %v", keys(byID))
	}
	gone := byID["gone_metric/db/"]
	for _, p := range gone.Points() {
		if b.Window.Contains(p.T) {
			t.Errorf("gone_metric has a window sample at %v", p.T)
		}
	}
	if gone.Len() != 5 {
		t.Errorf("gone_metric has %d points, want 5", gone.Len())
	}
}

func keys(m map[string]telemetry.Series) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestLoadCaseOptionalFilesAbsent(t *testing.T) {
	c, err := Load(context.Background(), filepath.Join(fixtureDataset, "cases", "case-b"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bundle.Target != nil || c.Bundle.Edges != nil || c.Bundle.Logs != nil {
		t.Errorf("target/edges/logs = %v/%v/%v, want none", c.Bundle.Target, c.Bundle.Edges, c.Bundle.Logs)
	}
	if c.Truth != (Truth{Service: "db"}) {
		t.Errorf("truth = %+v, want db with no metric", c.Truth)
	}
}

func TestLoadCaseErrors(t *testing.T) {
	const caseJSON = `{"id":"x","fault":{"type":"t"},"root_cause":{"service":"s"},
		"window":{"from":960,"to":1200},"baseline":{"from":600,"to":960}}`
	tests := []struct {
		name    string
		files   map[string]string
		wantErr []string
	}{
		{
			name:    "no baseline rows",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,\"a{service=\"\"s\"\"}\"\n960,1\n1020,2\n"},
			wantErr: []string{"case bad", "no rows in the baseline"},
		},
		{
			name:    "no window rows",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,\"a{service=\"\"s\"\"}\"\n600,1\n660,2\n"},
			wantErr: []string{"no rows in the window"},
		},
		{
			name:    "malformed header",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,\"a{service=\"\"s\"\"}\",\"b{service=s}\"\n600,1,2\n960,1,2\n"},
			wantErr: []string{"case bad", "metrics.csv", "column 3"},
		},
		{
			name:    "first column",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "time,a\n600,1\n"},
			wantErr: []string{`column 1 must be "timestamp"`},
		},
		{
			name:    "duplicate series",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,\"a{x=\"\"1\"\",y=\"\"2\"\"}\",\"a{y=\"\"2\"\",x=\"\"1\"\"}\"\n600,1,2\n"},
			wantErr: []string{"columns 2 and 3"},
		},
		{
			name:    "bad value",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1\n960,abc\n"},
			wantErr: []string{"line 3, column 2"},
		},
		{
			name:    "bad timestamp",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\nnoon,1\n"},
			wantErr: []string{"line 2", "timestamp"},
		},
		{
			name:    "timestamp past 2262",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1\n9300000000,2\n"},
			wantErr: []string{"line 3", `timestamp "9300000000": outside the years 1677 to 2262`},
		},
		{
			name:    "ragged row",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1,2\n"},
			wantErr: []string{"metrics.csv", "wrong number of fields"},
		},
		{
			name:    "no metrics",
			files:   map[string]string{"case.json": caseJSON},
			wantErr: []string{"metrics.csv"},
		},
		{
			name:    "malformed case.json",
			files:   map[string]string{"case.json": "{", "metrics.csv": "timestamp\n"},
			wantErr: []string{"case.json"},
		},
		{
			name:    "no windows",
			files:   map[string]string{"case.json": `{"id":"x"}`, "metrics.csv": "timestamp\n"},
			wantErr: []string{"window and baseline"},
		},
		{
			name:    "inverted window",
			files:   map[string]string{"case.json": `{"window":{"from":2,"to":1},"baseline":{"from":0,"to":1}}`, "metrics.csv": "timestamp\n"},
			wantErr: []string{"window"},
		},
		{
			name: "bad dependencies",
			files: map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1\n960,2\n",
				"dependencies.csv": "caller,callee\na,b,c\n"},
			wantErr: []string{"dependencies.csv"},
		},
		// Issue 17 #15: errors are worded for a person, without Go's type names.
		{
			name:    "window of the wrong type",
			files:   map[string]string{"case.json": `{"window":{"from":"noon","to":1200},"baseline":{"from":600,"to":960}}`, "metrics.csv": "timestamp\n"},
			wantErr: []string{"case.json", "line 1, column", `"window.from" must be an integer, not a JSON string`},
		},
		{
			name:    "root cause of the wrong type",
			files:   map[string]string{"case.json": `{"root_cause":"cart","window":{"from":960,"to":1200},"baseline":{"from":600,"to":960}}`, "metrics.csv": "timestamp\n"},
			wantErr: []string{`"root_cause" must be an object, not a JSON string`},
		},
		{
			name:    "root cause without a service",
			files:   map[string]string{"case.json": `{"root_cause":{"metric":"m"},"window":{"from":960,"to":1200},"baseline":{"from":600,"to":960}}`, "metrics.csv": "timestamp\n"},
			wantErr: []string{"root_cause names no service", `"root_cause": null`},
		},
		{
			name:    "not a number",
			files:   map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1\n960,abc\n"},
			wantErr: []string{`line 3, column 2 (a): "abc" is not a number`},
		},
		{
			name:    "metrics missing",
			files:   map[string]string{"case.json": caseJSON},
			wantErr: []string{"metrics.csv is missing"},
		},
		{
			name: "log ts of the wrong type",
			files: map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1\n960,2\n",
				"logs.jsonl": `{"ts": 1, "line": "ok"}` + "\n" + `{"ts": "noon", "line": "x"}` + "\n"},
			wantErr: []string{"logs.jsonl: line 2: column", `"ts" must be an integer, not a JSON string`},
		},
		{
			name: "bad logs",
			files: map[string]string{"case.json": caseJSON, "metrics.csv": "timestamp,a\n600,1\n960,2\n",
				"logs.jsonl": `{"ts": 1, "line": "ok"}` + "\n" + `{"line": "no ts"}` + "\n"},
			wantErr: []string{"logs.jsonl", "line 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bad")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(context.Background(), dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, goish := range []string{"Go struct", "Go value", "strconv.", "caseFile", "logRecord", "open /"} {
				if strings.Contains(err.Error(), goish) {
					t.Errorf("error %q shows Go internals (%q)", err, goish)
				}
			}
		})
	}
}

func TestLoadCaseCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, filepath.Join(fixtureDataset, "cases", "case-a")); err == nil {
		t.Error("canceled context: no error")
	}
}

func TestParseSeriesName(t *testing.T) {
	tests := []struct {
		in      string
		metric  string
		labels  telemetry.Labels
		wantErr bool
	}{
		{in: `up`, metric: "up", labels: telemetry.Labels{}},
		{in: `up{}`, metric: "up", labels: telemetry.Labels{}},
		{in: `ns:rate5m{job="a"}`, metric: "ns:rate5m", labels: telemetry.Labels{"job": "a"}},
		{
			in:     `container_cpu_usage_seconds_total{service="carts",pod="carts-5ff676694b-fzj9z"}`,
			metric: "container_cpu_usage_seconds_total",
			labels: telemetry.Labels{"service": "carts", "pod": "carts-5ff676694b-fzj9z"},
		},
		{in: ` m { a = "1" , b="2", } `, metric: "m", labels: telemetry.Labels{"a": "1", "b": "2"}},
		{in: `m{a="x\"y\\z\nw"}`, metric: "m", labels: telemetry.Labels{"a": "x\"y\\z\nw"}},
		{in: `m{service="PGSQL Query_remote",x="a,b}c"}`, metric: "m", labels: telemetry.Labels{"service": "PGSQL Query_remote", "x": "a,b}c"}},
		{in: `{__name__="m",a="1"}`, metric: "m", labels: telemetry.Labels{"a": "1"}},
		{in: `m{a=""}`, metric: "m", labels: telemetry.Labels{"a": ""}},
		{in: ``, wantErr: true},
		{in: `{a="1"}`, wantErr: true},
		{in: `1m`, wantErr: true},
		{in: `m{a=1}`, wantErr: true},
		{in: `m{a="1"`, wantErr: true},
		{in: `m{a="1}`, wantErr: true},
		{in: `m{a="1" b="2"}`, wantErr: true},
		{in: `m{a="1",a="2"}`, wantErr: true},
		{in: `m{a="\x"}`, wantErr: true},
		{in: `m{a="\`, wantErr: true},
		{in: `m{a:b="1"}`, wantErr: true},
		{in: `m{a="1"} x`, wantErr: true},
		{in: `m x`, wantErr: true},
		{in: `m{__name__="n"}`, wantErr: true},
	}
	for _, tt := range tests {
		metric, labels, err := parseSeriesName(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseSeriesName(%q) = %q %v, want an error", tt.in, metric, labels)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseSeriesName(%q): %v", tt.in, err)
			continue
		}
		if metric != tt.metric || !reflect.DeepEqual(labels, tt.labels) {
			t.Errorf("parseSeriesName(%q) = %q %v, want %q %v", tt.in, metric, labels, tt.metric, tt.labels)
		}
	}
}

// formatSeriesName writes Prometheus series notation with sorted labels.
func formatSeriesName(metric string, labels telemetry.Labels) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	var b strings.Builder
	b.WriteString(metric)
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + `="` + r.Replace(labels[k]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// FuzzParseSeriesName checks that the parser never panics and that whatever
// it accepts survives a format/parse round trip.
func FuzzParseSeriesName(f *testing.F) {
	for _, s := range []string{
		`up`, `m{}`, `m{a="1",b="2"}`, `m{a="x\"y\\z\nw"}`, `{__name__="m",a="1"}`,
		`container_cpu_usage_seconds_total{service="carts",pod="carts-5ff676694b-fzj9z"}`,
		`m { a = "1" , }`, `m{a="1"`, `m{a="\`, `latency_p99{service="PetSearch_AWS::ECS::Fargate"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		metric, labels, err := parseSeriesName(s)
		if err != nil {
			return
		}
		if metric == "" {
			t.Fatalf("parseSeriesName(%q) accepted an empty metric name", s)
		}
		if _, ok := labels["__name__"]; ok {
			t.Fatalf("parseSeriesName(%q) left __name__ in the labels", s)
		}
		again := formatSeriesName(metric, labels)
		m2, l2, err := parseSeriesName(again)
		if err != nil {
			t.Fatalf("round trip of %q via %q: %v", s, again, err)
		}
		if m2 != metric || !reflect.DeepEqual(l2, labels) {
			t.Fatalf("round trip of %q via %q: got %q %v, want %q %v", s, again, m2, l2, metric, labels)
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	dir := filepath.Join(fixtureDataset, "cases", "case-a")
	for b.Loop() {
		if _, err := Load(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
}

// Issue 17 #15: a symlinked case folder was skipped without a word. One
// that stays inside the dataset is followed; one that leads out of it, or
// to nothing, is reported.
func TestScanSymlinks(t *testing.T) {
	root := t.TempDir()
	ds := filepath.Join(root, "ds")
	outside := filepath.Join(root, "elsewhere", "case-x")
	for _, d := range []string{filepath.Join(ds, "cases", "real"), filepath.Join(ds, "shared", "case-s"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "case.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"inside":   filepath.Join("..", "shared", "case-s"),
		"absolute": filepath.Join(ds, "cases", "real"),
		"out":      outside,
		"dangling": filepath.Join("..", "nothing"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(ds, "cases", name)); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	cases, skipped, err := Scan(ds)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cases {
		names = append(names, filepath.Base(c))
	}
	if want := []string{"absolute", "inside", "real"}; !reflect.DeepEqual(names, want) {
		t.Errorf("cases = %v, want %v", names, want)
	}
	var msgs []string
	for _, e := range skipped {
		msgs = append(msgs, e.Error())
	}
	sort.Strings(msgs)
	if len(msgs) != 2 || !strings.Contains(msgs[0], "case dangling: a symlink to nothing") ||
		!strings.Contains(msgs[1], "case out: a symlink out of the dataset folder") || !strings.Contains(msgs[1], "not followed") {
		t.Errorf("skipped = %q, want the dangling and the outward link, each said", msgs)
	}
	if got, _ := List(ds); len(got) != 3 {
		t.Errorf("List = %v, want the three cases Scan found", got)
	}
}
