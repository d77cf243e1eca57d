package sourcetest_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/grafana"
	"github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/collectors/prometheus"
	"github.com/rca-tool/rca/collectors/sourcetest"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

// TestConformance runs the kit on every HTTP source rca has; a new one
// adds a line here.
func TestConformance(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	req := collectors.Request{
		Range: collectors.Range{
			Window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
			Baseline: telemetry.Window{From: t0.Add(-time.Hour), To: t0},
			Lookback: time.Hour,
		},
		Catalog: cat,
	}
	for name, build := range map[string]func(httpsource.Config, *slog.Logger) (collectors.Source, error){
		"prometheus": func(c httpsource.Config, log *slog.Logger) (collectors.Source, error) {
			return prometheus.New(prometheus.Config{Config: c}, log)
		},
		"loki": func(c httpsource.Config, log *slog.Logger) (collectors.Source, error) {
			return loki.New(loki.Config{Config: c}, log)
		},
		"grafana": func(c httpsource.Config, log *slog.Logger) (collectors.Source, error) {
			return grafana.New(grafana.Config{Config: c}, log), nil
		},
	} {
		unreachable := map[string]error{"prometheus": prometheus.ErrUnreachable, "loki": loki.ErrUnreachable, "grafana": grafana.ErrUnreachable}[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sourcetest.Run(t, sourcetest.HTTP{
				New: func(t testing.TB, c httpsource.Config, log *slog.Logger) collectors.Source {
					s, err := build(c, log)
					if err != nil {
						t.Fatal(err)
					}
					return s
				},
				Request:     req,
				Unreachable: unreachable,
			})
		})
	}
}
