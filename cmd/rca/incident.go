package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/timerange"
)

// incidentFlags are the flags of every command that reads or writes the log.
func incidentFlags(f *pflag.FlagSet) {
	f.String("incidents-dir", "", "`dir` holding the incidents (default: the incidents folder in this folder or one above it, up to the git repository's root; also incident.dir in the config, RCA_INCIDENTS_DIR)")
}

// incidentIDFlag is --incident on the commands that act on one incident,
// the current one unless named; argToo says the ID may also be the
// command's argument.
func incidentIDFlag(f *pflag.FlagSet, argToo bool) {
	usage := "incident `ID` (default: the current one)"
	if argToo {
		usage = "incident `ID` (default: the current one; or give it as the argument)"
	}
	f.String("incident", "", usage)
}

// authorFlag is the flag of the commands that sign log entries.
func authorFlag(f *pflag.FlagSet) {
	f.String("author", "", "who writes the entry (default incident.author in the config, then $USER)")
}

// atFlag is --at on the commands that record a moment the engineer may
// only get to write down later.
func atFlag(f *pflag.FlagSet, what string) {
	f.String("at", "", "when "+what+", `time`: RFC3339 (2026-11-24T14:10:00Z), unix seconds or relative (now-10m, -10m); default now")
}

// maxAtSkew is how far in the future --at may lie: another machine's
// clock, a minute rounded up.
const maxAtSkew = 2 * time.Minute

// eventTime is when the entry's event happened and when it is written:
// --at and now, or now and zero when --at is not given. A time that does
// not parse, or lies in the future, is a usage error.
func (a *app) eventTime() (at, written time.Time, err error) {
	written = a.clock().UTC()
	s := strings.TrimSpace(a.conf.V.GetString("at"))
	if s == "" {
		return written, time.Time{}, nil
	}
	now := a.now()
	t, err := timerange.Parse(s, now)
	if err != nil {
		return time.Time{}, time.Time{}, usageError{fmt.Errorf("--at: %w", err)}
	}
	if t.After(now.Add(maxAtSkew)) {
		return time.Time{}, time.Time{}, usageError{fmt.Errorf("--at %s is %s in the future (now is %s UTC): give the time it happened", t.Format(time.RFC3339), timerange.FormatDuration(t.Sub(now).Round(time.Second)), now.UTC().Format("15:04:05"))}
	}
	return t, written, nil
}

// readIncident reads the log of the incident named (an ID, "current" or "").
func (a *app) readIncident(ctx context.Context, want string) (incident.Store, *incident.Log, error) {
	s := a.store()
	id, err := a.resolveIncident(s, want)
	if err != nil {
		return s, nil, err
	}
	l, err := s.Read(ctx, id)
	return s, l, err
}

// atMostOneID is the Args check of the commands that take an optional ID.
func atMostOneID(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageError{fmt.Errorf("%s takes at most one incident ID", cmd.Name())}
	}
	return nil
}

// incidentArg is the incident named by the optional ID argument or by
// --incident (not both), "" for the current one.
func (a *app) incidentArg(cmd *cobra.Command, args []string) (string, error) {
	flag := a.conf.V.GetString("incident")
	switch {
	case len(args) == 1 && cmd.Flags().Changed("incident"):
		return "", usageError{errors.New("name the incident once: as an argument or with --incident, not both")}
	case len(args) == 1:
		return args[0], nil
	}
	return flag, nil
}

// store is the incidents directory the user chose, or the one found from
// the working directory (config.FindIncidents).
func (a *app) store() incident.Store {
	s, _ := a.storeFrom()
	return s
}

// storeFrom is store, and the working directory when the store was found
// away from its ./incidents (above it, or at the repository's root).
func (a *app) storeFrom() (s incident.Store, awayFrom string) {
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "" // ./incidents, as before
	}
	dir, away := a.conf.IncidentsDir(cwd)
	if away {
		awayFrom = cwd
	}
	return incident.Store{Dir: dir}, awayFrom
}

// sayStore tells where the incidents are when that is not ./incidents, so
// a command run from another folder never silently uses another store.
func (a *app) sayStore(s incident.Store, awayFrom string) {
	if awayFrom != "" {
		fmt.Fprintf(a.stderr, "incidents in %s (found from %s; --incidents-dir or RCA_INCIDENTS_DIR to choose)\n", s.Dir, awayFrom)
	}
}

// resolveIncident turns --incident (an ID, "current" or "") into an ID.
func (a *app) resolveIncident(s incident.Store, id string) (string, error) {
	got, err := s.Resolve(id)
	if errors.Is(err, incident.ErrNoCurrent) {
		return "", fmt.Errorf("no current incident in %s: start one with: rca log start --title \"what is broken\"", s.Dir)
	}
	return got, err
}

// record appends an entry, regenerates the Markdown and mirrors the log to
// Loki when configured. Only the append can fail the command: the entry is
// safe on disk before anything else is tried.
func (a *app) record(ctx context.Context, s incident.Store, id string, e incident.Entry) error {
	if e.Time.IsZero() {
		e.Time = a.clock().UTC()
	}
	if e.Author == "" {
		e.Author = a.conf.Author()
	}
	if _, err := s.Append(ctx, id, e); err != nil {
		return err
	}
	a.recorded(ctx, s, id)
	return nil
}

// recorded follows a new entry: it regenerates the Markdown and mirrors the
// log; neither can fail the command.
func (a *app) recorded(ctx context.Context, s incident.Store, id string) {
	if err := s.Render(ctx, id); err != nil {
		fmt.Fprintf(a.stderr, "rca: warning: the entry is saved in %s, but log.md could not be regenerated: %s\n", s.Path(id), termui.OneLine(err.Error()))
	}
	a.mirror(ctx, s, id)
}

// mirror pushes the entries Loki has not seen yet; a failure is reported
// and retried with the next entry.
func (a *app) mirror(ctx context.Context, s incident.Store, id string) {
	if a.conf.File.Incident.LokiURL == "" {
		return
	}
	m := incident.Mirror{URL: a.conf.File.Incident.LokiURL, TenantID: a.conf.File.Incident.LokiTenant}
	n, err := m.Sync(ctx, s, id)
	if err != nil {
		fmt.Fprintf(a.stderr, "rca: warning: %s\n", termui.OneLine(err.Error()))
		return
	}
	a.log.Debug("mirrored to loki", "entries", n)
}

func (a *app) logCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Keep the incident log: start, note, mitigate, resolve, show, list",
		Long: `log keeps a timestamped record of the incident, the way the on-call guide asks:
start it as soon as you know something is wrong, note what you see and do,
and resolve it when it is over. rca analyze, impact and update add their
findings to it; rca review turns it into a postmortem draft.

Each incident is a folder under the incidents directory (--incidents-dir,
RCA_INCIDENTS_DIR or incident.dir in the config; by default the incidents
folder here or in a folder above, up to the git repository's root, else
the root's, else ./incidents outside a repository): log.jsonl is the log itself,
append-only, safe to write from several terminals at once; log.md is its
Markdown rendering; evidence/ holds attached reports and snapshots.

Commands act on the current incident (the last one started) unless
--incident names another.`,
		Example: `  rca log start --title "checkout 500s" --severity SEV2 --impact "customers cannot pay"
  rca log note "rolled back checkout to v1.4.1"
  rca log note --change --service checkout --version v1.4.2 "deployed checkout v1.4.2"
  rca log mitigate "rollback done, error rate falling"
  rca log resolve "error rate back to baseline for 30 minutes"
  rca log show`,
		Args: noArgs,
	}
	cmd.AddCommand(a.logStartCmd(), a.logNoteCmd(), a.logTextCmd(incident.KindMitigate), a.logTextCmd(incident.KindResolve), a.logShowCmd(), a.logListCmd())
	return cmd
}

func (a *app) logStartCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start --title TEXT",
		Short: "Open a new incident and make it the current one",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			title := strings.TrimSpace(a.conf.V.GetString("title"))
			if title == "" {
				return usageError{errors.New("--title is required: a few words on what is broken, e.g. --title \"checkout 500s\"")}
			}
			at, written, err := a.eventTime()
			if err != nil {
				return err
			}
			s, awayFrom := a.storeFrom()
			a.sayStore(s, awayFrom)
			id, err := s.Start(cmd.Context(), incident.StartOptions{
				Title: title, Severity: a.conf.V.GetString("severity"), Impact: a.conf.V.GetString("impact"),
				Author: a.conf.Author(), Time: at, Recorded: written,
			})
			var started *incident.StartedError
			switch {
			case errors.As(err, &started) && !started.Current:
				// The incident exists: say its ID, or notes would go elsewhere.
				if _, werr := fmt.Fprintln(a.stdout, id); werr != nil {
					return fmt.Errorf("writing the incident ID: %w", werr)
				}
				return fmt.Errorf("%w: pass --incident %s to the next commands", err, id)
			case errors.As(err, &started):
				fmt.Fprintf(a.stderr, "rca: warning: %v\n", err)
			case err != nil:
				return err
			}
			a.mirror(cmd.Context(), s, id)
			if _, err := fmt.Fprintln(a.stdout, id); err != nil {
				return fmt.Errorf("writing the incident ID: %w", err)
			}
			fmt.Fprintf(a.stderr, "started %s in %s; it is now the current incident.\nNext: rca impact --incident current ... to measure who is affected; rca log note \"...\" as you go.\n", id, s.Path(id))
			return nil
		},
	}
	f := cmd.Flags()
	f.String("title", "", "what is broken, in a few words (required)")
	f.String("severity", "", "severity, SEV1 (worst) to SEV5")
	f.String("impact", "", "who is affected and how, as far as you know yet")
	atFlag(f, "the incident started (it names the incident)")
	authorFlag(f)
	incidentFlags(f)
	return cmd
}

func (a *app) logNoteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "note TEXT...",
		Short: "Add a timestamped note (or, with --change, a change the analysis should know of)",
		Long: `note appends TEXT to the incident log with the time and your name.

With --change the note records a change (a deploy, a flag flip, a config
edit) that rca analyze --incident reads as a change event: give --service,
and --version/--from-version when known; --at says when it happened
(default now).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("note needs the text to record, e.g. rca log note \"restarted checkout-7d9f\"")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.logNote(cmd, strings.Join(args, " ")) },
	}
	f := cmd.Flags()
	incidentIDFlag(f, false)
	authorFlag(f)
	f.Bool("change", false, "record a change event for the analysis")
	f.String("service", "", "the service that changed (with --change)")
	f.String("kind", "deploy", "kind of change: deploy, version, config, restart, flag (with --change)")
	f.String("version", "", "the version rolled out (with --change)")
	f.String("from-version", "", "the version before it, the rollback target (with --change)")
	f.String("at", "", "when the change happened, `time` (with --change; default now)")
	incidentFlags(f)
	return cmd
}

func (a *app) logNote(cmd *cobra.Command, text string) error {
	v := a.conf.V
	e := incident.Entry{Kind: incident.KindNote, Text: text}
	if v.GetBool("change") {
		svc := strings.TrimSpace(v.GetString("service"))
		if svc == "" {
			return usageError{errors.New("--change needs --service: the service that changed")}
		}
		kind := telemetry.ChangeKind(strings.ToLower(v.GetString("kind")))
		switch kind {
		case telemetry.ChangeDeploy, telemetry.ChangeVersion, telemetry.ChangeConfig, telemetry.ChangeRestart, telemetry.ChangeFlag:
		default:
			return usageError{fmt.Errorf("--kind %q: use deploy, version, config, restart or flag", v.GetString("kind"))}
		}
		at := a.now().UTC()
		if s := v.GetString("at"); s != "" {
			t, err := timerange.Parse(s, a.now())
			if err != nil {
				return usageError{fmt.Errorf("--at: %w", err)}
			}
			at = t.UTC()
		}
		e.Kind = incident.KindChange
		e.Change = &telemetry.Change{
			T: at, Service: svc, Kind: kind, Summary: text,
			ToVersion: v.GetString("version"), FromVersion: v.GetString("from-version"), Source: "incident log",
		}
	} else {
		for _, f := range []string{"service", "kind", "version", "from-version", "at"} {
			if cmd.Flags().Changed(f) {
				return usageError{fmt.Errorf("--%s only applies with --change", f)}
			}
		}
	}
	s := a.store()
	id, err := a.resolveIncident(s, v.GetString("incident"))
	if err != nil {
		return err
	}
	if err := a.record(cmd.Context(), s, id, e); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "noted in %s\n", id)
	a.warnResolved(cmd.Context(), s, id)
	return nil
}

// logTextCmd is mitigate or resolve: a milestone with a line of text.
func (a *app) logTextCmd(kind incident.Kind) *cobra.Command {
	short := map[incident.Kind]string{
		incident.KindMitigate: "Record that the bleeding stopped (rollback, failover, ...)",
		incident.KindResolve:  "Record that the incident is over",
	}[kind]
	cmd := &cobra.Command{
		Use:   string(kind) + " TEXT...",
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("%s needs a line on what was done, e.g. rca log %s \"rolled back checkout to v1.4.1\"", kind, kind)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			at, written, err := a.eventTime()
			if err != nil {
				return err
			}
			s := a.store()
			id, err := a.resolveIncident(s, a.conf.V.GetString("incident"))
			if err != nil {
				return err
			}
			if err := a.record(cmd.Context(), s, id, incident.Entry{Kind: kind, Time: at, Recorded: written, Text: strings.Join(args, " ")}); err != nil {
				return err
			}
			if written.IsZero() {
				fmt.Fprintf(a.stderr, "%s recorded in %s\n", kind, id)
			} else {
				fmt.Fprintf(a.stderr, "%s recorded in %s, at %s UTC\n", kind, id, at.Format("2006-01-02 15:04:05"))
			}
			if kind == incident.KindResolve {
				fmt.Fprintf(a.stderr, "Next: rca update --incident %s for the last stakeholder update; rca review %s for the postmortem draft.\n", id, id)
			}
			return nil
		},
	}
	f := cmd.Flags()
	incidentIDFlag(f, false)
	atFlag(f, map[incident.Kind]string{incident.KindMitigate: "the bleeding stopped", incident.KindResolve: "the incident ended"}[kind])
	authorFlag(f)
	incidentFlags(f)
	return cmd
}

func (a *app) logShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show [ID]",
		Short: "Print an incident's timeline (default: the current incident)",
		Args:  atMostOneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			want, err := a.incidentArg(cmd, args)
			if err != nil {
				return err
			}
			s, l, err := a.readIncident(cmd.Context(), want)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := incident.RenderMarkdown(&buf, l); err != nil {
				return err
			}
			if _, err := a.stdout.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("writing the log: %w", err)
			}
			for _, p := range l.Problems {
				fmt.Fprintf(a.stderr, "rca: warning: %s line %d: %s\n", filepath.Join(s.Path(l.ID), "log.jsonl"), p.Line, termui.OneLine(fmt.Sprint(p.Err)))
			}
			every, err := a.conf.UpdateEvery()
			if err != nil {
				return err
			}
			if r := l.UpdateReminder(every, a.now()); r != "" {
				fmt.Fprintln(a.stderr, r)
			}
			return nil
		},
	}
	incidentIDFlag(cmd.Flags(), true)
	newDurationFlag(cmd.Flags(), "every", incident.DefaultCadence, "stakeholder update cadence, for the reminder")
	incidentFlags(cmd.Flags())
	return cmd
}

func (a *app) logListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the incidents, newest first (* marks the current one)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, awayFrom := a.storeFrom()
			a.sayStore(s, awayFrom)
			list, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintf(a.stderr, "no incidents in %s (rca log start --title ... opens one)\n", s.Dir)
				return nil
			}
			// One write, checked: a full disk or a closed pipe is a failure.
			var buf bytes.Buffer
			for _, in := range list {
				fmt.Fprintln(&buf, in.Line())
			}
			if _, err := a.stdout.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("writing the list: %w", err)
			}
			return nil
		},
	}
	incidentFlags(cmd.Flags())
	return cmd
}

// warnResolved points out an entry added to an incident already resolved:
// at the next page, the current incident may be last night's.
func (a *app) warnResolved(ctx context.Context, s incident.Store, id string) {
	if l, err := s.Read(ctx, id); err == nil && l.Status() == incident.StatusResolved {
		fmt.Fprintf(a.stderr, "rca: warning: %s was already resolved; for a new incident run rca log start --title \"...\"\n", id)
	}
}
