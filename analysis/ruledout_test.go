package analysis

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// clk is a time of the fixtures' day (their window runs 14:00 to 14:30).
func clk(hms string) time.Time {
	t, err := time.Parse(time.TimeOnly, hms)
	if err != nil {
		panic(err)
	}
	return time.Date(t0.Year(), t0.Month(), t0.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// anom is an anomalous finding of a series named after the service and signal.
func anom(svc, signal string, layer catalog.Layer, score float64, onset, until time.Time, base, obs float64) Finding {
	return Finding{
		Service: svc, Signal: signal, Layer: layer, Score: score, Onset: onset, Until: until,
		BaselineValue: base, ObservedValue: obs, SeriesID: svc + "/" + signal, Source: "metrics",
	}
}

func deploy(svc string, t time.Time) telemetry.Change {
	return telemetry.Change{T: t, Service: svc, Kind: telemetry.ChangeDeploy, Summary: "deploy " + svc + " v2"}
}

// ruleCase builds a ruleInput the way the stages leave a run: anomalies
// strongest first on their services, a root cause with its change, the
// chain, and the call graph.
type ruleCase struct {
	anoms    []Finding
	edges    [][2]string
	rootSvc  string
	rootChg  *telemetry.Change
	chain    []Finding
	causes   []Candidate // runners-up, after the root
	unlinked []telemetry.Change
	ranges   map[string]valueRange
	linked   map[string]telemetry.Change // other services' linked changes
	infra    []string
	unseen   []string // services without telemetry
	views    map[string]*outside
}

func (c ruleCase) input() ruleInput {
	sortFindings(c.anoms)
	in := ruleInput{
		anoms:    c.anoms,
		unlinked: c.unlinked,
		states:   map[string]*serviceState{},
		window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
		lookback: 2 * time.Hour,
		tol:      time.Minute,
		observed: map[string]bool{},
		skew:     func(Finding) time.Duration { return 30 * time.Second },
		ranges:   c.ranges,
	}
	var edges []telemetry.Edge
	for _, e := range c.edges {
		edges = append(edges, telemetry.Edge{Caller: e[0], Callee: e[1]})
	}
	in.g = buildGraph(edges, nil)
	st := func(s string) *serviceState {
		if in.states[s] == nil {
			in.states[s] = &serviceState{name: s}
			in.observed[s] = true
		}
		return in.states[s]
	}
	for _, f := range c.anoms {
		s := st(f.Service)
		if len(s.anomalous) == 0 || f.Onset.Before(s.onset) {
			s.onset = f.Onset
		}
		s.anomalous = append(s.anomalous, f)
	}
	for _, s := range c.infra {
		st(s).infra = true
	}
	for s, v := range c.views {
		st(s).view = v
	}
	link := func(ch telemetry.Change) Finding {
		f := Finding{Service: ch.Service, Signal: ch.Summary, Layer: catalog.LayerChange, Onset: ch.T, Change: &ch, Source: "changes"}
		st(ch.Service).change = &linkedChange{finding: f}
		return f
	}
	root := Candidate{Rank: 1, Service: c.rootSvc, Score: 20}
	if c.rootChg != nil {
		root.Finding = link(*c.rootChg)
	} else if s := in.states[c.rootSvc]; s != nil {
		root.Finding = s.anomalous[0]
	}
	for _, ch := range c.linked {
		link(ch)
	}
	for _, s := range c.unseen {
		delete(in.observed, s)
	}
	in.causes = append([]Candidate{root}, c.causes...)
	in.chain = c.chain
	return in
}

// numbersQuoted checks that Why quotes every duration among its numbers:
// a reason must say what its numbers say.
func numbersQuoted(t *testing.T, ro RuledOut) {
	t.Helper()
	for k, v := range ro.Numbers {
		if strings.HasSuffix(k, "_seconds") && v != 0 && !strings.Contains(ro.Why, units.Duration(time.Duration(v*float64(time.Second)))) {
			t.Errorf("%s: why %q does not quote %s = %s", ro.Hypothesis, ro.Why, k, units.Duration(time.Duration(v*float64(time.Second))))
		}
	}
}

func TestRuleOut(t *testing.T) {
	cpu := anom("checkout", "CPU usage", catalog.LayerResource, 280, clk("14:03:00"), clk("14:29:30"), 0.3, 1.95)
	errs := anom("gateway", "5xx ratio", catalog.LayerSymptom, 135, clk("14:04:30"), clk("14:29:30"), 0.005, 0.38)
	chg := deploy("checkout", clk("14:02:00"))
	chain := []Finding{errs, cpu, {Service: "checkout", Layer: catalog.LayerChange, Change: &chg, Onset: chg.T}}
	base := func(extra ...Finding) ruleCase {
		return ruleCase{
			anoms:   append([]Finding{cpu, errs}, extra...),
			edges:   [][2]string{{"gateway", "checkout"}, {"checkout", "payments"}, {"gateway", "catalog"}},
			rootSvc: "checkout", rootChg: &chg, chain: chain,
		}
	}
	blipOf := anom("catalog", "goroutines", catalog.LayerResource, 9.5, clk("13:53:30"), clk("13:54:00"), 143, 278)
	payLate := anom("payments", "request rate", catalog.LayerSymptom, 2.8, clk("14:05:00"), clk("14:29:30"), 11.4, 9.3)
	dbLate := anom("payments-db", "commit rate", catalog.LayerResource, 1.6, clk("14:13:00"), clk("14:17:30"), 90, 76)
	cartMem := anom("cart", "memory working set", catalog.LayerResource, 1.7, clk("13:57:30"), clk("13:58:30"), 445e6, 473e6)
	cartMem.Unit = "bytes"
	cartBlip := anom("cart", "memory working set", catalog.LayerResource, 1.7, clk("13:57:30"), clk("13:57:30"), 445e6, 473e6)
	cartBlip.Unit = "bytes"

	tests := []struct {
		name  string
		c     ruleCase
		want  []string // hypothesis: why (a regular expression) for each ruled out, in order
		nums  map[string]float64
		chart bool // the first has a finding to chart
	}{
		{
			name: "a deploy followed by nothing",
			c: func() ruleCase {
				c := base()
				c.unlinked = []telemetry.Change{deploy("search", clk("13:40:00"))}
				return c
			}(),
			want: []string{`deploy search v2 at 13:40:00: nothing moved on search in the 2h after it`},
			nums: map[string]float64{"lookback_seconds": 7200},
		},
		{
			name: "a deploy of a service without telemetry whose callers stayed normal",
			c: func() ruleCase {
				c := base()
				c.unlinked = []telemetry.Change{deploy("db", clk("13:40:00"))}
				c.edges = append(c.edges, [2]string{"catalog", "db"})
				return c
			}(),
			want: []string{`deploy db v2 at 13:40:00: db has no telemetry of its own, and nothing moved on its callers \(catalog\) in the 2h after it`},
			nums: map[string]float64{"lookback_seconds": 7200},
		},
		{
			name: "a deploy after the incident started",
			c: func() ruleCase {
				c := base()
				c.unlinked = []telemetry.Change{deploy("catalog", clk("14:08:00"))}
				return c
			}(),
			want: []string{`deploy catalog v2 at 14:08:00: it came 5m after CPU usage on checkout started \(14:03:00\): a change after the start cannot have caused it`},
			nums: map[string]float64{"after_start_seconds": 300},
		},
		{
			name: "a runner-up deploy followed only by a blip",
			c: func() ruleCase {
				c := base(blipOf)
				cd := deploy("catalog", clk("13:53:10"))
				c.causes = []Candidate{{Rank: 2, Service: "catalog", Score: 8.4, Finding: Finding{Service: "catalog", Layer: catalog.LayerChange, Change: &cd, Onset: cd.T}}}
				c.linked = map[string]telemetry.Change{"catalog": cd}
				return c
			}(),
			want: []string{
				`deploy catalog v2 at 13:53:10: only a 30s blip followed it: goroutines on catalog from 13:53:30 to 13:54:00, then back to normal, 9m before CPU usage on checkout started \(14:03:00\); nothing lasting moved on catalog in the 2h after it$`,
			},
			nums:  map[string]float64{"blip_seconds": 30, "over_before_start_seconds": 540, "lookback_seconds": 7200},
			chart: true,
		},
		{
			name: "a callee whose anomaly follows the root cause's",
			c:    base(payLate),
			want: []string{`payments request rate: checkout calls payments; its request rate follows CPU usage on checkout \(14:03:00\), onset 2m later: downstream, not a cause$`},
			nums: map[string]float64{"lag_seconds": 120}, chart: true,
		},
		{
			name: "the callers' view of the calls to the root cause",
			c: func() ruleCase {
				lb := anom("checkout-lb", "p99 latency", catalog.LayerSymptom, 30, clk("14:03:00"), clk("14:29:30"), 0.05, 1.05)
				lb.Unit = "seconds"
				own := cpu
				own.Signal, own.Unit, own.BaselineValue, own.ObservedValue = "p99 latency", "seconds", 0.04, 0.99
				c := base(lb)
				c.edges = append(c.edges, [2]string{"gateway", "checkout-lb"})
				c.views = map[string]*outside{"checkout-lb": {of: "checkout", own: lb, theirs: own}}
				return c
			}(),
			want: []string{`checkout-lb p99 latency: what its callers see of their calls to checkout: its p99 latency rose by 1s as checkout's p99 latency did by 950ms, together \(14:03:00\): checkout's own view is the origin$`},
			nums: map[string]float64{"shift": 1, "origin_shift": 0.95}, chart: true,
		},
		{
			name: "an anomaly with no call path that started later",
			c:    base(dbLate),
			want: []string{`payments-db commit rate: its commit rate started at 14:13:00, 10m after CPU usage on checkout \(14:03:00\): later than the incident's start, not its cause`},
			nums: map[string]float64{"lag_seconds": 600}, chart: true,
		},
		{
			name: "an anomaly whose typical value stayed inside the baseline's range",
			c: func() ruleCase {
				c := base(cartMem)
				c.ranges = map[string]valueRange{cartMem.SeriesID: {430e6, 480e6}}
				return c
			}(),
			want: []string{`cart memory working set: memory working set rose 6.3 % \(424 MiB to 451 MiB\), inside its baseline range \(410 MiB to 458 MiB\)`},
			nums: map[string]float64{"change_percent": 6.3, "baseline_min": 430e6, "baseline_max": 480e6, "observed": 473e6}, chart: true,
		},
		{
			name: "a one-sample blip before the incident",
			c:    base(cartBlip),
			want: []string{`cart memory working set: a one-sample blip: memory working set rose 6.3 % \(424 MiB to 451 MiB\) from 13:57:30 to 13:57:30, then back to normal, 5m30s before CPU usage on checkout \(14:03:00\)$`},
			nums: map[string]float64{"blip_seconds": 0, "over_before_start_seconds": 330}, chart: true,
		},
		{
			name: "an anomaly far weaker than the chain's link of its layer",
			c:    base(cartMem),
			want: []string{`cart memory working set: 1.7x beyond its baseline's variation, against 280x for CPU usage on checkout in the chain`},
			nums: map[string]float64{"score": 1.7, "chain_score": 280}, chart: true,
		},
		{
			name: "an earlier deploy whose effect a later deploy explains",
			c: func() ruleCase {
				c := base(anom("catalog", "latency", catalog.LayerSymptom, 40, clk("14:01:00"), clk("14:29:30"), 0.1, 2))
				c.unlinked = []telemetry.Change{deploy("catalog", clk("13:30:00"))}
				later := deploy("catalog", clk("14:00:30"))
				later.Summary = "deploy catalog v3"
				c.linked = map[string]telemetry.Change{"catalog": later}
				return c
			}(),
			want: []string{`deploy catalog v2 at 13:30:00: what moved after it \(latency on catalog from 14:01:00\) follows the later deploy catalog v3 at 14:00:30, 30m30s after it$`},
			nums: map[string]float64{"later_change_after_seconds": 1830}, chart: true,
		},
		{
			name: "services of the chain and hosts are not rivals",
			c: func() ruleCase {
				c := base(anom("gateway", "open connections", catalog.LayerResource, 4, clk("14:04:30"), clk("14:29:30"), 500, 800),
					anom("node:10.0.0.3", "host CPU busy", catalog.LayerResource, 5, clk("14:03:00"), clk("14:29:30"), 0.15, 0.26))
				c.infra = []string{"node:10.0.0.3"}
				return c
			}(),
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ruleOut(tc.c.input())
			var lines []string
			for _, ro := range got {
				lines = append(lines, ro.Hypothesis+": "+ro.Why)
				numbersQuoted(t, ro)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ruled out:\n%s\nwant %d", strings.Join(lines, "\n"), len(tc.want))
			}
			for i, w := range tc.want {
				if !regexp.MustCompile("^" + w).MatchString(lines[i]) {
					t.Errorf("ruled out %d:\n got %s\nwant %s", i, lines[i], w)
				}
			}
			if len(got) == 0 {
				return
			}
			for k, v := range tc.nums {
				if g, ok := got[0].Numbers[k]; !ok || g != v {
					t.Errorf("numbers[%s] = %v (%v), want %v", k, g, ok, v)
				}
			}
			if (got[0].Finding != nil) != tc.chart {
				t.Errorf("finding = %+v, want one: %v", got[0].Finding, tc.chart)
			}
		})
	}
}

// TestRuleOutBounds: at most two a layer and five in all, one per service,
// from the deepest layer up, the same every time.
func TestRuleOutBounds(t *testing.T) {
	cpu := anom("checkout", "CPU usage", catalog.LayerResource, 280, clk("14:03:00"), clk("14:29:30"), 0.3, 1.95)
	c := ruleCase{
		anoms:   []Finding{cpu},
		rootSvc: "checkout",
		chain:   []Finding{anom("gateway", "5xx ratio", catalog.LayerSymptom, 135, clk("14:04:30"), clk("14:29:30"), 0.005, 0.38), cpu},
	}
	c.anoms = append(c.anoms, c.chain[0])
	for i, s := range []string{"a", "b", "c", "d"} {
		c.anoms = append(c.anoms,
			anom(s, "CPU usage", catalog.LayerResource, 10-float64(i), clk("14:10:00").Add(time.Duration(i)*time.Minute), clk("14:29:30"), 0.1, 0.5),
			anom(s+"-web", "latency", catalog.LayerSymptom, 10-float64(i), clk("14:10:00").Add(time.Duration(i)*time.Minute), clk("14:29:30"), 0.1, 0.5))
		c.unlinked = append(c.unlinked, deploy(s, clk("13:10:00").Add(time.Duration(i)*time.Minute)))
	}
	in := c.input()
	got := ruleOut(in)
	var keys []string
	for _, ro := range got {
		keys = append(keys, string(ro.Layer)+"@"+ro.Service)
	}
	want := "change@a change@b resource@c symptom@a-web symptom@b-web"
	if strings.Join(keys, " ") != want {
		t.Fatalf("ruled out %s\nwant        %s", strings.Join(keys, " "), want)
	}
	for range 5 {
		again := ruleOut(in)
		for i := range again {
			if again[i].Why != got[i].Why {
				t.Fatalf("not deterministic: %q then %q", got[i].Why, again[i].Why)
			}
		}
	}
}

// TestRuleOutNoRootCause: with nothing ranked, the changes are still
// checked, and nothing else is.
func TestRuleOutNoRootCause(t *testing.T) {
	in := ruleInput{
		unlinked: []telemetry.Change{deploy("a", clk("14:05:00"))},
		states:   map[string]*serviceState{"a": {name: "a"}},
		observed: map[string]bool{"a": true},
		window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
		lookback: time.Hour,
		tol:      time.Minute,
	}
	got := ruleOut(in)
	if len(got) != 1 || got[0].Why != "nothing moved on a in the 1h after it" {
		t.Fatalf("ruled out %+v", got)
	}
}

// TestAnalyzeRulesOut: the whole analysis rules out the deploy that did
// nothing and charts what it checked.
func TestAnalyzeRulesOut(t *testing.T) {
	res := Analyze(piChain(1).b, defaultCatalog(), Options{})
	if len(res.RuledOut) == 0 {
		t.Fatal("nothing ruled out")
	}
	found := false
	for _, ro := range res.RuledOut {
		numbersQuoted(t, ro)
		if ro.Service == "cart" && ro.Layer == catalog.LayerChange {
			found = true
			if !strings.HasPrefix(ro.Why, "nothing moved on cart") {
				t.Errorf("cart deploy ruled out because %q", ro.Why)
			}
		}
		if ro.Finding != nil && ro.Finding.SeriesID != "" {
			if _, ok := res.Evidence[ro.Finding.SeriesID]; !ok {
				t.Errorf("%s: no evidence series %s to chart", ro.Hypothesis, ro.Finding.SeriesID)
			}
		}
		if ro.Service == "checkout" {
			t.Errorf("the root cause's service ruled out: %+v", ro)
		}
	}
	if !found {
		t.Errorf("the cart deploy is not ruled out: %+v", res.RuledOut)
	}
}
