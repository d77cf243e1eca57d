package timerange

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Accepted time formats, for error messages.
const formatsHint = "use RFC3339 (2026-11-24T14:02:00Z), unix seconds, or relative (now-30m, -2h)"

// minTime and maxTime bound every time Parse returns. Before 1970 there is no
// telemetry to look at, and after year 9999 RFC3339 cannot write the time
// back, which would break the promise that every accepted time round-trips.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// maxUnixSeconds is the largest unix time Parse accepts (end of year 9999).
const maxUnixSeconds = 253402300799

// Parse reads one instant. It accepts
//
//   - RFC3339 with any UTC offset, with or without fractional seconds
//     (2026-11-24T14:02:00Z, 2026-11-24T15:02:00.5+01:00);
//   - unix seconds, optionally with a fraction (1795960920, 1795960920.25);
//   - "now", and times relative to now: now-30m, now+5m, -2h (= now-2h),
//     with units s, m, h, d (24h) and w (7d), combinable (now-1h30m) and
//     fractional (-1.5h).
//
// Results are in UTC, between 1970 and the end of year 9999.
func Parse(s string, now time.Time) (time.Time, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return time.Time{}, fmt.Errorf("empty time: %s", formatsHint)
	}
	t, err := parse(in, now)
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fmt.Errorf("time %q is out of range: want a time between 1970 and 9999", s)
	}
	return t, nil
}

func parse(s string, now time.Time) (time.Time, error) {
	lower := strings.ToLower(s)
	switch {
	case lower == "now":
		return now, nil
	case strings.HasPrefix(lower, "now"):
		// Spaces around the operator are harmless ("now - 30m").
		rest := strings.ReplaceAll(lower[len("now"):], " ", "")
		if rest == "" || (rest[0] != '-' && rest[0] != '+') {
			return time.Time{}, unparseable(s)
		}
		return relative(s, rest, now)
	case s[0] == '-' || s[0] == '+':
		return relative(s, lower, now)
	case isUnix(s):
		return unixSeconds(s)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// RFC3339 allows lower-case t and z, Go's parser does not.
	if t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s)); err == nil {
		return t, nil
	}
	return time.Time{}, hint(s)
}

// relative applies a signed duration ("-30m", "+1h") to now.
func relative(orig, signed string, now time.Time) (time.Time, error) {
	sign := time.Duration(1)
	if signed[0] == '-' {
		sign = -1
	}
	d, err := ParseDuration(signed[1:])
	if err != nil {
		return time.Time{}, fmt.Errorf("unparseable relative time %q: %w", orig, err)
	}
	return now.Add(sign * d), nil
}

// isUnix reports whether s looks like unix seconds: digits, optionally a dot
// and more digits.
func isUnix(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) {
		return false
	}
	return !hasDot || (frac != "" && allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unixSeconds parses digits[.digits] exactly, without going through float64,
// so 1795960920.123456789 keeps its nanoseconds.
func unixSeconds(s string) (time.Time, error) {
	intPart, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec > maxUnixSeconds {
		if len(intPart) >= 13 {
			return time.Time{}, fmt.Errorf("unix time %q is too large: it looks like milliseconds, want seconds", s)
		}
		return time.Time{}, fmt.Errorf("unix time %q is out of range: want a time between 1970 and 9999", s)
	}
	var nsec int64
	if frac != "" {
		// Digits past nanoseconds are dropped, not rounded.
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		nsec, _ = strconv.ParseInt(frac, 10, 64) // nine digits always fit
	}
	return time.Unix(sec, nsec), nil
}

// hint explains the most common near misses before falling back to the
// generic message.
func hint(s string) error {
	// A date and time without an offset is ambiguous: whose 14:02?
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04"} {
		if _, err := time.Parse(layout, strings.SplitN(s, ".", 2)[0]); err == nil {
			return fmt.Errorf("time %q has no UTC offset: add Z or an offset such as +01:00 (2026-11-24T14:02:00Z)", s)
		}
	}
	if _, err := time.Parse("2006-01-02", s); err == nil {
		return fmt.Errorf("time %q has no time of day: write e.g. %sT00:00:00Z", s, s)
	}
	if _, err := ParseDuration(s); err == nil {
		return fmt.Errorf("time %q is a duration, not a time: for %s ago write -%s or now-%s", s, s, s, s)
	}
	return unparseable(s)
}

func unparseable(s string) error {
	return fmt.Errorf("unparseable time %q: %s", s, formatsHint)
}

// Duration units beyond Go's: a day is 24h and a week 7 days, which is what
// an engineer means by "7d" in an incident, daylight saving aside.
var units = map[string]time.Duration{
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  24 * time.Hour,
	"w":  7 * 24 * time.Hour,
}

var errDurationOverflow = errors.New("too long")

// ParseDuration reads a non-negative duration such as 30m, 1h30m, 1.5h, 7d
// or 2w. Units: ms, s, m, h, d (24h), w (7d). "0" alone is zero.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "0" {
		return 0, nil
	}
	if in == "" {
		return 0, fmt.Errorf("empty duration: use a number and a unit, e.g. 30m, 2h or 7d")
	}
	var total time.Duration
	rest := in
	for rest != "" {
		// Number: digits with at most one dot.
		i := 0
		dots := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			if rest[i] == '.' {
				dots++
			}
			i++
		}
		num := rest[:i]
		if num == "" || num == "." || dots > 1 {
			return 0, badDuration(s)
		}
		rest = rest[i:]
		j := 0
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 'A' && rest[j] <= 'Z') {
			j++
		}
		unit, ok := units[rest[:j]]
		if !ok {
			if j == 0 {
				return 0, fmt.Errorf("duration %q needs a unit: s, m, h, d or w (e.g. 30m)", s)
			}
			return 0, fmt.Errorf("duration %q has unknown unit %q: use ms, s, m, h, d or w", s, rest[:j])
		}
		rest = rest[j:]
		d, err := scale(num, unit)
		if err == nil && total > math.MaxInt64-d {
			err = errDurationOverflow
		}
		if err != nil {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += d
	}
	return total, nil
}

// scale multiplies a decimal number by a unit in integers, so 0.1h is exactly
// 6m and huge numbers report overflow instead of wrapping.
func scale(num string, unit time.Duration) (time.Duration, error) {
	intPart, frac, _ := strings.Cut(num, ".")
	var d time.Duration
	if intPart != "" {
		n, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) {
			return 0, errDurationOverflow
		}
		d = time.Duration(n) * unit
	}
	// Each fractional digit contributes digit*unit/10^k; past nanosecond
	// precision the rest cannot matter.
	div := int64(1)
	for k := 0; k < len(frac) && div < 1e18; k++ {
		div *= 10
		add := time.Duration(int64(frac[k]-'0') * int64(unit) / div)
		if d > math.MaxInt64-add {
			return 0, errDurationOverflow
		}
		d += add
	}
	return d, nil
}

func badDuration(s string) error {
	return fmt.Errorf("unparseable duration %q: use a number and a unit, e.g. 30m, 1h30m, 2h or 7d", s)
}

// FormatDuration writes d the way ParseDuration reads it, using days where
// they are whole: 7d rather than 168h0m0s.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	neg := d < 0
	if neg {
		if d == math.MinInt64 {
			d++ // -MinInt64 overflows; a nanosecond does not matter here
		}
		d = -d
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if d >= u.d {
			fmt.Fprintf(&b, "%d%s", d/u.d, u.name)
			d %= u.d
		}
	}
	if d > 0 {
		// Seconds with the fraction, without trailing zeros: 1.5s.
		sec := strconv.FormatInt(int64(d/time.Second), 10)
		if ns := d % time.Second; ns > 0 {
			sec += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
		}
		b.WriteString(sec + "s")
	}
	return b.String()
}
