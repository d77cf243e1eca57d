package timerange

import (
	"errors"
	"fmt"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// Defaults for a Spec's zero fields.
const (
	// DefaultSpan is the window length for --around without --span.
	DefaultSpan = 30 * time.Minute
	// DefaultBaseline is how much time before the window is the baseline.
	DefaultBaseline = time.Hour
	// DefaultMaxWindow caps windows and baselines: anything longer is
	// usually a typo, and it would pull days of series from the backend.
	DefaultMaxWindow = 7 * 24 * time.Hour
)

// Spec is the time range as the user gave it, before it is resolved against
// now. Error messages name the command-line flags, since that is where the
// values come from.
type Spec struct {
	// From and To bound the window (--from, --to); To defaults to now.
	From, To string
	// Around and Span centre a window of Span on Around (--around, --span).
	Around string
	Span   time.Duration

	// The baseline is one of: Baseline, the time just before the window
	// (default 1h); BaselineFrom..BaselineTo (To defaults to the start of the
	// window); or BaselineOffset, the window shifted that much earlier (7d:
	// the same time last week, for when the hour before was not normal).
	Baseline                 time.Duration
	BaselineFrom, BaselineTo string
	BaselineOffset           time.Duration

	// MaxWindow caps the length of the window and of the baseline; zero
	// means DefaultMaxWindow.
	MaxWindow time.Duration
}

// HasWindow reports whether the spec says anything about the window itself.
func (s Spec) HasWindow() bool {
	return s.From != "" || s.To != "" || s.Around != "" || s.Span != 0
}

// HasBaseline reports whether the spec says anything about the baseline.
func (s Spec) HasBaseline() bool {
	return s.Baseline != 0 || s.BaselineFrom != "" || s.BaselineTo != "" || s.BaselineOffset != 0
}

// CheckBaselineTimes validates the baseline times on their own, so a bad
// time is reported even when the window is not known yet (it comes from a
// snapshot later, or there is no data source at all).
func (s Spec) CheckBaselineTimes(now time.Time) error {
	for _, t := range []struct{ flag, val string }{{"--baseline-from", s.BaselineFrom}, {"--baseline-to", s.BaselineTo}} {
		if t.val == "" {
			continue
		}
		if _, err := Parse(t.val, now); err != nil {
			return fmt.Errorf("%s: %w", t.flag, err)
		}
	}
	return nil
}

func (s Spec) maxWindow() time.Duration {
	if s.MaxWindow <= 0 {
		return DefaultMaxWindow
	}
	return s.MaxWindow
}

// Resolve turns the spec into the analysis window and its baseline.
func Resolve(spec Spec, now time.Time) (window, baseline telemetry.Window, err error) {
	window, err = ResolveWindow(spec, now)
	if err != nil {
		return telemetry.Window{}, telemetry.Window{}, err
	}
	baseline, err = ResolveBaseline(spec, window, now)
	if err != nil {
		return telemetry.Window{}, telemetry.Window{}, err
	}
	return window, baseline, nil
}

// ResolveWindow resolves the window part of the spec alone.
func ResolveWindow(spec Spec, now time.Time) (telemetry.Window, error) {
	var w telemetry.Window
	switch {
	case spec.Around != "" && (spec.From != "" || spec.To != ""):
		return w, errors.New("--around cannot be combined with --from/--to: give either --from/--to or --around/--span")
	case spec.Span < 0:
		return w, fmt.Errorf("--span %s is negative: give a length such as 30m", FormatDuration(spec.Span))
	case spec.Span != 0 && spec.Around == "":
		return w, errors.New("--span needs --around (the window is centred on --around)")
	case spec.Around != "":
		t, err := Parse(spec.Around, now)
		if err != nil {
			return w, fmt.Errorf("--around: %w", err)
		}
		span := spec.Span
		if span == 0 {
			span = DefaultSpan
		}
		w = telemetry.Window{From: t.Add(-span / 2), To: t.Add(span - span/2)}
	case spec.From == "" && spec.To != "":
		return w, errors.New("--to needs --from (or use --around T --span 30m)")
	case spec.From == "":
		return w, errors.New("no window: give --from (and --to, default now) or --around T --span 30m")
	default:
		var err error
		w, err = fromTo("window", "--from", spec.From, "--to", spec.To, now.UTC(), "now", now)
		if err != nil {
			return w, err
		}
	}
	if limit := spec.maxWindow(); w.Duration() > limit {
		return telemetry.Window{}, fmt.Errorf("window %s is %s long, more than the %s limit: narrow it with --from/--to or --around/--span",
			w, FormatDuration(w.Duration()), FormatDuration(limit))
	}
	return w, nil
}

// fromTo is the range what (the window, the baseline) that the options
// fromOpt and toOpt give as from and to; without to, it ends at def, which
// messages call defName.
func fromTo(what, fromOpt, from, toOpt, to string, def time.Time, defName string, now time.Time) (telemetry.Window, error) {
	start, err := Parse(from, now)
	if err != nil {
		return telemetry.Window{}, fmt.Errorf("%s: %w", fromOpt, err)
	}
	end, toName := def, defName
	if to != "" {
		if end, err = Parse(to, now); err != nil {
			return telemetry.Window{}, fmt.Errorf("%s: %w", toOpt, err)
		}
		toName = toOpt
	}
	switch {
	case start.After(end):
		return telemetry.Window{}, fmt.Errorf("%s %s is after %s %s: the %s must start before it ends", fromOpt, stamp(start), toName, stamp(end), what)
	case start.Equal(end):
		return telemetry.Window{}, fmt.Errorf("empty %s: %s and %s are both %s", what, fromOpt, toName, stamp(start))
	}
	return telemetry.Window{From: start, To: end}, nil
}

// ResolveBaseline resolves the baseline part of the spec for a window that is
// already known (resolved, or taken from a snapshot).
func ResolveBaseline(spec Spec, window telemetry.Window, now time.Time) (telemetry.Window, error) {
	var b telemetry.Window
	if err := window.Validate(); err != nil {
		return b, fmt.Errorf("baseline: %w", err)
	}
	explicit := spec.BaselineFrom != "" || spec.BaselineTo != ""
	n := 0
	for _, set := range []bool{spec.Baseline != 0, explicit, spec.BaselineOffset != 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		return b, errors.New("choose one way to set the baseline: --baseline, --baseline-from/--baseline-to, or --baseline-offset")
	}
	var how string // names the option in the overlap error
	switch {
	case spec.Baseline < 0:
		return b, fmt.Errorf("--baseline %s is negative: give a length such as 1h", FormatDuration(spec.Baseline))
	case spec.BaselineOffset < 0:
		return b, fmt.Errorf("--baseline-offset %s is negative: give how much earlier, such as 7d", FormatDuration(spec.BaselineOffset))
	case explicit:
		if spec.BaselineFrom == "" {
			return b, errors.New("--baseline-to needs --baseline-from")
		}
		var err error
		b, err = fromTo("baseline", "--baseline-from", spec.BaselineFrom, "--baseline-to", spec.BaselineTo, window.From, "the window start", now)
		if err != nil {
			return b, err
		}
		how = "--baseline-from/--baseline-to"
	case spec.BaselineOffset != 0:
		b = telemetry.Window{From: window.From.Add(-spec.BaselineOffset), To: window.To.Add(-spec.BaselineOffset)}
		how = fmt.Sprintf("--baseline-offset %s (shorter than the %s window)", FormatDuration(spec.BaselineOffset), FormatDuration(window.Duration()))
	default:
		d := spec.Baseline
		if d == 0 {
			d = DefaultBaseline
		}
		b, how = telemetry.Window{From: window.From.Add(-d), To: window.From}, "--baseline"
	}
	if b.Overlaps(window) {
		return telemetry.Window{}, fmt.Errorf("baseline %s overlaps the window %s: set by %s; the baseline must be normal time outside the incident", b, window, how)
	}
	if limit := spec.maxWindow(); b.Duration() > limit {
		return telemetry.Window{}, fmt.Errorf("baseline %s is %s long, more than the %s limit: shorten it", b, FormatDuration(b.Duration()), FormatDuration(limit))
	}
	return b, nil
}

// stamp formats a time for error messages.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
