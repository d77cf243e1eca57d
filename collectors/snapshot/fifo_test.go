//go:build unix

package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadSnapshotRefusesNonRegularFiles (#17, defect 12): a named pipe in
// place of a snapshot file is refused at once, not waited on forever.
func TestReadSnapshotRefusesNonRegularFiles(t *testing.T) {
	for _, name := range []string{"metrics/window.json", "manifest.json", "changes.json"} {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, handFiles())
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("no named pipes here:", err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Read(context.Background(), dir)
				done <- err
			}()
			select {
			case err := <-done:
				checkErr(t, err, nil, "it is a named pipe, not a regular file")
				if !strings.Contains(err.Error(), filepath.Base(name)) {
					t.Errorf("error %q does not name %s", err, name)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Read blocks on a named pipe")
			}
		})
	}
}
