package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/report"
	"github.com/rca-tool/rca/timerange"
)

// DefaultCadence is how often stakeholders hear from the responders.
const DefaultCadence = 30 * time.Minute

// Update is a drafted stakeholder update.
type Update struct {
	Status Status
	// Text is plain text for people outside the team: no metric names, no
	// blame, no Markdown.
	Text string
	// Next is when the next update is due; zero once resolved.
	Next time.Time
}

// DraftUpdate writes a stakeholder update from the log: status, impact in
// plain words, what is known, what is being done and when the next update
// comes. status overrides the status the log implies when not empty.
func DraftUpdate(l *Log, status Status, now time.Time, cadence time.Duration) Update {
	if cadence <= 0 {
		cadence = DefaultCadence
	}
	if status == "" {
		status = l.Status()
	}
	now = now.UTC()
	start, _ := l.Start()
	var b strings.Builder
	title := oneLine(start.Title)
	if title == "" {
		title = l.ID
	}
	fmt.Fprintf(&b, "[%s] %s", statusWord(status), title)
	if sev := oneLine(start.Severity); sev != "" {
		fmt.Fprintf(&b, " (%s)", sev)
	}
	fmt.Fprintf(&b, " - update at %s UTC\n\n", now.Format("15:04"))

	fmt.Fprintf(&b, "Status: %s\n", statusSentence(status))
	fmt.Fprintf(&b, "Impact: %s\n", impactWords(l, start))
	fmt.Fprintf(&b, "What we know: %s\n", knownWords(l, status))
	fmt.Fprintf(&b, "What we are doing: %s\n", doingWords(l, status))
	u := Update{Status: status}
	if status != StatusResolved {
		u.Next = now.Add(cadence).Truncate(time.Minute)
		fmt.Fprintf(&b, "Next update: by %s UTC.\n", u.Next.Format("15:04"))
	} else {
		b.WriteString("This is the last update. A review of what happened will follow.\n")
	}
	u.Text = b.String()
	return u
}

func statusWord(s Status) string {
	if s == "" {
		return "Update"
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

func statusSentence(s Status) string {
	switch s {
	case StatusIdentified:
		return "Identified. The cause has been identified and we are working on a fix."
	case StatusMonitoring:
		return "Monitoring. A fix is in place and we are watching to confirm that service has recovered."
	case StatusResolved:
		return "Resolved. Service is back to normal."
	}
	return "Investigating. We are aware of the problem and are working to find its cause."
}

func impactWords(l *Log, start Entry) string {
	e, ok := l.latest(KindImpact)
	if !ok || e.Assessment == nil {
		if s := oneLine(start.Impact); s != "" {
			return s
		}
		return "Being assessed."
	}
	imp := *e.Assessment
	s := report.ImpactHeadline(imp)
	shown := 0
	for _, ep := range imp.Endpoints {
		if !ep.UserFacing || shown == 2 {
			continue
		}
		where := ep.Service
		if ep.Endpoint != "" {
			where = ep.Endpoint
		}
		s += " " + where + ": " + report.PlainEndpointSentence(ep) + "."
		shown++
	}
	return oneLine(s)
}

// knownWords says what is known of the cause in the words of the status:
// once identified (or later) the cause is stated, while investigating an
// analysis's candidate is the likely cause, and so, after a mitigation, is
// one the analysis was not confident of. It never says the cause is
// identified and not confirmed in one update.
func knownWords(l *Log, status Status) string {
	e, ok := l.latest(KindAnalysis)
	if !ok || e.Analysis == nil || e.Analysis.Service == "" {
		if c := l.Changes(); len(c) > 0 {
			last := c[len(c)-1]
			if status == StatusInvestigating {
				return oneLine("The cause is not confirmed yet. A recent change is being looked at: " + last.Change.Summary + ".")
			}
			return oneLine("The responders have identified the cause. The latest change noted: " + last.Change.Summary + ".")
		}
		switch status {
		case StatusIdentified:
			return "The responders have identified the cause; the details will follow."
		case StatusInvestigating:
			return "The cause is not known yet."
		}
		return "The cause is not confirmed yet."
	}
	a := e.Analysis
	var s string
	if !a.Onset.IsZero() {
		s = "The problem began at " + a.Onset.UTC().Format("15:04") + " UTC"
	} else {
		s = "The problem"
	}
	if hedge := status == StatusInvestigating || a.Tentative && status != StatusIdentified; hedge {
		s += " and likely starts in the " + a.Service + " service"
	} else {
		s += " and starts in the " + a.Service + " service"
	}
	if a.Change != "" {
		switch a.ChangeService {
		case "", a.Service:
			s += ", shortly after a change to it"
		default:
			s += ", shortly after a change to the " + a.ChangeService + " service"
		}
		if !a.ChangeTime.IsZero() {
			s += " at " + a.ChangeTime.UTC().Format("15:04") + " UTC"
		}
		s += " (" + a.Change + ")"
	}
	s += "."
	if status == StatusInvestigating {
		s += " This is not confirmed yet."
	}
	return oneLine(s)
}

func doingWords(l *Log, status Status) string {
	switch status {
	case StatusResolved:
		if e, ok := l.latest(KindResolve); ok && oneLine(e.Text) != "" {
			return oneLine(e.Text)
		}
		return "Nothing further; the incident is closed."
	case StatusMonitoring:
		s := "We are watching the service recover."
		if e, ok := l.latest(KindMitigate); ok && oneLine(e.Text) != "" {
			s = oneLine(e.Text) + ". " + s
		}
		return s
	}
	if svc, version := rollback(l); version != "" {
		return "The likely fix is to roll the " + svc + " service back to its previous version (" + version + ")."
	}
	if status == StatusIdentified {
		return "Preparing and testing a fix."
	}
	return "Responders are investigating."
}

// oneLine puts text a responder typed or a log carried on one line, free
// of terminal escapes: the draft is printed, and posted.
func oneLine(s string) string { return termui.OneLine(s) }

// NextUpdateDue is when stakeholders should next hear from the responders:
// a cadence after the last update went out, or after the incident was
// opened if none has. It is false once the incident is resolved.
func (l *Log) NextUpdateDue(cadence time.Duration) (time.Time, bool) {
	if cadence <= 0 {
		cadence = DefaultCadence
	}
	if l.Status() == StatusResolved {
		return time.Time{}, false
	}
	last, ok := l.latest(KindUpdate)
	if !ok || last.PostedTo == "" {
		if last, ok = l.Start(); !ok {
			return time.Time{}, false
		}
	}
	return last.Time.Add(cadence).UTC(), true
}

// UpdateReminder says when the next stakeholder update is due, or by how
// long it is overdue; "" once the incident is resolved.
func (l *Log) UpdateReminder(cadence time.Duration, now time.Time) string {
	due, ok := l.NextUpdateDue(cadence)
	if !ok {
		return ""
	}
	if late := now.UTC().Sub(due); late > 0 {
		return fmt.Sprintf("stakeholder update overdue by %s (due %s UTC): rca update drafts it", timerange.FormatDuration(max(late.Truncate(time.Minute), time.Minute)), due.Format("15:04"))
	}
	return fmt.Sprintf("next stakeholder update due by %s UTC", due.Format("15:04"))
}
