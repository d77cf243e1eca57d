package collectors

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Defaults of the live Prometheus collector.
const (
	DefaultQueryTimeout     = 30 * time.Second
	DefaultConcurrency      = 4
	DefaultRetries          = 3
	DefaultMaxResponseBytes = 64 << 20
	// DefaultMinStep is the finest automatic step: most scrape intervals
	// are 15–60 s, and finer steps only repeat samples.
	DefaultMinStep = 30 * time.Second
)

// PrometheusConfig is `sources.prometheus` in the config file. The HTTP
// client settings are Prometheus's own (prometheus/common/config), so
// basic_auth, authorization, bearer_token_file, tls_config, proxy_url and
// http_headers read as they do in a prometheus.yml.
type PrometheusConfig struct {
	// URL is the API base, e.g. http://prometheus:9090 or a Mimir
	// https://mimir/prometheus. Thanos, Mimir, Cortex and VictoriaMetrics
	// speak the same API.
	URL              string                  `yaml:"url"`
	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`
	// Headers are sent with every request, e.g. X-Scope-OrgID for a tenant.
	Headers map[string]string `yaml:"headers,omitempty"`
	// Timeout bounds one query, retries included.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// Concurrency is how many queries run at once.
	Concurrency int `yaml:"concurrency,omitempty"`
	// Retries is how often a query is retried after a 429, a 5xx or a
	// connection error (-1: never).
	Retries int `yaml:"retries,omitempty"`
	// Step is the query resolution; zero chooses one from the range.
	Step model.Duration `yaml:"step,omitempty"`
	// MaxResponseBytes caps one response body, so a query that matches far
	// more than expected fails instead of exhausting memory.
	MaxResponseBytes int64 `yaml:"max_response_bytes,omitempty"`
}

// UnmarshalYAML starts from Prometheus's HTTP client defaults (follow
// redirects, HTTP/2), as a prometheus.yml does.
func (c *PrometheusConfig) UnmarshalYAML(unmarshal func(any) error) error {
	type plain PrometheusConfig
	p := plain{HTTPClientConfig: config.DefaultHTTPClientConfig}
	if err := unmarshal(&p); err != nil {
		return err
	}
	*c = PrometheusConfig(p)
	return nil
}

// NewPrometheusConfig is the configuration used when only a URL is given.
func NewPrometheusConfig(rawURL string) PrometheusConfig {
	return PrometheusConfig{URL: rawURL, HTTPClientConfig: config.DefaultHTTPClientConfig}
}

// withDefaults fills unset fields and checks the rest.
func (c PrometheusConfig) withDefaults() (PrometheusConfig, error) {
	return c.withDefaultsFor("Prometheus", "--prometheus-url, RCA_PROMETHEUS_URL or sources.prometheus.url")
}

// withDefaultsFor is withDefaults for any server speaking HTTP with these
// settings (Loki reuses them); kind and where name it in errors.
func (c PrometheusConfig) withDefaultsFor(kind, where string) (PrometheusConfig, error) {
	if c.Timeout == 0 {
		c.Timeout = model.Duration(DefaultQueryTimeout)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	switch {
	case c.URL == "":
		return c, fmt.Errorf("no %s URL: set %s", kind, where)
	case c.Timeout < 0:
		return c, errors.New("timeout must be positive")
	case c.Concurrency < 1 || c.Concurrency > 64:
		return c, fmt.Errorf("concurrency %d: want 1 to 64", c.Concurrency)
	case c.Retries < -1:
		return c, fmt.Errorf("retries %d: want -1 (never) or more", c.Retries)
	case c.Step < 0:
		return c, errors.New("step must be positive")
	case c.MaxResponseBytes < 1<<10:
		return c, fmt.Errorf("max_response_bytes %d: want at least 1024", c.MaxResponseBytes)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := redactURL(c.URL)
		if !strings.ContainsAny(c.URL, "@?") {
			// Nothing secret in it; "prometheus:9090" (no scheme) is the
			// usual mistake and must be shown as typed.
			shown = c.URL
		}
		return c, fmt.Errorf("%s URL %q: want http://host:port or https://host/path", kind, shown)
	}
	if u.User != nil {
		// Credentials in the URL would be logged by every proxy on the way;
		// move them into basic_auth where they are kept secret.
		if _, set := u.User.Password(); set && c.HTTPClientConfig.BasicAuth == nil {
			pw, _ := u.User.Password()
			c.HTTPClientConfig.BasicAuth = &config.BasicAuth{Username: u.User.Username(), Password: config.Secret(pw)}
		}
		u.User = nil
		c.URL = u.String()
	}
	if err := c.HTTPClientConfig.Validate(); err != nil {
		return c, fmt.Errorf("http client settings: %w", err)
	}
	return c, nil
}

// secrets lists every credential the configuration holds, including the
// contents of the files it names, so messages can be scrubbed of them.
func (c PrometheusConfig) secrets() []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	read := func(name string) string {
		if name == "" {
			return ""
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(data))
	}
	file := func(name string) { add(read(name)) }
	h := c.HTTPClientConfig
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
	}
	if ba := h.BasicAuth; ba != nil {
		user, pw := ba.Username, string(ba.Password)
		if ba.UsernameFile != "" {
			user = read(ba.UsernameFile)
		}
		if ba.PasswordFile != "" {
			pw = read(ba.PasswordFile)
		}
		add(pw)
		// The Authorization header carries the password in base64, and a
		// server may echo the header back.
		if pw != "" {
			add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pw)))
		}
	}
	if h.Authorization != nil {
		add(string(h.Authorization.Credentials))
		file(h.Authorization.CredentialsFile)
	}
	if h.OAuth2 != nil {
		add(string(h.OAuth2.ClientSecret))
		file(h.OAuth2.ClientSecretFile)
		add(string(h.OAuth2.ClientCertificateKey))
	}
	add(string(h.TLSConfig.Key))
	add(string(h.BearerToken))
	file(h.BearerTokenFile)
	if h.HTTPHeaders != nil {
		for _, hv := range h.HTTPHeaders.Headers {
			for _, s := range hv.Secrets {
				add(string(s))
			}
			for _, f := range hv.Files {
				file(f)
			}
		}
	}
	for name, v := range c.Headers {
		if !publicHeader(name) {
			add(v)
		}
	}
	// Longest first: a secret that contains another is replaced whole.
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(out)
}

// publicHeader reports whether a header's value is an identifier rather
// than a credential: tenant ids are shown in errors to help debugging.
func publicHeader(name string) bool {
	switch strings.ToLower(name) {
	case "x-scope-orgid", "x-grafana-org-id", "user-agent", "accept":
		return true
	}
	return false
}

// redactor replaces secrets in text. Messages from servers and from
// net/http can echo what was sent; nothing that leaves rca may carry one.
type redactor []string

// String replaces every secret; the longest first, so one that contains
// another does not leave its rest behind.
func (r redactor) String(s string) string {
	if !slices.IsSortedFunc(r, func(a, b string) int { return len(b) - len(a) }) {
		r = slices.Clone(r)
		slices.SortStableFunc(r, func(a, b string) int { return len(b) - len(a) })
	}
	for _, secret := range r {
		if len(secret) >= minBareSecret {
			s = strings.ReplaceAll(s, secret, "<secret>")
			continue
		}
		s = replaceWord(s, secret, "<secret>")
	}
	return s
}

// minBareSecret is the length from which a secret is replaced wherever it
// occurs; a shorter one (a weak password like "pw") only where it stands
// as a word of its own, or every "pw" in a message would become <secret>.
const minBareSecret = 8

// replaceWord replaces occurrences of old that are not inside a longer
// run of letters and digits.
func replaceWord(s, old, repl string) string {
	isWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		if (i > 0 && isWord(s[i-1])) || (end < len(s) && isWord(s[end])) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s = s[end:]
	}
}

// redactedError keeps the error chain (errors.Is still works) but scrubs
// the message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (r redactor) Error(err error) error {
	if err == nil || len(r) == 0 {
		return err
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
