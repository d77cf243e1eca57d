package promapi

import (
	"math"
	"testing"

	"github.com/prometheus/common/model"
)

func TestAppendSamplePair(t *testing.T) {
	tests := []struct {
		p    model.SamplePair
		want string
	}{
		{model.SamplePair{Timestamp: 1714572000000, Value: 1}, `[1714572000,"1"]`},
		{model.SamplePair{Timestamp: 1714572000120, Value: 0.5}, `[1714572000.120,"0.5"]`},
		{model.SamplePair{Timestamp: 1714572000007, Value: model.SampleValue(math.NaN())}, `[1714572000.007,"NaN"]`},
		{model.SamplePair{Timestamp: -1500, Value: model.SampleValue(math.Inf(1))}, `[-1.500,"+Inf"]`},
		{model.SamplePair{Timestamp: -5, Value: model.SampleValue(math.Inf(-1))}, `[-0.005,"-Inf"]`},
		{model.SamplePair{Timestamp: math.MinInt64, Value: 1e21}, `[-9223372036854775.808,"1000000000000000000000"]`},
		{model.SamplePair{Timestamp: 170000000000010000, Value: 0}, `[170000000000010,"0"]`},
	}
	for _, tc := range tests {
		got := string(appendSamplePair(nil, tc.p))
		if got != tc.want {
			t.Errorf("appendSamplePair(%v) = %s, want %s", tc.p, got, tc.want)
		}
		var back model.SamplePair
		if err := back.UnmarshalJSON([]byte(got)); err != nil || !back.Equal(&tc.p) {
			t.Errorf("%s decodes to %v (%v), want %v", got, back, err, tc.p)
		}
	}
}
