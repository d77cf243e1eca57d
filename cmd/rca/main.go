// Command rca is an observability-driven root-cause assistant for on-call
// engineers: point it at an incident window and it writes a layered cause
// chain with evidence. This package is wiring only: cobra commands, viper
// configuration, and calls into collectors, analysis and report.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/rca-tool/rca/internal/atomicfile"
	"github.com/rca-tool/rca/internal/config"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/timerange"
)

func main() {
	// Ctrl-C cancels the context that every command's I/O runs under, so a
	// slow read stops cleanly instead of being killed mid-write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks; a second one must end rca even when an open
	// or read blocks where no context reaches (a named pipe with no
	// writer): once the context is done, signals act as they do by default.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, newRootCmd(os.Stdout, os.Stderr), os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command tree and turns its error into one line on stderr
// and an exit code: 0 ok, 1 failure, 2 bad usage (a usageError anywhere in
// the chain, or cobra's own), 130 interrupted.
func run(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "rca: interrupted")
		return 130
	}
	fmt.Fprintf(stderr, "rca: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

// oneLine folds a multi-line message (cobra's "Did you mean this?" hints, a
// wrapped YAML error) into one line, so scripts and humans see one error,
// with no terminal escapes from the servers' text it may carry.
func oneLine(s string) string { return termui.OneLine(s) }

// usageError marks errors in how rca was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// app is what the commands share. It lives for one execution of the tree;
// there is no package-level state, so tests run commands in-process.
type app struct {
	stdout, stderr io.Writer
	now            func() time.Time
	// clock stamps incident log entries: to the nanosecond, so entries
	// written within one second keep their order wherever they are sorted.
	clock func() time.Time
	// conf is the flags, the environment and the --config file, layered.
	conf *config.Layers
	log  *slog.Logger
}

func newApp(stdout, stderr io.Writer, now func() time.Time) *app {
	return &app{
		stdout: stdout,
		stderr: stderr,
		now:    now,
		clock:  now,
		conf:   &config.Layers{V: viper.New()},
		log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// newRootCmd builds the whole command tree writing to stdout and stderr.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	// Whole seconds: relative times (now-30m) then read cleanly in reports
	// and errors, and nothing in an incident window needs finer "now".
	a := newApp(stdout, stderr, func() time.Time { return time.Now().Truncate(time.Second) })
	a.clock = time.Now
	return a.rootCmd()
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rca",
		Short: "Find the root cause of an incident from metrics, logs and changes",
		Long: `rca points at an incident window, pulls metrics, logs and change events,
finds what changed, and writes a layered cause chain from the user-facing
symptom down to the change that started it, with evidence for every link.

Every flag can also be set in the --config file (key = flag name) or as an
environment variable (RCA_ + flag name in upper case, dashes as underscores,
e.g. RCA_OUTPUT=json). Flags win over the environment, which wins over the file.

Exit status: 0 done; 1 the run failed (a file or server could not be read, bad
data, a failed write); 2 usage error (a flag, RCA_ variable or config setting
that is unknown, malformed, conflicting or missing); 130 interrupted (a second
Ctrl-C ends rca at once).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	pf := root.PersistentFlags()
	pf.String("config", "", "YAML configuration `file` (keys are flag names); also RCA_CONFIG")
	pf.BoolP("verbose", "v", false, "log what rca does to stderr (debug level)")
	pf.String("catalog", "", "extra signal catalog YAML `file`, extending the built-in one")

	root.AddCommand(a.analyzeCmd(), a.snapshotCmd(), a.logCmd(), a.impactCmd(), a.updateCmd(), a.reviewCmd(), a.serveCmd(),
		newEvalCmd(a.stdout, a.stderr), a.versionCmd())
	return root
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}

// setup runs before every command: it loads the config file, binds the
// environment and the flags into viper, and builds the logger.
func (a *app) setup(cmd *cobra.Command) error {
	c := a.conf
	c.Flags = cmd.Flags()
	if err := c.Bind(); err != nil {
		return err
	}
	keys := config.Keys(flagSets(cmd.Root())...)
	if path := c.V.GetString("config"); path != "" {
		if err := c.Load(path, keys); err != nil {
			// A setting the file gets wrong is a usage error; a file that
			// cannot be read is a failure, as any input's is.
			if ce := (*config.Error)(nil); errors.As(err, &ce) {
				return usageError{err}
			}
			return err
		}
	}
	if err := c.Apply(); err != nil {
		return usageError{err}
	}
	level := slog.LevelWarn
	if c.V.GetBool("verbose") {
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	if c.File.Path != "" {
		a.log.Debug("loaded config", "file", c.File.Path, "keys", len(c.File.Flags))
	}
	for _, name := range config.UnknownEnv(keys) {
		a.log.Warn("ignoring environment variable that matches no flag", "name", name)
	}
	return nil
}

// flagSets are the flags of every command in the tree: the keys a config
// file may set.
func flagSets(root *cobra.Command) []*pflag.FlagSet {
	sets := []*pflag.FlagSet{root.LocalFlags(), root.PersistentFlags()}
	for _, sub := range root.Commands() {
		sets = append(sets, flagSets(sub)...)
	}
	return sets
}

// newDurationFlag adds a flag that reads durations with days and weeks
// (7d, 2w), which time.ParseDuration does not.
func newDurationFlag(fs *pflag.FlagSet, name string, value time.Duration, usage string) {
	d := timerange.DurationValue(value)
	fs.Var(&d, name, usage)
}

// writeOutput writes a finished report to path atomically, so a failure
// never leaves half a report behind.
func writeOutput(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
