package analysis

import (
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

func TestCoverageWarnings(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	series := []telemetry.Series{telemetry.Series{Metric: "m"}.WithPoints(telemetry.Point{T: at(-120)}, telemetry.Point{T: at(0)})}
	tests := []struct {
		name     string
		b        telemetry.Bundle
		wantWarn int
	}{
		{"inside", telemetry.Bundle{Series: series, Window: telemetry.Window{From: at(-30), To: at(0)}, Baseline: telemetry.Window{From: at(-90), To: at(-30)}}, 0},
		{"last sample counts", telemetry.Bundle{Series: series, Window: telemetry.Window{From: at(0), To: at(10)}, Baseline: telemetry.Window{From: at(-60), To: at(0)}}, 0},
		{"window after the data", telemetry.Bundle{Series: series, Window: telemetry.Window{From: at(60), To: at(90)}, Baseline: telemetry.Window{From: at(-60), To: at(0)}}, 1},
		{"both outside", telemetry.Bundle{Series: series, Window: telemetry.Window{From: at(60), To: at(90)}, Baseline: telemetry.Window{From: at(-600), To: at(-500)}}, 2},
		{"no series", telemetry.Bundle{Window: telemetry.Window{From: at(60), To: at(90)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CoverageWarnings(tt.b); len(got) != tt.wantWarn {
				t.Errorf("warnings = %q, want %d", got, tt.wantWarn)
			}
		})
	}
}
