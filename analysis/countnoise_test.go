package analysis

import (
	"math"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// anomalyOf is the analysis' finding on the named service, if any.
func anomalyOf(res Result, service string) *Finding {
	for i, a := range res.Anomalies {
		if a.Service == service {
			return &res.Anomalies[i]
		}
	}
	return nil
}

// Issue 13: a count off a flat-zero baseline must not outrank real
// movement. An event a minute for three minutes where an hour saw none is
// within the chance spread of a rate that low, not a thousand deviations
// (as it was measured against a spread of nothing); a CPU that doubled is
// news, and ranks above it.
func TestFlatZeroCountDoesNotOutrankRealMovement(t *testing.T) {
	cumulative := func(m int) float64 { return float64(min(max(m-9, 0), 3)) } // +1 a minute, minutes 10-12
	for _, tc := range []struct {
		name   string
		count  shape
		metric string
	}{
		{"a count per sample", pulse(10, 13, 1), "jobs_failed_total"},
		{"a counter of whole events, rated", cumulative, "jobs_failed_total"},
		// Whole numbers off a baseline of zeros that vary, or that hold
		// no longer than two samples, under a name that says nothing (not
		// even that it counts): read as a count.
		{"whole numbers off zeros that vary, a name that says nothing", func(m int) float64 { return map[int]float64{10: 2, 11: 1, 12: 2, 13: 1, 14: 2}[m] }, "m_4c1f0e2a"},
		{"one value off zeros for two samples, a name that says nothing", pulse(10, 12, 1), "m_4c1f0e2a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(5).
				uncatalogued(tc.metric, svc("alpha"), tc.count).
				add("cpu_usage", svc("zulu"), stepAt(10, 0.3, 0.6), 0.03)
			res := Analyze(f.b, defaultCatalog(), Options{})
			zulu := anomalyOf(res, "zulu")
			if zulu == nil {
				t.Fatal("the doubled CPU is not anomalous")
			}
			if a := anomalyOf(res, "alpha"); a != nil && a.Score >= zulu.Score {
				t.Errorf("three events off a flat zero score %.3g, the doubled CPU %.3g", a.Score, zulu.Score)
			}
			if len(res.RootCauses) == 0 || res.RootCauses[0].Service != "zulu" {
				t.Errorf("root causes %+v, want zulu (its CPU doubled) first", res.RootCauses)
			}
		})
	}
}

// A count that rose a little for a long time is news by its sum: one
// event a minute for fifteen minutes, where an hour saw none, is no
// sample's outlier (each is one event) but fifteen events where chance
// gives under one.
//
// The same holds for a count whose name says nothing of which way is
// worse: off a baseline of zeros a count can only rise.
func TestSustainedSmallCountRise(t *testing.T) {
	// One event in two minutes of three, from minute 10 to 24: no sample
	// stands out, and no value holds (it is no state).
	twoOfThree := func(m int) float64 {
		if m < 10 || m >= 25 || m%3 == 0 {
			return 0
		}
		return 1
	}
	for _, tc := range []struct {
		metric string
		count  shape
	}{
		{"jobs_failed_total", pulse(10, 25, 1)},
		{"m_5b0e77d2", twoOfThree},
	} {
		res := Analyze(newFixture(6).uncatalogued(tc.metric, svc("worker"), tc.count).b, defaultCatalog(), Options{})
		w := anomalyOf(res, "worker")
		if w == nil || w.Score < AnomalyRatio {
			t.Errorf("%s: a sustained rise of an event or two a minute is not anomalous: %+v", tc.metric, w)
			continue
		}
		if w.Onset.Sub(t0).Minutes() != 10 {
			t.Errorf("%s: onset %s, want the run's start, minute 10", tc.metric, w.Onset)
		}
	}
}

// countRun finds the run of samples with the most events beyond chance;
// a burst in one sample counts nothing when the caller asks for a
// sustained change.
func TestCountRun(t *testing.T) {
	tests := []struct {
		name      string
		vals      []float64
		sustained bool
		k         float64
		start     int
		end       int
	}{
		{"a run", []float64{0, 0, 2, 1, 2, 0, 0}, false, 5, 2, 4},
		{"a burst", []float64{0, 0, 9, 0, 0, 0}, false, 9, 2, 2},
		{"a burst, sustained", []float64{0, 0, 9, 0, 0, 0}, true, 0, 2, 2},
		{"a run, sustained", []float64{0, 3, 3, 0}, true, 6, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _, start, end := countRun(tt.vals, 1, 0.1, tt.sustained)
			if k != tt.k || start != tt.start || end != tt.end {
				t.Errorf("countRun = %v events at %d..%d, want %v at %d..%d", k, start, end, tt.k, tt.start, tt.end)
			}
		})
	}
	if z := anscombe(20, 1); z < 6 || z > 7.5 {
		t.Errorf("twenty events where one was expected: %.2f deviations, want about 6.9", z)
	}
	if z := anscombe(1, 1); z > 0.5 {
		t.Errorf("one event where one was expected: %.2f deviations, want about 0", z)
	}
}

// Counts are whole numbers of events: a rate recorded under a counter's
// name is not read as a count of events, and log counts per minute in
// buckets of two minutes count half-lines per minute.
func TestEventUnit(t *testing.T) {
	pts := func(vs ...float64) samples {
		var out []telemetry.Point
		for i, v := range vs {
			out = append(out, telemetry.Point{T: t0.Add(time.Duration(2*i) * time.Minute), V: v})
		}
		return samplesFrom(out)
	}
	pts30 := func(vs ...float64) samples {
		var out []telemetry.Point
		for i, v := range vs {
			out = append(out, telemetry.Point{T: t0.Add(time.Duration(30*i) * time.Second), V: v})
		}
		return samplesFrom(out)
	}
	tests := []struct {
		name string
		sig  signal
		want float64
	}{
		{"count per sample", signal{perSample: true, base: pts(0, 1, 2), win: pts(4, 0)}, 1},
		{"a rate under a counter's name", signal{perSample: true, base: pts(0, 0.25, 2), win: pts(4, 0)}, 0},
		{"log lines per minute, two-minute buckets", signal{fromLogs: true, base: pts(0, 0.5, 1.5), win: pts(2, 0.5)}, 0.5},
		{"LogQL count over [1m] at a 30 s step", signal{fromLogs: true, base: pts30(0, 1, 3), win: pts30(2, 5)}, 1},
		{"a counter's rate", signal{isRate: true, perSample: true, base: pts(0, 1), win: pts(1, 2)}, 0},
		{"a level", signal{base: pts(1, 2), win: pts(3, 4)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sig.counting().event; got != tt.want {
				t.Errorf("counting().event = %v, want %v", got, tt.want)
			}
		})
	}
}

// Lines at a verbose level report activity, as requests do (traffic: they
// explain no caller); warnings and errors do not.
func TestActivityLevelsAreTraffic(t *testing.T) {
	cat := defaultCatalog()
	b := newFixture(7).b
	for _, tt := range []struct {
		level   string
		traffic bool
	}{{"DEBUG", true}, {"info", true}, {"WARNING", false}, {"ERROR", false}, {"", false}} {
		s := telemetry.Series{Metric: "log_lines_count", Labels: svc("nova", "level", tt.level)}.WithPoints([]telemetry.Point{{T: t0, V: 1}}...)
		if tt.level == "" {
			s.Labels = svc("nova")
		}
		if got := prepareOne(s, b, cat, map[kindKey]kindInfo{}).traffic; got != tt.traffic {
			t.Errorf("level %q: traffic = %v, want %v", tt.level, got, tt.traffic)
		}
	}
}

// A line counted in four samples (LogQL's count_over_time over [1m] at a
// 15 s step) is one line, not four: two lines score as they do counted
// once a minute.
func TestOverlappingLogCountsAreNotInflated(t *testing.T) {
	series := func(step time.Duration, perLine int) (base, win samples) {
		var b, w []telemetry.Point
		for at := -60 * time.Minute; at < 0; at += step {
			b = append(b, telemetry.Point{T: t0.Add(at), V: 0})
		}
		for i, at := 0, time.Duration(0); at < 10*time.Minute; i, at = i+1, at+step {
			v := 0.0
			if at >= 5*time.Minute && i < int(5*time.Minute/step)+perLine {
				v = 2
			}
			w = append(w, telemetry.Point{T: t0.Add(at), V: v})
		}
		return samplesFrom(b), samplesFrom(w)
	}
	b1, w1 := series(time.Minute, 1)
	b15, w15 := series(15*time.Second, 4)
	quarter := signal{fromLogs: true, ownStep: 15 * time.Second, base: b15, win: w15}
	c := quarter.counting()
	if c.event != 1 || c.every != 4 {
		t.Fatalf("a log count at a 15 s step: %+v, want one line read as 1, one sample in four scored", c)
	}
	once := scoreOne(signal{fromLogs: true, ownStep: time.Minute, base: b1, win: w1}, telemetry.Window{}, &scratch{})
	four := scoreOne(quarter, telemetry.Window{}, &scratch{})
	if !once.ok || !four.ok {
		t.Fatal("not scored")
	}
	if math.Abs(four.score-once.score) > 0.25*once.score+0.01 || four.anomalous != once.anomalous {
		t.Errorf("two lines counted in four 15 s samples score %.3g (anomalous %v), counted once a minute %.3g (%v)", four.score, four.anomalous, once.score, once.anomalous)
	}
}

// A count that is zero in the baseline and the window is no news.
func TestZeroCountScoresZero(t *testing.T) {
	zeros := func(n int) samples {
		var pts []telemetry.Point
		for i := range n {
			pts = append(pts, telemetry.Point{T: t0.Add(time.Duration(i) * time.Minute), V: 0})
		}
		return samplesFrom(pts)
	}
	sc, ok := scoreSeriesBuf(zeros(60), zeros(30), catalog.Up, 0, count{event: 1}, &scratch{})
	if !ok || sc.score != 0 {
		t.Errorf("all zeros score %v (ok %v), want 0", sc.score, ok)
	}
}

// Whole numbers off a baseline that is not zero are a level of something
// (processes, replicas, threads), not events: three that became five, and
// stayed, is news however unknown the name.
func TestWholeNumberLevelIsALevel(t *testing.T) {
	f := newFixture(5).uncatalogued("m_77aa", svc("alpha"), stepAt(10, 3, 5))
	res := Analyze(f.b, defaultCatalog(), Options{})
	if a := anomalyOf(res, "alpha"); a == nil || a.Score < AnomalyRatio {
		t.Errorf("a level of whole numbers that went 3 -> 5 is not anomalous: %+v", a)
	}
}

// A value off a baseline of zeros that holds, unchanged, for longer than
// the onset tolerance is a state (a pod waiting in CrashLoopBackOff, a
// circuit breaker open, a filesystem gone read-only), not a count of
// events, whatever its name says: raised for five minutes it is news.
// Held for three samples, just past the tolerance, it is a state already.
func TestHeldFlagIsAState(t *testing.T) {
	for _, tc := range []struct {
		metric  string
		minutes int
	}{
		{"kube_pod_container_status_waiting_reason", 5},
		{"resilience4j_circuitbreaker_state", 5},
		{"m_9e3d0c11", 5},
		{"m_9e3d0c11", 3},
	} {
		f := newFixture(5).
			uncatalogued(tc.metric, svc("checkout"), pulse(10, 10+tc.minutes, 1)).
			add("cpu_usage", svc("zulu"), stepAt(0, 0.3, 0.3), 0.03)
		res := Analyze(f.b, defaultCatalog(), Options{})
		if a := anomalyOf(res, "checkout"); a == nil || a.Score < AnomalyRatio {
			t.Errorf("%s: a flag raised for %d minutes is not anomalous: %+v", tc.metric, tc.minutes, a)
		}
	}
}

// Whole numbers below zero off a baseline of zeros (a delta, a balance)
// are no count: they fell, and that is news.
func TestNegativeWholeNumbersOffZeros(t *testing.T) {
	for _, metric := range []string{"m_3f1a", "jobs_delta_count"} {
		f := newFixture(5).uncatalogued(metric, svc("alpha"), func(m int) float64 {
			if m < 10 {
				return 0
			}
			return -float64(1 + m%3)
		})
		res := Analyze(f.b, defaultCatalog(), Options{})
		if a := anomalyOf(res, "alpha"); a == nil || a.Score < AnomalyRatio {
			t.Errorf("%s: whole numbers that fell below zero are not anomalous: %+v", metric, a)
		}
	}
}
