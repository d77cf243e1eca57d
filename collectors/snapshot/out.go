package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckOut refuses to overwrite an earlier snapshot in dir unless force;
// Write itself refuses folders of other files. Its errors name the flags
// of rca snapshot (--force, --out).
func CheckOut(dir string, force bool) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("--out %s: not a folder — a snapshot is a folder of files: pass a new or empty folder", dir)
	}
	_, err := os.Stat(filepath.Join(dir, manifestName))
	switch {
	case err == nil && !force:
		return fmt.Errorf("%s already holds a snapshot: pass --force to replace it, or choose another --out", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	return nil
}
