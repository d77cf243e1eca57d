package git

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/rca-tool/rca/telemetry"
)

// Config is `changes.git` in the config file.
type Config struct {
	// Repo is a local clone (a work tree or a bare repository).
	Repo string `yaml:"repo"`
	// Services maps a service to path globs relative to the repository root
	// (doublestar syntax, e.g. checkout: ["services/checkout/**"]).
	Services map[string][]string `yaml:"services"`
	// Section names this configuration in messages ("changes.git"); empty,
	// they name the bare fields.
	Section string `yaml:"-"`
}

// field names one setting in messages.
func (c Config) field(name string) string {
	if c.Section == "" {
		return name
	}
	return c.Section + "." + name
}

const (
	// defaultWalkLimit bounds every history walk: a window or a deploy
	// range that needs more commits than this is reported, not scanned.
	defaultWalkLimit = 10000
	// recentCommits is how many commits touching a service a deploy with
	// no known previous revision is linked to.
	recentCommits = 50
	// timeSlop is how many commits older than the window start the
	// time-ordered walk still reads before stopping: committer times are
	// not monotonic along the graph (clock skew, rebases), so an older
	// commit can have a newer parent. git log --since uses the same idea.
	timeSlop = 32
)

// Repo reads commits from a local repository and maps them to services by
// path globs. It is safe for use by one goroutine at a time.
type Repo struct {
	repo *gogit.Repository
	// closer closes the pack files a call kept open; nil if none.
	closer io.Closer
	// name is the repository's base name, for Source and warnings.
	name     string
	services []service
	// servicesSetting names the services mapping in warnings.
	servicesSetting string
	scopes          []scope
	// walkLimit is defaultWalkLimit; tests lower it.
	walkLimit int
}

type service struct {
	name  string
	globs []string
}

// Open opens the repository and checks the globs (clear one-line errors:
// not a git repository, bad glob for service X).
//
// Repo may be a work tree (or a directory inside one), a linked work tree,
// or a bare repository. A glob naming a directory ("services/checkout")
// also matches everything below it.
func Open(cfg Config) (*Repo, error) {
	if strings.TrimSpace(cfg.Repo) == "" {
		return nil, fmt.Errorf("%s is empty: give the path of a local clone", cfg.field("repo"))
	}
	services, err := parseServices(cfg.Services, cfg.field("services"))
	if err != nil {
		return nil, err
	}
	repo, closer, root, err := openRepo(cfg.Repo, cfg.field("repo"))
	if err != nil {
		return nil, err
	}
	g := &Repo{repo: repo, closer: closer, name: repoName(root), services: services, servicesSetting: cfg.field("services"), walkLimit: defaultWalkLimit}
	for _, s := range services {
		for _, p := range s.globs {
			if sc := scopeOf(p); !slices.Contains(g.scopes, sc) {
				g.scopes = append(g.scopes, sc)
			}
		}
	}
	return g, nil
}

func openRepo(dir, setting string) (*gogit.Repository, io.Closer, string, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "", fmt.Errorf("%s %s: no such directory; give the path of a local clone: %w", setting, dir, err)
	} else if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", setting, err)
	}
	// Without DetectDotGit first: detection walks up from a bare repository
	// (which has no .git) to the file system root and fails there.
	repo, err := gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		// A directory inside a work tree.
		repo, err = gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	}
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		return nil, nil, "", fmt.Errorf("%s %s: not a git repository (nor inside one); give the path of a local clone: %w", setting, dir, err)
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s %s: opening the repository: %w", setting, dir, err)
	}
	root := dir
	if wt, err := repo.Worktree(); err == nil {
		root = wt.Filesystem.Root()
	}
	// Reopen the same .git with pack files kept open: by default go-git
	// opens the pack file again for every object it reads, which is most of
	// the time a walk takes. The calls close them when done (release).
	st, ok := repo.Storer.(*filesystem.Storage)
	if !ok {
		return repo, nil, root, nil
	}
	keep := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	kept, err := gogit.Open(keep, nil) // no work tree: only objects and refs are read
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s %s: opening the repository: %w", setting, dir, err)
	}
	return kept, keep, root, nil
}

// repoName is the base name of the repository: "shop" for /src/shop,
// /src/shop/.git and the bare /srv/shop.git alike.
func repoName(root string) string {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	base := filepath.Base(root)
	if base == ".git" {
		base = filepath.Base(filepath.Dir(root))
	}
	if b := strings.TrimSuffix(base, ".git"); b != "" {
		base = b
	}
	return base
}

func parseServices(m map[string][]string, setting string) ([]service, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf(`%s is empty: map each service to path globs, e.g. checkout: ["services/checkout/**"]`, setting)
	}
	services := make([]service, 0, len(m))
	for name, globs := range m {
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%s: a service with an empty name", setting)
		}
		if len(globs) == 0 {
			return nil, fmt.Errorf(`%s.%s: no globs; give paths relative to the repository root, e.g. ["services/%s/**"]`, setting, name, name)
		}
		s := service{name: name}
		for _, g := range globs {
			norm, err := normalizeGlob(g)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: bad glob %q: %w", setting, name, g, err)
			}
			s.globs = append(s.globs, norm...)
		}
		services = append(services, s)
	}
	slices.SortFunc(services, func(a, b service) int { return strings.Compare(a.name, b.name) })
	return services, nil
}

// normalizeGlob checks a glob and returns the patterns to match file paths
// against: the glob itself and, so that a directory name matches what is
// below it, glob/**.
func normalizeGlob(g string) ([]string, error) {
	g = strings.TrimSpace(g)
	for strings.HasPrefix(g, "./") {
		g = g[2:]
	}
	switch {
	case g == "" || g == ".":
		return nil, errors.New(`empty; use "**" for the whole repository`)
	case strings.HasPrefix(g, "/"):
		return nil, errors.New("absolute; paths are relative to the repository root, drop the leading /")
	case strings.Contains(g, `\`) && !doublestar.ValidatePattern(g):
		return nil, errors.New(`invalid pattern; separate directories with "/"`)
	case !doublestar.ValidatePattern(g):
		return nil, errors.New("invalid pattern (unclosed [ or {?)")
	}
	g = strings.TrimSuffix(g, "/")
	if g == "**" || strings.HasSuffix(g, "/**") {
		return []string{g}, nil
	}
	return []string{g, g + "/**"}, nil
}

// matches reports whether path is under one of the service's globs.
func (s *service) matches(path string) bool {
	for _, g := range s.globs {
		if doublestar.MatchUnvalidated(g, path) {
			return true
		}
	}
	return false
}

// Commits lists the commits reachable from HEAD whose commit (committer) time is in [from, to),
// one Change of kind "commit" per service whose globs the commit touches (Service set,
// T = commit time, Summary = subject line, Commit = full hash, Author = author name,
// Files = the files it changed under that service's globs, Source = "git <repo base name>").
// Commits touching no mapped service are left out. Merge commits: a merge's own diff
// against its first parent; don't double count (a commit reachable via two paths once).
// Sorted by time then service. Honour ctx (check it in the walk loop).
//
// The walk goes newest first by committer time and stops a little past
// from. It reads at most 10,000 commits: past that it returns the changes
// found so far with an error (for a warning: the window reaches further back
// than was read). A commit whose parent is missing (the edge of a shallow
// clone) is left out, since what it changed cannot be told.
func (g *Repo) Commits(ctx context.Context, from, to time.Time) ([]telemetry.Change, error) {
	defer g.release()
	var out []telemetry.Change
	head, err := g.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil // no commits yet
	}
	if err != nil {
		return nil, fmt.Errorf("git %s: reading HEAD: %w", g.name, err)
	}
	diffs := g.newReader()
	w := newWalk(diffs)
	if err := w.start(head.Hash(), false); err != nil {
		return nil, fmt.Errorf("git %s: HEAD: %w", g.name, err)
	}
	old := 0 // consecutive commits older than from
	for w.len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("git %s: %w", g.name, err)
		}
		if w.popped >= g.walkLimit {
			sortChanges(out)
			return out, fmt.Errorf("git %s: stopped after %d commits without reaching %s; commits before %s are not listed",
				g.name, w.popped, from.UTC().Format(time.RFC3339), commitTime(w.peek()).Format(time.RFC3339))
		}
		c, _, err := w.next()
		if err != nil {
			return nil, fmt.Errorf("git %s: walking history: %w", g.name, err)
		}
		t := commitTime(c)
		if t.Before(from) {
			if old++; old > timeSlop {
				break
			}
			continue
		}
		old = 0
		if !t.Before(to) {
			continue
		}
		files, ok, err := diffs.changed(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("git %s: commit %s: %w", g.name, c.Hash, err)
		}
		if !ok {
			continue
		}
		for i := range g.services {
			s := &g.services[i]
			touched := filterFiles(s, files)
			if len(touched) == 0 {
				continue
			}
			out = append(out, telemetry.Change{
				T:       t,
				Service: s.name,
				Kind:    telemetry.ChangeCommit,
				Summary: subject(c.Message),
				Commit:  c.Hash.String(),
				Author:  c.Author.Name,
				Files:   touched,
				Source:  "git " + g.name,
			})
		}
	}
	sortChanges(out)
	return out, nil
}

func sortChanges(cs []telemetry.Change) {
	slices.SortStableFunc(cs, func(a, b telemetry.Change) int {
		if c := a.T.Compare(b.T); c != 0 {
			return c
		}
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		return strings.Compare(a.Commit, b.Commit)
	})
}

// LinkDeploys attaches to each deploy or version change the commits it shipped that touch
// its service: the commits reachable from the new revision but not from the previous one.
// The new revision is the change's Commit, or its ToVersion resolved as a tag or branch
// (try "v1.4.2", "<service>/v1.4.2", "<service>-v1.4.2"), or a (short) hash. The previous
// revision is FromVersion resolved the same way, or else the previous deploy/version change of
// the same service in the list that resolves; without one, at most the 50 most recent commits
// touching the service before the new revision. Sets Commits (newest first) and, when
// Commit was empty or a short hash, Commit to the full hash. Changes it cannot resolve are
// returned unchanged, with one warning each (e.g. "deploy checkout v9.9.9: no tag or commit
// v9.9.9 in <repo>"). Returns a new slice; never mutates the input.
//
// Also: "the previous change in the list" is the latest one of the service
// strictly earlier in time at another revision (so the same rollout seen by
// two sources links the same commits). A version "1.4.2" is also tried as
// "v1.4.2"; branches are tried locally and as origin/<name>. Changes naming
// neither a commit nor a version, and changes of a service with no globs
// (one warning per service), are returned unchanged. A FromVersion that
// does not resolve gives a warning and the fallbacks above. A range of more
// than 10,000 commits is a warning, not linked. The error is ctx's;
// everything else is a warning.
func (g *Repo) LinkDeploys(ctx context.Context, changes []telemetry.Change) ([]telemetry.Change, []string, error) {
	defer g.release()
	out := slices.Clone(changes)
	var warnings []string
	type linked struct {
		tip *object.Commit
		svc *service
	}
	res := make([]linked, len(out))
	unmapped := map[string]bool{}
	for i := range out {
		c := &out[i]
		if c.Kind != telemetry.ChangeDeploy && c.Kind != telemetry.ChangeVersion {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("git %s: %w", g.name, err)
		}
		rev := c.Commit
		if rev == "" {
			rev = c.ToVersion
		}
		if rev == "" || c.Service == "" {
			continue // nothing to look up
		}
		svc := g.service(c.Service)
		if svc == nil {
			if !unmapped[c.Service] {
				unmapped[c.Service] = true
				warnings = append(warnings, fmt.Sprintf("%s: service %s has no globs in %s; its changes are not linked to commits in %s",
					changeLabel(c), c.Service, g.servicesSetting, g.name))
			}
			continue
		}
		tip, err := g.resolve(rev, c.Service, c.Commit != "")
		if err != nil && c.Commit != "" && c.ToVersion != "" {
			// The commit may be a build's or another repository's; the
			// release tag still names the shipped code here.
			if byVersion, verr := g.resolve(c.ToVersion, c.Service, false); verr == nil {
				tip, err = byVersion, nil
				warnings = append(warnings, fmt.Sprintf("%s: commit %s is not in %s; linked by its version %s instead", changeLabel(c), c.Commit, g.name, c.ToVersion))
			}
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v", changeLabel(c), err))
			continue
		}
		res[i] = linked{tip: tip, svc: svc}
	}

	diffs := g.newReader()
	for i := range out {
		if res[i].tip == nil {
			continue
		}
		c := &out[i]
		tip, svc := res[i].tip, res[i].svc
		var base *object.Commit
		if c.FromVersion != "" {
			b, err := g.resolve(c.FromVersion, c.Service, false)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: previous version: %v; linked from the previous deploy or the recent commits instead", changeLabel(c), err))
			} else {
				base = b
			}
		}
		if base == nil {
			// The latest earlier resolved change of the service at another
			// revision (the same rollout seen by two sources is not its own
			// previous); on equal times the later one in the list.
			prev := -1
			for j := range out {
				if j == i || res[j].tip == nil || out[j].Service != c.Service || !out[j].T.Before(c.T) || res[j].tip.Hash == tip.Hash {
					continue
				}
				if prev < 0 || !out[j].T.Before(out[prev].T) {
					prev = j
				}
			}
			if prev >= 0 {
				base = res[prev].tip
			}
		}
		var shipped []*object.Commit
		var err error
		if base != nil {
			shipped, err = g.between(ctx, diffs, tip, base, svc)
		} else {
			shipped, err = g.recent(ctx, diffs, tip, svc, recentCommits)
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, nil, fmt.Errorf("git %s: %w", g.name, ctxErr)
			}
			warnings = append(warnings, fmt.Sprintf("%s: %v", changeLabel(c), err))
			continue
		}
		commits := make([]telemetry.Commit, 0, len(shipped))
		for _, sc := range shipped {
			files, _, err := diffs.changed(ctx, sc)
			if err != nil { // cached by between or recent: not expected
				return nil, nil, fmt.Errorf("git %s: commit %s: %w", g.name, short(sc.Hash), err)
			}
			commits = append(commits, telemetry.Commit{
				Hash:    sc.Hash.String(),
				Author:  sc.Author.Name,
				Time:    commitTime(sc),
				Subject: subject(sc.Message),
				Files:   filterFiles(svc, files),
			})
		}
		c.Commits = commits
		if full := tip.Hash.String(); c.Commit == "" || (c.Commit != full && isHex(c.Commit) && strings.HasPrefix(full, strings.ToLower(c.Commit))) {
			c.Commit = full
		}
	}
	return out, warnings, nil
}

// release closes the pack files a call opened; the next call reopens them.
// Nothing is lost: the close error of a read-only file is not worth a
// warning.
func (g *Repo) release() {
	if g.closer != nil {
		_ = g.closer.Close()
	}
}

func (g *Repo) service(name string) *service {
	for i := range g.services {
		if g.services[i].name == name {
			return &g.services[i]
		}
	}
	return nil
}

// changeLabel names a change in a warning: "deploy checkout v1.4.2".
func changeLabel(c *telemetry.Change) string {
	v := c.ToVersion
	if v == "" {
		v = c.Commit
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", c.Kind, c.Service, v))
}

// resolve finds the commit a version or commit names: a tag or branch
// (as given, "<service>/name", "<service>-name", and with a "v" prefix when
// it starts with a digit), else a full or short hash. A Commit field is
// tried as a hash first, a version as a tag first.
func (g *Repo) resolve(name, service string, hashFirst bool) (*object.Commit, error) {
	name = strings.TrimSpace(name)
	if hashFirst {
		if c := g.resolveHash(name); c != nil {
			return c, nil
		}
	}
	names := []string{name, service + "/" + name, service + "-" + name}
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		names = append(names, "v"+name, service+"/v"+name, service+"-v"+name)
	}
	for _, n := range names {
		for _, ref := range []plumbing.ReferenceName{
			plumbing.NewTagReferenceName(n),
			plumbing.NewBranchReferenceName(n),
			plumbing.NewRemoteReferenceName("origin", n),
		} {
			// Validate first: a name is not a path to read under .git.
			if ref.Validate() != nil {
				break
			}
			r, err := g.repo.Reference(ref, true)
			if err != nil {
				continue
			}
			if c := g.peel(r.Hash()); c != nil {
				return c, nil
			}
		}
	}
	if !hashFirst {
		if c := g.resolveHash(name); c != nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no tag or commit %s in %s", name, g.name)
}

// resolveHash resolves a full or abbreviated (at least 4 digits) hash.
func (g *Repo) resolveHash(s string) *object.Commit {
	s = strings.ToLower(s)
	if len(s) < 4 || len(s) > 2*len(plumbing.ZeroHash) || !isHex(s) {
		return nil
	}
	if len(s) == 2*len(plumbing.ZeroHash) {
		return g.peel(plumbing.NewHash(s))
	}
	h, err := g.repo.ResolveRevision(plumbing.Revision(s))
	if err != nil {
		return nil
	}
	return g.peel(*h)
}

// peel returns the commit h names, through annotated tags.
func (g *Repo) peel(h plumbing.Hash) *object.Commit {
	for range 5 { // tags of tags, but not forever
		if c, err := g.repo.CommitObject(h); err == nil {
			return c
		}
		t, err := g.repo.TagObject(h)
		if err != nil {
			return nil
		}
		h = t.Target
	}
	return nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// between returns the commits reachable from tip but not from base that
// touch svc, newest first: git log base..tip, as git does it, walking both
// sides by committer time until only commits reachable from base are left.
func (g *Repo) between(ctx context.Context, diffs *reader, tip, base *object.Commit, svc *service) ([]*object.Commit, error) {
	w := newWalk(diffs)
	if err := w.start(base.Hash, true); err != nil {
		return nil, err
	}
	if err := w.start(tip.Hash, false); err != nil {
		return nil, err
	}
	var found []*object.Commit
	slop := timeSlop
	for w.len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if w.interesting == 0 {
			// Only base's history is left; read a little more of it in
			// case a skewed clock hid an ancestor of base among found.
			if slop--; slop < 0 {
				break
			}
		}
		if w.popped >= g.walkLimit {
			return nil, fmt.Errorf("more than %d commits between %s and %s in %s; not linked",
				g.walkLimit, short(base.Hash), short(tip.Hash), g.name)
		}
		c, bad, err := w.next()
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", g.name, err)
		}
		if !bad {
			found = append(found, c)
		}
	}
	var out []*object.Commit
	for _, c := range found {
		if w.isBad(c.Hash) {
			continue
		}
		touched, err := touches(ctx, diffs, c, svc)
		if err != nil {
			return nil, err
		}
		if touched {
			out = append(out, c)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

// recent returns up to n commits reachable from tip (tip included) that
// touch svc, newest first.
func (g *Repo) recent(ctx context.Context, diffs *reader, tip *object.Commit, svc *service, n int) ([]*object.Commit, error) {
	w := newWalk(diffs)
	if err := w.start(tip.Hash, false); err != nil {
		return nil, err
	}
	var out []*object.Commit
	// A service touched rarely must not make this read all history: stop
	// quietly at the walk limit with what was found.
	for w.len() > 0 && len(out) < n && w.popped < g.walkLimit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, _, err := w.next()
		if err != nil {
			return nil, fmt.Errorf("walking %s: %w", g.name, err)
		}
		touched, err := touches(ctx, diffs, c, svc)
		if err != nil {
			return nil, err
		}
		if touched {
			out = append(out, c)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

// touches reports whether commit c changes a file of svc.
func touches(ctx context.Context, diffs *reader, c *object.Commit, svc *service) (bool, error) {
	files, ok, err := diffs.changed(ctx, c)
	if err != nil {
		return false, fmt.Errorf("commit %s: %w", short(c.Hash), err)
	}
	return ok && slices.ContainsFunc(files, svc.matches), nil
}

func sortNewestFirst(cs []*object.Commit) {
	slices.SortFunc(cs, func(a, b *object.Commit) int {
		if newer(a, b) {
			return -1
		}
		if newer(b, a) {
			return 1
		}
		return 0
	})
}

// newer orders by committer time, newest first, then by hash so the
// order is the same on every run.
func newer(a, b *object.Commit) bool {
	ta, tb := a.Committer.When, b.Committer.When
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return bytes.Compare(a.Hash[:], b.Hash[:]) < 0
}

func commitTime(c *object.Commit) time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.Committer.When.UTC()
}

func subject(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

func short(h plumbing.Hash) string { return h.String()[:7] }

func filterFiles(s *service, files []string) []string {
	var out []string
	for _, f := range files {
		if s.matches(f) {
			out = append(out, f)
		}
	}
	return out
}

// walker visits commits newest first by committer time, each once. A
// commit is "bad" when it is reachable from a start marked bad (the
// previous revision); badness spreads to parents, also after a commit was
// visited (it is then queued again), as in git's revision walk.
type walker struct {
	r     *reader
	queue commitQueue
	state map[plumbing.Hash]*walkState
	// interesting counts queued commits that are not bad.
	interesting int
	popped      int
}

type walkState struct {
	bad, queued bool
}

func newWalk(r *reader) *walker {
	return &walker{r: r, state: map[plumbing.Hash]*walkState{}}
}

func (w *walker) len() int { return len(w.queue) }

func (w *walker) peek() *object.Commit {
	if len(w.queue) == 0 {
		return nil
	}
	return w.queue[0]
}

func (w *walker) isBad(h plumbing.Hash) bool {
	st := w.state[h]
	return st != nil && st.bad
}

func (w *walker) start(h plumbing.Hash, bad bool) error {
	c, err := w.r.commit(h)
	if err != nil {
		return fmt.Errorf("commit %s: %w", h, err)
	}
	w.mark(c, bad)
	return nil
}

// mark queues c if new, or turns it bad.
func (w *walker) mark(c *object.Commit, bad bool) {
	st := w.state[c.Hash]
	switch {
	case st == nil:
		w.state[c.Hash] = &walkState{bad: bad, queued: true}
		heap.Push(&w.queue, c)
		if !bad {
			w.interesting++
		}
	case bad && !st.bad:
		st.bad = true
		if st.queued {
			w.interesting--
		} else {
			// Visited already as interesting: visit again to spread.
			st.queued = true
			heap.Push(&w.queue, c)
		}
	}
}

// next pops the newest queued commit and queues its parents. Parents that
// are not in the repository (a shallow clone's edge) are skipped.
func (w *walker) next() (*object.Commit, bool, error) {
	c := heap.Pop(&w.queue).(*object.Commit)
	w.popped++
	st := w.state[c.Hash]
	st.queued = false
	if !st.bad {
		w.interesting--
	}
	for _, ph := range c.ParentHashes {
		if pst := w.state[ph]; pst != nil && (pst.bad || !st.bad) {
			continue // nothing new to tell it
		}
		p, err := w.r.commit(ph)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("parent %s of %s: %w", ph, c.Hash, err)
		}
		w.mark(p, st.bad)
	}
	return c, st.bad, nil
}

type commitQueue []*object.Commit

func (q commitQueue) Len() int           { return len(q) }
func (q commitQueue) Less(i, j int) bool { return newer(q[i], q[j]) }
func (q commitQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)        { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return c
}

// reader reads the commits and trees of one call, with small caches:
// go-git reopens a loose object's file on every read, and a walk reads each
// commit and tree twice (as a child's parent and as itself).
type reader struct {
	repo *gogit.Repository
	// scopes are where the globs can match: the diff reads no other
	// directories.
	scopes  []scope
	commits objectCache[*object.Commit]
	trees   objectCache[*object.Tree]
	// files caches what each commit changed; nil when unknown.
	files map[plumbing.Hash][]string
}

func (g *Repo) newReader() *reader {
	return &reader{repo: g.repo, scopes: g.scopes, files: map[plumbing.Hash][]string{}}
}

func (r *reader) commit(h plumbing.Hash) (*object.Commit, error) {
	if c, ok := r.commits.get(h); ok {
		return c, nil
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, err
	}
	r.commits.put(h, c)
	return c, nil
}

func (r *reader) tree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := r.trees.get(h); ok {
		return t, nil
	}
	t, err := r.repo.TreeObject(h)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	r.trees.put(h, t)
	return t, nil
}

// changed returns the sorted paths c changed against its first parent (for
// a merge, what the merge brought in) that the globs could match; ok is
// false when the parent is missing (a shallow clone's edge) and the answer
// is unknown.
func (r *reader) changed(ctx context.Context, c *object.Commit) ([]string, bool, error) {
	if files, ok := r.files[c.Hash]; ok {
		return files, files != nil, nil
	}
	files, ok, err := r.diffCommit(ctx, c)
	if err != nil {
		return nil, false, err
	}
	if ok && files == nil {
		files = []string{} // known, and empty
	}
	r.files[c.Hash] = files
	return files, ok, nil
}

func (r *reader) diffCommit(ctx context.Context, c *object.Commit) ([]string, bool, error) {
	tree, err := r.tree(c.TreeHash)
	if err != nil {
		return nil, false, err
	}
	var parentTree *object.Tree // nil: a root commit, diffed against nothing
	if len(c.ParentHashes) > 0 {
		p, err := r.commit(c.ParentHashes[0])
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("parent: %w", err)
		}
		if parentTree, err = r.tree(p.TreeHash); err != nil {
			return nil, false, err
		}
	}
	var files []string
	if err := r.diffTrees(ctx, "", parentTree, tree, &files); err != nil {
		return nil, false, err
	}
	slices.Sort(files)
	return slices.Compact(files), true, nil
}

// diffTrees appends the paths under dir that differ between trees a and b
// (either may be nil). It is go-git's tree diff without rename detection,
// reading only the subtrees that differ and that the globs could match: on
// a large repository most of each commit's tree is never read.
func (r *reader) diffTrees(ctx context.Context, dir string, a, b *object.Tree, files *[]string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var ae, be []object.TreeEntry
	if a != nil {
		ae = a.Entries
	}
	if b != nil {
		be = b.Entries
	}
	// Entries are sorted the git way (a directory as if its name ended in
	// "/"), so one pass pairs them up.
	i, j := 0, 0
	for i < len(ae) || j < len(be) {
		var c int
		switch {
		case i == len(ae):
			c = 1
		case j == len(be):
			c = -1
		default:
			c = compareEntries(&ae[i], &be[j])
		}
		switch {
		case c < 0:
			if err := r.allFiles(ctx, dir, &ae[i], files); err != nil {
				return err
			}
			i++
		case c > 0:
			if err := r.allFiles(ctx, dir, &be[j], files); err != nil {
				return err
			}
			j++
		default:
			ea, eb := &ae[i], &be[j]
			i++
			j++
			if ea.Hash == eb.Hash && ea.Mode == eb.Mode {
				continue
			}
			path := joinPath(dir, ea.Name)
			if ea.Mode != filemode.Dir { // equal keys: both files or both directories
				*files = append(*files, path)
				continue
			}
			if !r.mayHold(path) {
				continue
			}
			ta, err := r.tree(ea.Hash)
			if err != nil {
				return err
			}
			tb, err := r.tree(eb.Hash)
			if err != nil {
				return err
			}
			if err := r.diffTrees(ctx, path, ta, tb, files); err != nil {
				return err
			}
		}
	}
	return nil
}

// allFiles appends the path of e, or of every file below it for a
// directory: an entry added or removed as a whole.
func (r *reader) allFiles(ctx context.Context, dir string, e *object.TreeEntry, files *[]string) error {
	path := joinPath(dir, e.Name)
	if e.Mode != filemode.Dir {
		*files = append(*files, path)
		return nil
	}
	if !r.mayHold(path) {
		return nil
	}
	t, err := r.tree(e.Hash)
	if err != nil {
		return err
	}
	return r.diffTrees(ctx, path, nil, t, files)
}

// mayHold reports whether a path under directory dir can match a glob.
func (r *reader) mayHold(dir string) bool {
	for _, s := range r.scopes {
		if s.dir == dir || strings.HasPrefix(s.dir, dir+"/") {
			return true // dir leads to the scope
		}
		if s.deep && (s.dir == "" || strings.HasPrefix(dir, s.dir+"/")) {
			return true // dir is inside it
		}
	}
	return false
}

// compareEntries orders tree entries as git does: by name, a directory's
// name as if followed by "/".
func compareEntries(a, b *object.TreeEntry) int {
	n := min(len(a.Name), len(b.Name))
	if c := strings.Compare(a.Name[:n], b.Name[:n]); c != 0 {
		return c
	}
	return cmp.Compare(entryKeyAt(a, n), entryKeyAt(b, n))
}

func entryKeyAt(e *object.TreeEntry, n int) int {
	switch {
	case n < len(e.Name):
		return int(e.Name[n])
	case e.Mode == filemode.Dir:
		return '/'
	default:
		return -1
	}
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// scope is where a glob's matches lie: directly in dir, or (deep)
// anywhere below it. A diff need not read a directory no scope reaches.
type scope struct {
	dir  string
	deep bool
}

func scopeOf(g string) scope {
	i := strings.IndexAny(g, `*?[{\`)
	if i < 0 { // a plain path: the file itself
		if d := path.Dir(g); d != "." {
			return scope{dir: d}
		}
		return scope{}
	}
	if j := strings.LastIndexByte(g[:i], '/'); j >= 0 {
		return scope{dir: g[:j], deep: true}
	}
	return scope{deep: true}
}

// cacheSize bounds each cache: a walk goes newest first, so what it
// needs again is recent.
const cacheSize = 2048

// objectCache is a two-generation cache: at most 2*cacheSize entries, the
// recently used ones kept.
type objectCache[V any] struct {
	cur, old map[plumbing.Hash]V
}

func (c *objectCache[V]) get(h plumbing.Hash) (V, bool) {
	if v, ok := c.cur[h]; ok {
		return v, true
	}
	if v, ok := c.old[h]; ok {
		c.put(h, v)
		return v, true
	}
	var zero V
	return zero, false
}

func (c *objectCache[V]) put(h plumbing.Hash, v V) {
	if c.cur == nil || len(c.cur) >= cacheSize {
		c.old, c.cur = c.cur, make(map[plumbing.Hash]V, 64)
	}
	c.cur[h] = v
}
