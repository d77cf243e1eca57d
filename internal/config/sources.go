package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/changesfile"
	"github.com/rca-tool/rca/collectors/git"
	"github.com/rca-tool/rca/collectors/grafana"
	"github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/collectors/prometheus"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/httpsource"
)

// Sources is the sources: section: where live data comes from. Its
// settings are nested because they are Prometheus's own HTTP client
// settings.
type Sources struct {
	Prometheus *prometheus.Config `yaml:"prometheus"`
	Loki       *loki.Config       `yaml:"loki"`
}

// Changes is the changes: section: where deploys and commits come from
// besides the metrics.
type Changes struct {
	// File is a JSON or YAML list of changes (as --changes-file).
	File string      `yaml:"file"`
	Git  *git.Config `yaml:"git"`
	// Grafana reads deploy annotations from Grafana's HTTP API.
	Grafana *grafana.Config `yaml:"grafana"`
}

// Setting is a value given outside the file (a flag, the environment, a
// flat key of the file) and where it was given, for messages:
// "--prometheus-url", "RCA_LOKI_URL", "repo in config file rca.yaml line 3".
type Setting struct {
	Value  string
	Origin string
}

// Overrides are the settings laid over the file's sections.
type Overrides struct {
	// Snapshot is a recording to replay instead of the servers.
	Snapshot                             Setting
	PrometheusURL, LokiURL, LokiSelector Setting
	Step                                 time.Duration
	ChangesFile, Repo                    Setting
}

// Plan is what a command reads: the sources in order, a recording first.
type Plan struct {
	Sources []collectors.Source
	// Replay: the first source is a snapshot. Live: servers are asked.
	Replay, Live bool
	// Where names, per source, where it was set up, for errors about its
	// configuration ("--repo", "changes.git in config file rca.yaml line 9").
	Where map[string]string
}

// Plan builds the list of sources the file and the overrides name: a
// snapshot, or the live Prometheus and Loki; then the change sources. A
// new source is one line here (and its section in Sources or Changes).
func (f File) Plan(o Overrides, log *slog.Logger) (Plan, error) {
	p := Plan{Where: map[string]string{}}
	add := func(s collectors.Source, where string) {
		p.Sources = append(p.Sources, s)
		if where != "" {
			p.Where[s.Name()] = where
		}
	}
	if o.Snapshot.Value != "" {
		add(snapshot.Source{Dir: o.Snapshot.Value, Log: log}, "") // its errors name the folder
		p.Replay = true
	} else {
		// live adds a server New made, or returns the error it gave.
		live := func(s collectors.Source, err error) error {
			if err != nil {
				return err
			}
			add(s, "")
			p.Live = true
			return nil
		}
		if cfg, ok := f.prometheus(o); ok {
			if err := live(prometheus.New(cfg, log)); err != nil {
				return p, err
			}
		}
		if cfg, ok := f.loki(o); ok {
			if err := live(loki.New(cfg, log)); err != nil {
				return p, err
			}
		}
	}
	if path, where := f.changesFile(o); path != "" {
		add(changesfile.Source{Path: path}, where)
	}
	if g := f.Changes.Grafana; g != nil {
		cfg := *g
		cfg.Names = httpsource.Names{Section: "changes.grafana"}
		add(grafana.New(cfg, log), "")
	}
	if cfg, where, ok := f.git(o); ok {
		add(git.New(cfg, log), where)
	}
	return p, nil
}

// names words a server's settings: its section, and where its URL and
// selector came from when not from the section.
func (f File) names(section string, set map[string]Setting) httpsource.Names {
	n := httpsource.Names{Section: section, Set: map[string]string{}}
	for field, s := range set {
		if s.Value != "" && s.Origin != "" {
			n.Set[field] = s.Origin
		} else if where := f.Origin(section + "." + field); where != "" {
			n.Set[field] = where
		}
	}
	return n
}

// prometheus is the live Prometheus, if any: sources.prometheus with the
// URL and step of the overrides laid over it.
func (f File) prometheus(o Overrides) (prometheus.Config, bool) {
	var cfg prometheus.Config
	if f.Sources.Prometheus != nil {
		cfg = *f.Sources.Prometheus
	}
	overlayURL(&cfg.Config, f.Sources.Prometheus != nil, o.PrometheusURL)
	if cfg.URL == "" {
		return cfg, false
	}
	if o.Step > 0 {
		cfg.Step = model.Duration(o.Step)
	}
	cfg.Names = f.names("sources.prometheus", map[string]Setting{"url": o.PrometheusURL})
	return cfg, true
}

// loki is the live Loki, if any, as prometheus.
func (f File) loki(o Overrides) (loki.Config, bool) {
	var cfg loki.Config
	if f.Sources.Loki != nil {
		cfg = *f.Sources.Loki
	}
	overlayURL(&cfg.Config, f.Sources.Loki != nil, o.LokiURL)
	if sel := strings.TrimSpace(o.LokiSelector.Value); sel != "" {
		cfg.Selector = sel
	}
	cfg.Names = f.names("sources.loki", map[string]Setting{"url": o.LokiURL, "selector": o.LokiSelector})
	return cfg, cfg.URL != ""
}

// overlayURL lays a URL given outside the file over a server's settings;
// without a section in the file, the settings are the defaults.
func overlayURL(c *httpsource.Config, inFile bool, url Setting) {
	u := strings.TrimSpace(url.Value)
	if u == "" {
		return
	}
	if !inFile {
		*c = httpsource.New(u)
	}
	c.URL = u
}

// changesFile is the changes file and where it was named.
func (f File) changesFile(o Overrides) (path, where string) {
	if o.ChangesFile.Value != "" {
		return o.ChangesFile.Value, o.ChangesFile.Origin
	}
	return f.Changes.File, f.Origin("changes.file")
}

// git is the repository to link deploys to, if any.
func (f File) git(o Overrides) (git.Config, string, bool) {
	var cfg git.Config
	where := ""
	if f.Changes.Git != nil {
		cfg = *f.Changes.Git
		cfg.Section = "changes.git"
		where = f.Origin("changes.git")
	}
	if o.Repo.Value != "" {
		cfg.Repo, where = o.Repo.Value, o.Repo.Origin
	}
	return cfg, where, cfg.Repo != ""
}

// Wrap prefixes a source's error with where the source was set up, when
// the error is about its configuration (a repository, a file).
func (p Plan) Wrap(err error) error {
	var se *collectors.SourceError
	if errors.As(err, &se) {
		if where := p.Where[se.Source]; where != "" && !strings.HasPrefix(err.Error(), where) {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return err
}
