package collectors

import (
	"context"
	"log/slog"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Source is one place telemetry comes from: a server (Prometheus, Loki),
// a file of changes, a recording. Collect reads what the request asks
// for; a source that can read only part of it returns that part with
// warnings, and an error only when nothing it returns can be trusted.
// Sources run concurrently: Collect must not touch shared state.
type Source interface {
	// Name names the source in errors and diagnostics ("prometheus").
	Name() string
	Collect(ctx context.Context, req Request) (Part, error)
}

// Linker is a source that refines the merged bundle after every source
// has run: git links each deploy to the commits it shipped. Linkers run
// one after another, in the order given.
type Linker interface {
	Source
	Link(ctx context.Context, b *telemetry.Bundle, req Request) error
}

// Request is what to collect.
type Request struct {
	Range
	Catalog *catalog.Catalog
	// Progress, when set, takes a one-line status ("querying ...: 3/12")
	// while a source works.
	Progress func(status string)
}

// Status reports progress, if anyone listens.
func (r Request) Status(s string) {
	if r.Progress != nil {
		r.Progress(s)
	}
}

// Range is the stretch of time a collection covers: the incident window,
// the baseline it is compared with, and how far before the window a
// change may lie and still be its cause.
type Range struct {
	Window, Baseline telemetry.Window
	Lookback         time.Duration
	// BaselineOf, when the window is left to a recording (Window zero),
	// gives the baseline for the recorded window; nil keeps the recorded one.
	BaselineOf func(window telemetry.Window) (telemetry.Window, error)
}

// Spans are the stretches of time to read for the window and its
// baseline: one when they touch, two when the baseline lies elsewhere
// (e.g. a week earlier).
func (r Range) Spans() []telemetry.Window {
	switch {
	case r.Baseline.From.IsZero() && r.Baseline.To.IsZero():
		return []telemetry.Window{r.Window}
	case r.Baseline.To.Before(r.Window.From):
		return []telemetry.Window{r.Baseline, r.Window}
	}
	return []telemetry.Window{{From: telemetry.Earliest(r.Baseline.From, r.Window.From), To: telemetry.Latest(r.Baseline.To, r.Window.To)}}
}

// ChangesFrom is where change sources start reading: the lookback before
// the window, or the baseline's start when that is earlier.
func (r Range) ChangesFrom() time.Time {
	from := r.Window.From.Add(-r.Lookback)
	if !r.Baseline.From.IsZero() && r.Baseline.From.Before(from) {
		from = r.Baseline.From
	}
	return from
}

// Part is what one source read. Only a recording sets Window and
// Baseline: the ones it was recorded with.
type Part struct {
	telemetry.Bundle
	Origin Origin
}

// Origin says where a part came from, for a snapshot's manifest: the
// server's URL without credentials, and the query that selected its
// data where there is one (Loki's stream selector).
type Origin struct {
	Source string
	URL    string
	Query  string
}

// SourceError is a source that failed; Source is its Name, so the config
// layer can say where the source was set up.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// AlignDown rounds t down to a multiple of step since the Unix epoch, as
// Grafana and the query frontends of Thanos and Mimir align (and cache)
// range queries. time.Time.Truncate counts from year 1 instead, which
// differs for steps that do not divide a day.
func AlignDown(t time.Time, step time.Duration) time.Time {
	if step <= 0 {
		return t
	}
	// The epoch's offset from Truncate's grid; no UnixNano, so no overflow.
	epoch := time.Unix(0, 0)
	shift := epoch.Sub(epoch.Truncate(step))
	return t.Add(-shift).Truncate(step).Add(shift)
}

// Logger is log, or a logger that discards where log is nil: a source's
// New takes nil for no logging.
func Logger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
