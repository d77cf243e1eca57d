package snapshot

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/telemetry"
)

// A manifest as a person capturing with curl would write it: the same query
// twice (baseline range, then window range), the same log query saved twice
// (overlapping lines) and an aggregate with no __name__.
const handManifest = `{
  "schema": "rca.snapshot/v1",
  "window":   {"from": "2024-05-01T14:00:00Z", "to": "2024-05-01T14:30:00Z"},
  "baseline": {"from": "2024-05-01T13:00:00+00:00", "to": "2024-05-01T14:00:00Z"},
  "created": "2024-05-01T15:00:00Z",
  "sources": {"prometheus": "http://prometheus:9090", "loki": "http://loki:3100"},
  "target": {"service": "gateway", "metric": "http_5xx_ratio"},
  "metrics": [
    {"signal": "http_5xx_ratio", "query": "sum by (service)(rate(http_requests_total{code=~\"5..\"}[1m]))",
     "start": "2024-05-01T13:00:00Z", "end": "2024-05-01T14:00:00Z", "step": "15s", "file": "metrics/baseline.json"},
    {"signal": "http_5xx_ratio", "query": "sum by (service)(rate(http_requests_total{code=~\"5..\"}[1m]))",
     "start": "2024-05-01T14:00:00Z", "end": "2024-05-01T14:30:00Z", "step": "15s", "file": "metrics/window.json"}
  ],
  "logs": [
    {"query": "{service=\"gateway\"} |= \"upstream\"", "start": "2024-05-01T14:00:00Z", "end": "2024-05-01T14:30:00Z", "limit": 1000, "file": "logs/gateway.json"},
    {"query": "{service=\"gateway\"} |= \"upstream\"", "start": "2024-05-01T14:00:00Z", "end": "2024-05-01T14:30:00Z", "limit": 1000, "file": "logs/gateway-again.json"}
  ],
  "changes": "changes.json",
  "topology": "topology.json",
  "warnings": ["captured by hand"],
  "future_field": {"ignored": true}
}`

// Prometheus output as curl saves it, including fields rca does not use.
const baselineBody = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"service":"gateway"},"values":[[1714568400,"0.001"],[1714571985,"0"],[1714572000,"0.002"]]}]},
 "warnings":["PromQL info: metric might not be a counter"]}`

const windowBody = `{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"service":"gateway"},"values":[[1714572000,"0.002"],[1714572015,"0.38"]]},
 {"metric":{"service":"checkout"},"values":[[1714572015,"NaN"]]}]},"stats":{"timings":{"evalTotalTime":0.01}}}`

const gatewayLogsBody = `{"status":"success","data":{"resultType":"streams","result":[
 {"stream":{"service":"gateway","level":"error"},"values":[
   ["1714572240000000000","upstream timed out (110: Connection timed out)"],
   ["1714572200000000000","upstream prematurely closed connection"]]}],
 "stats":{"summary":{"bytesProcessedPerSecond":1}}}}`

const changesBody = `[{"time":"2024-05-01T16:02:00+02:00","service":"checkout","kind":"deploy","summary":"deploy checkout v1.4.2","commit":"9f3c1e2"}]`

const topologyBody = `[{"caller":"gateway","callee":"checkout"},{"caller":"gateway","callee":"checkout"},{"caller":"checkout","callee":"db"}]`

func handFiles() map[string]string {
	return map[string]string{
		"manifest.json":           handManifest,
		"metrics/baseline.json":   baselineBody,
		"metrics/window.json":     windowBody,
		"logs/gateway.json":       gatewayLogsBody,
		"logs/gateway-again.json": gatewayLogsBody,
		"changes.json":            changesBody,
		"topology.json":           topologyBody,
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadSnapshotCapturedByHand(t *testing.T) {
	b, err := Read(context.Background(), writeTree(t, handFiles()))
	if err != nil {
		t.Fatal(err)
	}
	q := `sum by (service)(rate(http_requests_total{code=~"5.."}[1m]))`
	sec := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	want := telemetry.Bundle{
		Window:   telemetry.Window{From: incidentStart, To: afterStart(30 * time.Minute)},
		Baseline: telemetry.Window{From: afterStart(-time.Hour), To: incidentStart},
		Series: []telemetry.Series{
			telemetry.Series{Metric: "http_5xx_ratio", Signal: "http_5xx_ratio", Query: q, Labels: telemetry.Labels{"service": "checkout"}}.WithPoints([]telemetry.Point{{T: sec(1714572015), V: math.NaN()}}...),
			// Merged from both files; 14:00:00 was in both and is kept once.
			telemetry.Series{Metric: "http_5xx_ratio", Signal: "http_5xx_ratio", Query: q, Labels: telemetry.Labels{"service": "gateway"}}.WithPoints([]telemetry.Point{{T: sec(1714568400), V: 0.001}, {T: sec(1714571985), V: 0}, {T: sec(1714572000), V: 0.002}, {T: sec(1714572015), V: 0.38}}...),
		},
		Logs: []telemetry.LogLine{
			{T: time.Unix(1714572200, 0).UTC(), Labels: telemetry.Labels{"service": "gateway", "level": "error"}, Line: "upstream prematurely closed connection"},
			{T: time.Unix(1714572240, 0).UTC(), Labels: telemetry.Labels{"service": "gateway", "level": "error"}, Line: "upstream timed out (110: Connection timed out)"},
		},
		Changes: []telemetry.Change{{T: afterStart(2 * time.Minute), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2", Commit: "9f3c1e2"}},
		Edges:   []telemetry.Edge{{Caller: "checkout", Callee: "db"}, {Caller: "gateway", Callee: "checkout"}},
		Target:  &telemetry.Target{Service: "gateway", Metric: "http_5xx_ratio"},
		Warnings: []string{
			"captured by hand",
			"metrics/baseline.json: prometheus warning: PromQL info: metric might not be a counter",
		},
	}
	assertBundleEqual(t, want, b)
	if b.Changes[0].T.Location() != time.UTC || b.Window.From.Location() != time.UTC {
		t.Error("times are not UTC")
	}
}

func TestReadSnapshotErrors(t *testing.T) {
	with := func(name, body string) map[string]string {
		f := handFiles()
		f[name] = body
		return f
	}
	manifestWith := func(old, new string) map[string]string {
		if !strings.Contains(handManifest, old) {
			t.Fatalf("test manifest lacks %q", old)
		}
		return with("manifest.json", strings.Replace(handManifest, old, new, 1))
	}
	without := func(name string) map[string]string {
		f := handFiles()
		delete(f, name)
		return f
	}

	tests := []struct {
		name   string
		files  map[string]string
		is     error
		substr string
	}{
		{"no manifest", without("manifest.json"), ErrNotSnapshot, "no manifest.json in it — pass the folder that holds manifest.json"},
		{"empty manifest", with("manifest.json", "  \n"), nil, "manifest.json: empty file"},
		{"manifest syntax", with("manifest.json", "{\n  \"schema\": \"rca.snapshot/v1\",\n  \"window\": {,\n}"), nil, "manifest.json: invalid JSON at line 3, column 14"},
		{"manifest wrong type", manifestWith(`"limit": 1000`, `"limit": "lots"`), nil, `"logs.limit" must be an integer, not a JSON string`},
		{"manifest bad time", manifestWith(`"from": "2024-05-01T14:00:00Z"`, `"from": "yesterday"`), nil, `time "yesterday" is not RFC3339`},
		{"unknown schema", manifestWith(`"rca.snapshot/v1"`, `"rca.snapshot/v9"`), ErrSchema, `unsupported snapshot schema "rca.snapshot/v9" (this rca reads rca.snapshot/v1)`},
		{"no schema", manifestWith(`"schema": "rca.snapshot/v1",`, ``), ErrSchema, `no "schema" field`},
		{"window reversed", manifestWith(`"to": "2024-05-01T14:30:00Z"`, `"to": "2024-05-01T13:30:00Z"`), ErrWindow, `bad time range in "window": window start 2024-05-01T14:00:00Z is not before its end 2024-05-01T13:30:00Z`},
		{"window missing", manifestWith(`"window":   {"from": "2024-05-01T14:00:00Z", "to": "2024-05-01T14:30:00Z"},`, ``), ErrWindow, "window needs both a start and an end"},
		{"baseline half", manifestWith(`"to": "2024-05-01T14:00:00Z"}`, `"to": "0001-01-01T00:00:00Z"}`), ErrWindow, `bad time range in "baseline"`},
		{"baseline overlaps", manifestWith(`"to": "2024-05-01T14:00:00Z"}`, `"to": "2024-05-01T14:10:00Z"}`), ErrWindow, "overlaps the window"},
		{"entry range reversed", manifestWith(`"end": "2024-05-01T14:00:00Z"`, `"end": "2024-05-01T12:00:00Z"`), ErrWindow, "metrics[0]: end 2024-05-01T12:00:00Z is before start"},
		{"bad step", manifestWith(`"step": "15s"`, `"step": "fast"`), nil, `metrics[0].step "fast" is not a duration`},
		{"negative limit", manifestWith(`"limit": 1000`, `"limit": -1`), nil, "logs[0].limit -1 is negative"},
		{"missing metrics file", without("metrics/window.json"), fs.ErrNotExist, `metrics[1].file "metrics/window.json": file does not exist — fix the path`},
		{"missing changes file", without("changes.json"), fs.ErrNotExist, `changes "changes.json": file does not exist`},
		{"empty file name", manifestWith(`"file": "metrics/baseline.json"`, `"file": ""`), nil, "metrics[0].file is empty"},
		{"dot-dot", manifestWith(`"metrics/baseline.json"`, `"../metrics/baseline.json"`), ErrPath, `metrics[0].file "../metrics/baseline.json": path is not inside the snapshot folder`},
		{"inner dot-dot", manifestWith(`"metrics/baseline.json"`, `"metrics/../metrics/baseline.json"`), ErrPath, "path is not inside"},
		{"absolute", manifestWith(`"topology.json"`, `"/etc/passwd"`), ErrPath, `topology "/etc/passwd": path is not inside`},
		{"backslash", manifestWith(`"logs/gateway.json"`, `"logs\\..\\..\\x"`), ErrPath, "path is not inside"},
		{"prometheus error", with("metrics/window.json", `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}`), nil, `metrics/window.json: the query failed on the server (bad_data): invalid parameter "query": 1:5: parse error`},
		{"instant query", with("metrics/window.json", `{"status":"success","data":{"resultType":"vector","result":[]}}`), promapi.ErrResultType, `wrong resultType "vector", want "matrix" — capture with /api/v1/query_range`},
		{"metrics JSON broken", with("metrics/window.json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],]}]}}`), nil, "metrics/window.json: invalid JSON at line 1, column"},
		{"metrics value not a string", with("metrics/window.json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,1]]}]}}`), nil, "sample value must be a quoted string"},
		{"metrics value not a number", with("metrics/window.json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"abc"]]}]}}`), nil, `metrics/window.json: in data.result: value "abc" is not a number (want a decimal in quotes`},
		{"metrics time not a number", with("metrics/window.json", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]}}`), nil, `metrics/window.json: in data.result: "x" is not a whole number (want a timestamp in unix seconds`},
		{"HTML instead of JSON", with("metrics/window.json", "<html><body>502 Bad Gateway</body></html>"), nil, `not a Prometheus query_range JSON response (it starts with "<html>`},
		{"loki metric query", with("logs/gateway.json", `{"status":"success","data":{"resultType":"matrix","result":[]}}`), promapi.ErrResultType, `list it under "metrics"`},
		{"loki bad timestamp", with("logs/gateway.json", `{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[[1714572240,"x"]]}]}}`), nil, "must be a string of unix nanoseconds"},
		{"changes broken", with("changes.json", `[{"time":"2024-05-01T14:00:00Z","service":"x"},`), nil, "changes.json: invalid JSON"},
		{"changes not a list", with("changes.json", `{"time":"2024-05-01T14:00:00Z"}`), nil, "changes.json: line 1, column 1: the top level must be a list, not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(context.Background(), writeTree(t, tc.files))
			checkErr(t, err, tc.is, tc.substr)
		})
	}
}

func TestReadSnapshotPathErrors(t *testing.T) {
	ctx := context.Background()
	aFile := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(aFile, []byte(handManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symbolic link that leaves the folder is refused even though its name looks local.
	outside := writeTree(t, map[string]string{"secret.json": windowBody})
	linked := writeTree(t, handFiles())
	if err := os.Remove(filepath.Join(linked, "metrics/window.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(linked, "metrics/window.json")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name   string
		ctx    context.Context
		dir    string
		is     error
		substr string
	}{
		{"missing dir", ctx, "testdata/x", fs.ErrNotExist, "snapshot: open testdata/x: no such directory — pass the folder that holds manifest.json"},
		{"a file", ctx, aFile, ErrNotSnapshot, "it is a file — pass the folder that holds manifest.json"},
		{"symlink escape", ctx, linked, nil, `metrics[1].file: `},
		{"canceled", canceled, writeTree(t, handFiles()), context.Canceled, "context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.ctx, tc.dir)
			checkErr(t, err, tc.is, tc.substr)
		})
	}
}

// cancelAfter is a context that reports canceled after n checks, to show
// the reader checks between files and not only at the start.
type cancelAfter struct {
	context.Context
	n *int
}

func (c cancelAfter) Err() error {
	*c.n--
	if *c.n < 0 {
		return context.Canceled
	}
	return nil
}

func TestReadSnapshotChecksContextBetweenFiles(t *testing.T) {
	dir := writeTree(t, handFiles())
	n := 2
	_, err := Read(cancelAfter{context.Background(), &n}, dir)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
