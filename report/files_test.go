package report

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteFiles(t *testing.T) {
	r := demoResult()
	dir := t.TempDir()
	files, err := WriteFiles(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(files, []string{"report.md", "report.json", "report.html"}) {
		t.Errorf("files = %q", files)
	}
	for _, f := range []struct{ name, format string }{{"report.md", "markdown"}, {"report.json", "json"}, {"report.html", "html"}} {
		var want bytes.Buffer
		if err := Render(&want, f.format, r); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, f.name)); err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from Render %s (%v)", f.name, f.format, err)
		}
	}
	files, err = WriteImpactFiles(dir, impactFixture())
	if err != nil || !slices.Equal(files, []string{"impact.md", "impact.json"}) {
		t.Errorf("impact files = %q, %v", files, err)
	}
	var want bytes.Buffer
	if err := RenderImpact(&want, "json", impactFixture()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "impact.json")); !bytes.Equal(got, want.Bytes()) {
		t.Error("impact.json differs from RenderImpact json")
	}
	if _, err := WriteFiles(filepath.Join(dir, "missing"), r); err == nil || !strings.Contains(err.Error(), "writing report") {
		t.Errorf("into a missing folder: err = %v", err)
	}
}
