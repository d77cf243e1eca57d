package changesfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

var changeKinds = []telemetry.ChangeKind{
	telemetry.ChangeDeploy, telemetry.ChangeVersion, telemetry.ChangeConfig,
	telemetry.ChangeRestart, telemetry.ChangeCommit, telemetry.ChangeFlag,
}

// Source is a file of changes, read whole whatever the range: the file
// says what changed, the analysis decides what is near enough to matter.
type Source struct{ Path string }

// Name is the source's name in errors.
func (s Source) Name() string { return "changes file" }

// Collect reads the file.
func (s Source) Collect(ctx context.Context, _ collectors.Request) (collectors.Part, error) {
	if err := ctx.Err(); err != nil {
		return collectors.Part{}, err
	}
	changes, err := Read(s.Path)
	if err != nil {
		return collectors.Part{}, err
	}
	return collectors.Part{Bundle: telemetry.Bundle{Changes: changes}}, nil
}

// Read reads a list of changes (deploys, config edits, flag
// flips) from a JSON or YAML file: the format of a snapshot's changes.json,
// e.g. [{"time": "2026-11-24T13:58:00Z", "service": "checkout", "kind":
// "deploy", "summary": "deploy checkout v1.4.2", "to_version": "v1.4.2"}].
// Kind defaults to deploy; each change's Source names the file.
func Read(path string) ([]telemetry.Change, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("changes file: %w", err)
	}
	changes, err := parse(data, strings.ToLower(filepath.Ext(path)))
	if err != nil {
		return nil, fmt.Errorf("changes file %s: %w", path, err)
	}
	for i := range changes {
		if changes[i].Source == "" {
			changes[i].Source = "file " + filepath.Base(path)
		}
	}
	return changes, nil
}

func parse(data []byte, ext string) ([]telemetry.Change, error) {
	var changes []telemetry.Change
	trimmed := bytes.TrimSpace(data)
	if ext == ".json" || bytes.HasPrefix(trimmed, []byte("[")) {
		if len(trimmed) == 0 {
			return nil, strictjson.ErrEmpty
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&changes); err != nil {
			return nil, strictjson.Describe(data, err)
		}
		// A second list (two files concatenated) must not be dropped silently.
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			line, col := strictjson.LineCol(data, dec.InputOffset())
			return nil, fmt.Errorf("line %d, column %d: more JSON after the list of changes", line, col)
		}
	} else {
		// YAML: decode generically, then through JSON so the field names
		// and time formats are the same as in the JSON form.
		var raw any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if raw == nil {
			return nil, nil
		}
		js, err := json.Marshal(raw)
		if err != nil {
			return nil, fmt.Errorf("want a list of changes: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&changes); err != nil {
			var tim *time.ParseError
			if errors.As(err, &tim) {
				// The hint for a time names no position, which would be the JSON's.
				return nil, strictjson.Describe(js, err)
			}
			return nil, fmt.Errorf("want a list of changes with time, service, kind, summary: %w", err)
		}
	}
	for i := range changes {
		c := &changes[i]
		switch {
		case c.T.IsZero():
			return nil, fmt.Errorf("change %d: no time (RFC3339, e.g. \"time\": \"2026-11-24T13:58:00Z\")", i+1)
		case strings.TrimSpace(c.Service) == "":
			return nil, fmt.Errorf("change %d: no service", i+1)
		}
		c.T = c.T.UTC()
		if c.Kind == "" {
			c.Kind = telemetry.ChangeDeploy
		}
		if !slices.Contains(changeKinds, c.Kind) {
			return nil, fmt.Errorf("change %d: unknown kind %q (want one of %v)", i+1, c.Kind, changeKinds)
		}
		if c.Summary == "" {
			c.Summary = strings.TrimSpace(fmt.Sprintf("%s %s %s", c.Kind, c.Service, c.ToVersion))
		}
	}
	telemetry.SortChanges(changes)
	return changes, nil
}
