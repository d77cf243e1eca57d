package prometheus

import (
	"cmp"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/catalog"
)

// What the planner reads and writes: the metric names present in the range
// (with their types where the server's metadata has them) become queries
// for the catalog's signals and change sources, and one query per other
// metric, each aggregated by the series' identity on the server.

// metricKind is what a metric name holds, from the server's metadata or,
// where it has none (VictoriaMetrics, a backfilled Prometheus), the name.
type metricKind int

const (
	kindGauge   metricKind = iota
	kindCounter            // a counter, or a histogram's or summary's _count
	kindBucket             // a histogram's _bucket series
	kindSum                // a histogram's or summary's _sum
	kindSummary            // a summary's quantiles, under the family's own name
	kindInfo               // metadata: *_info, *_created, info and stateset types
	kindTime               // a timestamp (a start, boot or reload time)
)

// familySuffixes are the suffixes that name one series of a metric family.
var familySuffixes = []string{"_bucket", "_count", "_sum", "_total", "_created"}

// family splits a name into its family and suffix ("" when none).
func family(name string) (string, string) {
	for _, s := range familySuffixes {
		if base, ok := strings.CutSuffix(name, s); ok && base != "" {
			return base, s
		}
	}
	return name, ""
}

// timeName matches gauges whose value is a point in time: as a level they
// rise with the clock; the change sources read the ones that mark changes.
var timeName = regexp.MustCompile(`(timestamp(_seconds|_ms)?|(^|_)(start|boot|creation|created|modified|expiry|expiration|last_seen|node)_time(_seconds)?|_epoch(_seconds)?|cert_expiry)$`)

// kindOf says what a metric name holds: the metadata type where the server
// reports one for the name or its family, else the naming conventions.
// names are the names present, which tell a summary from a gauge.
func kindOf(name string, meta map[string]string, names map[string]bool) metricKind {
	base, suffix := family(name)
	switch meta[name] {
	case "counter":
		return kindCounter
	case "gauge":
		if timeName.MatchString(name) {
			return kindTime
		}
		return kindGauge
	case "summary":
		return kindSummary
	case "info", "stateset":
		return kindInfo
	}
	if suffix != "" {
		switch t := meta[base]; {
		case suffix == "_created":
			return kindInfo
		case t == "histogram" || t == "summary":
			switch suffix {
			case "_bucket":
				return kindBucket
			case "_sum":
				return kindSum
			case "_count":
				return kindCounter
			}
		case t == "gaugehistogram":
			if suffix == "_bucket" {
				return kindBucket
			}
			return kindGauge
		case t == "counter" && suffix == "_total":
			return kindCounter
		}
	}
	switch {
	case suffix == "_bucket":
		return kindBucket
	case suffix == "_created" || strings.HasSuffix(name, "_info"):
		return kindInfo
	case suffix == "_total" || suffix == "_count":
		return kindCounter
	case suffix == "_sum":
		return kindSum
	case timeName.MatchString(name):
		return kindTime
	case names[name+"_sum"] && names[name+"_count"] && !names[name+"_bucket"]:
		return kindSummary
	}
	return kindGauge
}

// averaged are gauges whose values do not add up across the series of one
// identity (ratios, targets up, durations, loads): those are averaged, the
// rest (bytes, connections, threads ...) summed.
var averaged = regexp.MustCompile(`ratio|percent|pct|utili[sz]ation|availability|success|(^|_)up$|_seconds$|celsius|temperature|load[0-9]*$|per_cpu`)

// identityLabels are the labels every query rca writes itself keeps, so
// no query adds up unrelated processes: who a series belongs to (the
// catalog's service labels), namespace and instance (the target: a host's
// exporter, one of two backends), and whom it calls (the callee labels).
// Pods are summed into their service. The infrastructure labels (node)
// are not kept: with the pod label summed away they would make a
// workload's series a host's (catalog.Infrastructure), and split a service
// per node, so that a rollout moving pods between nodes looks like level
// shifts. This one function decides the `by (...)` list.
func identityLabels(cat *catalog.Catalog) []string {
	var out []string
	add := func(labels ...string) {
		for _, l := range labels {
			// A label PromQL cannot name unquoted (app.kubernetes.io/name) is
			// not something Prometheus 2 stores either.
			if model.LegacyValidation.IsValidLabelName(l) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	add(cat.ServiceLabels...)
	add("namespace", "instance")
	add(cat.CalleeLabels...)
	return out
}

// planner decides what to ask a server.
type planner struct {
	cat *catalog.Catalog
	// names are the metric names with data in the range; nil when the
	// server does not list them (then only the catalog's queries run).
	names map[string]bool
	// meta is the type of each metric family the server reports.
	meta map[string]string
	// rateWindow is the range of the rate()s rca writes.
	rateWindow time.Duration
	// maxQueries bounds the queries for metrics the catalog does not know;
	// negative: none.
	maxQueries int
	log        *slog.Logger
}

// Why a metric name was not queried on its own.
const (
	skipBucket    = "histogram buckets"
	skipSum       = "histogram and summary sums"
	skipSummary   = "summary quantiles"
	skipInfo      = "metadata (_info, _created)"
	skipTime      = "timestamps"
	skipBudget    = "over the query budget"
	skipSignalCap = "over a catalog signal's cap"
)

// skipOrder is the order of the reasons in the summary.
var skipOrder = []string{skipBudget, skipSignalCap, skipBucket, skipSum, skipSummary, skipInfo, skipTime}

// queryPlan is what to ask, and an account of every name found.
type queryPlan struct {
	queries []promQuery
	warns   []string
	// found is the number of metric names in the range (-1: not listed).
	found int
	// signals, changes and others count the queries of each kind.
	signals, changes, others int
	// byCatalog and own count the names read by the catalog's queries and
	// the names queried on their own.
	byCatalog, own int
	// skipped lists the names not read, by reason.
	skipped map[string][]string
}

// incomplete says whether names were left unread, or were never listed:
// then the summary belongs in the report.
func (qp queryPlan) incomplete() bool {
	return qp.found < 0 || len(qp.skipped) > 0
}

// summary is the plan in one line, for the report's warnings.
func (qp queryPlan) summary(maxQueries int) string {
	if qp.found < 0 {
		return fmt.Sprintf("prometheus: the server does not list its metric names; %d queries (%d catalog signals, %d change sources), metrics the catalog does not know are not read",
			len(qp.queries), qp.signals, qp.changes)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "prometheus: %d metric names in the range; %d queries (%d catalog signals, %d change sources, %d other metrics)",
		qp.found, len(qp.queries), qp.signals, qp.changes, qp.others)
	skipped := 0
	for _, n := range qp.skipped {
		skipped += len(n)
	}
	fmt.Fprintf(&b, "; %d names read by the catalog, %d on their own, %d not read", qp.byCatalog, qp.own, skipped)
	var parts []string
	for _, r := range skipOrder {
		if n := len(qp.skipped[r]); n > 0 {
			what := r
			if r == skipBudget {
				what = fmt.Sprintf("over the budget of %d queries (max_queries)", max(maxQueries, 0))
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	b.WriteString(" (-v lists them)")
	return b.String()
}

// candidate is one query for a metric the catalog does not know.
type candidate struct {
	q     promQuery
	names []string // the names it reads
	rank  int
}

// plan picks what to ask:
//   - a catalog signal's query when one of its metrics exists (names nil:
//     always); for a signal without a query, or one whose query reads no
//     metric present, the names its patterns match, one query each (at most
//     maxRawMetrics per signal);
//   - a change source's query when one of its metrics exists;
//   - every other name, one query each, by kind: a counter's rate, a
//     gauge's sum or average, a histogram's p99 from its buckets; sums,
//     summary quantiles, metadata and timestamps are not read. Within the
//     budget, availability, then symptoms, propagation, resources and the
//     rest, by name.
//
// Every query rca writes itself is aggregated by identityLabels.
func (pl planner) plan() queryPlan {
	qp := queryPlan{found: -1, skipped: map[string][]string{}}
	if pl.names != nil {
		qp.found = len(pl.names)
	}
	sorted := make([]string, 0, len(pl.names))
	for n := range pl.names {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	// covered are the names (and families) the catalog's queries read;
	// skipped, the names not read for a reason.
	covered := map[string]bool{}
	cover := func(names ...string) {
		for _, n := range names {
			covered[n] = true
			f, _ := family(n)
			covered[f] = true
		}
	}
	isCovered := func(n string) bool {
		f, _ := family(n)
		return covered[n] || covered[f]
	}
	skipped := map[string]bool{}
	skip := func(reason, name string) {
		skipped[name] = true
		qp.skipped[reason] = append(qp.skipped[reason], name)
		pl.log.Debug("not querying metric", "metric", name, "why", reason)
	}

	for _, s := range pl.cat.Signals {
		if s.IsLog() {
			continue
		}
		if s.Query != "" {
			metrics, err := queryMetricNames(s.Query)
			if err != nil {
				qp.warns = append(qp.warns, fmt.Sprintf("catalog signal %s: query does not parse, skipped: %v", s.ID, err))
				continue
			}
			if pl.names == nil || len(metrics) == 0 || slices.ContainsFunc(metrics, func(m string) bool { return pl.names[m] }) {
				qp.queries = append(qp.queries, promQuery{signal: s.ID, query: s.Query})
				qp.signals++
				cover(metrics...)
				// The names its patterns match are this signal's, read by its query.
				cover(pl.patternNames(s, sorted)...)
				continue
			}
			pl.log.Debug("signal's query reads no metric in the range; trying its patterns", "signal", s.ID, "metrics", strings.Join(metrics, ","))
		}
		if pl.names == nil || len(s.Metrics) == 0 {
			continue
		}
		var matched []string
		for _, n := range pl.patternNames(s, sorted) {
			switch k := kindOf(n, pl.meta, pl.names); k {
			case kindBucket, kindSum, kindSummary, kindInfo, kindTime:
				skip(skipReason(k), n) // the signal's, but no level to read
			default:
				matched = append(matched, n)
			}
		}
		if len(matched) > maxRawMetrics {
			qp.warns = append(qp.warns, fmt.Sprintf("catalog signal %s: %d metrics match its patterns; only the first %d are read — give it a query in the catalog", s.ID, len(matched), maxRawMetrics))
			for _, n := range matched[maxRawMetrics:] {
				skip(skipSignalCap, n)
			}
			matched = matched[:maxRawMetrics]
		}
		if len(matched) == 0 {
			pl.log.Debug("skipping signal: no metric matches its patterns", "signal", s.ID)
		}
		for _, n := range matched {
			q := pl.metricQuery(n, kindOf(n, pl.meta, pl.names), s.Unit == "ratio" || s.Unit == "seconds")
			q.signal = s.ID
			qp.queries = append(qp.queries, q)
			qp.signals++
			cover(n)
		}
	}
	changes := pl.changeQueries(cover)
	if pl.names == nil {
		qp.queries = append(qp.queries, changes...)
		qp.changes = len(changes)
		return qp
	}

	var cands []candidate
	hist := map[string]bool{}
	for _, n := range sorted {
		switch {
		case skipped[n]:
			continue
		case isCovered(n):
			qp.byCatalog++
			continue
		}
		switch k := kindOf(n, pl.meta, pl.names); k {
		case kindCounter, kindGauge:
			q := pl.metricQuery(n, k, false)
			cands = append(cands, candidate{q: q, names: []string{n}, rank: rank(pl.cat, n)})
		case kindBucket:
			f, _ := family(n)
			if hist[f] {
				continue
			}
			hist[f] = true
			by := strings.Join(append([]string{"le"}, identityLabels(pl.cat)...), ", ")
			q := promQuery{
				metric: f + ":p99",
				query:  fmt.Sprintf("histogram_quantile(0.99, sum by (%s) (rate(%s[%s])))", by, n, model.Duration(pl.rateWindow)),
			}
			cands = append(cands, candidate{q: q, names: []string{n}, rank: rank(pl.cat, q.metric)})
		default:
			skip(skipReason(k), n)
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.q.metric, b.q.metric))
	})
	for i, c := range cands {
		if i >= pl.maxQueries {
			for _, n := range c.names {
				skip(skipBudget, n)
			}
			continue
		}
		pl.log.Debug("querying a metric the catalog does not know", "metric", c.q.metric, "query", c.q.query)
		qp.queries = append(qp.queries, c.q)
		qp.others++
		qp.own += len(c.names)
	}
	// Changes matter only beside signals to explain.
	if len(qp.queries) > 0 {
		qp.queries = append(qp.queries, changes...)
		qp.changes = len(changes)
	}
	return qp
}

// skipReason words why a kind of name is not read as a level.
func skipReason(k metricKind) string {
	switch k {
	case kindBucket:
		return skipBucket
	case kindSum:
		return skipSum
	case kindSummary:
		return skipSummary
	case kindInfo:
		return skipInfo
	}
	return skipTime
}

// rank orders the metrics the catalog does not know for the budget, by
// what the heuristic layer makes of their names: targets up first, then
// symptoms, propagation, resources and changes, and names it cannot place
// last.
func rank(cat *catalog.Catalog, name string) int {
	c := cat.Classify("", name)
	switch {
	case c.Layer == catalog.LayerSymptom && c.Unit == "ratio" && c.Direction == catalog.Down:
		return 0
	case c.Layer == catalog.LayerResource && c.Direction == catalog.Both && c.Unit == "":
		return 5
	}
	return 1 + c.Layer.Depth()
}

// patternNames are the names present that a signal's patterns match and
// that belong to it: a name two signals' patterns match is the first's, as
// offline (Classify).
func (pl planner) patternNames(s catalog.Signal, sorted []string) []string {
	if len(s.Metrics) == 0 {
		return nil
	}
	res := compilePatterns(s.Metrics)
	var out []string
	for _, n := range sorted {
		if slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(n) }) &&
			pl.cat.Classify("", n).SignalID == s.ID {
			out = append(out, n)
		}
	}
	return out
}

// metricQuery reads one metric aggregated by identity: a counter as its
// per-second rate (PromQL handles resets), a gauge summed or, for ratios
// and the like (or when avg is set), averaged.
func (pl planner) metricQuery(name string, k metricKind, avg bool) promQuery {
	by := strings.Join(identityLabels(pl.cat), ", ")
	q := promQuery{metric: name}
	switch {
	case k == kindCounter:
		q.query = fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, name, model.Duration(pl.rateWindow))
	case avg || averaged.MatchString(strings.ToLower(name)):
		q.query = fmt.Sprintf("avg by (%s) (%s)", by, name)
	default:
		q.query = fmt.Sprintf("sum by (%s) (%s)", by, name)
	}
	return q
}

// changeQueries asks each catalog change source whose metrics exist.
func (pl planner) changeQueries(cover func(...string)) []promQuery {
	var out []promQuery
	for i, cs := range pl.cat.ChangeSources {
		if cs.Detect == catalog.DetectLog {
			continue // read from Loki
		}
		metrics, err := queryMetricNames(cs.Query)
		if err != nil {
			continue // the catalog checked it at load
		}
		if pl.names != nil && len(metrics) > 0 && !slices.ContainsFunc(metrics, func(m string) bool { return pl.names[m] }) {
			pl.log.Debug("skipping change source: none of its metrics exist in the range", "source", cs.ID, "metrics", strings.Join(metrics, ","))
			continue
		}
		cover(metrics...)
		out = append(out, promQuery{signal: "change:" + cs.ID, query: cs.Query, change: i + 1})
	}
	return out
}

// compilePatterns compiles a signal's metric patterns once for all the
// names of a server, anchored as in the catalog.
func compilePatterns(patterns []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		if re, err := regexp.Compile("^(?:" + p + ")$"); err == nil {
			out = append(out, re)
		}
	}
	return out
}

// rateWindow is the range of the rate()s rca writes: two minutes, as the
// catalog's, or two steps when the step is longer.
func rateWindow(step time.Duration) time.Duration {
	return max(2*time.Minute, 2*step)
}
