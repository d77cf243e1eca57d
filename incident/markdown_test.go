package incident

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/internal/golden"
	"github.com/rca-tool/rca/telemetry"
)

// hostileLog is an incident whose every text field tries to break out of
// the Markdown: HTML, table pipes, code fences, links, headings, lists.
func hostileLog() *Log {
	at := func(min int) time.Time { return st0.Add(time.Duration(min) * time.Minute) }
	return &Log{
		ID: "INC-20261124-1402-checkout-500s",
		Entries: []Entry{
			{Time: st0, Kind: KindStart, Author: "alice", Text: "Checkout <script>alert(1)</script> | 500s",
				Title: "Checkout <script>alert(1)</script> | 500s", Severity: "SEV2",
				Impact: "38% of *all* checkouts fail\n# not a heading\n- not a list"},
			{Time: at(3), Kind: KindNote, Author: "bob_the_[admin]", Text: "```\nrm -rf /\n```\nsee \"><img src=x onerror=alert(1)>"},
			{Time: at(4), Kind: KindNote, Author: "bob", Text: "| pipes | in | a | table |\n\n1. not a list\n> not a quote"},
			{Time: at(5), Kind: KindChange, Author: "carol", Text: "known deploy",
				Change: &telemetry.Change{T: at(0), Service: "checkout", Kind: telemetry.ChangeDeploy,
					Summary: "deploy checkout v1.4.2 [link](javascript:alert(1))", FromVersion: "v1.4.1", ToVersion: "v1.4.2", Commit: "9f3c1e2"}},
			{Time: at(8), Kind: KindAnalysis, Author: "rca", Text: "analysis attached",
				Analysis: &AnalysisSummary{
					Window: telemetry.Window{From: at(-10), To: at(8)}, Onset: at(2), Service: "checkout",
					RootCause: "CPU saturation <b>bold</b>",
					Chain:     []string{"500s on POST /api/checkout (gateway)", "- upstream timeouts", "1. CPU saturation", "deploy checkout v1.4.2"},
					Change:    "deploy checkout v1.4.2", Rollback: "v1.4.1", Ongoing: true},
				Files: []string{"evidence/report.md", "evidence/snap shot (1)/manifest.json", "../../etc/passwd", "/abs/path", "evidence/x](javascript:alert(1))"}},
			{Time: at(10), Kind: KindUpdate, Author: "carol", Text: "Update 1: identified", Status: StatusIdentified, PostedTo: "#incidents <@here>"},
			{Time: at(11), Kind: KindUpdate, Author: "carol", Text: "draft 2", Status: StatusIdentified},
			{Time: at(15), Kind: KindMitigate, Author: "bob", Text: "rolled back to v1.4.1"},
			{Time: at(60 * 11), Kind: "page", Text: "an entry kind from a newer rca"},
			{Time: at(60 * 11).Add(time.Second), Kind: KindResolve, Text: "back to baseline &amp; stable"},
		},
		Problems: []Problem{
			{Line: 4, Err: "not a complete JSON entry (a fragment of an interrupted write, or a damaged line); skipped"},
			{Line: 13, Torn: true, Err: tornErr},
		},
	}
}

func TestRenderMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := RenderMarkdown(&b, hostileLog()); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	golden.Assert(t, filepath.Join("testdata", "hostile.md"), out)

	for _, raw := range []string{"<script>", "<img", "<b>", "<@here>", "\n```", "\n# not", "\n- not", "\n1. not"} {
		if bytes.Contains(out, []byte(raw)) {
			t.Errorf("rendered Markdown holds raw %q", raw)
		}
	}
	// The only links are to the safe evidence paths; every other "](" is
	// escaped text.
	if links := regexp.MustCompile(`[^\\]\]\(`).FindAll(out, -1); len(links) != 2 {
		t.Errorf("rendered Markdown has %d links, want the 2 safe evidence files", len(links))
	}
	if bytes.ContainsRune(out, '<') {
		t.Error("rendered Markdown holds a raw '<'")
	}
	// Every timeline line is one entry or one of its details: no text
	// spilled onto a line of its own.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "rm -rf") && !strings.HasPrefix(l, "- **") {
			t.Errorf("a newline in a note escaped its bullet: %q", l)
		}
	}
	for _, want := range []string{
		"- **Status:** resolved",
		"- **Started:** 2026-11-24 14:02 UTC",
		"[evidence/report.md](evidence/report.md)",
		"(evidence/snap%20shot%20%281%29/manifest.json)",
		"- **2026-11-25 01:02:00** page:",
		"- **01:02:01** resolve:",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("rendered Markdown lacks %q", want)
		}
	}
}

func TestRenderMarkdownMinimal(t *testing.T) {
	var b bytes.Buffer
	if err := RenderMarkdown(&b, &Log{ID: "INC-x"}); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, filepath.Join("testdata", "empty.md"), b.Bytes())
}
