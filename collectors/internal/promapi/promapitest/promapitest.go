// Package promapitest holds the checks that the tests of the
// Prometheus-style decoders (promapi's matrix, Loki's streams and matrix)
// share.
package promapitest

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/telemetry"
)

// OneLineError wants err to be an error on one line that holds substr
// and, unless is is nil, wraps is.
func OneLineError(t *testing.T, err error, substr string, is error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", substr)
	}
	if !strings.Contains(err.Error(), substr) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q does not contain %q on one line", err, substr)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("errors.Is(%v, %v) = false", err, is)
	}
}

// MatrixRoundTrip is the body of a fuzz test of a matrix decoder: its
// errors are on one line, and whatever decodes can be written back as
// the snapshot writer does and decodes to the same series.
func MatrixRoundTrip(t *testing.T, decode func([]byte) ([]telemetry.Series, []string, error), body []byte) {
	t.Helper()
	series, _, err := decode(body)
	if err != nil {
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error %q", err)
		}
		return
	}
	streams := make([]*model.SampleStream, len(series))
	for i, s := range series {
		ss, err := promapi.SeriesToStream(s, s.Metric != "")
		if err != nil {
			t.Fatalf("decoded series cannot be written back: %v", err)
		}
		streams[i] = ss
	}
	data, err := promapi.EncodeMatrix(streams)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	again, _, err := decode(data)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, data)
	}
	if len(again) != len(series) {
		t.Fatalf("re-decode: %d series, want %d", len(again), len(series))
	}
	for i := range series {
		a, b := series[i], again[i]
		if a.ID() != b.ID() || a.Len() != b.Len() || len(a.Values) != a.Len() || len(b.Values) != b.Len() {
			t.Fatalf("re-decode: series %d = %s with %d samples, want %s with %d", i, b.ID(), b.Len(), a.ID(), a.Len())
		}
		for j := range a.Times {
			if a.Times[j] != b.Times[j] || !SameFloat(a.Values[j], b.Values[j]) {
				t.Fatalf("re-decode: series %s sample %d = %v, want %v", a.ID(), j, b.Point(j), a.Point(j))
			}
		}
	}
}

// SameFloat is a == b, with NaN equal to NaN.
func SameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
