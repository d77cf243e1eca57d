package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// ImpactSchema identifies the JSON document rca impact writes.
const ImpactSchema = "rca.impact/v1"

// ImpactFormats lists the formats RenderImpact accepts, default first.
func ImpactFormats() []string { return []string{"text", "markdown", "json"} }

// RenderImpact writes an impact assessment as "text", "markdown" or "json".
func RenderImpact(w io.Writer, format string, imp analysis.Impact) error {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text", "txt":
		_, err := io.WriteString(w, impactText(imp))
		return err
	case "markdown", "md":
		_, err := io.WriteString(w, impactMarkdown(imp))
		return err
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Schema string `json:"schema"`
			analysis.Impact
		}{ImpactSchema, imp})
	}
	return fmt.Errorf("unknown output format %q (valid: %s)", format, strings.Join(ImpactFormats(), ", "))
}

// OneLine puts text from users or telemetry on one line, as every report
// format does before escaping: control, bidi and line-separator characters
// become spaces, runs of white space one space.
func OneLine(s string) string { return clean(s) }

// EscapeMarkdown makes text from users or telemetry inert in Markdown.
func EscapeMarkdown(s string) string { return escapeMarkdown(s) }

func impactDay(imp analysis.Impact) string {
	if imp.Window.From.IsZero() {
		return ""
	}
	return imp.Window.From.UTC().Format(time.DateOnly)
}

// ImpactHeadline is the assessment in one plain sentence: when it started,
// whether it goes on, how many requests failed. It names no metrics.
func ImpactHeadline(imp analysis.Impact) string {
	day := impactDay(imp)
	if len(imp.Endpoints) == 0 {
		return "No user-facing symptom stands out against the baseline in " + span(imp.Window, day) + "."
	}
	s := "Started at " + clock(imp.Onset, day) + " UTC"
	if imp.Ongoing {
		s += " and is still going on"
	} else {
		s += " and has recovered"
	}
	s += "; affects " + strings.Join(imp.Services, ", ")
	if imp.FailedRequests >= 0.5 {
		s += fmt.Sprintf("; about %s requests failed", count(imp.FailedRequests))
	}
	return s + "."
}

// EndpointSentence says in plain words what one endpoint's users see, e.g.
// "36.5% of requests fail (normally 0.493%), about 4.13k of 11.3k; responses
// are 63x slower than usual (p99 latency 29.8s, normally 472ms)".
func EndpointSentence(e analysis.EndpointImpact) string { return endpointSentence(e, false) }

// PlainEndpointSentence is EndpointSentence for readers outside the team:
// no metric names ("responses are 63.2x slower than usual: 29.8s instead
// of 472ms").
func PlainEndpointSentence(e analysis.EndpointImpact) string { return endpointSentence(e, true) }

func endpointSentence(e analysis.EndpointImpact, plain bool) string {
	var parts []string
	if e.ErrorRatio.Known() {
		ratio := units.Format(float64(e.ErrorRatio), "ratio")
		var p string
		switch {
		case e.BaselineErrorRatio.Known() && !worse(float64(e.ErrorRatio), float64(e.BaselineErrorRatio), 0.001):
			p = "errors as usual (" + ratio + ")"
		default:
			p = ratio + " of requests fail"
			if e.BaselineErrorRatio.Known() {
				p += " (normally " + units.Format(float64(e.BaselineErrorRatio), "ratio") + ")"
			}
			if e.FailedRequests.Known() && e.FailedRequests >= 0.5 {
				p += ", about " + count(float64(e.FailedRequests))
				if e.Requests.Known() {
					p += " of " + count(float64(e.Requests))
				}
			}
		}
		parts = append(parts, p)
	}
	if e.Latency.Known() {
		lat := units.Format(float64(e.Latency), "seconds")
		name := e.LatencySignal
		if name == "" {
			name = "latency"
		}
		var p string
		switch {
		case plain && (!e.BaselineLatency.Known() || e.BaselineLatency <= 0):
			p = "responses take up to " + lat
		case plain && !worse(float64(e.Latency), float64(e.BaselineLatency), 0):
			p = "responses as fast as usual"
		case plain:
			p = "responses are " + sig3(float64(e.Latency/e.BaselineLatency)) + "x slower than usual (up to " + lat +
				" instead of " + units.Format(float64(e.BaselineLatency), "seconds") + ")"
		case !e.BaselineLatency.Known() || e.BaselineLatency <= 0:
			p = name + " " + lat
		case !worse(float64(e.Latency), float64(e.BaselineLatency), 0):
			p = "responses as fast as usual (" + name + " " + lat + ")"
		default:
			p = "responses are " + sig3(float64(e.Latency/e.BaselineLatency)) + "x slower than usual (" +
				name + " " + lat + ", normally " + units.Format(float64(e.BaselineLatency), "seconds") + ")"
		}
		parts = append(parts, p)
	}
	if e.Availability.Known() {
		p := "up " + units.Format(float64(e.Availability), "ratio") + " of the time"
		if e.BaselineAvailability.Known() {
			p += " (normally " + units.Format(float64(e.BaselineAvailability), "ratio") + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "abnormal, no request counts known"
	}
	return strings.Join(parts, "; ")
}

// RollbackLine names the change to undo and the version to go back to.
func RollbackLine(imp analysis.Impact) string {
	if imp.Change == nil {
		return ""
	}
	s := "Latest change before it started: " + changeTitle(*imp.Change) + " at " + clock(imp.Change.T, impactDay(imp)) + " UTC"
	if imp.Rollback != "" {
		s += "; roll back " + imp.Change.Service + " to " + imp.Rollback
	}
	return s + "."
}

// worse says whether v is clearly above its baseline: half as much again
// and more than slack.
func worse(v, baseline, slack float64) bool { return v > 1.5*baseline && v-baseline > slack }

// count is a number of requests: whole below a thousand.
func count(v float64) string { return num(math.Round(v)) }

func endpointName(e analysis.EndpointImpact) string {
	name := serviceName(e.Service)
	if e.Endpoint != "" {
		name += " " + clean(e.Endpoint)
	}
	if e.UserFacing {
		name += " (user-facing)"
	}
	return name
}

func endpointTimes(e analysis.EndpointImpact, day string) string {
	s := "since " + clock(e.Onset, day)
	if !e.Ongoing {
		s = clock(e.Onset, day) + " - " + clock(e.Until, day) + ", recovered"
	}
	return s
}

func impactText(imp analysis.Impact) string {
	day := impactDay(imp)
	var b strings.Builder
	fmt.Fprintf(&b, "IMPACT  %s, window %s (baseline %s)\n\n", day, span(imp.Window, day), span(imp.Baseline, day))
	b.WriteString(clean(ImpactHeadline(imp)) + "\n")
	if len(imp.Endpoints) > 0 {
		b.WriteString("\n")
		for _, e := range imp.Endpoints {
			fmt.Fprintf(&b, "  %s  [%s]\n      %s\n", endpointName(e), endpointTimes(e, day), clean(EndpointSentence(e)))
		}
	}
	if l := RollbackLine(imp); l != "" {
		b.WriteString("\n" + clean(l) + "\n")
	}
	return b.String()
}

func impactMarkdown(imp analysis.Impact) string {
	day := impactDay(imp)
	var b strings.Builder
	fmt.Fprintf(&b, "## Impact\n\nWindow %s, %s (baseline %s).\n\n", day, span(imp.Window, day), span(imp.Baseline, day))
	b.WriteString(escapeMarkdown(ImpactHeadline(imp)) + "\n")
	if len(imp.Endpoints) > 0 {
		b.WriteString("\n| Service | Endpoint | When | What users see |\n|---|---|---|---|\n")
		for _, e := range imp.Endpoints {
			svc := serviceName(e.Service)
			if e.UserFacing {
				svc += " (user-facing)"
			}
			row(&b, svc, orUnknown(e.Endpoint), endpointTimes(e, day), EndpointSentence(e))
		}
	}
	if l := RollbackLine(imp); l != "" {
		b.WriteString("\n" + escapeMarkdown(l) + "\n")
	}
	return b.String()
}

// LinkLine is one chain link in a line, for logs and drafts:
// "resource: CPU throttling on checkout (14:03:30, 95.2%)".
func LinkLine(f analysis.Finding, day string) string {
	p := []string{serviceName(f.Service), clock(when(f), day)}
	if !isChange(f) {
		p = append(p, units.Format(f.ObservedValue, f.Unit))
	}
	return layerName(f.Layer) + ": " + title(f) + " (" + strings.Join(p, ", ") + ")"
}

// ChangeTitle is a change in a line: "deploy checkout v1.4.2 (commit 9f3c1e2)".
func ChangeTitle(c telemetry.Change) string { return changeTitle(c) }
