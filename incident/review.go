package incident

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/report"
)

// Milestones are the moments a review measures from the first anomaly.
type Milestones struct {
	FirstAnomaly time.Time // the earliest onset an analysis or impact entry found
	// FirstSymptom is the earliest onset of a user-facing symptom (errors,
	// slowness, unavailability); zero when none was detected. When it is
	// later than FirstAnomaly, Anomaly says what was seen first.
	FirstSymptom time.Time
	Anomaly      string
	Change       time.Time // the change at the bottom of the chain
	Detected     time.Time // the incident was opened
	FirstUpdate  time.Time
	Mitigated    time.Time
	Resolved     time.Time
}

// Milestones reads the review's key moments off the log; a zero time is
// one the log does not know.
func (l *Log) Milestones() Milestones {
	var m Milestones
	if e, ok := l.Start(); ok {
		m.Detected = e.Time
	}
	for _, e := range l.Entries {
		var onset time.Time
		anomaly := "" // what the onset is of, when not a user-facing symptom
		switch {
		case e.Kind == KindAnalysis && e.Analysis != nil:
			onset, anomaly = e.Analysis.Onset, e.Analysis.FirstAnomaly
			// The latest analysis's change, as the timeline names it.
			m.Change = e.Analysis.ChangeTime
		case e.Kind == KindImpact && e.Assessment != nil:
			onset = e.Assessment.Onset // a symptom's, or zero
		}
		if onset.IsZero() {
			continue
		}
		if m.FirstAnomaly.IsZero() || onset.Before(m.FirstAnomaly) {
			m.FirstAnomaly, m.Anomaly = onset, anomaly
		}
		if anomaly == "" && (m.FirstSymptom.IsZero() || onset.Before(m.FirstSymptom)) {
			m.FirstSymptom = onset
		}
	}
	if m.FirstSymptom.Equal(m.FirstAnomaly) {
		m.Anomaly = ""
	}
	// By when they happened, not when they were written (--at).
	for _, e := range l.Entries {
		switch e.Kind {
		case KindUpdate:
			m.FirstUpdate = earliest(m.FirstUpdate, e.Time)
		case KindMitigate:
			m.Mitigated = earliest(m.Mitigated, e.Time)
		case KindResolve:
			if e.Time.After(m.Resolved) {
				m.Resolved = e.Time
			}
		}
	}
	if m.Mitigated.IsZero() {
		m.Mitigated = m.Resolved
	}
	return m
}

// earliest is the earlier of two times, a zero one unknown.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// WriteReview writes a blameless postmortem draft in Markdown: summary,
// impact, timeline, time to detect, mitigate and resolve, the cause chain
// with its evidence, prompts for what went well and badly, and action items
// for the team to fill in. Every text from the log or telemetry is escaped.
func WriteReview(w io.Writer, l *Log, now time.Time) error {
	esc := report.EscapeMarkdown
	start, _ := l.Start()
	m := l.Milestones()
	var b strings.Builder
	title := start.Title
	if title == "" {
		title = l.ID
	}
	fmt.Fprintf(&b, "# Postmortem: %s\n\n", esc(title))
	fmt.Fprintf(&b, "_Draft written by rca on %s from incident %s. Blameless: it describes what happened and why the system let it happen, not who did what. Edit freely._\n\n", now.UTC().Format("2006-01-02 15:04 UTC"), esc(l.ID))

	b.WriteString("## Summary\n\n")
	facts := []string{"Status: " + string(l.Status())}
	if start.Severity != "" {
		facts = append(facts, "Severity: "+start.Severity)
	}
	facts = append(facts, "Opened: "+stamp(m.Detected))
	if !m.Resolved.IsZero() {
		facts = append(facts, "Resolved: "+stamp(m.Resolved))
	}
	for _, f := range facts {
		fmt.Fprintf(&b, "- %s\n", esc(f))
	}
	a, hasAnalysis := l.latest(KindAnalysis)
	if hasAnalysis && a.Analysis != nil && a.Analysis.RootCause != "" {
		fmt.Fprintf(&b, "- Root cause (rca's top candidate, to be confirmed): %s\n", esc(a.Analysis.RootCause))
		if a.Analysis.Change != "" {
			fmt.Fprintf(&b, "- Triggered by: %s\n", esc(a.Analysis.Change))
		}
	} else if hasAnalysis {
		b.WriteString("- Root cause: _to be written; the attached analysis found no clear candidate._\n")
	} else {
		b.WriteString("- Root cause: _to be written; no analysis is attached to the log._\n")
	}

	b.WriteString("\n## Impact\n\n")
	if e, ok := l.latest(KindImpact); ok && e.Assessment != nil {
		imp := *e.Assessment
		fmt.Fprintf(&b, "%s\n\n", esc(report.ImpactHeadline(imp)))
		for _, ep := range imp.Endpoints {
			where := ep.Service
			if ep.Endpoint != "" {
				where += " " + ep.Endpoint
			}
			fmt.Fprintf(&b, "- %s: %s\n", esc(where), esc(report.EndpointSentence(ep)))
		}
	} else if s := oneLine(start.Impact); s != "" {
		fmt.Fprintf(&b, "%s\n", esc(s))
	} else {
		b.WriteString("_To be written: who was affected, how, for how long. Run rca impact --incident to attach a measurement._\n")
	}
	if svc, version := rollback(l); version != "" {
		fmt.Fprintf(&b, "- Rollback target: %s %s\n", esc(svc), esc(version))
	}

	b.WriteString("\n## Key times\n\n| Measure | Time |\n|---|---|\n")
	for _, r := range []struct {
		name     string
		from, to time.Time
	}{
		{"Time to detect (first anomaly to incident opened)", m.FirstAnomaly, m.Detected},
		{"Time to mitigate (first anomaly to mitigation)", m.FirstAnomaly, m.Mitigated},
		{"Time to resolve (first anomaly to resolution)", m.FirstAnomaly, m.Resolved},
		{"Time to first update (incident opened to first stakeholder update)", m.Detected, m.FirstUpdate},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", r.name, between(r.from, r.to))
	}

	b.WriteString("\n## Timeline (UTC)\n\n")
	for _, t := range timeline(l, m) {
		fmt.Fprintf(&b, "- **%s** %s\n", t.at.UTC().Format("2006-01-02 15:04:05"), t.text)
	}

	b.WriteString("\n## Cause chain\n\n")
	if hasAnalysis && a.Analysis != nil && len(a.Analysis.Chain) > 0 {
		b.WriteString("From what users saw down to what started it, as rca found it:\n\n")
		for i, c := range a.Analysis.Chain {
			fmt.Fprintf(&b, "%d. %s\n", i+1, esc(c))
		}
		if links := evidenceLinks(a.Files); links != "" {
			fmt.Fprintf(&b, "\nEvidence: %s\n", links)
		}
	} else {
		b.WriteString("_To be written. Run rca analyze --incident to attach a cause chain with its evidence._\n")
	}

	b.WriteString(`
## Why did the system allow it?

_Ask "why" until you reach something the team can change: a missing test, a review
that could not see the risk, a deploy with no canary, an alert that fired late._

## What went well

- _..._

## What went badly

- _..._

## Where we got lucky

- _..._

## Action items

| Action | Kind | Owner | Due |
|---|---|---|---|
| Add a test or benchmark that would have caught this change before it shipped | test | | |
| Make the risk visible in review (e.g. a performance budget, a checklist item) | review | | |
| Check who can ship this change and how it is rolled out (canary, automatic rollback) | access | | |
| Alert on the first symptom sooner; link the alert to this chain's dashboards | alerting | | |
`)
	if len(l.Problems) > 0 {
		fmt.Fprintf(&b, "\n_Note: %d line(s) of the incident log could not be read back and are left out (see rca log show %s)._\n", len(l.Problems), esc(l.ID))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// rollback is the version to roll back to, from the latest analysis or,
// failing that, the latest impact assessment.
func rollback(l *Log) (service, version string) {
	if e, ok := l.latest(KindAnalysis); ok && e.Analysis != nil && e.Analysis.Rollback != "" {
		svc := e.Analysis.ChangeService
		if svc == "" { // written before change_service existed
			svc = e.Analysis.Service
		}
		return svc, e.Analysis.Rollback
	}
	if e, ok := l.latest(KindImpact); ok && e.Assessment != nil && e.Assessment.Change != nil && e.Assessment.Rollback != "" {
		return e.Assessment.Change.Service, e.Assessment.Rollback
	}
	return "", ""
}

type moment struct {
	at   time.Time
	text string // Markdown, escaped
}

// timeline merges the log with the milestones the analysis found.
func timeline(l *Log, m Milestones) []moment {
	esc := report.EscapeMarkdown
	var out []moment
	switch {
	case m.FirstAnomaly.IsZero():
	case m.Anomaly == "" && m.FirstSymptom.Equal(m.FirstAnomaly):
		out = append(out, moment{m.FirstAnomaly, "First anomaly (rca): users start to see the problem."})
	default:
		// What was seen first is no user-facing symptom: say what it was.
		text := "First anomaly (rca): " + esc(oneLine(m.Anomaly))
		if m.FirstSymptom.IsZero() {
			text += "; no user-facing symptom (errors, slowness, unavailability) was detected."
		} else {
			text += ", before users saw anything."
			out = append(out, moment{m.FirstSymptom, "First user-facing symptom (rca): users start to see the problem."})
		}
		out = append(out, moment{m.FirstAnomaly, text})
	}
	if a, ok := l.latest(KindAnalysis); ok && a.Analysis != nil && a.Analysis.Change != "" && !m.Change.IsZero() {
		out = append(out, moment{m.Change, "Change: " + esc(a.Analysis.Change)})
	}
	for _, e := range l.Entries {
		text := esc(oneLine(e.Text))
		switch e.Kind {
		case KindStart:
			text = "Incident opened (detection): " + esc(oneLine(e.Title))
		case KindUpdate:
			text = "Stakeholder update (" + esc(string(e.Status)) + ")"
			if e.PostedTo != "" {
				text += " posted to " + esc(e.PostedTo)
			}
		case KindAnalysis:
			text = "Analysis attached: " + text
		case KindImpact:
			text = "Impact measured: " + text
		case KindMitigate:
			text = "Mitigated: " + text
		case KindResolve:
			text = "Resolved: " + text
		case KindChange:
			text = "Change noted: " + text
		}
		if e.Author != "" {
			text += " (" + esc(e.Author) + ")"
		}
		out = append(out, moment{e.Time, text})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// evidenceLinks links the evidence files by their base names; a path that
// could point outside the incident's folder is shown as text.
func evidenceLinks(files []string) string {
	var links []string
	for _, f := range files {
		text := report.EscapeMarkdown(path.Base(f))
		if linkable(f) {
			text = "[" + text + "](" + encodePath(f) + ")"
		}
		links = append(links, text)
	}
	return strings.Join(links, ", ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func between(from, to time.Time) string {
	if from.IsZero() || to.IsZero() {
		return "unknown"
	}
	d := to.Sub(from).Round(time.Second)
	if d < 0 {
		return "n/a (the incident was opened before the first anomaly: " + (-d).String() + " early)"
	}
	return d.String()
}
