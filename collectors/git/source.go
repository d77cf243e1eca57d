package git

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/telemetry"
)

// Source links a collection's deploys to the commits they shipped, and
// adds the commits of the lookback as changes. It reads nothing by itself:
// it works on what the other sources found, as a collectors.Linker.
type Source struct {
	cfg Config
	log *slog.Logger
}

// New is the source of cfg's repository; it does no I/O. Without
// cfg.Services, each service the bundle names maps to the paths where a
// monorepo usually keeps its code.
func New(cfg Config, log *slog.Logger) *Source {
	return &Source{cfg: cfg, log: collectors.Logger(log)}
}

// Name is the source's name in errors.
func (s *Source) Name() string { return "git" }

// Collect reads nothing: the commits depend on what the other sources found.
func (s *Source) Collect(context.Context, collectors.Request) (collectors.Part, error) {
	return collectors.Part{}, nil
}

// Link adds the commits from the request's lookback to the end of its
// window and links each deploy in b to the commits it shipped. A walk
// that hits its cap is a warning; what it read is kept.
func (s *Source) Link(ctx context.Context, b *telemetry.Bundle, req collectors.Request) error {
	cfg := s.cfg
	if len(cfg.Services) == 0 {
		cfg.Services = map[string][]string{}
		for _, svc := range bundleServices(b, req.Catalog) {
			for _, g := range []string{"%s/**", "services/%s/**", "apps/%s/**", "cmd/%s/**"} {
				cfg.Services[svc] = append(cfg.Services[svc], fmt.Sprintf(g, svc))
			}
		}
	}
	g, err := Open(cfg)
	if err != nil {
		return err
	}
	commits, err := g.Commits(ctx, req.ChangesFrom(), req.Window.To)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		b.Warnings = append(b.Warnings, fmt.Sprintf("git %s: %v", cfg.Repo, err))
	}
	changes, warns, err := g.LinkDeploys(ctx, append(b.Changes, commits...))
	if err != nil {
		return fmt.Errorf("linking deploys to commits in %s: %w", cfg.Repo, err)
	}
	for _, w := range warns {
		s.log.Debug("git", "warning", w)
	}
	b.Warnings = append(b.Warnings, warns...)
	b.Changes = changes
	telemetry.SortChanges(b.Changes)
	s.log.Debug("read git", "repo", cfg.Repo, "commits", len(commits))
	return nil
}

// bundleServices lists the services the bundle's series and changes name.
func bundleServices(b *telemetry.Bundle, cat *catalog.Catalog) []string {
	seen := map[string]bool{}
	for _, s := range b.Series {
		if svc := cat.Service(s.Labels); svc != "" {
			seen[svc] = true
		}
	}
	for _, c := range b.Changes {
		if c.Service != "" {
			seen[c.Service] = true
		}
	}
	out := make([]string, 0, len(seen))
	for svc := range seen {
		out = append(out, svc)
	}
	slices.Sort(out)
	return out
}
