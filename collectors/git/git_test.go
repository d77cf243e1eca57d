package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/rca-tool/rca/telemetry"
)

// gitT0 is the incident's onset in the git tests.
var gitT0 = time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)

var testGitServices = map[string][]string{
	"checkout": {"services/checkout/**"},
	"cart":     {"services/cart/**"},
}

// gitTestRepo builds a repository in a temporary directory with go-git.
type gitTestRepo struct {
	tb   testing.TB
	dir  string
	repo *gogit.Repository
	wt   *gogit.Worktree
}

func newGitTestRepo(tb testing.TB) *gitTestRepo {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "shop")
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		tb.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		tb.Fatal(err)
	}
	return &gitTestRepo{tb: tb, dir: dir, repo: repo, wt: wt}
}

// commit writes each file (its content names the commit, so every commit
// changes them) and commits at when. With parents, it is a merge.
func (r *gitTestRepo) commit(when time.Time, author, msg string, files []string, parents ...plumbing.Hash) plumbing.Hash {
	r.tb.Helper()
	for _, f := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(msg+"\n"+f+"\n"), 0o644); err != nil {
			r.tb.Fatal(err)
		}
		if err := r.wt.AddWithOptions(&gogit.AddOptions{Path: f, SkipStatus: true}); err != nil {
			r.tb.Fatal(err)
		}
	}
	sig := &object.Signature{Name: author, Email: strings.ToLower(author) + "@example.com", When: when}
	h, err := r.wt.Commit(msg, &gogit.CommitOptions{Author: sig, Committer: sig, Parents: parents})
	if err != nil {
		r.tb.Fatalf("commit %q: %v", msg, err)
	}
	return h
}

func (r *gitTestRepo) head() plumbing.Hash {
	r.tb.Helper()
	h, err := r.repo.Head()
	if err != nil {
		r.tb.Fatal(err)
	}
	return h.Hash()
}

func (r *gitTestRepo) checkout(branch string, create bool) {
	r.tb.Helper()
	if err := r.wt.Checkout(&gogit.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: create}); err != nil {
		r.tb.Fatalf("checkout %s: %v", branch, err)
	}
}

func (r *gitTestRepo) tag(name string, h plumbing.Hash, annotated bool) {
	r.tb.Helper()
	var opts *gogit.CreateTagOptions
	if annotated {
		opts = &gogit.CreateTagOptions{
			Tagger:  &object.Signature{Name: "release", Email: "release@example.com", When: gitT0},
			Message: "release " + name,
		}
	}
	if _, err := r.repo.CreateTag(name, h, opts); err != nil {
		r.tb.Fatalf("tag %s: %v", name, err)
	}
}

// pack moves every object into a pack file, as a clone has them.
func (r *gitTestRepo) pack() {
	r.tb.Helper()
	if err := r.repo.RepackObjects(&gogit.RepackConfig{}); err != nil {
		r.tb.Fatal(err)
	}
	objects := filepath.Join(r.dir, ".git", "objects")
	entries, err := os.ReadDir(objects)
	if err != nil {
		r.tb.Fatal(err)
	}
	for _, e := range entries {
		if len(e.Name()) == 2 { // a loose object directory
			if err := os.RemoveAll(filepath.Join(objects, e.Name())); err != nil {
				r.tb.Fatal(err)
			}
		}
	}
}

func (r *gitTestRepo) open(services map[string][]string) *Repo {
	r.tb.Helper()
	g, err := Open(Config{Repo: r.dir, Services: services, Section: "changes.git"})
	if err != nil {
		r.tb.Fatal(err)
	}
	return g
}

// gitGot is the part of a commit Change a test compares.
type gitGot struct {
	Service, Subject string
	Files            []string
}

func gitSummarize(cs []telemetry.Change) []gitGot {
	out := []gitGot{}
	for _, c := range cs {
		out = append(out, gitGot{c.Service, c.Summary, c.Files})
	}
	return out
}

func TestGitCommits(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	from, to := gitT0.Add(-time.Hour), gitT0
	r.commit(gitT0.Add(-3*time.Hour), "Ann", "initial layout",
		[]string{"services/checkout/main.go", "services/cart/main.go", "docs/README.md"})
	atFrom := r.commit(from, "Ann", "checkout: add receipt\n\nA longer body.", []string{"services/checkout/receipt.go"})
	r.commit(gitT0.Add(-40*time.Minute), "Bob", "docs: runbook", []string{"docs/runbook.md"})
	both := r.commit(gitT0.Add(-10*time.Minute), "Cy", "bump go for all services",
		[]string{"services/checkout/go.mod", "services/cart/go.mod", "docs/go.md"})
	r.commit(to, "Dee", "cart: after the window", []string{"services/cart/late.go"})

	tests := []struct {
		name     string
		services map[string][]string
		from, to time.Time
		want     []gitGot
	}{
		{
			name:     "window",
			services: testGitServices,
			from:     from, to: to,
			want: []gitGot{
				{"checkout", "checkout: add receipt", []string{"services/checkout/receipt.go"}},
				{"cart", "bump go for all services", []string{"services/cart/go.mod"}},
				{"checkout", "bump go for all services", []string{"services/checkout/go.mod"}},
			},
		},
		{
			name:     "everything",
			services: testGitServices,
			from:     gitT0.Add(-24 * time.Hour), to: gitT0.Add(time.Hour),
			want: []gitGot{
				{"cart", "initial layout", []string{"services/cart/main.go"}},
				{"checkout", "initial layout", []string{"services/checkout/main.go"}},
				{"checkout", "checkout: add receipt", []string{"services/checkout/receipt.go"}},
				{"cart", "bump go for all services", []string{"services/cart/go.mod"}},
				{"checkout", "bump go for all services", []string{"services/checkout/go.mod"}},
				{"cart", "cart: after the window", []string{"services/cart/late.go"}},
			},
		},
		{
			name:     "empty window",
			services: testGitServices,
			from:     gitT0.Add(-2 * time.Hour), to: gitT0.Add(-90 * time.Minute),
			want: []gitGot{},
		},
		{
			name: "directory and file globs",
			services: map[string][]string{
				"checkout": {"./services/checkout/", "docs/runbook.md"},
				"docs":     {"docs/*.md"},
			},
			from: from, to: to,
			want: []gitGot{
				{"checkout", "checkout: add receipt", []string{"services/checkout/receipt.go"}},
				{"checkout", "docs: runbook", []string{"docs/runbook.md"}},
				{"docs", "docs: runbook", []string{"docs/runbook.md"}},
				{"checkout", "bump go for all services", []string{"services/checkout/go.mod"}},
				{"docs", "bump go for all services", []string{"docs/go.md"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := r.open(tt.services)
			got, err := g.Commits(context.Background(), tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if s := gitSummarize(got); !reflect.DeepEqual(s, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", s, tt.want)
			}
		})
	}

	// The fields of one change in full.
	got, err := r.open(testGitServices).Commits(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := telemetry.Change{
		T: from, Service: "checkout", Kind: telemetry.ChangeCommit,
		Summary: "checkout: add receipt", Commit: atFrom.String(), Author: "Ann",
		Files: []string{"services/checkout/receipt.go"}, Source: "git shop",
	}
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %+v\nwant %+v", got[0], want)
	}
	if got[1].Commit != both.String() || got[2].Commit != both.String() {
		t.Errorf("the two-service commit: got %s and %s, want %s", got[1].Commit, got[2].Commit, both)
	}
}

func TestGitCommitsMerge(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	r.commit(gitT0.Add(-50*time.Minute), "Ann", "checkout: base", []string{"services/checkout/main.go"})
	r.checkout("feature", true)
	feature := r.commit(gitT0.Add(-40*time.Minute), "Bob", "checkout: feature", []string{"services/checkout/feature.go"})
	r.commit(gitT0.Add(-38*time.Minute), "Bob", "docs: feature", []string{"docs/feature.md"})
	featureTip := r.head()
	r.checkout("master", false)
	mainTip := r.commit(gitT0.Add(-35*time.Minute), "Cy", "cart: fix", []string{"services/cart/fix.go"})
	// The merge brings the branch's files into master: write them as the
	// branch left them, then commit with both parents.
	for _, f := range []struct{ path, msg string }{
		{"services/checkout/feature.go", "checkout: feature"},
		{"docs/feature.md", "docs: feature"},
	} {
		if err := os.MkdirAll(filepath.Join(r.dir, filepath.Dir(f.path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, f.path), []byte(f.msg+"\n"+f.path+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := r.wt.Add(f.path); err != nil {
			t.Fatal(err)
		}
	}
	merge := r.commit(gitT0.Add(-30*time.Minute), "Cy", "Merge branch 'feature'", nil, mainTip, featureTip)
	r.commit(gitT0.Add(-20*time.Minute), "Dee", "checkout: after merge", []string{"services/checkout/after.go"})

	g := r.open(testGitServices)
	got, err := g.Commits(context.Background(), gitT0.Add(-time.Hour), gitT0)
	if err != nil {
		t.Fatal(err)
	}
	want := []gitGot{
		{"checkout", "checkout: base", []string{"services/checkout/main.go"}},
		{"checkout", "checkout: feature", []string{"services/checkout/feature.go"}},
		{"cart", "cart: fix", []string{"services/cart/fix.go"}},
		// The merge's own diff against master: what it brought in.
		{"checkout", "Merge branch 'feature'", []string{"services/checkout/feature.go"}},
		{"checkout", "checkout: after merge", []string{"services/checkout/after.go"}},
	}
	if s := gitSummarize(got); !reflect.DeepEqual(s, want) {
		t.Errorf("got\n%v\nwant\n%v", s, want)
	}
	seen := map[string]bool{}
	for _, c := range got {
		k := c.Service + " " + c.Commit
		if seen[k] {
			t.Errorf("%s listed twice", k)
		}
		seen[k] = true
	}
	if !seen["checkout "+feature.String()] || !seen["checkout "+merge.String()] {
		t.Errorf("the branch commit and the merge should both be listed: %v", seen)
	}
}

func TestGitCommitsWalkLimit(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	for i := range 10 {
		r.commit(gitT0.Add(time.Duration(i-10)*time.Minute), "Ann", fmt.Sprintf("checkout %d", i), []string{"services/checkout/a.go"})
	}
	g := r.open(testGitServices)
	g.walkLimit = 4
	got, err := g.Commits(context.Background(), gitT0.Add(-time.Hour), gitT0)
	if err == nil || !strings.Contains(err.Error(), "stopped after 4 commits") {
		t.Fatalf("want a walk limit error, got %v", err)
	}
	if len(got) != 4 || got[3].Summary != "checkout 9" {
		t.Errorf("want the 4 newest commits kept, got %v", gitSummarize(got))
	}
}

func TestGitOpen(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	r.commit(gitT0.Add(-time.Hour), "Ann", "checkout: one", []string{"services/checkout/a.go"})

	// A bare repository: the .git directory on its own.
	bare := filepath.Join(t.TempDir(), "shop.git")
	if err := os.CopyFS(bare, os.DirFS(filepath.Join(r.dir, ".git"))); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{r.dir, filepath.Join(r.dir, "services", "checkout"), filepath.Join(r.dir, ".git"), bare} {
		g, err := Open(Config{Repo: path, Services: testGitServices})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		got, err := g.Commits(context.Background(), gitT0.Add(-2*time.Hour), gitT0)
		if err != nil || len(got) != 1 || got[0].Source != "git shop" {
			t.Errorf("%s: got %+v, %v; want one change from git shop", path, got, err)
		}
	}
}

func TestGitOpenErrors(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	r.commit(gitT0, "Ann", "one", []string{"a.txt"})
	notRepo := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"no repo", Config{Services: testGitServices}, []string{"changes.git.repo is empty"}},
		{"missing", Config{Repo: filepath.Join(notRepo, "nope"), Services: testGitServices}, []string{"nope", "no such directory"}},
		{"not a repository", Config{Repo: notRepo, Services: testGitServices}, []string{notRepo, "not a git repository"}},
		{"no services", Config{Repo: r.dir}, []string{"changes.git.services is empty"}},
		{"no globs", Config{Repo: r.dir, Services: map[string][]string{"cart": nil}}, []string{"changes.git.services.cart", "no globs"}},
		{"bad glob", Config{Repo: r.dir, Services: map[string][]string{"checkout": {"services/[checkout/**"}}},
			[]string{"changes.git.services.checkout", `bad glob "services/[checkout/**"`}},
		{"absolute glob", Config{Repo: r.dir, Services: map[string][]string{"checkout": {"/services/checkout/**"}}},
			[]string{"changes.git.services.checkout", "relative to the repository root"}},
		{"empty glob", Config{Repo: r.dir, Services: map[string][]string{"checkout": {""}}},
			[]string{"changes.git.services.checkout", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Section = "changes.git" // as the config layer names it
			_, err := Open(tt.cfg)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("want one line, got %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
	if _, err := Open(Config{Repo: notRepo, Services: testGitServices}); !errors.Is(err, gogit.ErrRepositoryNotExists) {
		t.Errorf("want ErrRepositoryNotExists wrapped, got %v", err)
	}
}

func TestGitEmptyRepository(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "empty")
	if _, err := gogit.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	g, err := Open(Config{Repo: dir, Services: testGitServices})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Commits(context.Background(), gitT0.Add(-time.Hour), gitT0)
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want nothing", got, err)
	}
}

// gitDeployRepo is the demo's history: v1.4.1, then three commits of which
// one touches checkout, then v1.4.2.
type gitDeployRepo struct {
	*gitTestRepo
	initial, tidy, cart, pi, docs, fix plumbing.Hash
}

func newGitDeployRepo(t *testing.T) *gitDeployRepo {
	r := &gitDeployRepo{gitTestRepo: newGitTestRepo(t)}
	r.initial = r.commit(gitT0.Add(-6*time.Hour), "Ann", "initial layout",
		[]string{"services/checkout/main.go", "services/cart/main.go", "docs/README.md"})
	r.tidy = r.commit(gitT0.Add(-5*time.Hour), "Ann", "checkout: tidy handlers", []string{"services/checkout/handlers.go"})
	r.tag("v1.4.1", r.tidy, true)
	r.cart = r.commit(gitT0.Add(-4*time.Hour), "Bob", "cart: faster basket", []string{"services/cart/basket.go"})
	r.tag("cart/v2.0.0", r.cart, false)
	r.pi = r.commit(gitT0.Add(-3*time.Hour), "Jerry", "compute pi to 10,000 places for the receipt footer\n\nMarketing asked for it.",
		[]string{"services/checkout/internal/receipt/pi.go"})
	r.docs = r.commit(gitT0.Add(-2*time.Hour), "Bob", "docs: runbook", []string{"docs/runbook.md"})
	r.tag("v1.4.2", r.docs, false)
	r.fix = r.commit(gitT0.Add(-time.Hour), "Ann", "checkout: cache pi", []string{"services/checkout/internal/receipt/pi.go"})
	r.tag("checkout-v1.4.3", r.fix, true)
	return r
}

func gitDeploy(svc string, at time.Duration, from, to, commit string) telemetry.Change {
	return telemetry.Change{
		T: gitT0.Add(at), Service: svc, Kind: telemetry.ChangeDeploy,
		Summary: strings.TrimSpace("deploy " + svc + " " + to), FromVersion: from, ToVersion: to, Commit: commit,
		Source: "test",
	}
}

func TestGitLinkDeploys(t *testing.T) {
	t.Parallel()
	r := newGitDeployRepo(t)
	g := r.open(testGitServices)
	full := func(h plumbing.Hash) string { return h.String() }

	type want struct {
		commit  string   // the change's Commit after linking
		commits []string // the subjects linked, newest first; nil: unchanged
	}
	tests := []struct {
		name     string
		in       []telemetry.Change
		want     []want
		warnings []string
	}{
		{
			name: "tags v1.4.1 to v1.4.2",
			in:   []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "v1.4.1", "v1.4.2", "")},
			want: []want{{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}}},
		},
		{
			name: "short hash in Commit",
			in:   []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "v1.4.1", "", r.docs.String()[:7])},
			want: []want{{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}}},
		},
		{
			name: "short hash and no previous: recent commits",
			in:   []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "", "", r.docs.String()[:10])},
			want: []want{{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer", "checkout: tidy handlers", "initial layout"}}},
		},
		{
			name: "previous deploy in the list, in any order",
			in: []telemetry.Change{
				gitDeploy("checkout", -90*time.Minute, "", "v1.4.2", ""),
				{T: gitT0.Add(-100 * time.Minute), Service: "checkout", Kind: telemetry.ChangeRestart, Summary: "restart checkout"},
				gitDeploy("cart", -3*time.Hour, "", "v1.4.1", ""),
				{T: gitT0.Add(-5 * time.Hour), Service: "checkout", Kind: telemetry.ChangeVersion, Summary: "checkout version 1.4.1", ToVersion: "1.4.1"},
			},
			want: []want{
				{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}},
				{"", nil},
				{full(r.tidy), []string{"initial layout"}},
				{full(r.tidy), []string{"checkout: tidy handlers", "initial layout"}},
			},
		},
		{
			name: "the same rollout from two sources",
			in: []telemetry.Change{
				gitDeploy("checkout", -5*time.Hour, "", "v1.4.1", ""),
				gitDeploy("checkout", -90*time.Minute, "", "v1.4.2", ""),
				{T: gitT0.Add(-89 * time.Minute), Service: "checkout", Kind: telemetry.ChangeVersion, Summary: "checkout version v1.4.2", ToVersion: "v1.4.2"},
			},
			want: []want{
				{full(r.tidy), []string{"checkout: tidy handlers", "initial layout"}},
				{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}},
				{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}},
			},
		},
		{
			name: "only the second has a tag",
			in: []telemetry.Change{
				gitDeploy("checkout", -5*time.Hour, "", "v1.3.9", ""),
				gitDeploy("checkout", -90*time.Minute, "", "v1.4.2", ""),
			},
			want: []want{
				{"", nil},
				{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer", "checkout: tidy handlers", "initial layout"}},
			},
			warnings: []string{"deploy checkout v1.3.9: no tag or commit v1.3.9 in shop"},
		},
		{
			name:     "unresolvable version",
			in:       []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "v1.4.1", "v9.9.9", "")},
			want:     []want{{"", nil}},
			warnings: []string{"deploy checkout v9.9.9: no tag or commit v9.9.9 in shop"},
		},
		{
			name:     "unknown commit",
			in:       []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "v1.4.1", "", "deadbeef")},
			want:     []want{{"deadbeef", nil}},
			warnings: []string{"deploy checkout deadbeef: no tag or commit deadbeef in shop"},
		},
		{
			name:     "unknown commit, known version: linked by the tag",
			in:       []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "v1.4.1", "v1.4.2", "deadbeef")},
			want:     []want{{"deadbeef", []string{"compute pi to 10,000 places for the receipt footer"}}},
			warnings: []string{"deploy checkout v1.4.2: commit deadbeef is not in shop; linked by its version v1.4.2 instead"},
		},
		{
			name: "unresolvable previous version falls back to the previous deploy",
			in: []telemetry.Change{
				gitDeploy("checkout", -5*time.Hour, "", "v1.4.1", ""),
				gitDeploy("checkout", -90*time.Minute, "v1.4.0", "v1.4.2", ""),
			},
			want: []want{
				{full(r.tidy), []string{"checkout: tidy handlers", "initial layout"}},
				{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}},
			},
			warnings: []string{"deploy checkout v1.4.2: previous version: no tag or commit v1.4.0 in shop"},
		},
		{
			name: "service-prefixed tags",
			in: []telemetry.Change{
				gitDeploy("checkout", -30*time.Minute, "v1.4.2", "v1.4.3", ""),
				gitDeploy("cart", -3*time.Hour, "", "2.0.0", ""),
			},
			want: []want{
				{full(r.fix), []string{"checkout: cache pi"}},
				{full(r.cart), []string{"cart: faster basket", "initial layout"}},
			},
		},
		{
			name: "rollback ships nothing",
			in:   []telemetry.Change{gitDeploy("checkout", -30*time.Minute, "v1.4.2", "v1.4.1", "")},
			want: []want{{full(r.tidy), []string{}}},
		},
		{
			name: "unmapped service: one warning",
			in: []telemetry.Change{
				gitDeploy("search", -2*time.Hour, "", "v1.4.1", ""),
				gitDeploy("search", -1*time.Hour, "", "v1.4.2", ""),
			},
			want:     []want{{"", nil}, {"", nil}},
			warnings: []string{"deploy search v1.4.1: service search has no globs in changes.git.services; its changes are not linked to commits in shop"},
		},
		{
			name: "commits already there are replaced",
			in: []telemetry.Change{func() telemetry.Change {
				c := gitDeploy("checkout", -90*time.Minute, "v1.4.1", "v1.4.2", "")
				c.Files = []string{"deploy/checkout.yaml"}
				c.Commits = []telemetry.Commit{{Hash: "stale", Files: []string{"x"}}}
				return c
			}()},
			want: []want{{full(r.docs), []string{"compute pi to 10,000 places for the receipt footer"}}},
		},
		{
			name: "nothing to resolve",
			in:   []telemetry.Change{gitDeploy("checkout", -time.Hour, "", "", "")},
			want: []want{{"", nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := gitCopyChanges(t, tt.in)
			got, warnings, err := g.LinkDeploys(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.in, before) {
				t.Errorf("the input was changed:\n%+v\nwas\n%+v", tt.in, before)
			}
			if len(got) != len(tt.in) {
				t.Fatalf("got %d changes, want %d", len(got), len(tt.in))
			}
			for i, w := range tt.want {
				c := got[i]
				if w.commits == nil {
					if !reflect.DeepEqual(c, tt.in[i]) {
						t.Errorf("change %d: want it unchanged, got %+v", i, c)
					}
					continue
				}
				if c.Commit != w.commit {
					t.Errorf("change %d: Commit = %q, want %q", i, c.Commit, w.commit)
				}
				subjects := []string{}
				for _, cm := range c.Commits {
					subjects = append(subjects, cm.Subject)
				}
				if !reflect.DeepEqual(subjects, w.commits) {
					t.Errorf("change %d: commits\n%q\nwant\n%q", i, subjects, w.commits)
				}
				// Everything else is as it was.
				c.Commit, c.Commits = tt.in[i].Commit, tt.in[i].Commits
				if !reflect.DeepEqual(c, tt.in[i]) {
					t.Errorf("change %d: other fields changed: %+v", i, c)
				}
			}
			if tt.warnings == nil {
				tt.warnings = []string{}
			}
			if warnings == nil {
				warnings = []string{}
			}
			if len(warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %q", warnings, tt.warnings)
			}
			for i := range warnings {
				if !strings.HasPrefix(warnings[i], tt.warnings[i]) {
					t.Errorf("warning %q, want it to start %q", warnings[i], tt.warnings[i])
				}
			}
		})
	}
}

// The demo's link, field by field.
// The demo's link, field by field, from loose objects and from a pack (as
// in a clone), with the short hash as a deploy event would give it.
func TestGitLinkDeploysCommitFields(t *testing.T) {
	t.Parallel()
	for _, packed := range []bool{false, true} {
		r := newGitDeployRepo(t)
		if packed {
			r.pack()
		}
		g := r.open(testGitServices)
		in := []telemetry.Change{gitDeploy("checkout", -90*time.Minute, "v1.4.1", "v1.4.2", r.docs.String()[:7])}
		got, warnings, err := g.LinkDeploys(context.Background(), in)
		if err != nil || len(warnings) != 0 {
			t.Fatal(err, warnings)
		}
		want := []telemetry.Commit{{
			Hash:    r.pi.String(),
			Author:  "Jerry",
			Time:    gitT0.Add(-3 * time.Hour),
			Subject: "compute pi to 10,000 places for the receipt footer",
			Files:   []string{"services/checkout/internal/receipt/pi.go"},
		}}
		if !reflect.DeepEqual(got[0].Commits, want) || got[0].Commit != r.docs.String() {
			t.Errorf("packed %v: got %s %+v\nwant %s %+v", packed, got[0].Commit, got[0].Commits, r.docs, want)
		}
		// A second call on the same Git reads the pack again.
		if again, _, err := g.LinkDeploys(context.Background(), in); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("packed %v: second call: %v, %+v", packed, err, again)
		}
	}
}

// At the edge of a shallow clone a commit's parent is missing: what it
// changed cannot be told, so it is left out, without an error.
func TestGitMissingParent(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	first := r.commit(gitT0.Add(-3*time.Hour), "Ann", "checkout: first", []string{"services/checkout/a.go"})
	r.commit(gitT0.Add(-2*time.Hour), "Ann", "checkout: edge", []string{"services/checkout/b.go"})
	tip := r.commit(gitT0.Add(-time.Hour), "Ann", "checkout: tip", []string{"services/checkout/c.go"})
	hex := first.String()
	if err := os.Remove(filepath.Join(r.dir, ".git", "objects", hex[:2], hex[2:])); err != nil {
		t.Fatal(err)
	}
	g := r.open(testGitServices)
	got, err := g.Commits(context.Background(), gitT0.Add(-24*time.Hour), gitT0)
	if err != nil {
		t.Fatal(err)
	}
	want := []gitGot{{"checkout", "checkout: tip", []string{"services/checkout/c.go"}}}
	if s := gitSummarize(got); !reflect.DeepEqual(s, want) {
		t.Errorf("got %v, want %v", s, want)
	}
	linked, warnings, err := g.LinkDeploys(context.Background(), []telemetry.Change{gitDeploy("checkout", 0, "", "", tip.String())})
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if len(linked[0].Commits) != 1 || linked[0].Commits[0].Subject != "checkout: tip" {
		t.Errorf("got %+v, want the tip only", linked[0].Commits)
	}
}

// Commit times are not monotonic: a commit on the previous revision's side
// can be older than the shared ancestor. The ancestor must still count as
// shipped before, not by the new deploy, and so must its ancestors.
func TestGitLinkDeploysClockSkew(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	r.commit(gitT0.Add(-4*time.Hour), "Ann", "checkout: root", []string{"services/checkout/root.go"})
	shared := r.commit(gitT0.Add(-3*time.Hour), "Ann", "checkout: shared", []string{"services/checkout/shared.go"})
	r.checkout("release", true)
	r.commit(gitT0.Add(-10*time.Hour), "Ann", "checkout: skewed clock", []string{"services/checkout/skew.go"})
	old := r.commit(gitT0.Add(-time.Hour), "Ann", "checkout: old release", []string{"services/checkout/old.go"})
	r.checkout("master", false)
	tip := r.commit(gitT0.Add(-2*time.Hour), "Ann", "checkout: new", []string{"services/checkout/new.go"})
	g := r.open(testGitServices)

	got, warnings, err := g.LinkDeploys(context.Background(), []telemetry.Change{gitDeploy("checkout", 0, old.String(), "", tip.String())})
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if len(got[0].Commits) != 1 || got[0].Commits[0].Hash != tip.String() {
		t.Errorf("want only %s (not the shared %s), got %+v", tip, shared, got[0].Commits)
	}
}

func TestGitContextCancelled(t *testing.T) {
	t.Parallel()
	r := newGitDeployRepo(t)
	g := r.open(testGitServices)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Commits(ctx, gitT0.Add(-24*time.Hour), gitT0); !errors.Is(err, context.Canceled) {
		t.Errorf("Commits: got %v, want context.Canceled", err)
	}
	if _, _, err := g.LinkDeploys(ctx, []telemetry.Change{gitDeploy("checkout", 0, "v1.4.1", "v1.4.2", "")}); !errors.Is(err, context.Canceled) {
		t.Errorf("LinkDeploys: got %v, want context.Canceled", err)
	}
}

func gitCopyChanges(t *testing.T, cs []telemetry.Change) []telemetry.Change {
	t.Helper()
	out := slices.Clone(cs)
	for i := range out {
		out[i].Files = slices.Clone(out[i].Files)
		out[i].Commits = slices.Clone(out[i].Commits)
		for j := range out[i].Commits {
			out[i].Commits[j].Files = slices.Clone(out[i].Commits[j].Files)
		}
	}
	return out
}

// BenchmarkGitCommits reads a few hundred commits over four directories,
// from loose objects (as the tests write them) and from a packfile (as a
// clone has them).
func BenchmarkGitCommits(b *testing.B) {
	for _, packed := range []bool{false, true} {
		name := "loose"
		if packed {
			name = "packed"
		}
		b.Run(name, func(b *testing.B) {
			r := newGitTestRepo(b)
			dirs := []string{"services/checkout", "services/cart", "services/search", "docs"}
			const n = 300
			start := gitT0.Add(-n * time.Minute)
			for i := range n {
				d := dirs[i%len(dirs)]
				files := []string{fmt.Sprintf("%s/f%d.go", d, i%20)}
				if i%7 == 0 {
					files = append(files, fmt.Sprintf("%s/pkg/g%d.go", dirs[(i+1)%len(dirs)], i%5))
				}
				r.commit(start.Add(time.Duration(i)*time.Minute), "Ann", fmt.Sprintf("commit %d", i), files)
			}
			if packed {
				r.pack()
			}
			g := r.open(map[string][]string{
				"checkout": {"services/checkout/**"},
				"cart":     {"services/cart/**"},
				"search":   {"services/search/**"},
			})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				got, err := g.Commits(ctx, start, gitT0)
				if err != nil || len(got) < n/2 {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}

// A commit whose parent is older than the window can itself have an
// ancestor inside it (a skewed clock): the walk reads a little past from.
func TestGitCommitsClockSkew(t *testing.T) {
	t.Parallel()
	r := newGitTestRepo(t)
	r.commit(gitT0.Add(-3*time.Hour), "Ann", "checkout: root", []string{"services/checkout/root.go"})
	r.commit(gitT0.Add(-30*time.Minute), "Ann", "checkout: skewed clock", []string{"services/checkout/skew.go"})
	r.commit(gitT0.Add(-2*time.Hour), "Ann", "checkout: old", []string{"services/checkout/old.go"})
	r.commit(gitT0.Add(-10*time.Minute), "Ann", "checkout: head", []string{"services/checkout/head.go"})
	got, err := r.open(testGitServices).Commits(context.Background(), gitT0.Add(-time.Hour), gitT0)
	if err != nil {
		t.Fatal(err)
	}
	want := []gitGot{
		{"checkout", "checkout: skewed clock", []string{"services/checkout/skew.go"}},
		{"checkout", "checkout: head", []string{"services/checkout/head.go"}},
	}
	if s := gitSummarize(got); !reflect.DeepEqual(s, want) {
		t.Errorf("got\n%v\nwant\n%v", s, want)
	}
}

// The diff reads only directories a glob can match in; reading too little
// would drop files silently, so the scopes are checked on their own.
func TestGitScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		glob string
		in   []string // directories that may hold a match
		out  []string // directories that cannot
	}{
		{"services/checkout/**", []string{"services", "services/checkout", "services/checkout/internal/receipt"}, []string{"services/cart", "docs", "servicesx"}},
		{"services/checkout", []string{"services", "services/checkout", "services/checkout/a"}, []string{"services/cart", "docs"}},
		{"docs/runbook.md", []string{"docs"}, []string{"docs/sub", "services"}},
		{"Makefile", nil, []string{"docs", "services"}},
		{"services/*/api/**", []string{"services", "services/x/api"}, []string{"docs"}},
		{"**/*.proto", []string{"a", "a/b/c"}, nil},
		{"{services,libs}/checkout/**", []string{"libs/checkout", "docs"}, nil},
	}
	for _, tt := range tests {
		globs, err := normalizeGlob(tt.glob)
		if err != nil {
			t.Fatalf("%s: %v", tt.glob, err)
		}
		r := &reader{}
		for _, g := range globs {
			r.scopes = append(r.scopes, scopeOf(g))
		}
		for _, d := range tt.in {
			if !r.mayHold(d) {
				t.Errorf("%s: %s should be read", tt.glob, d)
			}
		}
		for _, d := range tt.out {
			if r.mayHold(d) {
				t.Errorf("%s: %s need not be read", tt.glob, d)
			}
		}
	}
}
