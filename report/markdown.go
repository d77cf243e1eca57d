package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/internal/units"
)

// RenderMarkdown writes the report as Markdown for a ticket or an incident
// log. Every string that came from data is escaped: a label value or a log
// line must never turn into markup, a link or raw HTML in the ticket.
func RenderMarkdown(w io.Writer, r analysis.Result) error {
	var b strings.Builder
	day := reportDay(r)
	md := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	if day != "" {
		md("# Root-cause report, %s\n\n", day)
	} else {
		md("# Root-cause report\n\n")
	}
	md("- **Window:** %s\n", escapeMarkdown(span(r.Window, day)))
	md("- **Baseline:** %s\n", escapeMarkdown(span(r.Baseline, day)))

	if nothingFound(r) {
		md("\n%s\n", escapeMarkdown(nothingStandsOut))
		markdownDeviations(&b, r)
	} else {
		markdownVerdict(&b, r)
		markdownSymptoms(&b, r, day)
		markdownRootCauses(&b, r, day)
		markdownChain(&b, r, day)
	}
	if len(r.RuledOut) > 0 {
		md("\n## Ruled out\n\n")
		for _, ro := range r.RuledOut {
			md("- **%s** (%s): %s\n", escapeMarkdown(ruledTitle(ro)), escapeMarkdown(layerName(ro.Layer)), escapeMarkdown(ro.Why))
		}
	}

	if len(r.UnlinkedChanges) > 0 {
		md("\n## Changes with no effect seen\n\n")
		for _, c := range r.UnlinkedChanges {
			md("- %s UTC: **%s**: %s\n", escapeMarkdown(clock(c.T, day)), escapeMarkdown(serviceName(c.Service)), escapeMarkdown(changeTitle(c)))
		}
	}
	if len(r.Warnings) > 0 {
		md("\n## Warnings\n\n")
		for _, w := range r.Warnings {
			md("- %s\n", escapeMarkdown(w))
		}
	}
	md("\n---\n\n_%s_\n", escapeMarkdown(statsLine(r.Stats)))

	_, err := io.WriteString(w, b.String())
	return err
}

// markdownVerdict leads the report: the root cause with its confidence,
// or that nothing stands out, with the strongest deviations and why they
// are not enough.
func markdownVerdict(b *strings.Builder, r analysis.Result) {
	if causeFound(r) {
		fmt.Fprintf(b, "\n**%s**\n", escapeMarkdown(causeLine(r)))
		return
	}
	fmt.Fprintf(b, "\n**%s**\n", escapeMarkdown(verdictNothing))
	if n := movedNote(r); n != "" {
		fmt.Fprintf(b, "\n%s\n", escapeMarkdown(n))
	}
	markdownDeviations(b, r)
}

// markdownDeviations lists the strongest deviations, or the nearest misses.
func markdownDeviations(b *strings.Builder, r analysis.Result) {
	devs := deviations(r)
	if len(devs) == 0 {
		return
	}
	b.WriteString("\n" + deviationsHeading(r) + "\n\n")
	for _, d := range devs {
		fmt.Fprintf(b, "- **%s: %s** (%s): %s\n", escapeMarkdown(d.Service), escapeMarkdown(d.Title), escapeFacts([]string{d.Facts}), escapeMarkdown(d.NotEnough))
	}
}

func markdownSymptoms(b *strings.Builder, r analysis.Result, day string) {
	b.WriteString("\n## What is broken\n\n")
	if len(r.Symptoms) == 0 {
		b.WriteString(escapeMarkdown(noSymptomText(r)) + "\n")
		return
	}
	b.WriteString("| Service | Signal | Observed | Baseline | Onset (UTC) |\n| --- | --- | ---: | ---: | --- |\n")
	for _, f := range r.Symptoms {
		sig := title(f)
		if f.Heuristic {
			sig += " (" + heuristicNote + ")"
		}
		row(b, serviceName(f.Service), sig, units.Format(f.ObservedValue, f.Unit),
			units.Format(f.BaselineValue, f.Unit), clock(f.Onset, day))
	}
}

func markdownRootCauses(b *strings.Builder, r analysis.Result, day string) {
	b.WriteString("\n## " + candidatesHeading(r) + "\n\n")
	if len(r.RootCauses) == 0 {
		b.WriteString("No root-cause candidate was found.\n")
		return
	}
	top := r.RootCauses[0]
	facts := append([]string{layerName(top.Layer)}, evidence(top.Finding, day, nil)...)
	facts = append(facts, "candidate score "+sig3(top.Score))
	if top.Heuristic {
		facts = append(facts, heuristicNote)
	}
	fmt.Fprintf(b, "**%s: %s** (%s)\n", escapeMarkdown(serviceName(top.Service)), escapeMarkdown(title(top.Finding)), escapeFacts(facts))
	if d := markdownDetail(top.Finding, "", day); d != "" {
		b.WriteString("\n" + d)
	}

	b.WriteString("\n| Rank | Service | Signal | Layer | Score | Onset (UTC) |\n| ---: | --- | --- | --- | ---: | --- |\n")
	for i, c := range r.RootCauses {
		layer := layerName(c.Layer)
		if c.Heuristic {
			layer += " (guessed)"
		}
		row(b, strconv.Itoa(rankOf(c, i)), serviceName(c.Service), title(c.Finding), layer, sig3(c.Score), clock(when(c.Finding), day))
	}
}

func markdownChain(b *strings.Builder, r analysis.Result, day string) {
	b.WriteString("\n## Cause chain\n\n")
	if len(r.Chain) == 0 {
		b.WriteString("No cause chain could be built from the anomalies found.\n")
		return
	}
	if !causeFound(r) {
		b.WriteString(weakChainNote + "\n\n")
	}
	b.WriteString("From the symptom down to the root cause:\n\n")
	for i, f := range r.Chain {
		p := []string{serviceName(f.Service), clock(when(f), day)}
		if !isChange(f) {
			p = append(p, units.Format(f.ObservedValue, f.Unit))
		}
		fmt.Fprintf(b, "%d. **%s**: %s (%s)\n", i+1, escapeMarkdown(layerName(f.Layer)), escapeMarkdown(title(f)), escapeMarkdown(strings.Join(p, ", ")))
		var prev *analysis.Finding
		if i > 0 {
			prev = &r.Chain[i-1]
		}
		facts := evidence(f, day, prev)
		if !isChange(f) && f.Score != 0 {
			facts = append(facts, "score "+sig3(f.Score))
		}
		if f.Heuristic {
			facts = append(facts, heuristicNote)
		}
		// Nested bullets keep the evidence inside its numbered item
		// without relying on trailing-space line breaks.
		fmt.Fprintf(b, "   - Evidence: %s\n", escapeFacts(facts))
		b.WriteString(markdownDetail(f, "   ", day))
	}
	if !chainEndsAtChange(r) {
		fmt.Fprintf(b, "\nThe chain ends at the deepest anomaly: %s.\n", escapeMarkdown(noChangeFound))
	}
}

// markdownDetail is a finding's query, explanation and log templates as
// bullets. A template and its example lines are log data: escaped like
// every other data string, never put in a code span, so that no line can
// close the span and turn the rest into markup or HTML.
func markdownDetail(f analysis.Finding, indent, day string) string {
	var s string
	if q := cleanQuery(f.Query); q != "" {
		s += indent + "- Query: " + codeSpan(q) + "\n"
	}
	if e := clean(f.Explanation); e != "" {
		s += indent + "- Why: " + escapeMarkdown(e) + "\n"
	}
	for _, p := range shownPatterns(f) {
		s += indent + "- Log pattern: " + escapeMarkdown(orUnknown(clean(p.Template))) + "\n"
		s += indent + "  - " + capitalizeFirst(escapeFacts(patternFacts(p, day))) + "\n"
		for _, e := range patternExamples(p) {
			s += indent + "  - Example: " + escapeMarkdown(e) + "\n"
		}
	}
	return s
}

// capitalizeFirst upper-cases the first letter of an already escaped string.
func capitalizeFirst(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// escapeFacts joins evidence facts, with a real arrow instead of "->" so the
// escaped source stays readable.
func escapeFacts(facts []string) string {
	return escapeMarkdown(strings.ReplaceAll(strings.Join(facts, ", "), " -> ", " → "))
}

// row writes one table row; every cell is data and is escaped, which also
// escapes the pipes that would otherwise split a cell.
func row(b *strings.Builder, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + escapeMarkdown(c) + " |")
	}
	b.WriteString("\n")
}

// escapeMarkdown makes s render as the literal text it is, on one line:
// Markdown punctuation is backslash-escaped, and < > & become entities so
// that no raw HTML (or entity trick) passes through, whatever the renderer's
// HTML policy.
func escapeMarkdown(s string) string {
	s = clean(s)
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '#', '|', '~', '$', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '-', '+', '=':
			// At the start of a list item or line these open a nested list
			// or a setext heading.
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '.', ')':
			// "1. " or "1) " at the start opens an ordered list.
			if i > 0 && isDigits(s[:i]) && (i+1 == len(s) || s[i+1] == ' ') {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// codeSpan puts s in an inline code span. Backslashes do not escape inside
// code, so the fence is one backtick longer than any run of backticks in s,
// and padded when s starts or ends with a backtick. HTML inside a code span
// is shown, never interpreted.
func codeSpan(s string) string {
	s = cleanQuery(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
