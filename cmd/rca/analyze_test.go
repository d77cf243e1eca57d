package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/telemetry"
)

// piDigits is the demo incident, relative to this package's directory.
var piDigits = filepath.Join("..", "..", "testdata", "incidents", "pi-digits")

// jsonReport is the part of the rca.report/v1 schema these tests read. It is
// decoded independently of the report package, as a user's program would.
type jsonReport struct {
	Schema   string `json:"schema"`
	Window   struct{ From, To time.Time }
	Baseline struct{ From, To time.Time }
	Symptoms []struct {
		Service string `json:"service"`
	} `json:"symptoms"`
	Verdict    string `json:"verdict"`
	RootCauses []struct {
		Rank       int     `json:"rank"`
		Service    string  `json:"service"`
		Layer      string  `json:"layer"`
		Confidence float64 `json:"confidence"`
	} `json:"root_causes"`
	Chain []struct {
		Layer   string `json:"layer"`
		Service string `json:"service"`
	} `json:"chain"`
	Warnings []string `json:"warnings"`
}

func decodeReport(t *testing.T, data string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
	if r.Schema != "rca.report/v1" {
		t.Errorf("schema = %q, want rca.report/v1", r.Schema)
	}
	return r
}

func needPiDigits(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(piDigits); err != nil {
		t.Skipf("demo incident %s not generated yet: %v", piDigits, err)
	}
}

// TestPiDigits is the end-to-end check of issue 2: the checkout deploy is
// ranked first and the chain runs from the symptom down to the change.
func TestPiDigits(t *testing.T) {
	needPiDigits(t)
	r := rca(t, "analyze", "--snapshot", piDigits, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	if len(rep.RootCauses) == 0 || rep.RootCauses[0].Service != "checkout" {
		t.Errorf("root causes = %+v, want checkout first", rep.RootCauses)
	}
	var layers []string
	for _, l := range rep.Chain {
		layers = append(layers, l.Layer)
	}
	if got := strings.Join(layers, ","); got != "symptom,propagation,resource,change" {
		t.Errorf("chain layers = %s, want symptom,propagation,resource,change", got)
	}
}

func TestPiDigitsFormats(t *testing.T) {
	needPiDigits(t)
	for _, format := range []string{"text", "markdown", "md", "json"} {
		t.Run(format, func(t *testing.T) {
			r := rca(t, "analyze", "--snapshot", piDigits, "-o", format)
			if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
				t.Fatalf("exit %d, stdout %d bytes, stderr %q", r.code, len(r.stdout), r.stderr)
			}
			if !strings.Contains(r.stdout, "checkout") {
				t.Errorf("%s report does not mention checkout", format)
			}
			if strings.Contains(r.stdout, "\x1b[") {
				t.Errorf("%s report has colour codes though stdout is not a terminal", format)
			}
		})
	}
}

// writeSnapshot records a small hand-built incident with the snapshot
// writer, so the wiring is tested without the demo incident. The window is
// the 30 minutes before fixedNow, the data covers three hours.
func writeSnapshot(t *testing.T) (dir string, b telemetry.Bundle) {
	t.Helper()
	at := func(min int) time.Time { return fixedNow.Add(time.Duration(min) * time.Minute) }
	var errs, cpu []telemetry.Point
	for m := -180; m < 0; m++ {
		e, c := 0.01, 0.3
		if m >= -20 {
			e, c = 0.4, 1.95
		}
		errs = append(errs, telemetry.Point{T: at(m), V: e})
		cpu = append(cpu, telemetry.Point{T: at(m), V: c})
	}
	b = telemetry.Bundle{
		Window:   telemetry.Window{From: at(-30), To: at(0)},
		Baseline: telemetry.Window{From: at(-90), To: at(-30)},
		Series: []telemetry.Series{
			telemetry.Series{Metric: "http_server_errors_ratio", Labels: telemetry.Labels{"service": "gateway"}}.WithPoints(errs...),
			telemetry.Series{Metric: "container_cpu_usage_seconds_total", Labels: telemetry.Labels{"service": "checkout"}}.WithPoints(cpu...),
		},
		Changes: []telemetry.Change{{T: at(-22), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2"}},
		Edges:   []telemetry.Edge{{Caller: "gateway", Callee: "checkout"}},
	}
	dir = filepath.Join(t.TempDir(), "snap")
	if err := snapshot.Write(context.Background(), dir, b); err != nil {
		t.Skipf("snapshot writer not ready: %v", err)
	}
	return dir, b
}

func TestAnalyzeSnapshotWindow(t *testing.T) {
	dir, b := writeSnapshot(t)
	tests := []struct {
		name                 string
		args                 []string
		wantWindow, wantBase telemetry.Window
	}{
		{"recorded window", nil, b.Window, b.Baseline},
		{"from/to replaces window and baseline",
			[]string{"--from", "now-20m", "--to", "now-5m"},
			telemetry.Window{From: fixedNow.Add(-20 * time.Minute), To: fixedNow.Add(-5 * time.Minute)},
			telemetry.Window{From: fixedNow.Add(-80 * time.Minute), To: fixedNow.Add(-20 * time.Minute)}},
		{"around/span",
			[]string{"--around", "now-15m", "--span", "10m", "--baseline", "30m"},
			telemetry.Window{From: fixedNow.Add(-20 * time.Minute), To: fixedNow.Add(-10 * time.Minute)},
			telemetry.Window{From: fixedNow.Add(-50 * time.Minute), To: fixedNow.Add(-20 * time.Minute)}},
		{"baseline alone keeps the recorded window",
			[]string{"--baseline", "2h"},
			b.Window,
			telemetry.Window{From: b.Window.From.Add(-2 * time.Hour), To: b.Window.From}},
		{"baseline offset alone keeps the recorded window",
			[]string{"--baseline-offset", "1h"},
			b.Window,
			telemetry.Window{From: b.Window.From.Add(-time.Hour), To: b.Window.To.Add(-time.Hour)}},
		{"explicit baseline range",
			[]string{"--baseline-from", "now-3h", "--baseline-to", "now-2h"},
			b.Window,
			telemetry.Window{From: fixedNow.Add(-3 * time.Hour), To: fixedNow.Add(-2 * time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rca(t, append([]string{"analyze", "--snapshot", dir, "-o", "json"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			rep := decodeReport(t, r.stdout)
			if !rep.Window.From.Equal(tt.wantWindow.From) || !rep.Window.To.Equal(tt.wantWindow.To) {
				t.Errorf("window = %s .. %s, want %s", rep.Window.From, rep.Window.To, tt.wantWindow)
			}
			if !rep.Baseline.From.Equal(tt.wantBase.From) || !rep.Baseline.To.Equal(tt.wantBase.To) {
				t.Errorf("baseline = %s .. %s, want %s", rep.Baseline.From, rep.Baseline.To, tt.wantBase)
			}
		})
	}
}

func TestAnalyzeSnapshotErrors(t *testing.T) {
	dir, _ := writeSnapshot(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"baseline overlaps the recorded window", []string{"--baseline-offset", "10m"}, 2, "overlaps the window"},
		{"catalog file missing", []string{"--catalog", filepath.Join(dir, "nope.yaml")}, 1, "--catalog: catalog file"},
		{"out into a missing directory", []string{"--out", filepath.Join(dir, "no", "r.txt")}, 1, "writing report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOneLineError(t, rca(t, append([]string{"analyze", "--snapshot", dir}, tt.args...)...), tt.code, tt.want)
		})
	}
}

func TestAnalyzeOutFile(t *testing.T) {
	dir, _ := writeSnapshot(t)
	out := filepath.Join(t.TempDir(), "report.json")
	r := rca(t, "analyze", "--snapshot", dir, "-o", "json", "--out", out)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q (want empty), stderr %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	decodeReport(t, string(data))
}

func TestAnalyzeWindowOutsideData(t *testing.T) {
	dir, _ := writeSnapshot(t)
	r := rca(t, "analyze", "--snapshot", dir, "-o", "json", "--from", "now+1h", "--to", "now+2h")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	found := false
	for _, w := range rep.Warnings {
		found = found || strings.Contains(w, "lies outside the data")
	}
	if !found {
		t.Errorf("warnings = %q, want one saying the window is outside the data", rep.Warnings)
	}
}

// A baseline the snapshot holds no data of: the demo's logs still give
// candidates (the deploys, errors naming checkout), but with nothing to
// judge the window against none is named, and the warning says what to do.
func TestAnalyzeBaselineOutsideData(t *testing.T) {
	needPiDigits(t)
	r := rca(t, "analyze", "--snapshot", piDigits, "-o", "json", "--baseline-from", "2026-11-23T10:00:00Z", "--baseline-to", "2026-11-23T11:00:00Z")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	if rep.Verdict != "nothing_stands_out" || len(rep.RootCauses) == 0 || rep.RootCauses[0].Confidence != 0 {
		t.Errorf("verdict %q, root causes %+v: want candidates, none named, at confidence 0", rep.Verdict, rep.RootCauses)
	}
	found := false
	for _, w := range rep.Warnings {
		found = found || strings.Contains(w, "pick a baseline the data covers")
	}
	if !found {
		t.Errorf("warnings = %q, want one saying to pick a baseline the data covers", rep.Warnings)
	}
}

func TestAnalyzeConfigSnapshotRelative(t *testing.T) {
	dir, _ := writeSnapshot(t)
	// A config next to the snapshot names it relative to itself; rca runs
	// from somewhere else entirely.
	cfg := writeFile(t, filepath.Dir(dir), "rca.yaml", "snapshot: snap\noutput: json\n")
	r := rca(t, "--config", cfg, "analyze")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	decodeReport(t, r.stdout)
}

func TestAnalyzeBadSnapshot(t *testing.T) {
	tests := []struct {
		name     string
		manifest string // "" for no manifest at all
		want     string
	}{
		{"empty directory", "", "reading snapshot"},
		{"malformed manifest", "{\n", "manifest.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.manifest != "" {
				writeFile(t, dir, "manifest.json", tt.manifest)
			}
			wantOneLineError(t, rca(t, "analyze", "--snapshot", dir), 1, tt.want)
		})
	}
}
