package analysis

import (
	"math"
	"strings"
	"testing"
)

// setPoints overwrites the values of the series of the fixture that has
// signal and service at the given minutes (relative to the window start).
func (f *fixture) setPoints(signal, service string, v float64, minutes ...int) *fixture {
	for i := range f.b.Series {
		s := &f.b.Series[i]
		if s.Signal != signal || s.Labels["service"] != service {
			continue
		}
		for _, m := range minutes {
			s.Values[m+60] = v
		}
	}
	return f
}

func minutes(from, to int) []int {
	var out []int
	for m := from; m < to; m++ {
		out = append(out, m)
	}
	return out
}

// finiteResult fails the test on any score or value that is not a finite number.
func finiteResult(t *testing.T, res Result) {
	t.Helper()
	finite := func(what string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a finite number", what, v)
		}
	}
	for _, s := range res.Services {
		finite("service score of "+s.Service, s.Score)
	}
	for _, c := range res.RootCauses {
		finite("root cause score of "+c.Service, c.Score)
	}
	for _, f := range res.Anomalies {
		finite("anomaly score of "+f.SeriesID, f.Score)
		finite("baseline value of "+f.SeriesID, f.BaselineValue)
		finite("observed value of "+f.SeriesID, f.ObservedValue)
	}
}

// Defect 5 of issue 17: +Inf samples were not filtered, only NaN. Thirty
// +Inf samples in the baseline of one quiet series made its score NaN, and
// the NaN service sorted first, above the checkout deploy.
func TestNonFiniteSamplesInTheBaselineAreMissing(t *testing.T) {
	for _, v := range []float64{math.Inf(1), math.Inf(-1)} {
		f := piChain(1).setPoints("memory_working_set", "cart", v, minutes(-60, -30)...)
		res := Analyze(f.b, defaultCatalog(), Options{})
		finiteResult(t, res)
		if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "checkout" {
			t.Fatalf("%v in cart's baseline: root causes %+v, want checkout first", v, res.RootCauses)
		}
		if res.Services[0].Service != "checkout" {
			t.Errorf("%v in cart's baseline: services ranked %+v, want checkout first", v, res.Services)
		}
	}
}

// Defect 5: +Inf in the window became the top finding ("+Inf cores").
func TestNonFiniteSamplesInTheWindowAreMissing(t *testing.T) {
	for _, v := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		f := piChain(1).setPoints("cpu_usage", "payments", v, minutes(2, 8)...)
		res := Analyze(f.b, defaultCatalog(), Options{})
		finiteResult(t, res)
		if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "checkout" {
			t.Fatalf("%v in payments' window: root causes %+v, want checkout first", v, res.RootCauses)
		}
		for _, a := range res.Anomalies {
			if a.Service == "payments" {
				t.Errorf("%v in payments' window made an anomaly: %s", v, a.Explanation)
			}
		}
	}
}

// Defect 5: a counter with a non-finite sample must not turn into a rate
// that is non-finite, nor into a spurious reset.
func TestNonFiniteCounterSamples(t *testing.T) {
	f := newFixture(7)
	f.add("requests_total", svc("a"), func(m int) float64 { return float64(1000 + 10*(m+60)) }, 0)
	f.b.Series[0].Signal = ""
	for _, m := range []int{-50, -20, 5} {
		f.b.Series[0].Values[m+60] = math.Inf(1)
	}
	sigs := prepare(f.b, defaultCatalog())
	if len(sigs) != 1 || !sigs[0].isRate {
		t.Fatalf("want one counter made a rate, got %+v", sigs)
	}
	for _, p := range append(sigs[0].base.points(), sigs[0].win.points()...) {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) || math.Abs(p.V-10.0/60) > 1e-9 {
			t.Errorf("rate at %v = %v, want 1/6 per second", p.T, p.V)
		}
	}
}

// Huge but finite samples must not overflow into a NaN score either.
func TestHugeFiniteSamples(t *testing.T) {
	f := piChain(1).
		setPoints("memory_working_set", "cart", math.MaxFloat64, minutes(-60, -30)...).
		setPoints("memory_working_set", "cart", -math.MaxFloat64, minutes(-30, -10)...).
		setPoints("cpu_usage", "payments", -math.MaxFloat64, minutes(2, 8)...)
	res := Analyze(f.b, defaultCatalog(), Options{})
	finiteResult(t, res)
	if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "checkout" {
		t.Fatalf("root causes %+v, want checkout first", res.RootCauses)
	}
}

// Defect 5: the orders are total; a NaN score, should one reach them, sorts last.
func TestSortWithNaNScoreLast(t *testing.T) {
	fs := []Finding{{Service: "a", Score: 1}, {Service: "b", Score: math.NaN()}, {Service: "c", Score: 3}, {Service: "d", Score: 2}}
	sortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Service)
	}
	if strings.Join(got, "") != "cdab" {
		t.Errorf("sortFindings order = %v, want c d a b (NaN last)", got)
	}
}
