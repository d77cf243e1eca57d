package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/internal/config"
	"github.com/spf13/cobra"
)

// fixedNow is the clock every in-process run sees.
var fixedNow = time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)

// runMainEnv, set to 1, makes the test binary run as rca (see TestMain).
const runMainEnv = "RCATEST_RUN_MAIN"

// TestMain clears RCA_* variables from the caller's environment so that a
// developer's own settings cannot change what the tests see.
func TestMain(m *testing.M) {
	// A test that needs the real process (signals, exit status) runs this
	// binary again as rca itself.
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, config.EnvPrefix+"_") {
			os.Unsetenv(name)
		}
	}
	os.Unsetenv("NO_COLOR")
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// rca runs the command tree in-process, as main would.
func rca(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, func() time.Time { return fixedNow })
	code := run(context.Background(), a.rootCmd(), args, &errb)
	return result{code, out.String(), errb.String()}
}

// wantOneLineError checks the contract for bad input: a non-zero exit, one
// line "rca: ..." on stderr containing want, nothing on stdout.
func wantOneLineError(t *testing.T, r result, wantCode int, want string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("exit code 0, want failure; stdout=%q stderr=%q", r.stdout, r.stderr)
	}
	if wantCode != 0 && r.code != wantCode {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, wantCode, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "rca: ") {
		t.Errorf("stderr should be one line starting with \"rca: \", got %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty on error, got %q", r.stdout)
	}
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "not-a-dir", "x")
	tests := []struct {
		name string
		args []string
		code int // 2: how rca was called is wrong (usage); 1: the run failed
		want string
	}{
		{"missing snapshot path", []string{"analyze", "--snapshot", filepath.Join(dir, "nope")}, 1, "snapshot " + filepath.Join(dir, "nope") + " does not exist"},
		{"snapshot is a file", []string{"analyze", "--snapshot", file}, 1, "is not a directory"},
		{"from after to", []string{"analyze", "--from", "2026-11-24T14:30:00Z", "--to", "2026-11-24T14:00:00Z"}, 2,
			"--from 2026-11-24T14:30:00Z is after --to 2026-11-24T14:00:00Z: the window must start before it ends"},
		{"from after to with snapshot", []string{"analyze", "--snapshot", dir, "--from", "now", "--to", "-1h"}, 2, "is after --to"},
		{"unparseable from", []string{"analyze", "--from", "yesterday"}, 2,
			`--from: unparseable time "yesterday": use RFC3339 (2026-11-24T14:02:00Z), unix seconds, or relative (now-30m, -2h)`},
		{"unparseable to", []string{"analyze", "--from", "-1h", "--to", "later"}, 2, `--to: unparseable time "later"`},
		{"unparseable around", []string{"analyze", "--around", "noon"}, 2, `--around: unparseable time "noon"`},
		{"unparseable baseline-from without window", []string{"analyze", "--baseline-from", "last week"}, 2, `--baseline-from: unparseable time "last week"`},
		{"time without offset", []string{"analyze", "--from", "2026-11-24T14:00:00"}, 2, "has no UTC offset"},
		{"empty window", []string{"analyze", "--from", "now", "--to", "now"}, 2, "empty window"},
		{"window too long", []string{"analyze", "--from", "now-30d"}, 2, "more than the 7d limit: narrow it"},
		{"around with from", []string{"analyze", "--around", "now-1h", "--from", "now-2h"}, 2, "--around cannot be combined with --from/--to"},
		{"baseline conflict", []string{"analyze", "--from", "now-1h", "--baseline", "2h", "--baseline-offset", "7d"}, 2, "choose one way to set the baseline"},
		{"baseline overlaps", []string{"analyze", "--from", "now-1h", "--baseline-offset", "30m"}, 2, "overlaps the window"},
		{"zero span", []string{"analyze", "--around", "now", "--span", "0"}, 2, "--span: must be longer than zero"},
		{"unknown output format", []string{"analyze", "-o", "xml"}, 2, `--output: unknown output format "xml": use text, markdown, json`},
		{"bad lookback", []string{"analyze", "--lookback", "soon"}, 2, `invalid argument "soon" for "--lookback"`},
		{"bad duration unit", []string{"analyze", "--baseline-offset", "7y"}, 2, `unknown unit "y"`},
		{"unknown flag", []string{"analyze", "--form", "now-1h"}, 2, "unknown flag: --form"},
		{"positional argument", []string{"analyze", "pi-digits"}, 2, `unknown command "pi-digits"`},
		{"unknown command", []string{"anlyze"}, 2, `unknown command "anlyze" for "rca" Did you mean this? analyze`},
		{"no data source", []string{"analyze", "--from", "now-1h"}, 2,
			"no data source: pass --snapshot DIR, or --prometheus-url URL"},
		{"no data source, no flags", []string{"analyze"}, 2, "no data source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantOneLineError(t, rca(t, tt.args...), tt.code, tt.want)
		})
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	snap := t.TempDir() // exists, so errors past the snapshot check show
	tests := []struct {
		name   string
		config string // file content; "-" for no file at all
		args   []string
		want   string
	}{
		{"missing file", "-", []string{"analyze"}, "does not exist"},
		{"malformed YAML", "output: json\nlookback: [2h\n", []string{"analyze"}, "YAML.yaml: line 1: did not find expected ',' or ']'"},
		{"bad indentation", "output: json\n  lookback: 2h\n", []string{"analyze"}, "line 2: mapping values are not allowed"},
		{"not a mapping", "- output\n- json\n", []string{"analyze"}, `line 1: want a mapping of keys to values (output: json), got a list`},
		{"unknown key", "output: json\noutptu: text\n", []string{"analyze"}, `line 2: unknown key "outptu" (known keys: `},
		{"list where a string goes", "from: [1, 2]\n", []string{"analyze"}, `line 1: key "from" wants a string value, got a list`},
		{"mapping where a duration goes", "lookback:\n  hours: 2\n", []string{"analyze"}, `line 2: key "lookback" wants a duration value, got a mapping`},
		{"empty value", "lookback:\n", []string{"analyze"}, `line 1: key "lookback" wants a duration value, got no value`},
		{"bool as a word", "verbose: sure\n", []string{"analyze"}, `line 1: key "verbose" wants true or false, got "sure"`},
		{"bad duration value", "output: json\nlookback: 7200\n", []string{"analyze"}, `lookback in config file CONFIG line 2: invalid value "7200": duration "7200" needs a unit`},
		{"bad output value", "output: xml\n", []string{"analyze"}, `output in config file CONFIG line 1: unknown output format "xml"`},
		{"bad time value", "from: yesterday\n", []string{"analyze"}, `--from: unparseable time "yesterday"`},
		{"config window reaches the resolver", "from: 2026-11-24T14:30:00Z\nto: 2026-11-24T14:00:00Z\n", []string{"analyze"}, "--from 2026-11-24T14:30:00Z is after --to"},
		{"catalog path is relative to the config file", "catalog: my-catalog.yaml\n", []string{"analyze", "--snapshot", snap},
			"catalog in config file CONFIG line 1: catalog file " + filepath.Join(dir, "my-catalog.yaml") + " does not exist"},
		{"flag wins over config", "output: xml\n", []string{"analyze", "-o", "json"}, "no data source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "missing.yaml")
			if tt.config != "-" {
				path = writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml", tt.config)
			}
			want := strings.ReplaceAll(tt.want, "CONFIG", path)
			r := rca(t, append([]string{"--config", path}, tt.args...)...)
			wantOneLineError(t, r, 0, want)
			if strings.Contains(tt.name, "YAML") || strings.Contains(tt.name, "key") || tt.config == "-" {
				if !strings.Contains(r.stderr, path) {
					t.Errorf("error should name the config file %s: %q", path, r.stderr)
				}
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "rca.yaml", "output: xml\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"config alone", nil, []string{"--config", cfg, "analyze"}, "output in config file"},
		{"env over config", map[string]string{"RCA_OUTPUT": "json"}, []string{"--config", cfg, "analyze"}, "no data source"},
		{"bad env over config", map[string]string{"RCA_OUTPUT": "yaml"}, []string{"--config", cfg, "analyze"}, `RCA_OUTPUT: unknown output format "yaml"`},
		{"flag over env", map[string]string{"RCA_OUTPUT": "yaml"}, []string{"analyze", "-o", "markdown"}, "no data source"},
		{"config from RCA_CONFIG", map[string]string{"RCA_CONFIG": cfg}, []string{"analyze"}, "output in config file " + cfg},
		{"env time", map[string]string{"RCA_FROM": "yesterday"}, []string{"analyze"}, `--from: unparseable time "yesterday"`},
		{"env duration", map[string]string{"RCA_BASELINE_OFFSET": "a week"}, []string{"analyze"}, `RCA_BASELINE_OFFSET: invalid value "a week"`},
		{"env bool", map[string]string{"RCA_VERBOSE": "maybe"}, []string{"analyze"}, `RCA_VERBOSE: invalid value "maybe"`},
		{"empty env is unset", map[string]string{"RCA_OUTPUT": ""}, []string{"--config", cfg, "analyze"}, "output in config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			wantOneLineError(t, rca(t, tt.args...), 0, tt.want)
		})
	}
}

func TestVerboseLogsToStderr(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "rca.yaml", "verbose: true\n")
	r := rca(t, "--config", cfg, "analyze")
	if r.code == 0 {
		t.Fatal("want failure (no data source)")
	}
	if !strings.Contains(r.stderr, "level=DEBUG") || !strings.Contains(r.stderr, "loaded config") {
		t.Errorf("verbose from the config file should log at debug, stderr = %q", r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "rca: no data source") {
		t.Errorf("last stderr line = %q, want the error", last)
	}
	// Without -v, nothing but the error.
	if r := rca(t, "analyze"); strings.Contains(r.stderr, "level=") {
		t.Errorf("default level should be quiet, stderr = %q", r.stderr)
	}
}

func TestUnknownEnvWarns(t *testing.T) {
	t.Setenv("RCA_OUPUT", "json")
	r := rca(t, "analyze")
	if !strings.Contains(r.stderr, "level=WARN") || !strings.Contains(r.stderr, "RCA_OUPUT") {
		t.Errorf("a misspelt RCA_ variable should be warned about, stderr = %q", r.stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"analyze", "--help"}, {}} {
		r := rca(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("rca %v: code %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	r := rca(t, "analyze", "--help")
	for _, flag := range []string{"--snapshot", "--output", "--out", "--lookback", "--from", "--to", "--around", "--span",
		"--baseline", "--baseline-from", "--baseline-to", "--baseline-offset", "--config", "--verbose", "--catalog"} {
		if !strings.Contains(r.stdout, flag+" ") {
			t.Errorf("analyze --help does not list %s", flag)
		}
	}
}

func TestVersion(t *testing.T) {
	dir := t.TempDir()
	broken := writeFile(t, dir, "broken.yaml", "output: [\n")
	// A broken config must not stop "rca version".
	r := rca(t, "--config", broken, "version")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("version: code %d, stderr %q", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "rca ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("version output = %q", r.stdout)
	}
}

func TestRunExitCodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := &cobra.Command{Use: "x", SilenceErrors: true, SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Context().Err() }}
	var errb bytes.Buffer
	if code := run(ctx, root, nil, &errb); code != 130 || errb.String() != "rca: interrupted\n" {
		t.Errorf("interrupted run: code %d, stderr %q", code, errb.String())
	}
	if got := oneLine("a\n\nb\tc  \n"); got != "a b c" {
		t.Errorf("oneLine = %q", got)
	}
	// Issue 17, defect 10: a server's error text carries no escape to the
	// terminal in the fatal line.
	root = &cobra.Command{Use: "x", SilenceErrors: true, SilenceUsage: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("500: \x1b]0;title\x07\x1b[2J\u202eevil")
		}}
	errb.Reset()
	if code := run(context.Background(), root, nil, &errb); code != 1 || strings.ContainsAny(errb.String(), "\x1b\x07\u202e") {
		t.Errorf("fatal line %q, code %d", errb.String(), code)
	}
}

func TestKnownKeys(t *testing.T) {
	keys := config.Keys(flagSets(newRootCmd(&bytes.Buffer{}, &bytes.Buffer{}))...)
	for _, k := range []string{"output", "lookback", "catalog", "verbose", "snapshot", "baseline-offset"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("config key %q not known", k)
		}
	}
	for _, k := range []string{"config", "help"} {
		if _, ok := keys[k]; ok {
			t.Errorf("%q should not be settable in a config file", k)
		}
	}
	if keys["lookback"].Type != "duration" || keys["verbose"].Type != "bool" {
		t.Errorf("types: lookback %q, verbose %q", keys["lookback"].Type, keys["verbose"].Type)
	}
}

func TestWriteOutput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	if err := writeOutput(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := writeOutput(path, []byte("second")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "second" {
		t.Errorf("report = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := writeOutput(filepath.Join(dir, "no", "such", "dir.json"), []byte("x")); err == nil || !strings.Contains(err.Error(), "writing report") {
		t.Errorf("write into a missing directory: err = %v", err)
	}
}

// TestConfigLists checks list-valued flags (repeatable, like eval's
// --dataset) on a tree of its own, independent of which commands use them.
func TestConfigLists(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, config string
		want         []string
		wantErr      string
	}{
		{"list", "item:\n  - a\n  - b\n", []string{"a", "b"}, ""},
		{"mapping in the list", "item:\n  - {a: 1}\n", nil, `line 2: key "item" wants a list of strings, got a mapping in it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(&bytes.Buffer{}, &bytes.Buffer{}, func() time.Time { return fixedNow })
			var got []string
			root := &cobra.Command{Use: "x", SilenceErrors: true, SilenceUsage: true,
				PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return a.setup(cmd) },
				RunE: func(cmd *cobra.Command, _ []string) error {
					got, _ = cmd.Flags().GetStringArray("item")
					return nil
				}}
			root.PersistentFlags().String("config", "", "")
			root.Flags().StringArray("item", nil, "")
			root.SetArgs([]string{"--config", writeFile(t, dir, "c.yaml", tt.config)})
			err := root.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("item = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestExitCodes (#17, defect 17): a usage error exits 2 whichever check
// catches it and wherever the setting comes from (flag, environment,
// config file); a run that fails exits 1.
func TestExitCodes(t *testing.T) {
	needPiDigits(t)
	dir := t.TempDir()
	empty := t.TempDir()
	writeFile(t, empty, "notes.txt", "not a snapshot")
	cfg := func(content string) string { return writeFile(t, t.TempDir(), "rca.yaml", content) }
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"time from the environment", map[string]string{"RCA_FROM": "yesterday"}, []string{"analyze"}, 2, `--from: unparseable time "yesterday"`},
		{"duration from the environment", map[string]string{"RCA_LOOKBACK": "soon"}, []string{"analyze"}, 2, `RCA_LOOKBACK: invalid value "soon"`},
		{"format from the environment", map[string]string{"RCA_OUTPUT": "yaml"}, []string{"analyze"}, 2, `RCA_OUTPUT: unknown output format "yaml"`},
		{"format from the config file", nil, []string{"--config", cfg("output: xml\n"), "analyze"}, 2, `unknown output format "xml"`},
		{"unknown key in the config file", nil, []string{"--config", cfg("outptu: text\n"), "analyze"}, 2, `unknown key "outptu"`},
		{"malformed config file", nil, []string{"--config", cfg("lookback: [2h\n"), "analyze"}, 2, "did not find expected"},
		{"baseline over a recorded window", nil, []string{"analyze", "--snapshot", piDigits, "--baseline-offset", "1m"}, 2, "overlaps the window"},
		{"snapshot window", nil, []string{"snapshot", "--out", filepath.Join(dir, "s"), "--from", "yesterday"}, 2, `--from: unparseable time "yesterday"`},
		{"snapshot without a server", nil, []string{"snapshot", "--out", filepath.Join(dir, "s"), "--from", "now-1h"}, 2, "no server to record from"},
		{"eval format", nil, []string{"eval", "-o", "xml", "--dataset", dir}, 2, `--output: unknown format "xml"`},
		{"eval without a dataset", nil, []string{"eval"}, 2, "eval needs at least one --dataset DIR"},
		// Failures of the run, not of how rca was called.
		{"missing config file", nil, []string{"--config", filepath.Join(dir, "none.yaml"), "analyze"}, 1, "does not exist"},
		{"missing dataset", nil, []string{"eval", "--dataset", filepath.Join(dir, "none")}, 1, "does not exist"},
		{"folder that is not a snapshot", nil, []string{"analyze", "--snapshot", empty}, 1, "no manifest.json in it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			wantOneLineError(t, rca(t, tt.args...), tt.code, tt.want)
		})
	}
}
