package analysis

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// logsAt makes n lines a minute of one stream from minute from to minute
// to (relative to the window's start, as the fixture's), spread over each
// minute.
func logsAt(labels telemetry.Labels, from, to, n int, text string) []telemetry.LogLine {
	var out []telemetry.LogLine
	for m := from; m < to; m++ {
		for i := range n {
			t := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Minute/time.Duration(n))
			out = append(out, telemetry.LogLine{T: t, Labels: labels, Line: fmt.Sprintf(text, m*n+i)})
		}
	}
	return out
}

// TestLogSeriesByLevel: the lines by level make one series per service and
// level, as its label wrote it in lower case (or its text stated it), leave
// the error lines to the error signal, and give lines of no level a series
// without a level label. Loki's detected_level "unknown" is kept as Loki keeps it
// (its own count of those lines is under that level): lines read and
// lines counted on the server agree.
func TestLogSeriesByLevel(t *testing.T) {
	f := newFixture(1)
	for _, lines := range [][]telemetry.LogLine{
		logsAt(svc("api", "level", "INFO"), -60, 30, 3, "served request %d"),
		logsAt(svc("api", "level", "info"), -60, 30, 1, "served request %d"),
		logsAt(svc("api", "level", "warn"), -60, 30, 1, "slow query %d"),
		logsAt(svc("api", "level", "error"), -60, 30, 1, "write failed %d"),
		logsAt(svc("api"), -60, 30, 1, `level=warn msg="retrying %d"`),
		logsAt(svc("api", "detected_level", "unknown"), -60, 30, 1, `at com.shop.Cart.add(Cart.java:%d)`),
		logsAt(svc("web"), -60, 30, 2, "GET /index.html %d 200"),
	} {
		f.b.Logs = append(f.b.Logs, lines...)
	}
	cat := defaultCatalog()
	ix := indexLogs(f.b, cat)
	got := map[string]float64{}
	for _, s := range logSeries(ix, f.b, cat, levelCounted(f.b, cat)) {
		got[s.ID()] = s.Values[0]
		if s.Len() != 90 {
			t.Errorf("%s: %d minutes, want the 90 of the baseline and the window", s.ID(), s.Len())
		}
	}
	want := map[string]float64{
		`log_lines{level="info",service="api"}`:    4, // INFO and info are one level
		`log_lines{level="warn",service="api"}`:    2, // one labelled, one stated in the text
		`log_lines{service="web"}`:                 2,
		`log_lines{level="unknown",service="api"}`: 1,
		`log_errors{service="api"}`:                1,
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s: %v lines in the first minute, want %v (all: %v)", id, got[id], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want only %v", got, want)
	}
}

// TestLogSeriesLevelCounted: a service whose lines the bundle already
// counts by level (a logging library's counter) gets no second count by
// level from its lines; the other services do, and its errors still count.
func TestLogSeriesLevelCounted(t *testing.T) {
	f := newFixture(2).add("logback_events_total", svc("api", "level", "warn"), stepAt(0, 1, 1), 0)
	f.b.Series[0].Signal = ""
	f.b.Logs = append(logsAt(svc("api", "level", "info"), -60, 30, 2, "served %d"), logsAt(svc("web", "level", "info"), -60, 30, 2, "served %d")...)
	f.b.Logs = append(f.b.Logs, logsAt(svc("api", "level", "error"), -60, 30, 1, "failed %d")...)
	cat := defaultCatalog()
	var ids []string
	for _, s := range logSeries(indexLogs(f.b, cat), f.b, cat, levelCounted(f.b, cat)) {
		ids = append(ids, s.ID())
	}
	slices.Sort(ids)
	if want := []string{`log_errors{service="api"}`, `log_lines{level="info",service="web"}`}; !slices.Equal(ids, want) {
		t.Errorf("series %v, want %v", ids, want)
	}
}

// TestLogSeriesLevelCountedPushed: Loki's counts by level of a service
// the data already counts by level are dropped too, not only the lines'
// own; a series with a level-like label that counts no log lines
// (ALERTS{severity}) counts nothing by level.
func TestLogSeriesLevelCountedPushed(t *testing.T) {
	f := newFixture(6).
		add("logback_events_total", svc("api", "level", "warn"), stepAt(10, 1, 9), 0.1).
		add("log_lines", svc("api", "level", "warn"), stepAt(10, 1, 9), 0.1).
		add("log_lines", svc("web", "level", "warn"), stepAt(10, 1, 1), 0.1).
		add("ALERTS", svc("web", "severity", "critical"), stepAt(0, 1, 1), 0)
	f.b.Series[0].Signal = ""
	f.b.Series[3].Signal = ""
	res := Analyze(f.b, defaultCatalog(), Options{})
	var api []string
	for _, a := range res.Anomalies {
		if a.Service == "api" {
			api = append(api, a.Metric)
		}
	}
	if !slices.Equal(api, []string{"logback_events_total"}) {
		t.Errorf("api's anomalies %v, want its own counter's alone", api)
	}
	if got := levelCounted(f.b, defaultCatalog()); !got["api"] || got["web"] {
		t.Errorf("counted by level: %v, want api alone", got)
	}
	for name, want := range map[string]bool{
		"logback_events_total": true, "log4j2_events_total": true, "log_lines_count": true, "app:logs:rate5m": true,
		"catalog_items": false, "queue_backlog": false, "login_attempts_total": false, "ALERTS": false,
	} {
		if namedForLogs(name) != want {
			t.Errorf("namedForLogs(%q) = %v, want %v", name, !want, want)
		}
	}
}

// TestSteadyLinesLeaveTheDeployItsCallers: a service seen only in its logs,
// steady, whose deploy precedes its caller's errors: the deploy still
// takes the caller's anomaly, as it did before its lines were counted by
// level (a steady count would make the service "observed", with nothing
// of its own that moved).
func TestSteadyLinesLeaveTheDeployItsCallers(t *testing.T) {
	f := newFixture(7).
		add("http_error_ratio", svc("web"), stepAt(8, 0.001, 0.3), 0.0005).
		edge("web", "db").
		change(6, "db", "deploy db v2")
	f.b.Logs = logsAt(svc("db", "level", "info"), -60, 30, 10, "query %d done")
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "db" || res.RootCauses[0].Change == nil {
		t.Fatalf("root causes %+v, want db's deploy first", res.RootCauses)
	}
}

// TestLinesThatStop: logs alone, no error and no new template anywhere:
// one service stops writing the lines it wrote all along (a call it no
// longer makes). Counted by level, that is seen and ranked; before, no
// series moved and nothing was ranked. With every service steady, nothing
// is.
func TestLinesThatStop(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stops bool
	}{
		{"the scheduler stops", true},
		{"all steady", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(3)
			for _, name := range []string{"api", "scheduler", "volume"} {
				end := 30
				if tc.stops && name == "scheduler" {
					end = 5
				}
				f.b.Logs = append(f.b.Logs, logsAt(svc(name, "level", "info"), -60, end, 60, "handled job %d")...)
				f.b.Logs = append(f.b.Logs, logsAt(svc(name, "level", "debug"), -60, 30, 5, "heartbeat %d")...)
			}
			res := Analyze(f.b, defaultCatalog(), Options{})
			if !tc.stops {
				if len(res.RootCauses) > 0 || res.Verdict != VerdictNothingStandsOut {
					t.Errorf("steady lines: %s, candidates %+v", res.Verdict, res.RootCauses)
				}
				return
			}
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "scheduler" {
				t.Fatalf("root causes %+v, want the scheduler first", res.RootCauses)
			}
			top := res.RootCauses[0]
			if top.SignalID != "log_lines" || top.Signal != "info log lines" || top.ObservedValue >= top.BaselineValue {
				t.Errorf("evidence %s %q %v -> %v, want its info lines falling", top.SignalID, top.Signal, top.BaselineValue, top.ObservedValue)
			}
		})
	}
}

// TestWarningsByLevel: warnings that begin are the service's own word that
// something is off (not its activity), and the templates shown with a
// count by level are of that level only.
func TestWarningsByLevel(t *testing.T) {
	f := newFixture(4)
	for _, name := range []string{"api", "db"} {
		f.b.Logs = append(f.b.Logs, logsAt(svc(name, "level", "info"), -60, 30, 10, "handled %d")...)
	}
	f.b.Logs = append(f.b.Logs, logsAt(svc("db", "level", "info"), 8, 30, 30, "checkpoint %d started")...)
	f.b.Logs = append(f.b.Logs, logsAt(svc("db", "level", "warn"), 8, 30, 6, "disk nearly full, %d blocks left")...)
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "db" {
		t.Fatalf("root causes %+v, want db first", res.RootCauses)
	}
	var warn *Finding
	info := false
	for i, a := range res.Anomalies {
		info = info || a.SignalID == "log_lines" && a.level == "info"
		if a.SignalID != "log_lines" {
			continue
		}
		if a.level == "warn" {
			warn = &res.Anomalies[i]
			if a.traffic {
				t.Error("warnings counted as activity")
			}
		}
		for _, p := range a.Patterns {
			if p.Level != a.level {
				t.Errorf("%s shows a template at %s level: %q", a.Signal, p.Level, p.Template)
			}
		}
	}
	if warn == nil || len(warn.Patterns) == 0 || !info {
		t.Fatalf("want a warn log lines finding with its template, and one of info lines: %+v", res.Anomalies)
	}
	for _, a := range res.Anomalies {
		if a.SignalID == patternSignalID && a.Service == "db" {
			t.Errorf("the warning the count by level shows is listed again: %s", a.Signal)
		}
	}
}

// TestUnlevelledLinesAreActivity: a count by level of lines that state no
// level (or that Loki could not read one from) is the service's activity,
// as its info lines are; any other level is not.
func TestUnlevelledLinesAreActivity(t *testing.T) {
	f := newFixture(5)
	cat := defaultCatalog()
	for _, tc := range []struct {
		labels  telemetry.Labels
		traffic bool
	}{
		{svc("api"), true},
		{svc("api", "level", "unknown"), true},
		{svc("api", "level", "INFO"), true},
		{svc("api", "level", "Information"), true}, // .NET's and Serilog's name for it
		{svc("api", "level", "warning"), false},
	} {
		s := telemetry.Series{Metric: "log_lines", Signal: "log_lines", Labels: tc.labels}.WithPoints(telemetry.Point{T: t0, V: 1})
		got := prepareOne(s, f.b, cat, map[kindKey]kindInfo{})
		if got.traffic != tc.traffic || !got.byLevel {
			t.Errorf("%s: traffic %v by level %v, want %v true", tc.labels, got.traffic, got.byLevel, tc.traffic)
		}
	}
}

// TestLogCountsDoNotShortenTheBaseline: a 5-minute baseline holds 20
// samples of a metric scraped every 15 s but 5 of a count of lines per
// minute. Counts by level outnumber a service's metrics; they do not make
// the baseline "too short to judge" (which lowers every confidence), as
// they do when the logs are all there is.
func TestLogCountsDoNotShortenTheBaseline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metrics bool
		short   bool
	}{
		{"metrics and logs", true, false},
		{"logs alone", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := telemetry.Bundle{
				Baseline: telemetry.Window{From: t0.Add(-5 * time.Minute), To: t0},
				Window:   telemetry.Window{From: t0, To: t0.Add(5 * time.Minute)},
			}
			for _, name := range []string{"api", "db"} {
				if tc.metrics {
					var pts []telemetry.Point
					for i := -20; i < 20; i++ {
						pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(i) * 15 * time.Second), V: 0.2 + 0.01*float64(i%3)})
					}
					b.Series = append(b.Series, telemetry.Series{Metric: "process_cpu_seconds", Labels: svc(name)}.WithPoints(pts...))
				}
				for _, level := range []string{"debug", "info", "notice", "warn"} {
					b.Logs = append(b.Logs, logsAt(svc(name, "level", level), -5, 5, 4, "working %d")...)
				}
			}
			res := Analyze(b, defaultCatalog(), Options{})
			short := slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "too short to judge") })
			if short != tc.short {
				t.Errorf("baseline too short: %v, want %v (warnings %q)", short, tc.short, res.Warnings)
			}
		})
	}
}
