package analysis

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// logsStage indexes the log lines and counts them per minute and log
// signal: series the score stage scores like any metric.
func logsStage(r *run) {
	r.logs = indexLogs(r.b, r.cat)
	counted := levelCounted(r.b, r.cat)
	if len(counted) > 0 {
		// Loki's counts by level of a service the data already counts
		// so would count its lines twice.
		r.b.Series = slices.DeleteFunc(slices.Clone(r.b.Series), func(s telemetry.Series) bool {
			sig, ok := r.cat.Signal(s.Signal)
			return ok && sig.LogByLevel && counted[r.cat.Service(s.Labels)]
		})
	}
	r.b.Series = append(slices.Clip(r.b.Series), logSeries(r.logs, r.b, r.cat, counted)...)
	r.res.Stats.LogLines = len(r.b.Logs)
}

// logBucket is the resolution of log-derived rates.
const logBucket = time.Minute

// maxLogBuckets bounds the buckets of the baseline and the window together
// (two weeks of minutes): a 10-year window cut into minutes made grids of
// ten million points per log signal and service, gigabytes for one run.
const maxLogBuckets = 14 * 24 * 60

// logStep is the bucket log lines are counted in: a minute, or as many
// whole minutes as keep the baseline and the window within maxLogBuckets.
// Counts are divided by its minutes, so a rate is per minute either way.
func logStep(b telemetry.Bundle) time.Duration {
	n := int64(b.Baseline.Duration()/logBucket) + int64(b.Window.Duration()/logBucket) + 2
	if n <= maxLogBuckets {
		return logBucket
	}
	return logBucket * time.Duration((n+maxLogBuckets-1)/maxLogBuckets)
}

// logLine is one log line of the baseline or the window, read once.
type logLine struct {
	t          time.Time
	service    string
	level      string // lower case
	levelLabel string // the label that held the level
	line       string
	window     bool
}

// logIndex holds the lines of a bundle that the analysis reads, placed on
// their services, and which catalog log signals each one counts toward.
type logIndex struct {
	lines []logLine
	sigs  []catalog.Signal
	words int      // bitset words per line
	match []uint64 // bit s of line i's words: line i counts toward sigs[s]
	// windowLines counts the window's lines per service and signal.
	windowLines map[[2]string]int
	// baseLines counts the baseline's lines per service, any level.
	baseLines map[string]int
	// winLines counts the window's lines per service, any level; winRun
	// says when they ran, for the services with none in the baseline.
	winLines map[string]int
	winRun   map[string]lineRun
	window   telemetry.Window
	// byService is windowOf's, made when first asked.
	byService map[string][]int
}

// silentBefore reports whether a service logs in the window but has no
// line at all in the baseline, and its lines run from the window's start:
// a collection gap as often as a service that was idle, so none of its
// lines can be called new on that evidence. Lines that begin after a
// silence at the window's start, and then run on for longer than it with
// no gap as long, did begin in the window, however coarse the buckets they
// are counted in. One burst (a stack trace) shows no such thing.
func (ix *logIndex) silentBefore(service string) bool {
	if ix == nil || ix.winLines[service] == 0 || ix.baseLines[service] > 0 {
		return false
	}
	run := ix.winRun[service]
	quiet := run.first.Sub(ix.window.From)
	return quiet <= run.gap || run.last.Sub(run.first) <= quiet
}

// lineRun is when a service's lines in the window ran: the first, the
// last, and the longest gap between two.
type lineRun struct {
	first, last time.Time
	gap         time.Duration
}

// logs reports whether a service has lines in the baseline or the window.
func (ix *logIndex) logs(service string) bool {
	return ix != nil && (ix.winLines[service] > 0 || ix.baseLines[service] > 0)
}

// indexLogs reads the lines once: their service (from the catalog's service
// and pod labels), level, period and the log signals they count toward.
func indexLogs(b telemetry.Bundle, cat *catalog.Catalog) *logIndex {
	ix := &logIndex{sigs: cat.LogSignals(), windowLines: map[[2]string]int{}, baseLines: map[string]int{}, winLines: map[string]int{}, window: b.Window}
	ix.words = (len(ix.sigs) + 63) / 64
	ix.lines = make([]logLine, 0, len(b.Logs))
	ix.match = make([]uint64, 0, len(b.Logs)*ix.words)
	for _, l := range b.Logs {
		win := b.Window.Contains(l.T)
		if !win && !b.Baseline.Contains(l.T) {
			continue
		}
		svc := cat.Service(l.Labels)
		if svc == "" {
			continue
		}
		if win {
			ix.winLines[svc]++
		} else {
			ix.baseLines[svc]++
		}
		name, level := levelOf(cat, l.Labels)
		if level == "" {
			level = lineLevel(l.Line) // a stream without a level label
		}
		ix.lines = append(ix.lines, logLine{t: l.T, service: svc, level: strings.ToLower(level), levelLabel: name, line: l.Line, window: win})
		row := len(ix.match)
		ix.match = append(ix.match, make([]uint64, ix.words)...)
		for s, sig := range ix.sigs {
			if sig.MatchLog(level, l.Line) {
				ix.match[row+s/64] |= 1 << (s % 64)
				if win {
					ix.windowLines[[2]string{svc, sig.ID}]++
				}
			}
		}
	}
	ix.winRun = lineRuns(ix)
	return ix
}

// lineRuns is when the window's lines ran, for each service with none in
// the baseline (silentBefore asks of no other).
func lineRuns(ix *logIndex) map[string]lineRun {
	times := map[string][]time.Time{}
	for _, l := range ix.lines {
		if l.window && ix.baseLines[l.service] == 0 {
			times[l.service] = append(times[l.service], l.t)
		}
	}
	out := make(map[string]lineRun, len(times))
	for svc, ts := range times {
		slices.SortFunc(ts, time.Time.Compare)
		run := lineRun{first: ts[0], last: ts[len(ts)-1]}
		for i := 1; i < len(ts); i++ {
			run.gap = max(run.gap, ts[i].Sub(ts[i-1]))
		}
		out[svc] = run
	}
	return out
}

// lineSpan is the time of the first and the last window line of service
// in [from, to) that counts toward the signal id (at level, when byLevel:
// "" is a line of no level), or false when the lines read hold none.
func (ix *logIndex) lineSpan(service, id string, byLevel bool, level string, from, to time.Time) (first, last time.Time, ok bool) {
	if ix == nil {
		return first, last, false
	}
	sig := slices.IndexFunc(ix.sigs, func(s catalog.Signal) bool { return s.ID == id })
	if sig < 0 {
		return first, last, false
	}
	lines := ix.windowOf(service)
	k, _ := slices.BinarySearchFunc(lines, from, func(i int, t time.Time) int { return ix.lines[i].t.Compare(t) })
	for _, i := range lines[k:] {
		l := ix.lines[i]
		if !l.t.Before(to) {
			break
		}
		if byLevel && l.level != level || !ix.matches(i, sig) {
			continue
		}
		if !ok {
			first, ok = l.t, true
		}
		last = l.t
	}
	return first, last, ok
}

// windowOf is the index of every window line of service, in time order,
// made for all services the first time it is asked.
func (ix *logIndex) windowOf(service string) []int {
	if ix.byService == nil {
		ix.byService = map[string][]int{}
		for i, l := range ix.lines {
			if l.window {
				ix.byService[l.service] = append(ix.byService[l.service], i)
			}
		}
		for _, idx := range ix.byService {
			slices.SortStableFunc(idx, func(a, b int) int { return ix.lines[a].t.Compare(ix.lines[b].t) })
		}
	}
	return ix.byService[service]
}

func (ix *logIndex) matches(line, sig int) bool {
	return ix.match[line*ix.words+sig/64]&(1<<(sig%64)) != 0
}

// levelOf is the level label's name and value, as catalog.Level reads it.
func levelOf(cat *catalog.Catalog, labels telemetry.Labels) (name, value string) {
	for _, n := range cat.LevelLabels {
		if v := labels[n]; v != "" {
			return n, v
		}
	}
	return "", ""
}

// namedForLogs reports whether a metric's name has a word that begins with
// "log" (log_lines_count, logback_events_total, log4j2_events_total), not
// a login or a word that only ends so (catalog, backlog).
func namedForLogs(metric string) bool {
	for w := range strings.FieldsFuncSeq(metric, func(r rune) bool { return r == '_' || r == ':' || r == '.' }) {
		if len(w) >= 3 && strings.EqualFold(w[:3], "log") && !(len(w) >= 5 && strings.EqualFold(w[:5], "login")) {
			return true
		}
	}
	return false
}

// noLevel reports whether a level label's value states no level: Loki
// labels the lines it finds none in "unknown".
func noLevel(v string) bool { return strings.EqualFold(v, "unknown") }

// logSeries turns log lines into per-service, per-minute counts for every
// log signal of the catalog, zero-filled across baseline and window so that
// a quiet minute counts as a zero rather than a gap; a signal by level
// (LogByLevel) has one series per service and level. A signal and service
// the bundle already has counts of (pushedDown) get no series from the
// lines, nor does a signal by level for a service whose lines the bundle
// already counts by level (levelCounted).
func logSeries(ix *logIndex, b telemetry.Bundle, cat *catalog.Catalog, counted map[string]bool) []telemetry.Series {
	if len(ix.lines) == 0 || len(ix.sigs) == 0 {
		return nil
	}
	type key struct{ signal, service, level string }
	pushed := pushedDown(b, cat)
	bySignal := map[string]catalog.Signal{}
	for _, s := range ix.sigs {
		bySignal[s.ID] = s
	}
	// Buckets are keyed by Unix time, so lines in any time zone count.
	step := logStep(b)
	counts := map[key]map[int64]float64{}
	for i, l := range ix.lines {
		for s, sig := range ix.sigs {
			if !ix.matches(i, s) || pushed[[2]string{sig.ID, l.service}] {
				continue
			}
			k := key{sig.ID, l.service, ""}
			if sig.LogByLevel {
				if counted[l.service] {
					continue
				}
				k.level = l.level
			}
			if counts[k] == nil {
				counts[k] = map[int64]float64{}
			}
			counts[k][l.t.Truncate(step).Unix()]++
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.signal, b.signal), cmp.Compare(a.service, b.service), cmp.Compare(a.level, b.level))
	})
	grid := bucketGrid(b, step)
	perMinute := step.Minutes()
	out := make([]telemetry.Series, 0, len(keys))
	for _, k := range keys {
		times, values := make([]int64, 0, len(grid)), make([]float64, 0, len(grid))
		for _, t := range grid {
			times = append(times, t.UnixNano())
			values = append(values, counts[k][t.Unix()]/perMinute)
		}
		labels := telemetry.Labels{cat.ServiceLabel(): k.service}
		if k.level != "" {
			labels[cat.LevelLabel()] = k.level
		}
		out = append(out, telemetry.Series{
			Metric: k.signal,
			Signal: k.signal,
			Query:  logQuery(cat, bySignal[k.signal], k.service),
			Labels: labels,
			Times:  times,
			Values: values,
		})
	}
	return out
}

// levelCounted are the services whose log lines the bundle already counts
// by level, in series of no catalog log signal named for logs (a logging
// library's own counter, such as Micrometer's logback_events_total{level},
// or counts a pipeline derived; not ALERTS{severity}): a signal by level
// would count the same lines twice.
func levelCounted(b telemetry.Bundle, cat *catalog.Catalog) map[string]bool {
	out := map[string]bool{}
	for _, s := range b.Series {
		if sig, ok := cat.Signal(s.Signal); ok && sig.IsLog() {
			continue
		}
		if labelLevel(cat, s.Labels) == "" || !namedForLogs(s.Metric) {
			continue
		}
		if svc := cat.Service(s.Labels); svc != "" {
			out[svc] = true
		}
	}
	return out
}

// pushedDown are the log signals and services, {signal id, service}, the
// bundle already holds series of: counts Loki made on the server (the live
// collector pushes each log signal's LogQL metric query down, and a
// snapshot records its result with the other series). They count every
// line where the lines read may be a sample (sources.loki.max_lines), so
// the lines make no series of their own for them; the patterns, their
// examples and callees still come from the lines.
func pushedDown(b telemetry.Bundle, cat *catalog.Catalog) map[[2]string]bool {
	out := map[[2]string]bool{}
	for _, s := range b.Series {
		if s.Signal == "" {
			continue
		}
		sig, ok := cat.Signal(s.Signal)
		if !ok || !sig.IsLog() {
			continue
		}
		if svc := cat.Service(s.Labels); svc != "" {
			out[[2]string{sig.ID, svc}] = true
		}
	}
	return out
}

// bucketGrid is the start of every whole bucket of step (logStep) of the
// baseline and the window, in time order.
func bucketGrid(b telemetry.Bundle, step time.Duration) []time.Time {
	var out []time.Time
	for _, w := range []telemetry.Window{b.Baseline, b.Window} {
		for t := w.From.Truncate(step); t.Before(w.To); t = t.Add(step) {
			if t.Before(w.From) {
				continue
			}
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// logQuery is the LogQL that counts what a log signal counts, so the report
// can show the query a user would run in Grafana to see the same lines: for
// a signal by level, Loki's count (LogMetricQuery) of the service's lines,
// a series per level.
func logQuery(cat *catalog.Catalog, s catalog.Signal, service string) string {
	sel := fmt.Sprintf("{%s=%q}", cat.ServiceLabel(), service)
	switch {
	case s.LogByLevel:
		if q, ok := cat.LogMetricQuery(s, sel); ok {
			return q
		}
	case s.LogPattern != "":
		sel += fmt.Sprintf(" |~ %q", s.LogPattern)
	case len(s.LogLevels) > 0:
		sel += fmt.Sprintf(" | %s=~%q", cat.LevelLabel(), "(?i)"+strings.Join(s.LogLevels, "|"))
	}
	return "sum(count_over_time(" + sel + " [1m]))"
}
