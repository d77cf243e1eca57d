package incident

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/telemetry"
)

var d0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

func at(min int) time.Time { return d0.Add(time.Duration(min) * time.Minute) }

// draftLog is an incident at each stage of its life: the entries up to and
// including the named stage.
func draftLog(stage Kind) *Log {
	imp := analysis.Impact{
		Window: analysisWindow(), Onset: at(3), Ongoing: true, Services: []string{"gateway", "checkout"},
		Endpoints: []analysis.EndpointImpact{{
			Service: "gateway", Endpoint: "POST /api/checkout", UserFacing: true, Onset: at(4), Until: at(19), Ongoing: true,
			ErrorRatio: 0.36, BaselineErrorRatio: 0.005, Requests: 11300, FailedRequests: 4130,
			Latency: 29.8, BaselineLatency: 0.47, LatencySignal: "p99 latency",
			Availability: analysis.Measure(nan()), BaselineAvailability: analysis.Measure(nan()),
		}},
		FailedRequests: 4130,
	}
	all := []Entry{
		{Time: at(6), Kind: KindStart, Author: "alice", Title: "Checkout 500s", Severity: "SEV2", Impact: "customers cannot pay", Text: "Checkout 500s"},
		{Time: at(8), Kind: KindImpact, Author: "alice", Text: "impact", Assessment: &imp},
		{Time: at(9), Kind: KindNote, Author: "bob", Text: "gateway logs: upstream timeouts <script>alert(1)</script>"},
		{Time: at(10), Kind: KindAnalysis, Author: "alice", Text: "top root cause ...", Files: []string{"evidence/x-analysis/report.html"},
			Analysis: &AnalysisSummary{
				Window: analysisWindow(), Onset: at(3), Service: "checkout", RootCause: "change: deploy checkout v1.4.2 (checkout, 14:02:00)",
				Chain:  []string{"symptom: 5xx ratio on POST /api/checkout (gateway, 14:04:30, 36.5%)", "resource: CPU throttling (checkout, 14:03:00, 1.29s)", "change: deploy checkout v1.4.2 (checkout, 14:02:00)"},
				Change: "deploy checkout v1.4.2", ChangeTime: at(2), Rollback: "v1.4.1", Ongoing: true,
			}},
		{Time: at(12), Kind: KindUpdate, Author: "alice", Status: StatusIdentified, PostedTo: "webhook at hooks.example", Text: "..."},
		{Time: at(20), Kind: KindMitigate, Author: "bob", Text: "rolled back checkout to v1.4.1"},
		{Time: at(55), Kind: KindResolve, Author: "alice", Text: "error ratio back to baseline"},
	}
	l := &Log{ID: "INC-20261124-1406-checkout-500s"}
	for _, e := range all {
		l.Entries = append(l.Entries, e)
		if e.Kind == stage {
			break
		}
	}
	return l
}

func analysisWindow() telemetry.Window { return telemetry.Window{From: at(-10), To: at(20)} }

func nan() float64 { return math.NaN() }

func TestDraftUpdate(t *testing.T) {
	tests := []struct {
		stage    Kind
		status   Status
		want     []string
		wantNext bool
	}{
		{KindStart, StatusInvestigating, []string{"[Investigating] Checkout 500s (SEV2)", "Impact: customers cannot pay", "The cause is not known yet", "Next update: by 15:00 UTC"}, true},
		{KindImpact, StatusInvestigating, []string{"about 4.13k requests failed", "POST /api/checkout: 36% of requests fail (normally 0.5%)", "63.4x slower than usual"}, true},
		{KindAnalysis, StatusIdentified, []string{"[Identified]", "starts in the checkout service, shortly after a change to it at 14:02 UTC (deploy checkout v1.4.2)", "roll the checkout service back to its previous version (v1.4.1)"}, true},
		{KindMitigate, StatusMonitoring, []string{"[Monitoring]", "rolled back checkout to v1.4.1. We are watching the service recover."}, true},
		{KindResolve, StatusResolved, []string{"[Resolved]", "error ratio back to baseline", "This is the last update"}, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.stage), func(t *testing.T) {
			u := DraftUpdate(draftLog(tc.stage), "", at(30), 0)
			if u.Status != tc.status {
				t.Errorf("status = %s, want %s", u.Status, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(u.Text, w) {
					t.Errorf("update lacks %q:\n%s", w, u.Text)
				}
			}
			if got := !u.Next.IsZero(); got != tc.wantNext {
				t.Errorf("next update set = %v, want %v", got, tc.wantNext)
			}
			for _, jargon := range []string{"p99", "alice", "bob", "commit"} {
				if strings.Contains(u.Text, jargon) {
					t.Errorf("update names %q (jargon or a person):\n%s", jargon, u.Text)
				}
			}
		})
	}
	// The status can be overridden, and the cadence set.
	u := DraftUpdate(draftLog(KindStart), StatusIdentified, at(30), 15*time.Minute)
	if u.Status != StatusIdentified || !strings.Contains(u.Text, "Next update: by 14:45 UTC") {
		t.Errorf("override: %s\n%s", u.Status, u.Text)
	}
}

func TestMilestones(t *testing.T) {
	m := draftLog(KindResolve).Milestones()
	want := Milestones{FirstAnomaly: at(3), FirstSymptom: at(3), Change: at(2), Detected: at(6), FirstUpdate: at(12), Mitigated: at(20), Resolved: at(55)}
	if m != want {
		t.Errorf("milestones = %+v\nwant        %+v", m, want)
	}
	// Without a mitigation entry, the resolution is when the bleeding stopped.
	l := draftLog(KindResolve)
	l.Entries = append(l.Entries[:5], l.Entries[6])
	if m := l.Milestones(); !m.Mitigated.Equal(at(55)) {
		t.Errorf("mitigated = %s, want the resolution", m.Mitigated)
	}
}

func TestWriteReview(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReview(&buf, draftLog(KindResolve), at(70)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# Postmortem: Checkout 500s",
		"| Time to detect (first anomaly to incident opened) | 3m0s |",
		"| Time to mitigate (first anomaly to mitigation) | 17m0s |",
		"| Time to resolve (first anomaly to resolution) | 52m0s |",
		"| Time to first update (incident opened to first stakeholder update) | 6m0s |",
		"**2026-11-24 14:02:00** Change: deploy checkout v1.4.2",
		"**2026-11-24 14:03:00** First anomaly",
		"Rollback target: checkout v1.4.1",
		"[report.html](evidence/x-analysis/report.html)",
		"## What went well", "## Action items",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("review lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("a note's HTML reached the review unescaped")
	}
	// Timeline is in time order.
	var last string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "- **2026-") {
			stamp := line[4:23]
			if stamp < last {
				t.Errorf("timeline out of order at %q", line)
			}
			last = stamp
		}
	}
	// An incident opened before the anomaly it is about says so.
	early := draftLog(KindResolve)
	early.Entries[0].Time = at(1)
	buf.Reset()
	if err := WriteReview(&buf, early, at(70)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "opened before the first anomaly") {
		t.Error("a negative time to detect is not explained")
	}
}

func TestSummarize(t *testing.T) {
	res := analysis.Result{}
	if s := Summarize(res, analysis.Impact{}); s.RootCause != "" || len(s.Chain) != 0 || s.Change != "" {
		t.Errorf("summary of nothing = %+v", s)
	}
}

func TestReviewEvidenceLinks(t *testing.T) {
	got := evidenceLinks([]string{"evidence/a b/report.html", "../../etc/passwd", "javascript:alert(1)"})
	for _, want := range []string{"[report.html](evidence/a%20b/report.html)", "passwd", "javascript:alert(1)"} {
		if !strings.Contains(got, want) {
			t.Errorf("links %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "](../") || strings.Contains(got, "](javascript") {
		t.Errorf("an unsafe path became a link: %q", got)
	}
}

// TestDraftsNameTheChangedService: when the cause is one service and the
// latest change another's, nobody is told to roll back the wrong one.
func TestDraftsNameTheChangedService(t *testing.T) {
	l := draftLog(KindAnalysis)
	a := l.Entries[3].Analysis
	a.Service, a.ChangeService, a.Change, a.Rollback = "db", "frontend", "deploy frontend v9", "v8"
	u := DraftUpdate(l, "", at(30), 0)
	for _, want := range []string{"starts in the db service, shortly after a change to the frontend service", "roll the frontend service back to its previous version (v8)"} {
		if !strings.Contains(u.Text, want) {
			t.Errorf("update lacks %q:\n%s", want, u.Text)
		}
	}
	if strings.Contains(u.Text, "roll the db service back") {
		t.Errorf("update rolls back the wrong service:\n%s", u.Text)
	}
	var b bytes.Buffer
	if err := WriteReview(&b, l, at(70)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Rollback target: frontend v8") {
		t.Errorf("review's rollback target is not frontend v8:\n%s", b.String())
	}
}

func TestSummarizeChangeOfAnotherService(t *testing.T) {
	res := analysis.Result{RootCauses: []analysis.Candidate{{Rank: 1, Service: "db", Finding: analysis.Finding{Service: "db", Signal: "connections", Layer: "resource"}}}}
	imp := analysis.Impact{Change: &telemetry.Change{T: at(1), Service: "frontend", Kind: telemetry.ChangeDeploy, Summary: "deploy frontend v9", FromVersion: "v8"}, Rollback: "v8"}
	s := Summarize(res, imp)
	if s.Service != "db" || s.ChangeService != "frontend" || s.Rollback != "v8" || s.Change != "deploy frontend v9" {
		t.Errorf("summary = %+v", s)
	}
}

// TestMilestonesLatestAnalysis: the review's change time and text come
// from the same, latest, analysis.
func TestMilestonesLatestAnalysis(t *testing.T) {
	l := draftLog(KindResolve)
	again := l.Entries[3]
	second := *again.Analysis
	second.Change, second.ChangeTime = "config checkout", at(1)
	again.Analysis, again.Time = &second, at(11)
	l.Entries = append(l.Entries[:4], append([]Entry{again}, l.Entries[4:]...)...)
	if m := l.Milestones(); !m.Change.Equal(at(1)) {
		t.Errorf("change time = %s, want the latest analysis's %s", m.Change, at(1))
	}
}

func TestNextUpdateDue(t *testing.T) {
	tests := []struct {
		stage  Kind
		want   time.Time
		wantOK bool
	}{
		{KindStart, at(36), true},    // opened at 06, none sent yet
		{KindAnalysis, at(36), true}, // still none sent
		{KindUpdate, at(42), true},   // sent at 12
		{KindMitigate, at(42), true}, // monitoring still gets updates
		{KindResolve, time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := draftLog(tc.stage).NextUpdateDue(0)
		if ok != tc.wantOK || !got.Equal(tc.want) {
			t.Errorf("%s: next update = %s, %v; want %s, %v", tc.stage, got, ok, tc.want, tc.wantOK)
		}
	}
	if got, _ := draftLog(KindUpdate).NextUpdateDue(15 * time.Minute); !got.Equal(at(27)) {
		t.Errorf("15m cadence: next update = %s, want %s", got, at(27))
	}
}

// TestReviewFirstAnomaly: the review says users saw the problem only when a
// user-facing symptom was found; otherwise it names what was seen first.
func TestReviewFirstAnomaly(t *testing.T) {
	const users = "users start to see the problem"
	noSymptom := func(l *Log) {
		// An analysis that found no user-facing symptom, and no impact entry.
		l.Entries = slices.DeleteFunc(l.Entries, func(e Entry) bool { return e.Kind == KindImpact })
		for _, e := range l.Entries {
			if e.Analysis != nil {
				e.Analysis.FirstAnomaly = "resource: CPU throttling (checkout, 14:03:00, 1.29s)"
			}
		}
	}
	tests := []struct {
		name   string
		edit   func(*Log)
		want   []string
		unwant []string
	}{
		{"a symptom first", func(*Log) {}, []string{"**2026-11-24 14:03:00** First anomaly (rca): " + users}, []string{"no user-facing symptom"}},
		{"no symptom", noSymptom, []string{"**2026-11-24 14:03:00** First anomaly (rca): resource: CPU throttling (checkout, 14:03:00, 1.29s); no user-facing symptom (errors, slowness, unavailability) was detected."}, []string{users}},
		{"an anomaly before the symptom", func(l *Log) {
			noSymptom(l)
			l.Entries = append(l.Entries, Entry{Time: at(30), Kind: KindImpact, Assessment: &analysis.Impact{Onset: at(5)}})
		}, []string{
			"**2026-11-24 14:03:00** First anomaly (rca): resource: CPU throttling (checkout, 14:03:00, 1.29s), before users saw anything.",
			"**2026-11-24 14:05:00** First user-facing symptom (rca): " + users,
		}, []string{"no user-facing symptom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := draftLog(KindResolve)
			tc.edit(l)
			var b bytes.Buffer
			if err := WriteReview(&b, l, at(70)); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("review lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.unwant {
				if strings.Contains(b.String(), w) {
					t.Errorf("review says %q:\n%s", w, b.String())
				}
			}
			if !strings.Contains(b.String(), "| Time to detect (first anomaly to incident opened) | 3m0s |") {
				t.Errorf("time to detect no longer from the first anomaly:\n%s", b.String())
			}
		})
	}
}

// TestSummarizeFirstAnomaly: an analysis with no user-facing symptom keeps
// the first anomaly it saw, so the review can name it.
func TestSummarizeFirstAnomaly(t *testing.T) {
	cpu := analysis.Finding{Service: "checkout", Signal: "CPU throttling", Layer: "resource", Unit: "seconds", ObservedValue: 1.29, Onset: at(3)}
	res := analysis.Result{Window: analysisWindow(), Chain: []analysis.Finding{cpu}}
	s := Summarize(res, analysis.Impact{})
	if !s.Onset.Equal(at(3)) || s.FirstAnomaly != "resource: CPU throttling (checkout, 14:03:00, 1.29s)" {
		t.Errorf("no symptom: onset %s, first anomaly %q", s.Onset, s.FirstAnomaly)
	}
	if s := Summarize(res, analysis.Impact{Onset: at(5)}); !s.Onset.Equal(at(5)) || s.FirstAnomaly != "" {
		t.Errorf("a symptom: onset %s, first anomaly %q", s.Onset, s.FirstAnomaly)
	}
}

// TestUpdateStatusWording: the status line and what we know agree: an
// identified cause is never "not confirmed yet", and an investigation
// speaks of the likely cause.
func TestUpdateStatusWording(t *testing.T) {
	withChange := func(l *Log) {
		l.Entries = append(l.Entries, Entry{Time: at(7), Kind: KindChange, Text: "flag flip", Change: &telemetry.Change{T: at(2), Service: "checkout", Kind: telemetry.ChangeFlag, Summary: "enabled pi receipts"}})
	}
	tentative := func(l *Log) {
		for _, e := range l.Entries {
			if e.Analysis != nil {
				e.Analysis.Tentative = true
			}
		}
	}
	tests := []struct {
		name   string
		stage  Kind
		edit   func(*Log)
		status Status
		want   []string
		unwant []string
	}{
		{"identified by hand, no analysis, a change noted", KindStart, withChange, StatusIdentified,
			[]string{"Status: Identified. The cause has been identified", "The responders have identified the cause. The latest change noted: enabled pi receipts."},
			[]string{"not confirmed", "not known"}},
		{"identified by hand, nothing noted", KindStart, func(*Log) {}, StatusIdentified,
			[]string{"The responders have identified the cause"}, []string{"not confirmed", "not known"}},
		{"investigating, a change noted", KindStart, withChange, "",
			[]string{"Status: Investigating.", "The cause is not confirmed yet. A recent change is being looked at: enabled pi receipts."}, []string{"identified"}},
		{"investigating with an analysis", KindAnalysis, func(*Log) {}, StatusInvestigating,
			[]string{"likely starts in the checkout service", "This is not confirmed yet."}, []string{"identified"}},
		{"an analysis identifies the cause", KindAnalysis, func(*Log) {}, "",
			[]string{"Status: Identified.", "and starts in the checkout service"}, []string{"likely starts", "not confirmed"}},
		{"an analysis that is not confident", KindAnalysis, tentative, "",
			[]string{"Status: Investigating.", "likely starts in the checkout service", "This is not confirmed yet."}, []string{"identified"}},
		{"not confident, identified by hand", KindAnalysis, tentative, StatusIdentified,
			[]string{"Status: Identified.", "and starts in the checkout service"}, []string{"likely starts", "not confirmed"}},
		{"not confident, mitigated", KindMitigate, tentative, "",
			[]string{"Status: Monitoring.", "likely starts in the checkout service"}, []string{"not confirmed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := draftLog(tc.stage)
			// The analysis entry is shared by every draftLog: copy it.
			for i, e := range l.Entries {
				if e.Analysis != nil {
					a := *e.Analysis
					l.Entries[i].Analysis = &a
				}
			}
			tc.edit(l)
			u := DraftUpdate(l, tc.status, at(30), 0)
			for _, w := range tc.want {
				if !strings.Contains(u.Text, w) {
					t.Errorf("update lacks %q:\n%s", w, u.Text)
				}
			}
			for _, w := range tc.unwant {
				if strings.Contains(strings.ToLower(u.Text), w) {
					t.Errorf("update says %q:\n%s", w, u.Text)
				}
			}
		})
	}
}

// TestSummarizeTentative: a top candidate the analysis is not confident of
// (verdict nothing_stands_out) is kept, marked tentative, and leaves the
// incident investigating.
func TestSummarizeTentative(t *testing.T) {
	top := analysis.Candidate{Rank: 1, Service: "checkout", Finding: analysis.Finding{Service: "checkout", Signal: "CPU throttling", Layer: "resource"}}
	for _, tc := range []struct {
		verdict   string
		tentative bool
		status    Status
	}{
		{analysis.VerdictCauseFound, false, StatusIdentified},
		{analysis.VerdictNothingStandsOut, true, StatusInvestigating},
		{"", false, StatusIdentified}, // a result from before verdicts
	} {
		s := Summarize(analysis.Result{Verdict: tc.verdict, RootCauses: []analysis.Candidate{top}}, analysis.Impact{})
		l := &Log{Entries: []Entry{{Time: at(1), Kind: KindAnalysis, Analysis: &s}}}
		if s.Tentative != tc.tentative || s.RootCause == "" || l.Status() != tc.status {
			t.Errorf("verdict %q: tentative %v, root cause %q, status %s; want %v, kept, %s", tc.verdict, s.Tentative, s.RootCause, l.Status(), tc.tentative, tc.status)
		}
	}
}
