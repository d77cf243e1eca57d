package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/rca-tool/rca/internal/gitfixture"
)

// chainEnd is the bottom link of a report's chain, as a user's program reads it.
type chainEnd struct {
	Chain []struct {
		Layer    string `json:"layer"`
		Service  string `json:"service"`
		SignalID string `json:"signal_id"`
		Change   *struct {
			Kind    string   `json:"kind"`
			Summary string   `json:"summary"`
			Commit  string   `json:"commit"`
			Author  string   `json:"author"`
			Files   []string `json:"files"`
			Commits []struct {
				Hash string `json:"hash"`
			} `json:"commits"`
		} `json:"change"`
	} `json:"chain"`
	RootCauses []struct {
		Service string      `json:"service"`
		Change  *changeInfo `json:"change"`
	} `json:"root_causes"`
	UnlinkedChanges []changeInfo `json:"unlinked_changes"`
}

type changeInfo struct {
	Service string `json:"service"`
	Commits []struct {
		Subject string `json:"subject"`
	} `json:"commits"`
}

// TestChainEndsAtTheCommit is issue 6's story on the bundled demo: with the
// shop's repository beside it, the chain goes past the checkout deploy to
// the commit it shipped.
func TestChainEndsAtTheCommit(t *testing.T) {
	needPiDigits(t)
	shop := gitfixture.NewShop(t)
	tests := []struct {
		name   string
		args   []string
		config string
	}{
		{"--repo, services from the repository layout", []string{"--repo", shop.Dir}, ""},
		{"changes.git in the config file", nil,
			"changes:\n  git:\n    repo: " + shop.Dir + "\n    services:\n      checkout: [services/checkout/**]\n      catalog: [services/catalog/**]\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"analyze", "--snapshot", piDigits, "-o", "json"}, tc.args...)
			if tc.config != "" {
				args = append([]string{"--config", writeFile(t, t.TempDir(), "rca.yaml", tc.config)}, args...)
			}
			r := rca(t, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var rep chainEnd
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			n := len(rep.Chain)
			if n < 2 {
				t.Fatalf("chain too short: %+v", rep.Chain)
			}
			last, deploy := rep.Chain[n-1], rep.Chain[n-2]
			if last.Change == nil || last.SignalID != "change:commit" || last.Change.Kind != "commit" {
				t.Fatalf("chain ends at %+v, want a commit", last)
			}
			c := last.Change
			if c.Commit != shop.Pi || c.Author != gitfixture.PiAuthor || c.Summary != gitfixture.PiSubject || !slices.Equal(c.Files, gitfixture.PiFiles) {
				t.Errorf("commit link %+v, want %s by %s %q %v", c, shop.Pi, gitfixture.PiAuthor, gitfixture.PiSubject, gitfixture.PiFiles)
			}
			if deploy.Change == nil || deploy.Change.Kind != "deploy" || deploy.Service != "checkout" ||
				len(deploy.Change.Commits) != 1 || deploy.Change.Commits[0].Hash != shop.Pi {
				t.Errorf("the link above is %+v, want the checkout deploy carrying the pi commit", deploy)
			}
			// The decoy deploy shipped its own commit too; wherever the report
			// lists it (a weak candidate: its pods' rollout is a blip in the
			// catalog's goroutines), it carries that commit, not the pi one.
			var decoy *changeInfo
			for _, c := range rep.RootCauses {
				if c.Service == "catalog" && c.Change != nil {
					decoy = c.Change
				}
			}
			for i, c := range rep.UnlinkedChanges {
				if c.Service == "catalog" {
					decoy = &rep.UnlinkedChanges[i]
				}
			}
			if decoy == nil || len(decoy.Commits) != 1 || !strings.Contains(decoy.Commits[0].Subject, "banner") {
				t.Errorf("catalog deploy %+v (unlinked %+v), want it with its banner commit", decoy, rep.UnlinkedChanges)
			}
		})
	}
	t.Run("text names the commit", func(t *testing.T) {
		r := rca(t, "analyze", "--snapshot", piDigits, "--repo", shop.Dir)
		text := strings.Join(strings.Fields(r.stdout), " ") // as read, not as wrapped
		for _, want := range []string{gitfixture.PiSubject, "by " + gitfixture.PiAuthor, "files services/checkout/internal/receipt/footer.go", "rollback target v1.4.1"} {
			if !strings.Contains(text, want) {
				t.Errorf("text report lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("not a repository", func(t *testing.T) {
		wantOneLineError(t, rca(t, "analyze", "--snapshot", piDigits, "--repo", t.TempDir()), 1, "--repo: repo ")
	})
}
