package main

import (
	"errors"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/config"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/termui"
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

// plan resolves the sources the flags and the config file name.
func (a *app) plan(cmd *cobra.Command, allowSnapshot bool) (config.Plan, error) {
	step, err := a.duration("step")
	if err != nil {
		return config.Plan{}, err
	}
	o := config.Overrides{
		PrometheusURL: a.conf.Setting("prometheus-url"),
		LokiURL:       a.conf.Setting("loki-url"),
		LokiSelector:  a.conf.Setting("loki-selector"),
		Step:          step,
		ChangesFile:   a.conf.Setting("changes-file"),
		Repo:          a.conf.Setting("repo"),
	}
	if allowSnapshot {
		o.Snapshot = a.conf.Setting("snapshot")
		if o.Snapshot.Value != "" && cmd.Flags().Changed("snapshot") && (cmd.Flags().Changed("prometheus-url") || cmd.Flags().Changed("loki-url")) {
			return config.Plan{}, usageError{errors.New("--snapshot and --prometheus-url/--loki-url are alternatives: analyse a recording or the live servers, not both")}
		}
	}
	p, err := a.conf.File.Plan(o, a.log)
	if errors.Is(err, httpsource.ErrURL) {
		return p, usageError{err}
	}
	return p, err
}

// bundle gathers what a command reads: a recorded snapshot (over its own
// window unless the user names one), or a live read of the servers over
// the user's window; then the changes. origins say what was read, for a
// snapshot's manifest.
func (a *app) bundle(cmd *cobra.Command, cat *catalog.Catalog, spec timerange.Spec, r collectors.Range, allowSnapshot bool) (telemetry.Bundle, []collectors.Origin, error) {
	plan, err := a.plan(cmd, allowSnapshot)
	if err != nil {
		return telemetry.Bundle{}, nil, err
	}
	switch {
	case plan.Replay:
		if !spec.HasWindow() && spec.HasBaseline() {
			now := a.now()
			r.BaselineOf = func(w telemetry.Window) (telemetry.Window, error) {
				b, err := timerange.ResolveBaseline(spec, w, now)
				if err != nil {
					return b, usageError{err}
				}
				return b, nil
			}
		}
	case plan.Live:
		if !spec.HasWindow() {
			return telemetry.Bundle{}, nil, usageError{errors.New("reading live data needs a window: pass --from and --to, or --around with --span (e.g. --from now-1h)")}
		}
	case allowSnapshot:
		return telemetry.Bundle{}, nil, usageError{errNoSource}
	default:
		return telemetry.Bundle{}, nil, usageError{errors.New("no server to record from: pass --prometheus-url URL and/or --loki-url URL, or set sources.prometheus / sources.loki in the --config file")}
	}
	req := collectors.Request{Range: r, Catalog: cat}
	if done := a.progress(); done != nil {
		req.Progress = done
		defer done("")
	}
	b, origins, err := collectors.Collect(cmd.Context(), plan.Sources, req)
	if err != nil {
		return b, origins, plan.Wrap(err)
	}
	return b, origins, nil
}

// progress rewrites one status line on stderr; nil when stderr is not a
// terminal or -v output would interleave with it.
func (a *app) progress() func(string) {
	if a.conf.V.GetBool("verbose") {
		return nil
	}
	return termui.StatusLine(a.stderr)
}
