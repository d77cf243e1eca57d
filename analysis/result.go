package analysis

import (
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Finding is one anomalous signal of one service, with its evidence.
type Finding struct {
	Service  string           `json:"service"`
	Signal   string           `json:"signal"`    // human name, e.g. "CPU usage"
	SignalID string           `json:"signal_id"` // catalog id or metric name
	Metric   string           `json:"metric"`
	Labels   telemetry.Labels `json:"labels,omitempty"`
	// Callee is the service a client-side signal measures calls to.
	Callee    string            `json:"callee,omitempty"`
	Layer     catalog.Layer     `json:"layer"`
	Direction catalog.Direction `json:"direction"`
	Unit      string            `json:"unit,omitempty"`
	Query     string            `json:"query,omitempty"`
	// Source is where the evidence came from: "metrics", "logs" or "changes".
	Source string `json:"source"`
	// Score is how abnormal the window is against the baseline, in robust
	// deviations beyond what the baseline itself shows.
	Score float64   `json:"score"`
	Onset time.Time `json:"onset"`
	// Until is the last sample of the anomalous run that holds the peak.
	Until time.Time `json:"until"`
	// CarriedOver marks an anomaly already under way when the window began,
	// with no data right before it: it started earlier, at a time the data
	// does not show, and Onset is only the window's start.
	CarriedOver   bool    `json:"carried_over,omitempty"`
	BaselineValue float64 `json:"baseline_value"`
	ObservedValue float64 `json:"observed_value"`
	// Heuristic is true when the layer came from the metric name, not the catalog.
	Heuristic   bool              `json:"heuristic,omitempty"`
	Change      *telemetry.Change `json:"change,omitempty"`
	Explanation string            `json:"explanation"`
	// SeriesID names the evidence series in the bundle ("" for changes).
	SeriesID string `json:"series_id,omitempty"`
	// Patterns are the log templates behind a log-derived finding (its
	// own template, or the templates that make up a log-rate finding's
	// lines), or, on a chain link, the templates of the same service and
	// layer that were abnormal at the same time and corroborate it. Most
	// window lines first, at most three.
	Patterns []LogPattern `json:"patterns,omitempty"`

	// traffic marks a request rate: the requests a service receives are
	// what its callers send, so they never explain a caller's anomaly.
	traffic bool
	// level is the log level its series' labels name, lower case, or "".
	level string
	// events marks a count of events (see counting): one sample of it can
	// be a burst too many to be chance.
	events bool
	// failing marks availability (a success ratio, a probe, an instance's
	// series gone missing): its fall is the service failing its requests
	// or probes, as plain a word that something broke as an error line. An
	// up gauge at 0 is the service down (serviceState.down) instead.
	failing bool
}

// Candidate is a ranked root-cause candidate: a service and the finding that
// best explains why it is the cause.
type Candidate struct {
	Rank    int     `json:"rank"`
	Service string  `json:"service"`
	Score   float64 `json:"score"`
	// Confidence is the probability, in [0, 1], that this candidate is the
	// root cause, calibrated on labelled incidents (see confidence.go).
	Confidence float64 `json:"confidence"`
	// Features are the confidence model's inputs, in
	// ConfidenceFeatureNames order (for tools/fitconfidence; not reported).
	Features []float64 `json:"-"`
	Finding
}

// Verdict values: whether a root cause stands out from normal variation.
const (
	VerdictCauseFound       = "cause_found"
	VerdictNothingStandsOut = "nothing_stands_out"
)

// RuledOut is a hypothesis that was checked and lost, with why.
type RuledOut struct {
	// Hypothesis names what was considered, e.g. "catalog deploy v2.3.1 at
	// 13:53" or "cart memory".
	Hypothesis string        `json:"hypothesis"`
	Service    string        `json:"service"`
	Layer      catalog.Layer `json:"layer"`
	// Why says in one sentence why it lost, quoting Numbers.
	Why string `json:"why"`
	// Numbers are the figures Why quotes, by name (e.g. "score",
	// "onset_lag_seconds", "change_percent").
	Numbers map[string]float64 `json:"numbers,omitempty"`
	// Finding is the evidence checked, when there is one (its SeriesID is
	// in Result.Evidence for a chart).
	Finding *Finding `json:"finding,omitempty"`
}

// Result is the outcome of one analysis.
type Result struct {
	Window   telemetry.Window `json:"window"`
	Baseline telemetry.Window `json:"baseline"`
	// Verdict is VerdictCauseFound when a root cause's confidence reaches
	// the threshold, else VerdictNothingStandsOut.
	Verdict string `json:"verdict"`
	// BaselineShrink is the factor a baseline too short to judge put on
	// every confidence (1 when it is long enough; for tools/fitconfidence).
	BaselineShrink float64 `json:"-"`
	// Symptoms are the anomalous user-facing signals, strongest first.
	Symptoms []Finding `json:"symptoms"`
	// RootCauses are the ranked candidates, one per service, best first.
	RootCauses []Candidate `json:"root_causes"`
	// Chain runs from the top symptom down to the root cause.
	Chain []Finding `json:"chain"`
	// Anomalies are all anomalous findings, strongest first.
	Anomalies []Finding `json:"anomalies"`
	// Nearest are the series that came closest to deviating without
	// reaching it (past the baseline's own worst, under AnomalyRatio), the
	// strongest of each service (of each host when no service has a
	// series), strongest first, at most three: listed when no root-cause
	// candidate was found, so a quiet verdict still says where the data
	// moved most.
	Nearest []Finding `json:"nearest,omitempty"`
	// UnlinkedChanges are changes in the window or lookback with no effect seen.
	UnlinkedChanges []telemetry.Change `json:"unlinked_changes"`
	// RuledOut are hypotheses checked and rejected, for the top candidates
	// and for each layer of the chain.
	RuledOut []RuledOut `json:"ruled_out"`
	// Services ranks every service seen, best root-cause candidate first.
	Services []ServiceScore `json:"-"`
	Warnings []string       `json:"warnings"`
	Stats    Stats          `json:"stats"`
	// Evidence holds the series behind the symptoms, the root causes and
	// the chain, by Finding.SeriesID, for charts. Log-derived rates are
	// included; changes and log templates have none.
	Evidence map[string]telemetry.Series `json:"-"`
}

// ServiceScore is one service's root-cause score.
type ServiceScore struct {
	Service string
	Score   float64
}

// Stats counts what was analysed.
type Stats struct {
	Series    int `json:"series"`
	Anomalous int `json:"anomalous"`
	Services  int `json:"services"`
	LogLines  int `json:"log_lines"`
	// LogPatterns is how many log templates the lines were mined into.
	LogPatterns int `json:"log_patterns"`
	Changes     int `json:"changes"`
}

// Options tune an analysis.
type Options struct {
	// Lookback is how long before the first onset a change may lie and still
	// be a candidate cause. Zero means two hours.
	Lookback time.Duration
}
