package incident

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

// fakeLog is a logSource holding entries in memory; an entry's offset is
// its index, so offsets stay comparable with the cursor.
type fakeLog struct {
	dir     string
	mu      sync.Mutex
	entries []Entry
	reads   int
}

func newFakeLog(t *testing.T, n int) *fakeLog {
	l := &fakeLog{dir: t.TempDir()}
	l.add(n)
	return l
}

func (l *fakeLog) add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	base := time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC)
	for range n {
		i := len(l.entries)
		l.entries = append(l.entries, Entry{
			Time:   base.Add(time.Duration(i) * time.Minute),
			Kind:   KindNote,
			Author: "alice",
			Text:   fmt.Sprintf("note %d: checkout p99 is \"up\"", i),
		})
	}
}

func (l *fakeLog) ReadFrom(ctx context.Context, id string, off int64) ([]Entry, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	if off > int64(len(l.entries)) {
		return nil, 0, fmt.Errorf("offset %d past the end", off)
	}
	return append([]Entry(nil), l.entries[off:]...), int64(len(l.entries)), nil
}

func (l *fakeLog) Path(id string) string { return filepath.Join(l.dir, id) }

// fakeLoki is a push endpoint that records what it accepted and answers
// as told.
type fakeLoki struct {
	*httptest.Server
	mu       sync.Mutex
	status   int    // 0 means 204
	body     string // with a non-2xx status
	hang     bool   // until the client gives up or the test ends
	quit     chan struct{}
	requests []*http.Request
	streams  []push.Stream // accepted, in order
	errs     []string
}

func newFakeLoki(t *testing.T) *fakeLoki {
	f := &fakeLoki{quit: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.quit) // Close waits for the handlers
		f.Close()
	})
	return f
}

func (f *fakeLoki) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r)
	status, msg, hang := f.status, f.body, f.hang
	f.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-f.quit:
		}
		return
	}
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	var req push.PushRequest
	if err == nil {
		body, err = snappy.Decode(nil, body)
	}
	if err == nil {
		err = req.Unmarshal(body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err != nil:
		f.errs = append(f.errs, err.Error())
	case r.URL.Path != lokiPushPath:
		f.errs = append(f.errs, "pushed to "+r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-protobuf":
		f.errs = append(f.errs, "content type "+r.Header.Get("Content-Type"))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.streams = append(f.streams, req.Streams...)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeLoki) set(status int, body string, hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body, f.hang = status, body, hang
}

func (f *fakeLoki) nRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// lines are the accepted lines of each stream, keyed by its labels, with
// their times; it fails the test on a malformed push.
func (f *fakeLoki) lines(t *testing.T) map[string][]string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		t.Fatalf("bad pushes: %s", strings.Join(f.errs, "; "))
	}
	out := map[string][]string{}
	for _, s := range f.streams {
		for _, e := range s.Entries {
			out[s.Labels] = append(out[s.Labels], e.Timestamp.UTC().Format(time.RFC3339)+" "+e.Line)
		}
	}
	return out
}

func wantLines(l *fakeLog, from, to int) []string {
	var out []string
	for _, e := range l.entries[from:to] {
		out = append(out, e.Time.UTC().Format(time.RFC3339)+" "+MirrorLine(e))
	}
	return out
}

func cursorOffset(t *testing.T, l *fakeLog, id string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.Path(id), mirrorCursorName))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var c mirrorCursor
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("cursor %q: %v", b, err)
	}
	return c.Offset
}

func mkIncident(t *testing.T, l *fakeLog, id string) {
	t.Helper()
	if err := os.MkdirAll(l.Path(id), 0o755); err != nil {
		t.Fatal(err)
	}
}

const streamLabels = `{incident="2026-11-24-checkout", job="rca"}`

func TestMirrorSync(t *testing.T) {
	const id = "2026-11-24-checkout"
	loki := newFakeLoki(t)
	l := newFakeLog(t, 3)
	mkIncident(t, l, id)
	m := Mirror{URL: loki.URL, TenantID: "ops"}
	ctx := context.Background()

	n, err := m.sync(ctx, l, id)
	if err != nil || n != 3 {
		t.Fatalf("Sync = %d, %v; want 3, nil", n, err)
	}
	got := loki.lines(t)
	if len(got) != 1 || strings.Join(got[streamLabels], "\n") != strings.Join(wantLines(l, 0, 3), "\n") {
		t.Fatalf("Loki got %q\nwant %s: %q", got, streamLabels, wantLines(l, 0, 3))
	}
	if h := loki.requests[0].Header.Get("X-Scope-OrgID"); h != "ops" {
		t.Errorf("X-Scope-OrgID = %q, want ops", h)
	}
	if off := cursorOffset(t, l, id); off != 3 {
		t.Errorf("cursor at %d, want 3", off)
	}

	// Nothing new: no request.
	if n, err := m.sync(ctx, l, id); err != nil || n != 0 {
		t.Fatalf("second Sync = %d, %v; want 0, nil", n, err)
	}
	if r := loki.nRequests(); r != 1 {
		t.Errorf("%d requests after a Sync with nothing new, want 1", r)
	}

	l.add(2)
	if n, err := m.sync(ctx, l, id); err != nil || n != 2 {
		t.Fatalf("third Sync = %d, %v; want 2, nil", n, err)
	}
	if got := loki.lines(t)[streamLabels]; strings.Join(got, "\n") != strings.Join(wantLines(l, 0, 5), "\n") {
		t.Errorf("Loki got %q\nwant %q", got, wantLines(l, 0, 5))
	}

	// Another Loki (or tenant) starts over.
	other := newFakeLoki(t)
	if n, err := (Mirror{URL: other.URL + "/"}).sync(ctx, l, id); err != nil || n != 5 {
		t.Fatalf("Sync to another Loki = %d, %v; want 5, nil", n, err)
	}
	if got := other.lines(t)[streamLabels]; len(got) != 5 {
		t.Errorf("the other Loki got %d lines, want 5", len(got))
	}
}

// The cursor of a log since replaced by a shorter one starts over.
func TestMirrorReplacedLog(t *testing.T) {
	const id = "x"
	loki := newFakeLoki(t)
	l := newFakeLog(t, 4)
	mkIncident(t, l, id)
	m := Mirror{URL: loki.URL}
	if n, err := m.sync(context.Background(), l, id); n != 4 || err != nil {
		t.Fatalf("Sync = %d, %v; want 4, nil", n, err)
	}
	l.entries = l.entries[:2]
	if n, err := m.sync(context.Background(), l, id); n != 2 || err != nil {
		t.Fatalf("Sync of a replaced log = %d, %v; want 2, nil", n, err)
	}
}

// With the real Store: the cursor ends where Append said the log ends.
func TestMirrorStore(t *testing.T) {
	ctx := context.Background()
	s := Store{Dir: t.TempDir()}
	start := time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC)
	id, err := s.Start(ctx, StartOptions{Title: "500s on checkout", Severity: "SEV2", Author: "alice", Time: start})
	if err != nil {
		t.Fatal(err)
	}
	var end int64
	for i, text := range []string{"rolled back", "error rate normal"} {
		if end, err = s.Append(ctx, id, Entry{Time: start.Add(time.Duration(i+1) * time.Minute), Kind: KindNote, Author: "bob", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	loki := newFakeLoki(t)
	if n, err := (Mirror{URL: loki.URL}).Sync(ctx, s, id); n != 3 || err != nil {
		t.Fatalf("Sync = %d, %v; want 3, nil", n, err)
	}
	log, err := s.Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range log.Entries {
		want = append(want, e.Time.UTC().Format(time.RFC3339)+" "+MirrorLine(e))
	}
	labels := fmt.Sprintf(`{incident=%q, job="rca"}`, id)
	if got := loki.lines(t)[labels]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Loki got %q\nwant %s: %q", loki.lines(t), labels, want)
	}
	b, err := os.ReadFile(filepath.Join(s.Path(id), mirrorCursorName))
	if err != nil {
		t.Fatal(err)
	}
	var c mirrorCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Offset != end {
		t.Errorf("cursor %s (%v), want offset %d", b, err, end)
	}
}

func TestMirrorNoURL(t *testing.T) {
	l := newFakeLog(t, 1)
	if n, err := (Mirror{URL: " "}).sync(context.Background(), l, "x"); n != 0 || err != nil || l.reads != 0 {
		t.Errorf("Sync without a URL = %d, %v after %d reads; want 0, nil, 0", n, err, l.reads)
	}
}

func TestMirrorPushPath(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"http://loki:3100", "http://loki:3100/loki/api/v1/push"},
		{"http://loki:3100/", "http://loki:3100/loki/api/v1/push"},
		{"https://gw.example/logs", "https://gw.example/logs/loki/api/v1/push"},
		{"https://gw.example/loki/api/v1/push", "https://gw.example/loki/api/v1/push"},
		{"https://u:p@gw.example/loki/api/v1/push/", "https://gw.example/loki/api/v1/push/"},
	} {
		tg, err := parseLokiTarget(tc.url, "")
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if got := tg.pushURL.String(); got != tc.want {
			t.Errorf("%s: pushes to %s, want %s", tc.url, got, tc.want)
		}
	}
}

func TestMirrorServerError(t *testing.T) {
	const id = "2026-11-24-checkout"
	loki := newFakeLoki(t)
	loki.set(http.StatusInternalServerError, "ingester unavailable", false)
	l := newFakeLog(t, 2)
	mkIncident(t, l, id)
	m := Mirror{URL: loki.URL, Timeout: 3 * time.Second}
	ctx := context.Background()

	n, err := m.sync(ctx, l, id)
	if err == nil || n != 0 {
		t.Fatalf("Sync against a failing Loki = %d, %v; want 0 and an error", n, err)
	}
	t.Log(err)
	for _, want := range []string{"saved locally", loki.URL, "500 Internal Server Error: ingester unavailable", "(3 tries)", "retried with the next entry"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is not one line", err)
	}
	if r := loki.nRequests(); r != pushAttempts {
		t.Errorf("%d requests, want %d", r, pushAttempts)
	}
	if off := cursorOffset(t, l, id); off != 0 {
		t.Errorf("cursor moved to %d after a failure", off)
	}

	// Still down, and one more entry.
	l.add(1)
	if _, err := m.sync(ctx, l, id); err == nil {
		t.Fatal("second Sync against a failing Loki succeeded")
	}

	loki.set(0, "", false)
	if n, err := m.sync(ctx, l, id); err != nil || n != 3 {
		t.Fatalf("Sync after recovery = %d, %v; want 3, nil", n, err)
	}
	if got := loki.lines(t)[streamLabels]; strings.Join(got, "\n") != strings.Join(wantLines(l, 0, 3), "\n") {
		t.Errorf("after recovery Loki got %q\nwant %q", got, wantLines(l, 0, 3))
	}
}

func TestMirrorHangingServer(t *testing.T) {
	const id = "2026-11-24-checkout"
	for _, budget := range []time.Duration{300 * time.Millisecond, 2 * time.Second} {
		t.Run(budget.String(), func(t *testing.T) {
			loki := newFakeLoki(t)
			loki.set(0, "", true)
			l := newFakeLog(t, 2)
			mkIncident(t, l, id)
			start := time.Now()
			n, err := Mirror{URL: loki.URL, Timeout: budget}.sync(context.Background(), l, id)
			took := time.Since(start)
			t.Logf("took %s: %v", took.Round(time.Millisecond), err)
			if err == nil || n != 0 {
				t.Fatalf("Sync against a hanging Loki = %d, %v; want 0 and an error", n, err)
			}
			if took > 3*budget {
				t.Errorf("Sync took %s with a budget of %s", took, budget)
			}
			if !strings.Contains(err.Error(), "no answer within") {
				t.Errorf("error %q does not say Loki did not answer", err)
			}
			if off := cursorOffset(t, l, id); off != 0 {
				t.Errorf("cursor moved to %d after a failure", off)
			}
		})
	}
}

func TestMirrorInterrupted(t *testing.T) {
	const id = "x"
	loki := newFakeLoki(t)
	loki.set(0, "", true)
	l := newFakeLog(t, 1)
	mkIncident(t, l, id)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Mirror{URL: loki.URL, Timeout: 5 * time.Second}.sync(ctx, l, id)
	if took := time.Since(start); took > time.Second {
		t.Errorf("an interrupted Sync took %s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("interrupted Sync: %v", err)
	}
}

func TestMirrorRejected(t *testing.T) {
	const id = "2026-11-24-checkout"
	loki := newFakeLoki(t)
	loki.set(http.StatusBadRequest, "entry with timestamp 2026-11-24 12:00:00 +0000 UTC ignored, reason: 'entry too far behind, oldest acceptable timestamp is: 2026-11-24T13:02:00Z'", false)
	l := newFakeLog(t, 2)
	mkIncident(t, l, id)
	m := Mirror{URL: loki.URL}
	n, err := m.sync(context.Background(), l, id)
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), "entry too far behind") || !strings.Contains(err.Error(), "local log only") {
		t.Fatalf("Sync against a refusing Loki = %d, %v; want an error quoting Loki", n, err)
	}
	if r := loki.nRequests(); r != 1 {
		t.Errorf("a 400 was tried %d times, want once", r)
	}
	// No retry can fix a refused entry: move on.
	if off := cursorOffset(t, l, id); off != 2 {
		t.Errorf("cursor at %d after a refusal, want 2", off)
	}
	loki.set(0, "", false)
	if n, err := m.sync(context.Background(), l, id); n != 0 || err != nil {
		t.Errorf("Sync after a refusal = %d, %v; want 0, nil", n, err)
	}
}

func TestMirrorBadURL(t *testing.T) {
	l := newFakeLog(t, 1)
	mkIncident(t, l, "x")
	for _, raw := range []string{"localhost:3100", "::not a url", "http://", "ftp://loki:3100", "http://loki:port/"} {
		_, err := Mirror{URL: raw}.sync(context.Background(), l, "x")
		if err == nil || !strings.Contains(err.Error(), "incident.loki_url") {
			t.Errorf("%q: %v, want an error naming incident.loki_url", raw, err)
		}
	}
	if l.reads != 0 {
		t.Errorf("read the log %d times with a bad URL", l.reads)
	}

	// Nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, err = Mirror{URL: "http://" + addr, Timeout: 2 * time.Second}.sync(context.Background(), l, "x")
	t.Logf("closed port, after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "Post ") {
		t.Errorf("closed port: %v, want connection refused, once", err)
	}
}

func TestMirrorCredentials(t *testing.T) {
	const id, user, pass = "x", "alice", "s3cret-pw!"
	escaped := "s3cret-pw%21"
	b64 := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	leaks := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		for _, s := range []string{pass, escaped, b64, "s3cret"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error shows the password (%q): %v", s, err)
			}
		}
	}
	l := newFakeLog(t, 1)
	mkIncident(t, l, id)

	loki := newFakeLoki(t)
	// A proxy that echoes what it got.
	loki.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			t.Errorf("basic auth = %q, %q, %v; want %q, %q", u, p, ok, user, pass)
		}
		http.Error(w, fmt.Sprintf("denied %s %s %s", r.Header.Get("Authorization"), p, r.URL), http.StatusUnauthorized)
	})
	withPass := strings.Replace(loki.URL, "://", "://"+user+":"+escaped+"@", 1)
	_, err := Mirror{URL: withPass}.sync(context.Background(), l, id)
	t.Log(err)
	leaks(t, err)
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("error %q does not point at the credentials", err)
	}

	for _, raw := range []string{
		"http://" + user + ":" + escaped + "@loki:port/",
		"http://" + user + ":" + escaped + "@bad host/",
		"ftp://" + user + ":" + escaped + "@loki/",
		"http://" + user + ":" + pass + "@127.0.0.1:1/",
	} {
		_, err := Mirror{URL: raw, Timeout: time.Second}.sync(context.Background(), l, id)
		t.Log(err)
		leaks(t, err)
	}
}

func TestMirrorLine(t *testing.T) {
	for _, tc := range []struct {
		e    Entry
		want string
	}{
		{Entry{Kind: KindNote, Author: "alice", Text: "rolled back"}, `kind=note author=alice msg="rolled back"`},
		{Entry{Kind: KindNote, Text: "a=b \"q\" c:\\d\nline2\ttab\x01"}, `kind=note msg="a=b \"q\" c:\\d\nline2\ttab\u0001"`},
		{Entry{Kind: KindUpdate, Author: "bob", Text: "investigating", Status: StatusIdentified, PostedTo: "#status"}, `kind=update author=bob msg=investigating status=identified posted_to=#status`},
		{Entry{Kind: KindAnalysis, Text: "report attached", Analysis: &AnalysisSummary{Service: "checkout", RootCause: "CPU saturation", Change: "deploy checkout v1.4.2", Ongoing: true}, Files: []string{"evidence/a.md", "evidence/b.json"}},
			`kind=analysis msg="report attached" service=checkout root_cause="CPU saturation" change="deploy checkout v1.4.2" ongoing=true files=evidence/a.md,evidence/b.json`},
		{Entry{Kind: KindStart, Text: "", Title: "500s on checkout", Severity: "SEV2"}, `kind=start title="500s on checkout" severity=SEV2`},
		{Entry{Kind: KindNote, Text: "ünïcode ok \xff"}, "kind=note msg=\"ünïcode ok \uFFFD\""},
		// Backdated with --at: the line says when it happened.
		{Entry{Time: time.Date(2026, 11, 24, 14, 15, 0, 0, time.FixedZone("CET", 3600)), Recorded: time.Date(2026, 11, 24, 14, 20, 0, 0, time.UTC), Kind: KindMitigate, Author: "alice", Text: "rolled back"},
			`kind=mitigate at=2026-11-24T13:15:00Z author=alice msg="rolled back"`},
	} {
		if got := MirrorLine(tc.e); got != tc.want {
			t.Errorf("MirrorLine(%+v)\n got %s\nwant %s", tc.e, got, tc.want)
		}
	}
}

func TestMirrorURLWithUnencodedPassword(t *testing.T) {
	for _, raw := range []string{"http://alice:s3cr#t@127.0.0.1:3100", "http://alice:s3/cr?t@127.0.0.1:3100"} {
		err := Mirror{URL: raw}.Validate()
		if err == nil {
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") || strings.Contains(err.Error(), "cr?t") {
			t.Errorf("the password shows: %v", err)
		}
	}
	if err := (Mirror{URL: "http://alice:pw@127.0.0.1:3100"}).Validate(); err != nil {
		t.Errorf("a good URL: %v", err)
	}
}

// TestPushLogRetryableWins: of two batches, a 500 then a 400, the 500 is
// the outcome, so the cursor does not skip the first batch.
func TestPushLogRetryableWins(t *testing.T) {
	for _, order := range [][2]int{{500, 400}, {400, 500}} {
		var l pushLog
		for _, status := range order {
			l.Log("msg", "final error sending batch", "status", status, "error", fmt.Sprintf("server returned HTTP status %d (%d): x", status, status))
		}
		err := l.outcome(time.Second)
		var rej *pushRejected
		if err == nil || errors.As(err, &rej) {
			t.Errorf("batches %v: outcome %v, want a retryable failure", order, err)
		}
	}
}

// TestMirrorBackdated: an entry backdated with --at is pushed at the time
// it was written, so Loki, which refuses entries far older than a stream's
// newest, takes it; the line carries the event's time.
func TestMirrorBackdated(t *testing.T) {
	const id = "2026-11-24-checkout"
	loki := newFakeLoki(t)
	l := newFakeLog(t, 2) // 14:02, 14:03
	written := l.entries[1].Time.Add(time.Minute)
	l.entries = append(l.entries, Entry{Time: written.Add(-3 * time.Hour), Recorded: written, Kind: KindMitigate, Author: "alice", Text: "rolled back"})
	mkIncident(t, l, id)
	if n, err := (Mirror{URL: loki.URL}).sync(context.Background(), l, id); err != nil || n != 3 {
		t.Fatalf("Sync = %d, %v; want 3, nil", n, err)
	}
	got := loki.lines(t)[streamLabels]
	want := "2026-11-24T14:04:00Z kind=mitigate at=2026-11-24T11:04:00Z author=alice msg=\"rolled back\""
	if len(got) != 3 || got[2] != want {
		t.Errorf("Loki got %q\nwant last %q", got, want)
	}
}
