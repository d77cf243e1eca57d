package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/workflow"
)

const testToken = "tok-9d2f7c1e-never-print-me"

// syncBuffer is a log sink for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// quickAnalysis is an analysis of an empty window: cheap, and enough to
// attach evidence; calls counts the analyses.
func quickAnalysis(t *testing.T, calls *atomic.Int64) AnalyseFunc {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, startsAt, now time.Time, noted []telemetry.Change) (workflow.Run, error) {
		calls.Add(1)
		w := Window(startsAt, now, 0, false)
		b := telemetry.Bundle{Window: w, Baseline: telemetry.Window{From: w.From.Add(-time.Hour), To: w.From}}
		return workflow.Analyze(ctx, b, nil, cat, nil, time.Hour, noted)
	}
}

// demoAnalysis analyses the bundled demo recording around the alert.
func demoAnalysis(t *testing.T) AnalyseFunc {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	src := snapshot.Source{Dir: filepath.Join("..", "testdata", "incidents", "pi-digits")}
	return Analyser{Sources: []collectors.Source{src}, Replay: true, Catalog: cat, Lookback: 2 * time.Hour}.Analyse
}

type harness struct {
	t     *testing.T
	dir   string
	srv   *Server
	http  *httptest.Server
	logs  *syncBuffer
	calls atomic.Int64
	out   bytes.Buffer // every reply, for the token check
}

func newHarness(t *testing.T, dir string, analyse AnalyseFunc, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: dir, logs: new(syncBuffer)}
	if analyse == nil {
		analyse = quickAnalysis(t, &h.calls)
	}
	cfg := Config{
		Store: incident.Store{Dir: dir}, Token: testToken, Analyse: analyse, Workers: 2, Queue: 64,
		Log: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	srv.Start(context.Background())
	h.http = httptest.NewServer(srv.Handler())
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	h.http.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
}

// post sends a body with the token (auth "" sends none) and returns the
// status and the reply.
func (h *harness) post(body, auth string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.http.URL+Path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.out.Write(b)
	return resp.StatusCode, string(b)
}

func (h *harness) notify(body string) {
	h.t.Helper()
	if code, reply := h.post(body, "Bearer "+testToken); code != http.StatusAccepted {
		h.t.Fatalf("POST: %d %s", code, reply)
	}
}

// settle waits until no group waits or runs.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		h.srv.mu.Lock()
		busy := len(h.srv.queued) + len(h.srv.running) + len(h.srv.retrying)
		h.srv.mu.Unlock()
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("still busy after 60s; log:\n%s", h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) incidents() []incident.Summary {
	h.t.Helper()
	list, err := incident.Store{Dir: h.dir}.List(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

// only is the one incident there must be.
func (h *harness) only() *incident.Log {
	h.t.Helper()
	list := h.incidents()
	if len(list) != 1 {
		h.t.Fatalf("%d incidents, want 1: %+v\nlog:\n%s", len(list), list, h.logs.String())
	}
	l, err := incident.Store{Dir: h.dir}.Read(context.Background(), list[0].ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return l
}

func kinds(l *incident.Log) string {
	var k []string
	for _, e := range l.Entries {
		k = append(k, string(e.Kind))
	}
	return strings.Join(k, " ")
}

const group1 = `{}/{severity="critical"}:{alertname="CheckoutErrors"}`

func TestRepeatedAndResolved(t *testing.T) {
	h := newHarness(t, t.TempDir(), demoAnalysis(t), nil)
	firing := payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"service":"gateway","severity":"critical"`))
	h.notify(firing)
	h.settle()
	l := h.only()
	if got := kinds(l); got != "start impact analysis" {
		t.Fatalf("entries %q, want start impact analysis", got)
	}
	st, _ := l.Start()
	if st.Title != "checkout 5xx above 5%" || st.Severity != "SEV1" || st.Impact != "customers cannot pay" || !st.Time.Equal(demoStart) {
		t.Errorf("start entry %+v", st)
	}
	for _, want := range []string{`service="gateway"`, "http://prom.example:9090/graph", "runbook https://runbooks.example/checkout", groupTag(group1)} {
		if !strings.Contains(st.Text, want) {
			t.Errorf("start entry %q lacks %q", st.Text, want)
		}
	}
	a := l.Entries[2]
	if a.Analysis == nil || a.Analysis.Service != "checkout" || !strings.Contains(a.Analysis.Change, "checkout v1.4.2") {
		t.Errorf("analysis %+v, want the checkout deploy", a.Analysis)
	}
	for _, f := range a.Files {
		if _, err := os.Stat(filepath.Join(h.dir, l.ID, f)); err != nil {
			t.Errorf("evidence: %v", err)
		}
	}

	// Alertmanager repeats the notification (repeat_interval, retries): nothing new.
	for range 3 {
		h.notify(firing)
	}
	h.settle()
	if l = h.only(); kinds(l) != "start impact analysis" {
		t.Errorf("after repeats: %q", kinds(l))
	}

	// A new alert joins the group: a note, not an incident.
	joined := payload(group1, "firing",
		alert("fp1", "firing", demoStart, time.Time{}, `"service":"gateway","severity":"critical"`),
		alert("fp2", "firing", demoStart.Add(2*time.Minute), time.Time{}, `"service":"checkout","severity":"critical"`))
	h.notify(joined)
	h.settle()
	l = h.only()
	if got := kinds(l); got != "start impact analysis note" || !strings.Contains(l.Entries[3].Text, `joined the group`) || !strings.Contains(l.Entries[3].Text, `service="checkout"`) {
		t.Fatalf("after a join: %q, last %q", got, l.Entries[len(l.Entries)-1].Text)
	}

	// Resolved: a note saying which alert resolved and when; the incident stays open.
	end := demoStart.Add(40 * time.Minute)
	resolved := payload(group1, "resolved",
		alert("fp1", "resolved", demoStart, end, `"service":"gateway","severity":"critical"`),
		alert("fp2", "resolved", demoStart.Add(2*time.Minute), end, `"service":"checkout","severity":"critical"`))
	h.notify(resolved)
	h.notify(resolved)
	h.settle()
	l = h.only()
	if got := kinds(l); got != "start impact analysis note note note" {
		t.Fatalf("after resolved: %q", got)
	}
	for _, e := range l.Entries[4:] {
		if !strings.Contains(e.Text, "resolved at 2026-11-24 14:45:00 UTC") {
			t.Errorf("resolved note %q", e.Text)
		}
	}
	if l.Status() == incident.StatusResolved {
		t.Error("the receiver resolved the incident; responders do")
	}
	// A late retry of the firing notification does not undo the resolution.
	h.notify(firing)
	h.settle()
	if got := kinds(h.only()); got != "start impact analysis note note note" {
		t.Errorf("after a late firing retry: %q", got)
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("quick analysis called %d times", n)
	}
}

func TestResolvedByRespondersThenFiringAgain(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)))
	h.settle()
	first := h.only()
	if _, err := (incident.Store{Dir: h.dir}).Append(context.Background(), first.ID, incident.Entry{Time: time.Now(), Kind: incident.KindResolve, Text: "fixed"}); err != nil {
		t.Fatal(err)
	}
	end := demoStart.Add(10 * time.Minute)
	h.notify(payload(group1, "resolved", alert("fp1", "resolved", demoStart, end, `"a":"b"`)))
	h.notify(payload(group1, "firing", alert("fp1", "firing", end.Add(time.Hour), time.Time{}, `"a":"b"`)))
	h.settle()
	if got := len(h.incidents()); got != 2 {
		t.Errorf("%d incidents, want a new one after the responders resolved the first\n%s", got, h.logs.String())
	}
}

func TestRejects(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	good := payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`))
	for _, auth := range []string{"", "Bearer wrong", "Basic " + testToken, "Bearer", testToken, "Bearer " + testToken + "x"} {
		code, reply := h.post(good, auth)
		if code != http.StatusUnauthorized || strings.Count(reply, "\n") != 1 {
			t.Errorf("auth %q: %d %q, want 401 and one line", auth, code, reply)
		}
	}
	big := `{"version":"4","groupKey":"g","status":"firing","receiver":"` + strings.Repeat("x", 20<<20) + `"}`
	if code, reply := h.post(big, "Bearer "+testToken); code != http.StatusRequestEntityTooLarge {
		t.Errorf("20 MB body: %d %q, want 413", code, reply)
	}
	for name, body := range map[string]string{
		"malformed": `{"version":"4",`,
		"version 3": strings.Replace(good, `"version":"4"`, `"version":"3"`, 1),
		"unknown":   strings.Replace(good, `"receiver"`, `"receivers"`, 1),
	} {
		code, reply := h.post(body, "Bearer "+testToken)
		if code != http.StatusBadRequest || strings.Count(reply, "\n") != 1 {
			t.Errorf("%s: %d %q, want 400 with a one-line reason", name, code, reply)
		}
	}
	resp, err := http.Get(h.http.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if n := len(h.incidents()); n != 0 {
		t.Errorf("%d incidents from rejected requests", n)
	}
	m := h.metrics()
	for _, want := range []string{
		`rca_webhooks_rejected_total{reason="unauthorized"} 6`, `rca_webhooks_rejected_total{reason="too_large"} 1`,
		`rca_webhooks_rejected_total{reason="bad_request"} 3`, `rca_webhooks_received_total 11`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func (h *harness) metrics() string {
	h.t.Helper()
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h.out.Write(b)
	return string(b)
}

// TestStorm: 500 notifications at once for 20 groups: 20 incidents, one
// analysis each, and every reply quick.
func TestStorm(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int64
	quick := quickAnalysis(t, &calls)
	slow := func(ctx context.Context, startsAt, now time.Time, noted []telemetry.Change) (workflow.Run, error) {
		<-release // every analysis waits until the storm is over
		return quick(ctx, startsAt, now, noted)
	}
	h := newHarness(t, t.TempDir(), slow, func(c *Config) { c.Workers = 3; c.Queue = 32 })
	var wg sync.WaitGroup
	var bad atomic.Int64
	var slowest atomic.Int64
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := i % 20
			key := fmt.Sprintf(`{}:{alertname="A%d"}`, g)
			body := payload(key, "firing", alert(fmt.Sprintf("fp%d", g), "firing", demoStart, time.Time{}, fmt.Sprintf(`"n":"%d"`, g)))
			req, _ := http.NewRequest(http.MethodPost, h.http.URL+Path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				bad.Add(1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				bad.Add(1)
			}
			if d := time.Since(start); int64(d) > slowest.Load() {
				slowest.Store(int64(d))
			}
		}()
	}
	wg.Wait()
	close(release)
	h.settle()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d notifications not accepted", n)
	}
	if n := len(h.incidents()); n != 20 {
		t.Errorf("%d incidents, want 20", n)
	}
	if n := calls.Load(); n != 20 {
		t.Errorf("%d analyses, want one per group (20)", n)
	}
	t.Logf("500 notifications, slowest reply %s (while every analysis was blocked)", time.Duration(slowest.Load()).Round(time.Millisecond))
	if !strings.Contains(h.metrics(), "rca_analyses_total 20") {
		t.Error("rca_analyses_total is not 20")
	}
}

// TestRestart: the server stops while an analysis runs; the next one,
// over the same folder, finishes it and opens no second incident.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	started := make(chan struct{})
	var once sync.Once
	blocking := func(ctx context.Context, _, _ time.Time, _ []telemetry.Change) (workflow.Run, error) {
		once.Do(func() { close(started) })
		<-ctx.Done()
		return workflow.Run{}, ctx.Err()
	}
	h1 := newHarness(t, dir, blocking, nil)
	firing := payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`))
	h1.notify(firing)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := h1.srv.Shutdown(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("shutdown: %v, want the running analysis abandoned", err)
	}
	h1.http.Close()
	if got := kinds(h1.only()); got != "start" {
		t.Fatalf("after the abandoned analysis: %q", got)
	}

	h2 := newHarness(t, dir, demoAnalysis(t), nil)
	h2.settle()
	l := h2.only()
	if got := kinds(l); got != "start impact analysis" {
		t.Fatalf("after the restart: %q\n%s", got, h2.logs.String())
	}
	h2.notify(firing)
	h2.settle()
	if got := kinds(h2.only()); got != "start impact analysis" {
		t.Errorf("a repeat after the restart: %q", got)
	}
}

// TestCrashWhileOpening: a crash after the incident was started but before
// the group recorded it: the next start finds it by the group's mark.
func TestCrashWhileOpening(t *testing.T) {
	dir := t.TempDir()
	g := &group{GroupKey: group1, Opening: true, Alerts: map[string]*alertState{}}
	m, err := Parse([]byte(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`))))
	if err != nil {
		t.Fatal(err)
	}
	g.merge(m)
	if err := g.save(dir); err != nil {
		t.Fatal(err)
	}
	_, text := startEntry(g)
	if _, err := (incident.Store{Dir: dir}).Start(context.Background(), incident.StartOptions{Title: "x", Time: demoStart, Text: text}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, dir, nil, nil)
	h.settle()
	if got := kinds(h.only()); got != "start impact analysis" {
		t.Errorf("entries %q", got)
	}
}

func TestFingerprintJoinsOpenIncident(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)))
	h.settle()
	// The same alert under another group key (a route changed): same incident.
	h.notify(payload(`{}:{alertname="CheckoutErrors",team="pay"}`, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)))
	h.settle()
	if n := len(h.incidents()); n != 1 {
		t.Errorf("%d incidents, want the alert's open one only", n)
	}
}

// TestTokenNeverShown: the token appears in no reply, no log line, no
// metric and no file of the incidents folder.
func TestTokenNeverShown(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)))
	h.post(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)), "Bearer "+testToken+"-wrong")
	h.post(`{"version":"`+testToken+`"}`, "Bearer "+testToken)
	h.post("{", "Bearer "+testToken)
	h.settle()
	h.metrics()
	for name, text := range map[string]string{"replies": h.out.String(), "log": h.logs.String()} {
		if strings.Contains(text, testToken) {
			t.Errorf("the token is in the %s:\n%s", name, text)
		}
	}
	filepath.WalkDir(h.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(testToken)) {
			t.Errorf("the token is in %s", path)
		}
		return nil
	})
}

func TestServeShutsDown(t *testing.T) {
	h := newHarness(t, t.TempDir(), nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln, 5*time.Second) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/-/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/-/ready: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// TestFirstUpdatePosted: with a webhook configured, the first stakeholder
// update goes out after the analysis and is logged with where it went.
func TestFirstUpdatePosted(t *testing.T) {
	var posted []string
	var mu sync.Mutex
	h := newHarness(t, t.TempDir(), demoAnalysis(t), func(c *Config) {
		c.Post = func(_ context.Context, text string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			posted = append(posted, text)
			return "webhook at hooks.example", nil
		}
	})
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"service":"gateway"`)))
	h.settle()
	l := h.only()
	if got := kinds(l); got != "start impact analysis update" {
		t.Fatalf("entries %q", got)
	}
	u := l.Entries[3]
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 1 || posted[0] != u.Text || u.PostedTo != "webhook at hooks.example" || !strings.Contains(u.Text, "Next update") {
		t.Errorf("posted %q; entry %+v", posted, u)
	}
}

// TestShutdownFinishesRunning: an analysis that ends within the grace
// period is attached, and shutdown reports nothing abandoned.
func TestShutdownFinishesRunning(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	quick := quickAnalysis(t, &calls)
	h := newHarness(t, t.TempDir(), func(ctx context.Context, s, n time.Time, c []telemetry.Change) (workflow.Run, error) {
		close(started)
		<-release
		return quick(ctx, s, n, c)
	}, nil)
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)))
	<-started
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if got := kinds(h.only()); got != "start impact analysis" {
		t.Errorf("entries %q, want the analysis finished", got)
	}
	resp, err := http.Get(h.http.URL + "/-/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/-/ready after shutdown: %d, want 503", resp.StatusCode)
	}
}

// TestCurrentIncidentKept: an alert opening an incident while responders
// work on another leaves theirs the current one; with none open, the
// alert's becomes current.
func TestCurrentIncidentKept(t *testing.T) {
	dir := t.TempDir()
	st := incident.Store{Dir: dir}
	h := newHarness(t, dir, nil, nil)
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)))
	h.settle()
	first, err := st.Current()
	if err != nil {
		t.Fatalf("the first alert's incident is not current: %v", err)
	}
	h.notify(payload("other-group", "firing", alert("fp9", "firing", demoStart.Add(time.Hour), time.Time{}, `"a":"c"`)))
	h.settle()
	if cur, _ := st.Current(); cur != first || len(h.incidents()) != 2 {
		t.Errorf("current %q, want %q kept (%d incidents)", cur, first, len(h.incidents()))
	}
}

// TestSlowClientCutOff: a client that never finishes its headers is
// disconnected by the read timeout, not held forever.
func TestSlowClientCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s header timeout")
	}
	h := newHarness(t, t.TempDir(), nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln, 5*time.Second) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "POST "+Path+" HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	io.Copy(io.Discard, c) // returns when the server closes the connection
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("a client stalled in its headers was held %s", d)
	} else {
		t.Logf("stalled client cut off after %s", d.Round(100*time.Millisecond))
	}
}

// flaky fails its first n analyses, as a Prometheus that is restarting
// does, then analyses as quickAnalysis. It notes when each try began, and
// a try waits for hold, when set, to be closed.
type flaky struct {
	n     int
	hold  chan struct{}
	mu    sync.Mutex
	began []time.Time
}

func (f *flaky) analyse(t *testing.T) AnalyseFunc {
	quick := quickAnalysis(t, new(atomic.Int64))
	return func(ctx context.Context, startsAt, now time.Time, noted []telemetry.Change) (workflow.Run, error) {
		f.mu.Lock()
		f.began = append(f.began, time.Now())
		try := len(f.began)
		f.mu.Unlock()
		if f.hold != nil {
			<-f.hold
		}
		if try <= f.n {
			return workflow.Run{}, errors.New(`querying prometheus: Get "http://127.0.0.1:9090/api/v1/query_range": connection refused`)
		}
		return quick(ctx, startsAt, now, noted)
	}
}

func (f *flaky) tries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.began)
}

func (f *flaky) at(i int) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.began[i]
}

const firing1 = `"service":"gateway","severity":"critical"`

func TestFailedAnalysisRetried(t *testing.T) {
	for _, tc := range []struct {
		name       string
		failures   int
		waits      []time.Duration
		wantKinds  string
		wantTries  int
		wantFailed string
	}{
		{"recovers on the second retry", 2, []time.Duration{20 * time.Millisecond, 40 * time.Millisecond}, "start impact analysis", 3, ""},
		{"fails for good", 5, []time.Duration{time.Millisecond, time.Millisecond}, "start note", 3, "tried 3 times"},
		{"no retry", 1, []time.Duration{}, "start note", 1, "tried once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flaky{n: tc.failures}
			h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) { c.RetryWaits = tc.waits })
			h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
			h.settle()
			l := h.only()
			if got := kinds(l); got != tc.wantKinds {
				t.Fatalf("entries %q, want %q\nlog:\n%s", got, tc.wantKinds, h.logs.String())
			}
			if n := f.tries(); n != tc.wantTries {
				t.Fatalf("analysis tried %d times, want %d", n, tc.wantTries)
			}
			for i := 1; i < f.tries() && i <= len(tc.waits); i++ {
				if gap := f.at(i).Sub(f.at(i - 1)); gap < tc.waits[i-1] {
					t.Errorf("try %d came %v after the one before, want at least %v", i+1, gap, tc.waits[i-1])
				}
			}
			if tc.wantFailed != "" {
				note := l.Entries[len(l.Entries)-1].Text
				for _, want := range []string{tc.wantFailed, "connection refused", "rca analyze --incident " + l.ID} {
					if !strings.Contains(note, want) {
						t.Errorf("note %q lacks %q", note, want)
					}
				}
			}
			// Done with the group: a repeated notification tries nothing more.
			h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
			h.settle()
			if n := f.tries(); n != tc.wantTries {
				t.Errorf("after a repeat: tried %d times, want %d", n, tc.wantTries)
			}
		})
	}
}

// settleWaiting waits until no group is queued or running, and one waits
// to retry.
func (h *harness) settleWaiting() {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.srv.mu.Lock()
		busy := len(h.srv.queued) + len(h.srv.running)
		waiting := len(h.srv.retrying)
		h.srv.mu.Unlock()
		if busy == 0 && waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no group waiting to retry after 30s; log:\n%s", h.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRetryNotHurried: notifications while a failed analysis waits, or
// while it runs, do not try it again before its wait is over.
func TestRetryNotHurried(t *testing.T) {
	t.Run("during the wait", func(t *testing.T) {
		f := &flaky{n: 10}
		h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) {
			c.RetryWaits = []time.Duration{time.Hour, time.Hour}
			c.Workers = 1 // the wait holds no worker: the one there notes the join
		})
		h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
		h.settleWaiting()
		h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
		h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1), alert("fp2", "firing", demoStart, time.Time{}, `"service":"checkout"`)))
		h.settleWaiting()
		if n := f.tries(); n != 1 {
			t.Errorf("tried %d times within the wait, want 1", n)
		}
		if got := kinds(h.only()); got != "start note" || !strings.Contains(h.only().Entries[1].Text, "joined the group") {
			t.Errorf("entries %q: the joined alert is noted while the analysis waits", got)
		}
	})
	t.Run("during the run", func(t *testing.T) {
		f := &flaky{n: 10, hold: make(chan struct{})}
		h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) { c.RetryWaits = []time.Duration{time.Hour, time.Hour} })
		h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
		for f.tries() == 0 {
			time.Sleep(time.Millisecond)
		}
		h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1), alert("fp2", "firing", demoStart, time.Time{}, `"service":"checkout"`)))
		close(f.hold)
		h.settleWaiting()
		if n := f.tries(); n != 1 {
			t.Errorf("tried %d times, want 1: the notification during the run waits with it", n)
		}
	})
}

// TestRetryAfterRestart: the try count and the time of the next try are
// saved with the group; a shutdown stops the waiting timer and the next
// start goes on where it was.
func TestRetryAfterRestart(t *testing.T) {
	dir := t.TempDir()
	f := &flaky{n: 10}
	waits := func(c *Config) { c.RetryWaits = []time.Duration{300 * time.Millisecond, time.Millisecond} }
	h := newHarness(t, dir, f.analyse(t), waits)
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
	h.settleWaiting()
	h.close()
	if h.waitingRetry() {
		t.Error("a retry timer outlived the shutdown")
	}
	h2 := newHarness(t, dir, f.analyse(t), waits)
	h2.settle()
	if n := f.tries(); n != 3 {
		t.Errorf("tried %d times in all, want 3 (the count goes on after the restart)", n)
	}
	if gap := f.at(1).Sub(f.at(0)); gap < 300*time.Millisecond {
		t.Errorf("the second try came %v after the first, want at least the wait, 300ms", gap)
	}
	if l := h2.only(); kinds(l) != "start note" || !strings.Contains(l.Entries[1].Text, "tried 3 times") {
		t.Errorf("entries %q, want the failure noted after 3 tries", kinds(l))
	}
}

// TestRetryQueueFull: a retry that finds the queue full waits again rather
// than being lost.
func TestRetryQueueFull(t *testing.T) {
	f := &flaky{n: 1}
	h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) {
		c.RetryWaits = []time.Duration{20 * time.Millisecond}
		c.Queue = 1
	})
	h.srv.mu.Lock()
	h.srv.queued["someone else"] = true // the queue is full when the timer fires
	h.srv.mu.Unlock()
	h.srv.retryLater("x", time.Millisecond) // any group: only the queue matters here
	time.Sleep(50 * time.Millisecond)
	// A timer that fires finds the queue full and waits again: seen at
	// some instant unless it was dropped (a busy machine may catch one
	// between firing and waiting again).
	waiting := false
	for deadline := time.Now().Add(2 * time.Second); !waiting && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		waiting = h.waitingRetry()
	}
	if !waiting {
		t.Fatal("the retry that found the queue full was dropped")
	}
	h.srv.mu.Lock()
	delete(h.srv.queued, "someone else")
	h.srv.mu.Unlock()
	h.settle()
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
	h.settle()
	if got := kinds(h.only()); got != "start impact analysis" {
		t.Errorf("entries %q", got)
	}
}

// TestRetriesPerIncident: a new incident of the group starts its tries
// afresh.
func TestRetriesPerIncident(t *testing.T) {
	f := &flaky{n: 4}
	h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) { c.RetryWaits = []time.Duration{time.Millisecond, time.Millisecond} })
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
	h.settle()
	first := h.only()
	if kinds(first) != "start note" {
		t.Fatalf("first incident %q, want its failure noted", kinds(first))
	}
	h.resolveAndFireAgain(first.ID)
	h.settle()
	list := h.incidents()
	if len(list) != 2 {
		t.Fatalf("%d incidents, want 2", len(list))
	}
	for _, sum := range list {
		if sum.ID == first.ID {
			continue
		}
		l, err := incident.Store{Dir: h.dir}.Read(context.Background(), sum.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(l); got != "start impact analysis" {
			t.Errorf("second incident %q, want its analysis on its second try", got)
		}
	}
	if n := f.tries(); n != 5 {
		t.Errorf("tried %d times, want 5 (3, then 2)", n)
	}
}

// TestResolvedWhileWaiting: the responders resolve an incident whose
// analysis waits to retry, and the group fires again: the new incident is
// analysed at once, not at the old incident's retry time.
func TestResolvedWhileWaiting(t *testing.T) {
	f := &flaky{n: 1}
	h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) { c.RetryWaits = []time.Duration{time.Hour} })
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
	h.settleWaiting()
	first := h.only()
	h.resolveAndFireAgain(first.ID)
	h.settleWaiting() // the old timer is still there; it finds nothing to do
	if n := f.tries(); n != 2 {
		t.Fatalf("tried %d times, want 2: the new incident's analysis at once\n%s", n, h.logs.String())
	}
	for _, sum := range h.incidents() {
		if l, err := (incident.Store{Dir: h.dir}).Read(context.Background(), sum.ID); err != nil {
			t.Fatal(err)
		} else if sum.ID != first.ID && kinds(l) != "start impact analysis" {
			t.Errorf("new incident %q, want its analysis", kinds(l))
		}
	}
}

// TestNewIncidentRetriesOnItsOwnTime: the group's previous incident waits
// an hour for its last retry when the responders resolve it; the group
// fires again and the new incident's analysis fails: its retry comes after
// its own first wait, not the old incident's.
func TestNewIncidentRetriesOnItsOwnTime(t *testing.T) {
	f := &flaky{n: 3}
	h := newHarness(t, t.TempDir(), f.analyse(t), func(c *Config) { c.RetryWaits = []time.Duration{10 * time.Millisecond, time.Hour} })
	h.notify(payload(group1, "firing", alert("fp1", "firing", demoStart, time.Time{}, firing1)))
	for f.tries() < 2 || !h.waitingRetry() {
		time.Sleep(time.Millisecond)
	}
	h.settleWaiting()
	first := h.only()
	h.resolveAndFireAgain(first.ID)
	deadline := time.Now().Add(10 * time.Second)
	for f.tries() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("tried %d times; the new incident's retry waits for the old one's\n%s", f.tries(), h.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.settle()
	for _, sum := range h.incidents() {
		if l, err := (incident.Store{Dir: h.dir}).Read(context.Background(), sum.ID); err != nil {
			t.Fatal(err)
		} else if sum.ID != first.ID && kinds(l) != "start impact analysis" {
			t.Errorf("new incident %q, want its analysis on its second try", kinds(l))
		}
	}
}

// resolveAndFireAgain has the responders resolve incident id, and group1's
// alert resolve and fire again: a new incident.
func (h *harness) resolveAndFireAgain(id string) {
	h.t.Helper()
	if _, err := (incident.Store{Dir: h.dir}).Append(context.Background(), id, incident.Entry{Time: time.Now(), Kind: incident.KindResolve, Text: "fixed"}); err != nil {
		h.t.Fatal(err)
	}
	end := demoStart.Add(10 * time.Minute)
	h.notify(payload(group1, "resolved", alert("fp1", "resolved", demoStart, end, firing1)))
	h.notify(payload(group1, "firing", alert("fp1", "firing", end.Add(time.Hour), time.Time{}, firing1)))
}

func (h *harness) waitingRetry() bool {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	return len(h.srv.retrying) > 0
}
