package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	for _, s := range []string{"first", "second"} {
		if err := Write(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "second" {
		t.Errorf("content = %q, %v", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	if err := Write(path, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "report.json")
}

func TestWriteMissingFolder(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "no", "such", "r.json")
	err := Write(path, []byte("x"), 0o644)
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != path || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a PathError for %s wrapping ErrNotExist", err, path)
	}
	if strings.Contains(err.Error(), ".tmp-") {
		t.Errorf("the error names the temporary file: %v", err)
	}
	assertOnly(t, dir)
}

// TestWriteFailureKeepsOld: when the rename fails (here: path is a
// non-empty folder), the old content stays and no temporary file is left.
func TestWriteFailureKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("new"), 0o644)
	if err == nil {
		t.Fatal("Write over a non-empty folder succeeded")
	}
	if strings.Contains(err.Error(), ".tmp-") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want it to name %s and not the temporary file", err, path)
	}
	if fi, err := os.Stat(filepath.Join(path, "inside")); err != nil || !fi.IsDir() {
		t.Errorf("the old content is gone: %v", err)
	}
	assertOnly(t, dir, "out")

	// A file that cannot be replaced keeps its old bytes.
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		return
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(ro, "f")
	if err := Write(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	if err := Write(file, []byte("new"), 0o644); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("err = %v, want permission denied", err)
	}
	if got, _ := os.ReadFile(file); string(got) != "old" {
		t.Errorf("content = %q, want the old one", got)
	}
	assertOnly(t, ro, "f")
}

func assertOnly(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

// TestWriteFollowsSymlink (defect 1): a symlink to a regular file stays a
// symlink; its target gets the data, replaced atomically beside it.
func TestWriteFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.md")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.md")
	if err := os.Symlink("real.md", link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := Write(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v, %v", fi.Mode(), err)
	}
	if got, err := os.ReadFile(target); err != nil || string(got) != "new" {
		t.Errorf("target content = %q, %v, want \"new\"", got, err)
	}
	assertOnly(t, dir, "link.md", "real.md")

	// A dangling link is written through: its target is created.
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("made.md", dangling); err != nil {
		t.Fatal(err)
	}
	if err := Write(dangling, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the dangling symlink was replaced: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "made.md")); string(got) != "x" {
		t.Errorf("made.md = %q, want \"x\"", got)
	}
}

// TestWriteReplacesRegularAtomically: a regular file is still replaced by
// a rename (a new inode), so a reader holding the old one sees it whole.
func TestWriteReplacesRegularAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if err := Write(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Error("the file was written in place, not replaced")
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("content = %q", got)
	}
	assertOnly(t, dir, "r.json")
}
