package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOut(t *testing.T) {
	dir := t.TempDir()
	if err := CheckOut(filepath.Join(dir, "new"), false); err != nil {
		t.Errorf("a new folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifestName), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckOut(dir, false); err == nil || err.Error() != dir+" already holds a snapshot: pass --force to replace it, or choose another --out" {
		t.Errorf("an earlier snapshot: %v", err)
	}
	if err := CheckOut(dir, true); err != nil {
		t.Errorf("an earlier snapshot with force: %v", err)
	}
	file := filepath.Join(dir, manifestName)
	if err := CheckOut(file, false); err == nil || !strings.HasPrefix(err.Error(), "--out "+file+": ") {
		t.Errorf("a file as the folder: %v", err)
	}
	if err := CheckOut(os.DevNull, true); err == nil || err.Error() != "--out "+os.DevNull+": not a folder — a snapshot is a folder of files: pass a new or empty folder" {
		t.Errorf("a device as the folder: %v", err)
	}
}
