package prometheus

import (
	"log/slog"
	"testing"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/sourcetest"
	"github.com/rca-tool/rca/internal/httpsource"
)

func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.HTTP{
		New: func(t testing.TB, cfg httpsource.Config, log *slog.Logger) collectors.Source {
			p, err := New(Config{Config: cfg}, log)
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Request:     collectors.Request{Range: collectors.Range{Window: tWindow, Baseline: tBaseline}, Catalog: smallCatalog(t)},
		Unreachable: ErrUnreachable,
	})
}
