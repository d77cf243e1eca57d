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

// patternsStage mines the log lines into templates and joins the new and
// surging ones to the findings: evidence of the log-rate findings that
// count their lines, or findings of their own.
func patternsStage(r *run) {
	mined := minePatterns(r.logs)
	r.patterns = notablePatterns(r.logs, mined, r.b, r.cat, calleeCandidates(r.g, knownServices(r.sigs, r.logs, r.g)))
	r.res.Stats.LogPatterns = len(mined)
	var ranked []Finding
	r.res.Anomalies, ranked, r.weak = applyPatterns(r.res.Anomalies, r.patterns, r.logs, r.cat)
	for _, f := range ranked {
		// A template is one more signal of its service, and it moved.
		r.addFinding(f, r.cat.Infrastructure(f.Service, f.Labels))
	}
}

// unrankedStage lists the warning templates no catalog signal covers with
// the anomalies, once ranking and linking are done: they are never ranked
// or linked.
func unrankedStage(r *run) {
	if len(r.weak) == 0 {
		return
	}
	r.res.Anomalies = append(r.res.Anomalies, r.weak...)
	sortFindings(r.res.Anomalies)
	r.res.Stats.Anomalous = len(r.res.Anomalies)
}

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
	// carried marks a template whose lines run from the window's start
	// while the baseline has no line of its service at all (see
	// logIndex.silentBefore): not shown to be new, counted as carried over.
	carried bool
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
	step := logStep(b)
	grid := bucketGrid(b, step)
	slot := make(map[int64]int, len(grid))
	for i, t := range grid {
		slot[t.Unix()] = i
	}
	baseMin, winMin := b.Baseline.Duration().Minutes(), b.Window.Duration().Minutes()
	if baseMin <= 0 || winMin <= 0 {
		return nil
	}
	// Pattern signals first, then level signals, each in catalog order. A
	// signal by level counts every other line: a template's lines are its
	// evidence, but it gives no template a signal to be ranked by.
	var order, levelSigs []int
	for s, sig := range ix.sigs {
		switch {
		case sig.LogPattern != "":
			order = append(order, s)
		case !sig.LogByLevel:
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
			if k, ok := slot[ix.lines[i].t.Truncate(step).Unix()]; ok {
				perMin[k]++
			}
		}
		var basePts, winPts samples
		for k, t := range grid {
			side := &basePts
			if b.Window.Contains(t) {
				side = &winPts
			}
			side.ts = append(side.ts, t.UnixNano())
			side.vs = append(side.vs, perMin[k]/step.Minutes())
		}
		// A template's lines count events; one seen in a single minute is an
		// anecdote (a request retried), not a change of behaviour.
		sc, ok := scoreSeriesBuf(basePts, winPts, catalog.Up, 0, count{event: 1 / step.Minutes(), sustained: true}, &scratch{})
		if !ok || !sc.anomalous {
			continue
		}
		var run []int
		for _, i := range p.lines {
			l := ix.lines[i]
			if l.window && !l.t.Before(sc.onset) && l.t.Before(sc.end.Add(step)) {
				run = append(run, i)
			}
		}
		runRate := float64(len(run)) / (sc.end.Sub(sc.onset).Minutes() + step.Minutes())
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
				Query:         patternQuery(p, cat.ServiceLabel()),
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
		n.carried = p.base == 0 && ix.silentBefore(p.service) && sc.onset.Equal(winPts.t(0))
		if !n.carried && len(run) > 0 {
			// Its run is its lines' times, not its buckets': from the
			// first line to the last (one bucket: one sample, at the first).
			first, last := ix.lines[run[0]].t, ix.lines[run[0]].t
			for _, i := range run[1:] {
				t := ix.lines[i].t
				if t.Before(first) {
					first = t
				}
				if t.After(last) {
					last = t
				}
			}
			if !sc.end.After(sc.onset) {
				last = first
			}
			n.Onset, n.Until = first.UTC(), last.UTC()
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
	label := cat.ServiceLabel()
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
		events:        true, // its lines
		Score:         round(n.score.score, 3),
		Onset:         n.Onset,
		Until:         n.Until,
		CarriedOver:   n.carried,
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
	if n.carried {
		f.Explanation += fmt.Sprintf("; but the baseline holds no line of %s at all (a collection gap, or a service that was idle) and these run from the window's start: whether they are new cannot be told", n.service)
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
			if ix.sigs[s].LogByLevel {
				if !strings.EqualFold(p.Level, f.level) {
					continue // a finding by level shows its own level's lines
				}
				covered[i] = covered[i] || p.weak // a warning it shows is no second finding
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
