package report

import (
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/telemetry"
)

// Schema identifies the JSON document's version. Adding a field keeps v1;
// renaming, removing or changing the meaning of one needs v2. The schema is
// documented field by field in docs/report-json.md.
const Schema = "rca.report/v1"

// The JSON document is its own set of types rather than analysis.Result
// marshalled as is, so the published schema stays put when the analysis
// types change.

// JSONReport is the whole JSON document.
type JSONReport struct {
	Schema   string     `json:"schema"`
	Window   JSONWindow `json:"window"`
	Baseline JSONWindow `json:"baseline"`
	// Verdict is "cause_found" or "nothing_stands_out".
	Verdict    string        `json:"verdict"`
	Symptoms   []JSONFinding `json:"symptoms"`
	RootCauses []JSONCause   `json:"root_causes"`
	Chain      []JSONFinding `json:"chain"`
	Anomalies  []JSONFinding `json:"anomalies"`
	// Nearest are the near misses listed when no candidate was found
	// (analysis.Result.Nearest). Added in v1, additively.
	Nearest         []JSONFinding `json:"nearest"`
	UnlinkedChanges []JSONChange  `json:"unlinked_changes"`
	// RuledOut are the hypotheses checked and rejected, with why.
	RuledOut []JSONRuledOut `json:"ruled_out"`
	Warnings []string       `json:"warnings"`
	Stats    JSONStats      `json:"stats"`
}

// JSONRuledOut is a hypothesis that was checked and lost: a change, a
// runner-up candidate, another anomaly of a chain layer.
type JSONRuledOut struct {
	Hypothesis string `json:"hypothesis"`
	Service    string `json:"service"`
	Layer      string `json:"layer"`
	Why        string `json:"why"`
	// Numbers are the figures Why quotes, by name.
	Numbers map[string]Float `json:"numbers"`
	// Finding is the evidence checked, null when there is none.
	Finding *JSONFinding `json:"finding"`
}

// JSONWindow is a half-open time range; a bound is null when unknown.
type JSONWindow struct {
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
}

// JSONFinding is one anomalous signal, or a change, with its evidence.
type JSONFinding struct {
	Layer         string            `json:"layer"`
	Service       string            `json:"service"`
	Signal        string            `json:"signal"`
	SignalID      string            `json:"signal_id"`
	Metric        string            `json:"metric"`
	Labels        map[string]string `json:"labels"`
	Callee        string            `json:"callee"`
	Onset         *time.Time        `json:"onset"`
	Until         *time.Time        `json:"until"`
	BaselineValue Float             `json:"baseline_value"`
	ObservedValue Float             `json:"observed_value"`
	Unit          string            `json:"unit"`
	Score         Float             `json:"score"`
	Query         string            `json:"query"`
	Heuristic     bool              `json:"heuristic"`
	Explanation   string            `json:"explanation"`
	// Patterns are the log templates behind the finding, or beside a
	// chain link that they corroborate.
	Patterns []JSONPattern `json:"patterns"`
	Change   *JSONChange   `json:"change,omitempty"`
}

// JSONPattern is a log template of one service with its counts in the
// baseline and the window and a few of its lines.
type JSONPattern struct {
	ID            string     `json:"id"`
	Template      string     `json:"template"`
	Level         string     `json:"level"`
	SignalID      string     `json:"signal_id"`
	Layer         string     `json:"layer"`
	Callee        string     `json:"callee"`
	New           bool       `json:"new"`
	BaselineCount int        `json:"baseline_count"`
	WindowCount   int        `json:"window_count"`
	BaselineRate  Float      `json:"baseline_rate"`
	WindowRate    Float      `json:"window_rate"`
	Onset         *time.Time `json:"onset"`
	Until         *time.Time `json:"until"`
	Examples      []string   `json:"examples"`
	Query         string     `json:"query"`
}

// JSONCause is a ranked root-cause candidate.
type JSONCause struct {
	Rank     int    `json:"rank"`
	Service  string `json:"service"`
	Signal   string `json:"signal"`
	SignalID string `json:"signal_id"`
	Layer    string `json:"layer"`
	// Score ranks the candidates; AnomalyScore is how abnormal its signal is.
	Score        Float `json:"score"`
	AnomalyScore Float `json:"anomaly_score"`
	// Confidence is the probability, in [0, 1], that this is the root cause.
	Confidence    Float         `json:"confidence"`
	Onset         *time.Time    `json:"onset"`
	BaselineValue Float         `json:"baseline_value"`
	ObservedValue Float         `json:"observed_value"`
	Unit          string        `json:"unit"`
	Query         string        `json:"query"`
	Heuristic     bool          `json:"heuristic"`
	Explanation   string        `json:"explanation"`
	Patterns      []JSONPattern `json:"patterns"`
	Change        *JSONChange   `json:"change,omitempty"`
}

// JSONChange is a state change: a deploy, version, config edit, restart.
type JSONChange struct {
	Time        *time.Time `json:"time"`
	Service     string     `json:"service"`
	Kind        string     `json:"kind"`
	Summary     string     `json:"summary"`
	FromVersion string     `json:"from_version"`
	ToVersion   string     `json:"to_version"`
	Commit      string     `json:"commit"`
	Author      string     `json:"author"`
	Files       []string   `json:"files"`
	Source      string     `json:"source"`
	// Commits are what a deploy shipped that touches its service.
	Commits []JSONCommit `json:"commits"`
}

// JSONCommit is one commit of a source repository.
type JSONCommit struct {
	Hash    string     `json:"hash"`
	Author  string     `json:"author"`
	Time    *time.Time `json:"time"`
	Subject string     `json:"subject"`
	Files   []string   `json:"files"`
}

// JSONStats counts what was analysed.
type JSONStats struct {
	Series    int `json:"series"`
	Anomalous int `json:"anomalous"`
	Services  int `json:"services"`
	LogLines  int `json:"log_lines"`
	// LogPatterns is how many templates the log lines were mined into.
	LogPatterns int `json:"log_patterns"`
	Changes     int `json:"changes"`
}

// Float is a number that encodes NaN and ±Inf, which JSON cannot carry, as
// null; null decodes back to NaN. It is the analysis's Measure, which
// encodes so.
type Float = analysis.Measure

// RenderJSON writes the report as a JSON document (schema rca.report/v1),
// indented by two spaces and ending in a newline. The output is
// deterministic: lists keep the analysis order and label maps are sorted.
func RenderJSON(w io.Writer, r analysis.Result) error {
	b, err := json.MarshalIndent(NewJSONReport(r), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// NewJSONReport converts a result to the JSON document. Lists are never
// null, so consumers can iterate without checking.
func NewJSONReport(r analysis.Result) JSONReport {
	doc := JSONReport{
		Schema:          Schema,
		Window:          jsonWindow(r.Window),
		Baseline:        jsonWindow(r.Baseline),
		Verdict:         verdict(r),
		Symptoms:        jsonFindings(r.Symptoms),
		RootCauses:      make([]JSONCause, 0, len(r.RootCauses)),
		Chain:           jsonFindings(r.Chain),
		Anomalies:       jsonFindings(r.Anomalies),
		Nearest:         jsonFindings(r.Nearest),
		UnlinkedChanges: make([]JSONChange, 0, len(r.UnlinkedChanges)),
		RuledOut:        make([]JSONRuledOut, 0, len(r.RuledOut)),
		Warnings:        append(make([]string, 0, len(r.Warnings)), r.Warnings...),
		Stats: JSONStats{
			Series:      r.Stats.Series,
			Anomalous:   r.Stats.Anomalous,
			Services:    r.Stats.Services,
			LogLines:    r.Stats.LogLines,
			LogPatterns: r.Stats.LogPatterns,
			Changes:     r.Stats.Changes,
		},
	}
	for i, c := range r.RootCauses {
		doc.RootCauses = append(doc.RootCauses, JSONCause{
			Rank:          rankOf(c, i),
			Service:       c.Service,
			Signal:        c.Signal,
			SignalID:      c.SignalID,
			Layer:         string(c.Layer),
			Score:         Float(c.Score),
			AnomalyScore:  Float(c.Finding.Score),
			Confidence:    Float(c.Confidence),
			Onset:         jsonTime(when(c.Finding)),
			BaselineValue: value(c.Finding, c.BaselineValue),
			ObservedValue: value(c.Finding, c.ObservedValue),
			Unit:          c.Unit,
			Query:         c.Query,
			Heuristic:     c.Heuristic,
			Explanation:   c.Explanation,
			Patterns:      jsonPatterns(c.Patterns),
			Change:        jsonChangePtr(c.Change),
		})
	}
	for _, c := range r.UnlinkedChanges {
		doc.UnlinkedChanges = append(doc.UnlinkedChanges, jsonChange(c))
	}
	for _, ro := range r.RuledOut {
		j := JSONRuledOut{
			Hypothesis: ro.Hypothesis,
			Service:    ro.Service,
			Layer:      string(ro.Layer),
			Why:        ro.Why,
			Numbers:    make(map[string]Float, len(ro.Numbers)),
		}
		for k, v := range ro.Numbers {
			j.Numbers[k] = Float(v)
		}
		if ro.Finding != nil {
			j.Finding = &jsonFindings([]analysis.Finding{*ro.Finding})[0]
		}
		doc.RuledOut = append(doc.RuledOut, j)
	}
	return doc
}

func jsonFindings(fs []analysis.Finding) []JSONFinding {
	out := make([]JSONFinding, 0, len(fs))
	for _, f := range fs {
		labels := make(map[string]string, len(f.Labels))
		for k, v := range f.Labels {
			labels[k] = v
		}
		out = append(out, JSONFinding{
			Layer:         string(f.Layer),
			Service:       f.Service,
			Signal:        f.Signal,
			SignalID:      f.SignalID,
			Metric:        f.Metric,
			Labels:        labels,
			Callee:        f.Callee,
			Onset:         jsonTime(when(f)),
			Until:         jsonTime(f.Until),
			BaselineValue: value(f, f.BaselineValue),
			ObservedValue: value(f, f.ObservedValue),
			Unit:          f.Unit,
			Score:         Float(f.Score),
			Query:         f.Query,
			Heuristic:     f.Heuristic,
			Explanation:   f.Explanation,
			Patterns:      jsonPatterns(f.Patterns),
			Change:        jsonChangePtr(f.Change),
		})
	}
	return out
}

func jsonPatterns(ps []analysis.LogPattern) []JSONPattern {
	out := make([]JSONPattern, 0, len(ps))
	for _, p := range ps {
		out = append(out, JSONPattern{
			ID:            p.ID,
			Template:      p.Template,
			Level:         p.Level,
			SignalID:      p.SignalID,
			Layer:         string(p.Layer),
			Callee:        p.Callee,
			New:           p.New,
			BaselineCount: p.BaselineCount,
			WindowCount:   p.WindowCount,
			BaselineRate:  Float(p.BaselineRate),
			WindowRate:    Float(p.WindowRate),
			Onset:         jsonTime(p.Onset),
			Until:         jsonTime(p.Until),
			Examples:      append(make([]string, 0, len(p.Examples)), p.Examples...),
			Query:         p.Query,
		})
	}
	return out
}

// value is a finding's baseline or observed value; a change has none, and
// null says so where 0 would read as a measurement.
func value(f analysis.Finding, v float64) Float {
	if isChange(f) {
		return Float(math.NaN())
	}
	return Float(v)
}

func jsonChangePtr(c *telemetry.Change) *JSONChange {
	if c == nil {
		return nil
	}
	j := jsonChange(*c)
	return &j
}

func jsonChange(c telemetry.Change) JSONChange {
	return JSONChange{
		Time:        jsonTime(c.T),
		Service:     c.Service,
		Kind:        string(c.Kind),
		Summary:     c.Summary,
		FromVersion: c.FromVersion,
		ToVersion:   c.ToVersion,
		Commit:      c.Commit,
		Author:      c.Author,
		Files:       append(make([]string, 0, len(c.Files)), c.Files...),
		Source:      c.Source,
		Commits:     jsonCommits(c.Commits),
	}
}

func jsonCommits(cs []telemetry.Commit) []JSONCommit {
	out := make([]JSONCommit, 0, len(cs))
	for _, c := range cs {
		out = append(out, JSONCommit{Hash: c.Hash, Author: c.Author, Time: jsonTime(c.Time), Subject: c.Subject,
			Files: append(make([]string, 0, len(c.Files)), c.Files...)})
	}
	return out
}

func jsonWindow(w telemetry.Window) JSONWindow {
	return JSONWindow{From: jsonTime(w.From), To: jsonTime(w.To)}
}

// jsonTime is t in UTC (so it encodes as RFC 3339 with a Z), or nil for an
// unknown time, which encodes as null instead of year 1.
func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
