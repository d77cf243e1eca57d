package report

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/golden"
	"github.com/rca-tool/rca/telemetry"
)

// piDigits is the analysis of the bundled demo incident, read once.
var piDigits = sync.OnceValues(func() (analysis.Result, error) {
	b, err := snapshot.Read(context.Background(), filepath.Join("..", "testdata", "incidents", "pi-digits"))
	if err != nil {
		return analysis.Result{}, err
	}
	cat, err := catalog.Default()
	if err != nil {
		return analysis.Result{}, err
	}
	return analysis.Analyze(b, cat, analysis.Options{}), nil
})

func piDigitsResult(t testing.TB) analysis.Result {
	t.Helper()
	r, err := piDigits()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func renderHTML(t testing.TB, r analysis.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := RenderHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestHTMLPiDigitsGolden pins the page of the demo incident, charts
// included. go test ./report -run HTMLPiDigits -update rewrites it.
func TestHTMLPiDigitsGolden(t *testing.T) {
	got := renderHTML(t, piDigitsResult(t))
	golden.Assert(t, filepath.Join("testdata", "pi-digits.html.golden"), []byte(got))
	if again := renderHTML(t, piDigitsResult(t)); again != got {
		t.Error("output is not deterministic")
	}
}

// parseHTML parses a page and checks that its tags nest: every element
// the source opens it also closes, in order, so the parser never had to
// guess (which is where injected markup would show).
func parseHTML(t *testing.T, page string) *html.Node {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "img": true, "hr": true, "input": true, "link": true, "col": true, "wbr": true, "source": true, "area": true, "base": true, "embed": true, "track": true}
	z := html.NewTokenizer(strings.NewReader(page))
	var stack []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if !void[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

// findAll returns the elements under n that match.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func tag(name string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == name }
}

// textOf is the text of n's text nodes, outside <style>.
func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode && (c.Parent == nil || c.Parent.Data != "style") {
			b.WriteString(c.Data)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestHTMLStructure(t *testing.T) {
	results := fixtures()
	results["pi-digits"] = piDigitsResult(t)
	results["hostile"] = hostileResult()
	results["anomalies only"] = anomaliesOnly()
	for name, r := range results {
		t.Run(name, func(t *testing.T) {
			page := renderHTML(t, r)
			if !strings.HasPrefix(page, "<!DOCTYPE html>\n") {
				t.Errorf("page starts %.40q", page)
			}
			doc := parseHTML(t, page)

			links := findAll(doc, func(n *html.Node) bool { return n.Data == "li" && hasClass(n, "link") })
			if len(links) != len(r.Chain) {
				t.Errorf("%d chain cards, want %d", len(links), len(r.Chain))
			}
			for i, l := range links {
				if n := len(findAll(l, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })); n != 1 {
					t.Errorf("card %d has %d svg.chart, want 1", i+1, n)
				}
				if l.Parent == nil || l.Parent.Data != "ol" || !hasClass(l.Parent, "chain") {
					t.Errorf("card %d is not in ol.chain", i+1)
				}
			}
			ruled := findAll(doc, func(n *html.Node) bool { return n.Data == "li" && hasClass(n, "ruled-item") })
			if len(ruled) != len(r.RuledOut) {
				t.Errorf("%d ruled-out cards, want %d", len(ruled), len(r.RuledOut))
			}
			charted := 0
			for i, l := range ruled {
				want := 0
				if r.RuledOut[i].Finding != nil {
					want = 1
				}
				charted += want
				if n := len(findAll(l, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })); n != want {
					t.Errorf("ruled-out card %d has %d svg.chart, want %d", i+1, n, want)
				}
				if l.Parent == nil || l.Parent.Data != "ul" || !hasClass(l.Parent, "ruled") {
					t.Errorf("ruled-out card %d is not in ul.ruled", i+1)
				}
			}
			if n := len(findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })); n != len(r.Chain)+charted {
				t.Errorf("%d charts on the page, want one per link (%d) and per ruled-out finding (%d)", n, len(r.Chain), charted)
			}

			metas := findAll(doc, tag("meta"))
			var charset, viewport, csp bool
			for _, m := range metas {
				charset = charset || strings.EqualFold(attr(m, "charset"), "utf-8")
				viewport = viewport || attr(m, "name") == "viewport"
				csp = csp || (attr(m, "http-equiv") == "Content-Security-Policy" &&
					attr(m, "content") == "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
			}
			if !charset || !viewport || !csp {
				t.Errorf("meta charset %v, viewport %v, CSP %v", charset, viewport, csp)
			}
			checkSelfContained(t, doc)
		})
	}
}

// checkSelfContained: nothing on the page can run or load anything.
func checkSelfContained(t *testing.T, doc *html.Node) {
	t.Helper()
	for _, bad := range []string{"script", "img", "iframe", "object", "embed", "link", "base", "form", "a", "image", "use", "foreignObject", "foreignobject"} {
		if n := len(findAll(doc, tag(bad))); n > 0 {
			t.Errorf("%d <%s> elements", n, bad)
		}
	}
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			if strings.HasPrefix(k, "on") || k == "href" || k == "src" || k == "style" || k == "action" || k == "formaction" || a.Namespace != "" {
				t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	}
	styles := findAll(doc, tag("style"))
	if len(styles) != 1 || styles[0].FirstChild == nil || styles[0].FirstChild.Data != htmlCSS {
		t.Error("the <style> block is not exactly the page's CSS")
	}
	if strings.Contains(htmlCSS, "url(") || strings.Contains(htmlCSS, "@import") || strings.Contains(htmlCSS, "@font-face") {
		t.Error("the CSS loads something")
	}
}

// Hostile strings for the page: each must come out as the text it is.
const (
	hostileStyle = "</style><script>alert(2)</script>"
	hostileJS    = "javascript:alert(3)"
)

// htmlHostileResult puts hostile strings everywhere a page shows data:
// services, labels, layers, units, log templates and lines, commits,
// warnings, and the series a chart labels.
func htmlHostileResult() analysis.Result {
	r := hostileResult()
	r.Chain[0].Service = hostileScript
	r.Chain[0].Labels = telemetry.Labels{"route": hostileImg, hostileStyle: hostileJS}
	r.Chain[0].Unit = hostileImg
	r.Chain[0].Explanation = hostileStyle
	r.Evidence = map[string]telemetry.Series{
		r.Chain[0].SeriesID: telemetry.Series{Metric: hostileScript}.WithPoints([]telemetry.Point{{T: at("13:30:00"), V: 0.001}, {T: at("14:10:00"), V: 0.38}}...),
	}
	r.Chain[2].Layer = catalog.Layer(hostileImg)
	r.Chain[2].Service = hostileStyle
	p := hostilePattern()
	p.Examples = append([]string{hostileStyle + " " + hostileJS}, p.Examples...)
	r.Chain[1].Patterns = []analysis.LogPattern{p}
	dep := *r.Chain[3].Change
	dep.Author = hostileImg
	dep.Files = []string{hostileScript, hostileJS}
	dep.Commits = []telemetry.Commit{{Hash: hostileJS, Author: hostileScript, Time: at("13:40:00"), Subject: hostileStyle, Files: []string{hostileImg}}}
	r.Chain[3].Change = &dep
	r.RootCauses[0].Finding.Change = &dep
	r.RootCauses[0].Service = hostileImg
	r.UnlinkedChanges[0].Summary = hostileScript
	r.Warnings = append(r.Warnings, hostileStyle)
	return r
}

func TestHTMLEscapesHostileData(t *testing.T) {
	page := renderHTML(t, htmlHostileResult())
	doc := parseHTML(t, page)
	checkSelfContained(t, doc)
	text := textOf(doc)
	for _, s := range []string{
		hostileScript, hostileImg, hostileStyle, hostileJS,
		"route=" + hostileImg, hostileStyle + "=" + hostileJS, // a label chip
		hostileStyle + " " + hostileJS, // a log line
		"GET /search?q=" + hostileScript + " | cell | `code` *bold*",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("the page's text lacks %q", s)
		}
	}
	// The chart of the first link names its hostile service as text too.
	charts := findAll(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "chart") })
	if len(charts) == 0 || !strings.Contains(attr(charts[0], "aria-label"), hostileScript) {
		t.Error("the first chart's label lost the service name")
	}
	// An unknown layer gets the neutral colour, not a class from data.
	for n := range doc.Descendants() {
		if c := attr(n, "class"); strings.Contains(c, "<") || strings.Contains(c, "\"") {
			t.Errorf("class from data: %q", c)
		}
	}
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u202e"} {
		if strings.Contains(page, bad) {
			t.Errorf("page passes %q through", bad)
		}
	}
}

func TestHTMLContent(t *testing.T) {
	tests := []struct {
		name      string
		r         analysis.Result
		want, not []string
	}{
		{"pi-digits", piDigitsResult(t),
			[]string{"Root-cause report, 2026-11-24", "13:50:00 - 14:20:00 UTC (30m)", "12:50:00 - 13:50:00 UTC (1h)",
				"Root cause", "deploy checkout v1.4.2 (commit 9f3c1e2: compute pi to 10,000 places for the receipt footer)",
				"Ruled out", "deploy catalog v2.3.1 (commit 4b7e0d8: reword the out-of-stock banner) at 13:53:10", "only a 30s blip followed it",
				"Rollback target v1.4.1", "caused by", "Cause chain", "Root-cause candidates", "What is broken",
				"deploy catalog v2.3.1", "Warnings", "Commit 9f3c1e2", "Author m.lindqvist",
				"internal/receipt/footer.go, internal/receipt/pi.go", "Log pattern",
				"upstream timed out (<NUM>: Connection timed out) while reading response header from upstream, upstream: <*> request_id=<*>",
				"New at error level, baseline 0 lines (0/min) → window 476 lines (15.9/min), onset 14:04:02, names checkout",
				"Baseline 67.4ms", "Observed 29.8s", "Onset 14:04:30", "30s before the link above",
				"Analysed 196 series (30 anomalous), 7 services, 3996 log lines (36 patterns), 2 changes."},
			[]string{noChangeFound, nothingStandsOut}},
		{"demo", demoResult(),
			[]string{"Rollback target v1.4.1", "(guessed)", "Changes with no effect seen", "deploy cart v2.3.0", "13:20:00 cart deploy cart v2.3.0", `loki: query for service "search" timed out`},
			[]string{noChangeFound}},
		{"no change", noChangeResult(),
			[]string{"The chain ends at the deepest anomaly: " + noChangeFound + ".", "Baseline n/a", "Observed 1.95 cores"},
			[]string{"Rollback target", nothingStandsOut}},
		{"empty", emptyResult(),
			[]string{nothingStandsOut, "Analysed 312 series (0 anomalous)"},
			[]string{"Cause chain", "Root-cause candidates", "Warnings"}},
		{"cause without a chain", func() analysis.Result { r := noChangeResult(); r.Chain = nil; return r }(),
			[]string{"No cause chain could be built", "Query sum by (service) (rate(container_cpu_usage_seconds_total{service=\"checkout\"}[1m]))"},
			[]string{"Rollback target"}},
		{"anomalies only", anomaliesOnly(),
			[]string{"No user-facing symptom deviates", "No root-cause candidate was found.", "No cause chain could be built"},
			[]string{nothingStandsOut}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := normalize(textOf(parseHTML(t, renderHTML(t, tt.r))))
			for _, w := range tt.want {
				if !strings.Contains(text, normalize(w)) {
					t.Errorf("page lacks %q:\n%s", w, text)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(text, normalize(n)) {
					t.Errorf("page has %q", n)
				}
			}
		})
	}
}

// TestHTMLLinkCharts: each kind of link gets its kind of chart.
func TestHTMLLinkCharts(t *testing.T) {
	r := piDigitsResult(t)
	kinds := map[string]string{}
	for i, f := range r.Chain {
		out := linkChart(r, f, r.Chain[:i], reportDay(r))
		kinds[title(f)] = between(out, `class="chart `, `"`)
	}
	want := map[string]string{
		"p99 latency on GET /api/orders/{id}": "chart-series",
		"upstream p99 latency to checkout":    "chart-series",
		"CPU throttling":                      "chart-series",
		"deploy checkout v1.4.2 (commit 9f3c1e2: compute pi to 10,000 places for the receipt footer)": "chart-change",
	}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("%s: chart %q, want %q", k, kinds[k], v)
		}
	}
	// A log template finding has no series: its counts become bars; a
	// finding with neither gets its two values side by side.
	tmpl := analysis.Finding{Service: "gateway", Signal: "log pattern", Layer: catalog.LayerPropagation, Patterns: []analysis.LogPattern{gatewayTimeouts(), gatewayTimeouts()}}
	bars := parseSVG(t, linkChart(r, tmpl, nil, ""))
	if bars.root != "chart chart-bars" || bars.classes["c-bar"] != 4 || bars.text("c-region") != "log pattern 1|log pattern 2" {
		t.Errorf("template chart: %+v", bars)
	}
	plain := parseSVG(t, linkChart(analysis.Result{}, checkoutCPU(), nil, ""))
	if plain.root != "chart chart-bars" || plain.text("c-note") != "0.3 cores|1.95 cores" {
		t.Errorf("values chart: %+v", plain)
	}
}

func BenchmarkRenderHTML(b *testing.B) {
	r := piDigitsResult(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := RenderHTML(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "html-bytes")
}
