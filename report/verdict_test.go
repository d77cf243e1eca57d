package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"golang.org/x/net/html"
)

// unscored is the demo as the analysis leaves it until it computes a
// verdict and confidences: neither is set.
func unscored() analysis.Result {
	r := demoResult()
	r.Verdict = ""
	for i := range r.RootCauses {
		r.RootCauses[i].Confidence = 0
	}
	return r
}

// moved6 is what the verdict adds when six signals deviated but none is
// named the cause: that they deviated, the top candidate's confidence
// (weakResult's are 20, 10 and 7 %) and the confidence a cause needs.
var moved6 = fmt.Sprintf("6 signals deviated from the baseline, but none points clearly enough at a cause to name it: the top candidate has 20 %% confidence, and a cause is named from %d %%.", percent(analysis.ConfidenceThreshold))

// TestVerdictLines: every format leads with the verdict, either way.
func TestVerdictLines(t *testing.T) {
	const found = "Root cause: checkout: deploy checkout v1.4.2 (commit 9f3c1e2)"
	tests := []struct {
		name      string
		r         analysis.Result
		want, not map[string][]string // by format
	}{
		{"cause found, with its confidence", demoResult(),
			map[string][]string{
				"text":     {found + " (confidence 83 %)"},
				"markdown": {"**" + found + " (confidence 83 %)**"},
				"html":     {"Root cause · confidence 83 %", "deploy checkout v1.4.2 (commit 9f3c1e2)"},
				"json":     {`"verdict": "cause_found"`, `"confidence": 0.83`},
			},
			map[string][]string{
				"text": {verdictNothing, "STRONGEST CANDIDATES"}, "markdown": {verdictNothing}, "html": {verdictNothing},
			}},
		{"no verdict yet: a root cause means one was found", unscored(),
			map[string][]string{
				"text": {found + "\n"}, "markdown": {"**" + found + "**"}, "html": {`<span class="kicker">Root cause</span>`},
				"json": {`"verdict": "cause_found"`},
			},
			map[string][]string{"text": {"confidence"}, "markdown": {"confidence"}, "html": {"confidence"}}},
		{"nothing stands out, with the strongest deviations", weakResult(),
			map[string][]string{
				"text": {verdictNothing, moved6, "The strongest deviations seen, and why they are not enough:",
					"gateway: upstream p99 latency (baseline 0s -> 30s, onset 14:04:00, score 28.3): a blip, over by 14:05:00; off a baseline of 0; confidence 20 %",
					"payments: p99 latency (baseline 85ms -> 140ms, onset 14:05:00, score 2.4): only 2.4x beyond its baseline's own variation; confidence 10 %",
					"STRONGEST CANDIDATES (NONE STANDS OUT)", weakChainNote},
				"markdown": {"**" + verdictNothing + "**", moved6, "- **gateway: upstream p99 latency** (baseline 0s → 30s, onset 14:04:00, score 28.3): a blip, over by 14:05:00; off a baseline of 0; confidence 20 %",
					"## Strongest candidates (none stands out)", weakChainNote},
				"html": {`<h1 id="top-h" class="nothing">` + verdictNothing + `</h1>`, "<p>" + template.HTMLEscapeString(moved6) + "</p>", "Candidates (none stands out)", weakChainNote},
				"json": {`"verdict": "nothing_stands_out"`},
			},
			map[string][]string{
				"text": {"Root cause:", "MOST LIKELY ROOT CAUSE"}, "markdown": {"Root cause:", "Most likely root cause"},
				"html": {"Rollback target", `class="kicker"`, `class="path"`},
			}},
		{"nothing ranked, though anomalies were seen", anomaliesOnly(),
			map[string][]string{"text": {verdictNothing}, "markdown": {"**" + verdictNothing + "**"}, "html": {verdictNothing}, "json": {`"verdict": "nothing_stands_out"`}},
			map[string][]string{"text": {"Root cause:", "strongest deviations", "deviated from"}, "markdown": {"strongest deviations", "deviated from"}, "html": {"strongest deviations", "deviated from"}}},
	}
	for _, tt := range tests {
		for _, format := range Formats() {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				out := render(t, format, tt.r, Options{})
				for _, w := range tt.want[format] {
					if !strings.Contains(normalize(out), normalize(w)) {
						t.Errorf("lacks %q:\n%s", w, out)
					}
				}
				for _, n := range tt.not[format] {
					if strings.Contains(out, n) {
						t.Errorf("has %q", n)
					}
				}
			})
		}
	}
}

// TestVerdictLeads: the verdict comes before the symptoms, the chain and
// the ruled-out hypotheses, and those in that order.
func TestVerdictLeads(t *testing.T) {
	order := map[string][]string{
		"text":     {"Root cause:", "WHAT IS BROKEN", "CAUSE CHAIN", "RULED OUT", "CHANGES WITH NO EFFECT SEEN"},
		"markdown": {"**Root cause:", "## What is broken", "## Cause chain", "## Ruled out", "## Changes with no effect seen"},
		"html":     {`class="kicker">Root cause`, `id="chain-h"`, `id="ruled-h"`, `id="causes-h"`, `id="unlinked-h"`},
	}
	for format, heads := range order {
		out := render(t, format, demoResult(), Options{})
		last := -1
		for _, h := range heads {
			i := strings.Index(out, h)
			if i < 0 || i < last {
				t.Errorf("%s: %q at %d, after %d", format, h, i, last)
			}
			last = i
		}
	}
}

// TestRuledOutSection: the section is there with every hypothesis and its
// why when something was ruled out, and absent otherwise.
func TestRuledOutSection(t *testing.T) {
	heading := map[string]string{"text": "RULED OUT", "markdown": "## Ruled out", "html": `id="ruled-h"`, "json": `"ruled_out": [`}
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			out := normalize(render(t, format, demoResult(), Options{}))
			for _, w := range []string{heading[format], "deploy cart v2.3.0 at 13:20:00", "nothing moved on cart in the 2h after it",
				"checkout calls payments; its p99 latency follows CPU usage on checkout (14:03:10), onset 1m50s later: downstream, not a cause"} {
				if !strings.Contains(out, w) {
					t.Errorf("demo lacks %q", w)
				}
			}
			none := render(t, format, noChangeResult(), Options{})
			if format == "json" {
				if !strings.Contains(none, `"ruled_out": []`) {
					t.Error(`no hypotheses ruled out, but not "ruled_out": []`)
				}
				return
			}
			if strings.Contains(none, heading[format]) {
				t.Errorf("a ruled-out section with nothing ruled out")
			}
		})
	}
}

// ruledOutHostile is a result whose ruled-out hypothesis, service and why
// try to become markup.
func ruledOutHostile() analysis.Result {
	r := demoResult()
	r.RuledOut[0].Hypothesis = "deploy " + hostileScript + " | `x` *y* [click](javascript:alert(1)) ![i](http://evil/x.png)"
	r.RuledOut[0].Service = hostileImg
	r.RuledOut[0].Why = "1. " + hostileStyle + "\n# heading _it_ <b>x</b>\x1b[31m"
	return r
}

func TestRuledOutEscapesHostileData(t *testing.T) {
	t.Run("markdown", func(t *testing.T) {
		out := render(t, "markdown", ruledOutHostile(), Options{})
		_, section, _ := strings.Cut(out, "## Ruled out\n\n")
		section, _, _ = strings.Cut(section, "\n\n")
		first := strings.Split(section, "\n")[0]
		want := "- **&quot;&gt;&lt;img src=x onerror=alert(1)&gt;: deploy &lt;script&gt;alert(1)&lt;/script&gt; \\| \\`x\\` \\*y\\* \\[click\\](javascript:alert(1)) \\!\\[i\\](http://evil/x.png)** (change): 1\\. &lt;/style&gt;&lt;script&gt;alert(2)&lt;/script&gt; \\# heading \\_it\\_ &lt;b&gt;x&lt;/b&gt; \\[31m"
		want = strings.ReplaceAll(want, "&quot;", `"`)
		if first != want {
			t.Errorf("ruled-out line\n got %s\nwant %s", first, want)
		}
		for _, bad := range []string{"<script", "<img", "<b>", "</style", "\x1b"} {
			if strings.Contains(section, bad) {
				t.Errorf("markdown passes %q through", bad)
			}
		}
		if m := regexp.MustCompile(`(^|[^\\])\]\(`).FindString(section); m != "" {
			t.Errorf("markdown has a live link: %q", m)
		}
	})
	t.Run("html", func(t *testing.T) {
		page := renderHTML(t, ruledOutHostile())
		doc := parseHTML(t, page)
		checkSelfContained(t, doc)
		items := findAll(doc, func(n *html.Node) bool { return n.Data == "li" && hasClass(n, "ruled-item") })
		if len(items) == 0 {
			t.Fatal("no ruled-out cards")
		}
		h3 := findAll(items[0], tag("h3"))
		if len(h3) != 1 || textOf(h3[0]) != clean(hostileImg)+": "+clean(ruledOutHostile().RuledOut[0].Hypothesis)+"\n" {
			t.Errorf("hypothesis does not come out as the text it is: %q", textOf(items[0]))
		}
		why := findAll(items[0], func(n *html.Node) bool { return n.Data == "p" && hasClass(n, "why") })
		if len(why) != 1 || textOf(why[0]) != clean(ruledOutHostile().RuledOut[0].Why)+"\n" {
			t.Errorf("why does not come out as the text it is: %q", textOf(items[0]))
		}
		if strings.Contains(page, "</style><script>") || strings.Contains(page, hostileScript) {
			t.Error("the page passes raw markup through")
		}
	})
}

// TestJSONVerdictSchema: the fields issue #13 adds to rca.report/v1, with
// their types, in every fixture.
func TestJSONVerdictSchema(t *testing.T) {
	for name, r := range fixtures() {
		t.Run(name, func(t *testing.T) {
			var raw map[string]any
			if err := json.Unmarshal([]byte(render(t, "json", r, Options{})), &raw); err != nil {
				t.Fatal(err)
			}
			if v := raw["verdict"]; v != analysis.VerdictCauseFound && v != analysis.VerdictNothingStandsOut {
				t.Errorf("verdict = %v", v)
			}
			causes, _ := raw["root_causes"].([]any)
			for i, c := range causes {
				conf, ok := c.(map[string]any)["confidence"].(float64)
				if !ok || conf < 0 || conf > 1 {
					t.Errorf("root_causes[%d].confidence = %v", i, c.(map[string]any)["confidence"])
				}
			}
			ruled, ok := raw["ruled_out"].([]any)
			if !ok {
				t.Fatalf("ruled_out = %v, want a list", raw["ruled_out"])
			}
			if len(ruled) != len(r.RuledOut) {
				t.Errorf("%d ruled out, want %d", len(ruled), len(r.RuledOut))
			}
			for i, x := range ruled {
				ro := x.(map[string]any)
				for _, k := range []string{"hypothesis", "service", "layer", "why"} {
					if s, ok := ro[k].(string); !ok || s == "" {
						t.Errorf("ruled_out[%d].%s = %v, want a string", i, k, ro[k])
					}
				}
				nums, ok := ro["numbers"].(map[string]any)
				if !ok {
					t.Errorf("ruled_out[%d].numbers = %v, want an object", i, ro["numbers"])
				}
				for k, v := range nums {
					if _, ok := v.(float64); !ok && v != nil {
						t.Errorf("ruled_out[%d].numbers.%s = %v", i, k, v)
					}
				}
				f, present := ro["finding"]
				if !present {
					t.Errorf("ruled_out[%d] has no finding key", i)
				}
				if f != nil {
					if _, ok := f.(map[string]any)["explanation"]; !ok || (r.RuledOut[i].Finding == nil) {
						t.Errorf("ruled_out[%d].finding = %v", i, f)
					}
				} else if r.RuledOut[i].Finding != nil {
					t.Errorf("ruled_out[%d].finding is null", i)
				}
			}
		})
	}
}

// TestNotEnoughBlip: a deviation of one sample says so, rather than that
// it was over by the time it began.
func TestNotEnoughBlip(t *testing.T) {
	w := weakResult()
	tests := []struct {
		name         string
		onset, until string
		want         string
	}{
		{"one sample", "14:04:00", "14:04:00", "one sample, at 14:04:00"},
		{"a blip", "14:04:00", "14:05:00", "a blip, over by 14:05:00"},
		{"lasting", "14:04:00", "14:08:00", "confidence 20 %"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := w.RootCauses[0]
			c.Onset, c.Until = at(tt.onset), at(tt.until)
			got := notEnough(c, w.Window)
			if !strings.Contains(got, tt.want) || tt.name == "lasting" && strings.Contains(got, "blip") {
				t.Errorf("notEnough = %q, want it to say %q", got, tt.want)
			}
		})
	}
}

// The note reads the top candidate's confidence, as the verdict does,
// rounded down: 0.4 points under the threshold is not the threshold.
func TestMovedNoteTopConfidence(t *testing.T) {
	r := weakResult()
	r.RootCauses[0].Confidence = analysis.ConfidenceThreshold - 0.004
	r.RootCauses[1].Confidence = 0.1
	want := fmt.Sprintf("the top candidate has %d %% confidence", percent(analysis.ConfidenceThreshold)-1)
	if got := movedNote(r); !strings.Contains(got, want) {
		t.Errorf("movedNote = %q, want %q", got, want)
	}
	r.RootCauses[0].Confidence = math.NaN()
	if got := movedNote(r); !strings.Contains(got, "has 0 % confidence") {
		t.Errorf("movedNote with no confidence = %q, want 0 %%", got)
	}
}

// TestConfidenceReadsAlike: the verdict's note and the candidate's own line
// show the same whole percent, rounded down, in every format: a candidate
// under the threshold never reads as reaching it.
func TestConfidenceReadsAlike(t *testing.T) {
	for _, c := range []float64{analysis.ConfidenceThreshold - 0.004, 0.29, 0.2} {
		r := weakResult()
		r.RootCauses[0].Confidence = c
		r.RootCauses[1].Confidence = 0.01
		want := fmt.Sprintf("%d %%", int(math.Floor(c*100+1e-9)))
		for _, format := range []string{"text", "markdown", "html"} {
			var b strings.Builder
			if err := Render(&b, format, r); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, "the top candidate has "+want+" confidence") || !strings.Contains(out, "confidence "+want) {
				t.Errorf("%s, confidence %v: want the note and the candidate both at %s", format, c, want)
			}
			if above := fmt.Sprintf("confidence %d %%", int(math.Floor(c*100+1e-9))+1); strings.Contains(out, above) {
				t.Errorf("%s, confidence %v: %q shown", format, c, above)
			}
		}
	}
}

// TestNearestListed: with no candidate, every format says where the data
// came closest to deviating, whether or not anything else deviated (an
// infrastructure anomaly is never a candidate).
func TestNearestListed(t *testing.T) {
	near := checkoutCPU()
	near.Score, near.BaselineValue, near.ObservedValue = 1.21, 0.4, 0.52
	quiet := emptyResult()
	quiet.Nearest = []analysis.Finding{near}
	host := quiet
	host.Anomalies = []analysis.Finding{{Service: "host:node-1", Signal: "host CPU busy", Layer: catalog.LayerResource, Source: "metrics", Score: 4}}
	for name, r := range map[string]analysis.Result{"nothing deviates": quiet, "only the host deviates": host} {
		for _, format := range []string{"text", "markdown", "html"} {
			var b strings.Builder
			if err := Render(&b, format, r); err != nil {
				t.Fatal(err)
			}
			out := strings.Join(strings.Fields(html.UnescapeString(b.String())), " ") // the text wraps
			heading := "The closest any series came to deviating"
			if len(r.Anomalies) > 0 {
				heading = "No service's own series deviated; the closest"
			}
			for _, want := range []string{heading, "checkout", "only 1.21x beyond its baseline", "it counts from 1.5x"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s, %s: no %q in\n%s", name, format, want, out)
				}
			}
		}
		var b strings.Builder
		if err := Render(&b, "json", r); err != nil {
			t.Fatal(err)
		}
		var doc JSONReport
		if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Nearest) != 1 || doc.Nearest[0].Service != "checkout" {
			t.Errorf("%s, json: nearest %+v, want checkout's CPU", name, doc.Nearest)
		}
	}
}
