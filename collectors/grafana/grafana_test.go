package grafana

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"

	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/testhttp"
	"github.com/rca-tool/rca/telemetry"
)

const grafanaToken = "glsa_s3rvice-account-t0ken_do-not-show"

var (
	grafanaFrom = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	grafanaTo   = grafanaFrom.Add(2 * time.Hour)
	grafanaT1   = grafanaFrom.Add(118 * time.Minute) // 13:58
)

// fakeGrafana serves GET /api/annotations with a fixed answer and records
// the requests. answer, when set, answers instead.
type fakeGrafana struct {
	anns   []annotation
	answer func(w http.ResponseWriter, r *http.Request)

	testhttp.Recorder
	srv *httptest.Server
}

func newFakeGrafana(t *testing.T, anns []annotation) *fakeGrafana {
	t.Helper()
	f := &fakeGrafana{anns: anns}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGrafana) serve(w http.ResponseWriter, r *http.Request) {
	f.Record(r)
	if f.answer != nil {
		f.answer(w, r)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/api/annotations") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Not found"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f.anns)
}

// configNames are the names the config layer gives the settings of
// changes.grafana; the messages tested here use them.
var configNames = httpsource.Names{Section: "changes.grafana"}

// grafanaTestConfig is a configuration for u with a bearer token, no
// retries and a short timeout.
func grafanaTestConfig(u string, edit func(*Config)) Config {
	cfg := NewConfig(u)
	cfg.Names = configNames
	cfg.HTTPClientConfig.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(grafanaToken)}
	cfg.Retries = -1
	cfg.Timeout = model.Duration(10 * time.Second)
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func grafanaMS(t time.Time) int64 { return t.UnixMilli() }

func TestGrafanaConfigYAML(t *testing.T) {
	t.Parallel()
	doc := `
url: https://grafana.example.com
authorization:
  type: Bearer
  credentials_file: grafana.token
headers:
  X-Grafana-Org-Id: "2"
tags: [deploy, rollback]
service_tag_prefixes: ["svc:"]
timeout: 10s
limit: 50
`
	var c Config
	if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://grafana.example.com" || c.HTTPClientConfig.Authorization == nil ||
		c.HTTPClientConfig.Authorization.CredentialsFile != "grafana.token" || c.Headers["X-Grafana-Org-Id"] != "2" ||
		!slices.Equal(c.Tags, []string{"deploy", "rollback"}) || !slices.Equal(c.ServiceTagPrefixes, []string{"svc:"}) ||
		c.Timeout != model.Duration(10*time.Second) || c.Limit != 50 {
		t.Errorf("decoded %+v", c)
	}
	if !c.HTTPClientConfig.FollowRedirects || !c.HTTPClientConfig.EnableHTTP2 {
		t.Error("Prometheus's HTTP client defaults (follow_redirects, enable_http2) not applied")
	}
	// Nested as the config file has it, with a key that does not exist.
	var doc2 struct {
		Grafana *Config `yaml:"grafana"`
	}
	err := yaml.UnmarshalStrict([]byte("grafana:\n  url: http://g:3000\n  token: x\n"), &doc2)
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestGrafanaRequest(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		path     string // Grafana's sub-path
		edit     func(*Config)
		wantTags []string
		wantAny  string
		limit    string
	}{
		"defaults": {limit: "1000"},
		"tags": {
			edit:     func(c *Config) { c.Tags = []string{"deploy", " rollback "}; c.Limit = 20 },
			wantTags: []string{"deploy", "rollback"}, wantAny: "true", limit: "20",
		},
		"sub-path": {path: "/grafana/", limit: "1000"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGrafana(t, nil)
			cfg := grafanaTestConfig(f.srv.URL+tc.path, func(c *Config) {
				c.Headers = map[string]string{"X-Grafana-Org-Id": "1"}
				if tc.edit != nil {
					tc.edit(c)
				}
			})
			if _, _, err := Read(context.Background(), cfg, grafanaFrom, grafanaTo); err != nil {
				t.Fatal(err)
			}
			reqs := f.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			q := r.URL.Query()
			wantPath := strings.TrimRight(tc.path, "/") + "/api/annotations"
			if r.Method != http.MethodGet || r.URL.Path != wantPath {
				t.Errorf("%s %s, want GET %s", r.Method, r.URL.Path, wantPath)
			}
			if q.Get("from") != "1795521600000" || q.Get("from") != grafanaFormatMS(grafanaFrom) || q.Get("to") != grafanaFormatMS(grafanaTo) {
				t.Errorf("from=%s to=%s, want epoch milliseconds %s and %s", q.Get("from"), q.Get("to"), grafanaFormatMS(grafanaFrom), grafanaFormatMS(grafanaTo))
			}
			if q.Get("type") != "annotation" || q.Get("limit") != tc.limit {
				t.Errorf("type=%q limit=%q", q.Get("type"), q.Get("limit"))
			}
			if !slices.Equal(q["tags"], tc.wantTags) || q.Get("matchAny") != tc.wantAny {
				t.Errorf("tags=%q matchAny=%q, want %q and %q", q["tags"], q.Get("matchAny"), tc.wantTags, tc.wantAny)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+grafanaToken {
				t.Errorf("Authorization = %q", got)
			}
			if r.Header.Get("X-Grafana-Org-Id") != "1" || r.Header.Get("Accept") != "application/json" {
				t.Errorf("headers %v", r.Header)
			}
		})
	}
}

func grafanaFormatMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestGrafanaBasicAuth(t *testing.T) {
	t.Parallel()
	f := newFakeGrafana(t, nil)
	u, _ := url.Parse(f.srv.URL)
	u.User = url.UserPassword("rca", "s3cret-password")
	cfg := grafanaTestConfig(u.String(), func(c *Config) { c.HTTPClientConfig.Authorization = nil })
	if _, _, err := Read(context.Background(), cfg, grafanaFrom, grafanaTo); err != nil {
		t.Fatal(err)
	}
	r := f.Requests()[0]
	if user, pw, ok := r.BasicAuth(); !ok || user != "rca" || pw != "s3cret-password" {
		t.Errorf("basic auth %q %q %v", user, pw, ok)
	}
	if r.URL.User != nil || strings.Contains(r.URL.String(), "s3cret") {
		t.Errorf("credentials left in the URL: %s", r.URL)
	}
}

func TestGrafanaMapping(t *testing.T) {
	t.Parallel()
	at := grafanaMS(grafanaT1)
	for name, tc := range map[string]struct {
		ann      annotation
		prefixes []string
		want     []telemetry.Change
	}{
		"deploy with version": {
			ann:  annotation{ID: 1, Time: at, Tags: []string{"deploy", "service:checkout", "version:v1.4.2"}, Text: "deploy checkout v1.4.2"},
			want: []telemetry.Change{{Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2", ToVersion: "v1.4.2"}},
		},
		"deployment, app=, version=, commit": {
			ann:  annotation{ID: 2, Time: at, Tags: []string{"Deployment", "app=cart", "version=2.0.1", "commit:9f3c1e2"}, Text: "rolled out"},
			want: []telemetry.Change{{Service: "cart", Kind: telemetry.ChangeDeploy, Summary: "rolled out", ToVersion: "2.0.1", Commit: "9f3c1e2"}},
		},
		"release": {
			ann:  annotation{ID: 3, Time: at, Tags: []string{"release", "app:cart"}, Text: "r"},
			want: []telemetry.Change{{Service: "cart", Kind: telemetry.ChangeDeploy, Summary: "r"}},
		},
		"config": {
			ann:  annotation{ID: 4, Time: at, Tags: []string{"config", "service=payments"}, Text: "raised pool size"},
			want: []telemetry.Change{{Service: "payments", Kind: telemetry.ChangeConfig, Summary: "raised pool size"}},
		},
		"rollback without text": {
			ann:  annotation{ID: 5, Time: at, Tags: []string{"rollback", "service:checkout", "version:v1.4.1"}},
			want: []telemetry.Change{{Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "rollback checkout v1.4.1", ToVersion: "v1.4.1"}},
		},
		"restart": {
			ann:  annotation{ID: 6, Time: at, Tags: []string{"restart", "service:db"}, Text: "restarted"},
			want: []telemetry.Change{{Service: "db", Kind: telemetry.ChangeRestart, Summary: "restarted"}},
		},
		"flag": {
			ann:  annotation{ID: 7, Time: at, Tags: []string{"flag", "service:web"}, Text: "new-checkout on"},
			want: []telemetry.Change{{Service: "web", Kind: telemetry.ChangeFlag, Summary: "new-checkout on"}},
		},
		"feature-flag": {
			ann:  annotation{ID: 8, Time: at, Tags: []string{"feature-flag", "service:web"}, Text: "x"},
			want: []telemetry.Change{{Service: "web", Kind: telemetry.ChangeFlag, Summary: "x"}},
		},
		"version": {
			ann:  annotation{ID: 9, Time: at, Tags: []string{"version", "service:web", "version:v3"}},
			want: []telemetry.Change{{Service: "web", Kind: telemetry.ChangeVersion, Summary: "version web v3", ToVersion: "v3"}},
		},
		"no kind tag is a deploy": {
			ann:  annotation{ID: 10, Time: at, Tags: []string{"prod", "service:web"}, Text: "x"},
			want: []telemetry.Change{{Service: "web", Kind: telemetry.ChangeDeploy, Summary: "x"}},
		},
		"first kind tag wins": {
			ann:  annotation{ID: 11, Time: at, Tags: []string{"config", "deploy", "service:web"}, Text: "x"},
			want: []telemetry.Change{{Service: "web", Kind: telemetry.ChangeConfig, Summary: "x"}},
		},
		"prefix case and spaces": {
			ann:  annotation{ID: 12, Time: at, Tags: []string{" Service: checkout "}, Text: "x"},
			want: []telemetry.Change{{Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "x"}},
		},
		"HTML stripped": {
			ann: annotation{ID: 13, Time: at, Tags: []string{"service:checkout"},
				Text: "Deployed <b>v1.4.2</b> by <a href=\"https://ci/job/42\">job 42</a><br/>latency &lt; 200ms &amp; 5xx&nbsp;ok<script>alert(1)</script>\n\n<p>next</p>"},
			want: []telemetry.Change{{Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "Deployed v1.4.2 by job 42 latency < 200ms & 5xx ok next"}},
		},
		"region starts the change": {
			ann:  annotation{ID: 14, Time: at, TimeEnd: at + 10*60*1000, Tags: []string{"deploy", "service:checkout"}, Text: "canary"},
			want: []telemetry.Change{{Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "canary"}},
		},
		"two services, two changes": {
			ann: annotation{ID: 15, Time: at, Tags: []string{"service:web", "service:api", "service:web"}, Text: "x"},
			want: []telemetry.Change{
				{Service: "api", Kind: telemetry.ChangeDeploy, Summary: "x"},
				{Service: "web", Kind: telemetry.ChangeDeploy, Summary: "x"},
			},
		},
		"custom prefix": {
			ann:      annotation{ID: 16, Time: at, Tags: []string{"svc/checkout", "service:ignored"}, Text: "x"},
			prefixes: []string{"svc/"},
			want:     []telemetry.Change{{Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "x"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGrafana(t, []annotation{tc.ann})
			cfg := grafanaTestConfig(f.srv.URL, func(c *Config) { c.ServiceTagPrefixes = tc.prefixes })
			got, warns, err := Read(context.Background(), cfg, grafanaFrom, grafanaTo)
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) > 0 {
				t.Errorf("warnings %q", warns)
			}
			for i := range tc.want {
				tc.want[i].T = grafanaT1
				tc.want[i].Source = "grafana annotations"
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d changes %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if !got[i].T.Equal(tc.want[i].T) || got[i].T.Location() != time.UTC {
					t.Errorf("time %v, want %v UTC", got[i].T, tc.want[i].T)
				}
				g, w := got[i], tc.want[i]
				g.T, w.T = time.Time{}, time.Time{}
				if !grafanaChangeEqual(g, w) {
					t.Errorf("change %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func grafanaChangeEqual(a, b telemetry.Change) bool {
	return a.T.Equal(b.T) && a.Service == b.Service && a.Kind == b.Kind && a.Summary == b.Summary &&
		a.FromVersion == b.FromVersion && a.ToVersion == b.ToVersion && a.Commit == b.Commit &&
		a.Author == b.Author && a.Source == b.Source && slices.Equal(a.Files, b.Files) && len(a.Commits) == len(b.Commits)
}

func TestGrafanaNoService(t *testing.T) {
	t.Parallel()
	at := grafanaMS(grafanaT1)
	for name, tc := range map[string]struct {
		anns     []annotation
		prefixes []string
		changes  int
		want     []string
	}{
		"several": {
			anns: []annotation{
				{ID: 1, Time: at, Tags: []string{"deploy"}, Text: "a"},
				{ID: 2, Time: at, Tags: []string{"deploy", "service:"}, Text: "empty service"},
				{ID: 3, Time: at, Text: "no tags"},
				{ID: 4, Time: at, Tags: []string{"deploy", "service:checkout"}, Text: "ok"},
			},
			changes: 1,
			want:    []string{"3 Grafana annotations name no service (tag them service:NAME)"},
		},
		"one, custom prefix": {
			anns:     []annotation{{ID: 1, Time: at, Tags: []string{"deploy"}}},
			prefixes: []string{"team/"},
			want:     []string{"1 Grafana annotation names no service (tag them team/NAME)"},
		},
		"no time": {
			anns: []annotation{{ID: 1, Tags: []string{"service:x"}}},
			want: []string{"1 Grafana annotation has no time; skipped"},
		},
		"repeated id read once": {
			anns: []annotation{
				{ID: 7, Time: at, Tags: []string{"service:x"}, Text: "a"},
				{ID: 7, Time: at, Tags: []string{"service:x"}, Text: "a"},
			},
			changes: 1,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGrafana(t, tc.anns)
			cfg := grafanaTestConfig(f.srv.URL, func(c *Config) { c.ServiceTagPrefixes = tc.prefixes })
			got, warns, err := Read(context.Background(), cfg, grafanaFrom, grafanaTo)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.changes || !slices.Equal(warns, tc.want) {
				t.Errorf("%d changes, warnings %q; want %d and %q", len(got), warns, tc.changes, tc.want)
			}
		})
	}
}

func TestGrafanaLimitWarning(t *testing.T) {
	t.Parallel()
	var anns []annotation
	for i := range 3 {
		anns = append(anns, annotation{ID: int64(i + 1), Time: grafanaMS(grafanaT1) - int64(i), Tags: []string{"service:web"}})
	}
	f := newFakeGrafana(t, anns)
	got, warns, err := Read(context.Background(), grafanaTestConfig(f.srv.URL, func(c *Config) { c.Limit = 3 }), grafanaFrom, grafanaTo)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(warns) != 1 || !strings.Contains(warns[0], "changes.grafana.limit") {
		t.Errorf("%d changes, warnings %q", len(got), warns)
	}
	if !slices.IsSortedFunc(got, func(a, b telemetry.Change) int { return a.T.Compare(b.T) }) {
		t.Errorf("changes not sorted by time: %+v", got)
	}
}

// TestGrafanaErrors: every failure is one line that says what to fix, and
// none shows the token, though the server echoes it everywhere.
func TestGrafanaErrors(t *testing.T) {
	t.Parallel()
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "http://" + ln.Addr().String()
	}()
	echo := func(code int, contentType, body string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(code)
			_, _ = w.Write([]byte(strings.ReplaceAll(body, "AUTH", r.Header.Get("Authorization"))))
		}
	}
	for name, tc := range map[string]struct {
		answer      func(http.ResponseWriter, *http.Request)
		url         string // instead of the fake's
		edit        func(*Config)
		want        []string
		unreachable bool
	}{
		"401": {
			answer:      echo(401, "application/json", `{"message":"invalid API key: AUTH"}`),
			want:        []string{"Grafana is unreachable at http://", "401 Unauthorized (invalid API key: Bearer <secret>)", "check the token"},
			unreachable: true,
		},
		"403": {
			answer:      echo(403, "application/json", `{"message":"You'll need additional permissions to perform this action. Permissions needed: annotations:read"}`),
			want:        []string{"403 Forbidden", "check the token", "annotations:read"},
			unreachable: true,
		},
		"404": {
			answer:      echo(404, "application/json", `{"message":"Not found"}`),
			want:        []string{"404 Not Found: no annotations API at http://", "/api/annotations", "is it Grafana's base URL", "changes.grafana.url"},
			unreachable: true,
		},
		"500": {
			answer: echo(500, "application/json", `{"message":"Failed to get annotations","traceID":"AUTH"}`),
			want:   []string{"500 Internal Server Error (Failed to get annotations)", "see its log"},
		},
		"500 plain text echoing": {
			answer: echo(500, "text/plain", "upstream failed\nfor request with AUTH\n"),
			want:   []string{"500 Internal Server Error (upstream failed for request with Bearer <secret>)"},
		},
		"garbage": {
			answer: echo(200, "application/json", `[{"id": 1, "time": 17`),
			want:   []string{"the answer is not a list of annotations", "line 1"},
		},
		"wrong type": {
			answer: echo(200, "application/json", `[{"id": 1, "time": "yesterday"}]`),
			want:   []string{`"time" must be an integer, not a JSON string`},
		},
		"JSON object": {
			answer: echo(200, "application/json", `{"message": "AUTH is fine"}`),
			want:   []string{`the answer is the message "Bearer <secret> is fine", not a JSON list of annotations`},
		},
		"empty": {
			answer: echo(200, "application/json", ""),
			want:   []string{"the answer is empty"},
		},
		"text": {
			answer: echo(200, "text/plain", "hello AUTH"),
			want:   []string{`the answer is not a JSON list of annotations (it starts with "hello Bearer <secret>")`},
		},
		"HTML page": {
			answer:      echo(200, "text/html; charset=utf-8", "<!DOCTYPE html><html><body>Sign in AUTH</body></html>"),
			want:        []string{"HTML page, not Grafana's annotations API", "changes.grafana.url"},
			unreachable: true,
		},
		"too large": {
			answer: echo(200, "application/json", "["+strings.Repeat(`{"id":1,"time":1},`, 200)+`{"id":1}]`),
			edit:   func(c *Config) { c.MaxResponseBytes = 1024 },
			want:   []string{"response larger than 1 KiB", "changes.grafana.limit", "max_response_bytes"},
		},
		"timeout": {
			answer: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			edit:   func(c *Config) { c.Timeout = model.Duration(200 * time.Millisecond) },
			want:   []string{"Grafana is unreachable at http://", "no answer within 200ms (changes.grafana.timeout)"},

			unreachable: true,
		},
		"closed port": {
			url:         closed,
			want:        []string{"Grafana is unreachable at " + closed, "connection refused", "check changes.grafana.url"},
			unreachable: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGrafana(t, nil)
			f.answer = tc.answer
			u := f.srv.URL
			if tc.url != "" {
				u = tc.url
			}
			start := time.Now()
			_, _, err := Read(context.Background(), grafanaTestConfig(u, tc.edit), grafanaFrom, grafanaTo)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nwant it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, grafanaToken) {
				t.Errorf("token shown: %s", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("multi-line error %q", msg)
			}
			if errors.Is(err, ErrUnreachable) != tc.unreachable {
				t.Errorf("errors.Is(err, ErrUnreachable) = %v, want %v: %v", !tc.unreachable, tc.unreachable, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

// TestGrafanaSecretsNeverShown: a token from a file, a basic auth
// password, and a header secret, echoed by a server through retries and
// errors, never show; an org id is not a secret.
func TestGrafanaSecretsNeverShown(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "grafana.token")
	if err := os.WriteFile(tokenFile, []byte(grafanaToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("rca:pw-0f-grafana"))
	for name, tc := range map[string]struct {
		edit    func(*Config)
		secrets []string
	}{
		"credentials_file": {
			edit: func(c *Config) {
				c.HTTPClientConfig.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: tokenFile}
			},
			secrets: []string{grafanaToken},
		},
		"basic_auth": {
			edit: func(c *Config) {
				c.HTTPClientConfig.Authorization = nil
				c.HTTPClientConfig.BasicAuth = &config.BasicAuth{Username: "rca", Password: "pw-0f-grafana"}
			},
			secrets: []string{"pw-0f-grafana", basic},
		},
		"header": {
			edit:    func(c *Config) { c.Headers["X-Api-Key"] = "header-secret-value" },
			secrets: []string{"header-secret-value", grafanaToken},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, code := range []int{400, 401, 403, 404, 500, 503} {
				f := newFakeGrafana(t, nil)
				f.answer = func(w http.ResponseWriter, r *http.Request) {
					var b strings.Builder
					for k, v := range r.Header {
						b.WriteString(k + ": " + strings.Join(v, ",") + "; ")
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(code)
					msg, _ := json.Marshal(b.String())
					_, _ = w.Write([]byte(`{"message":` + string(msg) + `}`))
				}
				cfg := grafanaTestConfig(f.srv.URL, func(c *Config) {
					c.Headers = map[string]string{"X-Grafana-Org-Id": "1"}
					c.Retries = 1
					tc.edit(c)
				})
				_, _, err := Read(context.Background(), cfg, grafanaFrom, grafanaTo)
				if err == nil {
					t.Fatalf("%d: no error", code)
				}
				for _, s := range tc.secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("%d: %q shown: %v", code, s, err)
					}
				}
				if !strings.Contains(err.Error(), "<secret>") {
					t.Errorf("%d: the echoed secret should show as <secret>: %v", code, err)
				}
				if !strings.Contains(err.Error(), "X-Grafana-Org-Id: 1") {
					t.Errorf("%d: the org id is not a secret: %v", code, err)
				}
			}
		})
	}
}

func TestGrafanaCancel(t *testing.T) {
	t.Parallel()
	f := newFakeGrafana(t, nil)
	arrived := make(chan struct{})
	gone := make(chan struct{})
	f.answer = func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
		close(gone)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	start := time.Now()
	_, _, err := Read(ctx, grafanaTestConfig(f.srv.URL, nil), grafanaFrom, grafanaTo)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s after the cancel", d)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Error("the server's request was not cancelled")
	}
	// Cancelled before it starts: no request at all.
	f2 := newFakeGrafana(t, nil)
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, _, err := Read(done, grafanaTestConfig(f2.srv.URL, nil), grafanaFrom, grafanaTo); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := len(f2.Requests()); n != 0 {
		t.Errorf("%d requests after the context ended", n)
	}
}

func TestGrafanaConfigErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cfg      Config
		from, to time.Time
		want     string
	}{
		"no url":         {cfg: NewConfig(""), want: "no Grafana URL: set changes.grafana.url"},
		"no scheme":      {cfg: NewConfig("grafana:3000"), want: `Grafana URL "grafana:3000": want http://host:port`},
		"dashboard link": {cfg: NewConfig("https://g.example.com/d/abc/checkout?orgId=1"), want: "is a page of Grafana, not its base URL: write https://g.example.com"},
		"explore link":   {cfg: NewConfig("https://g.example.com/grafana/explore?left=x"), want: "write https://g.example.com/grafana"},
		"api path":       {cfg: NewConfig("https://g.example.com/api/annotations"), want: "write https://g.example.com"},
		"limit":          {cfg: Config{Config: httpsource.Config{URL: "http://g:3000"}, Limit: -1}, want: "changes.grafana.limit -1"},
		"empty tag":      {cfg: Config{Config: httpsource.Config{URL: "http://g:3000"}, Tags: []string{"deploy", " "}}, want: "changes.grafana.tags: an empty tag"},
		"empty prefix":   {cfg: Config{Config: httpsource.Config{URL: "http://g:3000"}, ServiceTagPrefixes: []string{""}}, want: "service_tag_prefixes: an empty prefix"},
		"range":          {cfg: NewConfig("http://g:3000"), from: grafanaTo, to: grafanaFrom, want: "empty time range"},
		"password in url with query": {
			cfg:  NewConfig("http://u:hunter2-secret@g:3000/d/x?token=zz-query-secret"),
			want: "http://g:3000/d/x is a page",
		},
	} {
		from, to := tc.from, tc.to
		if from.IsZero() {
			from, to = grafanaFrom, grafanaTo
		}
		tc.cfg.Names = configNames
		_, _, err := Read(context.Background(), tc.cfg, from, to)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "zz-query-secret")) {
			t.Errorf("%s: secret shown: %v", name, err)
		}
	}
}

func TestGrafanaPlainText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 300)
	for in, want := range map[string]string{
		"":                               "",
		"plain   text\n\twith\r\nspaces": "plain text with spaces",
		"<p>one</p><p>two</p>":           "one two",
		"a<br>b<br/>c":                   "a b c",
		"<b>bold</b>er":                  "bolder",
		`<a href="http://x?a=1&amp;b=2">link</a>`: "link",
		"5 &lt; 6 &amp;&amp; 7 &gt; 6":            "5 < 6 && 7 > 6",
		"&lt;b&gt;literal&lt;/b&gt;":              "<b>literal</b>",
		"latency < 200ms and > 100ms":             "latency < 200ms and > 100ms",
		"x <b unterminated":                       "x <b unterminated",
		"a<!-- hidden -->b":                       "ab",
		"a<!-- never closed":                      "a",
		"<style>p{color:red}</style>shown":        "shown",
		"<SCRIPT>alert(1)</Script>shown":          "shown",
		"<script>never closed":                    "",
		"caf\xe9 ok":                              "caf ok",
		"tab\x00null":                             "tab null",
		"&nbsp;&nbsp;x&#32;y&#x41;":               "x yA",
		"<ul><li>one</li><li>two</li></ul>":       "one two",
		long:                                      strings.Repeat("é", 199) + "…",
	} {
		if got := plainText(in, 200); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}

var grafanaSeeds = []string{
	`[]`,
	`null`,
	`[{"id":1124,"alertId":0,"dashboardId":468,"dashboardUID":"uGlb_lG7z","panelId":2,"userId":1,"time":1507266395000,"timeEnd":1507266395000,"text":"test <b>x</b>","tags":["tag1","service:checkout","version:v1"],"data":{}}]`,
	`[{"time":1,"tags":null,"text":null}]`,
	`{"message":"Unauthorized"}`,
	`<html>`,
	`[{"time":"x"}]`,
	`[1,2]`,
	`[] []`,
	"",
}

// FuzzDecodeGrafanaAnnotations: never panic; errors are one line; what
// decodes maps to changes with one-line, capped summaries.
func FuzzDecodeGrafanaAnnotations(f *testing.F) {
	for _, s := range grafanaSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		anns, err := decodeAnnotations(body, nil)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		changes, warns := changes(anns, DefaultServiceTagPrefixes)
		if len(warns) > 2 {
			t.Errorf("warnings %q", warns)
		}
		for _, c := range changes {
			if c.Service == "" || c.Kind == "" || c.Source != "grafana annotations" {
				t.Errorf("change %+v", c)
			}
			if strings.ContainsAny(c.Summary, "\n\r") || !utf8.ValidString(c.Summary) || utf8.RuneCountInString(c.Summary) > summaryMax {
				t.Errorf("summary %q", c.Summary)
			}
		}
	})
}
