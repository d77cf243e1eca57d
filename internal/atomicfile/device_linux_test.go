package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// charDevice returns a character device to write to: as root a fresh node
// (major 1, minor) in a temporary folder, so that a Write that replaces it
// harms nothing on the machine; otherwise the system's own, which a
// non-root Write cannot replace (/dev is not writable).
func charDevice(t *testing.T, name string, minor int) string {
	t.Helper()
	path := "/dev/" + name
	if os.Getuid() == 0 {
		path = filepath.Join(t.TempDir(), name)
		if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, 1<<8|minor); err != nil {
			t.Skipf("mknod %s: %v", path, err)
		}
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
		t.Skipf("%s is not a character device here", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("%s cannot be opened (a nodev mount?): %v", path, err)
	}
	f.Close()
	return path
}

// TestWriteDevice (defect 1): a character device (/dev/null, /dev/full) is
// written to, never replaced by a regular file (as root the rename
// destroyed /dev/full), also through a symlink as /dev/stdout is.
func TestWriteDevice(t *testing.T) {
	null := charDevice(t, "null", 3)
	fi, _ := os.Lstat(null)
	if err := Write(null, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := os.Lstat(null)
	if err != nil || after.Mode() != fi.Mode() || !os.SameFile(fi, after) {
		t.Fatalf("%s was replaced: mode %v -> %v (%v)", null, fi.Mode(), after.Mode(), err)
	}

	link := filepath.Join(t.TempDir(), "out")
	if err := os.Symlink(null, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symlink to %s was replaced: %v", null, err)
	}
	if after, err := os.Lstat(null); err != nil || !os.SameFile(fi, after) {
		t.Errorf("%s was replaced through the symlink", null)
	}

	// A full device's error is returned, naming the path.
	full := charDevice(t, "full", 7)
	ffi, _ := os.Lstat(full)
	err = Write(full, []byte("data"), 0o644)
	if err == nil || !strings.Contains(err.Error(), full) {
		t.Errorf("writing %s: err = %v, want an error naming it", full, err)
	}
	if after, err := os.Lstat(full); err != nil || !os.SameFile(ffi, after) {
		t.Errorf("%s was replaced", full)
	}
}

// TestReplaces: only a file already at the path (links followed) counts as
// replaced; devices, pipes, descriptors' names and absent paths are streams.
func TestReplaces(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "review.md")
	if err := os.WriteFile(file, []byte("edits"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.md")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{file, true},
		{link, true},
		{filepath.Join(dir, "new.md"), false},
		{"/dev/null", false},
		{"/dev/stdout", false},
		{"/dev/fd/1", false},
		{"/proc/self/fd/2", false},
	} {
		if got := Replaces(tt.path); got != tt.want {
			t.Errorf("Replaces(%s) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
