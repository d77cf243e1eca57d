package collectors

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// static is a source that returns a fixed part: the smallest source there
// is, and the example of README.md (the whole of a new source is this and
// one line in internal/config).
type static struct {
	name string
	part Part
	err  error
	// started counts calls, so tests can see that sources ran at once.
	wait    chan struct{}
	started *atomic.Int32
}

func (s static) Name() string { return s.name }

func (s static) Collect(ctx context.Context, req Request) (Part, error) {
	if s.started != nil {
		s.started.Add(1)
	}
	if s.wait != nil {
		select {
		case <-s.wait:
		case <-ctx.Done():
			return Part{}, ctx.Err()
		}
	}
	req.Status(s.name + " done")
	return s.part, s.err
}

var (
	t0     = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	window = telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)}
	base   = telemetry.Window{From: t0.Add(-time.Hour), To: t0}
)

func series(metric, svc string) telemetry.Series {
	return telemetry.Series{Metric: metric, Signal: metric, Query: "q", Labels: telemetry.Labels{"service": svc}}.WithPoints([]telemetry.Point{{T: t0, V: 1}}...)
}

func ids(s []telemetry.Series) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.ID())
	}
	return out
}

// TestCollectMerges: series of several sources come in the order a
// snapshot read gives them, so a live analysis and its replay agree; lines
// and warnings keep the order of the sources; one rollout two sources
// report is one change.
func TestCollectMerges(t *testing.T) {
	deploy := telemetry.Change{T: t0.Add(-5 * time.Minute), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v2", ToVersion: "v2", Source: "file"}
	version := telemetry.Change{T: t0.Add(-4 * time.Minute), Service: "checkout", Kind: telemetry.ChangeVersion, Summary: "version checkout v1 -> v2", FromVersion: "v1", ToVersion: "v2", Source: "prometheus: build info"}
	metrics := static{name: "metrics", part: Part{
		Bundle: telemetry.Bundle{Series: []telemetry.Series{series("cpu_usage", "a"), series("upstream_timeouts", "a")}, Changes: []telemetry.Change{version}, Warnings: []string{"w1"}},
		Origin: Origin{Source: "metrics", URL: "http://m"},
	}}
	logs := static{name: "logs", part: Part{
		Bundle: telemetry.Bundle{Series: []telemetry.Series{series("log_timeouts", "b"), series("log_errors", "a")}, Logs: []telemetry.LogLine{{T: t0, Line: "x"}}, Warnings: []string{"w2"}},
		Origin: Origin{Source: "logs", URL: "http://l", Query: "{}"},
	}}
	file := static{name: "file", part: Part{Bundle: telemetry.Bundle{Changes: []telemetry.Change{deploy}}}}

	b, origins, err := Collect(context.Background(), []Source{metrics, logs, file}, Request{Range: Range{Window: window, Baseline: base}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`cpu_usage{service="a"}`, `log_errors{service="a"}`, `log_timeouts{service="b"}`, `upstream_timeouts{service="a"}`}; !slices.Equal(ids(b.Series), want) {
		t.Errorf("series %q, want %q", ids(b.Series), want)
	}
	if !slices.Equal(b.Warnings, []string{"w1", "w2"}) || len(b.Logs) != 1 {
		t.Errorf("warnings %q, %d lines", b.Warnings, len(b.Logs))
	}
	if len(b.Changes) != 1 || b.Changes[0].Kind != telemetry.ChangeDeploy || b.Changes[0].FromVersion != "v1" {
		t.Errorf("changes %+v, want the deploy with the version's from_version", b.Changes)
	}
	if b.Window != window || b.Baseline != base {
		t.Errorf("range %s / %s", b.Window, b.Baseline)
	}
	if len(origins) != 2 || origins[1].Query != "{}" {
		t.Errorf("origins %+v", origins)
	}
}

// TestCollectConcurrent: the sources run at once (each waits for the
// other to have started), and progress reaches the request's listener.
func TestCollectConcurrent(t *testing.T) {
	var started atomic.Int32
	release := make(chan struct{})
	go func() {
		for started.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		close(release)
	}()
	a := static{name: "a", part: Part{Bundle: telemetry.Bundle{Series: []telemetry.Series{series("m", "a")}}}, wait: release, started: &started}
	b := static{name: "b", part: Part{Bundle: telemetry.Bundle{Series: []telemetry.Series{series("m", "b")}}}, wait: release, started: &started}
	var statuses atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, _, err := Collect(ctx, []Source{a, b}, Request{Range: Range{Window: window}, Progress: func(string) { statuses.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 2 || statuses.Load() != 2 {
		t.Errorf("%d series, %d statuses; want 2 and 2", len(got.Series), statuses.Load())
	}
}

// TestCollectFailure: the failing source is named, and the others are
// cancelled rather than waited for.
func TestCollectFailure(t *testing.T) {
	boom := errors.New("boom")
	slow := static{name: "slow", wait: make(chan struct{})} // never released: ends only by cancellation
	failing := static{name: "failing", err: boom}
	_, _, err := Collect(context.Background(), []Source{slow, failing}, Request{Range: Range{Window: window}})
	var se *SourceError
	if !errors.As(err, &se) || se.Source != "failing" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the failing source's error", err)
	}
}

// TestCollectNoData: servers that returned nothing fail the collection
// with the reason a warning gives; a recording with nothing in it does not.
func TestCollectNoData(t *testing.T) {
	server := static{name: "server", part: Part{Bundle: telemetry.Bundle{Warnings: []string{"prometheus: signal x: query y failed: 500"}}, Origin: Origin{Source: "server", URL: "http://s"}}}
	_, _, err := Collect(context.Background(), []Source{server}, Request{Range: Range{Window: window, Baseline: base}})
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "query y failed") || !strings.Contains(err.Error(), "between 2026-11-24T13:00:00Z and 2026-11-24T14:30:00Z") {
		t.Errorf("err = %v", err)
	}
	file := static{name: "file"}
	if _, _, err := Collect(context.Background(), []Source{file}, Request{Range: Range{Window: window}}); err != nil {
		t.Errorf("a source that asked no server: %v", err)
	}
}

// TestCollectRecordedRange: without a window, the first source (a
// recording) sets it, and the rest read over it; a baseline rule derives
// the baseline from the recorded window.
func TestCollectRecordedRange(t *testing.T) {
	recording := static{name: "recording", part: Part{Bundle: telemetry.Bundle{Window: window, Baseline: base, Series: []telemetry.Series{series("m", "a")}}}}
	var seen Range
	probe := probeSource{seen: &seen}
	weekEarlier := func(w telemetry.Window) (telemetry.Window, error) {
		return telemetry.Window{From: w.From.Add(-7 * 24 * time.Hour), To: w.To.Add(-7 * 24 * time.Hour)}, nil
	}
	b, _, err := Collect(context.Background(), []Source{recording, probe}, Request{Range: Range{Lookback: time.Hour, BaselineOf: weekEarlier}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Window != window || b.Baseline.From != window.From.Add(-7*24*time.Hour) {
		t.Errorf("bundle range %s / %s", b.Window, b.Baseline)
	}
	if seen.Window != window || !seen.ChangesFrom().Equal(window.From.Add(-7*24*time.Hour)) {
		t.Errorf("the second source read %s from %s", seen.Window, seen.ChangesFrom())
	}
}

type probeSource struct{ seen *Range }

func (probeSource) Name() string { return "probe" }
func (p probeSource) Collect(_ context.Context, req Request) (Part, error) {
	*p.seen = req.Range
	return Part{}, nil
}

// TestCollectLinker: linkers run after the merge and see every source's
// changes; a failing linker is named.
func TestCollectLinker(t *testing.T) {
	deploy := telemetry.Change{T: t0, Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy"}
	file := static{name: "file", part: Part{Bundle: telemetry.Bundle{Changes: []telemetry.Change{deploy}}}}
	var saw int
	l := linker{link: func(b *telemetry.Bundle) error { saw = len(b.Changes); b.Changes[0].Commit = "abc"; return nil }}
	b, _, err := Collect(context.Background(), []Source{l, file}, Request{Range: Range{Window: window}})
	if err != nil || saw != 1 || b.Changes[0].Commit != "abc" {
		t.Errorf("err %v, linker saw %d changes, commit %q", err, saw, b.Changes[0].Commit)
	}
	bad := linker{link: func(*telemetry.Bundle) error { return errors.New("no repo") }}
	var se *SourceError
	if _, _, err := Collect(context.Background(), []Source{bad}, Request{Range: Range{Window: window}}); !errors.As(err, &se) || se.Source != "linker" {
		t.Errorf("err = %v, want a SourceError naming the linker", err)
	}
}

type linker struct{ link func(*telemetry.Bundle) error }

func (linker) Name() string                                                   { return "linker" }
func (linker) Collect(context.Context, Request) (Part, error)                 { return Part{}, nil }
func (l linker) Link(_ context.Context, b *telemetry.Bundle, _ Request) error { return l.link(b) }

func TestRangeSpans(t *testing.T) {
	for name, tc := range map[string]struct {
		r    Range
		want int
	}{
		"no baseline":       {Range{Window: window}, 1},
		"touching baseline": {Range{Window: window, Baseline: base}, 1},
		"a week earlier":    {Range{Window: window, Baseline: telemetry.Window{From: base.From.Add(-168 * time.Hour), To: base.To.Add(-168 * time.Hour)}}, 2},
	} {
		spans := tc.r.Spans()
		if len(spans) != tc.want || !spans[len(spans)-1].To.Equal(window.To) {
			t.Errorf("%s: spans %v", name, spans)
		}
	}
}
