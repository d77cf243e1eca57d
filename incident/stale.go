package incident

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAge is how long a leftover of an interrupted write must have been
// left untouched before it is removed when no lock proves it abandoned:
// far longer than any write of rca takes, so a live writer's files are
// never taken from under it.
const staleAge = time.Hour

// removeTemps removes the temporary files atomicfile leaves in dir for
// name (.name.tmp-*) when a process is killed between creating and
// renaming one. With held, the caller holds the lock every writer of name
// holds, so each one found is abandoned; without, only those older than
// staleAge go. Best effort: what cannot be removed is left for next time.
func removeTemps(dir, name string, held bool, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + name + ".tmp-"
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		if !held {
			fi, err := e.Info()
			if err != nil || now.Sub(fi.ModTime()) < staleAge {
				continue
			}
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

// removeStaleEvidence removes what an Attach killed half-way left in the
// evidence folder dir: its .partial-* working folders, and the empty
// folders it reserved for them, once nothing in them has changed for
// staleAge. An empty folder holds no evidence and no entry links it.
func removeStaleEvidence(dir string, now time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() { // not a link: os.ReadDir does not follow them
			continue
		}
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".partial-") {
			if quietSince(p, now) {
				os.RemoveAll(p)
			}
			continue
		}
		if sub, err := os.ReadDir(p); err == nil && len(sub) == 0 && quietSince(p, now) {
			os.Remove(p) // fails, harmlessly, if a file arrived since
		}
	}
}

// quietSince says whether nothing under dir was modified in the last staleAge.
func quietSince(dir string, now time.Time) bool {
	quiet := true
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			quiet = false
			return fs.SkipAll
		}
		fi, err := d.Info()
		if err != nil || now.Sub(fi.ModTime()) < staleAge {
			quiet = false
			return fs.SkipAll
		}
		return nil
	})
	return quiet
}
