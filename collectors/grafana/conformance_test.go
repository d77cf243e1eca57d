package grafana

import (
	"log/slog"
	"testing"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/sourcetest"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.HTTP{
		New: func(_ testing.TB, cfg httpsource.Config, log *slog.Logger) collectors.Source {
			return New(Config{Config: cfg}, log)
		},
		Request:     collectors.Request{Range: collectors.Range{Window: telemetry.Window{From: grafanaFrom, To: grafanaTo}}},
		Unreachable: ErrUnreachable,
	})
}
