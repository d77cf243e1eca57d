package analysis

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// cumulative is a counter that grows by rate(minute) per second, sampled
// every minute from 60 minutes before the window to its end.
func cumulative(start float64, rate func(minute int) float64) []telemetry.Point {
	var pts []telemetry.Point
	total := start
	for m := -60; m < 30; m++ {
		total += rate(m) * 60
		pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: total})
	}
	return pts
}

func TestCountersAreRates(t *testing.T) {
	steady := func(int) float64 { return 0.05 }
	gauge := func() []telemetry.Point {
		var pts []telemetry.Point
		for m := -60; m < 30; m++ {
			v := 40.0
			if m%13 == 0 {
				v = 39 // a gauge that dips a little now and then
			}
			if m == 29 {
				v = 41
			}
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: v})
		}
		return pts
	}
	sparse := func() []telemetry.Point {
		var pts []telemetry.Point
		for m := -60; m < 30; m++ {
			v := 0.0
			if m%25 == 0 {
				v = 1
			}
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(m) * time.Minute), V: v})
		}
		return pts
	}
	for _, tc := range []struct {
		name     string
		series   telemetry.Series
		rate     bool
		unit     string
		firstOut float64 // the first rate sample, when rate
	}{
		{
			name:   "catalog signal over a raw counter",
			series: telemetry.Series{Metric: "vm_promscrape_scrape_retries_total", Signal: "retries", Labels: svc("vm")}.WithPoints(cumulative(0, steady)...),
			rate:   true, unit: "per_second", firstOut: 0.05,
		},
		{
			name:   "no signal, _total",
			series: telemetry.Series{Metric: "payments_errors_total", Labels: svc("payments")}.WithPoints(cumulative(0, steady)...),
			rate:   true, unit: "per_second", firstOut: 0.05,
		},
		{
			name:   "histogram _sum of seconds",
			series: telemetry.Series{Metric: "http_request_duration_seconds_sum", Labels: svc("api")}.WithPoints(cumulative(100, steady)...),
			rate:   true, unit: "seconds/s", firstOut: 0.05,
		},
		{
			name:   "histogram _bucket",
			series: telemetry.Series{Metric: "http_request_duration_seconds_bucket", Labels: svc("api", "le", "0.5")}.WithPoints(cumulative(100, steady)...),
			rate:   true, unit: "per_second", firstOut: 0.05,
		},
		{
			name:   "bytes counter keeps its unit, per second",
			series: telemetry.Series{Metric: "container_network_receive_bytes_total", Labels: svc("api")}.WithPoints(cumulative(0, func(int) float64 { return 1000 })...),
			rate:   true, unit: "bytes/s", firstOut: 1000,
		},
		{
			name:   "the query already rates it",
			series: telemetry.Series{Metric: "retries", Signal: "retries", Query: `sum by (service) (rate(vm_promscrape_scrape_retries_total[2m]))`, Labels: svc("vm")}.WithPoints(cumulative(0, steady)...),
		},
		{
			name:   "increase() too",
			series: telemetry.Series{Metric: "x_total", Query: `increase(x_total[1m])`, Labels: svc("vm")}.WithPoints(cumulative(0, steady)...),
		},
		{
			name:   "a gauge named _sum that dips is no counter",
			series: telemetry.Series{Metric: "requests_sum", Labels: svc("api")}.WithPoints(gauge()...),
		},
		{
			name:   "a count per interval of a rare event is no counter",
			series: telemetry.Series{Metric: "log_lines_count", Labels: svc("api")}.WithPoints(sparse()...),
		},
		{
			name:   "a counter's name without a counter's shape",
			series: telemetry.Series{Metric: "queue_total", Labels: svc("api")}.WithPoints([]telemetry.Point{{T: t0, V: 5}, {T: t0.Add(time.Minute), V: 3}, {T: t0.Add(2 * time.Minute), V: 6}}...),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(1)
			f.b.Series = []telemetry.Series{tc.series}
			sigs := prepare(f.b, defaultCatalog())
			s := sigs[0]
			if s.isRate != tc.rate {
				t.Fatalf("isRate = %v, want %v", s.isRate, tc.rate)
			}
			if !tc.rate {
				return
			}
			if s.cls.Unit != tc.unit {
				t.Errorf("unit %q, want %q", s.cls.Unit, tc.unit)
			}
			if got := s.base.v(0); math.Abs(got-tc.firstOut) > 1e-9 {
				t.Errorf("first rate %v, want %v", got, tc.firstOut)
			}
		})
	}
}

// The case: a retries counter going 0 -> 19 was reported as
// "retries rose from 4/s to 22/s". As a rate, the why quotes the rate.
func TestCounterWithSignalSaysPerSecondHonestly(t *testing.T) {
	f := newFixture(1)
	pts := cumulative(0, func(m int) float64 {
		if m >= 5 {
			return 2
		}
		return 0.01
	})
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: "vm_promscrape_scrape_retries_total", Signal: "retries", Labels: svc("vm")}.WithPoints(pts...))
	res, a := rateStep(t, f, 0.01, 2)
	if !strings.Contains(a.Explanation, "from 0.01/s to 2/s") || !strings.Contains(a.Signal, "per-second rate") {
		t.Errorf("why %q (signal %q), want the rates in /s", a.Explanation, a.Signal)
	}
	ev := res.Evidence[a.SeriesID]
	if ev.Len() == 0 || ev.Values[ev.Len()-1] != 2 {
		t.Errorf("the chart's evidence should be the rate, got %v", ev.Values)
	}
}

// rateStep analyses f's bundle and wants one anomaly: a counter's rate
// stepping from baseline to observed.
func rateStep(t *testing.T, f *fixture, baseline, observed float64) (Result, Finding) {
	t.Helper()
	res := Analyze(f.b, defaultCatalog(), Options{})
	if len(res.Anomalies) != 1 {
		t.Fatalf("anomalies = %d, want the counter's rate step", len(res.Anomalies))
	}
	a := res.Anomalies[0]
	if math.Abs(a.BaselineValue-baseline) > 1e-9 || math.Abs(a.ObservedValue-observed) > 1e-9 {
		t.Errorf("rate baseline %v observed %v, want %v and %v", a.BaselineValue, a.ObservedValue, baseline, observed)
	}
	return res, a
}

func TestToRateResetsAndJitter(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name string
		in   []telemetry.Point
		want []float64
	}{
		{"steady", []telemetry.Point{{T: at(0), V: 10}, {T: at(10), V: 20}, {T: at(20), V: 30}}, []float64{1, 1}},
		{"reset to zero and up", []telemetry.Point{{T: at(0), V: 100}, {T: at(10), V: 110}, {T: at(20), V: 5}, {T: at(30), V: 15}}, []float64{1, 0.5, 1}},
		{"float jitter is no reset", []telemetry.Point{{T: at(0), V: 1796570346.3100002}, {T: at(10), V: 1796570346.31}, {T: at(20), V: 1796570346.31}}, []float64{0, 0}},
		{"a gap stays one mean rate", []telemetry.Point{{T: at(0), V: 0}, {T: at(10), V: math.NaN()}, {T: at(20), V: 20}}, []float64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rateOf(samplesFrom(tc.in)).points()
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rates %v, want %v", len(got), got, tc.want)
			}
			for i, w := range tc.want {
				if math.Abs(got[i].V-w) > 1e-9 {
					t.Errorf("rate %d = %v, want %v", i, got[i].V, w)
				}
			}
		})
	}
	var long []telemetry.Point
	for i := range 40 {
		v := float64(100 + 10*i)
		if i >= 30 {
			v = float64(10 * (i - 30)) // restarted
		}
		long = append(long, telemetry.Point{T: at(10 * i), V: v})
	}
	vals := telemetry.Series{}.WithPoints(long...).Values
	if !monotonic(vals) {
		t.Error("a counter with one reset in 40 samples should still be a counter")
	}
	if monotonic(vals[25:]) {
		t.Error("one reset in 15 samples is too many to call the series a counter")
	}
}
