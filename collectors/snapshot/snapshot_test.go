package snapshot

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/internal/peakmem"
	"github.com/rca-tool/rca/telemetry"
)

var incidentStart = time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)

func afterStart(d time.Duration) time.Time { return incidentStart.Add(d) }

// stepPoints makes points every step from start with the given values.
func stepPoints(start time.Time, step time.Duration, vs ...float64) []telemetry.Point {
	out := make([]telemetry.Point, len(vs))
	for i, v := range vs {
		out[i] = telemetry.Point{T: start.Add(time.Duration(i) * step), V: v}
	}
	return out
}

// testBundle is a small incident with every kind of content, deliberately
// out of order so the round trip also checks normalization.
func testBundle() telemetry.Bundle {
	step := 15 * time.Second
	return telemetry.Bundle{
		Window:   telemetry.Window{From: afterStart(0), To: afterStart(30 * time.Minute)},
		Baseline: telemetry.Window{From: afterStart(-time.Hour), To: afterStart(0)},
		Series: []telemetry.Series{
			telemetry.Series{ // raw series from a query, with __name__
				Metric: "container_cpu_usage_seconds_total", Signal: "cpu",
				Query:  `rate(container_cpu_usage_seconds_total{namespace="shop"}[1m])`,
				Labels: telemetry.Labels{"service": "checkout", "pod": "checkout-7d9f"},
			}.WithPoints(stepPoints(afterStart(-time.Minute), step, 0.3, 0.31, math.NaN(), 1.95, 1.97)...),
			telemetry.Series{ // an aggregate: no __name__, named by its signal
				Metric: "http_5xx_ratio", Signal: "http_5xx_ratio",
				Query:  `sum by (service)(rate(http_requests_total{code=~"5.."}[1m])) / sum by (service)(rate(http_requests_total[1m]))`,
				Labels: telemetry.Labels{"service": "gateway"},
			}.WithPoints(stepPoints(afterStart(0), step, 0, 0.01, math.Inf(1), math.Inf(-1), 0.38)...),
			telemetry.Series{
				Metric: "http_5xx_ratio", Signal: "http_5xx_ratio",
				Query:  `sum by (service)(rate(http_requests_total{code=~"5.."}[1m])) / sum by (service)(rate(http_requests_total[1m]))`,
				Labels: telemetry.Labels{"service": "checkout"},
			}.WithPoints(stepPoints(afterStart(0), step, 0, 0, 0.02)...),
			telemetry.Series{ // same query, second metric name
				Metric: "container_memory_working_set_bytes", Signal: "cpu",
				Query:  `rate(container_cpu_usage_seconds_total{namespace="shop"}[1m])`,
				Labels: telemetry.Labels{"service": "cart"},
			}.WithPoints(stepPoints(afterStart(-time.Minute).Add(123*time.Millisecond), step, 1e9, 1.5e9)...),
			telemetry.Series{ // no query, no signal: a generated raw series
				Metric: "kube_pod_container_status_restarts_total",
				Labels: telemetry.Labels{"service": "payments", "note": `quote " and <html> & ünïcode`},
			}.WithPoints(stepPoints(afterStart(time.Minute), time.Minute, 0, 1, 1)...),
			telemetry.Series{ // no labels at all
				Metric: "up",
				Labels: telemetry.Labels{},
			}.WithPoints(stepPoints(afterStart(0), step, 1)...),
		},
		Logs: []telemetry.LogLine{
			{T: afterStart(4*time.Minute + 7), Labels: telemetry.Labels{"service": "gateway", "level": "error"}, Line: `upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://checkout:8080/api/checkout"`},
			{T: afterStart(4 * time.Minute), Labels: telemetry.Labels{"service": "gateway", "level": "error"}, Line: "b same time"},
			{T: afterStart(4 * time.Minute), Labels: telemetry.Labels{"service": "gateway", "level": "error"}, Line: "a same time"},
			{T: afterStart(4 * time.Minute), Labels: telemetry.Labels{"service": "checkout", "level": "info"}, Line: "computing pi to 10,000 places"},
			{T: afterStart(-30 * time.Minute), Labels: telemetry.Labels{"service": "cart"}, Line: "cache warm\ttabs\nand newline"},
		},
		Changes: []telemetry.Change{
			{T: afterStart(2 * time.Minute), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2",
				FromVersion: "v1.4.1", ToVersion: "v1.4.2", Commit: "9f3c1e2", Author: "dev@example.com",
				Files: []string{"pi.go"}, Source: "kube_deployment_status_observed_generation"},
			{T: afterStart(-40 * time.Minute).In(time.FixedZone("CEST", 2*3600)), Service: "catalog", Kind: telemetry.ChangeDeploy, Summary: "deploy catalog v2.0.0"},
			{T: afterStart(2 * time.Minute), Service: "cart", Kind: telemetry.ChangeRestart, Summary: "cart restarted"},
		},
		Edges: []telemetry.Edge{
			{Caller: "gateway", Callee: "checkout"},
			{Caller: "checkout", Callee: "payments"},
			{Caller: "gateway", Callee: "cart"},
			{Caller: "payments", Callee: "db"},
		},
		Target:   &telemetry.Target{Service: "gateway", Metric: "http_5xx_ratio"},
		Warnings: []string{"loki: query timed out for {service=\"db\"}", "no deploy markers found"},
	}
}

// normalized is the order Read documents, sorted here independently.
func normalized(b telemetry.Bundle) telemetry.Bundle {
	b.Series = slices.Clone(b.Series)
	sort.SliceStable(b.Series, func(i, j int) bool { return b.Series[i].ID() < b.Series[j].ID() })
	b.Logs = slices.Clone(b.Logs)
	sort.SliceStable(b.Logs, func(i, j int) bool {
		a, c := b.Logs[i], b.Logs[j]
		if !a.T.Equal(c.T) {
			return a.T.Before(c.T)
		}
		if a.Labels.String() != c.Labels.String() {
			return a.Labels.String() < c.Labels.String()
		}
		return a.Line < c.Line
	})
	b.Changes = slices.Clone(b.Changes)
	sort.SliceStable(b.Changes, func(i, j int) bool {
		a, c := b.Changes[i], b.Changes[j]
		if !a.T.Equal(c.T) {
			return a.T.Before(c.T)
		}
		return a.Service < c.Service
	})
	b.Edges = slices.Clone(b.Edges)
	sort.Slice(b.Edges, func(i, j int) bool {
		a, c := b.Edges[i], b.Edges[j]
		return a.Caller < c.Caller || (a.Caller == c.Caller && a.Callee < c.Callee)
	})
	return b
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameLabels(a, b telemetry.Labels) bool { return maps.Equal(a, b) } // nil equals empty

func assertBundleEqual(t *testing.T, want, got telemetry.Bundle) {
	t.Helper()
	if !want.Window.From.Equal(got.Window.From) || !want.Window.To.Equal(got.Window.To) {
		t.Errorf("window = %v, want %v", got.Window, want.Window)
	}
	if !want.Baseline.From.Equal(got.Baseline.From) || !want.Baseline.To.Equal(got.Baseline.To) {
		t.Errorf("baseline = %v, want %v", got.Baseline, want.Baseline)
	}
	if len(got.Series) != len(want.Series) {
		t.Fatalf("got %d series, want %d", len(got.Series), len(want.Series))
	}
	for i, w := range want.Series {
		g := got.Series[i]
		if g.Metric != w.Metric || g.Signal != w.Signal || g.Query != w.Query || !sameLabels(g.Labels, w.Labels) {
			t.Errorf("series[%d] = %s signal=%q query=%q, want %s signal=%q query=%q", i, g.ID(), g.Signal, g.Query, w.ID(), w.Signal, w.Query)
			continue
		}
		if g.Len() != w.Len() {
			t.Errorf("series %s: %d points, want %d", w.ID(), g.Len(), w.Len())
			continue
		}
		for j, p := range w.Points() {
			if !p.T.Equal(g.Point(j).T) || !sameFloat(p.V, g.Point(j).V) {
				t.Errorf("series %s point %d = %v %v, want %v %v", w.ID(), j, g.Point(j).T, g.Point(j).V, p.T, p.V)
			}
			if g.Point(j).T.Location() != time.UTC {
				t.Errorf("series %s point %d not UTC", w.ID(), j)
			}
		}
	}
	if len(got.Logs) != len(want.Logs) {
		t.Fatalf("got %d log lines, want %d", len(got.Logs), len(want.Logs))
	}
	for i, w := range want.Logs {
		g := got.Logs[i]
		if !g.T.Equal(w.T) || g.Line != w.Line || !sameLabels(g.Labels, w.Labels) {
			t.Errorf("log[%d] = %v %v %q, want %v %v %q", i, g.T, g.Labels, g.Line, w.T, w.Labels, w.Line)
		}
	}
	if len(got.Changes) != len(want.Changes) {
		t.Fatalf("got %d changes, want %d", len(got.Changes), len(want.Changes))
	}
	for i, w := range want.Changes {
		g := got.Changes[i]
		if !g.T.Equal(w.T) {
			t.Errorf("change[%d] time = %v, want %v", i, g.T, w.T)
		}
		g.T, w.T = time.Time{}, time.Time{}
		if g.Service != w.Service || g.Kind != w.Kind || g.Summary != w.Summary || g.FromVersion != w.FromVersion ||
			g.ToVersion != w.ToVersion || g.Commit != w.Commit || g.Author != w.Author || g.Source != w.Source ||
			!slices.Equal(g.Files, w.Files) {
			t.Errorf("change[%d] = %+v, want %+v", i, g, w)
		}
	}
	if !slices.Equal(got.Edges, want.Edges) {
		t.Errorf("edges = %v, want %v", got.Edges, want.Edges)
	}
	switch {
	case (got.Target == nil) != (want.Target == nil):
		t.Errorf("target = %v, want %v", got.Target, want.Target)
	case got.Target != nil && *got.Target != *want.Target:
		t.Errorf("target = %+v, want %+v", *got.Target, *want.Target)
	}
	if !slices.Equal(got.Warnings, want.Warnings) {
		t.Errorf("warnings = %q, want %q", got.Warnings, want.Warnings)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	in := testBundle()
	dir := filepath.Join(t.TempDir(), "incident")
	if err := Write(ctx, dir, in); err != nil {
		t.Fatal(err)
	}
	got, err := Read(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	assertBundleEqual(t, normalized(in), got)

	// Writing what was read gives the same bytes: a re-recorded snapshot diffs clean.
	dir2 := filepath.Join(t.TempDir(), "again")
	if err := Write(ctx, dir2, got); err != nil {
		t.Fatal(err)
	}
	assertSameTree(t, dir, dir2)
}

func TestSnapshotEmptyBundle(t *testing.T) {
	ctx := context.Background()
	in := telemetry.Bundle{Window: telemetry.Window{From: afterStart(0), To: afterStart(time.Hour)}}
	dir := t.TempDir()
	if err := Write(ctx, dir, in); err != nil {
		t.Fatal(err)
	}
	got, err := Read(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	assertBundleEqual(t, in, got)
	if !got.Baseline.From.IsZero() || got.Target != nil {
		t.Errorf("baseline %v target %v, want none", got.Baseline, got.Target)
	}
}

func TestWriteSnapshotDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	in := testBundle()
	if err := Write(ctx, a, in); err != nil {
		t.Fatal(err)
	}
	// Same content in another order must give the same bytes.
	shuffled := testBundle()
	slices.Reverse(shuffled.Series)
	slices.Reverse(shuffled.Logs)
	slices.Reverse(shuffled.Changes)
	slices.Reverse(shuffled.Edges)
	if err := Write(ctx, b, shuffled); err != nil {
		t.Fatal(err)
	}
	assertSameTree(t, a, b)
}

// TestWriteSnapshotLayout pins the documented layout and encodings.
func TestWriteSnapshotLayout(t *testing.T) {
	dir := t.TempDir()
	if err := Write(context.Background(), dir, testBundle()); err != nil {
		t.Fatal(err)
	}
	files := treeFiles(t, dir)
	wantFiles := []string{"changes.json", "logs/0001.json", "manifest.json",
		"metrics/0001.json", "metrics/0002.json", "metrics/0003.json", "metrics/0004.json", "topology.json"}
	if !slices.Equal(slices.Sorted(maps.Keys(files)), wantFiles) {
		t.Fatalf("files = %v, want %v", slices.Sorted(maps.Keys(files)), wantFiles)
	}
	man := string(files["manifest.json"])
	for _, want := range []string{
		`"schema": "rca.snapshot/v1"`,
		`"from": "2024-05-01T14:00:00Z"`,
		`"step": "15s"`,
		`"file": "metrics/0001.json"`,
		`"changes": "changes.json"`,
		`"topology": "topology.json"`,
		`"limit": 5`,
		`{code=~\"5..\"}`,
		`"service": "gateway"`,
	} {
		if !strings.Contains(man, want) {
			t.Errorf("manifest.json lacks %s:\n%s", want, man)
		}
	}
	if strings.Contains(man, "created") {
		t.Errorf("manifest.json has a created time without Meta:\n%s", man)
	}
	// Groups sort by signal: "" (raw up, restarts), cpu, http_5xx_ratio.
	agg := string(files["metrics/0004.json"])
	if strings.Contains(agg, "__name__") || !strings.Contains(agg, `"+Inf"`) || !strings.Contains(agg, `"-Inf"`) {
		t.Errorf("aggregate file should have no __name__ and string ±Inf values:\n%s", agg)
	}
	raw := string(files["metrics/0003.json"])
	if !strings.Contains(raw, `"__name__":"container_cpu_usage_seconds_total"`) || !strings.Contains(raw, `"NaN"`) ||
		!strings.Contains(raw, `[1714571940.123,"1000000000"]`) {
		t.Errorf("raw file should carry __name__, NaN and millisecond timestamps:\n%s", raw)
	}
	if restarts := string(files["metrics/0001.json"]); !strings.Contains(restarts, `"note":"quote \" and <html> & ünïcode"`) {
		t.Errorf("label values should not be HTML-escaped:\n%s", restarts)
	}
	logs := string(files["logs/0001.json"])
	if !strings.Contains(logs, `"resultType": "streams"`) || !strings.Contains(logs, `["1714572240000000007","upstream timed out`) {
		t.Errorf("logs file is not a Loki streams response:\n%s", logs)
	}
	// Every data file is exactly what the live decoders accept.
	for name, data := range files {
		switch {
		case strings.HasPrefix(name, "metrics/"):
			if _, _, err := promapi.DecodeMatrix(data); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case strings.HasPrefix(name, "logs/"):
			if _, _, err := loki.DecodeStreams(data); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

func TestWriteSnapshotMetaRedactsSources(t *testing.T) {
	dir := t.TempDir()
	meta := Meta{
		Created:    time.Date(2024, 5, 1, 15, 0, 0, 999, time.FixedZone("X", 3600)),
		Prometheus: "https://oncall:s3cret@prom.example.com/prometheus?access_token=abc#frag",
		Loki:       "http://loki:3100",
	}
	if err := WriteMeta(context.Background(), dir, testBundle(), meta); err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"oncall", "s3cret", "access_token", "abc", "frag"} {
		if bytes.Contains(man, []byte(secret)) {
			t.Errorf("manifest.json leaks %q:\n%s", secret, man)
		}
	}
	for _, want := range []string{`"prometheus": "https://prom.example.com/prometheus"`, `"loki": "http://loki:3100"`, `"created": "2024-05-01T14:00:00Z"`} {
		if !bytes.Contains(man, []byte(want)) {
			t.Errorf("manifest.json lacks %s:\n%s", want, man)
		}
	}
}

func TestWriteSnapshotReplacesSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := Write(ctx, dir, testBundle()); err != nil {
		t.Fatal(err)
	}
	// A user's note next to the snapshot survives a rewrite.
	if err := os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	small := testBundle()
	small.Series = small.Series[:1]
	small.Logs = nil
	if err := Write(ctx, dir, small); err != nil {
		t.Fatal(err)
	}
	files := treeFiles(t, dir)
	for _, stale := range []string{"metrics/0002.json", "metrics/0003.json", "metrics/0004.json", "logs/0001.json"} {
		if _, ok := files[stale]; ok {
			t.Errorf("stale %s left behind", stale)
		}
	}
	if _, ok := files["NOTES.md"]; !ok {
		t.Error("NOTES.md was removed")
	}
	for name := range files {
		if strings.Contains(name, ".tmp-") {
			t.Errorf("temporary file %s left behind", name)
		}
	}
	got, err := Read(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	assertBundleEqual(t, normalized(small), got)
}

func TestWriteSnapshotErrors(t *testing.T) {
	ctx := context.Background()
	good := testBundle()
	withName := testBundle()
	withName.Series[0].Labels = telemetry.Labels{"__name__": "x"}
	emptyLabel := testBundle()
	emptyLabel.Series[0].Labels = telemetry.Labels{"": "x"}
	noWindow := testBundle()
	noWindow.Window = telemetry.Window{}
	reversed := testBundle()
	reversed.Window = telemetry.Window{From: afterStart(time.Hour), To: afterStart(0)}
	overlap := testBundle()
	overlap.Baseline = telemetry.Window{From: afterStart(-30 * time.Minute), To: afterStart(10 * time.Minute)}
	farLog := testBundle()
	farLog.Logs = []telemetry.LogLine{{T: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Line: "x"}}

	notSnapshot := t.TempDir()
	if err := os.WriteFile(filepath.Join(notSnapshot, "thesis.tex"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	otherSchema := t.TempDir()
	if err := os.WriteFile(filepath.Join(otherSchema, "manifest.json"), []byte(`{"schema":"rca.snapshot/v9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name   string
		ctx    context.Context
		dir    string
		b      telemetry.Bundle
		is     error
		substr string
	}{
		{"no window", ctx, "", noWindow, ErrWindow, `"window": window needs both a start and an end`},
		{"reversed window", ctx, "", reversed, ErrWindow, "is not before its end"},
		{"overlapping baseline", ctx, "", overlap, ErrWindow, "overlaps the window"},
		{"__name__ label", ctx, "", withName, nil, "put the name in Series.Metric"},
		{"empty label name", ctx, "", emptyLabel, nil, "is not valid"},
		{"log time out of range", ctx, "", farLog, nil, "outside the time range Loki can represent"},
		{"non-empty folder", ctx, notSnapshot, good, ErrNotSnapshot, "not empty and has no manifest.json"},
		{"a file", ctx, aFile, good, ErrNotSnapshot, "it is a file"},
		{"other schema", ctx, otherSchema, good, ErrSchema, "cannot replace"},
		{"canceled", canceled, "", good, context.Canceled, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "new")
			}
			err := Write(tc.ctx, dir, tc.b)
			checkErr(t, err, tc.is, tc.substr)
			if tc.dir == "" {
				if _, statErr := os.Stat(dir); statErr == nil {
					t.Errorf("%s was created although the write failed", dir)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(notSnapshot, "manifest.json")); err == nil {
		t.Error("wrote into a folder that is not a snapshot")
	}
}

// checkErr asserts one line of text that names the problem and can be matched.
func checkErr(t *testing.T, err error, is error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", substr)
	}
	msg := err.Error()
	t.Log(msg)
	if !strings.Contains(msg, substr) {
		t.Errorf("error %q does not contain %q", msg, substr)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, "snapshot: ") {
		t.Errorf("error %q lacks the snapshot: prefix", msg)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("errors.Is(%q, %v) = false", msg, is)
	}
}

func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertSameTree(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := treeFiles(t, a), treeFiles(t, b)
	if !slices.Equal(slices.Sorted(maps.Keys(fa)), slices.Sorted(maps.Keys(fb))) {
		t.Fatalf("file sets differ: %v vs %v", slices.Sorted(maps.Keys(fa)), slices.Sorted(maps.Keys(fb)))
	}
	for name, da := range fa {
		if !bytes.Equal(da, fb[name]) {
			t.Errorf("%s differs:\n%s\n---\n%s", name, da, fb[name])
		}
	}
}

// BenchmarkReadSnapshot reads an incident of demo size: 300 series of three
// hours at 15s, which `rca analyze` should load well under a second, in
// files of 10 series; "one-answer" holds 3,000 in one file, as one query of
// a big installation answers.
func BenchmarkReadSnapshot(b *testing.B) {
	b.Run("demo", func(b *testing.B) { benchmarkReadSnapshot(b, 300, 30) })
	b.Run("one-answer", func(b *testing.B) { benchmarkReadSnapshot(b, 3000, 1) })
}

func benchmarkReadSnapshot(b *testing.B, series, queries int) {
	in := telemetry.Bundle{
		Window:   telemetry.Window{From: afterStart(0), To: afterStart(time.Hour)},
		Baseline: telemetry.Window{From: afterStart(-2 * time.Hour), To: afterStart(0)},
	}
	vals := make([]float64, 720)
	for i := range vals {
		vals[i] = math.Sin(float64(i)) * 100
	}
	for i := range series {
		in.Series = append(in.Series, telemetry.Series{
			Metric: "container_cpu_usage_seconds_total", Signal: "cpu", Query: "q" + strconv.Itoa(i%queries),
			Labels: telemetry.Labels{"service": "svc" + strconv.Itoa(i), "pod": "pod-" + strconv.Itoa(i)},
		}.WithPoints(stepPoints(afterStart(-2*time.Hour), 15*time.Second, vals...)...))
	}
	dir := b.TempDir()
	if err := Write(context.Background(), dir, in); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	s := peakmem.Start()
	for b.Loop() {
		if _, err := Read(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.Stop())/(1<<20), "peak-heap-MB")
}
