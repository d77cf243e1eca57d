package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

func newStore(t *testing.T) Store {
	t.Helper()
	return Store{Dir: filepath.Join(t.TempDir(), "incidents")}
}

func startIncident(t *testing.T, s Store, title string, at time.Time) string {
	t.Helper()
	id, err := s.Start(context.Background(), StartOptions{Title: title, Severity: "sev2", Impact: "checkout fails", Author: "alice", Time: at})
	if err != nil {
		t.Fatalf("Start(%q): %v", title, err)
	}
	return id
}

func mustAppend(t testing.TB, s Store, id string, e Entry) int64 {
	t.Helper()
	off, err := s.Append(context.Background(), id, e)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return off
}

func mustRead(t testing.TB, s Store, id string) *Log {
	t.Helper()
	l, err := s.Read(context.Background(), id)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return l
}

func TestStartLayout(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "Checkout 500s", st0)
	if id != "INC-20261124-1402-checkout-500s" {
		t.Errorf("id = %q", id)
	}
	for _, p := range []string{s.Path(id), s.EvidenceDir(id)} {
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			t.Errorf("%s: not a folder (%v)", p, err)
		}
	}
	if s.EvidenceDir(id) != filepath.Join(s.Dir, id, "evidence") {
		t.Errorf("EvidenceDir = %s", s.EvidenceDir(id))
	}
	cur, err := os.ReadFile(filepath.Join(s.Dir, "current"))
	if err != nil || string(cur) != id+"\n" {
		t.Errorf("current = %q, %v; want %q", cur, err, id+"\n")
	}
	md, err := os.ReadFile(filepath.Join(s.Path(id), "log.md"))
	if err != nil || !bytes.HasPrefix(md, []byte("# Checkout 500s\n")) {
		t.Errorf("log.md = %.80q, %v", md, err)
	}
	l := mustRead(t, s, id)
	want := Entry{Time: st0, Kind: KindStart, Author: "alice", Text: "Checkout 500s", Title: "Checkout 500s", Severity: "SEV2", Impact: "checkout fails"}
	if len(l.Entries) != 1 || !sameEntries(l.Entries, []Entry{want}) {
		t.Errorf("entries = %+v, want the start entry %+v", l.Entries, want)
	}
	// Nothing but the incident and current: no temporary files left over.
	for _, dir := range []string{s.Dir, s.Path(id)} {
		des, _ := os.ReadDir(dir)
		for _, d := range des {
			if strings.Contains(d.Name(), ".tmp") {
				t.Errorf("temporary file left: %s", filepath.Join(dir, d.Name()))
			}
		}
	}
}

func TestStartCollisions(t *testing.T) {
	s := newStore(t)
	want := []string{
		"INC-20261124-1402-db-down", "INC-20261124-1402-db-down-2", "INC-20261124-1402-db-down-3",
	}
	for i, w := range want {
		// Seconds differ, the minute does not.
		if id := startIncident(t, s, "DB down!", st0.Add(time.Duration(i*20)*time.Second)); id != w {
			t.Errorf("id = %q, want %q", id, w)
		}
	}
	if id := startIncident(t, s, "支付", st0); id != "INC-20261124-1402" {
		t.Errorf("id = %q", id)
	}
	if id := startIncident(t, s, "失败", st0); id != "INC-20261124-1402-2" {
		t.Errorf("id = %q", id)
	}
	if cur, _ := s.Current(); cur != "INC-20261124-1402-2" {
		t.Errorf("current = %q, want the last started", cur)
	}
}

func TestStartValidation(t *testing.T) {
	tests := []struct {
		name string
		opt  StartOptions
		want string
	}{
		{"no title", StartOptions{Time: st0}, "needs a title"},
		{"blank title", StartOptions{Title: " \t", Time: st0}, "needs a title"},
		{"no time", StartOptions{Title: "x"}, "start time"},
		{"bad severity", StartOptions{Title: "x", Severity: "P1", Time: st0}, "SEV1 (most severe) to SEV5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Start(context.Background(), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed start created %s", s.Dir)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newStore(t).Start(ctx, StartOptions{Title: "x", Time: st0}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled start: err = %v", err)
	}
	if _, err := (Store{}).Start(context.Background(), StartOptions{Title: "x", Time: st0}); err == nil {
		t.Error("a store without a folder started an incident")
	}
}

// sameEntries compares entries as the log stores them.
func sameEntries(a, b []Entry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestAppendReadRoundTrip(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "Checkout 500s", st0)
	entries := []Entry{
		noteAt(60, "restarted checkout-7f9c\nno effect"),
		{Time: st0.Add(2 * time.Minute), Kind: KindChange, Author: "bob", Text: "deploy",
			Change: &telemetry.Change{T: st0.Add(-time.Minute), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2", FromVersion: "v1.4.1", ToVersion: "v1.4.2"}},
		{Time: st0.Add(3 * time.Minute), Kind: KindAnalysis, Author: "rca", Text: "analysis attached",
			Analysis: &AnalysisSummary{Window: telemetry.Window{From: st0.Add(-10 * time.Minute), To: st0.Add(3 * time.Minute)}, Onset: st0, Service: "checkout",
				RootCause: "CPU saturation", Chain: []string{"500s", "timeouts", "CPU"}, Change: "deploy checkout v1.4.2", Rollback: "v1.4.1", Ongoing: true},
			Files: []string{"evidence/report.md", "evidence/snapshot"}},
		{Time: st0.Add(4 * time.Minute), Kind: KindUpdate, Author: "carol", Text: "update 1", Status: StatusIdentified, PostedTo: "#incidents"},
		{Time: st0.Add(5 * time.Minute), Kind: KindMitigate, Author: "bob", Text: "rolled back"},
		{Time: st0.Add(6 * time.Minute).In(time.FixedZone("CET", 3600)), Kind: KindResolve, Author: "bob", Text: "back to baseline"},
		{Time: st0.Add(7 * time.Minute), Kind: "page", Text: "a kind from a newer rca"},
	}
	var last int64
	for _, e := range entries {
		off := mustAppend(t, s, id, e)
		if off <= last {
			t.Errorf("offset %d not past the previous %d", off, last)
		}
		last = off
	}
	fi, err := os.Stat(filepath.Join(s.Path(id), "log.jsonl"))
	if err != nil || fi.Size() != last {
		t.Errorf("log size = %v (%v), want the last offset %d", fi.Size(), err, last)
	}
	l := mustRead(t, s, id)
	if l.ID != id || len(l.Problems) != 0 {
		t.Errorf("id %q problems %+v", l.ID, l.Problems)
	}
	if !sameEntries(l.Entries[1:], entries) {
		t.Errorf("read back:\n%+v\nwant\n%+v", l.Entries[1:], entries)
	}
	if !l.Entries[6].Time.Equal(entries[5].Time) {
		t.Errorf("time zone round trip: %v != %v", l.Entries[6].Time, entries[5].Time)
	}
	if l.Status() != StatusResolved {
		t.Errorf("status = %s", l.Status())
	}
	raw, _ := os.ReadFile(filepath.Join(s.Path(id), "log.jsonl"))
	if n := bytes.Count(raw, []byte("\n")); n != len(entries)+1 {
		t.Errorf("log has %d lines, want one per entry (%d)", n, len(entries)+1)
	}
}

func TestAppendValidation(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "x", st0)
	ctx := context.Background()
	tests := []struct {
		name, id string
		e        Entry
		want     string
	}{
		{"no time", id, Entry{Kind: KindNote}, "no time"},
		{"no kind", id, Entry{Time: st0}, "no kind"},
		{"unknown incident", "INC-19990101-0000-nope", noteAt(0, "x"), "no incident INC-19990101-0000-nope in " + s.Dir + " (rca log list shows them)"},
		{"traversal", "../" + id, noteAt(0, "x"), "invalid incident id"},
		{"current is not resolved here", "current", noteAt(0, "x"), "name the incident"},
	}
	for _, tt := range tests {
		_, err := s.Append(ctx, tt.id, tt.e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "INC-19990101-0000-nope")); !errors.Is(err, os.ErrNotExist) {
		t.Error("appending to an unknown incident created it")
	}
	if _, err := s.Append(ctx, "INC-19990101-0000-nope", noteAt(0, "x")); !errors.Is(err, ErrNoIncident) {
		t.Errorf("err = %v, want ErrNoIncident", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Append(canceled, id, noteAt(0, "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled append: err = %v", err)
	}
	if got := len(mustRead(t, s, id).Entries); got != 1 {
		t.Errorf("%d entries after failed appends, want 1", got)
	}
	// The text of an entry never shows in an error.
	bad := Entry{Time: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), Kind: KindNote, Text: "hunter2"}
	if _, err := s.Append(ctx, id, bad); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unencodable entry: err = %v", err)
	}
}

func TestCurrentAndResolve(t *testing.T) {
	s := newStore(t)
	if _, err := s.Current(); !errors.Is(err, ErrNoCurrent) {
		t.Errorf("Current() on an empty store: %v, want ErrNoCurrent", err)
	}
	for _, in := range []string{"", "current"} {
		if _, err := s.Resolve(in); !errors.Is(err, ErrNoCurrent) {
			t.Errorf("Resolve(%q) on an empty store: %v, want ErrNoCurrent", in, err)
		}
	}
	a := startIncident(t, s, "first", st0)
	b := startIncident(t, s, "second", st0.Add(time.Hour))
	for _, tt := range []struct{ in, want string }{{"", b}, {"current", b}, {a, a}, {b, b}} {
		if got, err := s.Resolve(tt.in); err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	_, err := s.Resolve("INC-20200101-0000-gone")
	if !errors.Is(err, ErrNoIncident) || err.Error() != "no incident INC-20200101-0000-gone in "+s.Dir+" (rca log list shows them)" {
		t.Errorf("Resolve(unknown) = %v", err)
	}
	for _, id := range []string{"..", "../" + a, a + "/../" + b, "/etc", `..\` + a, ".", "x\nrm"} {
		if _, err := s.Resolve(id); err == nil || errors.Is(err, ErrNoIncident) {
			t.Errorf("Resolve(%q) = %v, want an invalid-id error", id, err)
		}
		if _, err := s.Read(context.Background(), id); err == nil {
			t.Errorf("Read(%q) succeeded", id)
		}
	}

	cur := filepath.Join(s.Dir, "current")
	for _, tt := range []struct{ content, want string }{
		{"", "is empty"},
		{"../../etc\n", "invalid incident id"},
		{"INC-20200101-0000-gone\n", "the current incident"},
	} {
		if err := os.WriteFile(cur, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resolve(""); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), cur) {
			t.Errorf("current %q: Resolve = %v, want an error naming %s and %q", tt.content, err, cur, tt.want)
		}
	}
}

func TestReadFrom(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "x", st0)
	ctx := context.Background()
	entries, off, err := s.ReadFrom(ctx, id, 0)
	if err != nil || len(entries) != 1 {
		t.Fatalf("ReadFrom(0) = %d entries, %v", len(entries), err)
	}
	o1 := mustAppend(t, s, id, noteAt(1, "one"))
	o2 := mustAppend(t, s, id, noteAt(2, "two"))
	got, next, err := s.ReadFrom(ctx, id, off)
	if err != nil || next != o2 || strings.Join(entryTexts(got), ",") != "one,two" {
		t.Errorf("ReadFrom(%d) = %q, %d, %v; want one,two and %d", off, entryTexts(got), next, err, o2)
	}
	got, next, err = s.ReadFrom(ctx, id, o1)
	if err != nil || next != o2 || strings.Join(entryTexts(got), ",") != "two" {
		t.Errorf("ReadFrom(%d) = %q, %d, %v", o1, entryTexts(got), next, err)
	}
	got, next, err = s.ReadFrom(ctx, id, o2)
	if err != nil || next != o2 || len(got) != 0 {
		t.Errorf("ReadFrom(end) = %q, %d, %v; want nothing and the same offset", entryTexts(got), next, err)
	}
	for _, bad := range []int64{o2 + 1, -1} {
		if _, _, err := s.ReadFrom(ctx, id, bad); err == nil || !strings.Contains(err.Error(), "log.jsonl") {
			t.Errorf("ReadFrom(%d) = %v, want an error naming the file", bad, err)
		}
	}
	if _, _, err := s.ReadFrom(ctx, "INC-nope", 0); !errors.Is(err, ErrNoIncident) {
		t.Errorf("ReadFrom(unknown) = %v", err)
	}
}

func TestList(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if got, err := s.List(ctx); err != nil || len(got) != 0 {
		t.Fatalf("List on a missing folder = %v, %v; want nothing, no error", got, err)
	}
	mid := startIncident(t, s, "middle", st0)
	old := startIncident(t, s, "oldest", st0.Add(-24*time.Hour))
	mustAppend(t, s, old, Entry{Time: st0, Kind: KindResolve, Text: "over"})
	newest := startIncident(t, s, "newest", st0.Add(time.Hour))
	mustAppend(t, s, newest, Entry{Time: st0.Add(time.Hour), Kind: KindMitigate, Text: "rolled back"})
	mustAppend(t, s, newest, noteAt(3700, "watching"))
	// Made current again, so the flag is not simply on the newest.
	if err := s.setCurrent(mid); err != nil {
		t.Fatal(err)
	}
	// A log without a readable start: listed with what its ID says.
	broken := "INC-20261123-0900-broken"
	if err := os.MkdirAll(s.Path(broken), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Path(broken), "log.jsonl"), []byte("garbage\n{\"time\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Neither a folder without a log nor a stray file is an incident.
	os.MkdirAll(filepath.Join(s.Dir, "INC-20300101-0000-empty"), 0o755)
	os.WriteFile(filepath.Join(s.Dir, "notes.txt"), []byte("x"), 0o644)

	got, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Summary{
		{ID: newest, Title: "newest", Severity: "SEV2", Status: StatusMonitoring, Started: st0.Add(time.Hour), Entries: 3},
		{ID: mid, Title: "middle", Severity: "SEV2", Status: StatusInvestigating, Started: st0, Entries: 1, Current: true},
		{ID: old, Title: "oldest", Severity: "SEV2", Status: StatusResolved, Started: st0.Add(-24 * time.Hour), Entries: 2},
		{ID: broken, Status: StatusInvestigating, Started: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("List = %+v\nwant %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Title != w.Title || g.Severity != w.Severity || g.Status != w.Status ||
			!g.Started.Equal(w.Started) || g.Entries != w.Entries || g.Current != w.Current {
			t.Errorf("List[%d] = %+v\nwant      %+v", i, g, w)
		}
	}
}

func TestRenderFile(t *testing.T) {
	s := newStore(t)
	id := startIncident(t, s, "x <b>", st0)
	mustAppend(t, s, id, noteAt(1, "<script>alert(1)</script>"))
	ctx := context.Background()
	if err := s.Render(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.Path(id), "log.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := RenderMarkdown(&want, mustRead(t, s, id)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("log.md differs from RenderMarkdown of the log:\n%s\nwant\n%s", got, want.Bytes())
	}
	if bytes.Contains(got, []byte("<script>")) {
		t.Error("log.md holds a raw <script>")
	}
	if err := s.Render(ctx, "INC-nope"); !errors.Is(err, ErrNoIncident) {
		t.Errorf("Render(unknown) = %v", err)
	}
	if _, err := os.Stat(s.Path("INC-nope")); !errors.Is(err, os.ErrNotExist) {
		t.Error("rendering an unknown incident created it")
	}
}
