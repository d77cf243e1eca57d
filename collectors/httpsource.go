package collectors

import (
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// HTTPSource is what the HTTP sources besides Prometheus (Loki, Grafana)
// share in the config file: where the server is, Prometheus's own client
// settings (auth, TLS, proxy), extra headers, and how hard to try. Each
// source inlines it, so the YAML keys sit beside the source's own.
type HTTPSource struct {
	URL              string                  `yaml:"url"`
	HTTPClientConfig config.HTTPClientConfig `yaml:",inline"`
	// Headers are sent with every request, e.g. a tenant or org id.
	Headers map[string]string `yaml:"headers,omitempty"`
	// Timeout bounds one request, retries included.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// Retries is how often a request is retried after a 429, a 502-504 or
	// a connection error (-1: never).
	Retries int `yaml:"retries,omitempty"`
	// MaxResponseBytes caps one response body.
	MaxResponseBytes int64 `yaml:"max_response_bytes,omitempty"`
}

// newHTTPSource is the source used when only a URL is given: Prometheus's
// client defaults (follow redirects, HTTP/2), as a prometheus.yml has.
func newHTTPSource(rawURL string) HTTPSource {
	return HTTPSource{URL: rawURL, HTTPClientConfig: config.DefaultHTTPClientConfig}
}

// http is the source as the shared HTTP stack takes it, checked and
// defaulted; name and urlHint word its errors.
func (h HTTPSource) http(name, urlHint string) (PrometheusConfig, error) {
	return PrometheusConfig{
		URL: h.URL, HTTPClientConfig: h.HTTPClientConfig, Headers: h.Headers, Timeout: h.Timeout,
		Retries: h.Retries, MaxResponseBytes: h.MaxResponseBytes,
	}.withDefaultsFor(name, urlHint)
}
