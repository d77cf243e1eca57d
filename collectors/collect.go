package collectors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

// ErrNoData is a read of servers that found nothing to analyse.
var ErrNoData = errors.New("no data")

// Collect runs the sources over the request's range and merges what they
// read into one bundle: series, lines, edges and warnings in the order of
// the sources, changes merged across sources (one rollout that several
// report is one change), then the linkers. It returns the origins of the
// parts too, for a snapshot's manifest.
//
// When the request leaves the window to a recording (Window zero), the
// first source must be one: it runs first and fixes the range for the
// rest. Otherwise all sources run at once. The first failing source, in
// the order given, fails the whole collection with a *SourceError.
func Collect(ctx context.Context, sources []Source, req Request) (telemetry.Bundle, []Origin, error) {
	// One clock for the run: each HTTP source's timeout bounds all its
	// requests together, not each one.
	ctx = httpsource.RunContext(ctx)
	parts := make([]Part, len(sources))
	rest := sources
	if req.Window.From.IsZero() && req.Window.To.IsZero() && len(sources) > 0 {
		if err := collectInto(ctx, sources[:1], req, parts[:1]); err != nil {
			return telemetry.Bundle{}, nil, err
		}
		var err error
		if req.Range, err = recordedRange(req.Range, parts[0]); err != nil {
			return telemetry.Bundle{}, nil, &SourceError{Source: sources[0].Name(), Err: err}
		}
		rest = sources[1:]
	}
	if err := collectInto(ctx, rest, req, parts[len(sources)-len(rest):]); err != nil {
		return telemetry.Bundle{}, nil, err
	}

	b := telemetry.Bundle{Window: req.Window, Baseline: req.Baseline}
	var origins []Origin
	asked := false
	for _, p := range parts {
		b.Series = append(b.Series, p.Series...)
		b.Logs = append(b.Logs, p.Logs...)
		b.Changes = append(b.Changes, p.Changes...)
		b.Edges = append(b.Edges, p.Edges...)
		b.Warnings = append(b.Warnings, p.Warnings...)
		if p.Target != nil && b.Target == nil {
			b.Target = p.Target
		}
		if p.Origin != (Origin{}) {
			origins = append(origins, p.Origin)
			asked = asked || p.Origin.URL != ""
		}
	}
	if seriesParts(parts) > 1 {
		b.Series = telemetry.MergeSeries([][]telemetry.Series{b.Series})
	}
	if asked && len(b.Series) == 0 && len(b.Logs) == 0 {
		return b, origins, noData(b, httpsource.RunFailures(ctx))
	}
	b.Changes = MergeChanges(b.Changes)
	for _, s := range sources {
		l, ok := s.(Linker)
		if !ok {
			continue
		}
		if err := l.Link(ctx, &b, req); err != nil {
			return b, origins, &SourceError{Source: s.Name(), Err: err}
		}
	}
	return b, origins, nil
}

// collectInto runs the sources at once, each part in its slot; the first
// error in source order wins, and cancels the others.
func collectInto(ctx context.Context, sources []Source, req Request, parts []Part) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			p, err := s.Collect(ctx, req)
			if err != nil {
				errs[i] = &SourceError{Source: s.Name(), Err: err}
				cancel()
				return
			}
			parts[i] = p
		})
	}
	wg.Wait()
	// A source stopped by another's failure reports a cancellation: the
	// failure is the news, wherever it stands in the list.
	var canceled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled):
			canceled = cmp.Or(canceled, err)
		default:
			return err
		}
	}
	return canceled
}

// recordedRange is the range of a recording: its window, and its baseline
// unless the request derives another.
func recordedRange(r Range, p Part) (Range, error) {
	r.Window, r.Baseline = p.Window, p.Baseline
	if r.BaselineOf != nil {
		base, err := r.BaselineOf(r.Window)
		if err != nil {
			return r, fmt.Errorf("recorded window %s: %w", r.Window, err)
		}
		r.Baseline = base
	}
	return r, nil
}

// seriesParts counts the parts with series: one part's are already merged.
func seriesParts(parts []Part) int {
	n := 0
	for _, p := range parts {
		if len(p.Series) > 0 {
			n++
		}
	}
	return n
}

// noData says that the servers had nothing over the range, and why if a
// warning tells. When the servers failed (every request an error, or
// every query's answer unusable) that is the news, not the range: the
// message says how they failed, and sends no one to check the window.
func noData(b telemetry.Bundle, failures string) error {
	span := fmt.Sprintf("between %s and %s", b.Baseline.From.Format(time.RFC3339), b.Window.To.Format(time.RFC3339))
	var failed []string
	for _, w := range b.Warnings {
		if strings.Contains(w, "failed") || strings.Contains(w, "not finished within") {
			failed = append(failed, w)
		}
	}
	if failures != "" || len(failed) > 0 {
		how := "every query failed"
		if failures != "" {
			how = "the servers answered every request with an error (" + failures + ")"
		}
		if len(failed) > 0 {
			how += fmt.Sprintf("; %d warning(s), the first: %s", len(failed), failed[0])
		}
		return fmt.Errorf("%w %s: %s", ErrNoData, span, how)
	}
	why := "no catalog signal's metrics and no log lines there"
	for _, w := range b.Warnings {
		if strings.Contains(w, "no lines match") {
			why = w
			break
		}
	}
	return fmt.Errorf("%w %s (%s): check the window (times are UTC unless they carry an offset) and the URLs",
		ErrNoData, span, why)
}
