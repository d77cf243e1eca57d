package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// span is a stretch of time relative to the window's start.
type span struct{ from, to time.Duration }

// sampled adds a series sampled every 5 s from `from` to the window's end
// (relative to its start), at value v, but for the missing spans.
func (f *fine) sampled(metric string, labels telemetry.Labels, from time.Duration, v float64, missing ...span) *fine {
	var pts []telemetry.Point
	for t := from; t < 10*time.Minute; t += 5 * time.Second {
		gone := false
		for _, m := range missing {
			gone = gone || (t >= m.from && t < m.to)
		}
		if !gone {
			pts = append(pts, telemetry.Point{T: t0.Add(t), V: v})
		}
	}
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: metric, Labels: labels}.WithPoints(pts...))
	return f
}

func TestAbsence(t *testing.T) {
	nginx := telemetry.Labels{"job": "nginx", "instance": "web-1:80"}
	other := func(f *fine) *fine {
		return f.sampled("http_requests_rate", telemetry.Labels{"job": "api", "instance": "web-2:8080"}, -20*time.Minute, 10)
	}
	stop := span{2 * time.Minute, 99 * time.Minute}
	tests := []struct {
		name   string
		bundle *fine
		want   string // in the finding's why; "" for no availability finding
		layer  catalog.Layer
	}{
		{"a stopped target", other(newFine().
			sampled("nginx_connections_active", nginx, -20*time.Minute, 5, stop).
			sampled("nginx_http_requests_rate", nginx, -20*time.Minute, 50, stop).
			sampled("nginx_connections_waiting", nginx, -20*time.Minute, 2, stop)),
			"3 of 3 series of job=nginx, instance=web-1:80 stopped at 14:02:00, 8m of gaps", catalog.LayerSymptom},
		{"a target gone for a minute", other(newFine().
			sampled("nginx_connections_active", nginx, -20*time.Minute, 5, span{2 * time.Minute, 3 * time.Minute}).
			sampled("nginx_http_requests_rate", nginx, -20*time.Minute, 50, span{2 * time.Minute, 3 * time.Minute})),
			"went missing at 14:02:00 and came back by 14:03:00, 1m of gaps", catalog.LayerSymptom},
		{"a host's exporter gone is a resource link", other(newFine().
			sampled("node_load1", telemetry.Labels{"job": "node", "instance": "web-1:9100"}, -20*time.Minute, 0.5, stop)),
			"node_load1{instance=\"web-1:9100\",job=\"node\"} stopped at 14:02:00", catalog.LayerResource},
		{"an up gauge at 0", other(newFine().
			sampled("nginx_up", telemetry.Labels{"job": "nginx-exporter", "instance": "web-1:9113"}, -20*time.Minute, 1, stop).
			sampled("nginx_up", telemetry.Labels{"job": "nginx-exporter", "instance": "web-1:9113"}, 2*time.Minute, 0)),
			"", ""},
		{"two scrapes lost are no outage", other(newFine().
			sampled("nginx_connections_active", nginx, -20*time.Minute, 5, span{2 * time.Minute, 2*time.Minute + 10*time.Second})),
			"", ""},
		{"a baseline a week earlier leaves no gap", func() *fine {
			f := other(newFine().sampled("nginx_connections_active", nginx, 0, 5))
			week := 7 * 24 * time.Hour
			f.b.Baseline = telemetry.Window{From: t0.Add(-week - 20*time.Minute), To: t0.Add(-week)}
			for i := range f.b.Series {
				var base []telemetry.Point
				for t := -20 * time.Minute; t < 0; t += 5 * time.Second {
					base = append(base, telemetry.Point{T: t0.Add(t - week), V: 5})
				}
				f.b.Series[i] = f.b.Series[i].WithPoints(append(base, f.b.Series[i].Points()...)...)
			}
			return f
		}(), "", ""},
		{"a series born in the window", other(newFine().sampled("nginx_connections_active", nginx, 3*time.Minute, 5)), "", ""},
		{"a sparse series", func() *fine {
			f := other(newFine())
			var pts []telemetry.Point
			for t := -20 * time.Minute; t < 10*time.Minute; t += 5 * time.Second {
				// Bursts: every step of one minute in three, then nothing.
				if m := int((t + 20*time.Minute) / time.Minute); t < 2*time.Minute && m%3 == 0 {
					pts = append(pts, telemetry.Point{T: t0.Add(t), V: 1})
				}
			}
			f.b.Series = append(f.b.Series, telemetry.Series{Metric: "jobs_done_rate", Labels: nginx}.WithPoints(pts...))
			return f
		}(), "", ""},
		{"a rollout's new pod takes over", other(newFine().
			sampled("db_connections", telemetry.Labels{"service": "catalog", "pod": "catalog-7d9f8b6c5d-abcde"}, -20*time.Minute, 5, stop).
			sampled("db_connections", telemetry.Labels{"service": "catalog", "pod": "catalog-5ff676694b-fzj9z"}, 90*time.Second, 5)),
			"", ""},
		{"the data ends before the window does", other(newFine().
			sampled("nginx_connections_active", nginx, -20*time.Minute, 5, span{5 * time.Minute, 99 * time.Minute}).
			sampled("db_connections", telemetry.Labels{"job": "db", "instance": "db-1:9187"}, -20*time.Minute, 7, span{5 * time.Minute, 99 * time.Minute}).
			sampled("cache_items", telemetry.Labels{"job": "cache", "instance": "cache-1:9121"}, -20*time.Minute, 9, span{5 * time.Minute, 99 * time.Minute})),
			"", ""},
		{"a target that still answers", other(newFine().
			sampled("latency_average", nginx, -20*time.Minute, 0.2, stop).
			sampled("requests_sum", nginx, -20*time.Minute, 0)),
			"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := Analyze(tc.bundle.b, defaultCatalog(), Options{})
			var got []Finding
			for _, f := range res.Anomalies {
				if f.Metric == absentMetric {
					got = append(got, f)
				}
			}
			if tc.want == "" {
				if len(got) > 0 {
					t.Fatalf("unexpected absence %s", got[0].Explanation)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d absences, want 1 (anomalies %s)", len(got), layers(res.Anomalies))
			}
			f := got[0]
			if !strings.Contains(f.Explanation, tc.want) {
				t.Errorf("why %q, want %q in it", f.Explanation, tc.want)
			}
			if f.Layer != tc.layer || !f.Onset.Equal(t0.Add(2*time.Minute)) || f.ObservedValue != 0 && !strings.Contains(tc.want, "came back") {
				t.Errorf("layer %s onset %s observed %v, want %s, 14:02:00 and 0", f.Layer, f.Onset.Format("15:04:05"), f.ObservedValue, tc.layer)
			}
			if tc.layer == catalog.LayerSymptom && (len(res.RootCauses) == 0 || res.RootCauses[0].Service != f.Service) {
				t.Errorf("the stopped target should rank first: %+v", res.RootCauses)
			}
		})
	}
}

func TestUpGaugeDrops(t *testing.T) {
	up := telemetry.Labels{"job": "nginx-exporter", "instance": "web-1:9113"}
	var pts []telemetry.Point
	for tt := -20 * time.Minute; tt < 10*time.Minute; tt += 5 * time.Second {
		v := 1.0
		if tt >= 2*time.Minute+10*time.Second && tt < 4*time.Minute+40*time.Second {
			v = 0
		}
		pts = append(pts, telemetry.Point{T: t0.Add(tt), V: v})
	}
	f := newFine().sampled("http_requests_rate", telemetry.Labels{"job": "api", "instance": "web-2:8080"}, -20*time.Minute, 10)
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: "nginx_up", Labels: up}.WithPoints(pts...))
	res := Analyze(f.b, defaultCatalog(), Options{})
	var got []Finding
	for _, a := range res.Anomalies {
		if a.Metric == "nginx_up" {
			got = append(got, a)
		}
	}
	if len(got) != 1 {
		t.Fatalf("nginx_up findings: %d, want one (anomalies %s)", len(got), layers(res.Anomalies))
	}
	a := got[0]
	for _, want := range []string{"nginx_up", "1 → 0 at 14:02:10", "up again at 14:04:40"} {
		if !strings.Contains(a.Explanation, want) {
			t.Errorf("why %q, want %q in it", a.Explanation, want)
		}
	}
	if a.Layer != catalog.LayerSymptom || a.SignalID != "availability" || len(res.Symptoms) == 0 {
		t.Errorf("layer %s signal %s symptoms %d: want an availability symptom", a.Layer, a.SignalID, len(res.Symptoms))
	}
}
