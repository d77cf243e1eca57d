package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

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
			golden := filepath.Join("testdata", "pi-digits."+format+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if r.stdout != string(want) {
				t.Errorf("report differs from %s; run go test ./cmd/rca -run Golden -update and review the diff", golden)
			}
		})
	}
}

// TestPiDigitsHTML: the command's page is the one the report package pins
// (report/testdata, regenerated there with go test ./report -update).
func TestPiDigitsHTML(t *testing.T) {
	needPiDigits(t)
	r := rca(t, "analyze", "--snapshot", piDigits, "-o", "html")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "report", "testdata", "pi-digits.html.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Error("rca analyze -o html differs from report/testdata/pi-digits.html.golden")
	}
}

// TestEvalCommand runs rca eval on the loader's fixture dataset, whose case
// without baseline rows must be reported as an error while the rest is scored.
func TestEvalCommand(t *testing.T) {
	ds := filepath.Join("..", "..", "collectors", "testdata", "dataset")
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
