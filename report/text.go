package report

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/internal/units"
)

// textWidth is the terminal width the text format fits in.
const textWidth = 80

// maxTextCandidates is how many root causes the text lists: rank 1 in full,
// then the runners-up one line each. The other formats list them all.
const maxTextCandidates = 5

// maxTextSymptoms keeps a storm of symptoms from pushing the root cause off
// the screen.
const maxTextSymptoms = 10

// The chain's first column: the first link's layer, then "<- caused by".
const (
	chainIndent = "                " // 16 columns
	causedBy    = "  <- caused by  "
)

// ANSI styles, used only when Options.Color is set.
const (
	styleNone    = ""
	styleHeading = "\x1b[1m"
	styleTop     = "\x1b[1;31m"
	styleReset   = "\x1b[0m"
)

// RenderText writes the terminal report: plain text that reads at 80
// columns, for an engineer woken up at 3 a.m.
func RenderText(w io.Writer, r analysis.Result, opt Options) error {
	t := &textBuilder{color: opt.Color}
	day := reportDay(r)

	t.header(r, day)
	t.blank()
	if nothingFound(r) {
		t.wrap("  ", "  ", nothingStandsOut, styleNone)
		t.deviations(r)
	} else {
		t.verdict(r)
		t.blank()
		t.symptoms(r, day)
		t.blank()
		t.rootCauses(r, day)
		t.blank()
		t.chain(r, day)
	}
	t.ruledOut(r)
	t.unlinked(r, day)
	t.warnings(r)
	t.blank()
	t.wrap("", "  ", statsLine(r.Stats), styleNone)

	_, err := io.WriteString(w, strings.Join(t.lines, "\n")+"\n")
	return err
}

// textBuilder collects the report's lines. Styles wrap whole lines after
// wrapping, so colour codes never count towards the width.
type textBuilder struct {
	lines []string
	color bool
}

func (t *textBuilder) add(line, style string) {
	line = strings.TrimRight(line, " ")
	if t.color && style != styleNone && line != "" {
		line = style + line + styleReset
	}
	t.lines = append(t.lines, line)
}

func (t *textBuilder) blank() { t.lines = append(t.lines, "") }

func (t *textBuilder) heading(s string) { t.add(s, styleHeading) }

// wrap adds text word-wrapped to textWidth: the first line starts with
// first, the others with rest.
func (t *textBuilder) wrap(first, rest, text, style string) {
	for _, l := range wrap(first, rest, text, textWidth) {
		t.add(l, style)
	}
}

// wrap breaks text at spaces so each line fits width. A word longer than a
// line (a PromQL query without spaces, a URL) stands alone rather than being
// cut, so it can still be copied whole.
func wrap(first, rest, text string, width int) []string {
	return wrapWords(first, rest, strings.Fields(text), width)
}

// wrapWords is wrap on words already split.
func wrapWords(first, rest string, words []string, width int) []string {
	var out []string
	line, empty := first, true
	for _, word := range words {
		// A word too long for the labelled first line moves to its own
		// line, so the overflow is the bare word alone.
		if empty && len(out) == 0 && strings.TrimSpace(line) != "" && runeLen(line)+runeLen(word) > width {
			out = append(out, line)
			line = rest
		}
		if !empty && runeLen(line)+1+runeLen(word) > width {
			out = append(out, line)
			line, empty = rest, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	if !empty || len(out) == 0 {
		out = append(out, line)
	}
	return out
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func (t *textBuilder) header(r analysis.Result, day string) {
	h := "RCA REPORT"
	if day != "" {
		h += "  " + day
	}
	t.heading(h)
	t.wrap("  window    ", "            ", span(r.Window, day), styleNone)
	t.wrap("  baseline  ", "            ", span(r.Baseline, day), styleNone)
}

func (t *textBuilder) symptoms(r analysis.Result, day string) {
	t.heading("WHAT IS BROKEN")
	if len(r.Symptoms) == 0 {
		t.wrap("  ", "  ", noSymptomText(r), styleNone)
		return
	}
	for i, f := range r.Symptoms {
		if i == maxTextSymptoms {
			t.wrap("  ", "  ", "... and "+plural(len(r.Symptoms)-i, "more symptom", "more symptoms")+" (see the JSON output).", styleNone)
			break
		}
		s := serviceName(f.Service) + ": " + title(f) + " at " + units.Format(f.ObservedValue, f.Unit) +
			" (baseline " + units.Format(f.BaselineValue, f.Unit) + "), since " + clock(f.Onset, day)
		if f.Heuristic {
			s += " (" + heuristicNote + ")"
		}
		t.wrap("  ", "    ", s, styleNone)
	}
}

// verdict leads the report: the root cause with its confidence, or that
// nothing stands out, with the strongest deviations and why they are not
// enough.
func (t *textBuilder) verdict(r analysis.Result) {
	if causeFound(r) {
		t.wrap("", "  ", causeLine(r), styleTop)
		return
	}
	t.add(verdictNothing, styleTop)
	if n := movedNote(r); n != "" {
		t.wrap("  ", "  ", n, styleNone)
	}
	t.deviations(r)
}

// deviations lists the strongest deviations, or the nearest misses.
func (t *textBuilder) deviations(r analysis.Result) {
	devs := deviations(r)
	if len(devs) == 0 {
		return
	}
	t.wrap("  ", "  ", deviationsHeading(r), styleNone)
	for _, d := range devs {
		t.wrap("  - ", "    ", d.Service+": "+d.Title+" ("+d.Facts+"): "+d.NotEnough, styleNone)
	}
}

// candidatesHeading is the root causes' heading: "most likely" only when
// the verdict names one.
func candidatesHeading(r analysis.Result) string {
	if len(r.RootCauses) > 0 && !causeFound(r) {
		return "Strongest candidates (none stands out)"
	}
	return "Most likely root cause"
}

// weakChainNote is said above a chain built from a candidate that does not
// stand out.
const weakChainNote = "Built from the strongest candidate, which does not stand out from normal variation."

func (t *textBuilder) rootCauses(r analysis.Result, day string) {
	t.heading(strings.ToUpper(candidatesHeading(r)))
	if len(r.RootCauses) == 0 {
		t.wrap("  ", "  ", "No root-cause candidate was found.", styleNone)
		return
	}
	top := r.RootCauses[0]
	prefix := "  " + strconv.Itoa(rankOf(top, 0)) + ". "
	indent := strings.Repeat(" ", runeLen(prefix))
	t.wrap(prefix, indent+"  ", serviceName(top.Service)+": "+title(top.Finding), styleTop)
	facts := append([]string{layerName(top.Layer)}, evidence(top.Finding, day, nil)...)
	facts = append(facts, "candidate score "+sig3(top.Score))
	if top.Heuristic {
		facts = append(facts, heuristicNote)
	}
	t.wrap(indent, indent+"  ", strings.Join(facts, ", "), styleNone)
	t.detail(indent, day, top.Finding)

	for i := 1; i < len(r.RootCauses); i++ {
		c := r.RootCauses[i]
		if i == maxTextCandidates {
			t.wrap("  ", "  ", "... and "+plural(len(r.RootCauses)-i, "more candidate", "more candidates")+" (see the JSON output).", styleNone)
			break
		}
		prefix := "  " + strconv.Itoa(rankOf(c, i)) + ". "
		layer := layerName(c.Layer)
		if c.Heuristic {
			layer += ", " + heuristicNote
		}
		s := serviceName(c.Service) + ": " + title(c.Finding) + " (" + layer +
			", score " + sig3(c.Score) + ", " + clock(when(c.Finding), day) + ")"
		t.wrap(prefix, strings.Repeat(" ", runeLen(prefix)+2), s, styleNone)
	}
}

// detail adds a finding's query, explanation and log templates under indent.
func (t *textBuilder) detail(indent, day string, f analysis.Finding) {
	if words := queryFields(cleanQuery(f.Query)); len(words) > 0 {
		for _, l := range wrapWords(indent+"query: ", indent+"  ", words, textWidth) {
			t.add(l, styleNone)
		}
	}
	if e := clean(f.Explanation); e != "" {
		t.wrap(indent+"why: ", indent+"  ", e, styleNone)
	}
	for _, p := range shownPatterns(f) {
		t.wrap(indent, indent+"  ", patternTitle(p), styleNone)
		t.wrap(indent+"  ", indent+"  ", strings.Join(patternFacts(p, day), ", "), styleNone)
		for _, e := range patternExamples(p) {
			t.wrap(indent+"  e.g. ", indent+"    ", e, styleNone)
		}
	}
}

func (t *textBuilder) chain(r analysis.Result, day string) {
	t.heading("CAUSE CHAIN")
	if len(r.Chain) == 0 {
		t.wrap("  ", "  ", "No cause chain could be built from the anomalies found.", styleNone)
		return
	}
	if !causeFound(r) {
		t.wrap("  ", "  ", weakChainNote, styleNone)
	}
	titles := make([]string, len(r.Chain))
	parens := make([]string, len(r.Chain))
	width := 0
	for i, f := range r.Chain {
		titles[i] = title(f)
		p := []string{serviceName(f.Service), clock(when(f), day)}
		if !isChange(f) {
			p = append(p, units.Format(f.ObservedValue, f.Unit))
		}
		parens[i] = "(" + strings.Join(p, ", ") + ")"
		width = max(width, runeLen(titles[i]))
	}
	// Align the parentheses as a column when every link fits that way;
	// a ragged column would read worse than none.
	for i := range r.Chain {
		if runeLen(chainIndent)+width+2+runeLen(parens[i]) > textWidth {
			width = 0
			break
		}
	}
	for i, f := range r.Chain {
		label := causedBy
		if i == 0 {
			label = layerName(f.Layer)
			label += strings.Repeat(" ", max(1, runeLen(chainIndent)-runeLen(label)))
		}
		if line := label + titles[i] + strings.Repeat(" ", max(0, width-runeLen(titles[i]))+2) + parens[i]; runeLen(line) <= textWidth {
			t.add(line, styleNone)
		} else {
			t.wrap(label, chainIndent+"  ", titles[i]+"  "+parens[i], styleNone)
		}
		var prev *analysis.Finding
		if i > 0 {
			prev = &r.Chain[i-1]
		}
		facts := append([]string{layerName(f.Layer)}, evidence(f, day, prev)...)
		if !isChange(f) && f.Score != 0 {
			facts = append(facts, "score "+sig3(f.Score))
		}
		if f.Heuristic {
			facts = append(facts, heuristicNote)
		}
		t.wrap(chainIndent, chainIndent+"  ", strings.Join(facts, ", "), styleNone)
		t.detail(chainIndent, day, f)
	}
	if !chainEndsAtChange(r) {
		t.wrap("  ", "  ", "The chain ends at the deepest anomaly: "+noChangeFound+".", styleNone)
	}
}

// ruledOut lists the hypotheses checked and rejected, each with why.
func (t *textBuilder) ruledOut(r analysis.Result) {
	if len(r.RuledOut) == 0 {
		return
	}
	t.blank()
	t.heading("RULED OUT")
	for _, ro := range r.RuledOut {
		t.wrap("  - ", "    ", ruledTitle(ro)+" ("+layerName(ro.Layer)+")", styleNone)
		if why := clean(ro.Why); why != "" {
			t.wrap("      ", "      ", why, styleNone)
		}
	}
}

func (t *textBuilder) unlinked(r analysis.Result, day string) {
	if len(r.UnlinkedChanges) == 0 {
		return
	}
	t.blank()
	t.heading("CHANGES WITH NO EFFECT SEEN")
	for _, c := range r.UnlinkedChanges {
		t.wrap("  "+clock(c.T, day)+"  ", "    ", serviceName(c.Service)+": "+changeTitle(c), styleNone)
	}
}

func (t *textBuilder) warnings(r analysis.Result) {
	if len(r.Warnings) == 0 {
		return
	}
	t.blank()
	t.heading("WARNINGS")
	for _, w := range r.Warnings {
		t.wrap("  - ", "    ", clean(w), styleNone)
	}
}
