package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The live path's real-server tests are in e2e/; these check the wiring:
// config, flags, errors and secrets, against httptest fault injection.

func TestSourcesConfigErrors(t *testing.T) {
	dir := t.TempDir()
	win := []string{"analyze", "--from", "2026-11-24T13:50:00Z", "--to", "2026-11-24T14:20:00Z"}
	tests := []struct {
		name   string
		config string
		args   []string
		want   string
	}{
		{"sources not a mapping", "sources: [prometheus]\n", win, "line 1: sources wants a mapping"},
		{"unknown source", "sources:\n  prometeus:\n    url: http://x\n", win, `line 2: sources: unknown key "prometeus"`},
		{"unknown prometheus key", "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n    timout: 5s\n", win, `line 4: sources.prometheus: unknown key "timout"`},
		{"unknown basic_auth key", "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n    basic_auth:\n      username: u\n      pasword: pw\n", win, `line 6: sources.prometheus.basic_auth: unknown key "pasword"`},
		{"bad timeout", "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n    timeout: soon\n", win, `line 4: sources.prometheus.timeout: not a valid duration string: "soon"`},
		{"bad scheme", "sources:\n  prometheus:\n    url: ftp://prom\n", win, `Prometheus URL "ftp://prom": want http://host:port`},
		{"two auth methods", "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n    basic_auth: {username: u, password: pw-secret}\n    bearer_token: tok-secret\n", win, "http client settings: at most one of basic_auth"},
		{"too much concurrency", "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n    concurrency: 1000\n", win, "concurrency 1000: want 1 to 64"},
		{"live needs a window", "sources:\n  prometheus:\n    url: http://127.0.0.1:1\n", []string{"analyze"}, "reading live data needs a window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml", tt.config)
			r := rca(t, append([]string{"--config", cfg}, tt.args...)...)
			wantOneLineError(t, r, 0, tt.want)
		})
	}
}

func TestLiveFlagErrors(t *testing.T) {
	snap := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"snapshot and url", []string{"analyze", "--snapshot", snap, "--prometheus-url", "http://127.0.0.1:1"}, 2, "--snapshot and --prometheus-url/--loki-url are alternatives"},
		{"url without window", []string{"analyze", "--prometheus-url", "http://127.0.0.1:1"}, 2, "needs a window"},
		{"unreachable", []string{"analyze", "--prometheus-url", "http://127.0.0.1:1", "--from", "now-1h"}, 1, "Prometheus is unreachable at http://127.0.0.1:1"},
		{"loki unreachable", []string{"analyze", "--loki-url", "http://127.0.0.1:1", "--from", "now-1h"}, 1, "Loki is unreachable at http://127.0.0.1:1"},
		{"snapshot and loki url", []string{"analyze", "--snapshot", snap, "--loki-url", "http://127.0.0.1:1"}, 2, "are alternatives"},
		{"bad loki url", []string{"analyze", "--loki-url", "loki:3100", "--from", "now-1h"}, 2, `Loki URL "loki:3100": want http://host:port`},
		{"bad step", []string{"analyze", "--prometheus-url", "http://127.0.0.1:1", "--from", "now-1h", "--step", "fast"}, 2, `invalid argument "fast" for "--step"`},
		{"missing changes file", []string{"analyze", "--snapshot", "../../testdata/incidents/pi-digits", "--changes-file", "nope.yaml"}, 1, "--changes-file: changes file: open nope.yaml"},
		{"snapshot without out", []string{"snapshot", "--prometheus-url", "http://127.0.0.1:1", "--from", "now-1h"}, 2, "--out DIR is required"},
		{"snapshot without window", []string{"snapshot", "--prometheus-url", "http://127.0.0.1:1", "--out", filepath.Join(snap, "x")}, 2, "snapshot needs a window"},
		{"snapshot without source", []string{"snapshot", "--from", "now-1h", "--out", filepath.Join(snap, "x")}, 2, "no server to record from"},
		{"snapshot over a snapshot", []string{"snapshot", "--prometheus-url", "http://127.0.0.1:1", "--from", "now-1h", "--out", "../../testdata/incidents/pi-digits"}, 1, "already holds a snapshot: pass --force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOneLineError(t, rca(t, tt.args...), tt.code, tt.want)
		})
	}
}

func TestPrometheusURLPrecedence(t *testing.T) {
	// Each server records that it was asked; only the winner should be.
	var mu sync.Mutex
	hits := map[string]int{}
	server := func(name string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			hits[name]++
			mu.Unlock()
			http.Error(w, "not here", http.StatusNotFound)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	fromFile, fromEnv, fromFlag := server("file"), server("env"), server("flag")
	cfg := writeFile(t, t.TempDir(), "rca.yaml", "sources:\n  prometheus:\n    url: "+fromFile+"\n")
	win := []string{"--from", "2026-11-24T13:50:00Z", "--to", "2026-11-24T14:20:00Z"}
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"config file", "", nil, "file"},
		{"environment over file", fromEnv, nil, "env"},
		{"flag over environment", fromEnv, []string{"--prometheus-url", fromFlag}, "flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(hits)
			mu.Unlock()
			if tt.env != "" {
				t.Setenv("RCA_PROMETHEUS_URL", tt.env)
			}
			args := append(append([]string{"--config", cfg, "analyze"}, win...), tt.args...)
			r := rca(t, args...)
			wantOneLineError(t, r, 1, "not a Prometheus API at this URL")
			mu.Lock()
			defer mu.Unlock()
			if hits[tt.want] == 0 || len(hits) != 1 {
				t.Errorf("servers asked: %v, want only %q", hits, tt.want)
			}
		})
	}
}

// TestSecretsNeverShown points rca at a server that echoes every request
// header into its errors, and checks that no credential from the config
// reaches stderr, with and without -v.
func TestSecretsNeverShown(t *testing.T) {
	const (
		password = "pa55-w0rd-do-not-show"
		token    = "t0ken-do-not-show"
		header   = "h3ader-do-not-show"
		fileTok  = "f1le-token-do-not-show"
	)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for k, v := range r.Header {
			fmt.Fprintf(&b, "%s=%s ", k, strings.Join(v, ","))
		}
		mu.Lock()
		seen = append(seen, b.String())
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"you sent %s"}`, strings.ReplaceAll(b.String(), `"`, `'`))
	}))
	defer srv.Close()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(fileTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	configs := map[string]string{
		"basic auth and header": fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    retries: -1\n    basic_auth: {username: alice, password: %s}\n    headers: {X-Api-Key: %s, X-Scope-OrgID: tenant-1}\n", srv.URL, password, header),
		"bearer token":          fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    retries: -1\n    authorization: {credentials: %s}\n", srv.URL, token),
		"token file":            fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    retries: -1\n    authorization: {credentials_file: token}\n", srv.URL),
		"password in the url":   fmt.Sprintf("sources:\n  prometheus:\n    url: %s\n    retries: -1\n", strings.Replace(srv.URL, "http://", "http://alice:"+password+"@", 1)),
	}
	for name, content := range configs {
		for _, verbose := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s verbose=%v", name, verbose), func(t *testing.T) {
				mu.Lock()
				seen = nil
				mu.Unlock()
				cfg := writeFile(t, dir, strings.ReplaceAll(name, " ", "-")+".yaml", content)
				args := []string{"--config", cfg, "analyze", "--from", "2026-11-24T13:50:00Z", "--to", "2026-11-24T14:20:00Z"}
				if verbose {
					args = append(args, "-v")
				}
				r := rca(t, args...)
				if r.code != 1 {
					t.Fatalf("exit %d, want 1 (every query refused); stderr %q", r.code, r.stderr)
				}
				mu.Lock()
				sent := strings.Join(seen, "\n")
				mu.Unlock()
				if !strings.Contains(sent, "Authorization=") {
					t.Fatalf("the server saw no Authorization header: %s", sent)
				}
				// Basic auth travels base64-encoded: a server that echoes the
				// header must not leak it that way either.
				basic := base64.StdEncoding.EncodeToString([]byte("alice:" + password))
				for _, secret := range []string{password, token, header, fileTok, basic} {
					if strings.Contains(r.stderr+r.stdout, secret) {
						t.Errorf("secret %q shown:\n%s", secret, r.stderr)
					}
				}
				if !strings.Contains(r.stderr, "<secret>") && !verbose {
					t.Errorf("stderr should show where a secret was removed: %q", r.stderr)
				}
			})
		}
	}
}

// TestExampleConfigLoads keeps configs/rca.example.yaml valid: the README
// points users at it.
func TestExampleConfigLoads(t *testing.T) {
	needPiDigits(t)
	r := rca(t, "--config", filepath.Join("..", "..", "configs", "rca.example.yaml"), "analyze", "--snapshot", piDigits, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

// lockedBuffer is stderr shared by the command and a test server.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestSlowNameLookupSaid: with -v, what rca is doing is on stderr before
// the first request to a slow server (the metric name list); without it,
// stderr that is not a terminal gets no progress at all.
func TestSlowNameLookupSaid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		verbose bool
	}{{"-v", true}, {"quiet in a pipe", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				out    bytes.Buffer
				errb   lockedBuffer
				mu     sync.Mutex
				before *string // stderr when the name list was asked for
			)
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/v1/label/__name__/values" {
					mu.Lock()
					if before == nil {
						s := errb.String()
						before = &s
					}
					mu.Unlock()
					time.Sleep(200 * time.Millisecond)
				}
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/api/v1/label/__name__/values":
					io.WriteString(w, `{"status":"success","data":["up"]}`)
				case "/api/v1/metadata":
					io.WriteString(w, `{"status":"success","data":{}}`)
				default:
					io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
				}
			}))
			defer s.Close()
			args := []string{"analyze", "--prometheus-url", s.URL, "--from", "now-30m"}
			if tc.verbose {
				args = append(args, "-v")
			}
			a := newApp(&out, &errb, func() time.Time { return fixedNow })
			run(context.Background(), a.rootCmd(), args, &errb)
			mu.Lock()
			defer mu.Unlock()
			if before == nil {
				t.Fatalf("the metric names were never asked for; stderr:\n%s", errb.String())
			}
			said := strings.Contains(*before, "listing metric names on "+s.URL+"…")
			if said != tc.verbose {
				t.Errorf("said before the first request: %v, want %v; stderr then:\n%s", said, tc.verbose, *before)
			}
		})
	}
}
