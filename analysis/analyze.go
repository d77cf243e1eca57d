package analysis

import (
	"context"
	"slices"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// DefaultLookback is how long before an anomaly a change may lie and still be its cause.
const DefaultLookback = 2 * time.Hour

// Analyze ranks root-cause candidates and builds the cause chain. It is
// deterministic: the same bundle and catalog always give the same result.
func Analyze(b telemetry.Bundle, cat *catalog.Catalog, opt Options) Result {
	res, _ := AnalyzeContext(context.Background(), b, cat, opt)
	return res
}

// AnalyzeContext is Analyze that stops when ctx is done: between stages
// and every few thousand series within the long ones, so an interrupted
// run of a large case ends in well under a second. It then returns
// ctx.Err() and no result; otherwise the result is Analyze's.
func AnalyzeContext(ctx context.Context, b telemetry.Bundle, cat *catalog.Catalog, opt Options) (Result, error) {
	r := newRun(b, cat, opt)
	r.ctx = ctx
	for _, s := range stages {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		s.do(r)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return r.res, nil
}

// stage is one named step of an analysis.
type stage struct {
	name string
	do   func(*run)
}

// stages run in this order; each reads what the ones before it left in the run.
var stages = []stage{
	{"logs", logsStage},             // index the log lines, count them per minute
	{"score", scoreStage},           // score every series, gather anomalies by service
	{"absence", absenceStage},       // availability: targets gone missing, up gauges at 0
	{"graph", graphStage},           // the call graph
	{"patterns", patternsStage},     // new and surging log templates
	{"netgap", netGapStage},         // callers see a callee slower than it sees itself
	{"named", namedStage},           // callers' errors name a service with no telemetry
	{"symptoms", symptomsStage},     // order the anomalies, onsets, user-facing symptoms
	{"changes", changesStage},       // link changes to the anomalies they may explain
	{"rank", rankStage},             // rank services, pick the root-cause candidates
	{"confidence", confidenceStage}, // each candidate's confidence, the verdict
	{"chain", chainStage},           // the cause chain from a symptom to the root cause
	{"ruledout", ruledOutStage},     // what else was checked, and why it lost
	{"unranked", unrankedStage},     // warnings listed, never ranked or linked
	{"evidence", evidenceStage},     // the series a report charts
}

// run is one analysis in progress: its inputs, what the stages have found
// so far, and the result they build.
type run struct {
	// ctx is checked between stages and by the long loops within them
	// (stopped); a stage that stops early leaves the run unfinished, and
	// AnalyzeContext returns ctx.Err() instead of its result.
	ctx      context.Context
	b        telemetry.Bundle
	cat      *catalog.Catalog
	lookback time.Duration

	logs     *logIndex
	sigs     []signal
	tol      time.Duration            // how far apart two onsets may be and still be simultaneous
	step     time.Duration            // the usual sampling step of the series
	steps    map[string]time.Duration // the sampling step of each series, by ID
	g        graph
	patterns []notablePattern
	weak     []Finding // warning templates: listed, never ranked
	states   map[string]*serviceState
	observed map[string]bool // services with a scored series or a ranked template
	latency  map[string]ownLatency
	nearest  []Finding // see Result.Nearest

	res Result
}

func newRun(b telemetry.Bundle, cat *catalog.Catalog, opt Options) *run {
	lookback := opt.Lookback
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	return &run{
		ctx:      context.Background(),
		b:        b,
		cat:      cat,
		lookback: lookback,
		states:   map[string]*serviceState{},
		observed: map[string]bool{},
		latency:  map[string]ownLatency{},
		res: Result{
			Window:          b.Window,
			Baseline:        b.Baseline,
			Warnings:        slices.Clone(b.Warnings),
			Symptoms:        []Finding{},
			RootCauses:      []Candidate{},
			Chain:           []Finding{},
			Anomalies:       []Finding{},
			UnlinkedChanges: []telemetry.Change{},
			RuledOut:        []RuledOut{},
		},
	}
}

// stopped reports, every checkEvery calls of a loop (i is its index),
// whether the run's context is done.
func (r *run) stopped(i int) bool {
	return i%checkEvery == 0 && r.ctx.Err() != nil
}

// checkEvery is how many series or services a loop handles between looks
// at the context: a few milliseconds of work.
const checkEvery = 4096

// skew is how far an anomaly's true start may lie after its onset: the
// sampling step of its series (the run's usual step for log templates and
// other findings without one). A change later than that came after it.
func (r *run) skew(f Finding) time.Duration {
	if s, ok := r.steps[f.SeriesID]; ok && f.SeriesID != "" {
		return s
	}
	return r.step
}

// addFinding adds an anomalous finding that a stage made beyond the scored
// series (a log template, a network gap, a failing dependency) as one more
// signal of its service, which moved: a carried-over one counts a third
// toward the service's peak, as in the score stage.
func (r *run) addFinding(f Finding, infra bool) {
	st := r.state(f.Service, infra)
	st.inside = st.inside || f.Source == "logs"
	r.count(st, f.Score, f.CarriedOver)
	r.res.Anomalies = append(r.res.Anomalies, f)
}

// count counts one more signal of a service, scored score: its peak is
// the highest score of its signals, a carried-over one's a third.
func (r *run) count(st *serviceState, score float64, carried bool) {
	st.series++
	w := 1.0
	if carried {
		w = carriedWeight
	}
	st.peak = max(st.peak, score*w)
	r.observed[st.name] = true
}

// state is what is known of a service, made on first sight with infra as given.
func (r *run) state(service string, infra bool) *serviceState {
	st := r.states[service]
	if st == nil {
		// The logs stage ran first: whether the service has lines is known.
		st = &serviceState{name: service, infra: infra, logged: r.logs.logs(service)}
		r.states[service] = st
	}
	return st
}
