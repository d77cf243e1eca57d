package timerange

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

func TestResolve(t *testing.T) {
	ts := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	win := func(from, to string) telemetry.Window { return telemetry.Window{From: ts(from), To: ts(to)} }
	tests := []struct {
		name         string
		spec         Spec
		wantWindow   telemetry.Window
		wantBaseline telemetry.Window
	}{
		{
			name:         "from and to, default baseline is the hour before",
			spec:         Spec{From: "2026-11-24T14:00:00Z", To: "2026-11-24T14:30:00Z"},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z"),
		},
		{
			name:         "to defaults to now",
			spec:         Spec{From: "now-30m"},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z"),
		},
		{
			name:         "relative from and to",
			spec:         Spec{From: "-2h", To: "now-1h"},
			wantWindow:   win("2026-11-24T12:30:00Z", "2026-11-24T13:30:00Z"),
			wantBaseline: win("2026-11-24T11:30:00Z", "2026-11-24T12:30:00Z"),
		},
		{
			name:         "around with span is centred",
			spec:         Spec{Around: "2026-11-24T14:04:00Z", Span: 30 * time.Minute},
			wantWindow:   win("2026-11-24T13:49:00Z", "2026-11-24T14:19:00Z"),
			wantBaseline: win("2026-11-24T12:49:00Z", "2026-11-24T13:49:00Z"),
		},
		{
			name:         "around without span uses 30m",
			spec:         Spec{Around: "1795960920"},
			wantWindow:   telemetry.Window{From: time.Unix(1795960920-900, 0).UTC(), To: time.Unix(1795960920+900, 0).UTC()},
			wantBaseline: telemetry.Window{From: time.Unix(1795960920-900-3600, 0).UTC(), To: time.Unix(1795960920-900, 0).UTC()},
		},
		{
			name:         "baseline length",
			spec:         Spec{From: "2026-11-24T14:00:00Z", To: "2026-11-24T14:30:00Z", Baseline: 3 * time.Hour},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T11:00:00Z", "2026-11-24T14:00:00Z"),
		},
		{
			name:         "explicit baseline range",
			spec:         Spec{From: "2026-11-24T14:00:00Z", To: "2026-11-24T14:30:00Z", BaselineFrom: "2026-11-24T08:00:00Z", BaselineTo: "2026-11-24T09:00:00Z"},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T08:00:00Z", "2026-11-24T09:00:00Z"),
		},
		{
			name:         "baseline-to defaults to the window start",
			spec:         Spec{From: "2026-11-24T14:00:00Z", To: "2026-11-24T14:30:00Z", BaselineFrom: "2026-11-24T12:00:00Z"},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T12:00:00Z", "2026-11-24T14:00:00Z"),
		},
		{
			name:         "baseline after the window is allowed",
			spec:         Spec{From: "2026-11-24T12:00:00Z", To: "2026-11-24T12:30:00Z", BaselineFrom: "2026-11-24T13:00:00Z", BaselineTo: "2026-11-24T14:00:00Z"},
			wantWindow:   win("2026-11-24T12:00:00Z", "2026-11-24T12:30:00Z"),
			wantBaseline: win("2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z"),
		},
		{
			name:         "baseline offset is the same window earlier",
			spec:         Spec{From: "2026-11-24T14:00:00Z", To: "2026-11-24T14:30:00Z", BaselineOffset: 7 * 24 * time.Hour},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-17T14:00:00Z", "2026-11-17T14:30:00Z"),
		},
		{
			name:         "offset equal to the window length just touches",
			spec:         Spec{From: "2026-11-24T14:00:00Z", To: "2026-11-24T14:30:00Z", BaselineOffset: 30 * time.Minute},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T13:30:00Z", "2026-11-24T14:00:00Z"),
		},
		{
			name:         "window exactly at the limit",
			spec:         Spec{From: "2026-11-17T14:30:00Z"},
			wantWindow:   win("2026-11-17T14:30:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-17T13:30:00Z", "2026-11-17T14:30:00Z"),
		},
		{
			name:         "offsets in input, UTC out",
			spec:         Spec{From: "2026-11-24T15:00:00+01:00", To: "2026-11-24T09:30:00-05:00"},
			wantWindow:   win("2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"),
			wantBaseline: win("2026-11-24T13:00:00Z", "2026-11-24T14:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, b, err := Resolve(tt.spec, now)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !w.From.Equal(tt.wantWindow.From) || !w.To.Equal(tt.wantWindow.To) {
				t.Errorf("window = %s, want %s", w, tt.wantWindow)
			}
			if !b.From.Equal(tt.wantBaseline.From) || !b.To.Equal(tt.wantBaseline.To) {
				t.Errorf("baseline = %s, want %s", b, tt.wantBaseline)
			}
			if w.Overlaps(b) {
				t.Errorf("window %s overlaps baseline %s", w, b)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	const from, to = "2026-11-24T14:00:00Z", "2026-11-24T14:30:00Z"
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"nothing given", Spec{}, "no window"},
		{"from after to", Spec{From: to, To: from}, "--from 2026-11-24T14:30:00Z is after --to 2026-11-24T14:00:00Z"},
		{"from in the future", Spec{From: "now+1h"}, "is after now"},
		{"empty window", Spec{From: from, To: from}, "empty window"},
		{"to without from", Spec{To: to}, "--to needs --from"},
		{"around and from", Spec{Around: from, From: from}, "--around cannot be combined with --from/--to"},
		{"around and to", Spec{Around: from, To: to}, "--around cannot be combined"},
		{"span without around", Spec{From: from, Span: time.Hour}, "--span needs --around"},
		{"negative span", Spec{Around: from, Span: -time.Hour}, "--span -1h is negative"},
		{"bad from", Spec{From: "yesterday"}, `--from: unparseable time "yesterday"`},
		{"bad to", Spec{From: from, To: "tomorrow"}, `--to: unparseable time "tomorrow"`},
		{"bad around", Spec{Around: "noon"}, `--around: unparseable time "noon"`},
		{"window too long", Spec{From: "now-8d"}, "window 2026-11-16T14:30:00Z .. 2026-11-24T14:30:00Z is 8d long, more than the 7d limit: narrow it"},
		{"custom limit", Spec{From: "now-2h", MaxWindow: time.Hour}, "more than the 1h limit"},
		{"baseline and offset", Spec{From: from, To: to, Baseline: time.Hour, BaselineOffset: 24 * time.Hour}, "choose one way to set the baseline"},
		{"baseline and range", Spec{From: from, To: to, Baseline: time.Hour, BaselineFrom: "now-5h"}, "choose one way to set the baseline"},
		{"range and offset", Spec{From: from, To: to, BaselineTo: "now-5h", BaselineOffset: time.Hour}, "choose one way to set the baseline"},
		{"baseline-to without from", Spec{From: from, To: to, BaselineTo: "now-5h"}, "--baseline-to needs --baseline-from"},
		{"baseline from after to", Spec{From: from, To: to, BaselineFrom: "now-2h", BaselineTo: "now-3h"}, "--baseline-from 2026-11-24T12:30:00Z is after --baseline-to 2026-11-24T11:30:00Z"},
		{"baseline from after window start", Spec{From: from, To: to, BaselineFrom: "2026-11-24T14:10:00Z"}, "is after the window start"},
		{"empty baseline", Spec{From: from, To: to, BaselineFrom: "now-3h", BaselineTo: "now-3h"}, "empty baseline"},
		{"bad baseline-from", Spec{From: from, To: to, BaselineFrom: "last week"}, `--baseline-from: unparseable time "last week"`},
		{"bad baseline-to", Spec{From: from, To: to, BaselineFrom: "now-3h", BaselineTo: "x"}, `--baseline-to: unparseable time "x"`},
		{"range overlaps window", Spec{From: from, To: to, BaselineFrom: "2026-11-24T13:00:00Z", BaselineTo: "2026-11-24T14:10:00Z"}, "overlaps the window"},
		{"range covers window", Spec{From: from, To: to, BaselineFrom: "2026-11-24T13:00:00Z", BaselineTo: "2026-11-24T15:00:00Z"}, "overlaps the window"},
		{"offset shorter than window", Spec{From: from, To: to, BaselineOffset: 10 * time.Minute}, "--baseline-offset 10m (shorter than the 30m window)"},
		{"negative baseline", Spec{From: from, To: to, Baseline: -time.Hour}, "--baseline -1h is negative"},
		{"negative offset", Spec{From: from, To: to, BaselineOffset: -time.Hour}, "--baseline-offset -1h is negative"},
		{"baseline too long", Spec{From: from, To: to, Baseline: 8 * 24 * time.Hour}, "baseline 2026-11-16T14:00:00Z .. 2026-11-24T14:00:00Z is 8d long, more than the 7d limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, b, err := Resolve(tt.spec, now)
			if err == nil {
				t.Fatalf("Resolve = %s / %s, want error containing %q", w, b, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
			if !w.From.IsZero() || !b.From.IsZero() {
				t.Errorf("on error, windows should be zero: %s / %s", w, b)
			}
		})
	}
}

func TestResolveBaselineForKnownWindow(t *testing.T) {
	w := telemetry.Window{From: now.Add(-time.Hour), To: now}
	b, err := ResolveBaseline(Spec{BaselineOffset: 24 * time.Hour}, w, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := w.From.Add(-24 * time.Hour); !b.From.Equal(want) || b.Duration() != time.Hour {
		t.Errorf("baseline = %s, want an hour from %s", b, want)
	}
	if _, err := ResolveBaseline(Spec{}, telemetry.Window{}, now); err == nil {
		t.Error("ResolveBaseline with a zero window: want error")
	}
}

func TestSpecHas(t *testing.T) {
	if (Spec{}).HasWindow() || (Spec{}).HasBaseline() {
		t.Error("zero spec should have neither window nor baseline")
	}
	if !(Spec{Span: time.Minute}).HasWindow() || !(Spec{BaselineTo: "now"}).HasBaseline() {
		t.Error("HasWindow/HasBaseline missed a set field")
	}
	if (Spec{MaxWindow: time.Hour}).HasWindow() {
		t.Error("MaxWindow alone is not a window")
	}
}

func TestCheckBaselineTimes(t *testing.T) {
	now := time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{}, ""},
		{Spec{BaselineFrom: "now-2h", BaselineTo: "-1h"}, ""},
		{Spec{BaselineFrom: "yesterday"}, `--baseline-from: `},
		{Spec{BaselineFrom: "now-2h", BaselineTo: "2026-11-24T13:00:00"}, `--baseline-to: time "2026-11-24T13:00:00" has no UTC offset`},
	} {
		err := tc.spec.CheckBaselineTimes(now)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}
