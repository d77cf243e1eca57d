package prometheus

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/internal/httpsource"
)

// Defaults of the live Prometheus source.
const (
	DefaultConcurrency = 4
	// DefaultMinStep is the finest automatic step: most scrape intervals
	// are 15–60 s, and finer steps only repeat samples.
	DefaultMinStep = 30 * time.Second
	// DefaultMaxQueries bounds the queries for metrics the catalog does not
	// know: one per metric name, the most telling first (see planner.plan).
	DefaultMaxQueries = 100
	// DefaultMaxSeries bounds the series kept of one query (those that moved most).
	DefaultMaxSeries = 500
)

// Config is `sources.prometheus` in the config file. The HTTP client
// settings are Prometheus's own (prometheus/common/config), so
// basic_auth, authorization, bearer_token_file, tls_config, proxy_url and
// http_headers read as they do in a prometheus.yml. The URL is the API
// base, e.g. http://prometheus:9090 or a Mimir https://mimir/prometheus:
// Thanos, Mimir, Cortex and VictoriaMetrics speak the same API.
type Config struct {
	httpsource.Config `yaml:",inline"`
	// Concurrency is how many queries run at once.
	Concurrency int `yaml:"concurrency,omitempty"`
	// Step is the query resolution; zero chooses one from the range.
	Step model.Duration `yaml:"step,omitempty"`
	// MaxQueries is how many queries may read metrics the catalog does not
	// know, one each (DefaultMaxQueries; -1: none, only the catalog's).
	MaxQueries int `yaml:"max_queries,omitempty"`
	// MaxSeries is how many series one query may give; beyond, those that moved most
	// are kept and a warning says so (DefaultMaxSeries).
	MaxSeries int `yaml:"max_series,omitempty"`
}

// UnmarshalYAML starts from Prometheus's HTTP client defaults (follow
// redirects, HTTP/2), as a prometheus.yml does.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Config
	*c = Config{Config: httpsource.New("")}
	return unmarshal((*plain)(c))
}

// NewConfig is the configuration used when only a URL is given.
func NewConfig(rawURL string) Config {
	return Config{Config: httpsource.New(rawURL)}
}

// check fills unset fields and checks the rest.
func (c Config) check() (Config, error) {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxQueries == 0 {
		c.MaxQueries = DefaultMaxQueries
	}
	if c.MaxSeries == 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	hc, err := c.Config.Check("Prometheus")
	c.Config = hc
	switch {
	case err != nil:
		return c, err
	case c.Concurrency < 1 || c.Concurrency > 64:
		return c, fmt.Errorf("concurrency %d: want 1 to 64", c.Concurrency)
	case c.Step < 0:
		return c, errors.New("step must be positive")
	case c.MaxQueries < -1:
		return c, fmt.Errorf("max_queries %d: want 1 or more, or -1 for the catalog's queries only", c.MaxQueries)
	case c.MaxSeries < 1:
		return c, fmt.Errorf("max_series %d: want 1 or more", c.MaxSeries)
	}
	return c, nil
}
