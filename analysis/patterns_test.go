package analysis

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo/demotest"
	"github.com/rca-tool/rca/internal/golden"
	"github.com/rca-tool/rca/telemetry"
)

// TestMinePatternsDeterministic: the same bundle with its lines in another
// order gives the same templates and ids: they are mined per service and
// level, by time.
func TestMinePatternsDeterministic(t *testing.T) {
	bundle := demotest.PiDigits(t)
	want := minePatterns(indexLogs(bundle, defaultCatalog()))
	shuffled := bundle
	shuffled.Logs = slices.Clone(bundle.Logs)
	rand.New(rand.NewPCG(3, 3)).Shuffle(len(shuffled.Logs), func(i, j int) {
		shuffled.Logs[i], shuffled.Logs[j] = shuffled.Logs[j], shuffled.Logs[i]
	})
	got := minePatterns(indexLogs(shuffled, defaultCatalog()))
	if len(got) != len(want) {
		t.Fatalf("%d templates, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].tmpl.ID != want[i].tmpl.ID || got[i].tmpl.Text != want[i].tmpl.Text || got[i].win != want[i].win || got[i].base != want[i].base {
			t.Errorf("template %d: %s %q, want %s %q", i, got[i].tmpl.ID, got[i].tmpl.Text, want[i].tmpl.ID, want[i].tmpl.Text)
		}
	}
}

// TestDemoPatternsGolden pins the templates of the demo incident's logs and
// the ones that are new or surging in its window.
func TestDemoPatternsGolden(t *testing.T) {
	b := demotest.PiDigits(t)
	cat := defaultCatalog()
	ix := indexLogs(b, cat)
	mined := minePatterns(ix)
	sigs := prepare(b, cat)
	g := buildGraph(b.Edges, sigs)
	var out strings.Builder
	fmt.Fprintf(&out, "# %d lines, %d templates: service level id baseline window template\n", len(ix.lines), len(mined))
	for _, p := range mined {
		fmt.Fprintf(&out, "%s %s %s %d %d %s\n", p.service, orDash(p.level), p.tmpl.ID, p.base, p.win, p.tmpl.Text)
	}
	out.WriteString("\n# notable: service id new signal layer callee onset until baseline window\n")
	for _, n := range notablePatterns(ix, mined, b, cat, calleeCandidates(g, knownServices(sigs, ix, g))) {
		fmt.Fprintf(&out, "%s %s new=%v %s %s %s %s %s %d %d weak=%v\n", n.service, n.ID, n.New, orDash(n.SignalID), n.Layer, orDash(n.Callee),
			n.Onset.Format("15:04"), n.Until.Format("15:04"), n.BaselineCount, n.WindowCount, n.weak)
		for _, e := range n.Examples {
			fmt.Fprintf(&out, "  e.g. %s\n", e)
		}
		fmt.Fprintf(&out, "  query %s\n", n.Query)
	}
	golden.Assert(t, filepath.Join("testdata", "patterns", "pi-digits.golden"), []byte(out.String()))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// logs adds perMin lines a minute from minute from (inclusive) to to
// (exclusive), relative to the window start, spread evenly in the minute.
func (f *fixture) logs(labels telemetry.Labels, from, to, perMin int, line func(i int) string) *fixture {
	n := 0
	for m := from; m < to; m++ {
		for k := range perMin {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(k)*time.Minute/time.Duration(perMin))
			f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: at, Labels: labels, Line: line(n)})
			n++
		}
	}
	return f
}

func lvl(service, level string) telemetry.Labels {
	return telemetry.Labels{"service": service, "level": level}
}

// notable runs the pattern analysis on a fixture's bundle.
func notable(f *fixture) []notablePattern {
	cat := defaultCatalog()
	ix := indexLogs(f.b, cat)
	sigs := prepare(f.b, cat)
	g := buildGraph(f.b.Edges, sigs)
	return notablePatterns(ix, minePatterns(ix), f.b, cat, calleeCandidates(g, knownServices(sigs, ix, g)))
}

func TestPatternSignals(t *testing.T) {
	// A background every case has, steady across baseline and window.
	background := func(f *fixture) *fixture {
		return f.logs(lvl("checkout", "info"), -60, 30, 6, func(i int) string { return fmt.Sprintf("order created order_id=ord_%d items=%d", i, i%5) })
	}
	declined := func(i int) string {
		return fmt.Sprintf("charge for order ord_%d declined by provider after %dms", 1000+i, 80+i%50)
	}
	tests := []struct {
		name  string
		build func(f *fixture)
		// want is "" for no finding, else "new", "surging" or "weak".
		want  string
		onset int
	}{
		{"new", func(f *fixture) { f.logs(lvl("checkout", "error"), 5, 30, 2, declined) }, "new", 5},
		{"surging", func(f *fixture) {
			f.logs(lvl("checkout", "error"), -60, 10, 1, declined).logs(lvl("checkout", "error"), 10, 30, 8, declined)
		}, "surging", 10},
		{"steady", func(f *fixture) { f.logs(lvl("checkout", "error"), -60, 30, 2, declined) }, "", 0},
		{"rare", func(f *fixture) {
			f.logs(lvl("checkout", "error"), 5, 6, 1, declined).logs(lvl("checkout", "error"), 12, 13, 1, declined).logs(lvl("checkout", "error"), 20, 22, 1, declined)
		}, "", 0},
		{"one-minute burst", func(f *fixture) { f.logs(lvl("checkout", "error"), 7, 8, 30, declined) }, "", 0},
		{"modest rise is not a surge", func(f *fixture) {
			f.logs(lvl("checkout", "error"), -60, 10, 4, declined).logs(lvl("checkout", "error"), 10, 30, 7, declined)
		}, "", 0},
		{"new info lines are not findings", func(f *fixture) {
			f.logs(lvl("checkout", "info"), 5, 30, 2, func(i int) string { return fmt.Sprintf("receipt cache warmed with %d entries", i) })
		}, "", 0},
		{"new warnings are weak", func(f *fixture) {
			f.logs(lvl("checkout", "warn"), 5, 30, 2, func(i int) string { return fmt.Sprintf("slow request POST /api/checkout took %d.%ds", 5+i%9, i%10) })
		}, "weak", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := background(newFixture(1))
			tt.build(f)
			got := notable(f)
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("found %q (new=%v, %d -> %d lines), want nothing", got[0].Template, got[0].New, got[0].BaselineCount, got[0].WindowCount)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d notable templates, want 1", len(got))
			}
			n := got[0]
			kind := "surging"
			switch {
			case n.weak:
				kind = "weak"
			case n.New:
				kind = "new"
			}
			if kind != tt.want {
				t.Errorf("kind %s, want %s", kind, tt.want)
			}
			if want := t0.Add(time.Duration(tt.onset) * time.Minute); !n.Onset.Equal(want) {
				t.Errorf("onset %s, want %s", n.Onset.Format("15:04"), want.Format("15:04"))
			}
			if len(n.Examples) < 2 || len(n.Examples) > maxExamples {
				t.Errorf("%d examples, want 2 or 3", len(n.Examples))
			}
			if n.BaselineRate*60 != float64(n.BaselineCount) || n.WindowRate*30 < float64(n.WindowCount)-0.01 {
				t.Errorf("rates %v/min over 60m and %v/min over 30m for %d and %d lines", n.BaselineRate, n.WindowRate, n.BaselineCount, n.WindowCount)
			}
		})
	}
}

func TestPatternLayers(t *testing.T) {
	tests := []struct {
		name, service, level, line string
		signal                     string
		layer                      catalog.Layer
		callee                     string
	}{
		{"timeout naming the callee", "gateway", "error", "upstream checkout timed out after %ds", "log_timeouts", catalog.LayerPropagation, "checkout"},
		{"timeout naming a pod", "gateway", "error", "upstream timed out reading from checkout-5ff676694b-fzj9z after %ds", "log_timeouts", catalog.LayerPropagation, "checkout"},
		{"deadline at warning level", "checkout", "warn", "call to payments failed: context deadline exceeded after %dms", "log_timeouts", catalog.LayerPropagation, "payments"},
		{"connection refused", "payments", "error", "dial tcp payments-db:5432: connect: connection refused (attempt %d)", "log_connection_refused", catalog.LayerPropagation, "payments-db"},
		{"out of memory before panic", "checkout", "error", "fatal error: runtime: out of memory allocating %d bytes", "log_out_of_memory", catalog.LayerResource, ""},
		{"panic", "checkout", "error", "panic: runtime error: index out of range [%d] with length 3", "log_panics", catalog.LayerSymptom, ""},
		{"plain error", "checkout", "error", "failed to render receipt for order %d", "log_errors", catalog.LayerSymptom, ""},
		{"naming a service that is not a callee", "gateway", "error", "failed to reach payments after %d tries", "log_errors", catalog.LayerSymptom, ""},
		{"naming itself", "checkout", "error", "checkout worker %d crashed", "log_errors", catalog.LayerSymptom, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(1).edge("gateway", "checkout").edge("checkout", "payments").edge("payments", "payments-db")
			f.logs(lvl(tt.service, "info"), -60, 30, 2, func(i int) string { return fmt.Sprintf("heartbeat %d ok", i) })
			f.logs(lvl(tt.service, tt.level), 8, 30, 3, func(i int) string { return fmt.Sprintf(tt.line, 10+i) })
			got := notable(f)
			if len(got) != 1 {
				t.Fatalf("%d notable templates, want 1", len(got))
			}
			n := got[0]
			if n.SignalID != tt.signal || n.Layer != tt.layer || n.Callee != tt.callee {
				t.Errorf("%q: signal %s, layer %s, callee %q; want %s, %s, %q", n.Template, n.SignalID, n.Layer, n.Callee, tt.signal, tt.layer, tt.callee)
			}
		})
	}
}

func TestNamesService(t *testing.T) {
	tests := []struct {
		line, service string
		want          bool
	}{
		{"upstream=checkout method=POST", "checkout", true},
		{`upstream: "http://checkout:8080/api/checkout"`, "checkout", true},
		{"GET /api/checkout 504", "checkout", true},
		{"pod checkout-5ff676694b-fzj9z restarted", "checkout", true},
		{"checkouts are slow", "checkout", false},
		{"precheckout done", "checkout", false},
		{"dial payments-db:5432", "payments", false},
		{"dial payments-db:5432", "payments-db", true},
		{"cart_items=3", "cart", false},
		{"", "cart", false},
	}
	for _, tt := range tests {
		if got := namesService(tt.line, tt.service); got != tt.want {
			t.Errorf("namesService(%q, %q) = %v, want %v", tt.line, tt.service, got, tt.want)
		}
	}
}

func TestCleanLine(t *testing.T) {
	long := strings.Repeat("é", maxExampleRunes+10)
	tests := []struct{ in, want string }{
		{"plain line", "plain line"},
		{"two\nlines\r\n", "two lines"},
		{"esc\x1b[31m red\x07", "esc [31m red"},
		{"bidi \u202eevil\u202c", "bidi  evil"},
		{"bad \xff utf8", "bad   utf8"},
		{long, strings.Repeat("é", maxExampleRunes) + "…"},
	}
	for _, tt := range tests {
		if got := cleanLine(tt.in); got != tt.want {
			t.Errorf("cleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// gatewayTimeouts adds the gateway's "upstream timed out" lines from minute
// 12 to a piChain fixture, over access-log noise.
func withGatewayLogs(f *fixture) *fixture {
	return f.
		logs(lvl("gateway", "info"), -60, 30, 10, func(i int) string {
			return fmt.Sprintf(`10.0.0.%d - - "GET /api/products/%d HTTP/1.1" 200 %d rt=0.0%d`, i%250, 1000+i, 200+i%4000, i%10)
		}).
		logs(lvl("gateway", "error"), 12, 30, 6, func(i int) string {
			return fmt.Sprintf(`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://checkout:8080/api/checkout", request_id=%032x`, 7919*i+1)
		})
}

// TestAnalyzePatternEvidence: the gateway's timeout template is the
// evidence of its timeout-rate finding (not a second finding on the same
// lines), gives it its callee, and shows in the chain's propagation link.
func TestAnalyzePatternEvidence(t *testing.T) {
	res := Analyze(withGatewayLogs(piChain(1)).b, defaultCatalog(), Options{})
	var rate *Finding
	for i, f := range res.Anomalies {
		if f.SignalID == patternSignalID && f.Service == "gateway" {
			t.Errorf("a pattern finding counts the lines of the timeout rate again: %s", f.Explanation)
		}
		if f.SignalID == "log_timeouts" && f.Service == "gateway" {
			rate = &res.Anomalies[i]
		}
	}
	if rate == nil {
		t.Fatal("no gateway timeout-rate finding")
	}
	if rate.Callee != "checkout" || rate.Signal != "timeout log lines to checkout" {
		t.Errorf("rate finding %q calls %q, want checkout", rate.Signal, rate.Callee)
	}
	if len(rate.Patterns) != 1 || !strings.HasPrefix(rate.Patterns[0].Template, "upstream timed out") || !rate.Patterns[0].New {
		t.Fatalf("rate finding patterns = %+v", rate.Patterns)
	}
	p := rate.Patterns[0]
	if p.WindowCount != 18*6 || p.BaselineCount != 0 || len(p.Examples) != maxExamples || !strings.Contains(p.Query, "|~") {
		t.Errorf("pattern evidence = %+v", p)
	}
	if want := "symptom@gateway <- propagation@gateway <- resource@checkout <- change@checkout"; layers(res.Chain) != want {
		t.Fatalf("chain = %s, want %s", layers(res.Chain), want)
	}
	link := res.Chain[1]
	if len(link.Patterns) == 0 || link.Patterns[0].ID != p.ID {
		t.Errorf("the propagation link (%s) does not show the timeout template: %+v", link.Signal, link.Patterns)
	}
	seen := map[string]int{}
	for _, l := range res.Chain {
		for _, lp := range l.Patterns {
			seen[lp.ID]++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("template %s shows on %d links", id, n)
		}
	}
	if res.Stats.LogPatterns != 2 {
		t.Errorf("stats: %d templates, want 2", res.Stats.LogPatterns)
	}
}

// TestAnalyzeCorroboration: when the chain's link is a metric, the
// template of the same service, layer and time is put beside it.
func TestAnalyzeCorroboration(t *testing.T) {
	chain := []Finding{
		{Service: "gateway", Layer: catalog.LayerSymptom, Onset: t0.Add(13 * time.Minute)},
		{Service: "gateway", Layer: catalog.LayerPropagation, Callee: "checkout", Onset: t0.Add(12 * time.Minute), Until: t0.Add(29 * time.Minute)},
		{Service: "checkout", Layer: catalog.LayerResource, Onset: t0.Add(11 * time.Minute)},
		{Service: "checkout", Layer: catalog.LayerChange, Change: &telemetry.Change{}},
	}
	pats := map[string][]LogPattern{
		"gateway": {
			{ID: "to-cart", Layer: catalog.LayerPropagation, Callee: "cart", Onset: t0.Add(12 * time.Minute), Until: t0.Add(29 * time.Minute)},
			{ID: "earlier", Layer: catalog.LayerPropagation, Onset: t0.Add(-50 * time.Minute), Until: t0.Add(-40 * time.Minute)},
			{ID: "timeouts", Layer: catalog.LayerPropagation, Callee: "checkout", Onset: t0.Add(12 * time.Minute), Until: t0.Add(29 * time.Minute)},
			{ID: "errors", Layer: catalog.LayerSymptom, Onset: t0.Add(13 * time.Minute), Until: t0.Add(29 * time.Minute)},
		},
		"checkout": {{ID: "oom", Layer: catalog.LayerResource, Onset: t0.Add(11 * time.Minute), Until: t0.Add(20 * time.Minute)}},
	}
	got := corroborate(chain, pats, time.Minute)
	var ids []string
	for _, f := range got {
		var l []string
		for _, p := range f.Patterns {
			l = append(l, p.ID)
		}
		ids = append(ids, strings.Join(l, "+"))
	}
	if want := []string{"errors", "timeouts", "oom", ""}; !reflect.DeepEqual(ids, want) {
		t.Errorf("patterns per link = %q, want %q", ids, want)
	}
}

// TestAnalyzeHiddenNewPattern: a new error template inside a steady, noisy
// error rate is a finding of its own, since the rate does not show it.
func TestAnalyzeHiddenNewPattern(t *testing.T) {
	f := piChain(1)
	r := rand.New(rand.NewPCG(9, 9))
	for m := -60; m < 30; m++ {
		n := 4 + r.IntN(9)
		f.logs(lvl("payments", "error"), m, m+1, n, func(i int) string { return fmt.Sprintf("provider %d returned HTTP 502 for capture", i%3) })
	}
	f.logs(lvl("payments", "error"), 9, 30, 1, func(i int) string {
		return fmt.Sprintf("idempotency key reused for order ord_%d with a different amount", 5000+i)
	})
	res := Analyze(f.b, defaultCatalog(), Options{})
	var found *Finding
	for i, a := range res.Anomalies {
		if a.Service == "payments" && a.SignalID == "log_errors" {
			t.Errorf("the error rate itself is anomalous (score %v); the test needs it steady", a.Score)
		}
		if a.Service == "payments" && a.SignalID == patternSignalID {
			found = &res.Anomalies[i]
		}
	}
	if found == nil {
		t.Fatal("no pattern finding for the new error template")
	}
	if found.Layer != catalog.LayerSymptom || found.Source != "logs" || found.Signal != "new log pattern" ||
		len(found.Patterns) != 1 || !strings.HasPrefix(found.Patterns[0].Template, "idempotency key reused") {
		t.Errorf("finding = %+v", *found)
	}
	if !strings.Contains(found.Explanation, "none in the baseline") {
		t.Errorf("explanation %q", found.Explanation)
	}
	if res.Services[0].Service != "checkout" || res.RootCauses[0].Service != "checkout" {
		t.Errorf("top root cause %s; a new payments error must not outrank the checkout deploy", res.RootCauses[0].Service)
	}
}

func TestAnalyzeLogsDeterministic(t *testing.T) {
	b := withGatewayLogs(piChain(1)).b
	want := Analyze(b, defaultCatalog(), Options{})
	b.Logs = slices.Clone(b.Logs)
	slices.Reverse(b.Logs)
	if got := Analyze(b, defaultCatalog(), Options{}); !reflect.DeepEqual(got, want) {
		t.Error("the order of the log lines changed the result")
	}
}
