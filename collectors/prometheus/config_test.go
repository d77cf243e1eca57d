package prometheus

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/rca-tool/rca/internal/httpsource"
	yaml "go.yaml.in/yaml/v2"
)

// parsePromConfig decodes a sources.prometheus section as the config file
// loader does: strictly.
func parsePromConfig(t testing.TB, doc string) Config {
	t.Helper()
	var c Config
	if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
		t.Fatalf("parse %q: %v", doc, err)
	}
	return c
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func TestPrometheusConfigDefaults(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Config{
		"yaml":        parsePromConfig(t, "url: http://prometheus:9090\n"),
		"url only":    NewConfig("http://prometheus:9090"),
		"nested yaml": parseNested(t, "prometheus:\n  url: http://prometheus:9090\n"),
	} {
		if c.HTTPClientConfig.FollowRedirects != config.DefaultHTTPClientConfig.FollowRedirects ||
			c.HTTPClientConfig.EnableHTTP2 != config.DefaultHTTPClientConfig.EnableHTTP2 || !c.HTTPClientConfig.FollowRedirects {
			t.Errorf("%s: follow_redirects %v enable_http2 %v, want Prometheus's defaults", name,
				c.HTTPClientConfig.FollowRedirects, c.HTTPClientConfig.EnableHTTP2)
		}
		d, err := c.check()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if time.Duration(d.Timeout) != httpsource.DefaultTimeout || d.Concurrency != DefaultConcurrency ||
			d.Retries != httpsource.DefaultRetries || d.MaxResponseBytes != httpsource.DefaultMaxResponseBytes || d.Step != 0 {
			t.Errorf("%s: defaults %+v", name, d)
		}
	}
	// Explicit values stay, and false is not overridden by the defaults.
	c := parsePromConfig(t, `
url: https://mimir.example/prometheus
follow_redirects: false
enable_http2: false
timeout: 45s
concurrency: 8
retries: -1
step: 1m
max_response_bytes: 1048576
headers: {X-Scope-OrgID: team-a}
tls_config: {insecure_skip_verify: true}
`)
	d, err := c.check()
	if err != nil {
		t.Fatal(err)
	}
	if d.HTTPClientConfig.FollowRedirects || d.HTTPClientConfig.EnableHTTP2 || !d.HTTPClientConfig.TLSConfig.InsecureSkipVerify {
		t.Errorf("http client settings %+v", d.HTTPClientConfig)
	}
	if time.Duration(d.Timeout) != 45*time.Second || d.Concurrency != 8 || d.Retries != -1 ||
		time.Duration(d.Step) != time.Minute || d.MaxResponseBytes != 1<<20 || d.Headers["X-Scope-OrgID"] != "team-a" {
		t.Errorf("values %+v", d)
	}
}

func parseNested(t testing.TB, doc string) Config {
	t.Helper()
	var v struct {
		Prometheus *Config `yaml:"prometheus"`
	}
	if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	return *v.Prometheus
}

func TestPrometheusConfigInvalid(t *testing.T) {
	t.Parallel()
	// Errors of the YAML itself.
	for _, doc := range []string{
		"url: http://p\nconcurency: 4\n",               // misspelt key
		"url: http://p\nbasic_auth: {user: a}\n",       // unknown nested key
		"url: http://p\ntimeout: -5s\n",                // negative duration
		"url: http://p\ntimeout: 5\n",                  // no unit
		"url: http://p\nconcurrency: many\n",           // not a number
		"url: http://p\nheaders: [a, b]\n",             // not a map
		"url: http://p\nfollow_redirects: sometimes\n", // not a bool
	} {
		var c Config
		if err := yaml.UnmarshalStrict([]byte(doc), &c); err == nil {
			t.Errorf("%q parsed without error: %+v", doc, c)
		}
	}
	// Values the collector refuses.
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"concurrency 100", func(c *Config) { c.Concurrency = 100 }, "concurrency 100: want 1 to 64"},
		{"concurrency -1", func(c *Config) { c.Concurrency = -1 }, "concurrency -1"},
		{"negative timeout", func(c *Config) { c.Timeout = model.Duration(-time.Second) }, "timeout must be positive"},
		{"negative step", func(c *Config) { c.Step = model.Duration(-time.Second) }, "step must be positive"},
		{"retries -2", func(c *Config) { c.Retries = -2 }, "retries -2"},
		{"tiny response cap", func(c *Config) { c.MaxResponseBytes = 100 }, "max_response_bytes 100"},
		{"ftp scheme", func(c *Config) { c.URL = "ftp://prometheus" }, `"ftp://prometheus": want http://`},
		{"no host", func(c *Config) { c.URL = "http:///api" }, "want http://host:port"},
		{"no scheme", func(c *Config) { c.URL = "prometheus:9090" }, `"prometheus:9090"`},
		{"no URL", func(c *Config) { c.URL = "" }, "no Prometheus URL"},
		{"two auths", func(c *Config) {
			c.HTTPClientConfig.BasicAuth = &config.BasicAuth{Username: "a", Password: "b"}
			c.HTTPClientConfig.BearerToken = "t"
		}, "http client settings: at most one of"},
	}
	for _, tc := range tests {
		c := NewConfig("http://prometheus:9090")
		tc.edit(&c)
		_, err := c.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	// Zero means the default, -1 retries means none.
	c := NewConfig("http://prometheus:9090")
	c.Concurrency, c.Retries = 0, -1
	d, err := c.check()
	if err != nil || d.Concurrency != DefaultConcurrency || d.Retries != -1 {
		t.Errorf("zero concurrency, no retries: %+v %v", d, err)
	}
}

func TestPrometheusConfigSecretsNotMarshalled(t *testing.T) {
	t.Parallel()
	c := parsePromConfig(t, `
url: http://prometheus:9090
basic_auth: {username: alice, password: hunter2-basic}
headers: {X-Api-Key: not-a-config-secret}
`)
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2") || !strings.Contains(string(out), "<secret>") {
		t.Errorf("marshalled:\n%s", out)
	}
	c = parsePromConfig(t, "url: http://prometheus:9090\nauthorization: {credentials: hunter2-bearer}\n")
	if out, err = yaml.Marshal(c); err != nil || strings.Contains(string(out), "hunter2") {
		t.Errorf("marshalled (%v):\n%s", err, out)
	}
}

func TestPrometheusConfigURLCredentials(t *testing.T) {
	t.Parallel()
	c := NewConfig("https://bob:pw%40home@prometheus.example/sub?x=1")
	d, err := c.check()
	if err != nil {
		t.Fatal(err)
	}
	if d.URL != "https://prometheus.example/sub?x=1" {
		t.Errorf("URL %q", d.URL)
	}
	ba := d.HTTPClientConfig.BasicAuth
	if ba == nil || ba.Username != "bob" || string(ba.Password) != "pw@home" {
		t.Errorf("basic auth %+v", ba)
	}
	// The secrets list has the password, also in the form it is sent.
	secrets := d.Secrets()
	for _, want := range []string{"pw@home", "Ym9iOnB3QGhvbWU="} {
		if !strings.Contains(strings.Join(secrets, " "), want) {
			t.Errorf("secrets %q lack %q", secrets, want)
		}
	}
	// A user without a password is only dropped from the URL.
	c = NewConfig("http://bob@prometheus:9090")
	if d, err = c.check(); err != nil || d.URL != "http://prometheus:9090" || d.HTTPClientConfig.BasicAuth != nil {
		t.Errorf("user only: %+v %v", d, err)
	}
}

func TestPrometheusConfigSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeFile(dir+"/pw", "file-password\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir+"/user", "file-user\n"); err != nil {
		t.Fatal(err)
	}
	c := parsePromConfig(t, `
url: http://prometheus:9090
basic_auth: {username_file: `+dir+`/user, password_file: `+dir+`/pw}
headers: {X-Scope-OrgID: tenant, Authorization: Token header-token, User-Agent: rca-test}
http_headers:
  X-Other:
    secrets: [http-header-secret]
    values: [plain-value]
`)
	d, err := c.check()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(d.Secrets(), "|")
	for _, want := range []string{"file-password", "Token header-token", "http-header-secret", "ZmlsZS11c2VyOmZpbGUtcGFzc3dvcmQ="} {
		if !strings.Contains(got, want) {
			t.Errorf("secrets %q lack %q", got, want)
		}
	}
	for _, public := range []string{"tenant", "rca-test", "plain-value"} {
		if strings.Contains(got, public) {
			t.Errorf("secrets %q include the public %q", got, public)
		}
	}
}

func TestRedactShortSecrets(t *testing.T) {
	r := httpsource.Redactor{"a-much-longer-secret", "pw"}
	tests := []struct{ in, want string }{
		{"token a-much-longer-secret here", "token <secret> here"},
		{"xa-much-longer-secretx", "x<secret>x"},
		{"password pw was wrong", "password <secret> was wrong"},
		{"Authorization=pw,", "Authorization=<secret>,"},
		{"upward pwned swpw", "upward pwned swpw"},
		{"pw", "<secret>"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
