package analysis

import (
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

func TestLinkChanges(t *testing.T) {
	cpu := func(f *fixture) *fixture {
		return f.add("cpu_usage", svc("api"), stepAt(10, 0.3, 1.9), 0.03).
			add("http_error_ratio", svc("web"), stepAt(11, 0.001, 0.3), 0.001).
			add("cpu_usage", svc("web"), stepAt(99, 0.2, 0.2), 0.02).
			edge("web", "api").edge("api", "db")
	}
	tests := []struct {
		name       string
		changes    func(*fixture) *fixture
		wantLinked string // summary of the change at the bottom of the chain, "" for none
		unlinked   int
	}{
		{"deploy before onset", func(f *fixture) *fixture { return f.change(8, "api", "deploy api v2") }, "deploy api v2", 0},
		{"deploy after onset", func(f *fixture) *fixture { return f.change(20, "api", "deploy api v3") }, "", 1},
		{"only the second of two precedes", func(f *fixture) *fixture {
			return f.change(-30, "api", "deploy api v1.9").change(8, "api", "deploy api v2")
		}, "deploy api v2", 1},
		{"deploy outside the lookback", func(f *fixture) *fixture { return f.change(-300, "api", "deploy api old") }, "", 0},
		{"deploy of a healthy service", func(f *fixture) *fixture { return f.change(5, "web-static", "deploy web-static") }, "", 1},
		{"unobserved dependency, anomalous caller", func(f *fixture) *fixture { return f.change(9, "db", "db config change") }, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.changes(cpu(newFixture(11)))
			res := Analyze(f.b, defaultCatalog(), Options{Lookback: time.Hour})
			last := res.Chain[len(res.Chain)-1]
			got := ""
			if last.Layer == catalog.LayerChange {
				got = last.Change.Summary
			}
			if tc.name == "unobserved dependency, anomalous caller" {
				// db has no telemetry; api (its caller) went bad a minute after its change.
				if res.RootCauses[0].Service != "db" || res.RootCauses[0].Layer != catalog.LayerChange {
					t.Fatalf("top cause %s/%s, want the db change", res.RootCauses[0].Service, res.RootCauses[0].Layer)
				}
				return
			}
			if got != tc.wantLinked {
				t.Errorf("chain ends at %q, want %q (chain %s)", got, tc.wantLinked, layers(res.Chain))
			}
			if len(res.UnlinkedChanges) != tc.unlinked {
				t.Errorf("unlinked = %d (%+v), want %d", len(res.UnlinkedChanges), res.UnlinkedChanges, tc.unlinked)
			}
		})
	}
}

func TestLogErrorsBecomeSignals(t *testing.T) {
	f := newFixture(5).edge("gateway", "checkout").
		add("cpu_usage", svc("checkout"), stepAt(10, 0.3, 1.9), 0.03)
	for m := -60; m < 30; m++ {
		n := 1
		if m >= 12 {
			n = 30
		}
		for i := range n {
			f.b.Logs = append(f.b.Logs, telemetry.LogLine{
				T:      t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second),
				Labels: telemetry.Labels{"service": "gateway", "level": "error"},
				Line:   "upstream timed out (110: Connection timed out) while reading response header from upstream",
			})
		}
	}
	res := Analyze(f.b, defaultCatalog(), Options{})
	var sigs []string
	for _, a := range res.Anomalies {
		if a.Service == "gateway" {
			sigs = append(sigs, a.SignalID)
		}
	}
	if len(sigs) != 2 {
		t.Fatalf("gateway log signals = %v, want log_errors and log_timeouts", sigs)
	}
	want := "symptom@gateway <- propagation@gateway <- resource@checkout"
	if got := layers(res.Chain); got != want {
		t.Errorf("chain = %s, want %s", got, want)
	}
}

func TestTargetScopesTheRanking(t *testing.T) {
	// Two independent trees; the alert is on a, so the cause must be below a.
	f := newFixture(9).edge("a", "b").edge("x", "y").
		add("http_latency_p99", svc("a"), stepAt(10, 0.2, 2), 0.02).
		add("http_latency_p99", svc("b"), stepAt(9, 0.1, 1.5), 0.01).
		add("http_latency_p99", svc("y"), stepAt(5, 0.1, 9), 0.01)
	f.b.Target = &telemetry.Target{Service: "a", Metric: "http_latency_p99"}
	res := Analyze(f.b, defaultCatalog(), Options{})
	if res.Services[0].Service != "b" {
		t.Fatalf("ranking %v, want b first", res.Services)
	}
	if res.Chain[0].Service != "a" {
		t.Errorf("chain starts at %s, want the alert's service a", res.Chain[0].Service)
	}
}

func TestGraphPath(t *testing.T) {
	g := buildGraph([]telemetry.Edge{{Caller: "gw", Callee: "co"}, {Caller: "co", Callee: "pay"}, {Caller: "pay", Callee: "db"}, {Caller: "gw", Callee: "db"}}, nil)
	tests := []struct {
		from, to string
		want     int
	}{{"gw", "pay", 3}, {"gw", "db", 2}, {"db", "gw", 0}, {"co", "co", 1}}
	for _, tc := range tests {
		if got := len(g.path(tc.from, tc.to)); got != tc.want {
			t.Errorf("path %s->%s has %d nodes, want %d", tc.from, tc.to, got, tc.want)
		}
	}
	if d := g.descendants("co"); !d["pay"] || !d["db"] || d["gw"] || d["co"] {
		t.Errorf("descendants(co) = %v", d)
	}
}

func TestChainEndsAtShippedCommits(t *testing.T) {
	pi := telemetry.Commit{Hash: "9f3c1e2aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5", Author: "m.lindqvist", Time: t0.Add(-3 * time.Hour),
		Subject: "compute pi to 10,000 places for the receipt footer", Files: []string{"services/api/pi.go"}}
	fix := telemetry.Commit{Hash: "1111111bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Author: "a.n.other", Time: t0.Add(-2 * time.Hour),
		Subject: "fix typo", Files: []string{"services/api/README.md"}}
	tests := []struct {
		name        string
		commits     []telemetry.Commit
		standalone  bool // the git source also reported the commit on its own
		wantSummary string
		wantCommit  string
		wantFiles   int
	}{
		{"no commits: the deploy is the bottom", nil, false, "deploy api v2", "", 0},
		{"one commit: the chain ends at it", []telemetry.Commit{pi}, false, pi.Subject, pi.Hash, 1},
		{"several commits: one link lists them", []telemetry.Commit{fix, pi}, false, "2 commits to api", fix.Hash, 2},
		{"a shipped commit is not a cause of its own", []telemetry.Commit{pi}, true, pi.Subject, pi.Hash, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(11).add("cpu_usage", svc("api"), stepAt(10, 0.3, 1.9), 0.03).
				add("http_error_ratio", svc("web"), stepAt(11, 0.001, 0.3), 0.001).edge("web", "api")
			f.change(8, "api", "deploy api v2")
			f.b.Changes[0].Commits = tc.commits
			if tc.standalone {
				// Inside the lookback, so without de-duplication it would be a candidate too.
				f.b.Changes = append(f.b.Changes, telemetry.Change{T: t0.Add(7 * time.Minute), Service: "api",
					Kind: telemetry.ChangeCommit, Summary: pi.Subject, Commit: pi.Hash})
			}
			res := Analyze(f.b, defaultCatalog(), Options{Lookback: time.Hour})
			last := res.Chain[len(res.Chain)-1]
			if last.Change == nil || last.Change.Summary != tc.wantSummary {
				t.Fatalf("chain ends at %+v, want %q (chain %s)", last.Change, tc.wantSummary, layers(res.Chain))
			}
			if last.Change.Commit != tc.wantCommit || len(last.Change.Files) != tc.wantFiles {
				t.Errorf("last link commit %q files %v, want %q and %d files", last.Change.Commit, last.Change.Files, tc.wantCommit, tc.wantFiles)
			}
			if len(tc.commits) > 0 {
				deploy := res.Chain[len(res.Chain)-2]
				if deploy.Change == nil || deploy.Change.Kind != telemetry.ChangeDeploy {
					t.Errorf("the link above the commit should be the deploy, got %+v", deploy)
				}
				if last.Onset.After(deploy.Onset) {
					t.Errorf("commit link at %s is after the deploy at %s", last.Onset, deploy.Onset)
				}
			}
			if len(res.UnlinkedChanges) != 0 {
				t.Errorf("unlinked changes %+v, want none", res.UnlinkedChanges)
			}
		})
	}
}
