package report

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{0.38, "ratio", "38%"},
		{0.001, "ratio", "0.1%"},
		{0.123456, "ratio", "12.3%"},
		{1, "ratio", "100%"},
		{12.5, "percent", "12.5%"},
		{0.0000123, "seconds", "12.3µs"},
		{0.2, "seconds", "200ms"},
		{0.9996, "seconds", "1s"},
		{30, "seconds", "30s"},
		{90, "seconds", "1.5min"},
		{7200, "seconds", "2h"},
		{0, "seconds", "0s"},
		{512, "bytes", "512 B"},
		{1536, "bytes", "1.5 KiB"},
		{412 * 1024 * 1024, "bytes", "412 MiB"},
		{3 << 30, "bytes", "3 GiB"},
		{1.95, "cores", "1.95 cores"},
		{1, "cores", "1 core"},
		{1234, "per_second", "1.23k/s"},
		{0.5, "per_second", "0.5/s"},
		{1830, "", "1.83k"},
		{999950, "count", "1M"},
		{2.5e9, "count", "2.5G"},
		{-0.25, "count", "-0.25"},
		{math.Copysign(0, -1), "", "0"},
		{0.000123456, "", "0.000123"},
		{3, "widgets", "3 widgets"},
		{math.NaN(), "ratio", "n/a"},
		{math.Inf(1), "seconds", "+Inf"},
		{math.Inf(-1), "", "-Inf"},
		// Defect 5 of issue 17: 1e308 printed as a 309-digit number.
		{1e308, "cores", "1e+308 cores"},
		{-1e308, "", "-1e+308"},
		{math.MaxFloat64, "per_second", "1.8e+308/s"},
		{999e12, "", "999T"},
		{1e15, "", "1e+15"},
		{1e308, "bytes", "1e+308 B"},
		{3 << 50, "bytes", "3 PiB"},
		{1e-300, "", "1e-300"},
		{1.5e-7, "percent", "1.5e-07%"},
		{1e308, "seconds", "2.78e+304h"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit); len(got) > 20 {
			t.Errorf("formatValue(%v, %q) = %q: %d characters", tt.v, tt.unit, got, len(got))
		}
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{200 * time.Millisecond, "200ms"},
		{1500 * time.Millisecond, "1.5s"},
		{12 * time.Second, "12s"},
		{70 * time.Second, "1m10s"},
		{30 * time.Minute, "30m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{7 * 24 * time.Hour, "7d"},
		{-12 * time.Second, "-12s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestClock(t *testing.T) {
	day := "2024-05-14"
	tests := []struct {
		t    time.Time
		want string
	}{
		{at("14:04:12"), "14:04:12"},
		{at("14:04:12").In(time.FixedZone("CEST", 2*3600)), "14:04:12"},
		{at("00:10:00").Add(-time.Hour), "2024-05-13 23:10:00"},
		{time.Time{}, "unknown"},
	}
	for _, tt := range tests {
		if got := clock(tt.t, day); got != tt.want {
			t.Errorf("clock(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	long := strings.Repeat("x", 30)
	tests := []struct {
		name, first, rest, text string
		width                   int
		want                    []string
	}{
		{"fits", "> ", "  ", "a b c", 10, []string{"> a b c"}},
		{"wraps", "> ", "  ", "aaa bbb ccc", 10, []string{"> aaa bbb", "  ccc"}},
		{"empty", "> ", "  ", "", 10, []string{"> "}},
		{"long word alone", "q: ", "  ", long + " b", 10, []string{"q: ", "  " + long, "  b"}},
		{"long word, blank prefix", "  ", "  ", long, 10, []string{"  " + long}},
		{"collapses spaces", "", "", "a \n\t b", 10, []string{"a b"}},
	}
	for _, tt := range tests {
		got := wrap(tt.first, tt.rest, tt.text, tt.width)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: wrap = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestQueryFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`sum by (service) (rate(x[5m]))`, []string{"sum", "by", "(service)", "(rate(x[5m]))"}},
		{`{app="a b"} |= "upstream  request timeout" != 'x y'`, []string{`{app="a b"}`, "|=", `"upstream  request timeout"`, "!=", `'x y'`}},
		{`{a="say \"hi there\""} |~ ` + "`a b`", []string{`{a="say \"hi there\""}`, "|~", "`a b`"}},
		{`  `, nil},
	}
	for _, tt := range tests {
		got := queryFields(tt.in)
		if strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") || len(got) != len(tt.want) {
			t.Errorf("queryFields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestChangeTitle(t *testing.T) {
	c := checkoutDeploy().Change
	tests := []struct {
		name    string
		summary string
		commit  string
		want    string
	}{
		{"summary and short commit", "deploy checkout v1.4.2", c.Commit, "deploy checkout v1.4.2 (commit 9f3c1e2)"},
		{"commit already in summary", "deploy 9f3c1e2 to checkout", c.Commit, "deploy 9f3c1e2 to checkout"},
		{"no summary", "", "", "deploy checkout v1.4.2"},
		{"not a hash", "flip flag", "release-7", "flip flag (commit release-7)"},
	}
	for _, tt := range tests {
		cc := *c
		cc.Summary, cc.Commit = tt.summary, tt.commit
		if got := changeTitle(cc); got != tt.want {
			t.Errorf("%s: changeTitle = %q, want %q", tt.name, got, tt.want)
		}
	}
}
