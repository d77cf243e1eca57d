package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/internal/golden"
)

func fixtures() map[string]analysis.Result {
	return map[string]analysis.Result{
		"demo":     demoResult(),
		"empty":    emptyResult(),
		"nochange": noChangeResult(),
		"weak":     weakResult(),
	}
}

func render(t *testing.T, format string, r analysis.Result, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := RenderWith(&b, format, r, opt); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for name, r := range fixtures() {
		for _, format := range Formats() {
			t.Run(name+"/"+format, func(t *testing.T) {
				got := render(t, format, r, Options{})
				golden.Assert(t, filepath.Join("testdata", name+"."+format+".golden"), []byte(got))
				// The same result must always give the same bytes.
				if again := render(t, format, r, Options{}); again != got {
					t.Error("output is not deterministic")
				}
			})
		}
	}
}

// normalize collapses whitespace so a phrase can be found across wrapped
// lines.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestContent(t *testing.T) {
	tests := []struct {
		name, format string
		r            analysis.Result
		want, not    []string
	}{
		{"demo text", "text", demoResult(),
			[]string{"RCA REPORT 2024-05-14", "window 14:00:00 - 14:30:00 UTC (30m)", "baseline 13:00:00 - 14:00:00 UTC (1h)",
				"WHAT IS BROKEN", "gateway: 5xx ratio at 38% (baseline 0.1%), since 14:04:12",
				"1. checkout: deploy checkout v1.4.2 (commit 9f3c1e2)",
				"symptom 5xx ratio (gateway, 14:04:12, 38%)",
				"<- caused by upstream p99 latency (gateway, 14:04:00, 30s)",
				"<- caused by CPU usage (checkout, 14:03:10, 1.95 cores)",
				"<- caused by deploy checkout v1.4.2 (commit 9f3c1e2) (checkout, 14:02:00)",
				"baseline 120ms -> 30s", "baseline 0.3 cores -> 1.95 cores", "12s before the link above",
				"version v1.4.1 -> v1.4.2", "CHANGES WITH NO EFFECT SEEN", "13:20:00 cart: deploy cart v2.3.0",
				"WARNINGS", "1 more candidate", "Analysed 312 series (6 anomalous), 9 services, 18234 log lines (57 patterns), 3 changes.",
				heuristicNote,
				"log pattern: upstream timed out (<NUM>: Connection timed out) while reading response header from upstream, upstream: <*> request_id=<*>",
				"new at error level, baseline 0 lines (0/min) -> window 412 lines (13.7/min), onset 14:04:00, names checkout",
				`e.g. upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://10.0.3.17:8080/api/checkout"`},
			[]string{nothingStandsOut, noChangeFound, "catalog: error log lines", "\x1b["}},
		{"empty text", "text", emptyResult(),
			[]string{nothingStandsOut, "Analysed 312 series (0 anomalous)"},
			[]string{"CAUSE CHAIN", "WARNINGS", "WHAT IS BROKEN"}},
		{"no change text", "text", noChangeResult(),
			[]string{noChangeFound, "baseline n/a -> 1.95 cores", "score +Inf", "0 changes"},
			[]string{nothingStandsOut}},
		{"anomalies only text", "text", anomaliesOnly(),
			[]string{"No user-facing symptom deviates", "No root-cause candidate was found.", "No cause chain could be built"},
			[]string{nothingStandsOut}},
		{"anomalies only markdown", "markdown", anomaliesOnly(),
			[]string{"No user-facing symptom deviates", "No root-cause candidate was found.", "No cause chain could be built"},
			[]string{nothingStandsOut}},
		{"demo markdown", "markdown", demoResult(),
			[]string{"# Root-cause report, 2024-05-14", "## What is broken", "## Most likely root cause", "## Cause chain",
				"| Rank | Service | Signal | Layer | Score | Onset (UTC) |", "| 6 | catalog | error log lines | symptom | 0.01 | 14:20:00 |",
				"4. **change**: deploy checkout v1.4.2 (commit 9f3c1e2) (checkout, 14:02:00)",
				"`histogram_quantile(0.99,sum by(le,service,upstream)(rate(envoy_cluster_upstream_rq_time_bucket{service=\"gateway\"}[1m])))`",
				"## Changes with no effect seen", "## Warnings",
				`   - Log pattern: upstream timed out (&lt;NUM&gt;: Connection timed out) while reading response header from upstream, upstream: &lt;\*&gt; request\_id=&lt;\*&gt;`,
				"     - New at error level, baseline 0 lines (0/min) → window 412 lines (13.7/min), onset 14:04:00, names checkout",
				`     - Example: upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://10.0.3.17:8080/api/checkout", request\_id=8a215319e00a334e`},
			[]string{noChangeFound}},
		{"empty markdown", "md", emptyResult(),
			[]string{nothingStandsOut},
			[]string{"## Cause chain"}},
		{"no change markdown", "markdown", noChangeResult(),
			[]string{noChangeFound},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := normalize(render(t, tt.format, tt.r, Options{}))
			for _, w := range tt.want {
				if !strings.Contains(got, normalize(w)) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, normalize(n)) {
					t.Errorf("output has %q:\n%s", n, got)
				}
			}
		})
	}
}

// anomaliesOnly has an anomaly that nothing links to a symptom.
func anomaliesOnly() analysis.Result {
	r := emptyResult()
	r.Anomalies = []analysis.Finding{cartMemory()}
	return r
}

// longResult stretches every string so the text format has to wrap.
func longResult() analysis.Result {
	r := demoResult()
	long := strings.Repeat("the checkout service spends its time computing digits of pi ", 6)
	r.Chain[1].Signal = "upstream request timeouts to the checkout service through the edge gateway cluster"
	r.Chain[2].Explanation = long
	r.Chain[2].Query = strings.Repeat("sum(rate(container_cpu_usage_seconds_total{service=\"checkout\"}[1m]))", 3)
	r.RootCauses[0].Explanation = long
	r.RootCauses[0].Query = `sum by (service) (count_over_time({service="gateway", level=~"error|warn"} |= "upstream request timeout while connecting to checkout" [1m]))`
	r.RootCauses[2].Signal = "p99 latency of POST /api/payments/authorize on the payments service"
	r.Symptoms[0].Signal = "5xx ratio on POST /api/checkout for all users in every region"
	r.UnlinkedChanges[0].Summary = long
	r.Warnings = append(r.Warnings, long)
	return r
}

func TestTextFitsIn80Columns(t *testing.T) {
	results := fixtures()
	results["long"] = longResult()
	results["hostile"] = hostileResult()
	for name, r := range results {
		for _, color := range []bool{false, true} {
			out := render(t, "text", r, Options{Color: color})
			out = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
			for i, line := range strings.Split(out, "\n") {
				if utf8.RuneCountInString(line) <= textWidth {
					continue
				}
				// Only a single unbreakable token (a query) may overflow.
				if len(queryFields(line)) > 1 {
					t.Errorf("%s color=%v line %d has %d columns:\n%s", name, color, i+1, utf8.RuneCountInString(line), line)
				}
			}
		}
	}
}

func TestTextColor(t *testing.T) {
	tests := []struct {
		color bool
		want  bool
	}{{false, false}, {true, true}}
	for _, tt := range tests {
		got := strings.Contains(render(t, "text", demoResult(), Options{Color: tt.color}), "\x1b[")
		if got != tt.want {
			t.Errorf("Color=%v: escape codes present = %v", tt.color, got)
		}
	}
}

func TestTextStripsTerminalEscapes(t *testing.T) {
	out := render(t, "text", hostileResult(), Options{})
	for _, bad := range []string{"\x1b", "\x07", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("text output passes %q through from data", bad)
		}
	}
}

func TestJSONParsesBack(t *testing.T) {
	for name, r := range fixtures() {
		t.Run(name, func(t *testing.T) {
			out := render(t, "json", r, Options{})
			if !strings.HasSuffix(out, "}\n") {
				t.Error("JSON does not end in a newline")
			}
			var doc JSONReport
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != "rca.report/v1" {
				t.Errorf("schema = %q", doc.Schema)
			}
			if len(doc.Chain) != len(r.Chain) || len(doc.RootCauses) != len(r.RootCauses) || len(doc.Symptoms) != len(r.Symptoms) {
				t.Error("lists lost entries")
			}
			// Lists are always lists, never null.
			var raw map[string]any
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"symptoms", "root_causes", "chain", "anomalies", "unlinked_changes", "ruled_out", "warnings"} {
				if _, ok := raw[k].([]any); !ok {
					t.Errorf("%s is %v, want a list", k, raw[k])
				}
			}
		})
	}
}

func TestJSONDemoFields(t *testing.T) {
	var doc JSONReport
	if err := json.Unmarshal([]byte(render(t, "json", demoResult(), Options{})), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Window.From.Format("2006-01-02T15:04:05Z07:00"); got != "2024-05-14T14:00:00Z" {
		t.Errorf("window.from = %s", got)
	}
	var layers []string
	for _, l := range doc.Chain {
		layers = append(layers, l.Layer)
	}
	if got := strings.Join(layers, ","); got != "symptom,propagation,resource,change" {
		t.Errorf("chain layers = %s", got)
	}
	top := doc.RootCauses[0]
	if top.Rank != 1 || top.Change == nil || top.Change.Commit[:7] != "9f3c1e2" || top.Service != "checkout" {
		t.Errorf("top root cause = %+v", top)
	}
	if doc.RootCauses[1].Change != nil {
		t.Error("a signal candidate carries a change")
	}
}

func TestJSONNonFiniteIsNull(t *testing.T) {
	out := render(t, "json", noChangeResult(), Options{})
	if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
		t.Error("NaN or Inf leaked into the JSON")
	}
	var doc JSONReport
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	cpu := doc.Chain[2]
	if !math.IsNaN(float64(cpu.BaselineValue)) || !math.IsNaN(float64(cpu.Score)) {
		t.Errorf("baseline %v score %v, want null (NaN) for both", cpu.BaselineValue, cpu.Score)
	}
	if cpu.ObservedValue != 1.95 {
		t.Errorf("observed = %v", cpu.ObservedValue)
	}
}

func TestFloatJSON(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1.5, "1.5"}, {-2, "-2"}, {1e21, "1e+21"},
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(Float(tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("Float(%v) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		format  string
		wantErr bool
		prefix  string
	}{
		{"", false, "RCA REPORT"},
		{"text", false, "RCA REPORT"},
		{"TEXT", false, "RCA REPORT"},
		{"markdown", false, "# Root-cause report"},
		{"md", false, "# Root-cause report"},
		{"json", false, "{"},
		{"yaml", true, ""},
		{" html ", false, "<!DOCTYPE html>"},
		{"xml", true, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		err := Render(&b, tt.format, demoResult())
		if tt.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tt.format)
				continue
			}
			for _, f := range Formats() {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("%q: error %q does not list %q", tt.format, err, f)
				}
			}
			continue
		}
		if err != nil || !strings.HasPrefix(b.String(), tt.prefix) {
			t.Errorf("%q: err %v, output starts %.30q", tt.format, err, b.String())
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrors(t *testing.T) {
	for _, f := range Formats() {
		if err := Render(failWriter{}, f, demoResult()); err == nil {
			t.Errorf("%s: write error not returned", f)
		}
	}
}
