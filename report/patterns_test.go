package report

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPatternEvidenceEscaped: a log template and its example lines are
// data that clients can write; in Markdown they must stay literal text on
// their own bullet, in text lose their control characters, and in JSON
// round-trip unchanged while staying safe to embed in HTML.
func TestPatternEvidenceEscaped(t *testing.T) {
	r := hostileResult()
	p := r.Chain[1].Patterns[0]

	t.Run("markdown", func(t *testing.T) {
		out := render(t, "markdown", r, Options{})
		lines := strings.Split(out, "\n")
		start := -1
		for i, l := range lines {
			if strings.HasPrefix(l, "   - Log pattern: ") {
				start = i
				break
			}
		}
		if start < 0 {
			t.Fatalf("no log pattern bullet:\n%s", out)
		}
		want := []string{
			"   - Log pattern: GET &lt;\\*&gt; &lt;script&gt;alert(1)&lt;/script&gt; \\| \\`&lt;\\*&gt;\\` \\*&lt;\\*&gt;\\*",
			"     - New at error \\[31m level, baseline 0 lines (0/min) → window 412 lines (13.7/min), onset 14:04:00, names \"&gt;&lt;img src=x onerror=alert(1)&gt;",
			"     - Example: GET /search?q=&lt;script&gt;alert(1)&lt;/script&gt; \\| cell \\| \\`code\\` \\*bold\\*",
			"     - Example: line one - item \\# heading \\[31m red \\[click\\](javascript:alert(1)) \\!\\[x\\](http://evil/x.png)",
		}
		for i, w := range want {
			if start+i >= len(lines) || lines[start+i] != w {
				got := ""
				if start+i < len(lines) {
					got = lines[start+i]
				}
				t.Errorf("line %d:\n got %q\nwant %q", i, got, w)
			}
		}
		// The bullet ends there: the next line is the next chain item.
		if next := lines[start+len(want)]; !strings.HasPrefix(next, "3. ") {
			t.Errorf("the evidence runs on into %q", next)
		}
		for _, bad := range []string{"<script", "<img", "<b>", "\x1b", "\x07", "\r", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("markdown passes %q through", bad)
			}
		}
	})

	t.Run("text", func(t *testing.T) {
		out := normalize(render(t, "text", r, Options{}))
		for _, w := range []string{
			"log pattern: GET <*> <script>alert(1)</script> | `<*>` *<*>*",
			`new at error [31m level, baseline 0 lines (0/min) -> window 412 lines (13.7/min), onset 14:04:00, names "><img src=x onerror=alert(1)>`,
			"e.g. GET /search?q=<script>alert(1)</script> | cell | `code` *bold*",
			"e.g. line one - item # heading [31m red [click](javascript:alert(1)) ![x](http://evil/x.png)",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("text lacks %q", w)
			}
		}
		if strings.Contains(out, "~~strike~~") {
			t.Error("text shows more than two examples")
		}
	})

	t.Run("json", func(t *testing.T) {
		out := render(t, "json", r, Options{})
		if strings.Contains(out, "<script") {
			t.Error("JSON has a raw <script")
		}
		var doc JSONReport
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		got := doc.Chain[1].Patterns[0]
		if got.Template != p.Template || strings.Join(got.Examples, "\n") != strings.Join(p.Examples, "\n") || got.Callee != p.Callee {
			t.Errorf("pattern did not round-trip: %+v", got)
		}
		if len(doc.Chain[0].Patterns) != 0 || doc.Chain[0].Patterns == nil {
			t.Errorf("a link without log evidence has patterns %v, want []", doc.Chain[0].Patterns)
		}
	})
}

func TestPatternJSONFields(t *testing.T) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(render(t, "json", demoResult(), Options{})), &raw); err != nil {
		t.Fatal(err)
	}
	link := raw["chain"].([]any)[1].(map[string]any)
	p := link["patterns"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "template", "level", "signal_id", "layer", "callee", "new", "baseline_count", "window_count",
		"baseline_rate", "window_rate", "onset", "until", "examples", "query"} {
		if _, ok := p[k]; !ok {
			t.Errorf("pattern lacks %q", k)
		}
	}
	if p["onset"] != "2024-05-14T14:04:00Z" || p["window_count"] != 412.0 || p["new"] != true {
		t.Errorf("pattern = %v", p)
	}
	if raw["stats"].(map[string]any)["log_patterns"] != 57.0 {
		t.Errorf("stats = %v", raw["stats"])
	}
	for _, k := range []string{"symptoms", "chain", "anomalies"} {
		for _, f := range raw[k].([]any) {
			if _, ok := f.(map[string]any)["patterns"].([]any); !ok {
				t.Errorf("a %s entry has no patterns list", k)
			}
		}
	}
	for _, c := range raw["root_causes"].([]any) {
		if _, ok := c.(map[string]any)["patterns"].([]any); !ok {
			t.Error("a root cause has no patterns list")
		}
	}
}
