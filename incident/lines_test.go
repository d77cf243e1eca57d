package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
)

func TestSummaryLine(t *testing.T) {
	in := Summary{ID: "INC-20261124-1402-checkout", Title: "checkout\n  500s", Status: StatusInvestigating, Current: true, Started: st0}
	want := "* INC-20261124-1402-checkout               -     investigating 2026-11-24 14:02  checkout 500s"
	if got := in.Line(); got != want {
		t.Errorf("Line() =\n%q, want\n%q", got, want)
	}
	if got := (Summary{ID: "x", Severity: "SEV2"}).Line(); !strings.HasPrefix(got, "  x ") || !strings.Contains(got, "SEV2") || !strings.Contains(got, " -  ") {
		t.Errorf("Line() = %q", got)
	}
}

func TestUpdateReminder(t *testing.T) {
	l := &Log{ID: "x", Entries: []Entry{{Time: st0, Kind: KindStart, Title: "t"}}}
	if got := l.UpdateReminder(30*time.Minute, st0.Add(10*time.Minute)); got != "next stakeholder update due by 14:32 UTC" {
		t.Errorf("due: %q", got)
	}
	if got := l.UpdateReminder(30*time.Minute, st0.Add(40*time.Minute+20*time.Second)); !strings.HasPrefix(got, "stakeholder update overdue by 10m (due 14:32 UTC)") {
		t.Errorf("overdue: %q", got)
	}
	if got := l.UpdateReminder(30*time.Minute, st0.Add(30*time.Minute+time.Second)); !strings.HasPrefix(got, "stakeholder update overdue by 1m ") {
		t.Errorf("just overdue: %q", got)
	}
	l.Entries = append(l.Entries, Entry{Time: st0.Add(time.Hour), Kind: KindResolve, Text: "done"})
	if got := l.UpdateReminder(30*time.Minute, st0.Add(2*time.Hour)); got != "" {
		t.Errorf("resolved: %q", got)
	}
}

func TestAnalysisEntry(t *testing.T) {
	e := AnalysisEntry(analysis.Result{}, analysis.Impact{})
	if e.Kind != KindAnalysis || e.Text != "no root cause stands out" || e.Analysis == nil {
		t.Errorf("entry = %+v", e)
	}
}
