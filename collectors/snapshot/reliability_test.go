package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteSnapshotRefusesLinkedSubfolder (#17, defect 4): a symbolic link
// in place of metrics/ must not make a rewrite remove or write files
// outside the snapshot folder.
func TestWriteSnapshotRefusesLinkedSubfolder(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		target func(outside string) string // what metrics/ links to
	}{
		{"link out of the folder", func(outside string) string { return outside }},
		{"relative link out of the folder", func(outside string) string {
			rel, err := filepath.Rel(filepath.Dir(outside), outside)
			if err != nil {
				t.Fatal(err)
			}
			return filepath.Join("..", "..", filepath.Base(filepath.Dir(outside)), rel)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "snap")
			if err := Write(ctx, dir, testBundle()); err != nil {
				t.Fatal(err)
			}
			// The outside folder holds a file by the name the old manifest lists.
			outside := filepath.Join(base, "elsewhere")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(outside, "0004.json")
			if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(dir, "metrics")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target(outside), filepath.Join(dir, "metrics")); err != nil {
				t.Skip("no symbolic links here:", err)
			}
			small := testBundle()
			small.Series = small.Series[:1]
			err := Write(ctx, dir, small)
			checkErr(t, err, nil, filepath.Join(dir, "metrics")+" is a symbolic link")
			if data, rerr := os.ReadFile(victim); rerr != nil || string(data) != "precious" {
				t.Errorf("the file outside the snapshot was removed or changed: %q, %v", data, rerr)
			}
			entries, _ := os.ReadDir(outside)
			if len(entries) != 1 {
				t.Errorf("the write put files outside the snapshot folder: %v", entries)
			}
		})
	}
}

// TestReadSnapshotRepeatedFiles (#17, defect 14): a manifest that lists one
// file again and again is refused, naming the manifest and the entries.
func TestReadSnapshotRepeatedFiles(t *testing.T) {
	files := handFiles()
	var entries []string
	for i := 0; i < 2000; i++ {
		entries = append(entries, fmt.Sprintf(`{"signal": "s%d", "query": "", "file": "metrics/window.json"}`, i))
	}
	m := strings.Replace(handManifest, `"metrics": [`, `"metrics": [`+strings.Join(entries, ",\n")+",", 1)
	files["manifest.json"] = m
	dir := writeTree(t, files)
	start := time.Now()
	_, err := Read(context.Background(), dir)
	checkErr(t, err, nil, filepath.Join(dir, "manifest.json")+`: metrics[1].file "metrics/window.json" is listed already, as metrics[0].file — list each file once`)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusing took %s", d)
	}
	// The same file under another spelling is the same file.
	files = handFiles()
	files["manifest.json"] = strings.Replace(handManifest, `"topology": "topology.json"`, `"topology": "./changes.json"`, 1)
	_, err = Read(context.Background(), writeTree(t, files))
	checkErr(t, err, nil, `topology "./changes.json" is listed already, as changes`)
}

// TestReadSnapshotSizeCap (#17, defect 14): the files a manifest lists may
// add up to a bounded size; past it the error names the manifest.
func TestReadSnapshotSizeCap(t *testing.T) {
	dir := writeTree(t, handFiles())
	total := int64(0)
	for name, body := range handFiles() {
		if name != manifestName {
			total += int64(len(body))
		}
	}
	if _, err := readCapped(context.Background(), dir, total); err != nil {
		t.Fatalf("exactly at the cap: %v", err)
	}
	_, err := readCapped(context.Background(), dir, total-1)
	checkErr(t, err, nil, filepath.Join(dir, manifestName)+fmt.Sprintf(": the files it lists add up to more than %d bytes", total-1))
}

// TestReadSnapshotLinkedRepeats (#17, defect 14): the same file under other
// names (a symbolic or a hard link) counts as listed twice.
func TestReadSnapshotLinkedRepeats(t *testing.T) {
	for _, tc := range []struct {
		name string
		link func(dir string) error
	}{
		{"symbolic link", func(dir string) error { return os.Symlink("baseline.json", filepath.Join(dir, "window-again.json")) }},
		{"hard link", func(dir string) error {
			return os.Link(filepath.Join(dir, "baseline.json"), filepath.Join(dir, "window-again.json"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := handFiles()
			files["manifest.json"] = strings.Replace(handManifest, `"file": "metrics/window.json"`, `"file": "metrics/window-again.json"`, 1)
			delete(files, "metrics/window.json")
			dir := writeTree(t, files)
			// metrics/window-again.json is metrics/baseline.json under another name.
			if err := tc.link(filepath.Join(dir, "metrics")); err != nil {
				t.Skip("no links here:", err)
			}
			_, err := Read(context.Background(), dir)
			checkErr(t, err, nil, `metrics[1].file "metrics/window-again.json" is the same file as metrics[0].file "metrics/baseline.json" — list each file once`)
		})
	}
}

// TestWriteSnapshotRemovesStaleTemps (#17, defect 16): a rewrite removes
// the temporary files a killed write left, once stale; a fresh one may be
// another writer's and stays, as do files that are not rca's.
func TestWriteSnapshotRemovesStaleTemps(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "snap")
	if err := Write(ctx, dir, testBundle()); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleAge)
	leftovers := []struct {
		name string
		old  bool
		gone bool
	}{
		{"metrics/.0001.json.tmp-ABC", true, true},
		{".manifest.json.tmp-XYZ", true, true},
		{"metrics/.0002.json.tmp-NEW", false, false},
		{".notes.md.tmp-1", true, false}, // not a file of the snapshot
	}
	for _, l := range leftovers {
		p := filepath.Join(dir, filepath.FromSlash(l.name))
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		if l.old {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := Write(ctx, dir, testBundle()); err != nil {
		t.Fatal(err)
	}
	for _, l := range leftovers {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(l.name)))
		if l.gone && err == nil {
			t.Errorf("%s was left behind", l.name)
		}
		if !l.gone && err != nil {
			t.Errorf("%s was removed: %v", l.name, err)
		}
	}
}
