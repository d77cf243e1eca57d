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
	var data telemetry.Window
	for _, s := range b.Series {
		for _, p := range s.Points {
			if data.From.IsZero() || p.T.Before(data.From) {
				data.From = p.T
			}
			if p.T.After(data.To) {
				data.To = p.T
			}
		}
	}
	if data.From.IsZero() {
		return nil
	}
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
