package incident

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rca-tool/rca/report"
)

// RenderMarkdown writes the log as Markdown: a header from the start entry,
// the timeline in the order things happened (Log.Timeline), and the lines
// that could not be read. Every
// string from the log is escaped with report.EscapeMarkdown, as the
// analysis report is: a note or a log line quoted in one must never turn
// into markup, a link or raw HTML in the ticket it is pasted to.
func RenderMarkdown(w io.Writer, l *Log) error {
	var b strings.Builder
	md := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	start, hasStart := l.Start()
	if t := report.OneLine(start.Title); t != "" {
		md("# %s\n\n", report.EscapeMarkdown(t))
	} else {
		md("# Incident %s\n\n", report.EscapeMarkdown(l.ID))
	}
	md("- **ID:** %s\n", report.EscapeMarkdown(l.ID))
	md("- **Severity:** %s\n", orNotSet(start.Severity))
	md("- **Status:** %s\n", report.EscapeMarkdown(string(l.Status())))
	if hasStart {
		md("- **Started:** %s\n", startedTime(start.Time))
	} else {
		md("- **Started:** unknown (the log has no start entry)\n")
	}
	md("- **Impact:** %s\n", orNotSet(start.Impact))
	if a := report.OneLine(start.Author); a != "" {
		md("- **Opened by:** %s\n", report.EscapeMarkdown(a))
	}

	md("\n## Timeline\n\n")
	if len(l.Entries) == 0 {
		md("No entries.\n")
	} else {
		md("Times are UTC.\n\n")
	}
	day := ""
	for _, e := range l.Timeline() {
		var when string
		when, day = entryTime(e.Time, day)
		md("- **%s** %s", when, report.EscapeMarkdown(orUnknown(string(e.Kind))))
		if a := report.OneLine(e.Author); a != "" {
			md(" (%s)", report.EscapeMarkdown(a))
		}
		if t := report.OneLine(e.Text); t != "" {
			md(": %s", report.EscapeMarkdown(t))
		}
		md("\n")
		for _, d := range entryDetails(e, day) {
			md("  - %s\n", d)
		}
	}

	if len(l.Problems) > 0 {
		md("\n## Problems reading the log\n\n")
		for _, p := range l.Problems {
			md("- Line %d: %s\n", p.Line, report.EscapeMarkdown(p.Err))
		}
	}
	md("\n---\n\n_Rendered from %s; add to the log with rca log, this file is overwritten._\n", logName)

	_, err := io.WriteString(w, b.String())
	return err
}

// entryDetails are the sub-bullets of an entry, already escaped.
func entryDetails(e Entry, day string) []string {
	var d []string
	switch e.Kind {
	case KindStart:
		// The header shows severity and impact.
	case KindChange:
		if c := e.Change; c != nil {
			var facts []string
			if s := report.OneLine(c.Service); s != "" {
				facts = append(facts, "service "+s)
			}
			if c.FromVersion != "" || c.ToVersion != "" {
				facts = append(facts, orUnknown(report.OneLine(c.FromVersion))+" → "+orUnknown(report.OneLine(c.ToVersion)))
			}
			if s := report.OneLine(c.Commit); s != "" {
				facts = append(facts, "commit "+s)
			}
			if !c.T.IsZero() {
				facts = append(facts, "at "+clockIn(c.T, day))
			}
			line := "Change: " + report.EscapeMarkdown(orUnknown(report.OneLine(c.Summary)))
			if len(facts) > 0 {
				line += " (" + report.EscapeMarkdown(strings.Join(facts, ", ")) + ")"
			}
			d = append(d, line)
		}
	case KindAnalysis:
		if a := e.Analysis; a != nil {
			if !a.Window.From.IsZero() || !a.Window.To.IsZero() {
				d = append(d, "Window: "+report.EscapeMarkdown(clockIn(a.Window.From, day)+" to "+clockIn(a.Window.To, day)))
			}
			if !a.Onset.IsZero() {
				d = append(d, "Onset: "+report.EscapeMarkdown(clockIn(a.Onset, day)))
			}
			if rc := report.OneLine(a.RootCause); rc != "" || report.OneLine(a.Service) != "" {
				line := "Root cause: "
				if s := report.OneLine(a.Service); s != "" {
					line += "**" + report.EscapeMarkdown(s) + "**"
					if rc != "" {
						line += ": "
					}
				}
				d = append(d, line+report.EscapeMarkdown(rc))
			}
			if len(a.Chain) > 0 {
				chain := "Cause chain, from the symptom down:"
				for i, c := range a.Chain {
					chain += "\n    " + strconv.Itoa(i+1) + ". " + report.EscapeMarkdown(orUnknown(report.OneLine(c)))
				}
				d = append(d, chain)
			}
			if s := report.OneLine(a.Change); s != "" {
				d = append(d, "Change: "+report.EscapeMarkdown(s))
			}
			if s := report.OneLine(a.Rollback); s != "" {
				d = append(d, "Roll back to: "+report.EscapeMarkdown(s))
			}
			if a.Ongoing {
				d = append(d, "The symptoms were still abnormal at the end of the window.")
			}
		}
	case KindUpdate:
		line := "Status announced: " + report.EscapeMarkdown(orUnknown(report.OneLine(string(e.Status))))
		if p := report.OneLine(e.PostedTo); p != "" {
			line += "; posted to " + report.EscapeMarkdown(p)
		} else {
			line += "; drafted, not posted"
		}
		d = append(d, line)
	}
	if !e.Recorded.IsZero() && !e.Recorded.Equal(e.Time) {
		d = append(d, "Written at "+report.EscapeMarkdown(clockIn(e.Recorded, day)))
	}
	if len(e.Files) > 0 {
		links := make([]string, len(e.Files))
		for i, f := range e.Files {
			links[i] = fileLink(f)
		}
		d = append(d, "Evidence: "+strings.Join(links, ", "))
	}
	return d
}

// entryTime is an entry's time, with the date when it differs from the
// previous entry's, and the new current day.
func entryTime(t time.Time, day string) (string, string) {
	if t.IsZero() {
		return "unknown time", day
	}
	t = t.UTC()
	if d := t.Format("2006-01-02"); d != day {
		return t.Format("2006-01-02 15:04:05"), d
	}
	return t.Format("15:04:05"), day
}

// clockIn is t in UTC, with its date unless it is day.
func clockIn(t time.Time, day string) string {
	if t.IsZero() {
		return "unknown"
	}
	t = t.UTC()
	if t.Format("2006-01-02") == day {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

func startedTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func orNotSet(s string) string {
	if s = report.OneLine(s); s == "" {
		return "not set"
	}
	return report.EscapeMarkdown(s)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// fileLink is a relative link to an evidence file. A path that is absolute
// or climbs out of the incident's folder is shown as text, not linked.
func fileLink(p string) string {
	text := report.EscapeMarkdown(orUnknown(report.OneLine(p)))
	if !linkable(p) {
		return text
	}
	return "[" + text + "](" + encodePath(p) + ")"
}

func linkable(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, `\:`) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return false
		}
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// encodePath percent-encodes all but unreserved characters and '/', so no
// character can end the link destination or change what it points to.
func encodePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
