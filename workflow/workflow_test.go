package workflow

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/telemetry"
)

// TestAnalyzeAndAttach: the demo analysed with a change noted in the log,
// then its impact and analysis attached: entries, evidence files and the
// recorded data are all there.
func TestAnalyzeAndAttach(t *testing.T) {
	ctx := context.Background()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	b, origins, err := collectors.Collect(ctx, []collectors.Source{snapshot.Source{Dir: "../testdata/incidents/pi-digits"}}, collectors.Request{Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	s := incident.Store{Dir: t.TempDir()}
	now := time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)
	id, err := s.Start(ctx, incident.StartOptions{Title: "checkout 500s", Time: now})
	if err != nil {
		t.Fatal(err)
	}
	noted := telemetry.Change{T: now.Add(-20 * time.Minute), Service: "payments", Kind: telemetry.ChangeFlag, Summary: "flag flip", Source: "incident log"}
	if _, err := s.Append(ctx, id, incident.Entry{Time: now, Kind: incident.KindChange, Text: "flag flip", Change: &noted}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	changes := NotedChanges(l)
	if len(changes) != 1 || changes[0].Summary != "flag flip" {
		t.Fatalf("noted changes %+v", changes)
	}
	run, err := Analyze(ctx, b, origins, cat, nil, 2*time.Hour, changes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(run.Bundle.Changes, func(c telemetry.Change) bool { return c.Summary == "flag flip" }) {
		t.Error("the noted change is not in the analysed bundle")
	}
	if len(run.Result.RootCauses) == 0 || run.Result.RootCauses[0].Service != "checkout" {
		t.Errorf("top root cause %+v, want checkout", run.Result.RootCauses)
	}
	clock := func() time.Time { return now }
	if _, err := AttachImpact(ctx, s, id, clock, "tester", run.Impact()); err != nil {
		t.Fatal(err)
	}
	dir, err := AttachAnalysis(ctx, s, id, clock, "tester", run)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.md", "report.json", "report.html", "snapshot/manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("evidence: %v", err)
		}
	}
	if l, err = s.Read(ctx, id); err != nil {
		t.Fatal(err)
	}
	var kinds []incident.Kind
	for _, e := range l.Entries {
		kinds = append(kinds, e.Kind)
		if (e.Kind == incident.KindImpact || e.Kind == incident.KindAnalysis) && (e.Author != "tester" || len(e.Files) == 0) {
			t.Errorf("%s entry: author %q, files %v", e.Kind, e.Author, e.Files)
		}
	}
	if want := []incident.Kind{incident.KindStart, incident.KindChange, incident.KindImpact, incident.KindAnalysis}; !slices.Equal(kinds, want) {
		t.Errorf("entries %v, want %v", kinds, want)
	}
}
