package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/golden"
	"github.com/rca-tool/rca/report"
)

// TestPiDigitsGolden pins the whole report on the bundled demo incident in
// every format, end to end through the command: a change anywhere in the
// pipeline that moves the report shows up here. Regenerate with
// go test ./cmd/rca -run Golden -update, and read the diff.
func TestPiDigitsGolden(t *testing.T) {
	needPiDigits(t)
	for _, format := range []string{"text", "markdown", "json"} {
		t.Run(format, func(t *testing.T) {
			r := rca(t, "analyze", "--snapshot", piDigits, "-o", format)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden.Assert(t, filepath.Join("testdata", "pi-digits."+format+".golden"), []byte(r.stdout))
		})
	}
}

// TestPiDigitsHTML: the command's page is, byte for byte, the report
// package's page of the same analysis (the snapshot, the built-in catalog,
// default options). The page's bytes are pinned once, where it is made:
// report's TestHTMLPiDigitsGolden renders that same analysis.
func TestPiDigitsHTML(t *testing.T) {
	needPiDigits(t)
	r := rca(t, "analyze", "--snapshot", piDigits, "-o", "html")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := snapshot.Read(context.Background(), piDigits)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := report.RenderHTML(&want, analysis.Analyze(b, cat, analysis.Options{})); err != nil {
		t.Fatal(err)
	}
	if r.stdout != want.String() {
		t.Error("rca analyze -o html differs from report.RenderHTML of the same analysis")
	}
}

// TestEvalCommand runs rca eval on the loader's fixture dataset, whose case
// without baseline rows must be reported as an error while the rest is scored.
func TestEvalCommand(t *testing.T) {
	ds := filepath.Join("..", "..", "eval", "dataset", "testdata", "dataset")
	r := rca(t, "eval", "--dataset", ds, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Schema   string `json:"schema"`
		Datasets []struct {
			Cases   int                        `json:"cases"`
			Methods map[string]json.RawMessage `json:"methods"`
			Errors  []json.RawMessage          `json:"errors"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("eval JSON: %v", err)
	}
	if rep.Schema != "rca.eval/v1" || len(rep.Datasets) != 1 {
		t.Fatalf("schema %q, %d datasets", rep.Schema, len(rep.Datasets))
	}
	d := rep.Datasets[0]
	for _, m := range []string{"rca", "nsigma", "baro"} {
		if d.Methods[m] == nil {
			t.Errorf("method %s missing", m)
		}
	}
	if d.Cases == 0 || len(d.Errors) != 1 {
		t.Errorf("cases %d, errors %d: want the good cases scored and the one without baseline listed", d.Cases, len(d.Errors))
	}

	bad := rca(t, "eval", "--dataset", filepath.Join(t.TempDir(), "missing"))
	wantOneLineError(t, bad, 0, "missing")
}
