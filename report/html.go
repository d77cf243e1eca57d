package report

import (
	"bytes"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/internal/units"
	"github.com/rca-tool/rca/telemetry"
)

// The page is one file that loads nothing: the CSS is in a <style> block,
// the charts are inline SVG and there is no script at all. The CSP meta tag
// makes that a rule, so even a bug cannot fetch or run anything.

var htmlPageTemplate = template.Must(template.New("report").Parse(htmlSource))

// htmlMaxExamples is how many lines of a log template the page shows: it
// has room for all the analysis keeps.
const htmlMaxExamples = 3

// RenderHTML writes the report as one self-contained HTML page. Every data
// string goes through html/template's contextual escaping, and the charts
// escape their own text, so no label, log line or commit subject can become
// markup.
func RenderHTML(w io.Writer, r analysis.Result) error {
	var b bytes.Buffer
	if err := htmlPageTemplate.Execute(&b, newHTMLPage(r)); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// htmlPage is everything the template shows, already formatted: the
// template only places strings, so the logic stays in Go where it is tested.
type htmlPage struct {
	Title    string
	Day      string
	Window   string
	Baseline string
	Nothing  string
	// Near are the nearest misses when nothing deviates at all.
	Near *htmlDeviations
	// Weak is the verdict that nothing stands out, with the strongest
	// deviations, when some were seen.
	Weak    *htmlWeak
	Top     *htmlTop
	NoCause bool
	Path    []htmlStep
	Chain   []htmlLink
	// ChainNote says the chain stops at an anomaly, not a change.
	ChainNote     string
	NoChain       bool
	Causes        []htmlCause
	Symptoms      []htmlSymptom
	NoSymptom     bool
	NoSymptomText string
	// CausesHeading names the candidates' table.
	CausesHeading string
	Ruled         []htmlRuled
	Unlinked      []htmlChange
	Warnings      []string
	Stats         string
}

// htmlWeak is the verdict that nothing stands out from normal variation.
type htmlWeak struct {
	Text string
	// Moved says that signals moved although none is named the cause.
	Moved      string
	Deviations *htmlDeviations
}

// htmlDeviations is the list of deviations under "nothing stands out",
// with its heading; the "deviations" template renders it.
type htmlDeviations struct {
	Heading string
	Items   []htmlDeviation
}

// deviationsOf are the result's deviations for the page, nil when none.
func deviationsOf(r analysis.Result) *htmlDeviations {
	var out []htmlDeviation
	for _, d := range deviations(r) {
		out = append(out, htmlDeviation{Service: d.Service, Title: d.Title, Facts: arrows(d.Facts), NotEnough: d.NotEnough})
	}
	if len(out) == 0 {
		return nil
	}
	return &htmlDeviations{Heading: deviationsHeading(r), Items: out}
}

// htmlDeviation is one of the strongest deviations, and why it is not enough.
type htmlDeviation struct {
	Service, Title, Facts, NotEnough string
}

// htmlRuled is one ruled-out hypothesis: why it lost, and the chart of
// what was checked, when there is a finding.
type htmlRuled struct {
	Layer, Class, Service, Title, Why string
	Chart                             template.HTML
}

// htmlTop is the most likely root cause, at the top of the page.
type htmlTop struct {
	// Kicker is "Root cause", with its confidence when the analysis gave one.
	Kicker   string
	Service  string
	Title    string
	Layer    string
	Class    string
	Facts    []string
	Why      string
	Rollback string
	// Detail is the query and templates, shown here only when no chain
	// card carries them.
	Detail *htmlLink
}

// htmlStep is one link of the chain in the one-line summary.
type htmlStep struct {
	Title, Service, Class string
}

// htmlLink is one card of the cause chain.
type htmlLink struct {
	N        int
	ID       string
	Layer    string
	Class    string
	Service  string
	Title    string
	Labels   []string
	Facts    []htmlFact
	Notes    []string
	Chart    template.HTML
	Why      string
	Query    string
	Patterns []htmlPattern
	Change   *htmlChange
}

// htmlFact is one labelled value of a card: "Baseline" "67.4ms".
type htmlFact struct {
	Name, Value string
	Strong      bool
}

type htmlPattern struct {
	N        int
	Template string
	Facts    string
	Examples []string
}

type htmlChange struct {
	Time     string
	Service  string
	Title    string
	Kind     string
	Versions string
	Rollback string
	Commit   string
	Author   string
	Files    string
	Source   string
	Commits  []htmlCommit
}

type htmlCommit struct {
	Hash, Author, Time, Subject, Files string
}

type htmlCause struct {
	Rank                                int
	Service, Title, Layer, Class, Score string
	Onset                               string
	Top                                 bool
}

type htmlSymptom struct {
	Service, Title, Observed, Baseline, Onset string
	Spark                                     template.HTML
}

func newHTMLPage(r analysis.Result) htmlPage {
	day := reportDay(r)
	p := htmlPage{
		Title:    "Root-cause report",
		Day:      day,
		Window:   span(r.Window, day),
		Baseline: span(r.Baseline, day),
		Stats:    statsLine(r.Stats),
	}
	if day != "" {
		p.Title += ", " + day
	}
	for _, w := range r.Warnings {
		p.Warnings = append(p.Warnings, clean(w))
	}
	for _, c := range r.UnlinkedChanges {
		p.Unlinked = append(p.Unlinked, htmlChangeOf(c, day))
	}
	for _, ro := range r.RuledOut {
		h := htmlRuled{
			Layer: layerName(ro.Layer), Class: layerClass(ro.Layer), Service: serviceName(ro.Service),
			Title: ruledTitle(ro), Why: clean(ro.Why),
		}
		if ro.Finding != nil {
			h.Chart = template.HTML(linkChart(r, *ro.Finding, nil, day))
		}
		p.Ruled = append(p.Ruled, h)
	}
	if nothingFound(r) {
		p.Nothing = nothingStandsOut
		p.Near = deviationsOf(r)
		return p
	}
	p.CausesHeading = "Root-cause candidates"
	if !causeFound(r) {
		p.CausesHeading = "Candidates (none stands out)"
		p.Weak = &htmlWeak{Text: verdictNothing, Moved: movedNote(r), Deviations: deviationsOf(r)}
	}

	for i, f := range r.Chain {
		l := htmlLinkOf(f, i+1, r.Chain[:i], day)
		l.Chart = template.HTML(linkChart(r, f, r.Chain[:i], day))
		p.Chain = append(p.Chain, l)
		p.Path = append(p.Path, htmlStep{Title: title(f), Service: serviceName(f.Service), Class: layerClass(f.Layer)})
	}
	p.NoChain = len(r.Chain) == 0
	if len(r.Chain) > 0 && !chainEndsAtChange(r) {
		p.ChainNote = "The chain ends at the deepest anomaly: " + noChangeFound + "."
	}
	if len(r.Chain) > 0 && !causeFound(r) {
		p.ChainNote = strings.TrimSpace(weakChainNote + " " + p.ChainNote)
	}

	if len(r.RootCauses) == 0 {
		p.NoCause = true
	} else {
		top := r.RootCauses[0]
		t := &htmlTop{
			Kicker:  "Root cause",
			Service: serviceName(top.Service),
			Title:   title(top.Finding),
			Layer:   layerName(top.Layer),
			Class:   layerClass(top.Layer),
			Why:     clean(top.Explanation),
		}
		if c := confidenceText(top.Confidence); c != "" {
			t.Kicker += " · " + c
		}
		t.Facts = evidence(top.Finding, day, nil)
		t.Facts = append(t.Facts, "candidate score "+sig3(top.Score))
		if top.Heuristic {
			t.Facts = append(t.Facts, heuristicNote)
		}
		for i := range t.Facts {
			t.Facts[i] = arrows(t.Facts[i])
		}
		if top.Change != nil {
			t.Rollback = rollbackTarget(*top.Change)
		}
		if t.Rollback != "" {
			// The callout says it already.
			t.Facts = slices.DeleteFunc(t.Facts, func(s string) bool { return strings.HasPrefix(s, "rollback target ") })
		}
		if len(r.Chain) == 0 {
			d := htmlLinkOf(top.Finding, 0, nil, day)
			t.Detail = &d
		}
		if causeFound(r) {
			p.Top = t
		}
		for i, c := range r.RootCauses {
			layer := layerName(c.Layer)
			if c.Heuristic {
				layer += " (guessed)"
			}
			p.Causes = append(p.Causes, htmlCause{
				Rank: rankOf(c, i), Service: serviceName(c.Service), Title: title(c.Finding),
				Layer: layer, Class: layerClass(c.Layer), Score: sig3(c.Score),
				Onset: clock(when(c.Finding), day), Top: i == 0,
			})
		}
	}

	p.NoSymptom = len(r.Symptoms) == 0
	p.NoSymptomText = noSymptomText(r)
	for _, f := range r.Symptoms {
		t := title(f)
		if f.Heuristic {
			t += " (" + heuristicNote + ")"
		}
		s := htmlSymptom{
			Service: serviceName(f.Service), Title: t,
			Observed: units.Format(f.ObservedValue, f.Unit), Baseline: units.Format(f.BaselineValue, f.Unit),
			Onset: clock(f.Onset, day),
		}
		if ser, ok := r.Evidence[f.SeriesID]; ok && f.SeriesID != "" {
			s.Spark = template.HTML(sparkline(ser.Points(), r.Window, serviceName(f.Service)+": "+t))
		}
		p.Symptoms = append(p.Symptoms, s)
	}
	return p
}

// htmlLinkOf is one chain card without its chart: facts, why, query, log
// templates and, for a change, what it shipped. n numbers the card (0: not in the
// chain); above are the links above it.
func htmlLinkOf(f analysis.Finding, n int, above []analysis.Finding, day string) htmlLink {
	var prev *analysis.Finding
	if len(above) > 0 {
		prev = &above[len(above)-1]
	}
	l := htmlLink{
		N:       n,
		ID:      "link-" + strconv.Itoa(n),
		Layer:   layerName(f.Layer),
		Class:   layerClass(f.Layer),
		Service: serviceName(f.Service),
		Title:   title(f),
		Why:     clean(f.Explanation),
		Query:   cleanQuery(f.Query),
	}
	l.Labels = labelChips(f.Labels)
	if isChange(f) {
		if f.Change != nil {
			c := htmlChangeOf(*f.Change, day)
			l.Change = &c
			l.Facts = append(l.Facts, htmlFact{Name: c.Kind, Value: c.Time, Strong: true})
			if c.Versions != "" {
				l.Facts = append(l.Facts, htmlFact{Name: "Version", Value: c.Versions})
			}
			if c.Rollback != "" {
				l.Facts = append(l.Facts, htmlFact{Name: "Rollback to", Value: c.Rollback, Strong: true})
			}
		} else {
			l.Facts = append(l.Facts, htmlFact{Name: "When", Value: clock(when(f), day), Strong: true})
		}
	} else {
		l.Facts = append(l.Facts,
			htmlFact{Name: "Baseline", Value: units.Format(f.BaselineValue, f.Unit)},
			htmlFact{Name: "Observed", Value: units.Format(f.ObservedValue, f.Unit), Strong: true},
			htmlFact{Name: "Onset", Value: clock(f.Onset, day)},
		)
	}
	if prev != nil {
		if lead := leadTime(f, *prev); lead != "" {
			l.Facts = append(l.Facts, htmlFact{Name: "Started", Value: lead})
		}
	}
	if !isChange(f) && f.Score != 0 {
		l.Facts = append(l.Facts, htmlFact{Name: "Score", Value: sig3(f.Score)})
	}
	if f.Heuristic {
		l.Notes = append(l.Notes, heuristicNote)
	}
	for i, pat := range shownPatterns(f) {
		hp := htmlPattern{
			N:        i + 1,
			Template: orUnknown(clean(pat.Template)),
			Facts:    arrows(capitalizeFirst(strings.Join(patternFacts(pat, day), ", "))),
		}
		for _, e := range pat.Examples {
			if len(hp.Examples) == htmlMaxExamples {
				break
			}
			if e = clean(e); e != "" {
				hp.Examples = append(hp.Examples, e)
			}
		}
		l.Patterns = append(l.Patterns, hp)
	}
	return l
}

// linkChart is the one chart of a chain link: its series when the result
// has it, a timeline for a change, the template counts for a log finding,
// and otherwise the baseline and observed values side by side.
//
// chainAbove are the links above f, whose onsets a change is charted against.
func linkChart(r analysis.Result, f analysis.Finding, chainAbove []analysis.Finding, day string) string {
	label := serviceName(f.Service) + ": " + title(f)
	if isChange(f) {
		c := changeChart{Label: label + ", timeline", Window: r.Window, Day: day}
		// The links above, top first, then the change: the rows read in
		// the chain's order.
		for _, above := range chainAbove {
			c.Events = append(c.Events, timelineEvent{T: when(above), Label: title(above) + " " + clock(when(above), day), Class: layerClass(above.Layer)})
		}
		kind := "change"
		if f.Change != nil && clean(string(f.Change.Kind)) != "" {
			kind = clean(string(f.Change.Kind))
		}
		c.Events = append(c.Events, timelineEvent{T: when(f), Label: kind + " " + clock(when(f), day), Class: layerClass(f.Layer), Change: true})
		return c.svg()
	}
	if s, ok := r.Evidence[f.SeriesID]; ok && f.SeriesID != "" {
		return seriesChart{
			Label: label, Points: s.Points(), Window: r.Window, Onset: f.Onset,
			Baseline: f.BaselineValue, Unit: f.Unit, Day: day,
		}.svg()
	}
	if pats := shownPatterns(f); len(pats) > 0 {
		c := barChart{Label: label + ", log lines per minute"}
		for i, p := range pats {
			g := barGroup{Bars: []bar{
				{Label: "baseline", Value: p.BaselineRate, Text: units.Format(p.BaselineRate, "per_minute") + " (" + plural(p.BaselineCount, "line", "lines") + ")"},
				{Label: "window", Value: p.WindowRate, Text: units.Format(p.WindowRate, "per_minute") + " (" + plural(p.WindowCount, "line", "lines") + ")", Hot: true},
			}}
			if len(pats) > 1 {
				g.Caption = "log pattern " + strconv.Itoa(i+1)
			}
			c.Groups = append(c.Groups, g)
		}
		return c.svg()
	}
	return barChart{Label: label, Groups: []barGroup{{Bars: []bar{
		{Label: "baseline", Value: f.BaselineValue, Text: units.Format(f.BaselineValue, f.Unit)},
		{Label: "observed", Value: f.ObservedValue, Text: units.Format(f.ObservedValue, f.Unit), Hot: true},
	}}}}.svg()
}

// sparkline is a small trend for the symptoms table: the line only, the
// window shaded.
func sparkline(pts []telemetry.Point, win telemetry.Window, label string) string {
	const w, h = 120.0, 28.0
	var s svgBuilder
	s.b.WriteString(`<svg class="spark" viewBox="0 0 120 28" width="120" height="28" role="img" aria-label="` + svgText(label) + `">`)
	pts = thin(pts)
	lo, hi, okV := valueRange(pts)
	from, to, okT := timeRange(pts)
	if !okV || !okT || !from.Before(to) {
		return s.close()
	}
	ts := timeScale{from: from, to: to, left: 1, right: w - 1}
	ys := linear{d0: lo, d1: hi, r0: h - 2, r1: 2}
	if lo == hi {
		ys = linear{d0: lo - 1, d1: hi + 1, r0: h - 2, r1: 2}
	}
	if !win.From.IsZero() && win.From.Before(to) && win.To.After(from) {
		x0 := ts.x(telemetry.Latest(win.From, from))
		x1 := ts.x(telemetry.Earliest(win.To, to))
		s.rect("c-win", x0, 0, x1-x0, h)
	}
	var run [][2]float64
	for _, p := range pts {
		if !finite(p.V) || p.T.IsZero() {
			s.polyline("c-spark", run)
			run = nil
			continue
		}
		run = append(run, [2]float64{ts.x(p.T), ys.at(p.V)})
	}
	s.polyline("c-spark", run)
	return s.close()
}

// rollbackTarget is the version to go back to, for a deploy or a version
// change that names the one before it.
func rollbackTarget(c telemetry.Change) string {
	if from := clean(c.FromVersion); from != "" && (c.Kind == telemetry.ChangeDeploy || c.Kind == telemetry.ChangeVersion) {
		return from
	}
	return ""
}

func htmlChangeOf(c telemetry.Change, day string) htmlChange {
	h := htmlChange{
		Time:     clock(c.T, day),
		Service:  serviceName(c.Service),
		Title:    changeTitle(c),
		Kind:     clean(string(c.Kind)),
		Rollback: rollbackTarget(c),
		Commit:   shortCommit(c.Commit),
		Author:   clean(c.Author),
		Source:   clean(c.Source),
	}
	if h.Kind == "" {
		h.Kind = "change"
	}
	if from, to := clean(c.FromVersion), clean(c.ToVersion); from != "" || to != "" {
		h.Versions = orUnknown(from) + " → " + orUnknown(to)
	}
	if len(c.Files) > 0 {
		h.Files = fileList(c.Files)
	}
	for _, cm := range c.Commits {
		hc := htmlCommit{Hash: shortCommit(cm.Hash), Author: clean(cm.Author), Subject: clean(cm.Subject)}
		if !cm.Time.IsZero() {
			hc.Time = clock(cm.Time, day)
		}
		if len(cm.Files) > 0 {
			hc.Files = fileList(cm.Files)
		}
		h.Commits = append(h.Commits, hc)
	}
	return h
}

// labelChips are a finding's labels as name=value, sorted by name; the
// service is the card's title already.
func labelChips(l telemetry.Labels) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		if k == "service" && clean(l[k]) != "" {
			continue
		}
		out = append(out, clean(k)+"="+clean(l[k]))
	}
	return out
}

// layerClass is the CSS class of a layer's colour: only the four known
// layers have one, so no data string reaches a class name.
func layerClass(l catalog.Layer) string {
	switch l {
	case catalog.LayerSymptom, catalog.LayerPropagation, catalog.LayerResource, catalog.LayerChange:
		return "l-" + string(l)
	}
	return "l-other"
}

// arrows turns the facts' ASCII arrow into a real one for the page.
func arrows(s string) string { return strings.ReplaceAll(s, " -> ", " → ") }

// htmlSource is the page. Layer colours come from the l-* class on a card
// or badge, through the --accent variable, which the charts use as well.
const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="rca">
<title>{{.Title}}</title>
<style>` + htmlCSS + `</style>
</head>
<body>
<main class="page">
<header class="hero">
<p class="eyebrow">rca · root-cause report{{if .Day}} · {{.Day}}{{end}}</p>
<dl class="when">
<div><dt>Window</dt><dd>{{.Window}}</dd></div>
<div><dt>Baseline</dt><dd>{{.Baseline}}</dd></div>
</dl>
{{- if .Nothing}}
<p class="nothing">{{.Nothing}}</p>
{{- template "deviations" .Near}}
{{- else if .Weak}}{{with .Weak}}
<section class="top weak l-other" aria-labelledby="top-h">
<h1 id="top-h" class="nothing">{{.Text}}</h1>
{{- if .Moved}}
<p>{{.Moved}}</p>
{{- end}}
{{- template "deviations" .Deviations}}
</section>
{{- end}}
{{- else if .Top}}{{with .Top}}
<section class="top {{.Class}}" aria-labelledby="top-h">
<h1 id="top-h"><span class="kicker">{{.Kicker}}</span>
<span class="top-title">{{.Title}}</span></h1>
{{- if .Rollback}}
<p class="rollback">Rollback target <strong>{{.Rollback}}</strong></p>
{{- end}}
{{- if .Why}}
<p class="why">{{.Why}}</p>
{{- end}}
<ul class="facts-inline"><li><span class="badge {{.Class}}">{{.Layer}}</span></li><li>service <span class="svc">{{.Service}}</span></li>{{range .Facts}}<li>{{.}}</li>{{end}}</ul>
{{- with .Detail}}
<div class="detail">{{template "detail" .}}</div>
{{- end}}
</section>
{{- end}}
{{- else if .NoCause}}
<h1 class="top-none">No root-cause candidate was found.</h1>
{{- end}}
{{- if and .Path .Top}}
<ol class="path" aria-label="Cause chain in brief">
{{- range $i, $s := .Path}}
<li class="{{$s.Class}}">{{if $i}}<span class="by">caused by</span> {{end}}<span class="dot" aria-hidden="true"></span>{{$s.Title}} <span class="muted">({{$s.Service}})</span></li>
{{- end}}
</ol>
{{- end}}
</header>
{{- if not .Nothing}}

<section aria-labelledby="chain-h">
<h2 id="chain-h">Cause chain</h2>
{{- if .NoChain}}
<p class="muted">No cause chain could be built from the anomalies found.</p>
{{- else}}
<p class="muted lead">From the symptom users see, down to the root cause.</p>
<ol class="chain">
{{- range .Chain}}
<li class="link {{.Class}}" id="{{.ID}}">
{{- if gt .N 1}}
<div class="connector"><span>caused by</span></div>
{{- end}}
<article class="card">
<header class="card-head">
<span class="step">{{.N}}</span>
<span class="badge {{.Class}}">{{.Layer}}</span>
<span class="svc">{{.Service}}</span>
<h3>{{.Title}}</h3>
{{- if .Labels}}
<ul class="labels">{{range .Labels}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
</header>
<div class="card-body">
<div class="card-main">
<dl class="facts">
{{- range .Facts}}
<div{{if .Strong}} class="strong"{{end}}><dt>{{.Name}}</dt><dd>{{.Value}}</dd></div>
{{- end}}
</dl>
{{- range .Notes}}
<p class="note">{{.}}</p>
{{- end}}
{{- if .Why}}
<p class="why">{{.Why}}</p>
{{- end}}
</div>
<figure class="figure">{{.Chart}}</figure>
</div>
{{template "detail" .}}
</article>
</li>
{{- end}}
</ol>
{{- if .ChainNote}}
<p class="note">{{.ChainNote}}</p>
{{- end}}
{{- end}}
</section>
{{- end}}
{{- if .Ruled}}

<section aria-labelledby="ruled-h">
<h2 id="ruled-h">Ruled out</h2>
<p class="muted lead">What else was checked, and why it lost.</p>
<ul class="ruled">
{{- range .Ruled}}
<li class="ruled-item {{.Class}}">
<article class="card">
<header class="card-head">
<span class="badge {{.Class}}">{{.Layer}}</span>
<span class="svc">{{.Service}}</span>
<h3>{{.Title}}</h3>
</header>
<div class="card-body">
<div class="card-main">
<p class="why">{{.Why}}</p>
</div>
{{- if .Chart}}
<figure class="figure">{{.Chart}}</figure>
{{- end}}
</div>
</article>
</li>
{{- end}}
</ul>
</section>
{{- end}}
{{- if not .Nothing}}

<section aria-labelledby="causes-h">
<h2 id="causes-h">{{.CausesHeading}}</h2>
{{- if .Causes}}
<div class="tbl-wrap"><table class="tbl">
<thead><tr><th class="num nw">Rank</th><th>Service</th><th>Signal</th><th>Layer</th><th class="num">Score</th><th>Onset (UTC)</th></tr></thead>
<tbody>
{{- range .Causes}}
<tr{{if .Top}} class="top-row"{{end}}><td class="num nw c-rank" data-label="Rank">{{.Rank}}</td><td class="svc c-svc" data-label="Service">{{.Service}}</td><td class="c-sig" data-label="Signal">{{.Title}}</td><td class="nw c-layer" data-label="Layer"><span class="badge {{.Class}}">{{.Layer}}</span></td><td class="num nw c-kv" data-label="Score">{{.Score}}</td><td class="nw c-kv" data-label="Onset">{{.Onset}}</td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p class="muted">No root-cause candidate was found.</p>
{{- end}}
</section>

<section aria-labelledby="symptoms-h">
<h2 id="symptoms-h">What is broken</h2>
{{- if .NoSymptom}}
<p class="muted">{{.NoSymptomText}}</p>
{{- else}}
<div class="tbl-wrap"><table class="tbl">
<thead><tr><th>Service</th><th>Signal</th><th class="num">Observed</th><th class="num">Baseline</th><th>Onset (UTC)</th><th>Trend</th></tr></thead>
<tbody>
{{- range .Symptoms}}
<tr><td class="svc c-svc" data-label="Service">{{.Service}}</td><td class="c-sig" data-label="Signal">{{.Title}}</td><td class="num nw strong c-kv" data-label="Observed">{{.Observed}}</td><td class="num nw c-kv" data-label="Baseline">{{.Baseline}}</td><td class="nw c-kv" data-label="Onset">{{.Onset}}</td><td class="nw c-trend" data-label="Trend">{{.Spark}}</td></tr>
{{- end}}
</tbody>
</table></div>
{{- end}}
</section>
{{- end}}
{{- if .Unlinked}}

<section aria-labelledby="unlinked-h">
<h2 id="unlinked-h">Changes with no effect seen</h2>
<ul class="changes">
{{- range .Unlinked}}
<li><span class="time">{{.Time}}</span> <span class="svc">{{.Service}}</span> {{.Title}}{{if .Author}} <span class="muted">by {{.Author}}</span>{{end}}</li>
{{- end}}
</ul>
</section>
{{- end}}
{{- if .Warnings}}

<section aria-labelledby="warnings-h">
<h2 id="warnings-h">Warnings</h2>
<ul class="warnings">
{{- range .Warnings}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
{{- end}}

<footer class="stats"><p>{{.Stats}}</p></footer>
</main>
</body>
</html>
{{define "deviations"}}{{with .}}
<p class="muted">{{.Heading}}</p>
<ul class="deviations">
{{- range .Items}}
<li><span class="svc">{{.Service}}</span>: {{.Title}} <span class="muted">({{.Facts}})</span>: {{.NotEnough}}</li>
{{- end}}
</ul>
{{- end}}{{end}}
{{- define "detail"}}
{{- if .Query}}
<div class="query"><span class="k">Query</span><code>{{.Query}}</code></div>
{{- end}}
{{- with .Change}}{{if or .Commit .Author .Files .Source .Commits}}
<div class="change">
<dl class="facts small">
{{- if .Commit}}<div><dt>Commit</dt><dd><code>{{.Commit}}</code></dd></div>{{end}}
{{- if .Author}}<div><dt>Author</dt><dd>{{.Author}}</dd></div>{{end}}
{{- if .Files}}<div class="wide"><dt>Files</dt><dd>{{.Files}}</dd></div>{{end}}
{{- if .Source}}<div class="wide"><dt>Found by</dt><dd>{{.Source}}</dd></div>{{end}}
</dl>
{{- if .Commits}}
<h4>Commits shipped</h4>
<ul class="commits">
{{- range .Commits}}
<li><code>{{.Hash}}</code> {{.Subject}}{{if .Author}} <span class="muted">by {{.Author}}{{if .Time}}, {{.Time}}{{end}}</span>{{end}}{{if .Files}}<br><span class="files">{{.Files}}</span>{{end}}</li>
{{- end}}
</ul>
{{- end}}
</div>
{{- end}}{{end}}
{{- range .Patterns}}
<div class="pattern">
<h4>Log pattern{{if gt (len $.Patterns) 1}} {{.N}}{{end}}</h4>
<p class="tmpl"><code>{{.Template}}</code></p>
<p class="pfacts">{{.Facts}}</p>
{{- if .Examples}}
<ul class="examples">
{{- range .Examples}}
<li><code>{{.}}</code></li>
{{- end}}
</ul>
{{- end}}
</div>
{{- end}}
{{- end}}`

const htmlCSS = `
:root{--bg:#f3f4f6;--card:#fff;--text:#1a1d23;--muted:#5d6673;--border:#dcdfe4;--soft:#eef0f3;--code:#f4f5f7;
--win:rgba(230,119,0,.09);--grid:#e3e6ea;--base-line:#8a94a3;
--symptom:#c92a2a;--propagation:#d9480f;--resource:#6741d9;--change:#1864ab;--other:#495057;--accent:var(--other);
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0e1116;--card:#161a21;--text:#e5e8ec;--muted:#9aa3af;--border:#2b313b;--soft:#1e232b;--code:#10141a;
--win:rgba(255,169,77,.10);--grid:#262c35;--base-line:#7d8796;
--symptom:#ff6b6b;--propagation:#ffa94d;--resource:#b197fc;--change:#74c0fc;--other:#adb5bd}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font-size:15px;line-height:1.5;-webkit-text-size-adjust:100%}
.page{max-width:1120px;margin:0 auto;padding:24px 20px 48px}
h1,h2,h3,h4{line-height:1.25;margin:0}
h2{font-size:1.15rem;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--border)}
h4{font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:14px 0 6px}
p{margin:8px 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.85em;overflow-wrap:anywhere;word-break:break-word}
.muted{color:var(--muted)}
.lead{margin-top:-4px}
.l-symptom{--accent:var(--symptom)}.l-propagation{--accent:var(--propagation)}.l-resource{--accent:var(--resource)}.l-change{--accent:var(--change)}.l-other{--accent:var(--other)}
.badge{display:inline-block;font-size:.72rem;font-weight:700;text-transform:uppercase;letter-spacing:.06em;padding:2px 8px;border-radius:999px;color:var(--accent);background:var(--soft);border:1px solid var(--accent);white-space:nowrap}
.svc{font-weight:650}
.hero{background:var(--card);border:1px solid var(--border);border-radius:12px;padding:20px 22px}
.eyebrow{margin:0 0 6px;font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted)}
.when{display:flex;flex-wrap:wrap;gap:4px 28px;margin:0 0 14px;font-size:.9rem}
.when div{display:flex;gap:8px}.when dt{color:var(--muted)}.when dd{margin:0;font-variant-numeric:tabular-nums}
.top{border-left:4px solid var(--accent);padding:2px 0 2px 16px}
.kicker{display:block;font-size:.8rem;font-weight:700;text-transform:uppercase;letter-spacing:.08em;color:var(--accent);margin-bottom:4px}
.top-title{display:block;font-size:1.45rem;font-weight:650;overflow-wrap:anywhere}
.top-none,.nothing{font-size:1.3rem;font-weight:650}
.rollback{display:inline-block;margin:12px 0 4px;padding:6px 12px;border-radius:8px;background:var(--soft);border:1px solid var(--accent);font-size:1rem}
.rollback strong{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--accent);margin-left:4px}
.why{overflow-wrap:anywhere}
.top .why{font-size:1rem}
.facts-inline{list-style:none;padding:0;margin:10px 0 0;display:flex;flex-wrap:wrap;gap:6px 14px;font-size:.88rem;color:var(--muted)}
.facts-inline li{overflow-wrap:anywhere}
.path{list-style:none;margin:18px 0 0;padding:12px 0 0;border-top:1px solid var(--border);display:flex;flex-wrap:wrap;gap:6px 10px;font-size:.9rem}
.path li{overflow-wrap:anywhere}
.path .by{color:var(--muted);font-size:.8rem;margin-right:2px}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;background:var(--accent);margin-right:6px;vertical-align:1px}
.chain{list-style:none;margin:0;padding:0}
.ruled{list-style:none;margin:0;padding:0;display:grid;gap:12px}
.ruled .card-head h3{font-size:1rem}
.deviations{margin:8px 0 0;padding-left:20px}
.deviations li{margin:4px 0;overflow-wrap:anywhere}
.connector{position:relative;height:46px;margin-left:30px;border-left:2px dashed var(--border);display:flex;align-items:center}
.connector::after{content:"";position:absolute;left:-7px;bottom:0;border:6px solid transparent;border-top:8px solid var(--muted);border-bottom:0}
.connector span{margin-left:14px;font-size:.78rem;font-weight:600;text-transform:uppercase;letter-spacing:.08em;color:var(--muted)}
.card{background:var(--card);border:1px solid var(--border);border-left:4px solid var(--accent);border-radius:12px;padding:16px 18px;min-width:0}
.card-head{display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px}
.card-head h3{flex-basis:100%;font-size:1.15rem;font-weight:650;overflow-wrap:anywhere}
.step{display:inline-flex;align-items:center;justify-content:center;width:24px;height:24px;border-radius:50%;background:var(--accent);color:var(--card);font-size:.8rem;font-weight:700}
.labels{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 6px;flex-basis:100%}
.labels li{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.75rem;background:var(--soft);border-radius:4px;padding:1px 6px;overflow-wrap:anywhere;min-width:0}
.card-body{display:grid;grid-template-columns:minmax(0,1fr);gap:8px 24px;margin-top:12px}
@media (min-width:880px){.card-body{grid-template-columns:minmax(0,1fr) minmax(0,1.25fr)}}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:10px 16px;margin:0}
.facts dt{font-size:.72rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.facts dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.facts .strong dd{font-weight:700;font-size:1.1rem;color:var(--accent)}
.facts.small{grid-template-columns:repeat(auto-fill,minmax(160px,1fr))}
.facts .wide{grid-column:1/-1}
.note{font-size:.88rem;color:var(--muted);font-style:italic}
.figure{margin:0;min-width:0}
.query{margin-top:12px;display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline}
.query code,.tmpl code,.examples code{display:block;background:var(--code);border:1px solid var(--border);border-radius:6px;padding:6px 10px;white-space:pre-wrap;flex:1 1 260px;min-width:0}
.k{font-size:.72rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.pattern{margin-top:6px;border-top:1px solid var(--border)}
.tmpl{margin:4px 0}
.tmpl code{font-weight:600}
.pfacts{font-size:.88rem;color:var(--muted);margin:6px 0}
.examples{list-style:none;margin:0;padding:0;display:grid;gap:4px}
.examples code{font-size:.8em;color:var(--muted)}
.change{margin-top:12px;padding-top:10px;border-top:1px solid var(--border)}
.commits{margin:0;padding-left:18px}
.commits li{margin:4px 0;overflow-wrap:anywhere}
.files{font-size:.85rem;color:var(--muted)}
.tbl{width:100%;border-collapse:collapse;font-size:.92rem}
.tbl-wrap{overflow-x:auto;border:1px solid var(--border);border-radius:12px;background:var(--card)}
.tbl th,.tbl td{padding:8px 12px;text-align:left;border-bottom:1px solid var(--border);vertical-align:middle;overflow-wrap:break-word}
.tbl .nw{white-space:nowrap}
.tbl th{white-space:nowrap;font-size:.72rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);background:var(--soft)}
.tbl tr:last-child td{border-bottom:0}
.tbl .num{text-align:right;font-variant-numeric:tabular-nums}
.tbl .strong{font-weight:700}
.top-row{background:var(--soft);font-weight:600}
.changes,.warnings{margin:0;padding-left:20px}
.changes li,.warnings li{margin:4px 0;overflow-wrap:anywhere}
.time{font-variant-numeric:tabular-nums;color:var(--muted)}
.stats{margin-top:36px;padding-top:12px;border-top:1px solid var(--border);color:var(--muted);font-size:.85rem}
svg.chart{display:block;width:100%;height:auto;font-family:inherit}
svg.spark{display:block;width:120px;height:28px}
.c-plot{fill:none;stroke:var(--grid)}
.c-win{fill:var(--win)}
.c-grid{stroke:var(--grid);stroke-width:1}
.c-line-base{fill:none;stroke:var(--base-line);stroke-width:1.6;stroke-linejoin:round}
.c-line-win{fill:none;stroke:var(--accent);stroke-width:2;stroke-linejoin:round}
.c-area{fill:var(--accent);fill-opacity:.1}
.c-dot{fill:var(--accent)}
.c-baseline{stroke:var(--muted);stroke-width:1.2;stroke-dasharray:5 4}
.c-onset{stroke:var(--text);stroke-width:1.2;opacity:.75}
.c-change{stroke:var(--accent);stroke-width:2}
.c-mark{fill:var(--accent);stroke:var(--card);stroke-width:1.5}
.c-row{stroke:var(--grid);stroke-width:1}
.c-track{stroke:var(--muted);stroke-width:1.5}
.c-tick,.c-axis{stroke:var(--muted);stroke-width:1}
.c-bar{fill:var(--base-line)}
.c-bar-hot{fill:var(--accent)}
.c-spark{fill:none;stroke:var(--accent,var(--symptom));stroke-width:1.4}
svg text{font-size:11px;fill:var(--muted)}
.c-note{fill:var(--text);paint-order:stroke;stroke:var(--card);stroke-width:3px;stroke-linejoin:round}
.c-onset-lab,.c-change-lab{font-weight:600}
.c-region{font-size:10px;text-transform:uppercase;letter-spacing:.08em}
.c-empty{font-size:12px}
@media (max-width:640px){
.page{padding:14px 12px 36px}
.hero{padding:16px}
.top-title{font-size:1.2rem}
.card{padding:14px}
.connector{margin-left:22px;height:40px}
.tbl,.tbl tbody,.tbl tr{display:block;width:100%}
.tbl thead{display:none}
.tbl tr{border-bottom:1px solid var(--border);padding:8px 12px}
.tbl tr:last-child{border-bottom:0}
.tbl td{display:inline;border:0;padding:0;overflow-wrap:anywhere}
.tbl .nw{white-space:normal}
.c-rank::before{content:"#"}
.c-rank,.c-svc{margin-right:6px}
.c-sig::after{content:"";display:block;margin-bottom:4px}
.c-layer{margin-right:10px}
.tbl td.c-kv{display:inline-block;margin-right:14px;text-align:left}
.tbl td.c-kv::before{content:attr(data-label);margin-right:5px;font-size:.7rem;font-weight:400;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.tbl td.c-trend{display:block;margin-top:4px}
svg.chart text{font-size:13.5px}
svg.chart .c-region{font-size:11.5px}
}
`
