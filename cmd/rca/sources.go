package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/timerange"
)

// sourceFlags are the flags of the commands that read live data.
func sourceFlags(f *pflag.FlagSet) {
	f.String("prometheus-url", "", "Prometheus (or Thanos, Mimir, VictoriaMetrics) API `url`; overrides sources.prometheus.url")
	f.String("loki-url", "", "Grafana Loki API `url`; overrides sources.loki.url")
	f.String("loki-selector", "", "LogQL stream `selector` of the services' logs (default {service=~\".+\"}); overrides sources.loki.selector")
	newDurationFlag(f, "step", 0, "query resolution (default: 30s, coarser for long windows)")
	f.String("changes-file", "", "JSON or YAML `file` listing deploys and other changes (also changes.file in the config)")
	f.String("repo", "", "local git `clone` whose commits become changes and are linked to the deploys that shipped them (also changes.git.repo)")
}

// errNoSource says how to give rca data.
var errNoSource = errors.New("no data source: pass --snapshot DIR, or --prometheus-url URL (and/or --loki-url URL) with a window (--from now-1h), or set sources.prometheus.url in the --config file")

// prometheusConfig is the live Prometheus configuration, if any: the
// config file's sources.prometheus with the URL and step from flags,
// environment or flat config keys laid over it.
func (a *app) prometheusConfig(cmd *cobra.Command) (collectors.PrometheusConfig, bool, error) {
	var cfg collectors.PrometheusConfig
	if a.cfg.Sources.Prometheus != nil {
		cfg = *a.cfg.Sources.Prometheus
	}
	if u := strings.TrimSpace(a.v.GetString("prometheus-url")); u != "" {
		if cfg.URL == "" && a.cfg.Sources.Prometheus == nil {
			cfg = collectors.NewPrometheusConfig(u)
		}
		cfg.URL = u
	}
	if cfg.URL == "" {
		return cfg, false, nil
	}
	step, err := a.duration(cmd, "step")
	if err != nil {
		return cfg, false, err
	}
	if step > 0 {
		cfg.Step = model.Duration(step)
	}
	return cfg, true, nil
}

// lokiConfig is the live Loki configuration, if any, as prometheusConfig.
func (a *app) lokiConfig() (collectors.LokiConfig, bool) {
	var cfg collectors.LokiConfig
	if a.cfg.Sources.Loki != nil {
		cfg = *a.cfg.Sources.Loki
	}
	if u := strings.TrimSpace(a.v.GetString("loki-url")); u != "" {
		if cfg.URL == "" && a.cfg.Sources.Loki == nil {
			cfg = collectors.NewLokiConfig(u)
		}
		cfg.URL = u
	}
	if sel := strings.TrimSpace(a.v.GetString("loki-selector")); sel != "" {
		cfg.Selector = sel
	}
	return cfg, cfg.URL != ""
}

// collectLogs reads the window's log lines from Loki into the bundle.
func (a *app) collectLogs(cmd *cobra.Command, cat *catalog.Catalog, cfg collectors.LokiConfig, b *telemetry.Bundle) (query string, err error) {
	loki, err := collectors.NewLoki(cfg, a.log)
	if err != nil {
		return "", err
	}
	if done := a.progress(); done != nil {
		loki.Progress = func(n int) { done(fmt.Sprintf("reading %s: %d lines", loki.URL(), n)) }
		defer done("")
	}
	// The log signals are counted on the server, while the lines are read:
	// whole counts, however many lines max_lines lets us read. A signal it
	// cannot count is counted from the lines by the analysis.
	type counted struct {
		series []telemetry.Series
		warns  []string
		err    error
		took   time.Duration
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	countedC := make(chan counted, 1)
	go func() {
		start := time.Now()
		series, warns, err := loki.Metrics(ctx, cat, b.Window, b.Baseline)
		countedC <- counted{series, warns, err, time.Since(start)}
	}()

	start := time.Now()
	lines, warns, err := loki.Collect(cmd.Context(), cat, b.Window, b.Baseline)
	if err != nil {
		return "", err
	}
	b.Logs = append(b.Logs, lines...)
	b.Warnings = append(b.Warnings, warns...)
	a.log.Debug("collected from loki", "url", loki.URL(), "query", loki.Query(), "lines", len(lines), "took", time.Since(start).Round(time.Millisecond))

	c := <-countedC
	if c.err != nil {
		return "", c.err
	}
	b.Series = collectors.AddSeries(b.Series, c.series)
	b.Warnings = append(b.Warnings, c.warns...)
	a.log.Debug("counted log signals on loki", "url", loki.URL(), "series", len(c.series), "took", c.took.Round(time.Millisecond))

	// Deploy and startup lines announce changes; they may lie before the
	// baseline, as far back as the lookback reaches.
	lookback, err := a.duration(cmd, "lookback")
	if err != nil {
		return "", err
	}
	from := b.Window.From.Add(-lookback)
	if !b.Baseline.From.IsZero() && b.Baseline.From.Before(from) {
		from = b.Baseline.From
	}
	changes, warns, err := loki.Changes(cmd.Context(), cat, from, b.Window.To)
	if err != nil {
		return "", err
	}
	b.Changes = append(b.Changes, changes...)
	b.Warnings = append(b.Warnings, warns...)
	return loki.Query(), nil
}

// collectLive reads the window from Prometheus (and the changes file),
// printing progress on a terminal.
func (a *app) collectLive(cmd *cobra.Command, cat *catalog.Catalog, cfg collectors.PrometheusConfig, window, baseline telemetry.Window) (telemetry.Bundle, error) {
	prom, err := collectors.NewPrometheus(cfg, a.log)
	if err != nil {
		return telemetry.Bundle{}, err
	}
	if done := a.progress(); done != nil {
		prom.Progress = func(n, total int) {
			done(fmt.Sprintf("querying %s: %d/%d", prom.URL(), n, total))
		}
		defer done("")
	}
	start := time.Now()
	b, err := prom.Collect(cmd.Context(), cat, window, baseline)
	if err != nil {
		return b, err
	}
	a.log.Debug("collected from prometheus", "url", prom.URL(), "series", len(b.Series), "warnings", len(b.Warnings), "took", time.Since(start).Round(time.Millisecond))
	return b, nil
}

// liveSources are the servers configured for a live read.
type liveSources struct {
	prom               collectors.PrometheusConfig
	loki               collectors.LokiConfig
	promLive, lokiLive bool
}

// liveBundle reads Prometheus and Loki, whichever are configured, over
// the window and its baseline; meta says what was read, for a snapshot.
func (a *app) liveBundle(cmd *cobra.Command, cat *catalog.Catalog, src liveSources, window, baseline telemetry.Window) (telemetry.Bundle, collectors.SnapshotMeta, error) {
	b := telemetry.Bundle{Window: window, Baseline: baseline}
	var meta collectors.SnapshotMeta
	var err error
	if src.promLive {
		if b, err = a.collectLive(cmd, cat, src.prom, window, baseline); err != nil {
			return b, meta, err
		}
		meta.Prometheus = src.prom.URL
	}
	if src.lokiLive {
		if meta.LogQuery, err = a.collectLogs(cmd, cat, src.loki, &b); err != nil {
			return b, meta, err
		}
		meta.Loki = src.loki.URL
	}
	if len(b.Series) == 0 && len(b.Logs) == 0 {
		why := "no catalog signal's metrics and no log lines there"
		for _, w := range b.Warnings {
			if strings.Contains(w, "failed") || strings.Contains(w, "no lines match") {
				why = w
				break
			}
		}
		return b, meta, fmt.Errorf("no data between %s and %s (%s): check the window (times are UTC unless they carry an offset) and the URLs",
			baseline.From.Format(time.RFC3339), window.To.Format(time.RFC3339), why)
	}
	return b, meta, nil
}

// addChanges merges the --changes-file into the bundle.
func (a *app) addChanges(cmd *cobra.Command, b *telemetry.Bundle) error {
	path := a.v.GetString("changes-file")
	if path == "" {
		path = a.cfg.Changes.File
	}
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s: %w", a.originName(cmd, "changes-file"), err)
	}
	changes, err := collectors.ReadChangesFile(path)
	if err != nil {
		return err
	}
	b.Changes = append(b.Changes, changes...)
	a.log.Debug("read changes", "file", path, "changes", len(changes))
	return nil
}

// addAnnotations reads Grafana's annotations over the baseline, the window
// and the lookback before it, when changes.grafana is configured.
func (a *app) addAnnotations(cmd *cobra.Command, b *telemetry.Bundle) error {
	g := a.cfg.Changes.Grafana
	if g == nil {
		return nil
	}
	lookback, err := a.duration(cmd, "lookback")
	if err != nil {
		return err
	}
	from := b.Window.From.Add(-lookback)
	if !b.Baseline.From.IsZero() && b.Baseline.From.Before(from) {
		from = b.Baseline.From
	}
	start := time.Now()
	changes, warns, err := collectors.ReadGrafanaAnnotations(cmd.Context(), *g, from, b.Window.To)
	if err != nil {
		if ctxErr := cmd.Context().Err(); ctxErr != nil {
			return ctxErr
		}
		// The metrics and logs are still worth analysing without them.
		b.Warnings = append(b.Warnings, "changes from Grafana annotations are missing: "+err.Error())
		return nil
	}
	b.Changes = append(b.Changes, changes...)
	b.Warnings = append(b.Warnings, warns...)
	a.log.Debug("read grafana annotations", "changes", len(changes), "took", time.Since(start))
	return nil
}

// progress returns a function that rewrites one status line on stderr, or
// nil when stderr is not a terminal or -v output would interleave with it.
// Calling it with "" clears the line.
func (a *app) progress() func(string) {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || a.v.GetBool("verbose") {
		return nil
	}
	return func(s string) {
		fmt.Fprintf(f, "\r\033[K%s", s)
	}
}

// bundle gathers what analyze reads: a recorded snapshot (over its own
// window unless the user names one), or a live read of Prometheus over
// the user's window; then the --changes-file.
func (a *app) bundle(cmd *cobra.Command, cat *catalog.Catalog, spec timerange.Spec, window, baseline telemetry.Window, allowSnapshot bool) (telemetry.Bundle, collectors.SnapshotMeta, error) {
	var meta collectors.SnapshotMeta
	dir := ""
	if allowSnapshot {
		dir = a.v.GetString("snapshot")
	}
	var src liveSources
	var err error
	if src.prom, src.promLive, err = a.prometheusConfig(cmd); err != nil {
		return telemetry.Bundle{}, meta, err
	}
	src.loki, src.lokiLive = a.lokiConfig()
	if dir != "" && cmd.Flags().Changed("snapshot") && (cmd.Flags().Changed("prometheus-url") || cmd.Flags().Changed("loki-url")) {
		return telemetry.Bundle{}, meta, usageError{errors.New("--snapshot and --prometheus-url/--loki-url are alternatives: analyse a recording or the live servers, not both")}
	}
	var b telemetry.Bundle
	switch {
	case dir != "":
		if b, err = a.readSnapshot(cmd, dir, spec, window, baseline); err != nil {
			return b, meta, err
		}
	case src.promLive || src.lokiLive:
		if !spec.HasWindow() {
			return b, meta, usageError{errors.New("reading live data needs a window: pass --from and --to, or --around with --span (e.g. --from now-1h)")}
		}
		if b, meta, err = a.liveBundle(cmd, cat, src, window, baseline); err != nil {
			return b, meta, err
		}
	case allowSnapshot:
		return b, meta, errNoSource
	default:
		return b, meta, errors.New("no server to record from: pass --prometheus-url URL and/or --loki-url URL, or set sources.prometheus / sources.loki in the --config file")
	}
	if err := a.addChanges(cmd, &b); err != nil {
		return b, meta, err
	}
	if err := a.addAnnotations(cmd, &b); err != nil {
		return b, meta, err
	}
	// One rollout reported by several sources (a deploys file, a generation
	// step, a version label) is one change.
	b.Changes = collectors.MergeChanges(b.Changes)
	if err := a.addCommits(cmd, cat, &b); err != nil {
		return b, meta, err
	}
	return b, meta, nil
}

// addCommits reads the git repository, if one is configured: the commits
// in the lookback before the window become changes, and each deploy is
// linked to the commits it shipped.
func (a *app) addCommits(cmd *cobra.Command, cat *catalog.Catalog, b *telemetry.Bundle) error {
	cfg := collectors.GitConfig{}
	if a.cfg.Changes.Git != nil {
		cfg = *a.cfg.Changes.Git
	}
	if repo := a.v.GetString("repo"); repo != "" {
		cfg.Repo = repo
	}
	if cfg.Repo == "" {
		return nil
	}
	if len(cfg.Services) == 0 {
		cfg.Services = map[string][]string{}
		for _, svc := range bundleServices(b, cat) {
			// Where a service's code usually lives in a monorepo.
			for _, g := range []string{"%s/**", "services/%s/**", "apps/%s/**", "cmd/%s/**"} {
				cfg.Services[svc] = append(cfg.Services[svc], fmt.Sprintf(g, svc))
			}
		}
	}
	g, err := collectors.OpenGit(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", a.originName(cmd, "repo"), err)
	}
	lookback, err := a.duration(cmd, "lookback")
	if err != nil {
		return err
	}
	commits, err := g.Commits(cmd.Context(), b.Window.From.Add(-lookback), b.Window.To)
	if err != nil {
		if ctxErr := cmd.Context().Err(); ctxErr != nil {
			return ctxErr
		}
		// A walk that hit its cap still returns what it read.
		b.Warnings = append(b.Warnings, fmt.Sprintf("git %s: %v", cfg.Repo, err))
	}
	changes, warns, err := g.LinkDeploys(cmd.Context(), append(b.Changes, commits...))
	if err != nil {
		return fmt.Errorf("linking deploys to commits in %s: %w", cfg.Repo, err)
	}
	for _, w := range warns {
		a.log.Debug("git", "warning", w)
	}
	b.Warnings = append(b.Warnings, warns...)
	b.Changes = changes
	telemetry.SortChanges(b.Changes)
	a.log.Debug("read git", "repo", cfg.Repo, "commits", len(commits))
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

// readSnapshot reads a recorded snapshot; window flags, when given,
// replace its recorded window (the series are the same).
func (a *app) readSnapshot(cmd *cobra.Command, dir string, spec timerange.Spec, window, baseline telemetry.Window) (telemetry.Bundle, error) {
	if err := checkDir(dir); err != nil {
		return telemetry.Bundle{}, err
	}
	start := time.Now()
	b, err := collectors.ReadSnapshot(cmd.Context(), dir)
	if err != nil {
		// The reader's errors already start "snapshot: <dir>"; don't say it twice.
		if strings.HasPrefix(err.Error(), "snapshot:") {
			return b, fmt.Errorf("reading %w", err)
		}
		return b, fmt.Errorf("reading snapshot %s: %w", dir, err)
	}
	a.log.Debug("read snapshot", "dir", dir, "window", b.Window.String(), "baseline", b.Baseline.String(),
		"series", len(b.Series), "logs", len(b.Logs), "changes", len(b.Changes), "edges", len(b.Edges), "took", time.Since(start))
	switch {
	case spec.HasWindow():
		b.Window, b.Baseline = window, baseline
	case spec.HasBaseline():
		if b.Baseline, err = timerange.ResolveBaseline(spec, b.Window, a.now()); err != nil {
			return b, fmt.Errorf("snapshot window %s: %w", b.Window, err)
		}
	}
	return b, nil
}
