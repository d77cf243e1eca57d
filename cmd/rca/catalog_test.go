package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rca-tool/rca/collectors/snapshot"
)

// teamCatalog names the gateway's error ratio its own way, as a team's
// --catalog would.
func teamCatalog(name string) string {
	return fmt.Sprintf(`signals:
  - id: http_error_ratio
    name: %s
    layer: symptom
    direction: up
    unit: ratio
    metrics: ['http_server_errors_ratio']
`, name)
}

// fakeProm answers the Prometheus API with one gauge, "up", at 1.
func fakeProm(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v1/label/"):
			fmt.Fprint(w, `{"status":"success","data":["up"]}`)
		case r.URL.Path == "/api/v1/metadata":
			fmt.Fprint(w, `{"status":"success","data":{"up":[{"type":"gauge","help":"","unit":""}]}}`)
		case r.URL.Path == "/api/v1/query_range":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"checkout"},"values":[[1795960800,"1"]]}]}}`)
		default:
			fmt.Fprint(w, `{"status":"success","data":[]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestSnapshotKeepsCatalog (#16): rca snapshot keeps the --catalog it
// read with, and rca analyze --snapshot reads with it unless --catalog
// names another (which wins, with a note).
func TestSnapshotKeepsCatalog(t *testing.T) {
	dir := t.TempDir()
	cat := writeFile(t, dir, "team.yaml", teamCatalog("Team 5xx share"))
	out := filepath.Join(dir, "snap")
	r := rca(t, "snapshot", "--prometheus-url", fakeProm(t), "--from", "now-30m", "--catalog", cat, "--out", out)
	if r.code != 0 {
		t.Fatalf("rca snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
	got, where, err := snapshot.Catalog(context.Background(), out)
	if err != nil || string(got) != teamCatalog("Team 5xx share") || where != filepath.Join(out, "catalog.yaml") {
		t.Fatalf("recorded catalog = %q at %q, %v; want team.yaml's content in catalog.yaml", got, where, err)
	}
	manifest, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil || !strings.Contains(string(manifest), `"catalog": "catalog.yaml"`) {
		t.Errorf("manifest does not list the catalog: %s", manifest)
	}
	// Without --catalog, a rewrite keeps no catalog and removes the old file.
	r = rca(t, "snapshot", "--prometheus-url", fakeProm(t), "--from", "now-30m", "--out", out, "--force")
	if r.code != 0 {
		t.Fatalf("rca snapshot --force: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "catalog.yaml")); err == nil {
		t.Error("catalog.yaml of the replaced snapshot was left behind")
	}
}

// TestAnalyzeUsesRecordedCatalog (#16): the analysis of a snapshot names
// and measures its signals with the catalog it was recorded with.
func TestAnalyzeUsesRecordedCatalog(t *testing.T) {
	dir, b := writeSnapshot(t)
	if err := snapshot.WriteMeta(context.Background(), dir, b, snapshot.Meta{Catalog: []byte(teamCatalog("Team 5xx share"))}); err != nil {
		t.Fatal(err)
	}
	other := writeFile(t, t.TempDir(), "other.yaml", teamCatalog("Other 5xx share"))

	r := rca(t, "analyze", "--snapshot", dir, "-o", "markdown")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Team 5xx share") {
		t.Errorf("the report does not use the recorded catalog's name \"Team 5xx share\":\n%s", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q, want nothing", r.stderr)
	}

	r = rca(t, "analyze", "--snapshot", dir, "-o", "markdown", "--catalog", other)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "Other 5xx share") || strings.Contains(r.stdout, "Team 5xx share") {
		t.Errorf("an explicit --catalog should win:\n%s", r.stdout)
	}
	want := "rca: note: --catalog " + other + " replaces the catalog recorded in the snapshot (" + filepath.Join(dir, "catalog.yaml") + ")\n"
	if r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}

	// The evidence an incident keeps of the analysis keeps the catalog too.
	incidents := filepath.Join(t.TempDir(), "incidents")
	if r := rca(t, "log", "start", "--title", "checkout 500s", "--incidents-dir", incidents); r.code != 0 {
		t.Fatalf("log start: %q", r.stderr)
	}
	if r := rca(t, "analyze", "--snapshot", dir, "--incident", "current", "--incidents-dir", incidents); r.code != 0 {
		t.Fatalf("analyze --incident: %q", r.stderr)
	}
	kept, _ := filepath.Glob(filepath.Join(incidents, "*", "evidence", "*", "snapshot", "catalog.yaml"))
	if len(kept) != 1 {
		t.Fatalf("evidence snapshots with a catalog: %q, want one", kept)
	}
	if data, err := os.ReadFile(kept[0]); err != nil || string(data) != teamCatalog("Team 5xx share") {
		t.Errorf("evidence catalog = %q, %v", data, err)
	}
}
