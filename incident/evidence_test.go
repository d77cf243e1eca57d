package incident

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAttach(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "checkout 500s", st0)
	ctx := context.Background()
	at := st0.Add(5*time.Minute + 300*time.Millisecond)
	now := func() time.Time { return at }
	write := func(dir string) ([]string, error) {
		if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte("# report\n"), 0o644); err != nil {
			return nil, err
		}
		return []string{"report.md"}, nil
	}
	var dirs []string
	for range 2 {
		dir, err := s.Attach(ctx, id, now, "analysis", Entry{Kind: KindNote, Author: "alice", Text: "evidence"}, write)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	want := []string{
		filepath.Join(s.EvidenceDir(id), "20261124T140700Z-analysis"),
		filepath.Join(s.EvidenceDir(id), "20261124T140700Z-analysis-2"),
	}
	if !slices.Equal(dirs, want) {
		t.Errorf("folders = %q, want %q", dirs, want)
	}
	if b, err := os.ReadFile(filepath.Join(dirs[0], "report.md")); err != nil || string(b) != "# report\n" {
		t.Errorf("report.md = %q, %v", b, err)
	}
	l := mustRead(t, s, id)
	if len(l.Entries) != 3 {
		t.Fatalf("entries = %+v, want start and two attachments", l.Entries)
	}
	e := l.Entries[2]
	if !e.Time.Equal(at) || !slices.Equal(e.Files, []string{"evidence/20261124T140700Z-analysis-2/report.md"}) {
		t.Errorf("entry time %v files %q", e.Time, e.Files)
	}
	assertEvidence(t, s, id, "20261124T140700Z-analysis", "20261124T140700Z-analysis-2")
}

// TestAttachLeavesNothingHalfDone: a failure while attaching leaves no
// evidence folder and no entry linking missing files.
func TestAttachLeavesNothingHalfDone(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "t", st0)
	now := func() time.Time { return st0 }
	e := Entry{Kind: KindNote, Author: "alice", Text: "evidence"}
	ctx := context.Background()
	logFile := filepath.Join(s.Path(id), "log.jsonl")
	saved, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	tests := []struct {
		name  string
		ctx   context.Context
		write func(dir string) ([]string, error)
		want  string
	}{
		{"writer fails", ctx, func(d string) ([]string, error) {
			os.WriteFile(filepath.Join(d, "half.md"), []byte("x"), 0o644)
			return nil, errors.New("disk full")
		}, "disk full"},
		{"cancelled while writing", cancelled, func(d string) ([]string, error) {
			cancel()
			return nil, os.WriteFile(filepath.Join(d, "report.md"), []byte("x"), 0o644)
		}, "canceled"},
		// The log vanishes between writing the files and appending the entry.
		{"log vanished", ctx, func(d string) ([]string, error) {
			if err := os.WriteFile(filepath.Join(d, "report.md"), []byte("x"), 0o644); err != nil {
				return nil, err
			}
			return []string{"report.md"}, os.Remove(logFile)
		}, "no incident"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Attach(tt.ctx, id, now, "analysis", e, tt.write)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			assertEvidence(t, s, id)
			if err := os.WriteFile(logFile, saved, 0o644); err != nil {
				t.Fatal(err)
			}
			if l := mustRead(t, s, id); len(l.Entries) != 1 {
				t.Errorf("entries after a failed attachment: %+v", l.Entries)
			}
		})
	}
}

func TestAttachBadID(t *testing.T) {
	s := newStore(t)
	called := false
	write := func(string) ([]string, error) { called = true; return nil, nil }
	if _, err := s.Attach(context.Background(), "../x", time.Now, "analysis", Entry{Kind: KindNote}, write); err == nil || called {
		t.Errorf("err = %v, writer called %v", err, called)
	}
}

// assertEvidence checks the evidence folder holds exactly want.
func assertEvidence(t *testing.T, s Store, id string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(s.EvidenceDir(id))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("evidence/ holds %q, want %q", got, want)
	}
}
