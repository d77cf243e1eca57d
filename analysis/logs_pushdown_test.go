package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/telemetry"
)

// pushed is a log signal's per-minute counts as Loki makes them: one point
// a minute over the baseline and the window, perMin from the minute from
// on (relative to the window start), base before.
func pushed(signal string, labels telemetry.Labels, from int, base, perMin float64) telemetry.Series {
	var pts []telemetry.Point
	for m := -60; m < 30; m++ {
		v := base
		if m >= from {
			v = perMin
		}
		pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: v})
	}
	return telemetry.Series{Metric: signal, Signal: signal, Query: "sum by (service) (count_over_time(... [1m] offset 1ms))", Labels: labels}.WithPoints(pts...)
}

func timeoutLine(i int) string {
	return fmt.Sprintf("upstream timed out (110: Connection timed out) while reading response header from upstream, request %d, upstream: \"http://checkout:8080/\"", i)
}

// TestLogSeriesPushedDown: a log signal and service the bundle already has
// counts of (pushed down to Loki) gets no series from the lines; the other
// pairs still do, and the pushed-down series must name the service by one
// of the catalog's service labels to count.
func TestLogSeriesPushedDown(t *testing.T) {
	f := newFixture(1).
		logs(lvl("gateway", "error"), -60, 30, 1, timeoutLine).
		logs(lvl("checkout", "error"), -60, 30, 1, timeoutLine)
	f.b.Series = append(f.b.Series,
		pushed("log_timeouts", telemetry.Labels{"app": "gateway"}, 0, 5, 5), // counted by Loki
		pushed("log_errors", telemetry.Labels{"pod": "x-0"}, 0, 5, 5),       // the service of pod x-0: x, with no lines
		pushed("log_panics", telemetry.Labels{"instance": "10.0.0.1"}, 0, 5, 5),
		pushed("cpu_usage", svc("checkout"), 0, 5, 5), // not a log signal
	)
	cat := defaultCatalog()
	got := map[string]bool{}
	for _, s := range logSeries(indexLogs(f.b, cat), f.b, cat, levelCounted(f.b, cat)) {
		got[s.Signal+" "+s.Labels["service"]] = true
	}
	want := map[string]bool{
		"log_timeouts checkout": true, "log_errors gateway": true, "log_errors checkout": true,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("series from the lines %v, want %v (log_timeouts of the gateway is Loki's)", got, want)
	}
	if p := pushedDown(f.b, cat); len(p) != 2 || !p[[2]string{"log_timeouts", "gateway"}] || !p[[2]string{"log_errors", "x"}] {
		t.Errorf("pushed down %v, want log_timeouts of gateway and log_errors of x", p)
	}
}

// TestAnalyzePushedDownCounts: when the lines read are a sample (max_lines
// cut them), the pushed-down counts decide the rate finding, and the lines
// still give it its template and examples.
func TestAnalyzePushedDownCounts(t *testing.T) {
	build := func(withCounts bool) Result {
		// The lines read: a tenth of the gateway's timeouts, none in the
		// baseline, a line every 30 s from minute 10.
		f := newFixture(2).
			logs(lvl("gateway", "info"), -60, 30, 4, func(i int) string { return fmt.Sprintf("GET /api/cart %d 200", i) }).
			logs(lvl("gateway", "error"), 10, 30, 2, timeoutLine).
			edge("gateway", "checkout")
		if withCounts {
			// What Loki counted: 20 a minute from minute 10, 1 before.
			f.b.Series = append(f.b.Series, pushed("log_timeouts", svc("gateway"), 10, 1, 20))
		}
		return Analyze(f.b, defaultCatalog(), Options{})
	}
	find := func(r Result) *Finding {
		for i, f := range r.Anomalies {
			if f.SignalID == "log_timeouts" && f.Service == "gateway" {
				return &r.Anomalies[i]
			}
		}
		return nil
	}
	lines, counts := find(build(false)), find(build(true))
	if lines == nil || counts == nil {
		t.Fatalf("no gateway timeout finding: from lines %v, with counts %v", lines, counts)
	}
	if lines.ObservedValue != 2 || counts.ObservedValue != 20 || counts.BaselineValue != 1 {
		t.Errorf("observed %v from the lines and %v (baseline %v) with Loki's counts, want 2 and 20 (1)", lines.ObservedValue, counts.ObservedValue, counts.BaselineValue)
	}
	if !strings.Contains(counts.Query, "offset 1ms") || counts.Source != "logs" || counts.Layer != "propagation" {
		t.Errorf("finding %+v, want Loki's query, from logs, propagation", counts)
	}
	if len(counts.Patterns) == 0 || !strings.Contains(counts.Patterns[0].Template, "upstream timed out") || len(counts.Patterns[0].Examples) == 0 {
		t.Errorf("patterns %+v, want the timeout template with examples from the lines", counts.Patterns)
	}
	if counts.Callee != "checkout" {
		t.Errorf("callee %q, want checkout (named by the lines)", counts.Callee)
	}
}

// TestPiDigitsPushedDownEqualsLines: the bundled demo was recorded live,
// with the log signals counted by a real Loki. Analysing it without those
// series, so the analysis counts the same signals from the recorded lines,
// must give the same result but for the queries the log findings name:
// the pushed-down counts are the counts of the lines, minute by minute.
func TestPiDigitsPushedDownEqualsLines(t *testing.T) {
	b, err := snapshot.Read(context.Background(), filepath.Join("..", "testdata", "incidents", "pi-digits"))
	if err != nil {
		t.Fatal(err)
	}
	cat := defaultCatalog()
	isLog := func(s telemetry.Series) bool {
		sig, ok := cat.Signal(s.Signal)
		return ok && sig.IsLog()
	}
	stripped := b
	stripped.Series = slices.DeleteFunc(slices.Clone(b.Series), isLog)
	if n := len(b.Series) - len(stripped.Series); n == 0 {
		t.Fatal("the bundled demo has no pushed-down log series: re-record it (go test ./e2e -run TestLiveDemo -update)")
	} else {
		t.Logf("%d pushed-down log series of %d", n, len(b.Series))
	}

	// Minute by minute: the recorded counts are the lines' counts.
	fromLines := map[string]telemetry.Series{}
	ix := indexLogs(stripped, cat)
	for _, s := range logSeries(ix, stripped, cat, levelCounted(stripped, cat)) {
		fromLines[s.ID()] = s
	}
	for _, s := range b.Series {
		if !isLog(s) {
			continue
		}
		l, ok := fromLines[s.ID()]
		if !ok {
			t.Errorf("%s: pushed down, but no line counts toward it", s.ID())
			continue
		}
		if !slices.Equal(s.Times, l.Times) || !slices.Equal(s.Values, l.Values) {
			t.Errorf("%s: Loki's counts differ from the lines':\n%v\n%v", s.ID(), s.Points(), l.Points())
		}
		delete(fromLines, s.ID())
	}
	for id := range fromLines {
		t.Errorf("%s: lines count toward it, but Loki has no series", id)
	}

	normalize := func(r Result) string {
		for _, fs := range [][]Finding{r.Anomalies, r.Symptoms, r.Chain} {
			for i := range fs {
				if fs[i].SignalID != patternSignalID {
					fs[i].Query = ""
				}
			}
		}
		for i := range r.RootCauses {
			if r.RootCauses[i].SignalID != patternSignalID {
				r.RootCauses[i].Query = ""
			}
		}
		out, err := json.MarshalIndent(r, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if a, b := normalize(Analyze(b, cat, Options{})), normalize(Analyze(stripped, cat, Options{})); a != b {
		t.Errorf("the analysis with Loki's counts differs from the one with the lines':\n%s", firstDiff(a, b))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines against %d", len(al), len(bl))
}
