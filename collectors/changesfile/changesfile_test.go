package changesfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

const changesJSON = `[
  {"time": "2026-11-24T14:05:00+01:00", "service": "cart", "kind": "config", "summary": "raise pool size"},
  {"time": "2026-11-24T13:58:00Z", "service": "checkout", "to_version": "v1.4.2", "commit": "9f3c1e2"},
  {"time": "2026-11-24T13:10:00Z", "service": "gateway", "kind": "flag", "summary": "enable retries", "source": "launchdarkly"}
]`

const changesYAML = `
# deploys from the CD log
- time: "2026-11-24T14:05:00+01:00"
  service: cart
  kind: config
  summary: raise pool size
- time: 2026-11-24T13:58:00Z
  service: checkout
  to_version: v1.4.2
  commit: "9f3c1e2"
- {time: "2026-11-24T13:10:00Z", service: gateway, kind: flag, summary: enable retries, source: launchdarkly}
`

func TestReadChangesFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ name, content string }{
		{"changes.json", changesJSON},
		{"changes.yaml", changesYAML},
		{"changes.yml", changesYAML},
		{"changes.txt", changesJSON},
		{"CHANGES.JSON", changesJSON},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := []telemetry.Change{
			{T: time.Date(2026, 11, 24, 13, 5, 0, 0, time.UTC), Service: "cart", Kind: telemetry.ChangeConfig, Summary: "raise pool size", Source: "file " + tc.name},
			{T: time.Date(2026, 11, 24, 13, 10, 0, 0, time.UTC), Service: "gateway", Kind: telemetry.ChangeFlag, Summary: "enable retries", Source: "launchdarkly"},
			{T: time.Date(2026, 11, 24, 13, 58, 0, 0, time.UTC), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2", ToVersion: "v1.4.2", Commit: "9f3c1e2", Source: "file " + tc.name},
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d changes, want %d: %+v", tc.name, len(got), len(want), got)
			continue
		}
		for i := range want {
			g, w := got[i], want[i]
			if !g.T.Equal(w.T) || g.T.Location() != time.UTC || g.Service != w.Service || g.Kind != w.Kind ||
				g.Summary != w.Summary || g.ToVersion != w.ToVersion || g.Commit != w.Commit || g.Source != w.Source {
				t.Errorf("%s: change %d = %+v, want %+v", tc.name, i, g, w)
			}
		}
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseChangesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ext, data, want string
	}{
		{"no time", ".json", `[{"service": "a"}]`, "change 1: no time"},
		{"no service", ".json", `[{"time": "2026-11-24T13:58:00Z"}]`, "change 1: no service"},
		{"blank service", ".yaml", "- {time: '2026-11-24T13:58:00Z', service: '  '}", "change 1: no service"},
		{"second change", ".json", `[{"time": "2026-11-24T13:58:00Z", "service": "a"}, {"service": "b"}]`, "change 2: no time"},
		{"unknown kind", ".json", `[{"time": "2026-11-24T13:58:00Z", "service": "a", "kind": "rollout"}]`, `unknown kind "rollout"`},
		{"unknown field", ".json", `[{"time": "2026-11-24T13:58:00Z", "service": "a", "owner": "x"}]`, `unknown field "owner"`},
		{"unknown field yaml", ".yaml", "- time: '2026-11-24T13:58:00Z'\n  service: a\n  owner: x\n", `unknown field "owner"`},
		{"bad time", ".json", `[{"time": "yesterday", "service": "a"}]`, `time "yesterday" is not RFC3339`},
		{"bad time yaml", ".yaml", "- {time: yesterday, service: a}", "RFC3339"},
		{"malformed JSON", ".json", "[{\"time\": \"2026-11-24T13:58:00Z\",\n \"service\": }]", "invalid JSON at line 2"},
		{"an object", ".json", `{"time": "2026-11-24T13:58:00Z", "service": "a"}`, "must be"},
		{"malformed YAML", ".yaml", "- time: [\n", "line"},
		{"a YAML map", ".yaml", "time: x\nservice: y\n", "want a list of changes"},
		{"a YAML string", ".yaml", "hello", "want a list of changes"},
		{"number service", ".yaml", "- {time: '2026-11-24T13:58:00Z', service: 42}", "want a list of changes"},
		{"trailing data", ".json", `[{"time": "2026-11-24T13:58:00Z", "service": "a"}] [{"time": "2026-11-24T13:58:00Z", "service": "b"}]`, "after the list"},
		{"empty JSON", ".json", "  \n", "empty"},
	}
	for _, tc := range tests {
		got, err := parse([]byte(tc.data), tc.ext)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parse = %+v, %v; want an error with %q", tc.name, got, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: multi-line error %q", tc.name, err)
		}
	}
	// Empty lists are no changes, not errors.
	for _, empty := range []struct{ data, ext string }{{"[]", ".json"}, {"", ".yaml"}, {"# none yet\n", ".yaml"}, {"[]", ".yaml"}, {"null", ".json"}} {
		got, err := parse([]byte(empty.data), empty.ext)
		if err != nil || len(got) != 0 {
			t.Errorf("%q (%s): %+v, %v; want no changes", empty.data, empty.ext, got, err)
		}
	}
}

// FuzzParseChanges: never panic, and whatever parses is complete: a time
// in UTC, a service, a known kind and a summary, in order.
func FuzzParseChanges(f *testing.F) {
	for _, s := range []string{changesJSON, changesYAML, "[]", "", "- {time: '2026-11-24T13:58:00Z', service: a, kind: restart}",
		`[{"time":"2026-11-24T13:58:00Z","service":"a","files":["x.go"],"from_version":"1","author":"me"}]`, "{}", "[1]", "- [a]", "- ? a\n  : b\n"} {
		f.Add([]byte(s), ".json")
		f.Add([]byte(s), ".yaml")
	}
	f.Fuzz(func(t *testing.T, data []byte, ext string) {
		changes, err := parse(data, ext)
		if err != nil {
			return
		}
		for i, c := range changes {
			if c.T.IsZero() || strings.TrimSpace(c.Service) == "" || c.Summary == "" || c.T.Location() != time.UTC {
				t.Fatalf("change %d incomplete: %+v", i, c)
			}
			switch c.Kind {
			case telemetry.ChangeDeploy, telemetry.ChangeVersion, telemetry.ChangeConfig, telemetry.ChangeRestart, telemetry.ChangeCommit, telemetry.ChangeFlag:
			default:
				t.Fatalf("change %d: kind %q", i, c.Kind)
			}
			if i > 0 && c.T.Before(changes[i-1].T) {
				t.Fatalf("changes out of order")
			}
		}
	})
}
