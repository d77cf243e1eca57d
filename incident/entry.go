package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/telemetry"
)

// Kind says what an entry records.
type Kind string

// Entry kinds.
const (
	KindStart    Kind = "start"    // the incident was opened
	KindNote     Kind = "note"     // free text from a responder
	KindChange   Kind = "change"   // a change a responder knows of (feeds the analysis)
	KindAnalysis Kind = "analysis" // rca analyze attached its report
	KindImpact   Kind = "impact"   // rca impact attached its assessment
	KindUpdate   Kind = "update"   // a stakeholder update went out (or was drafted)
	KindMitigate Kind = "mitigate" // the bleeding stopped (rollback, failover, ...)
	KindResolve  Kind = "resolve"  // the incident is over
)

// Entry is one line of the log. Only Time, Kind, Author and Text are always
// set; the rest belong to particular kinds.
type Entry struct {
	// Time is when it happened: when the entry was written, or the time a
	// responder gave with --at.
	Time time.Time `json:"time"`
	// Recorded is when an entry given an earlier Time (--at) was written;
	// zero when that is Time.
	Recorded time.Time `json:"recorded,omitzero"`
	Kind     Kind      `json:"kind"`
	Author   string    `json:"author,omitempty"`
	Text     string    `json:"text"`

	// Start.
	Title    string `json:"title,omitempty"`
	Severity string `json:"severity,omitempty"`
	Impact   string `json:"impact,omitempty"`

	// Update: the status it announced, and where it was posted ("" when
	// only drafted).
	Status   Status `json:"status,omitempty"`
	PostedTo string `json:"posted_to,omitempty"`

	// Change: what changed, for the analysis.
	Change *telemetry.Change `json:"change,omitempty"`

	// Analysis and impact: what was found, and the evidence files, relative
	// to the incident's folder.
	Analysis   *AnalysisSummary `json:"analysis,omitempty"`
	Assessment *analysis.Impact `json:"assessment,omitempty"`
	Files      []string         `json:"files,omitempty"`
}

// AnalysisSummary is what an analysis entry remembers of the report, so that
// updates and the review can be drafted from the log alone.
type AnalysisSummary struct {
	Window    telemetry.Window `json:"window"`
	Onset     time.Time        `json:"onset,omitempty"`
	Service   string           `json:"service,omitempty"`    // top root-cause candidate
	RootCause string           `json:"root_cause,omitempty"` // its one-line finding
	// Chain is one line per link, top symptom first, root cause last.
	Chain []string `json:"chain,omitempty"`
	// Change is the change at the bottom of the chain, or else the latest
	// change before the onset, of ChangeService; Rollback is the version
	// of ChangeService to roll back to when known.
	Change        string    `json:"change,omitempty"`
	ChangeService string    `json:"change_service,omitempty"`
	ChangeTime    time.Time `json:"change_time,omitempty"`
	Rollback      string    `json:"rollback,omitempty"`
	// Ongoing is true when the symptoms were still abnormal at the end of
	// the window.
	Ongoing bool `json:"ongoing,omitempty"`
	// FirstAnomaly is set when no user-facing symptom (errors, slowness,
	// unavailability) was found: the chain's top link, whose onset Onset
	// then is. Empty when Onset is a user-facing symptom's (and in entries
	// written before it existed).
	FirstAnomaly string `json:"first_anomaly,omitempty"`
	// Tentative is true when the analysis named a top candidate without
	// the confidence to call it the cause (verdict nothing_stands_out):
	// updates then speak of the likely cause.
	Tentative bool `json:"tentative,omitempty"`
}

// Status is the state of an incident as stakeholders hear it.
type Status string

// Statuses, in the order an incident passes through them.
const (
	StatusInvestigating Status = "investigating"
	StatusIdentified    Status = "identified"
	StatusMonitoring    Status = "monitoring"
	StatusResolved      Status = "resolved"
)

// ParseStatus reads a status as a responder types it (any case, spaces
// around); "" stays "", for the status the log implies.
func ParseStatus(s string) (Status, error) {
	st := Status(strings.ToLower(strings.TrimSpace(s)))
	switch st {
	case "", StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved:
		return st, nil
	}
	return "", fmt.Errorf("%q: use investigating, identified, monitoring or resolved", s)
}

// Problem is a line of the log file that could not be read back.
type Problem struct {
	Line int `json:"line"` // 1-based
	// Torn is true for a last line cut off by a crash mid-write.
	Torn bool   `json:"torn,omitempty"`
	Err  string `json:"error"`
}

// Log is an incident's log as read back.
type Log struct {
	ID       string
	Entries  []Entry
	Problems []Problem
}
