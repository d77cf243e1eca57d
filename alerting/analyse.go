package alerting

import (
	"context"
	"fmt"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/timerange"
	"github.com/rca-tool/rca/workflow"
)

// Analyser runs the analysis an alert asks for: the configured sources
// over a window around the alert's start.
type Analyser struct {
	Sources []collectors.Source
	// Replay says the first source is a recording (--snapshot): the alert's
	// start selects the window within it, and "now" does not bound it.
	Replay      bool
	Catalog     *catalog.Catalog
	CatalogData []byte
	// Span is the window's length (default timerange.DefaultSpan); Baseline
	// carries the baseline settings (Baseline, BaselineOffset, MaxWindow),
	// its window fields are ignored.
	Span     time.Duration
	Baseline timerange.Spec
	Lookback time.Duration
}

// Window is the window analysed for an alert that started at startsAt:
// span long, centred on it; when live, slid back to end at now if it would
// reach into the future (an alert fires after its cause, so the minutes
// before it matter most).
func Window(startsAt, now time.Time, span time.Duration, live bool) telemetry.Window {
	if span <= 0 {
		span = timerange.DefaultSpan
	}
	w := telemetry.Window{From: startsAt.Add(-span / 2), To: startsAt.Add(span / 2)}
	if live && w.To.After(now) {
		w = telemetry.Window{From: now.Add(-span), To: now}
	}
	return telemetry.Window{From: w.From.UTC(), To: w.To.UTC()}
}

// Analyse collects and analyses the window around startsAt, with the
// changes responders noted in the incident.
func (a Analyser) Analyse(ctx context.Context, startsAt, now time.Time, noted []telemetry.Change) (workflow.Run, error) {
	w := Window(startsAt, now, a.Span, !a.Replay)
	spec := a.Baseline
	spec.From, spec.To, spec.Around, spec.Span = w.From.Format(time.RFC3339Nano), w.To.Format(time.RFC3339Nano), "", 0
	// A recording's window may lie anywhere; a live one ends by now.
	window, baseline, err := timerange.Resolve(spec, laterOf(now, w.To))
	if err != nil {
		return workflow.Run{}, fmt.Errorf("the window around %s: %w", startsAt.UTC().Format(time.RFC3339), err)
	}
	req := collectors.Request{Range: collectors.Range{Window: window, Baseline: baseline, Lookback: a.Lookback}, Catalog: a.Catalog}
	b, origins, err := collectors.Collect(ctx, a.Sources, req)
	if err != nil {
		return workflow.Run{}, fmt.Errorf("reading %s: %w", window, err)
	}
	return workflow.Analyze(ctx, b, origins, a.Catalog, a.CatalogData, a.Lookback, noted)
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
