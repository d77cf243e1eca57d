package prometheus

import (
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// VictoriaMetrics returns an unchanged float with jitter in its last bits:
// no change may come of it, while a real one still counts.
func TestDetectChangesIgnoresFloatJitter(t *testing.T) {
	cat := defaultCatalog(t)
	restart := float64(at(3).Add(-7 * time.Second).Unix())
	tests := []struct {
		name   string
		source string
		series telemetry.Series
		want   []time.Time
	}{
		{"start time with jitter: no restart", "process_restarts",
			steps(telemetry.Labels{"service": "vmagent", "instance": "host:8429"}, 1796570346.31, 1796570346.3100002, 1796570346.31, 1796570346.3100002), nil},
		{"a real restart through the jitter still counts", "process_restarts",
			steps(telemetry.Labels{"service": "vmagent"}, 1796570346.31, 1796570346.3100002, 1796570346.31, restart, restart+2e-7), []time.Time{at(3).Add(-7 * time.Second)}},
		{"a generation with jitter: no deploy", "deployment_generation",
			steps(telemetry.Labels{"namespace": "shop", "deployment": "checkout"}, 4, 4.000000000000001, 4, 4.000000000000001), nil},
		{"a generation step still counts", "deployment_generation",
			steps(telemetry.Labels{"namespace": "shop", "deployment": "checkout"}, 4, 4.000000000000001, 5, 5), []time.Time{at(2)}},
		{"a config reload time with jitter: no reload", "config_reload",
			steps(telemetry.Labels{"service": "nginx"}, 1796570000.123, 1796570000.1230001, 1796570000.123), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DetectChanges(source(t, tc.source), []telemetry.Series{tc.series}, cat)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d changes %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				if !got[i].T.Equal(w) {
					t.Errorf("change %d at %s, want %s", i, got[i].T, w)
				}
			}
		})
	}
}
