package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/internal/atomicfile"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/report"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/workflow"
)

// incidentRef is the incident a command attaches its findings to.
type incidentRef struct {
	store incident.Store
	id    string
	// changes are the ones responders noted in the log, for the analysis.
	changes []telemetry.Change
}

// attachTarget resolves --incident, if given, and reads the changes noted
// in that incident's log.
func (a *app) attachTarget(cmd *cobra.Command) (*incidentRef, error) {
	want := strings.TrimSpace(a.conf.V.GetString("incident"))
	if want == "" {
		return nil, nil
	}
	s := a.store()
	id, err := a.resolveIncident(s, want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.conf.OriginName("incident"), err)
	}
	l, err := s.Read(cmd.Context(), id)
	if err != nil {
		return nil, err
	}
	return &incidentRef{store: s, id: id, changes: workflow.NotedChanges(l)}, nil
}

// attachAnalysis writes the report in every format and the data it was
// computed from into the incident's evidence folder, and logs a summary.
func (a *app) attachAnalysis(ctx context.Context, inc *incidentRef, run workflow.Run) error {
	if inc == nil {
		return nil
	}
	dir, err := workflow.AttachAnalysis(ctx, inc.store, inc.id, a.clock, a.conf.Author(), run)
	return a.attached(ctx, inc, "report", dir, err)
}

// attach files a finding in the incident, whole or not at all (see
// incident.Store.Attach); what names it in the error.
func (a *app) attach(ctx context.Context, inc *incidentRef, kind, what string, e incident.Entry, write func(dir string) ([]string, error)) error {
	if e.Author == "" {
		e.Author = a.conf.Author()
	}
	dir, err := inc.store.Attach(ctx, inc.id, a.clock, kind, e, write)
	return a.attached(ctx, inc, what, dir, err)
}

// attached reports a finding filed in the incident (whole or not at all,
// see incident.Store.Attach); what names it in the error.
func (a *app) attached(ctx context.Context, inc *incidentRef, what, dir string, err error) error {
	if err != nil {
		return fmt.Errorf("the %s above is complete, but attaching it to %s failed: %w", what, inc.id, err)
	}
	a.recorded(ctx, inc.store, inc.id)
	fmt.Fprintf(a.stderr, "attached to %s: %s\n", inc.id, dir)
	return nil
}

func (a *app) impactCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "impact",
		Short: "Say who is affected: failing endpoints, error ratio, failed requests and latency against the baseline",
		Long: `impact reads the same data as analyze (a snapshot or the live servers, over
the same window) and says what users feel: which services and endpoints fail
or slow down, the error ratio and failed-request count against the baseline,
latency against the baseline, when it started, whether it is still going on,
and the latest change before the onset with the version to roll back to.

The signals it reads are the catalog's symptom signals with an impact role
(errors, latency, traffic, availability). With --incident the assessment is
added to the incident log and its evidence folder.`,
		Example: `  rca impact --snapshot testdata/incidents/pi-digits
  rca impact --prometheus-url http://localhost:9090 --from now-30m --incident current`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.impact(cmd) },
	}
	f := cmd.Flags()
	f.String("snapshot", "", "recorded incident `dir` to assess offline")
	f.StringP("output", "o", "text", "output format: "+strings.Join(report.ImpactFormats(), ", "))
	f.String("incident", "", "add the assessment to this incident's log (`ID`, or current)")
	windowFlags(f)
	sourceFlags(f)
	incidentFlags(f)
	return cmd
}

func (a *app) impact(cmd *cobra.Command) error {
	format := strings.ToLower(strings.TrimSpace(a.conf.V.GetString("output")))
	if !slices.Contains(report.ImpactFormats(), format) && format != "md" {
		return usageError{fmt.Errorf("--output: unknown format %q: use %s", format, strings.Join(report.ImpactFormats(), ", "))}
	}
	inc, err := a.attachTarget(cmd)
	if err != nil {
		return err
	}
	run, err := a.runAnalysis(cmd, inc)
	if err != nil {
		return err
	}
	imp := run.Impact()
	var buf bytes.Buffer
	if err := report.RenderImpact(&buf, format, imp); err != nil {
		return err
	}
	if _, err := a.stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the impact: %w", err)
	}
	for _, w := range run.Result.Warnings {
		fmt.Fprintf(a.stderr, "rca: warning: %s\n", termui.OneLine(w))
	}
	if inc == nil {
		return nil
	}
	dir, err := workflow.AttachImpact(cmd.Context(), inc.store, inc.id, a.clock, a.conf.Author(), imp)
	return a.attached(cmd.Context(), inc, "assessment", dir, err)
}

func (a *app) updateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Draft (and optionally post) a stakeholder update from the incident log",
		Long: `update drafts a plain-language stakeholder update from the incident log and
its latest analysis and impact: status (investigating, identified, monitoring,
resolved), impact, what is known, what is being done, and when the next
update comes (every 30 minutes by default; --every or incident.update_every).

The draft is printed. --post URL sends it to a Slack-compatible incoming
webhook and records in the log that the update went out; --sent records an
update you sent some other way. The webhook URL is a secret: it is never
written to the log or printed.`,
		Example: `  rca update
  rca update --status identified --post "$SLACK_WEBHOOK_URL"
  rca update --incident INC-20261124-1402-checkout-500s --sent`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.update(cmd) },
	}
	f := cmd.Flags()
	incidentIDFlag(f, false)
	f.String("status", "", "status to announce: investigating, identified, monitoring, resolved (default: what the log shows)")
	newDurationFlag(f, "every", incident.DefaultCadence, "time until the next update")
	f.String("post", "", "Slack-compatible incoming webhook `url` to post the update to")
	f.Bool("sent", false, "record that you sent this update yourself")
	authorFlag(f)
	incidentFlags(f)
	return cmd
}

func (a *app) update(cmd *cobra.Command) error {
	v := a.conf.V
	status, err := incident.ParseStatus(v.GetString("status"))
	if err != nil {
		return usageError{fmt.Errorf("--status %w", err)}
	}
	every, err := a.conf.UpdateEvery()
	if err != nil {
		return err
	}
	post := strings.TrimSpace(v.GetString("post"))
	if post != "" && v.GetBool("sent") {
		return usageError{errors.New("--post and --sent are alternatives: post it, or record that you sent it")}
	}
	var hook *url.URL
	if post != "" {
		if hook, err = url.Parse(post); err != nil || (hook.Scheme != "https" && hook.Scheme != "http") || hook.Host == "" {
			return usageError{errors.New("--post: want the webhook's http(s) URL, e.g. https://hooks.slack.com/services/T000/B000/XXXX")}
		}
	}
	s, l, err := a.readIncident(cmd.Context(), v.GetString("incident"))
	if err != nil {
		return err
	}
	id := l.ID
	u := incident.DraftUpdate(l, status, a.now(), every)
	if _, err := io.WriteString(a.stdout, u.Text); err != nil {
		return fmt.Errorf("writing the update: %w", err)
	}
	e := incident.Entry{Kind: incident.KindUpdate, Text: u.Text, Status: u.Status}
	switch {
	case hook != nil:
		if err := incident.PostUpdate(cmd.Context(), hook, u.Text); err != nil {
			return err
		}
		e.PostedTo = "webhook at " + hook.Host
	case v.GetBool("sent"):
		e.PostedTo = "sent by hand"
	default:
		fmt.Fprintf(a.stderr, "draft only: --post URL sends it, --sent records that you sent it yourself\n")
		return nil
	}
	if err := a.record(cmd.Context(), s, id, e); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "update recorded in %s (%s)\n", id, e.PostedTo)
	return nil
}

func (a *app) reviewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review [ID]",
		Short: "Write a blameless postmortem draft from the incident log",
		Long: `review writes a blameless postmortem draft in Markdown from the incident log
(default: the current incident): summary, impact, key times (time to detect,
mitigate, resolve), a timeline merged from the log and the analysis, the
cause chain with links to its evidence, and prompts and action items for
the team to fill in.

It writes review.md in the incident's folder, and never replaces one that
is there (the team may have edited it) unless --force is given.`,
		Args: atMostOneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			want, err := a.incidentArg(cmd, args)
			if err != nil {
				return err
			}
			return a.review(cmd, want)
		},
	}
	f := cmd.Flags()
	f.String("out", "", "write the draft to `file` (default review.md in the incident's folder; - for stdout)")
	f.Bool("force", false, "replace an existing review draft")
	incidentIDFlag(f, true)
	incidentFlags(f)
	return cmd
}

func (a *app) review(cmd *cobra.Command, want string) error {
	s, l, err := a.readIncident(cmd.Context(), want)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := incident.WriteReview(&buf, l, a.now()); err != nil {
		return err
	}
	out := a.conf.V.GetString("out")
	if out == "-" {
		if _, err := a.stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("writing the review: %w", err)
		}
		return nil
	}
	if out == "" {
		out = filepath.Join(s.Path(l.ID), "review.md")
	}
	// A device, a pipe or /dev/stdout is a stream to write to, not a draft
	// the team may have edited: only a file there needs --force.
	if atomicfile.Replaces(out) && !a.conf.V.GetBool("force") {
		return fmt.Errorf("%s already exists and may hold the team's edits: pass --force to replace it, or --out FILE", out)
	}
	if err := writeOutput(out, buf.Bytes()); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(a.stdout, out); err != nil {
		return fmt.Errorf("writing the review's path: %w", err)
	}
	return nil
}
