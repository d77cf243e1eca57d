package timerange

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// now is a fixed clock for every test: 2026-11-24T14:30:00Z.
var now = time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-24T14:02:00Z", at("2026-11-24T14:02:00Z")},
		{"2026-11-24T14:02:00.123456789Z", at("2026-11-24T14:02:00.123456789Z")},
		{"2026-11-24T15:02:00+01:00", at("2026-11-24T14:02:00Z")},
		{"2026-11-24T09:02:00.5-05:00", at("2026-11-24T14:02:00.5Z")},
		{"2026-11-24t14:02:00z", at("2026-11-24T14:02:00Z")},
		{"  2026-11-24T14:02:00Z  ", at("2026-11-24T14:02:00Z")},
		{"1795960920", time.Unix(1795960920, 0).UTC()},
		{"1795960920.25", time.Unix(1795960920, 250000000).UTC()},
		{"1795960920.123456789", time.Unix(1795960920, 123456789).UTC()},
		{"1795960920.1234567899", time.Unix(1795960920, 123456789).UTC()},
		{"0", time.Unix(0, 0).UTC()},
		{"now", now},
		{"NOW", now},
		{"now-30m", now.Add(-30 * time.Minute)},
		{"now+5m", now.Add(5 * time.Minute)},
		{"now - 2h", now.Add(-2 * time.Hour)},
		{"now-1h30m", now.Add(-90 * time.Minute)},
		{"now-7d", now.Add(-7 * 24 * time.Hour)},
		{"now-1w", now.Add(-7 * 24 * time.Hour)},
		{"now-0", now},
		{"-2h", now.Add(-2 * time.Hour)},
		{"-1.5h", now.Add(-90 * time.Minute)},
		{"+10s", now.Add(10 * time.Second)},
		{"-500ms", now.Add(-500 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, got.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
			if got.Location() != time.UTC {
				t.Errorf("Parse(%q) location = %s, want UTC", tt.in, got.Location())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"yesterday", `unparseable time "yesterday": use RFC3339 (2026-11-24T14:02:00Z), unix seconds, or relative (now-30m, -2h)`},
		{"", "empty time"},
		{"   ", "empty time"},
		{"now-", `unparseable relative time "now-"`},
		{"now30m", `unparseable time "now30m"`},
		{"now-30", `needs a unit`},
		{"now-30y", `unknown unit "y"`},
		{"-2x", `unknown unit "x"`},
		{"-", `unparseable relative time "-"`},
		{"--2h", `unparseable relative time "--2h"`},
		{"2026-11-24T14:02:00", "has no UTC offset"},
		{"2026-11-24 14:02:00", "has no UTC offset"},
		{"2026-11-24T14:02:00.5", "has no UTC offset"},
		{"2026-11-24", "has no time of day"},
		{"2026-13-24T14:02:00Z", "unparseable time"},
		{"7d", "is a duration, not a time: for 7d ago write -7d or now-7d"},
		{"1795960920123", "looks like milliseconds"},
		{"999999999999", "out of range"},
		{"1795960920.", "unparseable time"},
		{".5", "unparseable time"},
		{"1969-12-31T23:59:59Z", "out of range"},
		{"now-3000w", "out of range"},
		{"now-99999999999w", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, now)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%q) error has a newline: %q", tt.in, err)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"30s", 30 * time.Second},
		{"30m", 30 * time.Minute},
		{"2h", 2 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"2w", 14 * 24 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{"0.1h", 6 * time.Minute},
		{".5m", 30 * time.Second},
		{"250ms", 250 * time.Millisecond},
		{"1.000000001s", time.Second + 1},
		{" 45m ", 45 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "empty duration"},
		{"30", "needs a unit"},
		{"m", "unparseable duration"},
		{"-30m", "unparseable duration"},
		{"1..5h", "unparseable duration"},
		{"1.2.3h", "unparseable duration"},
		{"3y", `unknown unit "y"`},
		{"3H", `unknown unit "H"`},
		{"100000000w", "too long"},
		{"200000w100000w", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %s, want error containing %q", tt.in, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDuration(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{30 * time.Minute, "30m"},
		{90 * time.Minute, "1h30m"},
		{7 * 24 * time.Hour, "7d"},
		{8 * 24 * time.Hour, "8d"},
		{36 * time.Hour, "1d12h"},
		{1500 * time.Millisecond, "1.5s"},
		{time.Nanosecond, "0.000000001s"},
		{-2 * time.Hour, "-2h"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%s) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.in >= 0 {
			back, err := ParseDuration(tt.want)
			if err != nil || back != tt.in {
				t.Errorf("ParseDuration(FormatDuration(%s)) = %s, %v", tt.in, back, err)
			}
		}
	}
}

// FuzzParse checks that Parse never panics, and that every time it accepts
// can be written back as RFC3339 and as unix seconds and read to the same
// instant: an accepted time is always one rca can report and re-read.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"2026-11-24T14:02:00Z", "2026-11-24T15:02:00.123+01:00", "1795960920", "1795960920.5",
		"now", "now-30m", "now+5m", "-2h", "+1.5d", "7d", "yesterday", "", "now-1w2d3h4m5s",
		"9999-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00Z", "0.000000001",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s, now)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%q) error has a newline: %q", s, err)
			}
			return
		}
		if got.Before(minTime) || got.After(maxTime) {
			t.Fatalf("Parse(%q) = %s, outside the promised range", s, got)
		}
		for _, back := range []string{
			got.Format(time.RFC3339Nano),
			got.Format(time.RFC3339),
			unixString(got),
		} {
			again, err := Parse(back, now)
			if err != nil {
				t.Fatalf("Parse(%q) = %s, but its formatting %q does not parse: %v", s, got, back, err)
			}
			// RFC3339 without nanoseconds drops the fraction on purpose.
			want := got
			if back == got.Format(time.RFC3339) {
				want = got.Truncate(time.Second)
			}
			if !again.Equal(want) {
				t.Fatalf("Parse(%q) = %s, but %q reads back as %s", s, got, back, again)
			}
		}
	})
}

func unixString(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += "." + strings.TrimRight(strconv.Itoa(1e9 + ns)[1:], "0")
	}
	return s
}

// FuzzParseDuration checks that ParseDuration never panics and that what it
// accepts formats back to the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30m", "1h30m", "1.5h", "7d", "2w", "250ms", "0", "", "9999999999w", ".5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %s, negative", s, d)
		}
		back := FormatDuration(d)
		again, err := ParseDuration(back)
		if err != nil || again != d {
			t.Fatalf("ParseDuration(%q) = %s, formatted %q reads back as %s, %v", s, d, back, again, err)
		}
	})
}
