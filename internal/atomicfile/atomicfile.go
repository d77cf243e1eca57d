// Package atomicfile replaces a file in one step: readers see the old
// content or the new, never a mix, and a failure leaves no trace.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write puts data at path. Where path is absent or a regular file, it
// writes data to a temporary file next to path, sets perm, flushes it to
// disk and renames it over path: on any failure the temporary file is
// removed and path keeps its old content (or stays absent). The folder must
// exist and be writable.
//
// Anything else at path is written to, never replaced (a rename would turn
// /dev/stdout or /dev/null into a regular file, and as root destroy the
// device):
//   - a symlink is followed: a link to a regular file has its target
//     replaced atomically as above, so the link stays a link; a dangling
//     link is written through, creating its target as a shell's > would;
//   - a device, a named pipe or a socket is opened for writing and
//     truncated, without creating anything, and data is written to it.
//
// A folder is not written through: the rename fails and the folder stays.
// Errors are *fs.PathError naming path, never the temporary file.
func Write(path string, data []byte, perm os.FileMode) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return &fs.PathError{Op: "write", Path: path, Err: cause(err)}
	case err != nil, fi.Mode().IsRegular(), fi.IsDir():
		return replace(path, path, data, perm)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return writeThrough(path, os.O_CREATE, data, perm)
		}
		if tfi, err := os.Stat(target); err == nil && tfi.Mode().IsRegular() {
			return replace(path, target, data, perm)
		}
		return writeThrough(path, 0, data, perm)
	default:
		return writeThrough(path, 0, data, perm)
	}
}

// Replaces says whether Write(path, ...) would replace the content of a
// file already there, which a command should not do without being told
// (--force): path, links followed, is a regular file, and it is not a
// name of an open descriptor (/dev/stdout, /dev/stderr, /dev/fd/N,
// /proc/self/fd/N: `--out /dev/stdout > file` means the shell's file).
// A path that does not exist, a device, a named pipe or a socket is
// written to as a stream: false.
func Replaces(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	return !namesDescriptor(path)
}

func namesDescriptor(path string) bool {
	p := filepath.ToSlash(filepath.Clean(path))
	return p == "/dev/stdout" || p == "/dev/stderr" || strings.HasPrefix(p, "/dev/fd/") || strings.HasPrefix(p, "/proc/self/fd/")
}

// writeThrough opens path for writing (creating it only if flag holds
// os.O_CREATE), truncates it and writes data, in place.
func writeThrough(path string, flag int, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|flag, perm)
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: cause(err)}
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: cause(err)}
	}
	return nil
}

// replace writes data atomically over target, naming path in errors.
func replace(path, target string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
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
	if err := os.Rename(f.Name(), target); err != nil {
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
