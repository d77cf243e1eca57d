package loki

import (
	"log/slog"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/sourcetest"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.HTTP{
		New: func(t testing.TB, cfg httpsource.Config, log *slog.Logger) collectors.Source {
			l, err := New(Config{Config: cfg}, log)
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
		Request: collectors.Request{
			Range:   collectors.Range{Window: telemetry.Window{From: lokiT0, To: lokiT0.Add(30 * time.Minute)}, Lookback: time.Hour},
			Catalog: testCatalog(t),
		},
		Unreachable: ErrUnreachable,
	})
}
