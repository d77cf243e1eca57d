package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/timerange"
)

// File is a decoded config file.
type File struct {
	// Path is the file as given; "" for no file.
	Path string
	// Flags are the flat keys set in the file, by flag name.
	Flags    map[string]Value
	Sources  Sources
	Changes  Changes
	Incident Incident
	// lines are the sections' keys, "sources" or "sources.loki.url", to
	// the line they are on.
	lines map[string]int
}

// Key describes a flat key the file may set: a flag of the command.
type Key struct {
	// Type is pflag's type name (string, bool, duration, stringArray, ...).
	Type string
	// Path says the value is a file or directory, relative to the file.
	Path bool
}

// Value is a flat key's value as written, so that times and durations
// reach the flag's own parser unchanged.
type Value struct {
	Text string   // a scalar; a relative path is joined to the file's directory
	List []string // the items, for a list-typed key
	Line int
}

// Incident is the incident: section: the incident log's settings.
type Incident struct {
	// Dir holds the incidents (default: FindIncidents); --incidents-dir overrides it.
	Dir string `yaml:"dir"`
	// Author signs log entries (default $USER); --author overrides it.
	Author string `yaml:"author"`
	// UpdateEvery is the stakeholder update cadence (default 30m); Load
	// has checked that it parses.
	UpdateEvery string `yaml:"update_every"`
	// LokiURL, when set, mirrors every log entry to Grafana Loki.
	LokiURL    string `yaml:"loki_url"`
	LokiTenant string `yaml:"loki_tenant"`
}

// Error is a problem with the config file. Its message reads
// "config file rca.yaml: line 4: sources.prometheus: unknown key "timout"".
type Error struct {
	File string
	Line int    // 0 when YAML cannot tell
	Key  string // the dotted key it is about; "" when Err names it
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config file " + e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	return b.String() + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads and decodes the config file at path; keys are the flat keys
// it may set.
func Load(path string, keys map[string]Key) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return File{}, fmt.Errorf("config file %s does not exist", path)
		}
		return File{}, fmt.Errorf("reading config file: %w", err)
	}
	return Parse(path, data, keys)
}

// Parse decodes data, the content of the config file at path.
func Parse(path string, data []byte, keys map[string]Key) (File, error) {
	f := File{Path: path, Flags: map[string]Value{}, lines: map[string]int{}}
	if err := decode(&f, data, keys); err != nil {
		return File{}, err
	}
	if err := f.check(); err != nil {
		return File{}, err
	}
	f.resolvePaths(keys)
	return f, nil
}

// check validates what decoding cannot, so that a mistake shows when the
// file is loaded rather than when the setting is first used.
func (f *File) check() error {
	if s := f.Incident.UpdateEvery; s != "" {
		if _, err := timerange.ParseDuration(s); err != nil {
			return &Error{File: f.Path, Line: f.lines["incident.update_every"], Key: "incident.update_every", Err: err}
		}
	}
	// The mirror's message names incident.loki_url and hides its password.
	if err := (incident.Mirror{URL: f.Incident.LokiURL, TenantID: f.Incident.LokiTenant}).Validate(); err != nil {
		return &Error{File: f.Path, Line: f.lines["incident.loki_url"], Err: err}
	}
	return nil
}

// resolvePaths makes the relative paths in the file relative to the file.
func (f *File) resolvePaths(keys map[string]Key) {
	dir := filepath.Dir(f.Path)
	join := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for k, v := range f.Flags {
		if keys[k].Path && v.List == nil {
			v.Text = join(v.Text)
			f.Flags[k] = v
		}
	}
	for _, h := range f.httpClients() {
		h.SetDirectory(dir)
	}
	f.Changes.File = join(f.Changes.File)
	// ~ is left for git to expand, as in a shell.
	if g := f.Changes.Git; g != nil && !strings.HasPrefix(g.Repo, "~") {
		g.Repo = join(g.Repo)
	}
	f.Incident.Dir = join(f.Incident.Dir)
}

// httpClients are the sections' HTTP client settings, whose file paths
// (CA, password and token files) are relative to the file.
func (f *File) httpClients() []interface{ SetDirectory(string) } {
	var out []interface{ SetDirectory(string) }
	if p := f.Sources.Prometheus; p != nil {
		out = append(out, &p.HTTPClientConfig)
	}
	if l := f.Sources.Loki; l != nil {
		out = append(out, &l.HTTPClientConfig)
	}
	if g := f.Changes.Grafana; g != nil {
		out = append(out, &g.HTTPClientConfig)
	}
	return out
}

// FlagMap is Flags as viper takes them: a string or a list of strings
// per key.
func (f File) FlagMap() map[string]any {
	m := make(map[string]any, len(f.Flags))
	for k, v := range f.Flags {
		if v.List != nil {
			m[k] = v.List
		} else {
			m[k] = v.Text
		}
	}
	return m
}

// Line is the line a flat key's value or a section's key ("sources.loki")
// is on.
func (f File) Line(key string) (int, bool) {
	if v, ok := f.Flags[key]; ok {
		return v.Line, true
	}
	line, ok := f.lines[key]
	return line, ok
}

// Origin names where key is set, for error messages: "lookback in config
// file rca.yaml line 3", "sources.loki in config file rca.yaml line 7";
// "" when the file does not set it.
func (f File) Origin(key string) string {
	line, ok := f.Line(key)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s in config file %s line %d", key, f.Path, line)
}
