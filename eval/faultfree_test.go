package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rca-tool/rca/telemetry"
)

// copyCase copies a fixture case folder to dst, with case.json replaced
// when caseJSON is not empty.
func copyCase(t *testing.T, src, dst, caseJSON string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "case.json" && caseJSON != "" {
			data = []byte(caseJSON)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// quiet ranks like fixed but says that nothing stands out.
type quiet struct{ fixed }

func (q quiet) Answer(telemetry.Bundle) Answer { return Answer{Services: q.rank} }

// Issue 17 #9: a fault-free case (format 1.1, root_cause null) is not a
// miss. AC@k is over the fault cases; the fault-free ones give each method
// its specificity, the share where it named no root cause.
func TestFaultFreeCases(t *testing.T) {
	dir := t.TempDir()
	cases := filepath.Join(fixture, "cases")
	copyCase(t, filepath.Join(cases, "case-a"), filepath.Join(dir, "cases", "case-a"), "")
	copyCase(t, filepath.Join(cases, "case-b"), filepath.Join(dir, "cases", "case-b"), "")
	copyCase(t, filepath.Join(cases, "case-a"), filepath.Join(dir, "cases", "normal-a"),
		`{"id": "normal-a", "system": "fixture", "fault": null, "root_cause": null,
		  "window": {"from": 960, "to": 1200}, "baseline": {"from": 600, "to": 960}, "cut_from": "case-a"}`)

	rankers := []Ranker{fixed{name: "always-db", rank: []string{"db", "cart"}}, quiet{fixed{name: "quiet", rank: []string{"cart", "db"}}}, NSigma{}}
	rep, err := Run(context.Background(), []string{dir}, rankers, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Datasets[0]
	if d.Cases != 3 || d.FaultCount != 2 || d.FaultFreeCount != 1 || len(d.Errors) != 0 {
		t.Fatalf("cases %d (%d fault, %d fault-free), errors %v; want 3 (2, 1), none", d.Cases, d.FaultCount, d.FaultFreeCount, d.Errors)
	}
	db, _ := d.Method("always-db")
	if db.Cases != 2 || db.AC1 != 0.5 || db.AC3 != 1 {
		t.Errorf("always-db = %+v, want AC@1 0.5, AC@3 1 over the 2 fault cases", db.Scores)
	}
	if _, ok := db.ByFault[""]; ok || len(db.ByFault) != 2 {
		t.Errorf("by fault = %v, want the two fault types and no fault-free row", db.ByFault)
	}
	if db.FaultFree == nil || *db.FaultFree != (FaultFree{Cases: 1, Quiet: 0, Specificity: 0}) {
		t.Errorf("always-db fault-free = %+v, want 1 case, a culprit named, specificity 0", db.FaultFree)
	}
	q, _ := d.Method("quiet")
	if q.FaultFree == nil || *q.FaultFree != (FaultFree{Cases: 1, Quiet: 1, Specificity: 1}) || q.AC1 != 0.5 {
		t.Errorf("quiet = %+v fault-free %+v, want AC@1 0.5 and specificity 1", q.Scores, q.FaultFree)
	}
	ns, _ := d.Method("nsigma")
	if ns.FaultFree == nil || ns.FaultFree.Specificity != 0 || ns.AC1 != 1 {
		t.Errorf("nsigma = %+v fault-free %+v: it always names a culprit", ns.Scores, ns.FaultFree)
	}
	for _, w := range d.Wrong {
		if w.Case == "normal-a" {
			t.Errorf("the fault-free case is listed as a miss: %+v", w)
		}
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Datasets []struct {
			Cases          int `json:"cases"`
			FaultCases     int `json:"fault_cases"`
			FaultFreeCases int `json:"fault_free_cases"`
			Methods        map[string]struct {
				Cases     int        `json:"cases"`
				AC1       float64    `json:"ac1"`
				FaultFree *FaultFree `json:"fault_free"`
			} `json:"methods"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	jd := doc.Datasets[0]
	if jd.Cases != 3 || jd.FaultCases != 2 || jd.FaultFreeCases != 1 || jd.Methods["quiet"].FaultFree == nil || jd.Methods["quiet"].FaultFree.Specificity != 1 || jd.Methods["quiet"].Cases != 2 {
		t.Errorf("json = %s", js.String())
	}
	var txt bytes.Buffer
	if err := WriteText(&txt, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 cases scored (2 with a fault, 1 fault-free)", "fault-free cases", "specificity", "missed 1 of 2 fault cases"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| quiet | 1 | 1 | 0 | 1.00 |") {
		t.Errorf("markdown lacks the quiet ranker's specificity row:\n%s", md.String())
	}
}

// Issue 17 #15: when no case of a dataset loads, Run fails with one clear
// line instead of a table of zeros; a case folder that is a symlink out
// of the dataset is listed as an error, not dropped.
func TestRunNoCaseLoads(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"c1", "c2"} {
		copyCase(t, filepath.Join(fixture, "cases", "case-a"), filepath.Join(dir, "cases", c),
			`{"window": {"from": "noon", "to": 1200}, "baseline": {"from": 600, "to": 960}}`)
	}
	_, err := Run(context.Background(), []string{dir}, []Ranker{NSigma{}}, nil)
	if err == nil {
		t.Fatal("no case loaded, and Run gave no error")
	}
	msg := err.Error()
	for _, want := range []string{"no case loaded (of 2 cases)", "case c1: case.json", `"window.from" must be an integer`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "Go struct") {
		t.Errorf("error %q: want one line in a person's words", msg)
	}

	// A symlink out of the dataset is an error of the run's report.
	other := t.TempDir()
	copyCase(t, filepath.Join(fixture, "cases", "case-b"), filepath.Join(other, "case-b"), "")
	good := t.TempDir()
	copyCase(t, filepath.Join(fixture, "cases", "case-a"), filepath.Join(good, "cases", "case-a"), "")
	if err := os.Symlink(filepath.Join(other, "case-b"), filepath.Join(good, "cases", "case-b")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	rep, err := Run(context.Background(), []string{good}, []Ranker{NSigma{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Datasets[0]
	if d.Cases != 1 || len(d.Errors) != 1 || d.Errors[0].Case != "case-b" || !strings.Contains(d.Errors[0].Error, "symlink out of the dataset folder") {
		t.Errorf("cases %d, errors %+v; want 1 case and the symlink reported", d.Cases, d.Errors)
	}
}
