package loki

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/testhttp"
	"github.com/rca-tool/rca/telemetry"
)

// fakeLoki serves query_range over a fixed set of lines, [start, end),
// forward, limit lines per answer, as Loki does. fault, when set, may
// answer instead.
type fakeLoki struct {
	lines []telemetry.LogLine
	fault func(w http.ResponseWriter, r *http.Request) bool
	// counts answers metric queries (a step and no limit): the lines a
	// query counts, by query; see serveMetric.
	counts map[string]func(telemetry.LogLine) bool
	cat    *catalog.Catalog

	testhttp.Recorder
	srv *httptest.Server
}

func newFakeLoki(t *testing.T, lines []telemetry.LogLine) *fakeLoki {
	t.Helper()
	f := &fakeLoki{lines: slices.Clone(lines)}
	telemetry.SortLogs(f.lines)
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLoki) serve(w http.ResponseWriter, r *http.Request) {
	f.Record(r)
	if f.fault != nil && f.fault(w, r) {
		return
	}
	if r.URL.Path != "/loki/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("step") != "" && q.Get("limit") == "" {
		f.serveMetric(w, q)
		return
	}
	start, _ := strconv.ParseInt(q.Get("start"), 10, 64)
	end, _ := strconv.ParseInt(q.Get("end"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if q.Get("direction") != "forward" || limit < 1 {
		http.Error(w, "want direction=forward and a limit", http.StatusBadRequest)
		return
	}
	var out []telemetry.LogLine
	for _, l := range f.lines {
		if ns := l.T.UnixNano(); ns >= start && ns < end && len(out) < limit {
			out = append(out, l)
		}
	}
	body, err := EncodeStreams(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

var lokiT0 = time.Date(2026, 11, 24, 12, 50, 0, 0, time.UTC)

// demoLines are n lines of two services every 2 s from lokiT0, with every
// fifth pair sharing a timestamp.
func demoLines(n int) []telemetry.LogLine {
	var out []telemetry.LogLine
	for i := range n {
		svc := []string{"gateway", "checkout"}[i%2]
		t := lokiT0.Add(time.Duration(i/2*2) * time.Second)
		if i%10 < 2 {
			t = lokiT0.Add(time.Duration(i/10*20) * time.Second) // pairs at the same instant
		}
		out = append(out, telemetry.LogLine{T: t, Labels: telemetry.Labels{"service": svc, "level": "info"}, Line: fmt.Sprintf("request %d done", i)})
	}
	return out
}

// cliNames are the names the config layer gives the settings of a Loki
// set up with flags and sources.loki; the messages tested below use them.
var cliNames = httpsource.Names{Section: "sources.loki", Set: map[string]string{"url": "--loki-url", "selector": "--loki-selector"}}

func newTestLoki(t *testing.T, url string, edit func(*Config)) *Source {
	t.Helper()
	cfg := NewConfig(url)
	cfg.Names = cliNames
	cfg.Timeout = model.Duration(10 * time.Second)
	cfg.Retries = -1
	if edit != nil {
		edit(&cfg)
	}
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLokiCollectPages(t *testing.T) {
	t.Parallel()
	lines := demoLines(500)
	window := telemetry.Window{From: lokiT0.Add(4 * time.Minute), To: lokiT0.Add(time.Hour)}
	baseline := telemetry.Window{From: lokiT0, To: window.From}
	tests := []struct {
		name     string
		limit    int
		baseline telemetry.Window
		want     int // lines returned
		ranges   int // distinct range ends asked
	}{
		{"one page", 5000, baseline, 500, 1},
		{"pages of 7, shared timestamps across page ends", 7, baseline, 500, 1},
		{"pages of 3, one more than share an instant", 3, baseline, 500, 1},
		{"baseline elsewhere: two ranges", 50, telemetry.Window{From: lokiT0.Add(-7 * 24 * time.Hour), To: lokiT0.Add(-7*24*time.Hour + time.Hour)}, -1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLoki(t, lines)
			l := newTestLoki(t, f.srv.URL, func(c *Config) {
				c.Limit = tc.limit
				c.Headers = map[string]string{"X-Scope-OrgID": "shop"}
				c.Selector = `{namespace="shop"}`
			})
			got, warns, err := l.Lines(context.Background(), testCatalog(t), window, tc.baseline)
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 0 {
				t.Errorf("warnings %q", warns)
			}
			want := tc.want
			if want < 0 { // the lines inside the window
				want = 0
				for _, l := range lines {
					if window.Contains(l.T) {
						want++
					}
				}
			}
			if len(got) != want {
				t.Fatalf("got %d lines, want %d", len(got), want)
			}
			seen := map[string]bool{}
			for i, g := range got {
				if seen[g.Line] {
					t.Fatalf("line %q twice", g.Line)
				}
				seen[g.Line] = true
				if i > 0 && telemetry.CompareLogs(got[i-1], g) > 0 {
					t.Fatalf("lines out of order at %d", i)
				}
			}
			ends := map[string]bool{}
			for _, r := range f.Requests() {
				q := r.URL.Query()
				if q.Get("query") != `{namespace="shop"}` || r.Header.Get("X-Scope-OrgID") != "shop" {
					t.Errorf("request %s with org %q", r.URL, r.Header.Get("X-Scope-OrgID"))
				}
				ends[q.Get("end")] = true
			}
			if len(ends) != tc.ranges {
				t.Errorf("asked %d ranges, want %d", len(ends), tc.ranges)
			}
		})
	}
}

func TestLokiCollectFaults(t *testing.T) {
	t.Parallel()
	window := telemetry.Window{From: lokiT0.Add(30 * time.Minute), To: lokiT0.Add(time.Hour)}
	baseline := telemetry.Window{From: lokiT0.Add(-7 * 24 * time.Hour), To: lokiT0.Add(-7*24*time.Hour + time.Hour)}
	inWindow := func(r *http.Request) bool {
		start, _ := strconv.ParseInt(r.URL.Query().Get("start"), 10, 64)
		return start >= window.From.UnixNano()
	}
	tests := []struct {
		name     string
		fault    func(w http.ResponseWriter, r *http.Request) bool
		maxLines int
		wantErr  string // a fatal error
		wantWarn string // else a warning, and the window's lines still arrive
		wantN    int
	}{
		{"not a Loki API", func(w http.ResponseWriter, r *http.Request) bool { http.NotFound(w, r); return true }, 0, "not a Loki API at this URL", "", 0},
		{"refused credentials", func(w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "no", http.StatusUnauthorized)
			return true
		}, 0, "refused the credentials", "", 0},
		{"baseline range fails: warning, window read", func(w http.ResponseWriter, r *http.Request) bool {
			if inWindow(r) {
				return false
			}
			http.Error(w, "max entries limit per query exceeded, limit > max_entries_limit (5000 > 1000)", http.StatusBadRequest)
			return true
		}, 0, "", "max entries limit per query exceeded", 250},
		{"garbage body: warning", func(w http.ResponseWriter, r *http.Request) bool {
			if inWindow(r) {
				return false
			}
			_, _ = w.Write([]byte("<html>proxy error</html>"))
			return true
		}, 0, "", "not a Loki", 250},
		{"max lines", nil, 100, "", "stopped at 100 lines", 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lines []telemetry.LogLine
			for i := range 250 {
				lines = append(lines, telemetry.LogLine{T: window.From.Add(time.Duration(i) * time.Second), Labels: telemetry.Labels{"service": "gateway"}, Line: fmt.Sprint("line ", i)})
			}
			f := newFakeLoki(t, lines)
			f.fault = tc.fault
			l := newTestLoki(t, f.srv.URL, func(c *Config) { c.Limit = 40; c.MaxLines = tc.maxLines })
			got, warns, err := l.Lines(context.Background(), testCatalog(t), window, baseline)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrUnreachable) {
					t.Fatalf("err = %v, want ErrUnreachable saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, tc.wantWarn) }) {
				t.Errorf("warnings %q, want one saying %q", warns, tc.wantWarn)
			}
			if len(got) != tc.wantN {
				t.Errorf("got %d lines, want %d", len(got), tc.wantN)
			}
		})
	}
}

func TestLokiUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l := newTestLoki(t, "http://"+addr, nil)
	start := time.Now()
	_, _, err = l.Lines(context.Background(), testCatalog(t), telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}, telemetry.Window{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "check --loki-url") {
		t.Fatalf("err = %v, want ErrUnreachable naming --loki-url", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to give up on a closed port", d)
	}
}

// TestLokiSecretsNeverShown: a server echoing the credentials into its
// errors must not get them into warnings or debug output.
func TestLokiSecretsNeverShown(t *testing.T) {
	for _, pad := range []int{0, 270} { // 270: the token straddles the 300-byte cut
		t.Run(fmt.Sprint("pad", pad), func(t *testing.T) { lokiSecretsNeverShown(t, pad) })
	}
}

func lokiSecretsNeverShown(t *testing.T, pad int) {
	t.Parallel()
	const token = "l0ki-t0ken-do-not-show"
	f := newFakeLoki(t, nil)
	f.fault = func(w http.ResponseWriter, r *http.Request) bool {
		msg := strings.Repeat("x", pad) + " bad request from " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		http.Error(w, msg, http.StatusBadRequest)
		return true
	}
	var logs bytes.Buffer
	cfg := NewConfig(f.srv.URL)
	cfg.Retries = -1
	cfg.HTTPClientConfig.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(token)}
	l, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	_, warns, err := l.Lines(context.Background(), testCatalog(t), telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}, telemetry.Window{})
	if err != nil {
		t.Fatal(err)
	}
	// The log signals' metric queries fail the same way, one warning each.
	_, mwarns, err := l.Metrics(context.Background(), testCatalog(t), telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}, telemetry.Window{})
	if err != nil || len(mwarns) != len(testCatalog(t).LogSignals()) {
		t.Fatalf("metrics: %v, %d warnings, want one per log signal", err, len(mwarns))
	}
	warns = append(warns, mwarns...)
	all := strings.Join(warns, "\n") + logs.String()
	if strings.Contains(all, token[:8]) {
		t.Errorf("token shown: %s", all)
	}
	if pad == 0 && !strings.Contains(all, "<secret>") {
		t.Errorf("the echoed token should show as <secret>: %q", all)
	}
}

func TestLokiConfigErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"no url":             {NewConfig(""), "no Loki URL: set url"},
		"no url, flag named": {func() Config { c := NewConfig(""); c.Names = cliNames; return c }(), "no Loki URL: set --loki-url"},
		"bad scheme":         {NewConfig("loki:3100"), `Loki URL "loki:3100"`},
		"bad limit":          {func() Config { c := NewConfig("http://loki:3100"); c.Limit = -1; return c }(), "limit -1"},
	} {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

// TestLokiPageOfOneInstant: when more lines share an instant than a page
// holds, Loki cannot page within it; the collector steps past it, says so,
// and does not loop.
func TestLokiPageOfOneInstant(t *testing.T) {
	t.Parallel()
	var lines []telemetry.LogLine
	for i := range 10 {
		lines = append(lines, telemetry.LogLine{T: lokiT0, Labels: telemetry.Labels{"service": "gateway"}, Line: fmt.Sprint("burst ", i)})
	}
	lines = append(lines, telemetry.LogLine{T: lokiT0.Add(time.Second), Labels: telemetry.Labels{"service": "gateway"}, Line: "after"})
	f := newFakeLoki(t, lines)
	l := newTestLoki(t, f.srv.URL, func(c *Config) { c.Limit = 4 })
	got, warns, err := l.Lines(context.Background(), testCatalog(t), telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Minute)}, telemetry.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[4].Line != "after" {
		t.Errorf("got %d lines ending %q, want the first 4 of the burst and the line after", len(got), got[len(got)-1].Line)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "more than 4 lines at") {
		t.Errorf("warnings %q, want one about the instant", warns)
	}
}

// TestLokiNoLinesNamesTheLabels: a selector that matches nothing is
// usually the wrong label; the warning lists the labels Loki has.
func TestLokiNoLinesNamesTheLabels(t *testing.T) {
	t.Parallel()
	many := make([]string, 25)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("svc-%02d", i))
	}
	tests := []struct {
		name, labels string
		values       map[string]string // label values answers, by label
		want         string
	}{
		{"labels listed", `{"status":"success","data":["namespace","app","job"]}`, nil, "the streams there have the labels app, job, namespace: set --loki-selector"},
		{"service label values", `{"status":"success","data":["namespace","app","job","service_name"]}`,
			map[string]string{"service_name": `{"status":"success","data":["gateway","checkout","cart"]}`, "app": `{"status":"success","data":["x"]}`},
			"the streams there have the labels app, job, namespace, service_name (service_name: cart, checkout, gateway): set --loki-selector"},
		{"the first service label the streams have", `{"status":"success","data":["namespace","app","job"]}`,
			map[string]string{"app": `{"status":"success","data":["shop-web","shop-api"]}`},
			"the labels app, job, namespace (app: shop-api, shop-web): set"},
		{"many values", `{"status":"success","data":["app"]}`,
			map[string]string{"app": `{"status":"success","data":[` + strings.Join(many, ",") + `]}`},
			"(app: svc-00, svc-01, svc-02, svc-03, svc-04, svc-05, svc-06, svc-07, svc-08, svc-09, svc-10, svc-11, svc-12, svc-13, svc-14, svc-15, svc-16, svc-17, svc-18, svc-19 … (25 in all))"},
		{"values API refused", `{"status":"success","data":["namespace","app","job"]}`,
			map[string]string{"app": `not json`}, "the streams there have the labels app, job, namespace: set --loki-selector"},
		{"nothing at all", `{"status":"success","data":[]}`, nil, "Loki has no streams at all in that range"},
		{"labels API refused", `not json`, nil, `no lines match {service=~".+"} between`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeLoki(t, nil)
			f.fault = func(w http.ResponseWriter, r *http.Request) bool {
				if name, ok := strings.CutPrefix(r.URL.Path, "/loki/api/v1/label/"); ok {
					name, _ = strings.CutSuffix(name, "/values")
					if v, ok := tc.values[name]; ok && r.URL.Query().Get("start") != "" {
						_, _ = w.Write([]byte(v))
						return true
					}
					return false
				}
				if r.URL.Path != "/loki/api/v1/labels" {
					return false
				}
				_, _ = w.Write([]byte(tc.labels))
				return true
			}
			l := newTestLoki(t, f.srv.URL, nil)
			got, warns, err := l.Lines(context.Background(), testCatalog(t), telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}, telemetry.Window{})
			if err != nil || len(got) != 0 {
				t.Fatalf("got %d lines, err %v", len(got), err)
			}
			if len(warns) != 1 || !strings.Contains(warns[0], tc.want) {
				t.Errorf("warnings %q, want one saying %q", warns, tc.want)
			}
		})
	}
}

func TestLokiChanges(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	lines := []telemetry.LogLine{
		{T: lokiT0.Add(time.Minute), Labels: telemetry.Labels{"service": "checkout"}, Line: "starting checkout version=v1.4.2 commit=9f3c1e2"},
		{T: lokiT0.Add(2 * time.Minute), Labels: telemetry.Labels{"service": "checkout"}, Line: "GET /healthz 200"},
	}
	t.Run("startup line becomes a version change", func(t *testing.T) {
		t.Parallel()
		f := newFakeLoki(t, lines)
		l := newTestLoki(t, f.srv.URL, nil)
		got, warns, err := l.Changes(context.Background(), cat, lokiT0, lokiT0.Add(time.Hour))
		if err != nil || len(warns) != 0 {
			t.Fatalf("err %v warnings %q", err, warns)
		}
		if len(got) != 1 || got[0].Service != "checkout" || got[0].ToVersion != "v1.4.2" || got[0].Commit != "9f3c1e2" || !got[0].T.Equal(lokiT0.Add(time.Minute)) {
			t.Errorf("changes %+v, want checkout v1.4.2 at 9f3c1e2", got)
		}
		var asked []string
		for _, r := range f.Requests() {
			asked = append(asked, r.URL.Query().Get("query"))
		}
		if len(asked) != 1 || !strings.Contains(asked[0], "starting") {
			t.Errorf("queries %q, want the source's LogQL", asked)
		}
	})
	t.Run("a failing source is a warning", func(t *testing.T) {
		t.Parallel()
		f := newFakeLoki(t, lines)
		f.fault = func(w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "parse error at line 1", http.StatusBadRequest)
			return true
		}
		l := newTestLoki(t, f.srv.URL, nil)
		got, warns, err := l.Changes(context.Background(), cat, lokiT0, lokiT0.Add(time.Hour))
		if err != nil || len(got) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "change source startup_version_lines") {
			t.Errorf("changes %+v, warnings %q, err %v; want one warning naming the source", got, warns, err)
		}
	})
}

// TestLokiBusyIsNotUnreachable: a 429 asking to wait past the timeout is a
// busy server, worded as one, not "check --loki-url".
func TestLokiBusyIsNotUnreachable(t *testing.T) {
	t.Parallel()
	f := newFakeLoki(t, nil)
	f.fault = func(w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return true
	}
	l := newTestLoki(t, f.srv.URL, func(c *Config) { c.Retries = 2 })
	_, warns, err := l.Lines(context.Background(), testCatalog(t), telemetry.Window{From: lokiT0, To: lokiT0.Add(time.Hour)}, telemetry.Window{})
	if err != nil {
		t.Fatalf("err = %v, want a warning", err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "asked to wait 1h0m0s, past the query timeout (sources.loki.timeout)") || strings.Contains(warns[0], "unreachable") {
		t.Errorf("warnings %q, want one saying the server is busy", warns)
	}
}

// TestLokiConfigYAML: the shared HTTP settings decode into the inlined
// HTTPSource beside Loki's own keys, from Prometheus's client defaults.
func TestLokiConfigYAML(t *testing.T) {
	var cfg Config
	doc := "url: http://loki:3100\nbasic_auth: {username: alice, password: pw}\nheaders: {X-Scope-OrgID: team-a}\ntimeout: 10s\nretries: -1\nmax_response_bytes: 1024\nselector: '{app=\"shop\"}'\nlimit: 100\n"
	if err := yaml.UnmarshalStrict([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "http://loki:3100" || cfg.HTTPClientConfig.BasicAuth == nil || cfg.HTTPClientConfig.BasicAuth.Username != "alice" ||
		cfg.Headers["X-Scope-OrgID"] != "team-a" || time.Duration(cfg.Timeout) != 10*time.Second || cfg.Retries != -1 ||
		cfg.MaxResponseBytes != 1024 || cfg.Selector != `{app="shop"}` || cfg.Limit != 100 {
		t.Errorf("decoded %+v", cfg)
	}
	if !cfg.HTTPClientConfig.FollowRedirects || !cfg.HTTPClientConfig.EnableHTTP2 {
		t.Error("Prometheus's HTTP client defaults were not applied")
	}
	if err := yaml.UnmarshalStrict([]byte("url: x\ntimeout_s: 3\n"), &cfg); err == nil {
		t.Error("an unknown key was accepted")
	}
}

// Issue 17, defect 7: pages of long lines, each page under the response
// cap, must not fill memory: max_bytes caps the line text kept and a
// warning says so. The default caps it too.
func TestLokiMaxBytes(t *testing.T) {
	t.Parallel()
	var lines []telemetry.LogLine
	long := strings.Repeat("x", 6<<10)
	for i := range 1000 { // 6 MiB of text
		lines = append(lines, telemetry.LogLine{T: lokiT0.Add(time.Duration(i) * time.Second), Labels: telemetry.Labels{"service": "checkout"}, Line: fmt.Sprintf("%d %s", i, long)})
	}
	f := newFakeLoki(t, lines)
	var cfg Config
	doc := "url: " + f.srv.URL + "\nretries: -1\nlimit: 100\nmax_bytes: 1048576\n"
	if err := yaml.UnmarshalStrict([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Names = cliNames
	l, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	window := telemetry.Window{From: lokiT0.Add(10 * time.Minute), To: lokiT0.Add(time.Hour)}
	got, warns, err := l.Lines(context.Background(), testCatalog(t), window, telemetry.Window{From: lokiT0, To: window.From})
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, g := range got {
		kept += len(g.Line)
	}
	if kept > 1<<20 || len(got) == 0 {
		t.Errorf("kept %d lines, %d bytes of text, want at most 1 MiB", len(got), kept)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "stopped at 1 MiB") || !strings.Contains(warns[0], "sources.loki.max_bytes") {
		t.Errorf("warnings %q, want one naming the cap and sources.loki.max_bytes", warns)
	}
	if d := newTestLoki(t, f.srv.URL, nil); d.cfg.MaxBytes != 256<<20 {
		t.Errorf("default max_bytes %d, want 256 MiB", d.cfg.MaxBytes)
	}
}
