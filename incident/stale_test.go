package incident

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAttachDanglingEvidenceLink (#17, defect 12): a dangling symbolic link
// in place of evidence/ is an error naming it, not an endless loop.
func TestAttachDanglingEvidenceLink(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "checkout 500s", st0)
	ev := s.EvidenceDir(id)
	if err := os.Remove(ev); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(t.TempDir(), "gone")
	if err := os.Symlink(gone, ev); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Attach(context.Background(), id, func() time.Time { return st0 }, "analysis", Entry{Kind: KindNote, Text: "x"},
			func(string) ([]string, error) { return nil, nil })
		done <- err
	}()
	select {
	case err := <-done:
		want := ev + " is a symbolic link to " + gone + ", which is not a folder — remove the link or create its target"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Attach loops on a dangling evidence link")
	}
}

// TestAttachSkipsDanglingName: a dangling link by the name Attach wants
// takes that name, as a folder would; the next name is used.
func TestAttachSkipsDanglingName(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "checkout 500s", st0)
	if err := os.Symlink(filepath.Join(t.TempDir(), "gone"), filepath.Join(s.EvidenceDir(id), "20261124T140200Z-analysis")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	dir, err := s.Attach(context.Background(), id, func() time.Time { return st0 }, "analysis", Entry{Kind: KindNote, Text: "x"},
		func(string) ([]string, error) { return nil, nil })
	if err != nil || filepath.Base(dir) != "20261124T140200Z-analysis-2" {
		t.Errorf("Attach = %q, %v; want the folder ...-analysis-2", dir, err)
	}
}

// TestStaleLeftoversRemoved (#17, defect 16): what a process killed
// mid-write left behind is removed by the next run, when it is provably
// abandoned (log.md's temporary files, under the log's lock) or old;
// what a live process may still be writing is kept.
func TestStaleLeftoversRemoved(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "checkout 500s", st0)
	ctx := context.Background()
	old := time.Now().Add(-2 * staleAge)
	ev := s.EvidenceDir(id)
	type item struct {
		path string
		dir  bool
		old  bool
		gone bool // removed by the next run
	}
	items := []item{
		{filepath.Join(s.Path(id), ".log.md.tmp-123"), false, false, true}, // under the lock: abandoned however fresh
		{filepath.Join(s.Dir, ".current.tmp-1"), false, true, true},
		{filepath.Join(s.Dir, ".current.tmp-2"), false, false, false}, // may be another start's
		{filepath.Join(ev, ".partial-analysis-1"), true, true, true},
		{filepath.Join(ev, ".partial-analysis-1", "report.md"), false, true, true},
		{filepath.Join(ev, ".partial-analysis-2"), true, false, false}, // another analyze may be writing it
		{filepath.Join(ev, ".partial-analysis-3"), true, true, false},
		{filepath.Join(ev, ".partial-analysis-3", "snapshot.json"), false, false, false}, // written to a minute ago
		{filepath.Join(ev, "20261124T130000Z-analysis"), true, true, true},               // reserved, never filled
		{filepath.Join(ev, "20261124T130100Z-analysis"), true, false, false},             // reserved just now
		{filepath.Join(ev, "20261124T130200Z-analysis"), true, true, false},
		{filepath.Join(ev, "20261124T130200Z-analysis", "report.md"), false, true, false}, // real evidence
	}
	for _, it := range items {
		var err error
		if it.dir {
			err = os.Mkdir(it.path, 0o755)
		} else {
			err = os.WriteFile(it.path, []byte("x"), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Times last, children before parents, as creating a child touches its folder.
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].old {
			if err := os.Chtimes(items[i].path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Render(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attach(ctx, id, func() time.Time { return st0 }, "analysis", Entry{Kind: KindNote, Text: "x"},
		func(string) ([]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, StartOptions{Title: "another", Time: st0}); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		_, err := os.Lstat(it.path)
		if it.gone && err == nil {
			t.Errorf("%s was left behind", it.path)
		}
		if !it.gone && err != nil {
			t.Errorf("%s was removed: %v", it.path, err)
		}
	}
}

// TestWriteFailureWording (#17, defect 20): a start that could not write
// its first entry says nothing was kept; an append that failed says the
// log before it is whole and the next entry starts a new line.
func TestWriteFailureWording(t *testing.T) {
	full := func(*os.File, []byte) (int, error) { return 0, syscall.ENOSPC }
	t.Run("start", func(t *testing.T) {
		s := Store{Dir: filepath.Join(t.TempDir(), "incidents"), write: full}
		_, err := s.Start(context.Background(), StartOptions{Title: "checkout 500s", Time: st0})
		want := "the incident was not started, nothing was kept: cannot write the first entry of " +
			filepath.Join(s.Dir, "INC-20261124-1402-checkout-500s", "log.jsonl") + ": no space left on device"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
		if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
			t.Errorf("a failed start left %v", entries)
		}
	})
	t.Run("note", func(t *testing.T) {
		s := newStore(t)
		id := startIncident(t, s, "checkout 500s", st0)
		s.write = full
		_, err := s.Append(context.Background(), id, Entry{Time: st0, Kind: KindNote, Text: "x"})
		want := "cannot append to " + s.logPath(id) + ": no space left on device (the next write starts a new line; nothing before is lost)"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v\nwant %s", err, want)
		}
	})
}

// TestRenderRemovesStaleEvidence: every entry's rendering cleans up after a
// killed attachment too, not only the next attachment.
func TestRenderRemovesStaleEvidence(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "checkout 500s", st0)
	old := time.Now().Add(-2 * staleAge)
	partial := filepath.Join(s.EvidenceDir(id), ".partial-analysis-1")
	reserved := filepath.Join(s.EvidenceDir(id), "20261124T130000Z-analysis")
	for _, d := range []string{partial, reserved} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(context.Background(), id, Entry{Time: st0, Kind: KindNote, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Render(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{partial, reserved} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s was left behind", d)
		}
	}
}
