package snapshot

import (
	"errors"
	"strings"
	"testing"

	"github.com/rca-tool/rca/internal/strictjson"
)

func TestCheckFile(t *testing.T) {
	ok := []string{"metrics/0001.json", "changes.json", "a/b/c.json", "./topology.json", "logs/..hidden.json"}
	bad := []string{"../x.json", "metrics/../../x.json", "metrics/../x.json", "/etc/passwd", `C:\x.json`, `metrics\0001.json`, "..", "a/.."}
	for _, p := range ok {
		if err := checkFile("f", p); err != nil {
			t.Errorf("checkFile(%q) = %v, want ok", p, err)
		}
	}
	for _, p := range bad {
		if err := checkFile("f", p); !errors.Is(err, ErrPath) {
			t.Errorf("checkFile(%q) = %v, want ErrPath", p, err)
		}
	}
	if err := checkFile("f", ""); err == nil || errors.Is(err, ErrPath) {
		t.Errorf("checkFile(\"\") = %v, want an empty-name error", err)
	}
}

func TestDecodeManifestMinimal(t *testing.T) {
	_, err := decodeManifest([]byte(`{"schema":"rca.snapshot/v1","window":{"from":"2024-05-01T14:00:00Z","to":"2024-05-01T15:00:00+01:00"}}`))
	// 15:00+01:00 is 14:00Z: an empty window.
	if !errors.Is(err, ErrWindow) {
		t.Fatalf("err = %v, want ErrWindow", err)
	}
	m, err := decodeManifest([]byte(`{"schema":"rca.snapshot/v1","window":{"from":"2024-05-01T14:00:00Z","to":"2024-05-01T14:30:00Z"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Metrics) != 0 || len(m.Logs) != 0 || m.Changes != "" || m.Target != nil {
		t.Errorf("minimal manifest decoded to %+v", m)
	}
}

// manifestSeeds are manifests as rca writes them and as people edit them.
var manifestSeeds = []string{
	handManifest,
	`{"schema":"rca.snapshot/v1","window":{"from":"2024-05-01T14:00:00Z","to":"2024-05-01T14:30:00Z"}}`,
	`{"schema":"rca.snapshot/v1","window":{"from":"2024-05-01T14:00:00.123456789+02:00","to":"2024-05-01T14:30:00Z"},"baseline":{"from":"2024-04-24T14:00:00Z","to":"2024-04-24T14:30:00Z"},"metrics":[{"signal":"","query":"up","file":"metrics/0001.json","step":"1m30s"}],"logs":[{"query":"{app=\"x\"}","limit":5000,"file":"logs/0001.json"}]}`,
	`{"schema":"rca.snapshot/v9"}`,
	`{"schema":null}`,
	`{"schema":"rca.snapshot/v1","window":{"from":"yesterday","to":"today"}}`,
	`{"schema":"rca.snapshot/v1","window":{"from":"2024-05-01T14:00:00Z","to":"2024-05-01T14:30:00Z"},"metrics":[{"file":"../../etc/passwd"}]}`,
	`{"schema":"rca.snapshot/v1","window":{"from":"2024-05-01T14:00:00Z","to":"2024-05-01T14:30:00Z"},"metrics":{"file":"x"}}`,
	`[]`,
	``,
}

// FuzzDecodeManifest: never panic, errors are one line, and an accepted
// manifest written back the way Write writes it is accepted again.
func FuzzDecodeManifest(f *testing.F) {
	for _, s := range manifestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		for _, name := range m.files() {
			if checkFile("f", name) != nil {
				t.Fatalf("accepted a manifest naming %q", name)
			}
		}
		out, err := strictjson.MarshalIndent(m)
		if err != nil {
			t.Fatalf("accepted manifest cannot be written back: %v", err)
		}
		if _, err := decodeManifest(out); err != nil {
			t.Fatalf("written-back manifest is rejected: %v\n%s", err, out)
		}
	})
}
