package report

import (
	"strings"
	"testing"
	"time"
)

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
