package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/timerange"
)

func (a *app) snapshotCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Record what a live analysis reads into a folder, to re-analyse offline",
		Long: `snapshot queries Prometheus and Loki exactly as 'rca analyze' would for the
window and its baseline (changes and commits included), and writes the answers
to a snapshot folder (docs/snapshot.md):
attach it to a ticket, analyse it later with 'rca analyze --snapshot DIR', or
keep it as a regression test. Analysing the folder gives the same report as
the live analysis did.

Only base URLs are recorded, never credentials.`,
		Example: `  rca snapshot --prometheus-url http://localhost:9090 --from now-1h --out incidents/checkout-500s
  rca snapshot --config rca.yaml --around 2026-11-24T14:04:00Z --span 30m --changes-file deploys.yaml --out snap`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.snapshot(cmd) },
	}
	f := cmd.Flags()
	f.String("out", "", "snapshot `dir` to write (required; must be new or empty unless --force)")
	f.Bool("force", false, "replace an earlier snapshot in --out")
	windowFlags(f)
	sourceFlags(f)
	return cmd
}

func (a *app) snapshot(cmd *cobra.Command) error {
	out := a.conf.V.GetString("out")
	if out == "" {
		return usageError{errors.New("--out DIR is required: the folder to record the snapshot into")}
	}
	if err := snapshot.CheckOut(out, a.conf.V.GetBool("force")); err != nil {
		return err
	}
	spec, err := a.timeSpec()
	if err != nil {
		return err
	}
	if !spec.HasWindow() {
		return usageError{errors.New("snapshot needs a window: pass --from and --to, or --around with --span (e.g. --from now-1h)")}
	}
	window, baseline, err := timerange.Resolve(spec, a.now())
	if err != nil {
		return usageError{err}
	}
	cat, catData, err := a.catalog()
	if err != nil {
		return err
	}
	lookback, err := a.duration("lookback")
	if err != nil {
		return err
	}
	b, origins, err := a.bundle(cmd, cat, spec, collectors.Range{Window: window, Baseline: baseline, Lookback: lookback}, false)
	if err != nil {
		return err
	}
	meta := snapshot.MetaFrom(a.now().UTC(), origins)
	meta.Catalog = catData
	if err := snapshot.WriteMeta(cmd.Context(), out, b, meta); err != nil {
		return err
	}
	points := 0
	for _, s := range b.Series {
		points += s.Len()
	}
	if _, err := fmt.Fprintf(a.stdout, "recorded %d series (%d points), %d log lines and %d changes over %s (baseline %s) into %s\n",
		len(b.Series), points, len(b.Logs), len(b.Changes), window, baseline, out); err != nil {
		return fmt.Errorf("writing the summary: %w", err)
	}
	for _, w := range b.Warnings {
		fmt.Fprintf(a.stderr, "rca: warning: %s\n", termui.OneLine(w))
	}
	a.log.Debug("wrote snapshot", "dir", out, "at", time.Now().UTC().Format(time.RFC3339))
	return nil
}
