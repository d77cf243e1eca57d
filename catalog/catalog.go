// Package catalog maps metrics to layers, directions, units and services: the
// signal catalog described in DESIGN.md. The built-in catalog is
// configs/catalog.yaml; a user catalog extends it without code changes.
package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

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
	// Metrics are regular expressions matched against whole raw metric names.
	Metrics []string `yaml:"metrics"`
	// Query is the PromQL a live collector runs for this signal.
	Query string `yaml:"query"`
	// LogLevels and LogPattern make a log signal: the rate of lines whose
	// level is one of LogLevels or whose text matches LogPattern.
	LogLevels  []string `yaml:"log_levels"`
	LogPattern string   `yaml:"log_pattern"`

	metrics []*regexp.Regexp
	logRe   *regexp.Regexp
}

// IsLog reports whether the signal is derived from log lines.
func (s Signal) IsLog() bool { return len(s.LogLevels) > 0 || s.LogPattern != "" }

// MatchLog reports whether a log line with the given level counts toward the signal.
func (s Signal) MatchLog(level, line string) bool {
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
		}
		if _, dup := c.byID[s.ID]; dup {
			return fmt.Errorf("signal id %q appears twice", s.ID)
		}
		if s.Name == "" {
			s.Name = s.ID
		}
		s.metrics = s.metrics[:0]
		for _, expr := range s.Metrics {
			re, err := regexp.Compile("^(?:" + expr + ")$")
			if err != nil {
				return fmt.Errorf("signal %q: metric pattern %q: %w", s.ID, expr, err)
			}
			s.metrics = append(s.metrics, re)
		}
		if s.Query != "" {
			// A broken query would fail on every live run; say so at load.
			if _, err := parser.ParseExpr(s.Query); err != nil {
				return fmt.Errorf("signal %q: query is not valid PromQL: %s", s.ID, strings.Join(strings.Fields(err.Error()), " "))
			}
		}
		s.logRe = nil
		if s.LogPattern != "" {
			re, err := regexp.Compile(s.LogPattern)
			if err != nil {
				return fmt.Errorf("signal %q: log pattern %q: %w", s.ID, s.LogPattern, err)
			}
			s.logRe = re
		}
		c.byID[s.ID] = i
	}
	seen := map[string]bool{}
	for i := range c.ChangeSources {
		cs := &c.ChangeSources[i]
		if err := cs.validate(); err != nil {
			return err
		}
		cs.patternRe = nil
		if cs.Pattern != "" {
			re, err := regexp.Compile(cs.Pattern)
			if err != nil {
				return fmt.Errorf("change source %q: pattern %q: %w", cs.ID, cs.Pattern, err)
			}
			cs.patternRe = re
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
		LevelLabels:                   pick(user.LevelLabels, c.LevelLabels),
	}
	// User signals come first so their patterns win over built-in ones.
	out.Signals = append(out.Signals, user.Signals...)
	for _, s := range c.Signals {
		if _, overridden := user.byID[s.ID]; !overridden {
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

// Classification is what the catalog says about one series.
type Classification struct {
	SignalID  string
	Name      string
	Layer     Layer
	Direction Direction
	Unit      string
	Impact    Impact
	// Heuristic is true when no catalog signal matched and the metric name decided.
	Heuristic bool
}

// Classify places a series (its catalog signal id, if any, and metric name) in a layer.
func (c *Catalog) Classify(signalID, metric string) Classification {
	if s, ok := c.Signal(signalID); ok {
		return fromSignal(s)
	}
	if s, ok := c.Signal(metric); ok {
		return fromSignal(s)
	}
	for _, s := range c.Signals {
		for _, re := range s.metrics {
			if re.MatchString(metric) {
				return fromSignal(s)
			}
		}
	}
	return heuristic(metric)
}

func fromSignal(s Signal) Classification {
	return Classification{SignalID: s.ID, Name: s.Name, Layer: s.Layer, Direction: s.Direction, Unit: s.Unit, Impact: s.Impact}
}

// Service says which service a label set belongs to, or "" if none.
func (c *Catalog) Service(labels map[string]string) string {
	for _, name := range c.ServiceLabels {
		if v := labels[name]; v != "" {
			return v
		}
	}
	for _, name := range c.PodLabels {
		if v := labels[name]; v != "" {
			return ServiceFromPod(v)
		}
	}
	return ""
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

// Infrastructure reports whether a series describes a node or host rather than a service.
func (c *Catalog) Infrastructure(service string, labels map[string]string) bool {
	for _, p := range c.InfrastructureServicePrefixes {
		if strings.HasPrefix(service, p) {
			return true
		}
	}
	for _, name := range c.PodLabels {
		if labels[name] != "" {
			return false
		}
	}
	for _, name := range c.InfrastructureLabels {
		if labels[name] != "" {
			return true
		}
	}
	return false
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
