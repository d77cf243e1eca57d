package incident

import (
	"fmt"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/report"
)

// Summarize keeps what the log needs of an analysis: the top root cause,
// the chain in one line per link, the change at its bottom and the version
// to roll back to.
func Summarize(res analysis.Result, imp analysis.Impact) AnalysisSummary {
	day := ""
	if !res.Window.From.IsZero() {
		day = res.Window.From.UTC().Format(time.DateOnly)
	}
	s := AnalysisSummary{Window: res.Window, Onset: imp.Onset, Ongoing: imp.Ongoing}
	if len(res.RootCauses) > 0 {
		top := res.RootCauses[0]
		s.Service = top.Service
		s.RootCause = report.LinkLine(top.Finding, day)
	}
	for _, f := range res.Chain {
		s.Chain = append(s.Chain, report.LinkLine(f, day))
	}
	// The chain's own change, or else the latest before the onset; the
	// rollback target is that change's previous version, of its service.
	c := imp.Change
	if n := len(res.Chain); n > 0 && res.Chain[n-1].Change != nil {
		c = res.Chain[n-1].Change
	}
	if c != nil {
		s.Change, s.ChangeService, s.ChangeTime, s.Rollback = report.ChangeTitle(*c), c.Service, c.T, c.FromVersion
	}
	if s.Onset.IsZero() && len(res.Chain) > 0 {
		// No user-facing symptom: the onset is the first anomaly's, and the
		// review must not say users saw it.
		s.Onset = res.Chain[0].Onset
		s.FirstAnomaly = report.LinkLine(res.Chain[0], day)
	}
	s.Tentative = s.RootCause != "" && res.Verdict == analysis.VerdictNothingStandsOut
	return s
}

// latest returns the last entry of a kind, if any.
func (l *Log) latest(k Kind) (Entry, bool) {
	for i := len(l.Entries) - 1; i >= 0; i-- {
		if l.Entries[i].Kind == k {
			return l.Entries[i], true
		}
	}
	return Entry{}, false
}

// Changes are the changes responders noted with rca log note --change.
func (l *Log) Changes() []Entry {
	var out []Entry
	for _, e := range l.Entries {
		if e.Kind == KindChange && e.Change != nil {
			out = append(out, e)
		}
	}
	return out
}

// AnalysisEntry is the log entry for an analysis: a one-line headline and
// the summary.
func AnalysisEntry(res analysis.Result, imp analysis.Impact) Entry {
	sum := Summarize(res, imp)
	text := "no root cause stands out"
	if sum.RootCause != "" {
		text = fmt.Sprintf("top root cause on %s (a chain of %d links from the symptom down)", sum.Service, len(sum.Chain))
	}
	return Entry{Kind: KindAnalysis, Text: text, Analysis: &sum}
}
