package incident

import (
	"strings"
	"testing"

	"github.com/rca-tool/rca/collectors/sourcetest"
)

// Issue 17, defect 10: log text and what responders typed reach the
// update draft, which is printed and posted: no terminal escape may.
func TestDraftUpdateHasNoEscapes(t *testing.T) {
	l := draftLog(KindMitigate)
	for i := range l.Entries {
		e := &l.Entries[i]
		switch e.Kind {
		case KindStart:
			e.Title = "Checkout \x1b]0;pwned\x07500s\x1b[2J"
			e.Severity = "SEV2\u202e"
			e.Impact = "customers \x1b[31mcannot\x1b[0m pay"
		case KindMitigate:
			e.Text = "rolled back \u202echeckout\x07"
		case KindAnalysis:
			e.Analysis.Change = "deploy \x1b]0;t\x07v1.4.2"
		}
	}
	u := DraftUpdate(l, "", at(30), 0)
	for _, line := range strings.Split(u.Text, "\n") {
		if sourcetest.HasEscape(line) {
			t.Errorf("escape in the draft: %q", line)
		}
	}
	if !strings.Contains(u.Text, "500s") || !strings.Contains(u.Text, "rolled back checkout") {
		t.Errorf("the text around the escapes is lost:\n%s", u.Text)
	}
}
