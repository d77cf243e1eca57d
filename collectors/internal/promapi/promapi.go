package promapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// ErrResultType is a response of the wrong shape: an instant query where a
// range query was expected, or a metric query where log lines were expected.
var ErrResultType = errors.New("wrong resultType")

// APIError is a query the server refused or failed: a Prometheus (or Loki)
// response with status "error".
type APIError struct {
	// Type is the API's errorType, e.g. "bad_data", "timeout", "execution".
	Type string
	// Msg is the API's error text.
	Msg string
}

func (e *APIError) Error() string {
	t := e.Type
	if t == "" {
		t = "unknown"
	}
	// Server messages can span lines; an error here is one line.
	return fmt.Sprintf("the query failed on the server (%s): %s", t, strings.Join(strings.Fields(e.Msg), " "))
}

// Envelope is the common envelope of the Prometheus and Loki HTTP APIs.
type Envelope struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Data      *struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// DecodeEnvelope checks status and resultType and returns the raw result
// and the warnings.
func DecodeEnvelope(api string, body []byte, want, hint string) (json.RawMessage, []string, error) {
	if !strictjson.LooksLikeObject(body) {
		return nil, nil, strictjson.NotAPIResponse(api, body)
	}
	var env Envelope
	if err := strictjson.Decode(body, &env); err != nil {
		return nil, nil, err
	}
	switch env.Status {
	case "success":
	case "error":
		return nil, nil, &APIError{Type: env.ErrorType, Msg: env.Error}
	case "":
		return nil, nil, fmt.Errorf("not a %s response: no \"status\" field — save the JSON body the API returned", api)
	default:
		return nil, nil, fmt.Errorf("unknown response status %q (want \"success\")", env.Status)
	}
	if env.Data == nil {
		return nil, nil, fmt.Errorf("%s response has no \"data\"", api)
	}
	if env.Data.ResultType != want {
		return nil, nil, fmt.Errorf("%w %q, want %q — %s", ErrResultType, env.Data.ResultType, want, hint)
	}
	return env.Data.Result, env.Warnings, nil
}

// DecodeMatrix also returns what the response warned about, so a
// snapshot reader can surface partial results.
func DecodeMatrix(body []byte) ([]telemetry.Series, []string, error) {
	hist := 0
	series, warnings, err := DecodeSeriesOf("Prometheus query_range", body,
		"capture with /api/v1/query_range (start, end, step), not /api/v1/query",
		func(n int) error { hist += n; return nil })
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	for _, w := range warnings {
		notes = append(notes, "prometheus warning: "+w)
	}
	if hist > 0 {
		// Native histograms have no single value to score; say so rather than drop them silently.
		notes = append(notes, fmt.Sprintf("%d native histogram samples ignored (query a histogram_quantile or rate instead)", hist))
	}
	return series, notes, nil
}

// DecodeSeriesOf decodes the envelope and the matrix of a query_range
// response in Prometheus's shape (Prometheus's, or Loki's to a metric
// query) into series, checking the label names; hint says what to do when
// the result is not a matrix. It returns the response's warnings. The
// result is read straight into columns when it has the shape servers write
// (see fastMatrix), else by the library (matrixOf, then ToSeries).
// histograms, when not nil, is told the number of histogram samples of
// every series that has any (only the library path reads them); its error,
// wrapped, is the result.
func DecodeSeriesOf(what string, body []byte, hint string, histograms func(n int) error) ([]telemetry.Series, []string, error) {
	raw, warnings, err := DecodeEnvelope(what, body, model.ValMatrix.String(), hint)
	if err != nil {
		return nil, nil, err
	}
	if series, ok := fastMatrix(raw); ok {
		return series, warnings, nil
	}
	m, err := matrixOf(body, raw)
	if err != nil {
		return nil, nil, err
	}
	for _, ss := range m {
		if ss == nil || len(ss.Histograms) == 0 || histograms == nil {
			continue
		}
		if err := histograms(len(ss.Histograms)); err != nil {
			return nil, nil, fmt.Errorf("in data.result: %w", err)
		}
	}
	series, err := ToSeries(m)
	if err != nil {
		return nil, nil, fmt.Errorf("in data.result: %w", err)
	}
	return series, warnings, nil
}

// matrixOf decodes the result raw of body as a matrix, checking the label
// names.
func matrixOf(body, raw []byte) (model.Matrix, error) {
	var m model.Matrix
	if err := strictjson.DecodePart(body, raw, &m); err != nil {
		return nil, fmt.Errorf("in data.result: %w", err)
	}
	for _, ss := range m {
		if ss == nil {
			continue
		}
		// model.Metric does not check names itself; an empty one could not be written back.
		for name := range ss.Metric {
			if !model.UTF8Validation.IsValidLabelName(string(name)) {
				return nil, fmt.Errorf("in data.result: %q is not a valid label name", name)
			}
		}
	}
	return m, nil
}

// ToSeries converts a Prometheus matrix into series: the __name__ label
// becomes Series.Metric, the other labels stay, samples are sorted by time.
// Signal and Query are left empty. A sample time a series cannot hold
// (telemetry.InRange) is an error.
func ToSeries(m model.Matrix) ([]telemetry.Series, error) {
	out := make([]telemetry.Series, 0, len(m))
	for _, ss := range m {
		if ss == nil {
			continue
		}
		s := telemetry.Series{Labels: make(telemetry.Labels, len(ss.Metric))}
		for k, v := range ss.Metric {
			if k == model.MetricNameLabel {
				s.Metric = string(v)
				continue
			}
			s.Labels[string(k)] = string(v)
		}
		if len(ss.Values) > 0 {
			s.Times, s.Values = make([]int64, len(ss.Values)), make([]float64, len(ss.Values))
			for i, p := range ss.Values {
				if !inRange(p.Timestamp) {
					return nil, fmt.Errorf("sample time %s is outside the years 1677 to 2262", p.Timestamp)
				}
				s.Times[i], s.Values[i] = int64(p.Timestamp)*nsPerMs, float64(p.Value)
			}
			s.SortSamples()
		}
		out = append(out, s)
	}
	return out, nil
}

const nsPerMs = int64(time.Millisecond)

// inRange reports whether a sample time of the API (milliseconds) is one
// a series can hold (telemetry.InRange).
// (Go's division truncates: the bounds are inside the range.)
func inRange(t model.Time) bool {
	return int64(t) >= math.MinInt64/nsPerMs && int64(t) <= math.MaxInt64/nsPerMs
}

// EncodeMatrix renders a query_range response like Prometheus does, but
// with one sample per line so a snapshot diff is readable.
func EncodeMatrix(streams []*model.SampleStream) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n  \"status\": \"success\",\n  \"data\": {\n    \"resultType\": \"matrix\",\n    \"result\": [")
	for i, ss := range streams {
		if i > 0 {
			b.WriteByte(',')
		}
		metric := ss.Metric
		if metric == nil {
			metric = model.Metric{}
		}
		mj, err := strictjson.MarshalCompact(metric)
		if err != nil {
			return nil, err
		}
		b.WriteString("\n      {\n        \"metric\": ")
		b.Write(mj)
		b.WriteString(",\n        \"values\": [")
		for j, p := range ss.Values {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n          ")
			b.Write(appendSamplePair(nil, p))
		}
		if len(ss.Values) > 0 {
			b.WriteString("\n        ")
		}
		b.WriteString("]\n      }")
	}
	if len(streams) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("]\n  }\n}\n")
	return b.Bytes(), nil
}

// appendSamplePair writes [<seconds>,"<value>"] the way the Prometheus
// server does: the value as a string, so NaN and ±Inf survive, and the
// timestamp in integer arithmetic, exact where model.Time's float
// formatting loses digits on huge timestamps.
func appendSamplePair(b []byte, p model.SamplePair) []byte {
	b = append(b, '[')
	t := int64(p.Timestamp)
	u := uint64(t) // two's complement: -MinInt64 stays representable
	if t < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1000, 10)
	if ms := u % 1000; ms != 0 {
		b = append(b, '.')
		if ms < 100 {
			b = append(b, '0')
		}
		if ms < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendUint(b, ms, 10)
	}
	b = append(b, ',', '"')
	b = strconv.AppendFloat(b, float64(p.Value), 'f', -1, 64)
	return append(b, '"', ']')
}

// SeriesToStream converts a series back to a matrix entry; withName puts
// Series.Metric into __name__.
func SeriesToStream(s telemetry.Series, withName bool) (*model.SampleStream, error) {
	metric := make(model.Metric, len(s.Labels)+1)
	for k, v := range s.Labels {
		if k == model.MetricNameLabel {
			return nil, fmt.Errorf("series %s has a %s label; put the name in Series.Metric", s.ID(), model.MetricNameLabel)
		}
		if !model.UTF8Validation.IsValidLabelName(k) {
			return nil, fmt.Errorf("series %s: label name %s is not valid (it must be non-empty UTF-8)", s.ID(), strconv.Quote(k))
		}
		metric[model.LabelName(k)] = model.LabelValue(v)
	}
	if withName {
		metric[model.MetricNameLabel] = model.LabelValue(s.Metric)
	}
	sorted := telemetry.Series{Times: s.Times, Values: s.Values}
	sorted.SortSamples() // into new columns, if need be
	values := make([]model.SamplePair, sorted.Len())
	for i, t := range sorted.Times {
		values[i] = model.SamplePair{Timestamp: model.Time(telemetry.TimeOf(t).UnixMilli()), Value: model.SampleValue(sorted.Values[i])}
	}
	return &model.SampleStream{Metric: metric, Values: values}, nil
}
