package loki

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/collectors/internal/promapi/promapitest"
	"github.com/rca-tool/rca/telemetry"
)

// lokiSeeds are realistic /loki/api/v1/query_range bodies.
var lokiSeeds = []string{
	`{"status":"success","data":{"resultType":"streams","result":[
	  {"stream":{"service":"gateway","level":"error","filename":"/var/log/nginx/error.log"},"values":[
	    ["1714572240000000000","2024/05/01 14:04:00 [error] 7#7: *1 upstream timed out (110: Connection timed out) while reading response header from upstream"],
	    ["1714572180000000000","2024/05/01 14:03:00 [error] 7#7: *2 upstream timed out"]]},
	  {"stream":{"service":"checkout","level":"info"},"values":[["1714572240000000000","{\"msg\":\"computing pi\",\"digits\":10000}"]]}],
	  "stats":{"summary":{"bytesProcessedPerSecond":1234,"linesProcessedPerSecond":10}}}}`,
	`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"x"},"values":[["1714572240000000001","with metadata",{"structuredMetadata":{"trace_id":"abc"}}]]}]}}`,
	`{"status":"success","data":{"resultType":"streams","result":[]}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"x"},"values":[[1714572240,"3"]]}]}}`,
	`{"status":"error","errorType":"bad_data","error":"parse error at line 1, col 1: syntax error: unexpected IDENTIFIER"}`,
	`parse error at line 1, col 1: syntax error: unexpected IDENTIFIER`,
	`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["-5","before 1970"],["9223372036854775807","far"]]}]}}`,
}

func TestDecodeLokiStreams(t *testing.T) {
	got, _, err := DecodeStreams([]byte(lokiSeeds[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3", len(got))
	}
	// Ordered by time, then labels: {filename=...} sorts before {level=...} at 14:04.
	want := []struct {
		t       time.Time
		service string
	}{{afterStart(3 * time.Minute), "gateway"}, {afterStart(4 * time.Minute), "gateway"}, {afterStart(4 * time.Minute), "checkout"}}
	for i, w := range want {
		if !got[i].T.Equal(w.t) || got[i].Labels["service"] != w.service || got[i].T.Location() != time.UTC {
			t.Errorf("line %d = %v %v, want %v %s", i, got[i].T, got[i].Labels, w.t, w.service)
		}
	}
	if got[2].Line != `{"msg":"computing pi","digits":10000}` {
		t.Errorf("line = %q", got[2].Line)
	}

	got, _, err = DecodeStreams([]byte(lokiSeeds[1]))
	if err != nil || len(got) != 1 || got[0].Line != "with metadata" || got[0].T.Nanosecond() != 1 {
		t.Errorf("structured metadata entry: %+v, %v", got, err)
	}
	if got, _, err := DecodeStreams([]byte(lokiSeeds[2])); err != nil || len(got) != 0 {
		t.Errorf("empty result: %+v, %v", got, err)
	}
}

func TestDecodeLokiStreamsErrors(t *testing.T) {
	stream := func(values string) string {
		return `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"a":"b"},"values":` + values + `}]}}`
	}
	tests := []struct {
		name, body string
		is         error
		substr     string
	}{
		{"metric query", lokiSeeds[3], promapi.ErrResultType, `wrong resultType "matrix", want "streams" — a LogQL metric query`},
		{"error response", lokiSeeds[4], nil, "failed on the server (bad_data): parse error"},
		{"text body", lokiSeeds[5], nil, `not a Loki query_range JSON response (it starts with "parse error`},
		{"number timestamp", stream(`[[1714572240,"x"]]`), nil, "log timestamp 1714572240 must be a string of unix nanoseconds"},
		{"non-numeric timestamp", stream(`[["2024-05-01","x"]]`), nil, `log timestamp "2024-05-01" is not unix nanoseconds`},
		{"one element", stream(`[["1"]]`), nil, "got 1 element(s)"},
		{"not a list", stream(`[{"ts":"1"}]`), nil, `a log entry must be a list`},
		{"line not a string", stream(`[["1",2]]`), nil, "log line 2 must be a string"},
		{"object timestamp", stream("[[{\n\"a\": 1\n},\"x\"]]"), nil, `log timestamp {"a":1} must be`},
		{"values not a list", stream(`"x"`), nil, `in data.result: line 1, column`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeStreams([]byte(tc.body))
			promapitest.OneLineError(t, err, tc.substr, tc.is)
		})
	}
}

// FuzzDecodeLokiStreams: never panic, and whatever decodes can be written
// back by the snapshot writer and decodes to the same lines.
func FuzzDecodeLokiStreams(f *testing.F) {
	for _, s := range lokiSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lines, _, err := DecodeStreams(body)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		data, err := EncodeStreams(lines)
		if err != nil {
			t.Fatalf("decoded lines cannot be written back: %v", err)
		}
		again, _, err := DecodeStreams(data)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, data)
		}
		if len(again) != len(lines) {
			t.Fatalf("re-decode: %d lines, want %d", len(again), len(lines))
		}
		for i := range lines {
			if telemetry.CompareLogs(lines[i], again[i]) != 0 || !sameLabels(lines[i].Labels, again[i].Labels) {
				t.Fatalf("re-decode: line %d = %+v, want %+v", i, again[i], lines[i])
			}
		}
	})
}

func TestEncodeLokiStreamsEmptyLabels(t *testing.T) {
	data, err := EncodeStreams([]telemetry.LogLine{{T: afterStart(0), Line: "no labels"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"stream": {}`) {
		t.Errorf("stream without labels should render as {}:\n%s", data)
	}
}

// lokiMatrixSeeds are realistic answers to LogQL metric queries.
var lokiMatrixSeeds = []string{
	// As Loki 3 answers sum by (service) (count_over_time(... [1m] offset 1ns)), stats and all.
	`{"status":"success","data":{"resultType":"matrix","result":[
	  {"metric":{"service":"gateway"},"values":[[1795967459.999,"3"],[1795967519.999,"12"]]},
	  {"metric":{"service":"checkout"},"values":[[1795967519.999,"1"]]}],
	  "stats":{"summary":{"bytesProcessedPerSecond":1234,"linesProcessedPerSecond":10,"totalEntriesReturned":2}}}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["query was split"]}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1795967460,"NaN"],[1795967520,"+Inf"]]}]}}`,
	`{"status":"success","data":{"resultType":"streams","result":[]}}`,
	`{"status":"success","data":{"resultType":"vector","result":[]}}`,
	`{"status":"error","errorType":"bad_data","error":"parse error at line 1, col 36: syntax error: unexpected |"}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"":"x"},"values":[]}]}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"x"]]}]}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"histograms":[[1,{"count":"1","sum":"1"}]]}]}}`,
}

func TestDecodeLokiMatrix(t *testing.T) {
	got, _, err := DecodeMatrix([]byte(lokiMatrixSeeds[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Labels["service"] != "gateway" || got[0].Len() != 2 || got[0].Point(1).V != 12 ||
		got[0].Point(0).T.UnixMilli() != 1795967459999 || got[0].Metric != "" || got[0].Signal != "" {
		t.Fatalf("got %+v", got)
	}
	s, notes, err := DecodeMatrix([]byte(lokiMatrixSeeds[1]))
	if err != nil || len(s) != 0 || len(notes) != 1 || notes[0] != "loki warning: query was split" {
		t.Errorf("empty result with a warning: %+v %q %v", s, notes, err)
	}
	for _, tc := range []struct {
		body string
		is   error
		want string
	}{
		{lokiMatrixSeeds[3], promapi.ErrResultType, `wrong resultType "streams", want "matrix" — a log query returns streams: a log signal's logql must be a metric query`},
		{lokiMatrixSeeds[4], promapi.ErrResultType, `wrong resultType "vector", want "matrix"`},
		{lokiMatrixSeeds[5], nil, "failed on the server (bad_data): parse error at line 1, col 36"},
		{lokiMatrixSeeds[6], nil, `"" is not a valid label name`},
		{lokiMatrixSeeds[7], nil, "in data.result"},
		{lokiMatrixSeeds[8], nil, "histogram samples"},
		{`parse error at line 1`, nil, `not a Loki query_range JSON response`},
	} {
		_, _, err := DecodeMatrix([]byte(tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%.60s: err %v, want one line saying %q", tc.body, err, tc.want)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%.60s: errors.Is(%v, %v) = false", tc.body, err, tc.is)
		}
	}
}

// FuzzDecodeLokiMatrix: never panic, errors on one line, and what decodes
// can be written to a snapshot and read back to the same series.
func FuzzDecodeLokiMatrix(f *testing.F) {
	for _, s := range lokiMatrixSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { promapitest.MatrixRoundTrip(t, DecodeMatrix, body) })
}

var incidentStart = time.Date(2024, 5, 1, 14, 0, 0, 0, time.UTC)

func afterStart(d time.Duration) time.Time { return incidentStart.Add(d) }

func sameLabels(a, b telemetry.Labels) bool { return maps.Equal(a, b) } // nil equals empty
