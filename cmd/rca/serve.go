package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rca-tool/rca/alerting"
	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/timerange"
)

func (a *app) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive Alertmanager's webhooks: a firing alert opens the incident and attaches its analysis",
		Long: `serve is an HTTP server for Alertmanager's webhook receiver (payload version 4)
at POST ` + alerting.Path + `. A firing alert group opens an incident (title
from the alert's summary or name, severity from its severity label, its labels
and links in the log), runs impact and analyze over a window of --span around
the earliest startsAt (baseline as for analyze), attaches the evidence as
analyze --incident does, and posts the first stakeholder update when --post
is given. Later notifications of the group add notes (an alert joined, an
alert resolved); responders resolve the incident themselves.

The same group never opens a second incident: the mapping is kept in the
incidents folder (.alertmanager/), so a restart loses nothing. Requests need
the bearer token in --token-file (Alertmanager's
http_config.authorization.credentials_file); the reply (202) never waits for
the analysis. Also served: /-/healthy, /-/ready and /metrics.`,
		Example: `  rca serve --token-file /etc/rca/token --prometheus-url http://localhost:9090 --incidents-dir /var/lib/rca/incidents
  rca serve --token-file token --snapshot testdata/incidents/pi-digits`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.serve(cmd) },
	}
	f := cmd.Flags()
	f.String("listen", alerting.DefaultListen, "`address` to listen on")
	f.String("token-file", "", "`file` holding the bearer token Alertmanager sends (required)")
	f.String("snapshot", "", "analyse this recorded incident `dir` instead of live servers (the alert's startsAt selects the window)")
	f.String("post", "", "Slack-compatible incoming webhook `url` for the first stakeholder update")
	newDurationFlag(f, "every", incident.DefaultCadence, "stakeholder update cadence, for the next-update time")
	f.Int("workers", alerting.DefaultWorkers, "analyses run at once")
	f.Int("queue", alerting.DefaultQueue, "alert groups that may wait for a worker")
	newDurationFlag(f, "grace", 30*time.Second, "at shutdown, how long running analyses may finish before they are abandoned")
	newDurationFlag(f, "lookback", 2*time.Hour, "how long before the first anomaly a change may lie and still be a cause")
	newDurationFlag(f, "span", 0, "window length around the alert's start (default 30m)")
	newDurationFlag(f, "baseline", 0, "baseline: this long just before the window (default 1h)")
	newDurationFlag(f, "baseline-offset", 0, "baseline: the same window this much earlier, e.g. 7d (instead of --baseline)")
	newDurationFlag(f, "max-window", timerange.DefaultMaxWindow, "refuse windows and baselines longer than this")
	f.String("author", "", "who signs the entries the server writes (default \"rca serve\")")
	sourceFlags(f)
	incidentFlags(f)
	return cmd
}

func (a *app) serve(cmd *cobra.Command) error {
	v := a.conf.V
	ctx := cmd.Context()
	tokenFile := strings.TrimSpace(v.GetString("token-file"))
	if tokenFile == "" {
		return usageError{errors.New("--token-file is required: the file holding the bearer token Alertmanager sends (http_config.authorization.credentials_file)")}
	}
	token, err := readToken(tokenFile)
	if err != nil {
		return err
	}
	for _, k := range []string{"workers", "queue"} {
		if n := v.GetInt(k); n < 1 || n > 10000 {
			return usageError{fmt.Errorf("%s: want 1 to 10000, not %d", a.conf.OriginName(k), n)}
		}
	}
	var hook *url.URL
	if post := strings.TrimSpace(v.GetString("post")); post != "" {
		if hook, err = url.Parse(post); err != nil || (hook.Scheme != "https" && hook.Scheme != "http") || hook.Host == "" {
			return usageError{errors.New("--post: want the webhook's http(s) URL, e.g. https://hooks.slack.com/services/T000/B000/XXXX")}
		}
	}
	every, err := a.conf.UpdateEvery()
	if err != nil {
		return usageError{err}
	}
	var durs [6]time.Duration
	for i, k := range []string{"lookback", "span", "baseline", "baseline-offset", "max-window", "grace"} {
		if durs[i], err = a.duration(k); err != nil {
			return err
		}
	}
	lookback, span, grace := durs[0], durs[1], durs[5]
	spec := timerange.Spec{Baseline: durs[2], BaselineOffset: durs[3], MaxWindow: durs[4]}
	if spec.Baseline != 0 && spec.BaselineOffset != 0 {
		return usageError{errors.New("--baseline and --baseline-offset are alternatives")}
	}
	plan, err := a.plan(cmd, true)
	if err != nil {
		return err
	}
	if !plan.Replay && !plan.Live {
		return usageError{errors.New("no data source: pass --snapshot DIR, or --prometheus-url URL (and/or --loki-url URL), or set sources.prometheus.url in the --config file")}
	}
	cat, catData, err := a.catalogFor(cmd)
	if err != nil {
		return err
	}
	an := alerting.Analyser{Sources: plan.Sources, Replay: plan.Replay, Catalog: cat, CatalogData: catData,
		Span: span, Baseline: spec, Lookback: lookback}

	level := slog.LevelInfo
	if v.GetBool("verbose") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	s, awayFrom := a.storeFrom()
	a.sayStore(s, awayFrom)
	author := strings.TrimSpace(v.GetString("author"))
	cfg := alerting.Config{
		Store: s, Token: token, Analyse: an.Analyse, UpdateEvery: every, Author: author,
		Recorded: a.recorded, Workers: v.GetInt("workers"), Queue: v.GetInt("queue"), Log: log, Now: a.clock,
	}
	if hook != nil {
		cfg.Post = func(ctx context.Context, text string) (string, error) {
			if err := incident.PostUpdate(ctx, hook, text); err != nil {
				return "", err
			}
			return "webhook at " + hook.Host, nil
		}
	}
	srv, err := alerting.New(cfg)
	if err != nil {
		return err
	}
	addr := v.GetString("listen")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", addr, err)
	}
	srv.Start(ctx)
	source := "live sources"
	if plan.Replay {
		source = "snapshot " + v.GetString("snapshot")
	}
	log.Info("rca serve listening", "addr", "http://"+ln.Addr().String(), "webhook", alerting.Path, "incidents", s.Dir, "analysing", source)
	if err := srv.Serve(ctx, ln, grace); err != nil {
		return err
	}
	log.Info("rca serve stopped")
	return nil
}

// readToken reads the bearer token; errors name the file, never its content.
func readToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	switch {
	case tok == "":
		return "", usageError{fmt.Errorf("--token-file %s is empty: put the bearer token Alertmanager sends in it", path)}
	case strings.ContainsAny(tok, "\r\n\t "):
		return "", usageError{fmt.Errorf("--token-file %s: the token must be one word on one line", path)}
	}
	return tok, nil
}
