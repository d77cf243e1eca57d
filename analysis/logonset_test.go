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
