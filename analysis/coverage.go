package analysis

import (
	"fmt"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// CoverageWarnings says when the window or baseline lies outside the data
// the bundle holds, e.g. a relative --from (now-30m) against an old
// snapshot. Analyze does not add them: callers append them to its Warnings.
func CoverageWarnings(b telemetry.Bundle) []string {
	var from, to int64
	some := false
	for _, s := range b.Series {
		for _, t := range s.Times {
			if !some || t < from {
				from = t
			}
			if !some || t > to {
				to = t
			}
			some = true
		}
	}
	if !some {
		return nil
	}
	data := telemetry.Window{From: telemetry.TimeOf(from), To: telemetry.TimeOf(to)}
	data.To = data.To.Add(time.Nanosecond) // include the last sample
	var warns []string
	for _, w := range []struct {
		name string
		w    telemetry.Window
	}{{"window", b.Window}, {"baseline", b.Baseline}} {
		if !w.w.Overlaps(data) {
			warns = append(warns, fmt.Sprintf("the %s %s lies outside the data in the bundle (%s): nothing to compare there", w.name, w.w, data))
		}
	}
	return warns
}
