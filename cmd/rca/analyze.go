package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/config"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/report"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/timerange"
	"github.com/rca-tool/rca/workflow"
)

func (a *app) analyzeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Rank root-cause candidates and build the cause chain for an incident window",
		Long: `analyze finds what changed in an incident window against a baseline and writes
the cause chain: symptom <- propagation <- resource <- change, with evidence.

Live: with --prometheus-url (or sources.prometheus in the --config file) it
queries Prometheus over the window and the baseline before it. Offline: with
--snapshot, the snapshot's recorded window and baseline are used unless
window flags are given; then the recorded series are re-analysed over the
window you name.

Times: RFC3339 (2026-11-24T14:02:00Z), unix seconds, or relative to now
(now-30m, -2h). Durations: 30s, 30m, 2h, 7d, 1h30m.`,
		Example: `  rca analyze --snapshot testdata/incidents/pi-digits
  rca analyze --prometheus-url http://localhost:9090 --from now-30m
  rca analyze --config rca.yaml --around 2026-11-24T14:04:00Z --span 30m --changes-file deploys.yaml
  rca analyze --snapshot testdata/incidents/pi-digits -o json --out report.json
  rca analyze --snapshot DIR --around 2026-11-24T14:04:00Z --span 30m --baseline-offset 7d
  rca analyze --prometheus-url http://localhost:9090 --from now-1h --incident current`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.analyze(cmd) },
	}
	f := cmd.Flags()
	f.String("snapshot", "", "recorded incident `dir` to analyse offline")
	f.StringP("output", "o", "text", "output format: "+strings.Join(report.Formats(), ", "))
	f.String("out", "", "write the report to `file` instead of stdout")
	f.String("incident", "", "attach the report, the data and a summary to this incident's log (`ID`, or current)")
	windowFlags(f)
	sourceFlags(f)
	incidentFlags(f)
	return cmd
}

// windowFlags are the flags that name the window, its baseline and the
// lookback for changes, shared by the commands that read data.
func windowFlags(f *pflag.FlagSet) {
	newDurationFlag(f, "lookback", 2*time.Hour, "how long before the first anomaly a change may lie and still be a cause")
	f.String("from", "", "window start `time`")
	f.String("to", "", "window end `time` (default now)")
	f.String("around", "", "centre the window on this `time` (with --span)")
	newDurationFlag(f, "span", 0, "window length with --around (default 30m)")
	newDurationFlag(f, "baseline", 0, "baseline: this long just before the window (default 1h)")
	f.String("baseline-from", "", "baseline start `time` (instead of --baseline)")
	f.String("baseline-to", "", "baseline end `time` (default the window start)")
	newDurationFlag(f, "baseline-offset", 0, "baseline: the same window this much earlier, e.g. 7d (instead of --baseline)")
	newDurationFlag(f, "max-window", timerange.DefaultMaxWindow, "refuse windows and baselines longer than this")
}

func (a *app) analyze(cmd *cobra.Command) error {
	v := a.conf.V
	ctx := cmd.Context()

	// Cheap checks first, so a typo fails before any data is read.
	format := strings.ToLower(strings.TrimSpace(v.GetString("output")))
	if !slices.Contains(report.Formats(), format) && format != "md" {
		_, name := a.conf.Origin("output")
		return usageError{fmt.Errorf("%s: unknown output format %q: use %s", name, v.GetString("output"), strings.Join(report.Formats(), ", "))}
	}
	// Name the incident first, so a typo fails before any data is read.
	inc, err := a.attachTarget(cmd)
	if err != nil {
		return err
	}
	run, err := a.runAnalysis(cmd, inc)
	if err != nil {
		return err
	}
	res := run.Result

	// Render into memory first: a failing renderer leaves no partial output.
	out := v.GetString("out")
	var buf bytes.Buffer
	opt := report.Options{Color: out == "" && format == "text" && termui.WantsColor(a.stdout)}
	if err := report.RenderWith(&buf, format, res, opt); err != nil {
		return fmt.Errorf("rendering %s report: %w", format, err)
	}
	if out != "" {
		if err := writeOutput(out, buf.Bytes()); err != nil {
			return err
		}
		a.log.Debug("wrote report", "file", out, "bytes", buf.Len())
		return nil
	}
	if _, err := a.stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return a.attachAnalysis(ctx, inc, run)
}

// runAnalysis reads the data the flags name (a snapshot or the live
// servers, plus the changes noted in the incident log, if any) and
// analyses it.
func (a *app) runAnalysis(cmd *cobra.Command, inc *incidentRef) (workflow.Run, error) {
	var run workflow.Run
	lookback, err := a.duration("lookback")
	if err != nil {
		return run, err
	}
	spec, err := a.timeSpec()
	if err != nil {
		return run, err
	}
	now := a.now()
	var window, baseline telemetry.Window
	if spec.HasWindow() {
		if window, baseline, err = timerange.Resolve(spec, now); err != nil {
			return run, usageError{err}
		}
	} else if err := spec.CheckBaselineTimes(now); err != nil {
		return run, usageError{err}
	}
	cat, catData, err := a.catalogFor(cmd)
	if err != nil {
		return run, err
	}
	b, origins, err := a.bundle(cmd, cat, spec, collectors.Range{Window: window, Baseline: baseline, Lookback: lookback}, true)
	if err != nil {
		return run, err
	}
	var noted []telemetry.Change
	if inc != nil && len(inc.changes) > 0 {
		noted = inc.changes
		a.log.Debug("added changes from the incident log", "incident", inc.id, "changes", len(inc.changes))
	}
	a.log.Debug("analysing", "window", b.Window.String(), "baseline", b.Baseline.String(), "lookback", lookback)
	start := time.Now()
	run, err = workflow.Analyze(cmd.Context(), b, origins, cat, catData, lookback, noted)
	if err != nil {
		return run, err
	}
	res := run.Result
	a.log.Debug("analysed", "symptoms", len(res.Symptoms), "root_causes", len(res.RootCauses), "chain", len(res.Chain), "took", time.Since(start))
	return run, nil
}

// duration reads a duration setting; a value that does not parse is a
// usage error.
func (a *app) duration(key string) (time.Duration, error) {
	d, err := a.conf.Duration(key)
	if err != nil {
		return 0, usageError{err}
	}
	return d, nil
}

// timeSpec collects the window and baseline flags (through viper, so they
// may also come from the environment or the config file). Its errors are
// usage errors.
func (a *app) timeSpec() (timerange.Spec, error) {
	v := a.conf.V
	spec := timerange.Spec{
		From:         v.GetString("from"),
		To:           v.GetString("to"),
		Around:       v.GetString("around"),
		BaselineFrom: v.GetString("baseline-from"),
		BaselineTo:   v.GetString("baseline-to"),
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{
		{"span", &spec.Span},
		{"baseline", &spec.Baseline},
		{"baseline-offset", &spec.BaselineOffset},
		{"max-window", &spec.MaxWindow},
	} {
		val, err := a.duration(d.key)
		if err != nil {
			return spec, err
		}
		// Zero would silently mean "the default" in timerange; say so instead.
		if src, name := a.conf.Origin(d.key); src != config.FromDefault && val == 0 {
			return spec, usageError{fmt.Errorf("%s: must be longer than zero", name)}
		}
		*d.dst = val
	}
	return spec, nil
}

// catalog loads the built-in signal catalog, extended by --catalog if
// given; data is that file's content, for a recording to keep.
func (a *app) catalog() (cat *catalog.Catalog, data []byte, err error) {
	path := a.conf.V.GetString("catalog")
	cat, data, err = catalog.ReadFile(path, a.conf.OriginName("catalog"))
	if err == nil && path != "" {
		a.log.Debug("loaded catalog", "file", path)
	}
	return cat, data, err
}

// catalogFor is the catalog an analysis reads with: --catalog if given,
// else the one recorded in the --snapshot, else the built-in one. A
// --catalog that replaces a recorded one says so.
func (a *app) catalogFor(cmd *cobra.Command) (*catalog.Catalog, []byte, error) {
	var dir string
	if cmd.Flags().Lookup("snapshot") != nil {
		dir = a.conf.V.GetString("snapshot")
	}
	var recorded []byte
	var where string
	if dir != "" {
		var err error
		if recorded, where, err = snapshot.Catalog(cmd.Context(), dir); err != nil {
			return nil, nil, err
		}
	}
	if a.conf.V.GetString("catalog") != "" || recorded == nil {
		cat, data, err := a.catalog()
		if err == nil && recorded != nil {
			fmt.Fprintf(a.stderr, "rca: note: %s %s replaces the catalog recorded in the snapshot (%s)\n",
				a.conf.OriginName("catalog"), a.conf.V.GetString("catalog"), where)
		}
		return cat, data, err
	}
	cat, err := catalog.LoadData(where, recorded)
	if err != nil {
		return nil, nil, fmt.Errorf("the snapshot's recorded catalog: %w", err)
	}
	a.log.Debug("loaded the catalog recorded in the snapshot", "file", where)
	return cat, recorded, nil
}
