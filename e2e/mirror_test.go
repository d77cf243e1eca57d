package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lokisource "github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/incident"
)

// TestMirrorLoki mirrors an incident log into a real Loki through a proxy
// that can lose Loki's answers or go down: every entry must arrive once,
// in order, whatever failed in between, and the local log stays whole.
func TestMirrorLoki(t *testing.T) {
	lokiURL := startLoki(t)
	proxy := startFlakyProxy(t, lokiURL)
	ctx := context.Background()
	store := incident.Store{Dir: t.TempDir()}
	started := time.Now()
	id, err := store.Start(ctx, incident.StartOptions{
		Title: "500s on checkout", Severity: "SEV2", Author: "alice", Time: started,
	})
	if err != nil {
		t.Fatal(err)
	}
	appendNotes := func(texts ...string) {
		t.Helper()
		for _, text := range texts {
			e := incident.Entry{Time: time.Now(), Kind: incident.KindNote, Author: "bob", Text: text}
			if _, err := store.Append(ctx, id, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := incident.Mirror{URL: proxy.url, Timeout: 3 * time.Second}
	syncOK := func(want int) {
		t.Helper()
		n, err := m.Sync(ctx, store, id)
		if err != nil || n != want {
			t.Fatalf("Sync = %d, %v; want %d, nil", n, err, want)
		}
	}
	failSync := func(wants ...string) {
		t.Helper()
		start := time.Now()
		n, err := m.Sync(ctx, store, id)
		t.Logf("Sync failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
		if err == nil || n != 0 {
			t.Fatalf("Sync = %d, %v; want 0 and an error", n, err)
		}
		for _, w := range append(wants, "saved locally", proxy.url, "retried with the next entry") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}

	appendNotes("checkout p99 at 4s", `rolled back "v1.4.2" = fixed?`)
	syncOK(3)
	checkMirrored(t, lokiURL, store, id, started)

	// Loki stores the push but its answer is lost: the next Sync resends.
	proxy.setMode(t, loseAnswers)
	appendNotes("error rate falling")
	failSync("502 Bad Gateway")

	// Loki is down.
	proxy.setMode(t, down)
	appendNotes("monitoring for 15 minutes", "all clear\nsecond line")
	failSync("connection refused")
	log, err := store.Read(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Entries) != 6 || len(log.Problems) > 0 {
		t.Fatalf("the local log has %d entries and problems %v after failed mirroring, want 6 and none", len(log.Entries), log.Problems)
	}

	proxy.setMode(t, up)
	syncOK(3)
	syncOK(0)
	checkMirrored(t, lokiURL, store, id, started)

	// What a CLI command pays per entry with Loki up.
	var took []time.Duration
	for i := range 10 {
		appendNotes(fmt.Sprintf("latency probe %d", i))
		start := time.Now()
		syncOK(1)
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("Sync of 1 entry against a real Loki: median %s, max %s", took[len(took)/2].Round(10*time.Microsecond), took[len(took)-1].Round(10*time.Microsecond))
	checkMirrored(t, lokiURL, store, id, started)
}

// checkMirrored waits until Loki returns every entry of the local log,
// then requires each exactly once, in log order, with its labels, time and
// line, and the same count from a metric query.
func checkMirrored(t *testing.T, lokiURL string, s incident.Store, id string, from time.Time) {
	t.Helper()
	log, err := s.Read(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range log.Entries {
		want = append(want, e.Time.UTC().Format(time.RFC3339Nano)+" "+incident.MirrorLine(e))
	}
	from = from.Add(-time.Minute)
	to := time.Now().Add(time.Minute)
	selector := fmt.Sprintf(`{job="rca",incident=%q}`, id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := url.Values{
			"query":     {selector},
			"start":     {strconv.FormatInt(from.UnixNano(), 10)},
			"end":       {strconv.FormatInt(to.UnixNano(), 10)},
			"limit":     {"1000"},
			"direction": {"forward"},
		}
		lines, _, err := lokisource.DecodeStreams(lokiGet(t, lokiURL, "/loki/api/v1/query_range", q))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var badLabels []string
		for _, l := range lines {
			got = append(got, l.T.UTC().Format(time.RFC3339Nano)+" "+l.Line)
			if l.Labels["job"] != "rca" || l.Labels["incident"] != id {
				badLabels = append(badLabels, l.Labels.String())
			}
		}
		if len(badLabels) > 0 {
			t.Fatalf("lines with labels %q", badLabels)
		}
		if slices.Equal(got, want) {
			break
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			t.Fatalf("Loki returns %d lines:\n%s\nwant the log's %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What a dashboard panel counts.
	rng := to.Sub(from).Truncate(time.Second)
	q := url.Values{
		"query": {fmt.Sprintf("sum(count_over_time(%s[%ds]))", selector, int(rng.Seconds()))},
		"time":  {strconv.FormatInt(to.UnixNano(), 10)},
	}
	var resp struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	lokiGetJSON(t, lokiURL, "/loki/api/v1/query", q, &resp)
	if len(resp.Data.Result) != 1 || resp.Data.Result[0].Value[1] != strconv.Itoa(len(want)) {
		t.Errorf("count_over_time = %v, want %d", resp.Data.Result, len(want))
	}
}

type proxyMode int32

const (
	up          proxyMode = iota
	loseAnswers           // forward, then answer 502
	down                  // nothing listens: connection refused
)

// flakyProxy stands between the mirror and Loki on a fixed address, so
// that the mirror's target, and with it its cursor, stays the same.
type flakyProxy struct {
	url  string
	addr string
	rp   *httputil.ReverseProxy
	mode atomic.Int32

	mu  sync.Mutex
	srv *http.Server
}

func startFlakyProxy(t *testing.T, lokiURL string) *flakyProxy {
	t.Helper()
	target, err := url.Parse(lokiURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{rp: httputil.NewSingleHostReverseProxy(target)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.url = "http://" + p.addr
	p.serve(t, l)
	t.Cleanup(func() { p.setMode(t, down) })
	return p
}

func (p *flakyProxy) serve(t *testing.T, l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if proxyMode(p.mode.Load()) == loseAnswers {
			p.rp.ServeHTTP(httptest.NewRecorder(), r)
			http.Error(w, "upstream answer lost", http.StatusBadGateway)
			return
		}
		p.rp.ServeHTTP(w, r)
	})}
	p.srv = srv
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("proxy: %v", err)
		}
	}()
}

func (p *flakyProxy) setMode(t *testing.T, m proxyMode) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode.Store(int32(m))
	switch {
	case m == down && p.srv != nil:
		_ = p.srv.Close()
		p.srv = nil
	case m != down && p.srv == nil:
		// Listeners set SO_REUSEADDR: the port is free again at once.
		l, err := net.Listen("tcp", p.addr)
		if err != nil {
			t.Fatalf("proxy: listening on %s again: %v", p.addr, err)
		}
		p.serve(t, l)
	}
}

// TestMirrorFromCLI: with incident.loki_url in the config, every command
// that writes the log mirrors it, and a Loki that is down only warns.
func TestMirrorFromCLI(t *testing.T) {
	lokiURL := startLoki(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rca.yaml")
	write := func(url string) {
		t.Helper()
		body := fmt.Sprintf("incident:\n  dir: incidents\n  author: alice\n  loki_url: %s\n", url)
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(lokiURL)
	started := time.Now()
	id := strings.TrimSpace(mustRun(t, bins.rca, "--config", cfg, "log", "start", "--title", "checkout 500s").stdout)
	mustRun(t, bins.rca, "--config", cfg, "log", "note", "gateway logs show upstream timeouts")
	store := incident.Store{Dir: filepath.Join(dir, "incidents")}
	checkMirrored(t, lokiURL, store, id, started)

	// Loki down: the entry is kept, the command succeeds with a warning.
	write("http://" + freeAddr(t))
	r := mustRun(t, bins.rca, "--config", cfg, "log", "note", "rolled back checkout")
	if !strings.Contains(r.stderr, "saved locally") {
		t.Errorf("no warning about the failed mirror: %q", r.stderr)
	}
	// Back up: the next entry brings the missed one along.
	write(lokiURL)
	mustRun(t, bins.rca, "--config", cfg, "log", "resolve", "error ratio back to baseline")
	checkMirrored(t, lokiURL, store, id, started)
}
