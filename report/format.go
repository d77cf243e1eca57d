package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// noChangeFound is said wherever a chain does not end at a change, so the
// reader knows the bottom link is the deepest anomaly, not a state change.
const noChangeFound = "no change (deploy, version, config, restart) was found before the onset"

// nothingStandsOut is the whole story when the analysis found no anomaly.
const nothingStandsOut = "Nothing stands out from normal variation: no signal deviates from the baseline."

// clean makes a data string safe to print on one line: control characters
// (newlines, ESC sequences that would drive the terminal), bidi overrides
// (which can make text read differently than it is) and line separators
// become spaces, and runs of spaces collapse.
func clean(s string) string { return termui.OneLine(s) }

// cleanQuery is clean for a query: control characters still go, but spaces
// are kept, since they may sit inside a string literal (a LogQL line filter).
func cleanQuery(q string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if termui.Unsafe(r) {
			return ' '
		}
		return r
	}, q))
}

// queryFields splits a query at spaces outside string literals, so that
// wrapping it never changes what a pasted copy matches: PromQL and LogQL
// ignore whitespace between tokens but not inside "...", '...' or `...`.
func queryFields(q string) []string {
	var fields []string
	var cur strings.Builder
	var quote rune
	escaped := false
	for _, r := range q {
		switch {
		case quote != 0:
			cur.WriteRune(r)
			switch {
			case escaped:
				escaped = false
			case r == '\\' && quote != '`':
				escaped = true
			case r == quote:
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
			cur.WriteRune(r)
		case unicode.IsSpace(r):
			if cur.Len() > 0 {
				fields = append(fields, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		fields = append(fields, cur.String())
	}
	return fields
}

// num formats a plain number with 3 significant digits and an SI suffix
// from a thousand up, never in exponent notation.
func num(v float64) string { return units.Number(v) }

// sig3 is v with 3 significant digits, trailing zeros dropped.
func sig3(v float64) string { return units.Sig3(v) }

// clock formats t as UTC HH:MM:SS, with the date in front when it is not
// the report's day (a baseline a week earlier, a deploy before midnight).
func clock(t time.Time, day string) string {
	if t.IsZero() {
		return "unknown"
	}
	t = t.UTC()
	if d := t.Format(time.DateOnly); d != day {
		return d + " " + t.Format(time.TimeOnly)
	}
	return t.Format(time.TimeOnly)
}

// reportDay is the UTC date the report is about: the window's start.
func reportDay(r analysis.Result) string {
	if r.Window.From.IsZero() {
		return ""
	}
	return r.Window.From.UTC().Format(time.DateOnly)
}

// span formats a window as "HH:MM:SS - HH:MM:SS UTC (30m)".
func span(w telemetry.Window, day string) string {
	if w.From.IsZero() && w.To.IsZero() {
		return "not set"
	}
	s := clock(w.From, day) + " - " + clock(w.To, day) + " UTC"
	if !w.From.IsZero() && !w.To.IsZero() {
		s += " (" + units.Duration(w.Duration()) + ")"
	}
	return s
}

// isChange says whether a finding is a state change rather than a signal.
func isChange(f analysis.Finding) bool {
	return f.Change != nil || f.Layer == catalog.LayerChange
}

// chainEndsAtChange says whether the chain's bottom link is a change, the
// only kind of root cause worth acting on directly.
func chainEndsAtChange(r analysis.Result) bool {
	return len(r.Chain) > 0 && isChange(r.Chain[len(r.Chain)-1])
}

// noSymptomText is what the report says when no user-facing symptom
// deviates. "The anomalies below" is only true when a root cause or a
// chain is listed below; when the only anomalies are ones never ranked
// (warning log templates no catalog signal covers) it names them instead,
// so the anomalies the stats line counts are the ones the reader sees.
func noSymptomText(r analysis.Result) string {
	if len(r.RootCauses) > 0 || len(r.Chain) > 0 || len(r.Anomalies) == 0 {
		return "No user-facing symptom deviates from the baseline; the anomalies below may still matter."
	}
	const show = 3
	var names []string
	for i, f := range r.Anomalies {
		if i == show {
			names = append(names, "and "+plural(len(r.Anomalies)-show, "more", "more"))
			break
		}
		names = append(names, serviceName(f.Service)+": "+title(f))
	}
	return "No user-facing symptom deviates from the baseline, and no anomaly is ranked as a cause. " +
		"Not ranked: " + strings.Join(names, "; ") + "."
}

// nothingFound says whether the analysis found nothing at all to report.
func nothingFound(r analysis.Result) bool {
	return len(r.Symptoms) == 0 && len(r.RootCauses) == 0 && len(r.Chain) == 0 && len(r.Anomalies) == 0
}

// title is the one-line name of a finding: the change summary for a change,
// otherwise the human signal name.
func title(f analysis.Finding) string {
	if f.Change != nil {
		return changeTitle(*f.Change)
	}
	for _, s := range []string{f.Signal, f.SignalID, f.Metric} {
		if s = clean(s); s != "" {
			return s
		}
	}
	return "unnamed signal"
}

// changeTitle is "deploy checkout v1.4.2 (commit 9f3c1e2)".
func changeTitle(c telemetry.Change) string {
	s := clean(c.Summary)
	if s == "" {
		s = strings.TrimSpace(clean(string(c.Kind)) + " " + clean(c.Service))
		if v := clean(c.ToVersion); v != "" {
			s += " " + v
		}
	}
	if s == "" {
		s = "change"
	}
	if sc := shortCommit(c.Commit); sc != "" && !strings.Contains(s, sc) {
		s += " (commit " + sc + ")"
	}
	return s
}

// shortCommit abbreviates a git hash the way git does.
func shortCommit(c string) string {
	c = clean(c)
	if len(c) > 7 && isHex(c) {
		return c[:7]
	}
	return c
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// serviceName never prints an empty service as nothing.
func serviceName(s string) string {
	if s = clean(s); s != "" {
		return s
	}
	return "unknown service"
}

// rankOf is the candidate's rank, or its position when the analysis left it
// unset, so the lists never show "0.".
func rankOf(c analysis.Candidate, i int) int {
	if c.Rank > 0 {
		return c.Rank
	}
	return i + 1
}

// layerName never prints an empty layer as nothing.
func layerName(l catalog.Layer) string {
	if s := clean(string(l)); s != "" {
		return s
	}
	return "unknown layer"
}

// evidence is the list of facts behind a finding: values and onset, or
// what changed, and, for a link below another, how long before its effect
// it started. Callers add the score that matters to them.
// Data strings in the result are cleaned but not escaped.
func evidence(f analysis.Finding, day string, prev *analysis.Finding) []string {
	var parts []string
	if f.Change != nil {
		c := f.Change
		s := clean(string(c.Kind))
		if s == "" {
			s = "change"
		}
		s += " at " + clock(c.T, day)
		parts = append(parts, s)
		if from, to := clean(c.FromVersion), clean(c.ToVersion); from != "" || to != "" {
			parts = append(parts, "version "+orUnknown(from)+" -> "+orUnknown(to))
			if from != "" && (c.Kind == telemetry.ChangeDeploy || c.Kind == telemetry.ChangeVersion) {
				parts = append(parts, "rollback target "+from)
			}
		}
		if a := clean(c.Author); a != "" {
			parts = append(parts, "by "+a)
		}
		if c.Kind == telemetry.ChangeCommit && len(c.Files) > 0 {
			parts = append(parts, "files "+fileList(c.Files))
		}
	} else {
		parts = append(parts,
			"baseline "+units.Format(f.BaselineValue, f.Unit)+" -> "+units.Format(f.ObservedValue, f.Unit),
			"onset "+clock(f.Onset, day))
	}
	if prev != nil {
		if lead := leadTime(f, *prev); lead != "" {
			parts = append(parts, lead)
		}
	}
	return parts
}

// when is the time a finding started: the change time for a change.
func when(f analysis.Finding) time.Time {
	if f.Change != nil && !f.Change.T.IsZero() {
		return f.Change.T
	}
	return f.Onset
}

// leadTime says how long a cause started before its effect: causes start
// first, and the gap is part of the evidence.
func leadTime(cause, effect analysis.Finding) string {
	c, e := when(cause), when(effect)
	if c.IsZero() || e.IsZero() {
		return ""
	}
	switch d := e.Sub(c); {
	case d > 0:
		return units.Duration(d) + " before the link above"
	case d < 0:
		return units.Duration(-d) + " after the link above"
	}
	return "same time as the link above"
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// plural is "1 change", "3 changes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// statsLine is the one-line footer: what the analysis looked at.
func statsLine(s analysis.Stats) string {
	logs := plural(s.LogLines, "log line", "log lines")
	if s.LogPatterns > 0 {
		logs += " (" + plural(s.LogPatterns, "pattern", "patterns") + ")"
	}
	return fmt.Sprintf("Analysed %s (%d anomalous), %s, %s, %s.",
		plural(s.Series, "series", "series"), s.Anomalous,
		plural(s.Services, "service", "services"),
		logs,
		plural(s.Changes, "change", "changes"))
}

// heuristicNote flags a layer guessed from the metric name, as the issue
// asks: the reader should know when the catalog did not cover a signal.
const heuristicNote = "layer guessed from the metric name"

// fileList names up to five files and counts the rest.
func fileList(files []string) string {
	const show = 5
	var names []string
	for _, f := range files {
		if len(names) == show {
			break
		}
		names = append(names, clean(f))
	}
	s := strings.Join(names, ", ")
	if n := len(files) - show; n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}

// maxPatternsShown and maxExamplesShown bound the log evidence of a link.
const (
	maxPatternsShown = 3
	maxExamplesShown = 2
)

// patternTitle is a log template as a one-line title. Data: clean, not escaped.
func patternTitle(p analysis.LogPattern) string {
	return "log pattern: " + orUnknown(clean(p.Template))
}

// patternFacts are the counts behind a log template: new or surging, lines
// and rates in the baseline and the window, onset, and the service its
// lines name. Data strings are cleaned but not escaped.
func patternFacts(p analysis.LogPattern, day string) []string {
	kind := "surging"
	if p.New {
		kind = "new"
	}
	if l := clean(p.Level); l != "" {
		kind += " at " + l + " level"
	}
	parts := []string{
		kind,
		"baseline " + plural(p.BaselineCount, "line", "lines") + " (" + units.Format(p.BaselineRate, "per_minute") + ") -> window " +
			plural(p.WindowCount, "line", "lines") + " (" + units.Format(p.WindowRate, "per_minute") + ")",
	}
	if !p.Onset.IsZero() {
		parts = append(parts, "onset "+clock(p.Onset, day))
	}
	if c := clean(p.Callee); c != "" {
		parts = append(parts, "names "+c)
	}
	return parts
}

// patternExamples are a template's example lines, cleaned.
func patternExamples(p analysis.LogPattern) []string {
	var out []string
	for _, e := range p.Examples {
		if len(out) == maxExamplesShown {
			break
		}
		if e = clean(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// shownPatterns are the templates a report shows for a finding.
func shownPatterns(f analysis.Finding) []analysis.LogPattern {
	if len(f.Patterns) > maxPatternsShown {
		return f.Patterns[:maxPatternsShown]
	}
	return f.Patterns
}

// verdict is the result's verdict. Until the analysis sets one, a result
// with a root cause found one and a result without stands out for nothing.
// This is the one place that fills the gap; drop the fallback once every
// result carries its verdict.
func verdict(r analysis.Result) string {
	if r.Verdict != "" {
		return r.Verdict
	}
	if len(r.RootCauses) > 0 {
		return analysis.VerdictCauseFound
	}
	return analysis.VerdictNothingStandsOut
}

// verdictNothing leads a report whose verdict is that nothing stands out.
const verdictNothing = "Nothing stands out from normal variation."

// movedNote follows "nothing stands out" when signals did deviate: the
// verdict is that none of them points clearly enough at a cause, not that
// nothing happened, and how far the top candidate is from being named
// tells a latency that rose sixfold (59 %) from noise (5 %). "" when
// nothing deviated.
func movedNote(r analysis.Result) string {
	if r.Stats.Anomalous == 0 || len(r.RootCauses) == 0 {
		return ""
	}
	what := "1 signal"
	if r.Stats.Anomalous != 1 {
		what = strconv.Itoa(r.Stats.Anomalous) + " signals"
	}
	return fmt.Sprintf("%s deviated from the baseline, but none points clearly enough at a cause to name it: the top candidate has %d %% confidence, and a cause is named from %d %%.",
		what, percent(r.RootCauses[0].Confidence), percent(analysis.ConfidenceThreshold))
}

// percent is a probability in whole percent, rounded down (the epsilon
// keeps 0.29 at 29, which is 28.999… in floating point): a confidence of
// 54.6 % never reads as the 55 % that names a cause, in the verdict's note
// or beside the candidate.
func percent(p float64) int { return int(math.Floor(clampUnit(p)*100 + 1e-9)) }

// clampUnit is p within [0, 1], 0 for NaN.
func clampUnit(p float64) float64 {
	if !(p > 0) {
		return 0
	}
	return math.Min(p, 1)
}

// causeFound says whether the report names a root cause.
func causeFound(r analysis.Result) bool {
	return verdict(r) == analysis.VerdictCauseFound && len(r.RootCauses) > 0
}

// causeLine is the verdict when a cause was found: "Root cause:
// checkout: deploy checkout v1.4.2 (confidence 83 %)". Data: clean, not escaped.
func causeLine(r analysis.Result) string {
	top := r.RootCauses[0]
	s := "Root cause: " + serviceName(top.Service) + ": " + title(top.Finding)
	if c := confidenceText(top.Confidence); c != "" {
		s += " (" + c + ")"
	}
	return s
}

// confidenceText is "confidence 83 %", or "" when the analysis gave none.
func confidenceText(c float64) string {
	if !(c > 0) {
		return ""
	}
	return "confidence " + strconv.Itoa(percent(c)) + " %"
}

// maxDeviations is how many of the strongest deviations a report lists
// under "nothing stands out".
const maxDeviations = 3

// deviation is one of the strongest deviations seen when none stands out.
type deviation struct {
	Service, Title string
	// Facts are its values and onset; NotEnough why it does not stand out.
	Facts, NotEnough string
	Finding          analysis.Finding
}

// deviations are the strongest candidates of a result whose verdict is
// that nothing stands out, with why each is not enough; without a
// candidate, the series that came closest to deviating (Result.Nearest).
// Data strings are cleaned, not escaped.
func deviations(r analysis.Result) []deviation {
	var out []deviation
	day := reportDay(r)
	cs := r.RootCauses
	if len(cs) == 0 {
		for _, f := range r.Nearest {
			cs = append(cs, analysis.Candidate{Service: f.Service, Finding: f})
		}
	}
	for _, c := range cs {
		if len(out) == maxDeviations {
			break
		}
		facts := evidence(c.Finding, day, nil)
		if !isChange(c.Finding) && c.Finding.Score != 0 {
			facts = append(facts, "score "+sig3(c.Finding.Score))
		}
		why := notEnough(c, r.Window)
		if len(r.RootCauses) == 0 {
			why += "; it counts from " + sig3(analysis.AnomalyRatio) + "x"
		}
		out = append(out, deviation{
			Service: serviceName(c.Service), Title: title(c.Finding),
			Facts: strings.Join(facts, ", "), NotEnough: why, Finding: c.Finding,
		})
	}
	return out
}

// deviationsHeading leads the list of deviations.
func deviationsHeading(r analysis.Result) string {
	switch {
	case len(r.RootCauses) > 0:
		return "The strongest deviations seen, and why they are not enough:"
	case len(r.Anomalies) > 0: // the infrastructure's, never a candidate
		return "No service's own series deviated; the closest, and why they are not enough:"
	default:
		return "The closest any series came to deviating, and why it is not enough:"
	}
}

// notEnough says why a candidate does not stand out from normal
// variation, from what it shows: a blip, a deviation off a zero baseline,
// a small one, and its confidence.
func notEnough(c analysis.Candidate, w telemetry.Window) string {
	var why []string
	f := c.Finding
	if !isChange(f) {
		if !f.Until.IsZero() && !f.Onset.IsZero() && f.Until.Sub(f.Onset) < 2*time.Minute && f.Until.Add(time.Minute).Before(w.To) {
			if f.Until.Equal(f.Onset) {
				why = append(why, "one sample, at "+clock(f.Onset, reportDayOf(w)))
			} else {
				why = append(why, "a blip, over by "+clock(f.Until, reportDayOf(w)))
			}
		}
		if f.BaselineValue == 0 {
			why = append(why, "off a baseline of 0")
		}
		if f.Score > 0 && f.Score < 3 {
			why = append(why, "only "+sig3(f.Score)+"x beyond its baseline's own variation")
		}
	}
	if s := confidenceText(c.Confidence); s != "" {
		why = append(why, s)
	}
	if len(why) == 0 {
		return "too weak to name as a cause"
	}
	return strings.Join(why, "; ")
}

// reportDayOf is the report's day for a window.
func reportDayOf(w telemetry.Window) string {
	if w.From.IsZero() {
		return ""
	}
	return w.From.UTC().Format(time.DateOnly)
}

// ruledTitle is a ruled-out hypothesis as a title, naming its service when
// the hypothesis does not. Data: clean, not escaped.
func ruledTitle(ro analysis.RuledOut) string {
	h := clean(ro.Hypothesis)
	if h == "" {
		h = "unnamed hypothesis"
	}
	if s := clean(ro.Service); s != "" && !strings.Contains(h, s) {
		h = s + ": " + h
	}
	return h
}
