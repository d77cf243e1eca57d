package main

import (
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func bundle() telemetry.Bundle {
	s := telemetry.Series{Metric: "cpu", Labels: telemetry.Labels{"service": "api"}}
	for i := range 120 {
		s.Append(t0.Add(time.Duration(i)*15*time.Second), float64(i))
	}
	return telemetry.Bundle{
		Baseline: telemetry.Window{From: t0, To: t0.Add(20 * time.Minute)},
		Window:   telemetry.Window{From: t0.Add(20 * time.Minute), To: t0.Add(30 * time.Minute)},
		Series:   []telemetry.Series{s, {Metric: "log_lines_count", Labels: telemetry.Labels{"service": "api"}}},
		Logs:     []telemetry.LogLine{{T: t0, Labels: telemetry.Labels{"service": "api", "level": "error", "pod": "api-1"}, Line: "boom"}},
		Edges:    []telemetry.Edge{{Caller: "web", Callee: "api"}},
	}
}

func TestDegrade(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     options
		check func(t *testing.T, orig, b telemetry.Bundle)
	}{
		{"nothing taken", options{baseline: 1}, func(t *testing.T, orig, b telemetry.Bundle) {
			if len(b.Series) != 2 || len(b.Series[0].Times) != 120 || len(b.Logs) != 1 || len(b.Edges) != 1 || b.Baseline != orig.Baseline {
				t.Errorf("changed: %+v", b)
			}
		}},
		{"no level labels", options{baseline: 1, noLevels: true, levelLabels: []string{"level", "severity"}}, func(t *testing.T, orig, b telemetry.Bundle) {
			if l := b.Logs[0].Labels; l["level"] != "" || l["pod"] != "api-1" || l["service"] != "api" {
				t.Errorf("labels %v, want all but the level", l)
			}
			if orig.Logs[0].Labels["level"] != "error" {
				t.Error("the original bundle's labels changed")
			}
		}},
		{"series dropped by name", options{baseline: 1, dropSeries: regexp.MustCompile("^log_")}, func(t *testing.T, _, b telemetry.Bundle) {
			if len(b.Series) != 1 || b.Series[0].Metric != "cpu" {
				t.Errorf("series %v, want cpu alone", b.Series)
			}
		}},
		{"logs alone", options{baseline: 1, noSeries: true}, func(t *testing.T, _, b telemetry.Bundle) {
			if len(b.Series) != 0 || len(b.Logs) != 1 {
				t.Errorf("series %d, logs %d: want 0 and 1", len(b.Series), len(b.Logs))
			}
		}},
		{"no graph, no logs", options{baseline: 1, noGraph: true, noLogs: true}, func(t *testing.T, _, b telemetry.Bundle) {
			if len(b.Edges) != 0 || len(b.Logs) != 0 {
				t.Errorf("edges %v, logs %v", b.Edges, b.Logs)
			}
		}},
		{"a quarter of the baseline", options{baseline: 0.25}, func(t *testing.T, orig, b telemetry.Bundle) {
			want := telemetry.Window{From: t0.Add(15 * time.Minute), To: orig.Baseline.To}
			if b.Baseline != want {
				t.Errorf("baseline %v, want %v", b.Baseline, want)
			}
		}},
		{"a minute's step", options{baseline: 1, step: time.Minute}, func(t *testing.T, _, b telemetry.Bundle) {
			if n := len(b.Series[0].Times); n != 30 {
				t.Errorf("%d samples, want 30 (one per minute)", n)
			}
		}},
		{"a tenth dropped", options{baseline: 1, gaps: 0.1, gapsSeed: 1}, func(t *testing.T, _, b telemetry.Bundle) {
			if n := len(b.Series[0].Times); n < 90 || n > 119 || len(b.Series[0].Values) != n {
				t.Errorf("%d samples (%d values), want about 108", n, len(b.Series[0].Values))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := bundle()
			tc.check(t, orig, degrade(orig, tc.o))
		})
	}
}

// The same seed drops the same samples: a run can be repeated.
func TestThinRepeatable(t *testing.T) {
	s := bundle().Series[0]
	a := thin(s, 0, 0.3, rand.New(rand.NewPCG(7, 0)))
	b := thin(s, 0, 0.3, rand.New(rand.NewPCG(7, 0)))
	if len(a.Times) != len(b.Times) || len(a.Times) == len(s.Times) {
		t.Fatalf("%d and %d samples of %d", len(a.Times), len(b.Times), len(s.Times))
	}
	for i := range a.Times {
		if a.Times[i] != b.Times[i] || a.Values[i] != b.Values[i] {
			t.Fatalf("sample %d differs", i)
		}
	}
}
