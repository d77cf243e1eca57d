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

// envPrefix prefixes the environment variables that stand in for flags:
// --output is RCA_OUTPUT, --baseline-from is RCA_BASELINE_FROM.
const envPrefix = "RCA"

func main() {
	// Ctrl-C cancels the context that every command's I/O runs under, so a
	// slow read stops cleanly instead of being killed mid-write.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, newRootCmd(os.Stdout, os.Stderr), os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command tree and turns its error into one line on stderr
// and an exit code: 0 ok, 1 failure, 2 bad usage, 130 interrupted.
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
	v     *viper.Viper
	log   *slog.Logger
	// cfg is the --config file: its flat keys are merged into v, its
	// sections read directly.
	cfg config.File
}

func newApp(stdout, stderr io.Writer, now func() time.Time) *app {
	return &app{
		stdout: stdout,
		stderr: stderr,
		now:    now,
		clock:  now,
		v:      viper.New(),
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
e.g. RCA_OUTPUT=json). Flags win over the environment, which wins over the file.`,
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

	root.AddCommand(a.analyzeCmd(), a.snapshotCmd(), a.logCmd(), a.impactCmd(), a.updateCmd(), a.reviewCmd(),
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
	v := a.v
	v.SetEnvPrefix(envPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	// Only the running command's flags (with the inherited persistent ones)
	// are bound, so two commands may use the same flag name.
	if err := v.BindPFlags(cmd.Flags()); err != nil {
		return fmt.Errorf("binding flags: %w", err)
	}
	if path := v.GetString("config"); path != "" {
		if err := a.loadConfig(cmd, path); err != nil {
			return err
		}
	}
	if err := a.applyConfig(cmd); err != nil {
		return err
	}
	level := slog.LevelWarn
	if v.GetBool("verbose") {
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	if a.cfg.Path != "" {
		a.log.Debug("loaded config", "file", a.cfg.Path, "keys", len(a.cfg.Flags))
	}
	a.warnUnknownEnv(cmd)
	return nil
}

// loadConfig reads the config file and merges its flat keys into viper,
// below the environment and the flags.
func (a *app) loadConfig(cmd *cobra.Command, path string) error {
	keys := map[string]config.Key{}
	for name, typ := range knownKeys(cmd.Root()) {
		keys[name] = config.Key{Type: typ, Path: isPathFlag(name)}
	}
	cfg, err := config.Load(path, keys)
	if err != nil {
		return err
	}
	a.cfg = cfg
	if err := a.v.MergeConfigMap(cfg.FlagMap()); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// knownKeys maps every flag name in the command tree to its type: these are
// the keys a config file may set. "config" and "help" are not settable.
func knownKeys(root *cobra.Command) map[string]string {
	keys := map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) {
			if f.Name != "config" && f.Name != "help" {
				keys[f.Name] = f.Value.Type()
			}
		}
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return keys
}

// envName is the environment variable for a flag.
func envName(key string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// source is where a key's effective value comes from.
type source int

const (
	fromDefault source = iota
	fromFlag
	fromEnv
	fromConfig
)

// origin says where a key's effective value comes from, and names it for
// error messages: "--lookback", "RCA_LOOKBACK", "lookback in config file
// rca.yaml line 3". Precedence is viper's: flag, environment, config file.
func (a *app) origin(cmd *cobra.Command, key string) (source, string) {
	if f := cmd.Flags().Lookup(key); f != nil && f.Changed {
		return fromFlag, "--" + key
	}
	if os.Getenv(envName(key)) != "" { // viper ignores empty variables too
		return fromEnv, envName(key)
	}
	if _, ok := a.cfg.Flags[key]; ok {
		return fromConfig, a.cfg.Origin(key)
	}
	return fromDefault, "--" + key
}

// originName is origin's description alone.
func (a *app) originName(cmd *cobra.Command, key string) string {
	_, name := a.origin(cmd, key)
	return name
}

// applyConfig checks every value that comes from the environment or the
// config file with the flag's own parser, so "RCA_LOOKBACK=soon" fails as
// clearly as "--lookback soon" would.
func (a *app) applyConfig(cmd *cobra.Command) error {
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		src, name := a.origin(cmd, f.Name)
		if src != fromEnv && src != fromConfig || len(errs) > 0 {
			return
		}
		if isListType(f.Value.Type()) {
			for _, item := range a.v.GetStringSlice(f.Name) {
				if err := f.Value.Set(item); err != nil {
					errs = append(errs, fmt.Errorf("%s: invalid value %q: %w", name, item, err))
					return
				}
			}
			return
		}
		val := a.v.GetString(f.Name)
		if err := f.Value.Set(val); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q: %w", name, val, err))
		}
	})
	return errors.Join(errs...)
}

// isListType reports whether a flag type takes several values (repeated
// flags, a YAML list in the config file).
func isListType(typ string) bool {
	return strings.HasSuffix(typ, "Array") || strings.HasSuffix(typ, "Slice")
}

// isPathFlag reports whether a flag's value is a file or directory path:
// in the config file, relative to the file.
func isPathFlag(name string) bool {
	return name == "catalog" || name == "snapshot" || name == "out" || name == "changes-file" || name == "repo" || name == "incidents-dir"
}

// warnUnknownEnv points out RCA_* variables that match no flag: usually a
// typo that would otherwise be silently ignored.
func (a *app) warnUnknownEnv(cmd *cobra.Command) {
	known := knownKeys(cmd.Root())
	known["config"] = "string"
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix+"_") {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, envPrefix+"_"), "_", "-"))
		if _, ok := known[key]; !ok {
			a.log.Warn("ignoring environment variable that matches no flag", "name", name)
		}
	}
}

// durationFlag is a pflag.Value that reads durations with days and weeks
// (7d, 2w), which time.ParseDuration does not.
type durationFlag struct{ d *time.Duration }

func newDurationFlag(fs *pflag.FlagSet, name string, value time.Duration, usage string) {
	d := value
	fs.Var(durationFlag{&d}, name, usage)
}

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "" // so an unset flag shows no "(default 0)" in help
	}
	return timerange.FormatDuration(*f.d)
}

func (f durationFlag) Set(s string) error {
	d, err := timerange.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (f durationFlag) Type() string { return "duration" }

// duration reads a duration key through viper (flag, environment or config).
func (a *app) duration(cmd *cobra.Command, key string) (time.Duration, error) {
	s := a.v.GetString(key)
	if s == "" {
		return 0, nil
	}
	d, err := timerange.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", a.originName(cmd, key), err)
	}
	return d, nil
}

// writeOutput writes a finished report to path atomically, so a failure
// never leaves half a report behind.
func writeOutput(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
