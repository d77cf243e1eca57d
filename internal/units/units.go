// Package units formats values for people in the unit the signal catalog
// gives them: bytes as KiB, MiB, GiB; seconds as µs, ms, s, min, h; ratios
// as percentages; rates per second or minute; cores. The analysis writes
// its explanations with it and every report renders values with it, so a
// "why" line and the table beside it never disagree (2.16e+07 bytes beside
// 20.6 MiB).
package units

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Format renders v in unit, the catalog's unit name: "ratio", "percent",
// "seconds", "bytes", "cores", "per_second", "per_minute", "count" or ""
// (a plain number), or a known unit per second ("bytes/s", the rate of a
// byte counter). Any other unit is written after the number. NaN reads
// "n/a"; no value is written with more than three significant digits or,
// between 1e-6 and 1e15, with an exponent.
func Format(v float64, unit string) string {
	if s, ok := special(v); ok {
		return s
	}
	switch u := strings.ToLower(strings.TrimSpace(unit)); u {
	case "ratio":
		return Sig3(v*100) + "%"
	case "percent", "%":
		return Sig3(v) + "%"
	case "seconds", "s":
		return seconds(v)
	case "bytes", "b":
		return bytes(v)
	case "cores":
		if v == 1 {
			return "1 core"
		}
		return Sig3(v) + " cores"
	case "per_second", "rps", "/s":
		return Number(v) + "/s"
	case "per_minute", "/min":
		return Number(v) + "/min"
	case "", "count", "none":
		return Number(v)
	default:
		// The per-second rate of a counter of bytes or seconds.
		if base, ok := strings.CutSuffix(u, "/s"); ok {
			switch base {
			case "bytes", "b", "seconds", "s":
				return Format(v, base) + "/s"
			}
		}
	}
	return Number(v) + " " + unit
}

// Number formats a plain number with 3 significant digits and an SI suffix
// from a thousand up (1.83k, 2.5G), never in exponent notation below 1e15.
func Number(v float64) string {
	if s, ok := special(v); ok {
		return s
	}
	a := math.Abs(v)
	if round3(a) >= hugeValue {
		return Sig3(v) // past the largest suffix: an exponent, not "1e+296T"
	}
	for _, p := range []struct {
		f float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		// Round first so 999950 prints as 1M, not 1000k.
		if r := round3(a); r >= p.f {
			return Sig3(v/p.f) + p.s
		}
	}
	return Sig3(v)
}

// Sig3 is v with 3 significant digits, trailing zeros dropped, no exponent
// unless v is beyond 1e15 or below 1e-6 in size.
func Sig3(v float64) string {
	if s, ok := special(v); ok {
		return s
	}
	if v == 0 {
		return "0" // also turns -0 into 0
	}
	r := round3(v)
	if a := math.Abs(r); a >= hugeValue || a < tinyValue {
		return strconv.FormatFloat(r, 'g', 3, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// Duration is a short human duration: 200ms, 1.5s, 2m, 1h30m, 7d.
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-max(d, -math.MaxInt64)) // -MinInt64 overflows
	}
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return Sig3(d.Seconds()) + "s"
	}
	d = d.Round(time.Second)
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String() // e.g. 1h0m0s
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func seconds(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0s"
	case round3(a) < 1e-3:
		return Sig3(v*1e6) + "µs"
	case round3(a) < 1:
		return Sig3(v*1e3) + "ms"
	case round3(a) < 60:
		return Sig3(v) + "s"
	case round3(a/60) < 60:
		return Sig3(v/60) + "min"
	}
	return Sig3(v/3600) + "h"
}

func bytes(v float64) string {
	a := math.Abs(v)
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	if round3(a) >= 1<<60 {
		return Sig3(v) + " B" // past PiB: an exponent of bytes reads better
	}
	for i < len(units)-1 && round3(a) >= 1024 {
		a /= 1024
		v /= 1024
		i++
	}
	return Sig3(v) + " " + units[i]
}

// special formats NaN and infinities, which the analysis may leave behind
// on a flat or empty baseline.
func special(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "n/a", true
	case math.IsInf(v, 1):
		return "+Inf", true
	case math.IsInf(v, -1):
		return "-Inf", true
	}
	return "", false
}

// round3 rounds v to 3 significant digits.
func round3(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	if err != nil {
		return v // rounding up past the float64 limit (1.8e308): keep v
	}
	return r
}

// hugeValue and tinyValue bound the numbers Sig3 writes out in full: past
// them a plain decimal runs to hundreds of digits (1e308 is 309), so they
// get an exponent instead.
const (
	hugeValue = 1e15
	tinyValue = 1e-6
)
