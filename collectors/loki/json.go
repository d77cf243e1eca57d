package loki

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// stream is one entry of a Loki "streams" result.
type stream struct {
	Stream map[string]string `json:"stream"`
	Values []entry           `json:"values"`
}

// entry is ["<unix ns string>", "line"], optionally followed by a
// structured-metadata object, which is ignored.
type entry struct {
	T    time.Time
	Line string
}

func (e *entry) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return errors.New(`a log entry must be a list ["<unix ns>", "line"]`)
	}
	if len(parts) < 2 {
		return fmt.Errorf(`a log entry must be ["<unix ns>", "line"], got %d element(s)`, len(parts))
	}
	var ts string
	if err := json.Unmarshal(parts[0], &ts); err != nil {
		return fmt.Errorf("log timestamp %s must be a string of unix nanoseconds", strictjson.OneLine(parts[0]))
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("log timestamp %q is not unix nanoseconds: %w", ts, err)
	}
	if err := json.Unmarshal(parts[1], &e.Line); err != nil {
		return fmt.Errorf("log line %s must be a string", strictjson.OneLine(parts[1]))
	}
	e.T = time.Unix(0, ns).UTC()
	return nil
}

// DecodeStreams decodes a Loki /loki/api/v1/query_range response with
// resultType "streams" (values are ["<unix ns string>", "line"]) into log
// lines ordered by time, then labels, then text. A status "error" response
// becomes an *promapi.APIError.
func DecodeStreams(body []byte) ([]telemetry.LogLine, []string, error) {
	raw, warnings, err := promapi.DecodeEnvelope("Loki query_range", body, "streams",
		"a LogQL metric query (rate, count_over_time) returns a matrix: list it under \"metrics\"")
	if err != nil {
		return nil, nil, err
	}
	var streams []*stream
	if err := strictjson.DecodePart(body, raw, &streams); err != nil {
		return nil, nil, fmt.Errorf("in data.result: %w", err)
	}
	var out []telemetry.LogLine
	for _, s := range streams {
		if s == nil {
			continue
		}
		for _, e := range s.Values {
			labels := make(telemetry.Labels, len(s.Stream))
			for k, v := range s.Stream {
				labels[k] = v
			}
			out = append(out, telemetry.LogLine{T: e.T, Labels: labels, Line: e.Line})
		}
	}
	telemetry.SortLogs(out)
	var notes []string
	for _, w := range warnings {
		notes = append(notes, "loki warning: "+w)
	}
	return out, notes, nil
}

// timeOK reports whether t fits in int64 unix nanoseconds, Loki's timestamp.
func timeOK(t time.Time) bool {
	return !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64))
}

// EncodeStreams renders a query_range "streams" response with one entry
// per line, streams sorted by labels, entries oldest first.
func EncodeStreams(lines []telemetry.LogLine) ([]byte, error) {
	type stream struct {
		labels telemetry.Labels
		key    string
		lines  []telemetry.LogLine
	}
	byKey := map[string]*stream{}
	var streams []*stream
	for _, l := range lines {
		if !timeOK(l.T) {
			return nil, fmt.Errorf("log line at %s is outside the time range Loki can represent", l.T.UTC().Format(time.RFC3339))
		}
		k := l.Labels.String()
		s, ok := byKey[k]
		if !ok {
			s = &stream{labels: l.Labels, key: k}
			byKey[k] = s
			streams = append(streams, s)
		}
		s.lines = append(s.lines, l)
	}
	slices.SortFunc(streams, func(a, b *stream) int { return cmp.Compare(a.key, b.key) })

	var b bytes.Buffer
	b.WriteString("{\n  \"status\": \"success\",\n  \"data\": {\n    \"resultType\": \"streams\",\n    \"result\": [")
	for i, s := range streams {
		if i > 0 {
			b.WriteByte(',')
		}
		labels := map[string]string(s.labels)
		if labels == nil {
			labels = map[string]string{}
		}
		lj, err := strictjson.MarshalCompact(labels)
		if err != nil {
			return nil, err
		}
		b.WriteString("\n      {\n        \"stream\": ")
		b.Write(lj)
		b.WriteString(",\n        \"values\": [")
		telemetry.SortLogs(s.lines)
		for j, l := range s.lines {
			if j > 0 {
				b.WriteByte(',')
			}
			ej, err := strictjson.MarshalCompact([2]string{strconv.FormatInt(l.T.UnixNano(), 10), l.Line})
			if err != nil {
				return nil, err
			}
			b.WriteString("\n          ")
			b.Write(ej)
		}
		b.WriteString("\n        ]\n      }")
	}
	if len(streams) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("]\n  }\n}\n")
	return b.Bytes(), nil
}

// DecodeMatrix decodes a Loki /loki/api/v1/query_range response to a
// LogQL metric query (resultType "matrix", Prometheus's shape: values are
// [<unix seconds>, "<value>"]) into series. A status "error" response
// becomes an *promapi.APIError. Signal and Query are left for the caller to fill.
func DecodeMatrix(body []byte) ([]telemetry.Series, []string, error) {
	series, warnings, err := promapi.DecodeSeriesOf("Loki query_range", body,
		"a log query returns streams: a log signal's logql must be a metric query, e.g. sum by (service) (count_over_time($selector [1m]))",
		func(int) error { return errors.New("histogram samples: a LogQL metric query has none") })
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	for _, w := range warnings {
		notes = append(notes, "loki warning: "+w)
	}
	return series, notes, nil
}
