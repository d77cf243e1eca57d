package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	out := a.v.GetString("out")
	if out == "" {
		return usageError{errors.New("--out DIR is required: the folder to record the snapshot into")}
	}
	if err := checkSnapshotOut(out, a.v.GetBool("force")); err != nil {
		return err
	}
	spec, err := a.timeSpec(cmd)
	if err != nil {
		return err
	}
	if !spec.HasWindow() {
		return usageError{errors.New("snapshot needs a window: pass --from and --to, or --around with --span (e.g. --from now-1h)")}
	}
	window, baseline, err := timerange.Resolve(spec, a.now())
	if err != nil {
		return err
	}
	cat, err := a.catalog(cmd)
	if err != nil {
		return err
	}
	lookback, err := a.duration(cmd, "lookback")
	if err != nil {
		return err
	}
	b, origins, err := a.bundle(cmd, cat, spec, collectors.Range{Window: window, Baseline: baseline, Lookback: lookback}, false)
	if err != nil {
		return err
	}
	if err := snapshot.WriteMeta(cmd.Context(), out, b, snapshot.MetaFrom(a.now().UTC(), origins)); err != nil {
		return err
	}
	points := 0
	for _, s := range b.Series {
		points += len(s.Points)
	}
	fmt.Fprintf(a.stdout, "recorded %d series (%d points), %d log lines and %d changes over %s (baseline %s) into %s\n",
		len(b.Series), points, len(b.Logs), len(b.Changes), window, baseline, out)
	for _, w := range b.Warnings {
		fmt.Fprintf(a.stderr, "rca: warning: %s\n", termui.OneLine(w))
	}
	a.log.Debug("wrote snapshot", "dir", out, "at", time.Now().UTC().Format(time.RFC3339))
	return nil
}

// checkSnapshotOut refuses to overwrite an earlier snapshot unless forced;
// the writer itself refuses folders of other files.
func checkSnapshotOut(dir string, force bool) error {
	_, err := os.Stat(filepath.Join(dir, "manifest.json"))
	switch {
	case err == nil && !force:
		return fmt.Errorf("%s already holds a snapshot: pass --force to replace it, or choose another --out", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	return nil
}
