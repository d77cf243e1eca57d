package snapshot

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// Schema is the manifest schema this package reads and writes.
const Schema = "rca.snapshot/v1"

// manifestName is the file that makes a folder a snapshot.
const manifestName = "manifest.json"

var (
	// ErrSchema is a manifest without a schema this rca can read.
	ErrSchema = errors.New("unsupported snapshot schema")
	// ErrPath is a manifest file path that is absolute or leaves the snapshot folder.
	ErrPath = errors.New("path is not inside the snapshot folder")
	// ErrWindow is a missing, reversed or overlapping window or baseline.
	ErrWindow = errors.New("bad time range")
)

// manifest is manifest.json, the index of a snapshot. docs/snapshot.md
// describes every field; unknown fields are ignored so v1 can grow.
type manifest struct {
	Schema   string            `json:"schema"`
	Window   telemetry.Window  `json:"window"`
	Baseline telemetry.Window  `json:"baseline,omitzero"`
	Created  time.Time         `json:"created,omitzero"`
	Sources  manifestSources   `json:"sources"`
	Target   *telemetry.Target `json:"target,omitempty"`
	Metrics  []metricEntry     `json:"metrics"`
	Logs     []logEntry        `json:"logs"`
	Changes  string            `json:"changes,omitempty"`
	Topology string            `json:"topology,omitempty"`
	Catalog  string            `json:"catalog,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
}

// manifestSources are the endpoints the snapshot was recorded from: base
// URLs only, never credentials.
type manifestSources struct {
	Prometheus string `json:"prometheus"`
	Loki       string `json:"loki"`
}

// metricEntry is one recorded PromQL range query.
type metricEntry struct {
	Signal string    `json:"signal"`
	Query  string    `json:"query"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	Step   string    `json:"step,omitempty"`
	File   string    `json:"file"`
}

// logEntry is one recorded LogQL range query.
type logEntry struct {
	Query string    `json:"query"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	Limit int       `json:"limit,omitempty"`
	File  string    `json:"file"`
}

// decodeManifest parses and checks manifest.json. The schema is checked
// first, so a newer manifest fails on its version rather than on a field.
func decodeManifest(data []byte) (manifest, error) {
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := strictjson.Decode(data, &head); err != nil {
		return manifest{}, err
	}
	switch {
	case head.Schema == nil:
		return manifest{}, fmt.Errorf("%w: no \"schema\" field (this rca reads %s)", ErrSchema, Schema)
	case *head.Schema != Schema:
		return manifest{}, fmt.Errorf("%w %q (this rca reads %s)", ErrSchema, *head.Schema, Schema)
	}
	var m manifest
	if err := strictjson.Decode(data, &m); err != nil {
		return manifest{}, err
	}
	if err := m.validate(); err != nil {
		return manifest{}, err
	}
	return m, nil
}

// validate checks what the JSON types cannot: time ranges and file paths.
func (m *manifest) validate() error {
	if err := validateWindows(m.Window, m.Baseline); err != nil {
		return err
	}
	for i, e := range m.Metrics {
		field := fmt.Sprintf("metrics[%d]", i)
		if err := checkEntry(field, e.File, e.Start, e.End); err != nil {
			return err
		}
		if e.Step != "" {
			if d, err := model.ParseDuration(e.Step); err != nil || d <= 0 {
				return fmt.Errorf("%s.step %q is not a duration like \"15s\" or \"1m\"", field, e.Step)
			}
		}
	}
	for i, e := range m.Logs {
		field := fmt.Sprintf("logs[%d]", i)
		if err := checkEntry(field, e.File, e.Start, e.End); err != nil {
			return err
		}
		if e.Limit < 0 {
			return fmt.Errorf("%s.limit %d is negative", field, e.Limit)
		}
	}
	if m.Changes != "" {
		if err := checkFile("changes", m.Changes); err != nil {
			return err
		}
	}
	if m.Topology != "" {
		if err := checkFile("topology", m.Topology); err != nil {
			return err
		}
	}
	if m.Catalog != "" {
		if err := checkFile("catalog", m.Catalog); err != nil {
			return err
		}
	}
	return m.checkRepeats()
}

// checkRepeats refuses a file listed twice: it adds nothing (its series
// and lines are the same again), and a manifest that lists one file
// thousands of times would cost minutes and gigabytes to read.
func (m *manifest) checkRepeats() error {
	seen := map[string]string{}
	for _, f := range m.fields() {
		key := path.Clean(f.file)
		if first, ok := seen[key]; ok {
			return fmt.Errorf("%s %s is listed already, as %s — list each file once (a query recorded twice goes in two files)", f.field, strconv.Quote(f.file), first)
		}
		seen[key] = f.field
	}
	return nil
}

// fieldFile is a file the manifest names and the field that names it.
type fieldFile struct{ field, file string }

// fields lists every file the manifest points at, with its field.
func (m *manifest) fields() []fieldFile {
	var out []fieldFile
	for i, e := range m.Metrics {
		out = append(out, fieldFile{fmt.Sprintf("metrics[%d].file", i), e.File})
	}
	for i, e := range m.Logs {
		out = append(out, fieldFile{fmt.Sprintf("logs[%d].file", i), e.File})
	}
	if m.Changes != "" {
		out = append(out, fieldFile{"changes", m.Changes})
	}
	if m.Topology != "" {
		out = append(out, fieldFile{"topology", m.Topology})
	}
	if m.Catalog != "" {
		out = append(out, fieldFile{"catalog", m.Catalog})
	}
	return out
}

// validateWindows requires a valid window and, if there is one, a valid
// baseline that does not overlap it: a baseline that contains the incident
// would make the incident look normal.
func validateWindows(w, base telemetry.Window) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("%w in \"window\": %w", ErrWindow, err)
	}
	if isZeroWindow(base) {
		return nil
	}
	if err := base.Validate(); err != nil {
		return fmt.Errorf("%w in \"baseline\": %w", ErrWindow, err)
	}
	if base.Overlaps(w) {
		return fmt.Errorf("%w: the baseline %s overlaps the window %s — end the baseline at or before the window start", ErrWindow, base, w)
	}
	return nil
}

// checkEntry checks the file and the time range of a metrics or logs
// entry, named by field.
func checkEntry(field, file string, start, end time.Time) error {
	if err := checkFile(field+".file", file); err != nil {
		return err
	}
	return checkRange(field, start, end)
}

func checkRange(field string, start, end time.Time) error {
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		return fmt.Errorf("%w in %s: end %s is before start %s", ErrWindow, field,
			end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkFile accepts a slash-separated path inside the snapshot folder and
// rejects absolute paths and any "..", so a manifest cannot read elsewhere.
func checkFile(field, p string) error {
	if p == "" {
		return fmt.Errorf("%s is empty — name a file inside the snapshot folder, like metrics/0001.json", field)
	}
	bad := path.IsAbs(p) || filepath.IsAbs(p) || strings.ContainsRune(p, '\\') ||
		!filepath.IsLocal(filepath.FromSlash(p))
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%s %s: %w — use a relative path without \"..\", like metrics/0001.json", field, strconv.Quote(p), ErrPath)
	}
	return nil
}

// files lists every file the manifest points at.
func (m *manifest) files() []string {
	var out []string
	for _, f := range m.fields() {
		out = append(out, f.file)
	}
	return out
}
