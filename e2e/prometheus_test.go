package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/gitfixture"
	"github.com/rca-tool/rca/internal/logoracle"
	"github.com/rca-tool/rca/telemetry"
)

var update = flag.Bool("update", false, "re-record testdata/incidents/pi-digits from the real Prometheus with rca snapshot")

// bundledDemo is the demo incident shipped with rca, recorded from a real
// Prometheus by TestLiveDemo -update.
const bundledDemo = "testdata/incidents/pi-digits"

// demoIncident is one generated incident: the raw series as OpenMetrics
// for promtool, and the changes (deploys) a change source would report.
type demoIncident struct {
	openMetrics, changes string
	from, to             string // the window, RFC3339
}

// writeDemo runs demogen with extra flags (seed, service, fault, start).
func writeDemo(t *testing.T, start time.Time, args ...string) demoIncident {
	t.Helper()
	dir := t.TempDir()
	om := filepath.Join(dir, "incident.om")
	snap := filepath.Join(dir, "generated")
	args = append([]string{"-openmetrics", om, "-out", snap, "-start", start.Format(time.RFC3339)}, args...)
	mustRun(t, bins.demogen, args...)
	return demoIncident{
		openMetrics: om,
		changes:     filepath.Join(snap, "changes.json"),
		from:        start.Format(time.RFC3339),
		to:          start.Add(30 * time.Minute).Format(time.RFC3339),
	}
}

// demoStart is the bundled demo's window start (demo.DefaultStart).
var demoStart = time.Date(2026, 11, 24, 13, 50, 0, 0, time.UTC)

// report is the part of rca.report/v1 the assertions read.
type report struct {
	RootCauses []struct {
		Service string        `json:"service"`
		Layer   string        `json:"layer"`
		Change  *reportChange `json:"change"`
	} `json:"root_causes"`
	Chain []struct {
		Layer    string `json:"layer"`
		Service  string `json:"service"`
		SignalID string `json:"signal_id"`
		Source   string `json:"source"`
		Callee   string `json:"callee"`
		Patterns []struct {
			Template string `json:"template"`
		} `json:"patterns"`
		Change *reportChange `json:"change"`
	} `json:"chain"`
	UnlinkedChanges []reportChange `json:"unlinked_changes"`
	Warnings        []string       `json:"warnings"`
}

type reportChange struct {
	Service     string `json:"service"`
	Kind        string `json:"kind"`
	Summary     string `json:"summary"`
	FromVersion string `json:"from_version"`
	ToVersion   string `json:"to_version"`
	Commit      string `json:"commit"`
	Source      string `json:"source"`
	Commits     []struct {
		Hash    string   `json:"hash"`
		Author  string   `json:"author"`
		Subject string   `json:"subject"`
		Files   []string `json:"files"`
	} `json:"commits"`
}

func parseReport(t *testing.T, s string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, s)
	}
	return r
}

// chainString is a chain as "layer service signal" lines, for comparing.
func chainString(r report) string {
	var b strings.Builder
	for _, l := range r.Chain {
		b.WriteString(l.Layer + " " + l.Service + " " + l.SignalID)
		if l.Change != nil {
			b.WriteString(" " + l.Change.Summary)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestLiveDemo analyses the demo incident live from a real Prometheus and
// a real Loki, and checks it against the bundled recording, a fresh
// recording, and the generator's own story.
func TestLiveDemo(t *testing.T) {
	demo := writeDemo(t, demoStart)
	prom := startPrometheus(t, demo.openMetrics)
	loki := startLoki(t)
	gen, err := snapshot.Read(context.Background(), filepath.Dir(demo.changes))
	if err != nil {
		t.Fatal(err)
	}
	pushLogs(t, loki, gen.Logs)
	live := []string{"--prometheus-url", prom.url, "--loki-url", loki, "--from", demo.from, "--to", demo.to, "--changes-file", demo.changes}

	if *update {
		mustRun(t, bins.rca, append([]string{"snapshot", "--force", "--out", bundledDemo}, live...)...)
		t.Logf("re-recorded %s from %s", bundledDemo, prom.url)
	}

	started := time.Now()
	liveJSON := mustRun(t, bins.rca, append([]string{"analyze", "-o", "json"}, live...)...).stdout
	t.Logf("live rca analyze (Prometheus and Loki) took %s", time.Since(started).Round(time.Millisecond))
	r := parseReport(t, liveJSON)

	t.Run("root cause is the checkout deploy", func(t *testing.T) {
		if len(r.RootCauses) == 0 || r.RootCauses[0].Service != "checkout" {
			t.Fatalf("top root cause = %+v, want checkout", r.RootCauses)
		}
		if len(r.Chain) < 3 {
			t.Fatalf("chain has %d links, want symptom, propagation, resource and change:\n%s", len(r.Chain), chainString(r))
		}
		first, last := r.Chain[0], r.Chain[len(r.Chain)-1]
		if first.Layer != "symptom" || first.Service != "gateway" {
			t.Errorf("chain starts at %s %s, want the gateway's symptom:\n%s", first.Layer, first.Service, chainString(r))
		}
		if last.Change == nil || last.Change.Service != "checkout" || !strings.Contains(last.Change.Summary, "v1.4.2") {
			t.Errorf("chain ends at %+v, want the checkout v1.4.2 deploy:\n%s", last, chainString(r))
		}
		var layers []string
		for _, l := range r.Chain {
			layers = append(layers, l.Layer)
		}
		for _, want := range []string{"propagation", "resource"} {
			if !strings.Contains(strings.Join(layers, " "), want) {
				t.Errorf("chain has no %s link:\n%s", want, chainString(r))
			}
		}
	})

	t.Run("the logs' template on the chain's link to checkout", func(t *testing.T) {
		// The gateway's upstream-timeout lines, read from Loki, mined into
		// a template and placed in the propagation layer toward checkout:
		// as the link itself (the timeout lines) or beside the link that
		// holds it (the upstream latency they time out on).
		var found bool
		for _, l := range r.Chain {
			if l.Service != "gateway" || l.Layer != "propagation" || l.Callee != "checkout" {
				continue
			}
			for _, p := range l.Patterns {
				found = found || strings.Contains(p.Template, "upstream timed out")
			}
		}
		if !found {
			t.Errorf("no gateway -> checkout propagation link with the gateway's upstream-timeout template:\n%s", chainString(r))
		}
	})

	t.Run("same chain as the generator's own series", func(t *testing.T) {
		// The generator's snapshot holds its signals as it computed them;
		// Prometheus evaluated the catalog's PromQL over raw counters and
		// histograms instead. Both must tell the same story.
		gen := parseReport(t, mustRun(t, bins.rca, "analyze", "-o", "json", "--snapshot", filepath.Dir(demo.changes)).stdout)
		if got, want := chainLayersServices(r), chainLayersServices(gen); got != want {
			t.Errorf("live chain differs from the generator's:\nlive:\n%s\ngenerated:\n%s", chainString(r), chainString(gen))
		}
	})

	t.Run("bundled demo is this recording", func(t *testing.T) {
		bundled := mustRun(t, bins.rca, "analyze", "-o", "json", "--snapshot", bundledDemo).stdout
		if bundled != liveJSON {
			t.Errorf("rca analyze --snapshot %s differs from the live analysis; re-record it: go test ./e2e -run TestLiveDemo -update\n%s", bundledDemo, diffLines(liveJSON, bundled))
		}
	})

	recorded := filepath.Join(t.TempDir(), "snap")
	t.Run("snapshot replays the live analysis", func(t *testing.T) {
		dir := recorded
		res := mustRun(t, bins.rca, append([]string{"snapshot", "--out", dir}, live...)...)
		if !strings.Contains(res.stdout, "recorded ") {
			t.Errorf("snapshot stdout = %q, want a summary line", res.stdout)
		}
		replay := mustRun(t, bins.rca, "analyze", "-o", "json", "--snapshot", dir).stdout
		if replay != liveJSON {
			t.Errorf("replay differs from live:\n%s", diffLines(liveJSON, replay))
		}
		manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(manifest), prom.url) {
			t.Errorf("manifest does not record the source %s", prom.url)
		}
		// Recording again into the same folder needs --force.
		again := run(t, bins.rca, append([]string{"snapshot", "--out", dir}, live...)...)
		if again.code == 0 || !strings.Contains(again.stderr, "--force") {
			t.Errorf("second snapshot into %s: exit %d, stderr %q; want a refusal naming --force", dir, again.code, again.stderr)
		}
	})

	t.Run("log signals counted by Loki", func(t *testing.T) {
		// The live run pushed each log signal's count down to Loki; the
		// recording holds the series it returned. The gateway's timeouts
		// must be there, and every minute must count the lines pushed.
		b, err := snapshot.Read(context.Background(), recorded)
		if err != nil {
			t.Fatal(err)
		}
		cat, err := catalog.Default()
		if err != nil {
			t.Fatal(err)
		}
		var got []telemetry.Series
		for _, s := range b.Series {
			if sig, ok := cat.Signal(s.Signal); ok && sig.IsLog() {
				got = append(got, s)
				if !strings.Contains(s.Query, "count_over_time") {
					t.Errorf("%s: query %q, want the LogQL metric query", s.ID(), s.Query)
				}
			}
		}
		want := logoracle.MinuteCounts(cat, gen.Logs, b.Window, b.Baseline)
		if _, ok := want[`log_timeouts{service="gateway"}`]; !ok {
			t.Fatal("the demo has no gateway timeout lines")
		}
		checkCounts(t, got, want, 2) // the gateway's timeouts and errors
		var timeouts float64
		for _, s := range got {
			if s.Signal == "log_timeouts" && s.Labels["service"] == "gateway" {
				for _, p := range s.Points() {
					timeouts += p.V
				}
			}
		}
		t.Logf("%d log-signal series from Loki; the gateway's timeouts: %v lines", len(got), timeouts)
		if timeouts == 0 {
			t.Error("no gateway timeouts counted by Loki")
		}
	})

	t.Run("deploy found from Prometheus alone", func(t *testing.T) {
		// No deploys file: kube-state-metrics generations and app_build_info
		// versions stored in Prometheus must reveal the rollout.
		r := parseReport(t, mustRun(t, bins.rca, "analyze", "-o", "json", "--prometheus-url", prom.url, "--from", demo.from, "--to", demo.to).stdout)
		if len(r.RootCauses) == 0 || r.RootCauses[0].Change == nil {
			t.Fatalf("top root cause is not a change: %+v\n%s", r.RootCauses, chainString(r))
		}
		c := r.RootCauses[0].Change
		if c.Service != "checkout" || c.Kind != "deploy" || c.FromVersion != "v1.4.1" || c.ToVersion != "v1.4.2" || c.Commit != "9f3c1e2" {
			t.Errorf("detected deploy %+v, want checkout v1.4.1 -> v1.4.2 at revision 9f3c1e2", c)
		}
		if !strings.Contains(c.Source, "prometheus") {
			t.Errorf("deploy source %q, want the Prometheus change sources", c.Source)
		}
	})

	t.Run("with the repository the chain ends at the commit", func(t *testing.T) {
		// Prometheus names the rollout (v1.4.1 -> v1.4.2); the shop's
		// repository says what that release shipped to checkout.
		shop := gitfixture.NewShop(t)
		r := parseReport(t, mustRun(t, bins.rca, "analyze", "-o", "json", "--prometheus-url", prom.url,
			"--from", demo.from, "--to", demo.to, "--repo", shop.Dir).stdout)
		last := r.Chain[len(r.Chain)-1]
		if last.Change == nil || last.Change.Kind != "commit" || last.Change.Commit != shop.Pi || last.Change.Summary != gitfixture.PiSubject {
			t.Fatalf("chain ends at %+v, want the pi commit %s\n%s", last.Change, shop.Pi, chainString(r))
		}
		deploy := r.Chain[len(r.Chain)-2]
		if deploy.Change == nil || deploy.Change.Service != "checkout" || len(deploy.Change.Commits) != 1 {
			t.Errorf("the link above the commit is %+v, want the checkout deploy that shipped it", deploy.Change)
		}
	})

	t.Run("changes from Loki alone", func(t *testing.T) {
		// No Prometheus, no deploys file: the pods' startup lines in Loki
		// announce the rollouts.
		r := parseReport(t, mustRun(t, bins.rca, "analyze", "-o", "json", "--loki-url", loki, "--from", demo.from, "--to", demo.to).stdout)
		var found []string
		for _, l := range r.Chain {
			if l.Change != nil {
				found = append(found, l.Change.Service+" "+l.Change.ToVersion+" "+l.Change.Source)
			}
		}
		for _, c := range r.UnlinkedChanges {
			found = append(found, c.Service+" "+c.ToVersion+" "+c.Source)
		}
		if !slices.ContainsFunc(found, func(s string) bool { return strings.HasPrefix(s, "checkout v1.4.2 loki: ") }) {
			t.Errorf("changes %q, want checkout v1.4.2 from Loki", found)
		}
	})

	t.Run("text report", func(t *testing.T) {
		res := mustRun(t, bins.rca, append([]string{"analyze"}, live...)...)
		for _, want := range []string{"MOST LIKELY ROOT CAUSE", "checkout", "CAUSE CHAIN", "v1.4.2"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("text report lacks %q:\n%s", want, res.stdout)
			}
		}
	})

	t.Run("window with no data", func(t *testing.T) {
		res := run(t, bins.rca, "analyze", "--prometheus-url", prom.url, "--from", "2020-01-01T00:00:00Z", "--to", "2020-01-01T00:30:00Z")
		if res.code != 1 || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 || !strings.Contains(res.stderr, "no data") {
			t.Errorf("exit %d, stderr %q; want exit 1 and one line saying there is no data", res.code, res.stderr)
		}
	})
}

// TestLiveVariants loads other generated incidents (another faulty
// service, another fault, other days) into one Prometheus: the live
// analysis must find each one's own culprit, not the bundled demo's.
func TestLiveVariants(t *testing.T) {
	variants := []struct {
		name    string
		service string
		args    []string
	}{
		{"payments cpu", "payments", []string{"-service", "payments", "-seed", "3"}},
		{"cart memory leak", "cart", []string{"-service", "cart", "-fault", "memory-leak", "-seed", "5"}},
		{"checkout memory leak", "checkout", []string{"-fault", "memory-leak", "-seed", "2"}},
	}
	var incidents []demoIncident
	var files []string
	for i, v := range variants {
		d := writeDemo(t, demoStart.AddDate(0, 0, -7*(i+1)), v.args...)
		incidents = append(incidents, d)
		files = append(files, d.openMetrics)
	}
	prom := startPrometheus(t, files...)
	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			d := incidents[i]
			// The deploys come from the series alone: no deploys file.
			r := parseReport(t, mustRun(t, bins.rca, "analyze", "-o", "json", "--prometheus-url", prom.url,
				"--from", d.from, "--to", d.to).stdout)
			if len(r.RootCauses) == 0 || r.RootCauses[0].Service != v.service {
				t.Fatalf("top root cause = %+v, want %s\n%s", r.RootCauses, v.service, chainString(r))
			}
			last := r.Chain[len(r.Chain)-1]
			if last.Change == nil || last.Change.Service != v.service {
				t.Errorf("chain does not end at the %s deploy:\n%s", v.service, chainString(r))
			}
		})
	}
}

// chainLayersServices is the chain's shape: layer and service per link.
func chainLayersServices(r report) string {
	var b strings.Builder
	for _, l := range r.Chain {
		b.WriteString(l.Layer + " " + l.Service + "\n")
	}
	return b.String()
}

// diffLines shows the first differing lines of two texts.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 12; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(out, "\n")
}
