package analysis

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rca-tool/rca/analysis/logtemplate"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// logBucket is the resolution of log-derived rates.
const logBucket = time.Minute

// Log pattern findings. A template becomes a finding when it is new in the
// window or surges there (see notablePatterns).
const (
	// minPatternLines is the fewest window lines a template needs: a couple
	// of lines are an anecdote, not a signal.
	minPatternLines = 5
	// surgeRatio is how many times its baseline rate a template must log at
	// during its anomalous run to surge. Traffic alone moves rates by a
	// factor of two over a day; three times is a change of behaviour.
	surgeRatio = 3.0
	// maxPatterns is how many templates one finding carries as evidence.
	maxPatterns = 3
	// maxExamples is how many raw lines a template shows.
	maxExamples = 3
	// maxExampleRunes keeps an example to a readable length.
	maxExampleRunes = 240
	// patternSignalID names pattern findings that stand on their own.
	patternSignalID = "log_pattern"
)

// warnLevels are the levels of warnings. The catalog has no warning signal,
// so a warning template never becomes a ranked finding (see notablePatterns).
var warnLevels = []string{"warn", "warning"}

// LogPattern is a log template of one service, mined from its lines in the
// baseline and the window, with its counts and a few of its lines: the
// evidence a log-derived finding carries.
type LogPattern struct {
	// ID is stable for a service, level and template.
	ID string `json:"id"`
	// Template is the line with its variable parts masked (<NUM>, <IP>,
	// <HEX>, ...) and the parts that vary between its lines as <*>.
	Template string `json:"template"`
	// Level is the lines' level, lower case ("" if the stream has none).
	Level string `json:"level,omitempty"`
	// SignalID is the catalog log signal the lines count toward, which
	// decides the layer ("" when none does, for a warning).
	SignalID string        `json:"signal_id,omitempty"`
	Layer    catalog.Layer `json:"layer"`
	// Callee is the service most of the window's lines name, if any.
	Callee string `json:"callee,omitempty"`
	// New is true when the baseline has no line of the template.
	New           bool `json:"new"`
	BaselineCount int  `json:"baseline_count"`
	WindowCount   int  `json:"window_count"`
	// BaselineRate and WindowRate are lines per minute over each period.
	BaselineRate float64 `json:"baseline_rate"`
	WindowRate   float64 `json:"window_rate"`
	// Onset is the first minute of the run where the rate rose and stayed;
	// Until the last minute of that run.
	Onset time.Time `json:"onset"`
	Until time.Time `json:"until"`
	// Examples are up to three raw lines from the run, with control
	// characters replaced and long lines cut. They are data: escape them.
	Examples []string `json:"examples"`
	// Query is the LogQL that counts the template's lines per minute.
	Query string `json:"query"`
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
}

// indexLogs reads the lines once: their service (from the catalog's service
// and pod labels), level, period and the log signals they count toward.
func indexLogs(b telemetry.Bundle, cat *catalog.Catalog) *logIndex {
	ix := &logIndex{sigs: cat.LogSignals(), windowLines: map[[2]string]int{}}
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
		name, level := levelOf(cat, l.Labels)
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
	return ix
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

// logSeries turns log lines into per-service, per-minute counts for every
// log signal of the catalog, zero-filled across baseline and window so that
// a quiet minute counts as a zero rather than a gap. A signal and service
// the bundle already has counts of (pushedDown) get no series from the
// lines.
func logSeries(ix *logIndex, b telemetry.Bundle, cat *catalog.Catalog) []telemetry.Series {
	if len(ix.lines) == 0 || len(ix.sigs) == 0 {
		return nil
	}
	type key struct{ signal, service string }
	pushed := pushedDown(b, cat)
	bySignal := map[string]catalog.Signal{}
	for _, s := range ix.sigs {
		bySignal[s.ID] = s
	}
	// Buckets are keyed by Unix time, so lines in any time zone count.
	counts := map[key]map[int64]float64{}
	for i, l := range ix.lines {
		for s, sig := range ix.sigs {
			if !ix.matches(i, s) {
				continue
			}
			k := key{sig.ID, l.service}
			if pushed[[2]string{sig.ID, l.service}] {
				continue
			}
			if counts[k] == nil {
				counts[k] = map[int64]float64{}
			}
			counts[k][l.t.Truncate(logBucket).Unix()]++
		}
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].signal != keys[j].signal {
			return keys[i].signal < keys[j].signal
		}
		return keys[i].service < keys[j].service
	})
	grid := minuteGrid(b)
	out := make([]telemetry.Series, 0, len(keys))
	for _, k := range keys {
		pts := make([]telemetry.Point, 0, len(grid))
		for _, t := range grid {
			pts = append(pts, telemetry.Point{T: t, V: counts[k][t.Unix()]})
		}
		out = append(out, telemetry.Series{
			Metric: k.signal,
			Signal: k.signal,
			Query:  logQuery(bySignal[k.signal], serviceLabel(cat), k.service),
			Labels: telemetry.Labels{serviceLabel(cat): k.service},
			Points: pts,
		})
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

// minuteGrid is the start of every whole log bucket of the baseline and the
// window, in time order.
func minuteGrid(b telemetry.Bundle) []time.Time {
	var out []time.Time
	for _, w := range []telemetry.Window{b.Baseline, b.Window} {
		for t := w.From.Truncate(logBucket); t.Before(w.To); t = t.Add(logBucket) {
			if t.Before(w.From) {
				continue
			}
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func serviceLabel(cat *catalog.Catalog) string {
	if len(cat.ServiceLabels) > 0 {
		return cat.ServiceLabels[0]
	}
	return "service"
}

// logQuery is the LogQL that counts what a log signal counts, so the report
// can show the query a user would run in Grafana to see the same lines.
func logQuery(s catalog.Signal, label, service string) string {
	sel := fmt.Sprintf("{%s=%q}", label, service)
	if s.LogPattern != "" {
		sel += fmt.Sprintf(" |~ %q", s.LogPattern)
	} else if len(s.LogLevels) > 0 {
		sel += fmt.Sprintf(" | level=~%q", "(?i)"+strings.Join(s.LogLevels, "|"))
	}
	return "sum(count_over_time(" + sel + " [1m]))"
}

// minedPattern is one template of one service and level, with its lines
// (indices into the index, in time order).
type minedPattern struct {
	service, level, levelLabel string
	tmpl                       logtemplate.Template
	lines                      []int
	base, win                  int
}

// minePatterns clusters each service's lines, level by level, into
// templates. Lines of different levels never share a template: "login
// failed" at error and "login ok" at info are different stories however
// alike their words. Lines are mined in time order (then by text), so the
// same lines always give the same templates and ids.
func minePatterns(ix *logIndex) []minedPattern {
	type group struct{ service, level string }
	groups := map[group][]int{}
	for i, l := range ix.lines {
		g := group{l.service, l.level}
		groups[g] = append(groups[g], i)
	}
	keys := make([]group, 0, len(groups))
	for g := range groups {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].service != keys[j].service {
			return keys[i].service < keys[j].service
		}
		return keys[i].level < keys[j].level
	})
	var out []minedPattern
	for _, g := range keys {
		idx := groups[g]
		sort.SliceStable(idx, func(a, b int) bool {
			la, lb := ix.lines[idx[a]], ix.lines[idx[b]]
			if !la.t.Equal(lb.t) {
				return la.t.Before(lb.t)
			}
			return la.line < lb.line
		})
		m := logtemplate.NewMiner()
		var members [][]int
		for _, i := range idx {
			c := m.Add(ix.lines[i].line)
			if c == len(members) {
				members = append(members, nil)
			}
			members[c] = append(members[c], i)
		}
		for c, lines := range members {
			p := minedPattern{service: g.service, level: g.level, levelLabel: ix.lines[lines[0]].levelLabel, tmpl: m.Template(c), lines: lines}
			p.tmpl.ID = logtemplate.ID(g.service, g.level, p.tmpl.Text)
			for _, i := range lines {
				if ix.lines[i].window {
					p.win++
				} else {
					p.base++
				}
			}
			out = append(out, p)
		}
	}
	return out
}

// notablePattern is a template that is new or surging in the window.
type notablePattern struct {
	LogPattern
	service string
	// signal is the index of the catalog log signal that placed it, -1
	// for a warning.
	signal int
	// counts are its window lines per catalog log signal.
	counts   []int
	score    seriesScore
	runRate  float64
	surgeBy  float64 // run rate over baseline rate; 0 when new
	weak     bool    // a warning: evidence, not ranked
	calleeOf int     // window lines naming the callee
}

// notablePatterns finds the templates that are new in the window or surge
// there, and places them in a layer. A template is notable when
//
//   - it has at least minPatternLines lines in the window;
//   - its per-minute counts are anomalous by the same robust score as every
//     metric (median and MAD/IQR of the baseline minutes, against the
//     baseline's own largest excursion, on the sustained peak), which also
//     finds the onset and the run;
//   - and it is new (no line in the baseline), or during its run it logs at
//     least surgeRatio times its baseline rate (rates per minute over each
//     period, so a one-hour baseline and a 30-minute window compare).
//
// Its layer comes from the catalog: the log signal most of its window lines
// count toward, pattern signals (timeouts, connection errors, OOM, panics)
// first in catalog order, then level signals (error lines: a symptom). A
// template at warning level that matches none is kept as evidence but not
// ranked (weak); one at any other level (info, debug, none) is not a
// finding: new info lines are mostly the chatter of a deploy or a restart,
// which the change itself already stands for.
func notablePatterns(ix *logIndex, mined []minedPattern, b telemetry.Bundle, cat *catalog.Catalog, callees func(service string) []string) []notablePattern {
	grid := minuteGrid(b)
	slot := make(map[int64]int, len(grid))
	for i, t := range grid {
		slot[t.Unix()] = i
	}
	baseMin, winMin := b.Baseline.Duration().Minutes(), b.Window.Duration().Minutes()
	if baseMin <= 0 || winMin <= 0 {
		return nil
	}
	// Pattern signals first, then level signals, each in catalog order.
	var order, levelSigs []int
	for s, sig := range ix.sigs {
		if sig.LogPattern != "" {
			order = append(order, s)
		} else {
			levelSigs = append(levelSigs, s)
		}
	}
	order = append(order, levelSigs...)
	var out []notablePattern
	for _, p := range mined {
		if p.win < minPatternLines {
			continue
		}
		counts := make([]int, len(ix.sigs))
		for _, i := range p.lines {
			if !ix.lines[i].window {
				continue
			}
			for s := range ix.sigs {
				if ix.matches(i, s) {
					counts[s]++
				}
			}
		}
		signal := -1
		for _, s := range order {
			if counts[s] > 0 && 2*counts[s] >= p.win {
				signal = s
				break
			}
		}
		weak := signal < 0 && slices.Contains(warnLevels, p.level)
		if signal < 0 && !weak {
			continue
		}

		perMin := make([]float64, len(grid))
		for _, i := range p.lines {
			if k, ok := slot[ix.lines[i].t.Truncate(logBucket).Unix()]; ok {
				perMin[k]++
			}
		}
		var basePts, winPts []telemetry.Point
		for k, t := range grid {
			pt := telemetry.Point{T: t, V: perMin[k]}
			if b.Window.Contains(t) {
				winPts = append(winPts, pt)
			} else {
				basePts = append(basePts, pt)
			}
		}
		sc, ok := scoreSeries(basePts, winPts, catalog.Up)
		if !ok || !sc.anomalous {
			continue
		}
		var run []int
		for _, i := range p.lines {
			l := ix.lines[i]
			if l.window && !l.t.Before(sc.onset) && l.t.Before(sc.end.Add(logBucket)) {
				run = append(run, i)
			}
		}
		runRate := float64(len(run)) / (sc.end.Sub(sc.onset).Minutes() + logBucket.Minutes())
		baseRate := float64(p.base) / baseMin
		if p.base > 0 && runRate < surgeRatio*baseRate {
			continue
		}
		n := notablePattern{
			LogPattern: LogPattern{
				ID:            p.tmpl.ID,
				Template:      p.tmpl.Text,
				Level:         p.level,
				Layer:         catalog.LayerSymptom,
				New:           p.base == 0,
				BaselineCount: p.base,
				WindowCount:   p.win,
				BaselineRate:  round(baseRate, 4),
				WindowRate:    round(float64(p.win)/winMin, 4),
				Onset:         sc.onset.UTC(),
				Until:         sc.end.UTC(),
				Examples:      examples(ix, run),
				Query:         patternQuery(p, serviceLabel(cat)),
			},
			service: p.service,
			signal:  signal,
			counts:  counts,
			score:   sc,
			runRate: runRate,
			weak:    weak,
		}
		if baseRate > 0 {
			n.surgeBy = runRate / baseRate
		}
		if signal >= 0 {
			n.SignalID = ix.sigs[signal].ID
			n.Layer = ix.sigs[signal].Layer
		}
		n.Callee, n.calleeOf = namedCallee(ix, p, callees(p.service))
		out = append(out, n)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].service != out[j].service {
			return out[i].service < out[j].service
		}
		if out[i].WindowCount != out[j].WindowCount {
			return out[i].WindowCount > out[j].WindowCount
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// namedCallee is the candidate service that at least half of a template's
// window lines name, and how many name it. A line names a service when the
// name stands as a word (upstream=checkout, "http://checkout:8080/",
// /api/checkout) or as a pod of it (checkout-5ff676694b-fzj9z).
func namedCallee(ix *logIndex, p minedPattern, candidates []string) (string, int) {
	if len(candidates) == 0 {
		return "", 0
	}
	named := make([]int, len(candidates))
	for _, i := range p.lines {
		l := ix.lines[i]
		if !l.window {
			continue
		}
		for c, svc := range candidates {
			if svc != p.service && namesService(l.line, svc) {
				named[c]++
			}
		}
	}
	best := -1
	for c := range candidates {
		if named[c] > 0 && 2*named[c] >= p.win && (best < 0 || named[c] > named[best]) {
			best = c
		}
	}
	if best < 0 {
		return "", 0
	}
	return candidates[best], named[best]
}

// namesService reports whether line mentions service as a word or a pod name.
func namesService(line, service string) bool {
	if service == "" {
		return false
	}
	wordByte := func(c byte) bool {
		return c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'z' || c == '_' || c == '-'
	}
	for off := 0; ; {
		k := strings.Index(line[off:], service)
		if k < 0 {
			return false
		}
		start, end := off+k, off+k+len(service)
		if start == 0 || !wordByte(line[start-1]) {
			if end == len(line) || !wordByte(line[end]) {
				return true
			}
			if line[end] == '-' {
				w := end
				for w < len(line) && wordByte(line[w]) {
					w++
				}
				if catalog.ServiceFromPod(line[start:w]) == service {
					return true
				}
			}
		}
		off = start + 1
	}
}

// examples picks up to maxExamples distinct lines of a run: its first, its
// middle and its last, then others in order when those repeat.
func examples(ix *logIndex, run []int) []string {
	out := []string{}
	add := func(i int) {
		s := cleanLine(ix.lines[i].line)
		if len(out) < maxExamples && s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(run) == 0 {
		return out
	}
	add(run[0])
	add(run[len(run)/2])
	add(run[len(run)-1])
	for k := 0; k < len(run) && k < 200 && len(out) < maxExamples; k++ {
		add(run[k])
	}
	return out
}

// cleanLine makes a raw line safe to keep as evidence: invalid UTF-8,
// control characters (newlines, terminal escapes), bidi overrides and line
// separators become spaces, the ends are trimmed, and a long line is cut.
// Renderers still escape it for their format.
func cleanLine(s string) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if n := 0; len(s) > maxExampleRunes {
		for i := range s {
			if n == maxExampleRunes {
				return strings.TrimSpace(s[:i]) + "…"
			}
			n++
		}
	}
	return s
}

// patternQuery is the LogQL that counts a template's lines per minute: the
// service's stream at the template's level, filtered by a regular
// expression built from the template (see templateRegexp).
func patternQuery(p minedPattern, label string) string {
	sel := fmt.Sprintf("{%s=%q", label, p.service)
	if p.levelLabel != "" && p.level != "" {
		sel += fmt.Sprintf(", %s=~%q", p.levelLabel, "(?i)"+regexp.QuoteMeta(p.level))
	}
	sel += "}"
	re := p.tmpl.Regexp()
	q := "`" + re + "`"
	if strings.Contains(re, "`") {
		q = strconv.Quote(re)
	}
	return "sum(count_over_time(" + sel + " |~ " + q + " [1m]))"
}

// finding is a notable template as a finding of its own: ranked, or weak
// (a warning), listed but never ranked.
func (n notablePattern) finding(cat *catalog.Catalog) Finding {
	label := serviceLabel(cat)
	kind := "surging"
	if n.New {
		kind = "new"
	}
	f := Finding{
		Service:       n.service,
		Signal:        signalName(kind+" log pattern", nil, n.Callee),
		SignalID:      patternSignalID,
		Metric:        patternSignalID,
		Labels:        telemetry.Labels{label: n.service, "pattern": n.ID},
		Callee:        n.Callee,
		Layer:         n.Layer,
		Direction:     catalog.Up,
		Unit:          "per_minute",
		Query:         n.Query,
		Source:        "logs",
		Score:         round(n.score.score, 3),
		Onset:         n.Onset,
		Until:         n.Until,
		BaselineValue: n.BaselineRate,
		ObservedValue: round(n.runRate, 4),
		Patterns:      []LogPattern{n.LogPattern},
	}
	f.SeriesID = f.Metric + f.Labels.String()
	var what string
	if n.New {
		what = fmt.Sprintf("%d lines in the window, none in the baseline", n.WindowCount)
	} else {
		what = fmt.Sprintf("%d lines in the window against %d in the baseline, %.1fx the baseline rate from %s",
			n.WindowCount, n.BaselineCount, n.surgeBy, n.Onset.Format("15:04:05"))
	}
	f.Explanation = fmt.Sprintf("%s on %s: %q, %s", capitalize(kind)+" log pattern", n.service, n.Template, what)
	if n.SignalID != "" {
		s, _ := cat.Signal(n.SignalID)
		f.Explanation += fmt.Sprintf("; its lines are %s (%s)", s.Name, n.Layer)
	}
	if n.Callee != "" {
		f.Explanation += fmt.Sprintf("; %d of them name %s", n.calleeOf, n.Callee)
	}
	if n.weak {
		f.Explanation += "; a warning no catalog log signal covers: evidence, not ranked"
	}
	return f
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// applyPatterns joins the notable templates to the findings without
// counting a line twice. A template whose lines make up a log-rate finding
// of its service (the error, timeout, ... lines the catalog counts) becomes
// that finding's evidence: the rate finding already scores those lines, and
// the template says what they are, whom they name and shows a few. When the
// rate finding is of the template's own signal and the template's callee
// covers at least half of the finding's window lines, the finding takes
// that callee ("timeout log lines to checkout"). A template whose own
// signal has no anomalous rate finding on its service (a new error hiding
// in a steady error rate, a warning) is a finding of its own: ranked, or
// weak (a warning, listed but not ranked).
func applyPatterns(anomalies []Finding, pats []notablePattern, ix *logIndex, cat *catalog.Catalog) (out []Finding, ranked, weak []Finding) {
	sigIndex := map[string]int{}
	for s, sig := range ix.sigs {
		sigIndex[sig.ID] = s
	}
	covered := make([]bool, len(pats))
	for k := range anomalies {
		f := &anomalies[k]
		s, ok := sigIndex[f.SignalID]
		if !ok || f.Source != "logs" {
			continue
		}
		var own *notablePattern
		for i := range pats {
			p := &pats[i]
			if p.service != f.Service || 2*p.counts[s] < p.WindowCount || p.counts[s] == 0 {
				continue
			}
			if p.signal == s {
				covered[i] = true
				if own == nil {
					own = p
				}
			}
			if len(f.Patterns) < maxPatterns {
				f.Patterns = append(f.Patterns, p.LogPattern)
			}
		}
		if own == nil || own.Callee == "" || f.Callee != "" {
			continue
		}
		total := ix.windowLines[[2]string{f.Service, f.SignalID}]
		if 2*own.calleeOf >= total {
			f.Callee = own.Callee
			f.Signal = signalName(ix.sigs[s].Name, f.Labels, f.Callee)
			f.Explanation += fmt.Sprintf("; %d of its %d window lines name %s", own.calleeOf, total, own.Callee)
		}
	}
	for i, p := range pats {
		if covered[i] {
			continue
		}
		if p.weak {
			weak = append(weak, p.finding(cat))
		} else {
			ranked = append(ranked, p.finding(cat))
		}
	}
	return anomalies, ranked, weak
}

// patternsByService are the notable templates of each service, most lines
// first, for the chain to show beside the links they corroborate.
func patternsByService(pats []notablePattern) map[string][]LogPattern {
	out := map[string][]LogPattern{}
	for _, p := range pats {
		out[p.service] = append(out[p.service], p.LogPattern)
	}
	return out
}

// calleeCandidates says which services a service's log lines may name as a
// callee: its callees in the call graph when it has any, else every other
// service seen.
func calleeCandidates(g graph, known []string) func(string) []string {
	return func(service string) []string {
		if cs := g.callees[service]; len(cs) > 0 {
			return cs
		}
		out := make([]string, 0, len(known))
		for _, k := range known {
			if k != service {
				out = append(out, k)
			}
		}
		return out
	}
}

// knownServices are the services of the scored series, the log lines and
// the call graph, sorted.
func knownServices(sigs []signal, ix *logIndex, g graph) []string {
	seen := map[string]bool{}
	for _, s := range sigs {
		if !s.infra && s.service != "(unknown)" {
			seen[s.service] = true
		}
	}
	for _, l := range ix.lines {
		seen[l.service] = true
	}
	for a, cs := range g.callees {
		seen[a] = true
		for _, c := range cs {
			seen[c] = true
		}
	}
	return sortedKeys(seen)
}
