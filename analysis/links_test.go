package analysis

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// fine builds a bundle sampled every 5 s, as a real Prometheus scrapes: a
// 20-minute baseline, then a 10-minute window from t0.
type fine struct{ b telemetry.Bundle }

func newFine() *fine {
	return &fine{b: telemetry.Bundle{
		Baseline: telemetry.Window{From: t0.Add(-20 * time.Minute), To: t0},
		Window:   telemetry.Window{From: t0, To: t0.Add(10 * time.Minute)},
	}}
}

// step adds a gauge at before, then after from onset (time into the window)
// until until (0: the window's end), with a little deterministic wobble.
func (f *fine) step(metric string, labels telemetry.Labels, onset, until time.Duration, before, after float64) *fine {
	var pts []telemetry.Point
	for t := -20 * time.Minute; t < 10*time.Minute; t += 5 * time.Second {
		v := before
		if t >= onset && (until == 0 || t < until) {
			v = after
		}
		v *= 1 + 0.01*float64(int(t/(5*time.Second))%3-1)
		pts = append(pts, telemetry.Point{T: t0.Add(t), V: v})
	}
	f.b.Series = append(f.b.Series, telemetry.Series{Metric: metric, Labels: labels}.WithPoints(pts...))
	return f
}

func (f *fine) change(at time.Duration, c telemetry.Change) *fine {
	c.T = t0.Add(at)
	if c.Kind == "" {
		c.Kind = telemetry.ChangeDeploy
	}
	f.b.Changes = append(f.b.Changes, c)
	return f
}

func TestChangeLinks(t *testing.T) {
	onset := 3 * time.Minute
	cpu := func() *fine {
		return newFine().step("process_cpu_usage", telemetry.Labels{"job": "api", "instance": "web-1:8080"}, onset, 0, 0.2, 1.8).
			step("process_cpu_usage", telemetry.Labels{"job": "web", "instance": "web-2:8080"}, 99*time.Minute, 0, 0.2, 0.2)
	}
	disk := func() *fine {
		// The host's disk goes busy; nothing of the changed process is measured.
		return newFine().step("node_disk_busy_ratio", telemetry.Labels{"job": "node", "instance": "web-1:9100"}, onset, 0, 0.016, 0.34).
			step("node_disk_busy_ratio", telemetry.Labels{"job": "node", "instance": "web-2:9100"}, 99*time.Minute, 0, 0.02, 0.02).
			step("http_latency_p99", telemetry.Labels{"job": "api", "instance": "web-1:8080"}, onset+20*time.Second, 0, 0.05, 2.5)
	}
	tests := []struct {
		name     string
		bundle   *fine
		linked   string // the change at the bottom of the chain, "" for none
		why      string // in the linked change's why
		link     string // service of the link just above the change, when linked
		unlinked []string
		rollback string
	}{
		{
			name:   "a change 30 s before the onset is its cause",
			bundle: cpu().change(onset-30*time.Second, telemetry.Change{Service: "api", Summary: "deploy api v2", FromVersion: "v1"}),
			linked: "deploy api v2", why: "30s before", rollback: "v1",
		},
		{
			name:     "a change 22 s after the onset is not",
			bundle:   cpu().change(onset+22*time.Second, telemetry.Change{Service: "api", Summary: "deploy api v3"}),
			unlinked: []string{"deploy api v3"},
		},
		{
			name:   "a change within the onset's sample may be",
			bundle: cpu().change(onset+3*time.Second, telemetry.Change{Service: "api", Summary: "deploy api v4"}),
			linked: "deploy api v4", why: "in the same 5s sample",
		},
		{
			name: "a change on the host links to the host's disk",
			bundle: disk().change(onset-57*time.Second, telemetry.Change{Service: "log-compactor", Host: "web-1", Summary: "deploy log-compactor v2", FromVersion: "v1"}).
				change(onset-30*time.Second, telemetry.Change{Service: "batch", Host: "web-2", Summary: "deploy batch v9"}),
			linked: "deploy log-compactor v2", why: "57s before", link: "host:web-1", unlinked: []string{"deploy batch v9"}, rollback: "v1",
		},
		{
			name:   "the host may be given as an instance",
			bundle: disk().change(onset-57*time.Second, telemetry.Change{Service: "log-compactor", Host: "WEB-1:22", Summary: "deploy log-compactor v2"}),
			linked: "deploy log-compactor v2", link: "host:web-1",
		},
		{
			// Only a blip followed it: a weak candidate, shown as one, never
			// hidden nor listed as having no effect.
			name:   "a change before an unexplained blip on its host is not 'no effect seen'",
			linked: "deploy log-compactor v2", why: "57s before", rollback: "",
			bundle: newFine().step("node_disk_busy_ratio", telemetry.Labels{"job": "node", "instance": "web-1:9100"}, onset, onset+10*time.Second, 0.016, 0.34).
				step("node_disk_busy_ratio", telemetry.Labels{"job": "node", "instance": "web-2:9100"}, 99*time.Minute, 0, 0.02, 0.02).
				change(onset-57*time.Second, telemetry.Change{Service: "log-compactor", Host: "web-1", Summary: "deploy log-compactor v2"}),
		},
		{
			name:   "a host-level service is never rolled back",
			bundle: disk().change(onset-40*time.Second, telemetry.Change{Service: "host:web-1", Kind: telemetry.ChangeVersion, Summary: "version node_exporter v0.8.2 -> v0.9.0", FromVersion: "v0.8.2"}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cat := defaultCatalog()
			res := Analyze(tc.bundle.b, cat, Options{})
			if len(res.Chain) == 0 {
				t.Fatal("no chain")
			}
			last := res.Chain[len(res.Chain)-1]
			got := ""
			if last.Layer == catalog.LayerChange {
				got = last.Change.Summary
			}
			if got != tc.linked {
				t.Fatalf("chain ends at %q, want %q (chain %s, causes %+v)", got, tc.linked, layers(res.Chain), res.RootCauses)
			}
			if tc.linked != "" && !strings.Contains(last.Explanation, tc.why) {
				t.Errorf("why %q, want %q in it", last.Explanation, tc.why)
			}
			if tc.link != "" {
				if len(res.Chain) < 2 || res.Chain[len(res.Chain)-2].Service != tc.link {
					t.Errorf("the link above the change should be on %s: %s", tc.link, layers(res.Chain))
				}
			}
			// Every link starts no later than the one above it, and the
			// change no later than a step after the link above it.
			for i := 1; i < len(res.Chain); i++ {
				if res.Chain[i].Onset.After(res.Chain[i-1].Onset.Add(5 * time.Second)) {
					t.Errorf("link %d (%s at %s) starts after the link above (%s)", i, res.Chain[i].Signal, res.Chain[i].Onset, res.Chain[i-1].Onset)
				}
			}
			var un []string
			for _, c := range res.UnlinkedChanges {
				un = append(un, c.Summary)
			}
			if strings.Join(un, "|") != strings.Join(tc.unlinked, "|") {
				t.Errorf("no effect seen: %q, want %q", un, tc.unlinked)
			}
			imp := AssessImpact(tc.bundle.b, cat, res, 0)
			if imp.Rollback != tc.rollback {
				t.Errorf("rollback %q (change %+v), want %q", imp.Rollback, imp.Change, tc.rollback)
			}
		})
	}
}

func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		labels telemetry.Labels
		host   string
	}{
		{telemetry.Labels{"instance": "web-1:9100"}, "web-1"},
		{telemetry.Labels{"instance": "[::1]:9100"}, "localhost"},
		{telemetry.Labels{"instance": "127.0.0.1:9113"}, "localhost"},
		{telemetry.Labels{"instance": "10.0.0.5:8080", "node": "worker-2"}, "worker-2"},
		{telemetry.Labels{"job": "x"}, ""},
	} {
		if got := hostOf(tc.labels); got != tc.host {
			t.Errorf("hostOf(%v) = %q, want %q", tc.labels, got, tc.host)
		}
	}
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"web-1", "web-1.example.com", true},
		{"web-1.a.com", "web-1.b.com", false},
		{"10.0.0.1", "10.0.0.12", false},
		{"", "", false},
	} {
		if got := sameHost(tc.a, tc.b); got != tc.same {
			t.Errorf("sameHost(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
