package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFile(t *testing.T) {
	builtIn, err := LoadFile("", "--catalog")
	if err != nil || builtIn == nil {
		t.Fatalf("built-in: %v", err)
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := LoadFile(missing, "--catalog"); err == nil || err.Error() != "--catalog: catalog file "+missing+" does not exist" {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("signals: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad, "--catalog"); err == nil || !strings.HasPrefix(err.Error(), "loading signal catalog: catalog "+bad+": ") {
		t.Errorf("broken file: %v", err)
	}
}
