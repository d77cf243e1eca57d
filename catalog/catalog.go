package catalog

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/rca-tool/rca/configs"
)

// Layer is where a signal sits in a cause chain, from the user-facing top down.
type Layer string

// Layers, top to bottom.
const (
	LayerSymptom     Layer = "symptom"
	LayerPropagation Layer = "propagation"
	LayerResource    Layer = "resource"
	LayerChange      Layer = "change"
)

// Depth orders layers: symptom 0 .. change 3.
func (l Layer) Depth() int {
	switch l {
	case LayerSymptom:
		return 0
	case LayerPropagation:
		return 1
	case LayerChange:
		return 3
	}
	return 2
}

func (l Layer) valid() bool {
	switch l {
	case LayerSymptom, LayerPropagation, LayerResource, LayerChange:
		return true
	}
	return false
}

// Direction says which way a signal moves when things are bad.
type Direction string

// Directions.
const (
	Up   Direction = "up"
	Down Direction = "down"
	Both Direction = "both"
)

func (d Direction) valid() bool { return d == Up || d == Down || d == Both }

// Impact says what a symptom signal tells about users, for rca impact:
// how many requests fail, how slow they are, how many there are.
type Impact string

// Impact roles.
const (
	ImpactErrors       Impact = "errors"       // fraction of requests failing (0..1)
	ImpactLatency      Impact = "latency"      // response time, seconds
	ImpactTraffic      Impact = "traffic"      // requests per second
	ImpactAvailability Impact = "availability" // fraction of probes or targets up (0..1)
)

func (i Impact) valid() bool {
	switch i {
	case "", ImpactErrors, ImpactLatency, ImpactTraffic, ImpactAvailability:
		return true
	}
	return false
}

// Signal is one catalog entry.
type Signal struct {
	ID        string    `yaml:"id"`
	Name      string    `yaml:"name"`
	Layer     Layer     `yaml:"layer"`
	Direction Direction `yaml:"direction"`
	Unit      string    `yaml:"unit"`
	// Impact marks the symptom signals rca impact reads.
	Impact Impact `yaml:"impact"`
	// Scope is what the signal describes: "" (a service) or "host" (the
	// machine services run on, as node_exporter sees it). Host signals are
	// context for chains, never a service to roll back.
	Scope string `yaml:"scope"`
	// Metrics are regular expressions matched against whole raw metric names.
	Metrics []string `yaml:"metrics"`
	// NotMetrics are patterns of names Metrics match that are not the
	// signal's (node_network_up among the *_up gauges).
	NotMetrics []string `yaml:"not_metrics"`
	// RawUnit is the unit of the raw metrics Metrics match when it is not
	// the query's (process_open_fds, a count, for a ratio of the limit).
	// Without it a raw metric's unit suffix (_bytes, _seconds) decides.
	RawUnit string `yaml:"raw_unit"`
	// Query is the PromQL a live collector runs for this signal. As written
	// in the catalog it may use $identity and $host (see IdentityLabels and
	// HostLabels); once parsed, Query holds it with them expanded.
	Query string `yaml:"query"`
	// LogLevels and LogPattern make a log signal: the rate of lines whose
	// level is one of LogLevels or whose text matches LogPattern.
	LogLevels  []string `yaml:"log_levels"`
	LogPattern string   `yaml:"log_pattern"`
	// LogQL is the LogQL metric query a live Loki collector runs to count
	// a log signal's lines per service and minute on the server, e.g.
	// sum by (service) (count_over_time($selector |= "timeout" [1m] offset 1ms)).
	// $selector stands for the Loki selector in use. Without it, one is
	// derived from LogPattern or LogLevels (see LogMetricQuery).
	LogQL string `yaml:"logql"`
	// LogByLevel makes a log signal of every line, one series per service
	// and level, but for the levels another log signal counts by its
	// LogLevels (error lines have theirs; a signal counted by LogQL alone
	// leaves none out): how much a service says at each level, so that
	// lines that stop, or warnings that start, are seen in a service that
	// logged no error and no new template. One signal of a catalog may.
	LogByLevel bool `yaml:"log_by_level"`

	metrics    []*regexp.Regexp
	notMetrics []*regexp.Regexp
	logRe      *regexp.Regexp
	// otherLevels are the levels, lower case, that the catalog's other
	// signals of levels count: a LogByLevel signal leaves them to those.
	otherLevels map[string]bool
	// template is Query as written, before $identity and $host were
	// expanded, so that a catalog extended with other label lists expands
	// it again.
	template string
}

// ScopeHost marks a signal that describes a host, not a service.
const ScopeHost = "host"

// Host reports whether the signal describes a host rather than a service.
func (s Signal) Host() bool { return s.Scope == ScopeHost }

// IsLog reports whether the signal is derived from log lines.
func (s Signal) IsLog() bool {
	return len(s.LogLevels) > 0 || s.LogPattern != "" || s.LogQL != "" || s.LogByLevel
}

// MatchLog reports whether a log line with the given level counts toward the signal.
func (s Signal) MatchLog(level, line string) bool {
	if s.LogByLevel {
		return !s.otherLevels[strings.ToLower(level)]
	}
	for _, l := range s.LogLevels {
		if strings.EqualFold(l, level) {
			return true
		}
	}
	return s.logRe != nil && s.logRe.MatchString(line)
}

// Catalog is the signal catalog.
type Catalog struct {
	ServiceLabels                 []string `yaml:"service_labels"`
	PodLabels                     []string `yaml:"pod_labels"`
	CalleeLabels                  []string `yaml:"callee_labels"`
	InfrastructureLabels          []string `yaml:"infrastructure_labels"`
	InfrastructureServicePrefixes []string `yaml:"infrastructure_service_prefixes"`
	// InfrastructureJobs are the names of host exporters (node_exporter's
	// job, node, ...): a series whose identity is one of them describes the
	// host at its instance, not a service named after the exporter.
	InfrastructureJobs []string `yaml:"infrastructure_jobs"`
	// ProberJobs are the names of probing exporters (blackbox): a series
	// whose identity is one of them belongs to the target it probed, its
	// instance, not to the prober.
	ProberJobs []string `yaml:"prober_jobs"`
	// LevelLabels are the log stream labels that hold a line's level.
	LevelLabels []string `yaml:"level_labels"`
	Signals     []Signal `yaml:"signals"`
	// ChangeSources are queries whose series reveal changes: deploys,
	// version bumps, restarts, config reloads.
	ChangeSources []ChangeSource `yaml:"change_sources"`

	byID map[string]int
}

// How a change source's series reveal a change.
const (
	// DetectIncrease: each step up of a series' value is one change
	// (a deployment's generation, a restart counter).
	DetectIncrease = "increase"
	// DetectLabel: a new value of Label appearing is one change, from the
	// value seen before (a build_info series' version).
	DetectLabel = "label"
	// DetectTimestamp: the value is the time of the last change (a start
	// time, a config reload time); a new value is one change at that time.
	DetectTimestamp = "timestamp"
	// DetectCreated: the value is when the series' object was created (a
	// ReplicaSet's creation time); each object created inside the queried
	// range is one change at that time.
	DetectCreated = "created"
	// DetectLog: log lines of LogQL that Pattern matches announce changes;
	// its named groups service, version and commit fill them in. With a
	// version group, the first line of each version is the change.
	DetectLog = "log"
)

// ChangeSource is one PromQL query whose series reveal changes, so a new
// exporter needs a catalog entry, not code.
type ChangeSource struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Kind is the change kind it reports: deploy, version, config, restart.
	Kind   string `yaml:"kind"`
	Detect string `yaml:"detect"`
	// Label is the label whose values are versions (detect: label).
	Label string `yaml:"label"`
	// RevisionLabels hold the commit of a version, first present wins.
	RevisionLabels []string `yaml:"revision_labels"`
	Query          string   `yaml:"query"`
	// LogQL and Pattern are a log source's lines and what they announce
	// (detect: log).
	LogQL   string `yaml:"logql"`
	Pattern string `yaml:"pattern"`

	patternRe *regexp.Regexp
}

// Match applies a log source's pattern to a line and returns its named
// groups (service, version, commit), or false.
func (cs ChangeSource) Match(line string) (map[string]string, bool) {
	if cs.patternRe == nil {
		return nil, false
	}
	m := cs.patternRe.FindStringSubmatch(line)
	if m == nil {
		return nil, false
	}
	groups := map[string]string{}
	for i, name := range cs.patternRe.SubexpNames() {
		if name != "" && m[i] != "" {
			groups[name] = m[i]
		}
	}
	return groups, true
}

var changeKinds = []string{"deploy", "version", "config", "restart", "commit", "flag"}

func (cs ChangeSource) validate() error {
	switch {
	case cs.ID == "":
		return errors.New("a change source has no id")
	case !slices.Contains(changeKinds, cs.Kind):
		return fmt.Errorf("change source %q: kind %q is not one of %s", cs.ID, cs.Kind, strings.Join(changeKinds, ", "))
	case cs.Detect != DetectIncrease && cs.Detect != DetectLabel && cs.Detect != DetectTimestamp && cs.Detect != DetectCreated && cs.Detect != DetectLog:
		return fmt.Errorf("change source %q: detect %q is not one of increase, label, timestamp, created, log", cs.ID, cs.Detect)
	case cs.Detect == DetectLabel && cs.Label == "":
		return fmt.Errorf("change source %q: detect: label needs label: (e.g. version)", cs.ID)
	case cs.Detect == DetectLog && (cs.LogQL == "" || cs.Pattern == ""):
		return fmt.Errorf("change source %q: detect: log needs logql: (a stream selector) and pattern: (a regular expression)", cs.ID)
	case cs.Detect == DetectLog:
		return nil
	case cs.Query == "":
		return fmt.Errorf("change source %q has no query", cs.ID)
	}
	if _, err := parser.ParseExpr(cs.Query); err != nil {
		return fmt.Errorf("change source %q: query is not valid PromQL: %s", cs.ID, strings.Join(strings.Fields(err.Error()), " "))
	}
	return nil
}

// Default returns the built-in catalog.
func Default() (*Catalog, error) {
	c, err := Parse(configs.Catalog)
	if err != nil {
		return nil, fmt.Errorf("built-in catalog: %w", err)
	}
	return c, nil
}

// Load returns the built-in catalog extended by the user catalog at path.
func Load(path string) (*Catalog, error) {
	base, err := Default()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return base, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	user, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return base.Extend(user), nil
}

// Parse decodes and validates a catalog document.
func Parse(data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty document is an empty catalog.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := c.compile(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Catalog) compile() error {
	c.byID = make(map[string]int, len(c.Signals))
	byLevel := ""
	for i := range c.Signals {
		s := &c.Signals[i]
		switch {
		case s.ID == "":
			return fmt.Errorf("signal %d has no id", i+1)
		case !s.Layer.valid():
			return fmt.Errorf("signal %q: layer %q is not one of symptom, propagation, resource, change", s.ID, s.Layer)
		case s.Direction == "":
			s.Direction = Up
		case !s.Direction.valid():
			return fmt.Errorf("signal %q: direction %q is not one of up, down, both", s.ID, s.Direction)
		case !s.Impact.valid():
			return fmt.Errorf("signal %q: impact %q is not one of errors, latency, traffic, availability", s.ID, s.Impact)
		case s.Scope != "" && s.Scope != ScopeHost:
			return fmt.Errorf("signal %q: scope %q is not %q (or empty: a service)", s.ID, s.Scope, ScopeHost)
		}
		if _, dup := c.byID[s.ID]; dup {
			return fmt.Errorf("signal id %q appears twice", s.ID)
		}
		if s.Name == "" {
			s.Name = s.ID
		}
		var err error
		if s.metrics, err = compileWhole(s.metrics[:0], s.Metrics); err != nil {
			return fmt.Errorf("signal %q: metric pattern %w", s.ID, err)
		}
		if s.notMetrics, err = compileWhole(s.notMetrics[:0], s.NotMetrics); err != nil {
			return fmt.Errorf("signal %q: not_metrics pattern %w", s.ID, err)
		}
		if s.template == "" {
			s.template = s.Query
		}
		s.Query = c.expandQuery(s.template)
		if s.Query != "" && s.Host() {
			s.Query = c.HostService(s.Query)
		}
		if s.Query != "" {
			// A broken query would fail on every live run; say so at load.
			expr, err := parser.ParseExpr(s.Query)
			if err != nil {
				return fmt.Errorf("signal %q: query is not valid PromQL: %s", s.ID, strings.Join(strings.Fields(err.Error()), " "))
			}
			if err := checkCounters(expr); err != nil {
				return fmt.Errorf("signal %q: %w", s.ID, err)
			}
		}
		if s.LogQL != "" {
			if s.Query != "" {
				return fmt.Errorf("signal %q: logql (counted by Loki) and query (read from Prometheus) exclude each other: give it one", s.ID)
			}
			if err := checkLogQL(s.LogQL); err != nil {
				return fmt.Errorf("signal %q: logql: %w", s.ID, err)
			}
		}
		if s.logRe, err = compileIfGiven(s.LogPattern); err != nil {
			return fmt.Errorf("signal %q: log pattern %q: %w", s.ID, s.LogPattern, err)
		}
		if s.LogByLevel && (len(s.LogLevels) > 0 || s.LogPattern != "" || s.Query != "") {
			return fmt.Errorf("signal %q: log_by_level counts every line by its level: drop its log_levels, log_pattern and query", s.ID)
		}
		if s.LogByLevel && byLevel != "" {
			return fmt.Errorf("signal %q: log_by_level: %q counts the lines by level already (one signal may, or every line counts twice)", s.ID, byLevel)
		}
		if s.LogByLevel {
			byLevel = s.ID
		}
		c.byID[s.ID] = i
	}
	others := map[string]bool{}
	for _, s := range c.Signals {
		for _, l := range s.LogLevels {
			others[strings.ToLower(l)] = true
		}
	}
	for i := range c.Signals {
		if c.Signals[i].LogByLevel {
			c.Signals[i].otherLevels = others
		}
	}
	seen := map[string]bool{}
	for i := range c.ChangeSources {
		cs := &c.ChangeSources[i]
		if err := cs.validate(); err != nil {
			return err
		}
		var err error
		if cs.patternRe, err = compileIfGiven(cs.Pattern); err != nil {
			return fmt.Errorf("change source %q: pattern %q: %w", cs.ID, cs.Pattern, err)
		}
		if seen[cs.ID] {
			return fmt.Errorf("change source id %q appears twice", cs.ID)
		}
		seen[cs.ID] = true
		if cs.Name == "" {
			cs.Name = cs.ID
		}
	}
	return nil
}

// compileIfGiven compiles expr, and is nil where expr is empty.
func compileIfGiven(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile(expr)
}

// compileWhole appends to into each of exprs compiled to match a whole
// name; an error quotes the expression that does not compile.
func compileWhole(into []*regexp.Regexp, exprs []string) ([]*regexp.Regexp, error) {
	for _, expr := range exprs {
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return into, fmt.Errorf("%q: %w", expr, err)
		}
		into = append(into, re)
	}
	return into, nil
}

// Extend returns a copy of c with the user's catalog laid over it: signals
// with the same id are replaced, new ones added after, and label lists the
// user gives replace the built-in ones.
func (c *Catalog) Extend(user *Catalog) *Catalog {
	out := &Catalog{
		ServiceLabels:                 pick(user.ServiceLabels, c.ServiceLabels),
		PodLabels:                     pick(user.PodLabels, c.PodLabels),
		CalleeLabels:                  pick(user.CalleeLabels, c.CalleeLabels),
		InfrastructureLabels:          pick(user.InfrastructureLabels, c.InfrastructureLabels),
		InfrastructureServicePrefixes: pick(user.InfrastructureServicePrefixes, c.InfrastructureServicePrefixes),
		InfrastructureJobs:            pick(user.InfrastructureJobs, c.InfrastructureJobs),
		ProberJobs:                    pick(user.ProberJobs, c.ProberJobs),
		LevelLabels:                   pick(user.LevelLabels, c.LevelLabels),
	}
	// User signals come first so their patterns win over built-in ones. A
	// user's signal by level replaces the built-in one, whatever its id.
	out.Signals = append(out.Signals, user.Signals...)
	userByLevel := slices.ContainsFunc(user.Signals, func(s Signal) bool { return s.LogByLevel })
	for _, s := range c.Signals {
		if _, overridden := user.byID[s.ID]; !overridden && !(userByLevel && s.LogByLevel) {
			out.Signals = append(out.Signals, s)
		}
	}
	userSources := map[string]bool{}
	for _, cs := range user.ChangeSources {
		userSources[cs.ID] = true
	}
	out.ChangeSources = append(out.ChangeSources, user.ChangeSources...)
	for _, cs := range c.ChangeSources {
		if !userSources[cs.ID] {
			out.ChangeSources = append(out.ChangeSources, cs)
		}
	}
	if err := out.compile(); err != nil {
		// Both inputs compiled on their own and ids are unique by construction.
		panic(err)
	}
	return out
}

func pick(user, base []string) []string {
	if len(user) > 0 {
		return user
	}
	return base
}

// Signal returns the signal with the given id.
func (c *Catalog) Signal(id string) (Signal, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Signal{}, false
	}
	return c.Signals[i], true
}

// ChangeSource is the change source with this id.
func (c *Catalog) ChangeSource(id string) (ChangeSource, bool) {
	i := slices.IndexFunc(c.ChangeSources, func(cs ChangeSource) bool { return cs.ID == id })
	if i < 0 {
		return ChangeSource{}, false
	}
	return c.ChangeSources[i], true
}

// Classification is what the catalog says about one series.
type Classification struct {
	SignalID  string
	Name      string
	Layer     Layer
	Direction Direction
	Unit      string
	Impact    Impact
	// Host is true for a signal that describes a host (scope: host).
	Host bool
	// Counter is true when the series is a raw cumulative counter, read as
	// scraped rather than through a query that rates it: a name ending in
	// _total, _count, _sum or _bucket. Score its rate, never its level.
	Counter bool
	// Heuristic is true when no catalog signal matched and the metric name decided.
	Heuristic bool
}

// Classify places a series (its catalog signal id, if any, and metric name) in a layer.
//
// A series named after a signal with a query holds that query's result. A
// series matched by a signal's metric patterns holds the raw metric: when
// the signal has a query, its unit is the query's and the raw metric's own
// unit suffix (_bytes, _seconds, _ratio) wins, and a counter's name marks
// it Counter.
func (c *Catalog) Classify(signalID, metric string) Classification {
	if s, ok := c.Signal(signalID); ok {
		cls := fromSignal(s)
		// A raw pull under the signal's id (a signal without a query) is
		// the metric as scraped.
		cls.Counter = s.Query == "" && metric != s.ID && IsCounter(metric, "")
		return cls
	}
	if s, ok := c.Signal(metric); ok {
		return fromSignal(s)
	}
	for _, s := range c.Signals {
		if slices.ContainsFunc(s.notMetrics, func(re *regexp.Regexp) bool { return re.MatchString(metric) }) {
			continue
		}
		for _, re := range s.metrics {
			if re.MatchString(metric) {
				cls := fromSignal(s)
				cls.Counter = IsCounter(metric, "")
				if s.Query != "" {
					cls.Unit = cmp.Or(s.RawUnit, rawUnit(metric, cls.Unit))
				}
				return cls
			}
		}
	}
	return heuristic(metric)
}

func fromSignal(s Signal) Classification {
	return Classification{SignalID: s.ID, Name: s.Name, Layer: s.Layer, Direction: s.Direction, Unit: s.Unit, Impact: s.Impact, Host: s.Host()}
}

// rawUnit is the unit of a raw metric a signal's pattern matched: its
// name's unit suffix, else the signal's.
func rawUnit(metric, unit string) string {
	switch {
	case strings.HasSuffix(metric, "_bytes"):
		return "bytes"
	case strings.HasSuffix(metric, "_seconds"):
		return "seconds"
	case strings.HasSuffix(metric, "_ratio"):
		return "ratio"
	}
	return unit
}

// Service says which service a label set belongs to, or "" if none: the
// Service of its Identity.
func (c *Catalog) Service(labels map[string]string) string {
	return c.Identity(labels).Service
}

// Level returns a log line's level from its stream labels, or "".
func (c *Catalog) Level(labels map[string]string) string {
	for _, name := range c.LevelLabels {
		if v := labels[name]; v != "" {
			return v
		}
	}
	return ""
}

// LogSignals returns the signals derived from log lines.
func (c *Catalog) LogSignals() []Signal {
	var out []Signal
	for _, s := range c.Signals {
		if s.IsLog() {
			out = append(out, s)
		}
	}
	return out
}

// Callee returns the service a client-side series calls, or "".
func (c *Catalog) Callee(labels map[string]string) string {
	for _, name := range c.CalleeLabels {
		if v := labels[name]; v != "" {
			return v
		}
	}
	return ""
}

// Infrastructure reports whether a series describes a node or host rather
// than a service: its service has an infrastructure prefix (host:, node:)
// or its Identity says so.
func (c *Catalog) Infrastructure(service string, labels map[string]string) bool {
	return c.infraService(service) || c.Identity(labels).Infrastructure
}

var (
	// Kubernetes draws generated suffixes from an alphabet without vowels,
	// which keeps names like user-admin intact.
	podHashes  = regexp.MustCompile(`^(.+?)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	stsOrdinal = regexp.MustCompile(`^(.+)-[0-9]+$`)
	podSuffix  = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	// A ReplicaSet is its Deployment's name and a pod-template hash.
	rsHash = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}$`)
)

// ServiceFromPod strips Kubernetes' generated suffixes from a pod name:
// checkout-5ff676694b-fzj9z (Deployment), kafka-0 (StatefulSet), node-exporter-x7k2p (DaemonSet).
func ServiceFromPod(pod string) string {
	for _, re := range []*regexp.Regexp{podHashes, stsOrdinal, podSuffix, rsHash} {
		if m := re.FindStringSubmatch(pod); m != nil {
			return m[1]
		}
	}
	return pod
}

// SelectorPlaceholder is what a signal's logql writes for the Loki
// selector in use (sources.loki.selector, --loki-selector).
const SelectorPlaceholder = "$selector"

// LogMetricQuery is the LogQL metric query that counts a log signal's lines
// per service and minute on the server: the signal's logql with
// $selector replaced by selector, or else one derived from it,
//
//	sum by (service) (count_over_time(SELECTOR |~ "PATTERN" [1m] offset 1ms))
//
// with a level filter instead of the line filter for a signal of levels:
// the first of the catalog's level labels a line has decides its level, as
// it does for lines read (Level), so with several level labels the derived
// query first sets the first one to the first value present
// (label_format level=`{{or .level .detected_level ...}}`). The result is
// summed by the catalog's first service label; when the selector does not
// make every stream carry it, that label is first set to the first service
// label present, as Service reads them (pod names are not stripped in
// LogQL: streams named by a pod alone make no series and are counted from
// the lines read). Loki's range at t holds (t-1m, t]; with `offset 1ms`
// it holds (t-1m-1ms, t-1ms], which for timestamps of whole milliseconds
// is [t-1m, t), the minute the analysis labels t-1m when it counts lines
// (a finer offset would be exact to the nanosecond, but Loki's range
// queries drop the samples it moves off the step). Only a line stamped
// between a minute's last whole millisecond and its end, a timestamp finer
// than milliseconds, counts in the next minute.
//
// ok is false for a signal it cannot count on the server: not a log
// signal, or one of both levels and a pattern without logql (LogQL cannot
// or a label filter with a line filter), or one of levels when the catalog
// has no level labels. Such signals are counted from the lines read.
func (c *Catalog) LogMetricQuery(s Signal, selector string) (string, bool) {
	selector = strings.TrimSpace(selector)
	if s.LogQL != "" {
		return replacePlaceholder(strings.TrimSpace(s.LogQL), selector), true
	}
	var b strings.Builder
	b.WriteString(selector)
	switch {
	case s.LogPattern != "" && len(s.LogLevels) > 0:
		return "", false
	case s.LogPattern != "":
		b.WriteString(" |~ " + logqlString(s.LogPattern))
	case len(s.LogLevels) > 0 && len(c.LevelLabels) > 0:
		b.WriteString(c.levelFilter("=~", s.LogLevels, false))
	case s.LogByLevel && len(c.LevelLabels) > 0:
		b.WriteString(c.levelFilter("!~", slices.Sorted(maps.Keys(s.otherLevels)), true))
	default:
		return "", false
	}
	label := c.ServiceLabel()
	if len(c.ServiceLabels) > 1 && !selectorRequires(selector, label) {
		b.WriteString(" | label_format " + label + "=" + firstLabelTemplate(c.ServiceLabels, ""))
	}
	if s.LogByLevel {
		label += ", " + c.LevelLabel()
	}
	return fmt.Sprintf("sum by (%s) (count_over_time(%s [1m] offset 1ms))", label, b.String()), true
}

// levelFilter is the LogQL stages that keep the lines whose level matches
// (op "=~") or does not match (op "!~") one of levels: the first of the
// catalog's level labels a line has decides its level, as it does for
// lines read (Level), so with several level labels the first is first
// set to the first value present; lower, to it in lower case (a count by
// level keeps "WARN" and "warn" together, as the analysis does). With no
// levels it keeps every line.
func (c *Catalog) levelFilter(op string, levels []string, lower bool) string {
	level := c.LevelLabels[0]
	var b strings.Builder
	switch {
	case lower:
		b.WriteString(" | label_format " + level + "=" + firstLabelTemplate(c.LevelLabels, " | ToLower"))
	case len(c.LevelLabels) > 1:
		b.WriteString(" | label_format " + level + "=" + firstLabelTemplate(c.LevelLabels, ""))
	}
	if len(levels) == 0 {
		return b.String()
	}
	quoted := make([]string, len(levels))
	for i, l := range levels {
		quoted[i] = regexp.QuoteMeta(l)
	}
	// Label matchers are anchored, as the level's comparison is whole.
	b.WriteString(" | " + level + op + logqlString("(?i)"+strings.Join(quoted, "|")))
	return b.String()
}

// ServiceLabel is the label log-derived series name their service by.
func (c *Catalog) ServiceLabel() string {
	if len(c.ServiceLabels) > 0 {
		return c.ServiceLabels[0]
	}
	return "service"
}

// LevelLabel is the label log-derived series name their level by.
func (c *Catalog) LevelLabel() string {
	if len(c.LevelLabels) > 0 {
		return c.LevelLabels[0]
	}
	return "level"
}

// firstLabelTemplate is a label_format template giving the first of the
// labels that is set, through pipe (" | ToLower", or ""): Go templates' or
// returns its first non-empty argument, and Loki reads a missing label as "".
func firstLabelTemplate(labels []string, pipe string) string {
	return "`{{or ." + strings.Join(labels, " .") + pipe + "}}`"
}

// logqlString quotes s as a LogQL string: raw (backquotes) when it holds
// backslashes, which a regular expression often does, else Go-quoted.
func logqlString(s string) string {
	if strings.Contains(s, `\`) && !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// selectorRequires reports whether a LogQL selector only matches streams
// that carry label: it has a matcher label="v" or label=~"re" that the
// empty value fails. An unreadable selector requires nothing.
func selectorRequires(selector, label string) bool {
	s := strings.TrimSpace(selector)
	if !strings.HasPrefix(s, "{") {
		return false
	}
	s = s[1:]
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		if strings.HasPrefix(s, "}") || s == "" {
			return false
		}
		n := 0
		for n < len(s) && (s[n] == '_' || isAlnumByte(s[n])) {
			n++
		}
		name := s[:n]
		s = strings.TrimLeft(s[n:], " \t\r\n")
		op := ""
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s, o) {
				op = o
				break
			}
		}
		if name == "" || op == "" {
			return false
		}
		s = strings.TrimLeft(s[len(op):], " \t\r\n")
		end := stringLiteralEnd(s)
		if end < 0 {
			return false
		}
		value, err := strconv.Unquote(s[:end])
		if err != nil {
			return false
		}
		s = strings.TrimLeft(s[end:], " \t\r\n")
		if name == label {
			switch op {
			case "=":
				if value != "" {
					return true
				}
			case "=~":
				if re, err := regexp.Compile("^(?:" + value + ")$"); err == nil && !re.MatchString("") {
					return true
				}
			}
		}
		if !strings.HasPrefix(s, ",") {
			return false
		}
		s = s[1:]
	}
}

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// stringLiteralEnd is the length of the "..." or `...` literal s starts
// with, or -1.
func stringLiteralEnd(s string) int {
	if s == "" || (s[0] != '"' && s[0] != '`') {
		return -1
	}
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q == '"':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return -1
}

// rangeAggregations are LogQL's log range aggregations: a metric query
// has one.
var rangeAggregations = regexp.MustCompile(`\b(count_over_time|rate|rate_counter|bytes_over_time|bytes_rate|absent_over_time|sum_over_time|avg_over_time|max_over_time|min_over_time|first_over_time|last_over_time|stdvar_over_time|stddev_over_time|quantile_over_time)\s*\(`)

// checkLogQL catches what can be caught without Loki's parser: an empty
// query, a log query where a metric query is needed, unbalanced brackets,
// an unterminated string and placeholders other than $selector (Grafana's
// $__interval, say).
func checkLogQL(q string) error {
	q = strings.TrimSpace(q)
	if q == "" {
		return errors.New("empty")
	}
	var outside strings.Builder // the query with its string literals blanked
	var stack []byte
	closing := map[byte]byte{')': '(', ']': '[', '}': '{'}
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '"' || c == '`':
			end := stringLiteralEnd(q[i:])
			if end < 0 {
				return fmt.Errorf("a string starting at byte %d is not closed", i+1)
			}
			outside.WriteString(`""`)
			i += end - 1
			continue
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case c == ')' || c == ']' || c == '}':
			if len(stack) == 0 || stack[len(stack)-1] != closing[c] {
				return fmt.Errorf("unbalanced %q at byte %d", c, i+1)
			}
			stack = stack[:len(stack)-1]
		case c == '$':
			n := 1
			for i+n < len(q) && (q[i+n] == '_' || isAlnumByte(q[i+n])) {
				n++
			}
			if q[i:i+n] != SelectorPlaceholder {
				return fmt.Errorf("unknown placeholder %s: only %s is replaced (rca counts per minute: write [1m], not Grafana's $__interval)", q[i:i+n], SelectorPlaceholder)
			}
		}
		outside.WriteByte(c)
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	o := outside.String()
	switch {
	case !rangeAggregations.MatchString(o) || !strings.Contains(o, "["):
		return errors.New("not a metric query: count the lines per minute, e.g. sum by (service) (count_over_time($selector |= \"timeout\" [1m] offset 1ms))")
	case !strings.Contains(o, "{") && !strings.Contains(o, SelectorPlaceholder):
		return fmt.Errorf("no stream selector: write {label=\"value\"} or %s", SelectorPlaceholder)
	}
	return nil
}

// replacePlaceholder replaces $selector outside string literals.
func replacePlaceholder(q, selector string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c == '"' || c == '`' {
			if end := stringLiteralEnd(q[i:]); end > 0 {
				b.WriteString(q[i : i+end])
				i += end - 1
				continue
			}
		}
		if strings.HasPrefix(q[i:], SelectorPlaceholder) {
			b.WriteString(selector)
			i += len(SelectorPlaceholder) - 1
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
