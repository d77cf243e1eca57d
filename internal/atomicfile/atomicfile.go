// Package atomicfile replaces a file in one step: readers see the old
// content or the new, never a mix, and a failure leaves no trace.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to a temporary file next to path, sets perm, flushes
// it to disk and renames it over path. On any failure the temporary file
// is removed and path keeps its old content (or stays absent). The folder
// must exist. Errors are *fs.PathError naming path, never the temporary file.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: cause(err)}
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = &fs.PathError{Op: "write", Path: path, Err: cause(err)}
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	// On disk before the rename: what points at the file may be written next.
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	SyncDir(dir)
	return nil
}

// SyncDir makes a rename or a new entry in dir durable where the system
// allows it; where it does not (Windows), the rename is still atomic, only
// perhaps not yet on disk.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// cause drops the operation and the temporary file's name: os returns
// *fs.PathError and *os.LinkError, which unwrap to the bare cause.
func cause(err error) error {
	if c := errors.Unwrap(err); c != nil {
		return c
	}
	return err
}
