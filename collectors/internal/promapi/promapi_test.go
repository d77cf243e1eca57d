package promapi_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/collectors/internal/promapi/promapitest"
	"github.com/rca-tool/rca/telemetry"
)

// promSeeds are realistic query_range bodies: what Prometheus, Thanos and
// Mimir return, and what a failed capture leaves behind.
var promSeeds = []string{
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"checkout:8080","job":"checkout"},"values":[[1714572000,"1"],[1714572015,"1"],[1714572030,"0"]]}]}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"gateway"},"values":[[1714572000.123,"NaN"],[1714572015.5,"+Inf"],[1714572030,"-Inf"],[1714572045,"1e-9"]]}]},"warnings":["partial response"],"infos":["info"]}`,
	`{"status":"success","data":{"resultType":"matrix","result":[]}}`,
	`{"status":"success","data":{"resultType":"matrix","result":null}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"le":"0.5"},"histograms":[[1714572000,{"count":"2","sum":"1","buckets":[[0,"0","1","2"]]}]]}]}}`,
	`{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected end of input"}`,
	`{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`,
	`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1714572000,"1"]}]}}`,
	`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1714572015,"2"],[1714572000,"1"],[1714572000,"1"]]},null]}}`,
	`<html><body><h1>504 Gateway Time-out</h1></body></html>`,
	`parse error at line 1, col 5: syntax error`,
	``,
	`{"status":"error","errorType":"execution","error":"expanding series:\nquery processing would load too many samples into memory"}`,
}

func TestDecodePromMatrix(t *testing.T) {
	got, _, err := promapi.DecodeMatrix([]byte(promSeeds[1]))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d series", len(got))
	}
	s := got[0]
	if s.Metric != "" || s.Labels["service"] != "gateway" || s.Signal != "" || s.Query != "" {
		t.Errorf("series = %+v", s)
	}
	wantT := []time.Time{
		time.UnixMilli(1714572000123).UTC(), time.UnixMilli(1714572015500).UTC(),
		time.Unix(1714572030, 0).UTC(), time.Unix(1714572045, 0).UTC(),
	}
	wantV := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e-9}
	for i, p := range s.Points() {
		if !p.T.Equal(wantT[i]) || !promapitest.SameFloat(p.V, wantV[i]) || p.T.Location() != time.UTC {
			t.Errorf("point %d = %v %v, want %v %v", i, p.T, p.V, wantT[i], wantV[i])
		}
	}

	got, _, err = promapi.DecodeMatrix([]byte(promSeeds[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Metric != "up" || got[0].Labels["job"] != "checkout" {
		t.Errorf("series = %+v", got[0])
	}
	if _, ok := got[0].Labels["__name__"]; ok {
		t.Error("__name__ left in labels")
	}

	// Out of order samples come back sorted; a null entry is skipped.
	got, _, err = promapi.DecodeMatrix([]byte(promSeeds[8]))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Point(0).V != 1 || got[0].Point(2).V != 2 {
		t.Errorf("got %+v", got)
	}

	for _, empty := range []string{promSeeds[2], promSeeds[3]} {
		if got, _, err := promapi.DecodeMatrix([]byte(empty)); err != nil || len(got) != 0 {
			t.Errorf("DecodePromMatrix(%s) = %v, %v; want no series", empty, got, err)
		}
	}
}

func TestDecodePromMatrixWarnings(t *testing.T) {
	_, notes, err := promapi.DecodeMatrix([]byte(promSeeds[1]))
	if err != nil || len(notes) != 1 || notes[0] != "prometheus warning: partial response" {
		t.Errorf("notes = %q, err %v", notes, err)
	}
	_, notes, err = promapi.DecodeMatrix([]byte(promSeeds[4]))
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "1 native histogram samples ignored") {
		t.Errorf("notes = %q, err %v", notes, err)
	}
}

func TestDecodePromMatrixErrors(t *testing.T) {
	tests := []struct {
		name, body string
		is         error
		substr     string
	}{
		{"error response", promSeeds[5], nil, "the query failed on the server (bad_data): 1:1: parse error"},
		{"error without type", `{"status":"error","error":"boom"}`, nil, "(unknown): boom"},
		{"multi-line error", promSeeds[12], nil, "(execution): expanding series: query processing"},
		{"vector", promSeeds[7], promapi.ErrResultType, `wrong resultType "vector", want "matrix" — capture with /api/v1/query_range`},
		{"html", promSeeds[9], nil, `not a Prometheus query_range JSON response (it starts with "<html>`},
		{"text error", promSeeds[10], nil, "it starts with \"parse error"},
		{"empty", "", nil, "it starts with \"\""},
		{"no status", `{"data":{}}`, nil, `no "status" field`},
		{"odd status", `{"status":"partial"}`, nil, `unknown response status "partial"`},
		{"no data", `{"status":"success"}`, nil, `has no "data"`},
		{"data not object", `{"status":"success","data":[1]}`, nil, `line 1, column 28: "data" must be an object, not a JSON array`},
		{"bad label name", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"":"x"},"values":[]}]}}`, nil, `"" is not a valid label name`},
		{"bad value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"one"]]}]}}`, nil, `in data.result: value "one" is not a number (want a decimal in quotes`},
		{"bad time", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]}}`, nil, `in data.result: "x" is not a whole number (want a timestamp in unix seconds`},
		{"time past 2262", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[9300000000,"1"]]}]}}`, nil, `in data.result: sample time 9300000000 is outside the years 1677 to 2262`},
		{"time before 1677", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[-9300000000,"1"]]}]}}`, nil, `in data.result: sample time -9300000000 is outside the years 1677 to 2262`},
		{"truncated", promSeeds[0][:80], nil, "invalid JSON at line 1, column 80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := promapi.DecodeMatrix([]byte(tc.body))
			promapitest.OneLineError(t, err, tc.substr, tc.is)
		})
	}
	var apiErr *promapi.APIError
	if _, _, err := promapi.DecodeMatrix([]byte(promSeeds[6])); !errors.As(err, &apiErr) || apiErr.Type != "timeout" || !strings.Contains(apiErr.Msg, "timed out") {
		t.Errorf("err = %v, want an *promapi.APIError of type timeout", err)
	}
}

func TestMatrixToSeries(t *testing.T) {
	m := model.Matrix{
		{Metric: model.Metric{"__name__": "x", "a": "1"}, Values: []model.SamplePair{{Timestamp: 2000, Value: 2}, {Timestamp: 1000, Value: 1}}},
		nil,
		{Metric: nil},
	}
	got, err := promapi.ToSeries(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d series, want 2", len(got))
	}
	want := telemetry.Series{Metric: "x", Labels: telemetry.Labels{"a": "1"}}.WithPoints([]telemetry.Point{{T: time.Unix(1, 0).UTC(), V: 1}, {T: time.Unix(2, 0).UTC(), V: 2}}...)
	if got[0].ID() != want.ID() || !got[0].Point(0).T.Equal(want.Point(0).T) || got[0].Point(1).V != 2 {
		t.Errorf("got %+v, want %+v", got[0], want)
	}
	if got[1].Labels == nil || got[1].Points() != nil {
		t.Errorf("empty stream = %+v, want empty labels and no points", got[1])
	}
}

// FuzzDecodeMatrix: never panic, and whatever decodes can be written
// back by the snapshot writer and decodes to the same series.
func FuzzDecodeMatrix(f *testing.F) {
	for _, s := range promSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { promapitest.MatrixRoundTrip(t, promapi.DecodeMatrix, body) })
}

// wholeDecode is DecodeSeriesOf's contract said plainly: the whole matrix
// decoded, its histograms refused, then converted.
func wholeDecode(body []byte, histograms func(int) error) ([]telemetry.Series, []string, error) {
	m, warnings, err := promapi.DecodeMatrixOf("Prometheus query_range", body, "hint")
	if err != nil {
		return nil, nil, err
	}
	for _, ss := range m {
		if ss == nil || len(ss.Histograms) == 0 {
			continue
		}
		if err := histograms(len(ss.Histograms)); err != nil {
			return nil, nil, fmt.Errorf("in data.result: %w", err)
		}
	}
	series, err := promapi.ToSeries(m)
	if err != nil {
		return nil, nil, fmt.Errorf("in data.result: %w", err)
	}
	return series, warnings, nil
}

// noHistograms refuses histogram samples, as Loki's decoder does.
func noHistograms(int) error { return errors.New("histogram samples") }

// The fast reading gives what the library's whole decode gives, errors
// word for word, on bodies that fail at each step (a bad label name, a bad
// sample, histograms, a time out of range, a result of the wrong shape)
// and on shapes the fast reading leaves to the library.
func TestDecodeSeriesMatchesWhole(t *testing.T) {
	for _, body := range decodeSeriesBodies() {
		got, gw, gerr := promapi.DecodeSeriesOf("Prometheus query_range", []byte(body), "hint", noHistograms)
		want, ww, werr := wholeDecode([]byte(body), noHistograms)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Errorf("%s:\n error %v\n want %v", body, gerr, werr)
			continue
		}
		if !sameSeries(got, want) || !slices.Equal(gw, ww) {
			t.Errorf("%s:\n got  %+v %q\n want %+v %q", body, got, gw, want, ww)
		}
	}
}

// decodeSeriesBodies are the seeds and bodies that take each way through
// DecodeSeriesOf: the fast reading, and the library's for an unusual shape.
func decodeSeriesBodies() []string {
	return append(slices.Clone(promSeeds),
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"]]},{"metric":{"":"x"},"values":[]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"]]},{"metric":{"a":"c"},"values":[[2,"x"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1e13,"1"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":{"metric":{}}}}`,
		`{"status":"success","data":{"resultType":"matrix","result":"x"}}`,
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":\n[ {\"metric\":{\"a\":\"b\"},\"values\":[[1,\"1\"]]} ,null, {\"metric\":{},\"values\":[[1,2]]} ]}}",
		`{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1714572000.5,"2"],[1714572000.25,"1"]],"metric":{"__name__":"x","b":"c"}}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b","a":"c"},"values":[[1,"1"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"\u00e9"},"values":[[1.1234,"0x1p-2"],[-1,"1"],[1e3,"1"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"Metric":{"a":"b"},"VALUES":[[1,"1"]]},{"metric":null,"values":null}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1",3],[2,null],[null,"2"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{}, {"metric":{}}, {"values":[]}]}}`,
	)
}

// FuzzDecodeSeries: the fast reading gives what the library gives.
func FuzzDecodeSeries(f *testing.F) {
	for _, s := range decodeSeriesBodies() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gw, gerr := promapi.DecodeSeriesOf("Prometheus query_range", body, "hint", noHistograms)
		want, ww, werr := wholeDecode(body, noHistograms)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("error %v, want %v", gerr, werr)
		}
		if !sameSeries(got, want) || !slices.Equal(gw, ww) {
			t.Fatalf("got %+v %q, want %+v %q", got, gw, want, ww)
		}
	})
}

// sameSeries is reflect.DeepEqual with NaN equal to NaN.
func sameSeries(a, b []telemetry.Series) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Metric != y.Metric || x.Signal != y.Signal || x.Query != y.Query || !maps.Equal(x.Labels, y.Labels) ||
			!slices.Equal(x.Times, y.Times) || len(x.Values) != len(y.Values) {
			return false
		}
		for j := range x.Values {
			if math.Float64bits(x.Values[j]) != math.Float64bits(y.Values[j]) {
				return false
			}
		}
	}
	return true
}

// A series read the fast way holds its samples in columns of their size,
// with no spare room left from growing them.
func TestDecodeSeriesExactColumns(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"], [2,"2"],[3,"3"] ,[4,"4"],[5,"5"]]}]}}`
	got, _, err := promapi.DecodeSeriesOf("Prometheus query_range", []byte(body), "hint", noHistograms)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if s := got[0]; len(s.Times) != 5 || cap(s.Times) != 5 || cap(s.Values) != 5 {
		t.Errorf("columns len %d, cap %d and %d, want 5 each", len(s.Times), cap(s.Times), cap(s.Values))
	}
}
