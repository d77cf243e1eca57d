package analysis

import (
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// TestLogOnsetIsTheFirstLine: a count of log lines is made per minute, but
// the lines say when they began. The onset of an error count, and of its
// new template, is the first error line's time, not its minute's start:
// here 40 s later, past the onset tolerance after the caller's latency
// rose, so the errors, begun after it, do not explain the caller's
// latency (counted from the minute's start they would, 20 s after it).
// A count by level begins with the first line at its level.
func TestLogOnsetIsTheFirstLine(t *testing.T) {
	f := newFixture(3)
	// api calls db; api's latency rises at minute 10 + 20 s.
	f.edge("api", "db")
	// Samples 5 s apart (the onset tolerance is then a minute).
	every5s := func(metric string, labels telemetry.Labels, before, after float64) {
		var pts []telemetry.Point
		for s := -60 * 60; s < 30*60; s += 5 {
			v := before
			if s >= 10*60+20 {
				v = after
			}
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(s) * time.Second), V: v * (1 + 0.05*f.rng.NormFloat64())})
		}
		f.b.Series = append(f.b.Series, telemetry.Series{Metric: metric, Signal: metric, Labels: labels}.WithPoints(pts...))
	}
	every5s("request_latency_seconds", svc("api"), 0.1, 0.9)
	every5s("container_memory_working_set_bytes", svc("api"), 1e8, 1e8)
	every5s("container_memory_working_set_bytes", svc("db"), 1e9, 1e9)
	f.b.Logs = append(f.b.Logs, logsAt(svc("db", "level", "info"), -60, 30, 2, "checkpoint %d done")...)
	first := t0.Add(11*time.Minute + 40*time.Second)
	for i := range 60 {
		f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: first.Add(time.Duration(i) * 10 * time.Second), Labels: svc("db", "level", "error"), Line: "could not write block: disk full"})
	}
	// Warnings from 11:45, in a minute whose info lines began at 11:00.
	warn := t0.Add(11*time.Minute + 45*time.Second)
	for i := range 40 {
		f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: warn.Add(time.Duration(i) * 15 * time.Second), Labels: svc("db", "level", "warn"), Line: "checkpoint took longer than expected"})
	}
	// A burst within one minute: a run of one bucket, which ends where
	// it begins, not at its bucket's start.
	burst := t0.Add(20*time.Minute + 30*time.Second)
	f.b.Logs = append(f.b.Logs, logsAt(svc("cache", "level", "info"), -60, 30, 2, "evicted %d keys")...)
	for i := range 30 {
		f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: burst.Add(time.Duration(i) * time.Second), Labels: svc("cache", "level", "error"), Line: "connection reset by peer"})
	}
	res := Analyze(f.b, defaultCatalog(), Options{})

	var errs, warns *Finding
	for i, a := range res.Anomalies {
		switch {
		case a.Service == "db" && a.SignalID == "log_errors":
			errs = &res.Anomalies[i]
		case a.Service == "db" && a.SignalID == "log_lines" && a.Labels["level"] == "warn":
			warns = &res.Anomalies[i]
		}
	}
	if warns == nil || !warns.Onset.Equal(warn) {
		t.Errorf("warn lines' anomaly %+v, want one with the first warning's onset %s, not the first line's of any level", warns, warn.Format(time.TimeOnly))
	}
	if errs == nil {
		t.Fatalf("no log_errors anomaly on db; anomalies: %+v", res.Anomalies)
	}
	if !errs.Onset.Equal(first) {
		t.Errorf("log_errors onset %s, want the first error line's %s", errs.Onset.Format(time.TimeOnly), first.Format(time.TimeOnly))
	}
	for _, a := range res.Anomalies {
		if a.Until.Before(a.Onset) {
			t.Errorf("%s on %s ends at %s, before its onset %s", a.Signal, a.Service, a.Until.Format(time.TimeOnly), a.Onset.Format(time.TimeOnly))
		}
		for _, p := range a.Patterns {
			if p.Until.Before(p.Onset) {
				t.Errorf("template %q ends at %s, before its onset %s", p.Template, p.Until.Format(time.TimeOnly), p.Onset.Format(time.TimeOnly))
			}
		}
	}
	found := false
	for _, a := range res.Anomalies {
		for _, p := range a.Patterns {
			if p.New && p.Level == "error" {
				found = true
				if !p.Onset.Equal(first) {
					t.Errorf("template %q onset %s, want %s", p.Template, p.Onset.Format(time.TimeOnly), first.Format(time.TimeOnly))
				}
			}
		}
	}
	if !found {
		t.Error("no new error template among the anomalies' patterns")
	}
	for _, c := range res.RootCauses {
		if c.Service == "api" && c.Features[5] != 0 {
			t.Errorf("api's origin feature %v: db's errors, begun 80 s after api's latency rose, explain it", c.Features[5])
		}
	}
}

// TestSamplingStep: the usual step, which sets the onset tolerance, is the
// data's: counts made from log lines (one-minute buckets of the analysis'
// own) set it only when nothing else has two samples.
func TestSamplingStep(t *testing.T) {
	every := func(step time.Duration, logs bool) signal {
		var s samples
		for i := range 4 {
			s.ts = append(s.ts, t0.Add(time.Duration(i)*step).UnixNano())
			s.vs = append(s.vs, 1)
		}
		return signal{win: s, fromLogs: logs}
	}
	for _, tc := range []struct {
		name string
		sigs []signal
		want time.Duration
	}{
		{"metrics and more log counts", []signal{every(15*time.Second, false), every(time.Minute, true), every(time.Minute, true)}, 15 * time.Second},
		{"log counts alone", []signal{every(time.Minute, true), every(time.Minute, true)}, time.Minute},
		{"nothing with two samples", nil, 30 * time.Second},
	} {
		if got, _ := sampling(tc.sigs); got != tc.want {
			t.Errorf("%s: step %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestLineTimes: what the lines say of a log count's run, case by case.
func TestLineTimes(t *testing.T) {
	f := newFixture(11)
	at := func(m, s int) time.Time { return t0.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second) }
	every := func(labels telemetry.Labels, from, to time.Time, gap time.Duration, text string) {
		for tt := from; tt.Before(to); tt = tt.Add(gap) {
			f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: tt, Labels: labels, Line: text})
		}
	}
	// queue: 60 info lines a minute, then from minute 10 one at :58.
	every(svc("queue", "level", "info"), at(-60, 0), at(10, 0), time.Second, "job done")
	for m := 10; m < 30; m++ {
		f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: at(m, 58), Labels: svc("queue", "level", "info"), Line: "job done"})
	}
	// auth: info lines at :00 and :30 all along; lines of no level from 11:45.
	every(svc("auth", "level", "info"), at(-60, 0), at(30, 0), 30*time.Second, "token issued")
	every(svc("auth"), at(11, 45), at(30, 0), 3*time.Second, "GET /token 200")
	// pay: errors from 11:40 to 12:56, and web's errors in pay's first minute.
	every(svc("pay", "level", "info"), at(-60, 0), at(30, 0), 30*time.Second, "charged card")
	every(svc("pay", "level", "error"), at(11, 40), at(12, 57), 4*time.Second, "card network unreachable")
	every(svc("web", "level", "info"), at(-60, 0), at(30, 0), 30*time.Second, "served page")
	every(svc("web", "level", "error"), at(11, 5), at(11, 11), time.Second, "template missing")
	// cache: no line in the baseline; errors from 5 s into the window.
	every(svc("cache", "level", "error"), at(0, 5), at(30, 0), 10*time.Second, "eviction failed")
	res := Analyze(f.b, defaultCatalog(), Options{})

	find := func(service, signal, level string) *Finding {
		for i, a := range res.Anomalies {
			if a.Service == service && a.SignalID == signal && a.Labels["level"] == level {
				return &res.Anomalies[i]
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name                   string
		service, signal, level string
		onset, until           time.Time // until zero: not checked
		carried                bool
	}{
		{"lines that stopped: the bucket's start, not the last line still written", "queue", "log_lines", "info", at(10, 0), time.Time{}, false},
		{"lines of no level: the first of them, not an info line's", "auth", "log_lines", "", at(11, 45), time.Time{}, false},
		{"a run of two minutes: its first line to its last, not another service's", "pay", "log_errors", "", at(11, 40), at(12, 56), false},
		{"carried over: the window's start", "cache", "log_errors", "", at(0, 0), time.Time{}, true},
	} {
		a := find(tc.service, tc.signal, tc.level)
		if a == nil {
			t.Errorf("%s: no %s anomaly on %s", tc.name, tc.signal, tc.service)
			continue
		}
		if !a.Onset.Equal(tc.onset) || !tc.until.IsZero() && !a.Until.Equal(tc.until) || a.CarriedOver != tc.carried {
			t.Errorf("%s: onset %s, until %s, carried %v; want %s, %s, %v", tc.name, a.Onset.Format(time.TimeOnly), a.Until.Format(time.TimeOnly), a.CarriedOver,
				tc.onset.Format(time.TimeOnly), tc.until.Format(time.TimeOnly), tc.carried)
		}
		// The template of the same lines runs as the count does.
		if tc.signal != "log_errors" {
			continue
		}
		found := false
		for _, p := range a.Patterns {
			if p.Level != "error" {
				continue
			}
			found = true
			if !p.Onset.Equal(tc.onset) || !tc.until.IsZero() && !p.Until.Equal(tc.until) {
				t.Errorf("%s: template %q from %s to %s; want from %s to %s", tc.name, p.Template, p.Onset.Format(time.TimeOnly), p.Until.Format(time.TimeOnly),
					tc.onset.Format(time.TimeOnly), tc.until.Format(time.TimeOnly))
			}
		}
		if !found {
			t.Errorf("%s: no error template on the finding", tc.name)
		}
	}
}

// TestOneBucketTemplate: in a window of three minutes a template's run can
// be one bucket; it is one sample, at its first line, as a count's is.
func TestOneBucketTemplate(t *testing.T) {
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-30 * time.Minute), To: t0},
		Window:   telemetry.Window{From: t0, To: t0.Add(3 * time.Minute)},
	}
	for tt := t0.Add(-30 * time.Minute); tt.Before(b.Window.To); tt = tt.Add(20 * time.Second) {
		b.Logs = append(b.Logs, telemetry.LogLine{T: tt, Labels: svc("api", "level", "info"), Line: "served"})
	}
	first := t0.Add(80 * time.Second)
	for i := range 12 {
		b.Logs = append(b.Logs, telemetry.LogLine{T: first.Add(time.Duration(i) * 2 * time.Second), Labels: svc("api", "level", "error"), Line: "disk quota exceeded"})
	}
	res := Analyze(b, defaultCatalog(), Options{})
	found := false
	for _, a := range res.Anomalies {
		for _, p := range a.Patterns {
			if p.Level == "error" {
				found = true
				if !p.Onset.Equal(first) || !p.Until.Equal(first) {
					t.Errorf("template %q from %s to %s, want one sample at %s", p.Template, p.Onset.Format(time.TimeOnly), p.Until.Format(time.TimeOnly), first.Format(time.TimeOnly))
				}
			}
		}
	}
	if !found {
		t.Errorf("no error template; anomalies %+v", res.Anomalies)
	}
}
