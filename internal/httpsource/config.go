// Package httpsource is what every HTTP data source of rca shares: the
// client settings (Prometheus's own auth, TLS and proxy settings, extra
// headers, a timeout, retries and a size cap), the transports that retry
// and cap, the scrubbing of secrets from every message, and the wording of
// transport errors.
package httpsource

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// ErrURL is a server URL that is not an http(s) URL: a setting to fix,
// not a server that failed.
var ErrURL = errors.New("want http://host:port or https://host/path")

// Defaults of an HTTP source.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultRetries          = 3
	DefaultMaxResponseBytes = 64 << 20
)

// Config is where a server is and how to talk to it. Each source inlines
// it in its own config, so the YAML keys sit beside the source's own; the
// client settings read as they do in a prometheus.yml.
type Config struct {
	URL              string                  `yaml:"url"`
	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`
	// Headers are sent with every request, e.g. X-Scope-OrgID for a tenant.
	Headers map[string]string `yaml:"headers,omitempty"`
	// Timeout bounds one request, retries included, and within a
	// collection (RunContext) all of the source's requests together.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// Retries is how often a request is retried after a 429, a 502-504 or
	// a connection error (-1: never).
	Retries int `yaml:"retries,omitempty"`
	// MaxResponseBytes caps one response body, so a query that matches far
	// more than expected fails instead of exhausting memory.
	MaxResponseBytes int64 `yaml:"max_response_bytes,omitempty"`
	// Names says where the user set these values, for messages.
	Names Names `yaml:"-"`
}

// Names words a source's settings in messages the way the user wrote them.
// A library alone names bare fields ("timeout"); the config layer sets
// the Section ("sources.loki") and, for values given elsewhere, where
// each was set ("url": "--loki-url"), so a message points at the line or
// flag to change.
type Names struct {
	Section string
	Set     map[string]string
}

// Field names one setting of the source.
func (n Names) Field(field string) string {
	if where, ok := n.Set[field]; ok {
		return where
	}
	if n.Section == "" {
		return field
	}
	return n.Section + "." + field
}

// In places a setting in its section for a message (" in sources.loki"),
// "" when the library alone names it.
func (n Names) In() string {
	if n.Section == "" {
		return ""
	}
	return " in " + n.Section
}

// New is the configuration used when only a URL is given: Prometheus's
// client defaults (follow redirects, HTTP/2), as a prometheus.yml has.
func New(rawURL string) Config {
	return Config{URL: rawURL, HTTPClientConfig: config.DefaultHTTPClientConfig}
}

// Check fills unset fields with the defaults and checks the rest; kind
// names the server ("Loki") in errors. Credentials in the URL are moved
// into basic_auth, where they are kept secret.
func (c Config) Check(kind string) (Config, error) {
	if c.Timeout == 0 {
		c.Timeout = model.Duration(DefaultTimeout)
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	switch {
	case c.URL == "":
		return c, fmt.Errorf("no %s URL: set %s", kind, c.Names.Field("url"))
	case c.Timeout < 0:
		return c, errors.New("timeout must be positive")
	case c.Retries < -1:
		return c, fmt.Errorf("retries %d: want -1 (never) or more", c.Retries)
	case c.MaxResponseBytes < 1<<10:
		return c, fmt.Errorf("max_response_bytes %d: want at least 1024", c.MaxResponseBytes)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := RedactURL(c.URL)
		if !strings.ContainsAny(c.URL, "@?") {
			// Nothing secret in it; "prometheus:9090" (no scheme) is the
			// usual mistake and must be shown as typed.
			shown = c.URL
		}
		return c, fmt.Errorf("%s URL %q: %w", kind, shown, ErrURL)
	}
	if u.User != nil {
		// Credentials in the URL would be logged by every proxy on the way.
		if pw, set := u.User.Password(); set && c.HTTPClientConfig.BasicAuth == nil {
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

// Client builds the HTTP client for a checked configuration: Prometheus's
// own HTTP settings (auth, TLS, proxy), extra headers, retries, a size cap.
func (c Config) Client(log *slog.Logger, red Redactor) (*http.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt, err := config.NewRoundTripperFromConfig(c.HTTPClientConfig, "rca")
	if err != nil {
		return nil, fmt.Errorf("http client settings: %w", err)
	}
	rt = &headerTransport{next: rt, headers: c.Headers}
	rt = &retryTransport{next: rt, retries: max(0, c.Retries), log: log, redact: red}
	rt = &runTransport{next: rt, timeout: time.Duration(c.Timeout)}
	rt = &limitTransport{next: rt, limit: c.MaxResponseBytes}
	// The redirect policy lives in the http.Client, not the round tripper:
	// build the client as config.NewClientFromConfig does.
	hc := &http.Client{Transport: rt}
	if !c.HTTPClientConfig.FollowRedirects {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return hc, nil
}

// Endpoint names a server in the errors about reaching it.
func (c Config) Endpoint(unreachable error, red Redactor) Endpoint {
	return Endpoint{Unreachable: unreachable, URL: RedactURL(c.URL), Names: c.Names, Timeout: time.Duration(c.Timeout), Redact: red}
}

// headerTransport adds configured headers (tenant ids and the like), but
// not to a redirect that has left the server's host: the values may be
// credentials, and Go's client drops Authorization and cookies there too.
type headerTransport struct {
	next    http.RoundTripper
	headers map[string]string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) == 0 || crossHostRedirect(req) {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	return t.next.RoundTrip(req)
}

// crossHostRedirect reports whether req is a hop of a redirect chain that
// has, at any hop, left the host of the chain's first request (or its
// subdomains): Go's rule for Authorization, sticky as in net/http, so a
// chain that comes back to the first host stays stripped.
func crossHostRedirect(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	origin := strings.ToLower(first.URL.Hostname())
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		if !domainOrSubdomain(strings.ToLower(r.URL.Hostname()), origin) {
			return true
		}
	}
	return false
}

// domainOrSubdomain reports whether sub is parent or a subdomain of it, as
// net/http's isDomainOrSubdomain.
func domainOrSubdomain(sub, parent string) bool {
	if sub == parent {
		return true
	}
	// An IPv6 address or zone is no subdomain of anything.
	if parent == "" || strings.ContainsAny(sub, ":%") {
		return false
	}
	return strings.HasSuffix(sub, "."+parent)
}
