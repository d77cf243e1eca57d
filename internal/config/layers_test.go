package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/rca-tool/rca/timerange"
)

// layers builds a command's configuration as rca's setup does: flags
// parsed from args, the environment, and the config file content (none
// when ""), checked with Apply.
func layers(t *testing.T, file string, args ...string) (*Layers, error) {
	t.Helper()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	lookback := timerange.DurationValue(2 * time.Hour)
	fs.Var(&lookback, "lookback", "")
	step := timerange.DurationValue(0)
	fs.Var(&step, "step", "")
	fs.String("output", "text", "")
	fs.String("author", "", "")
	fs.String("incidents-dir", "", "")
	every := timerange.DurationValue(30 * time.Minute)
	fs.Var(&every, "every", "")
	fs.StringArray("dataset", nil, "")
	fs.String("config", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	l := &Layers{V: viper.New(), Flags: fs}
	if err := l.Bind(); err != nil {
		t.Fatal(err)
	}
	if file != "" {
		path := filepath.Join(t.TempDir(), "rca.yaml")
		if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := l.Load(path, Keys(fs)); err != nil {
			return l, err
		}
	}
	return l, l.Apply()
}

// TestOrigin: flags win over the environment, which wins over the file,
// and each is named as the user wrote it.
func TestOrigin(t *testing.T) {
	const file = "output: json\nlookback: 3h\n"
	l, err := layers(t, file)
	if err != nil {
		t.Fatal(err)
	}
	if src, name := l.Origin("lookback"); src != FromConfig || name != "lookback in config file "+l.File.Path+" line 2" {
		t.Errorf("from the file: %v %q", src, name)
	}
	if src, name := l.Origin("step"); src != FromDefault || name != "--step" {
		t.Errorf("default: %v %q", src, name)
	}
	t.Setenv("RCA_LOOKBACK", "4h")
	if l, err = layers(t, file); err != nil {
		t.Fatal(err)
	}
	if src, name := l.Origin("lookback"); src != FromEnv || name != "RCA_LOOKBACK" {
		t.Errorf("from the environment: %v %q", src, name)
	}
	if d, err := l.Duration("lookback"); err != nil || d != 4*time.Hour {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if l, err = layers(t, file, "--lookback", "7d"); err != nil {
		t.Fatal(err)
	}
	if src, name := l.Origin("lookback"); src != FromFlag || name != "--lookback" {
		t.Errorf("from the flag: %v %q", src, name)
	}
	if d, err := l.Duration("lookback"); err != nil || d != 7*24*time.Hour {
		t.Errorf("Duration = %v, %v", d, err)
	}
	if s := l.Setting("output"); s.Value != "json" || s.Origin != "output in config file "+l.File.Path+" line 1" {
		t.Errorf("Setting(output) = %+v", s)
	}
	if s := l.Setting("no-such-flag"); s != (Setting{}) {
		t.Errorf("Setting of a flag the command lacks = %+v", s)
	}
	if EnvName("baseline-from") != "RCA_BASELINE_FROM" {
		t.Errorf("EnvName = %q", EnvName("baseline-from"))
	}
}

// TestApply: values from the environment and the file go through the
// flag's own parser, and the error names where the value was given.
func TestApply(t *testing.T) {
	if _, err := layers(t, "lookback: soon\n"); err == nil || !strings.HasPrefix(err.Error(), "lookback in config file ") || !strings.Contains(err.Error(), `line 1: invalid value "soon"`) {
		t.Errorf("file: err = %v", err)
	}
	l, err := layers(t, "dataset: [a, b]\n")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Flags.GetStringArray("dataset"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("dataset = %q", got)
	}
	t.Setenv("RCA_LOOKBACK", "soon")
	if _, err := layers(t, ""); err == nil || !strings.HasPrefix(err.Error(), `RCA_LOOKBACK: invalid value "soon"`) {
		t.Errorf("environment: err = %v", err)
	}
	if _, err := layers(t, "", "--lookback", "1h"); err != nil {
		t.Errorf("a flag wins over a bad environment value: %v", err)
	}
}

func TestDurationError(t *testing.T) {
	l, err := layers(t, "")
	if err != nil {
		t.Fatal(err)
	}
	l.V.Set("step", "later")
	if _, err := l.Duration("step"); err == nil || !strings.HasPrefix(err.Error(), "--step: ") {
		t.Errorf("err = %v", err)
	}
	if d, err := l.Duration("no-such-key"); d != 0 || err != nil {
		t.Errorf("unset key: %v, %v", d, err)
	}
}

func TestKeys(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("config", "", "")
	fs.Bool("verbose", false, "")
	fs.String("catalog", "", "")
	other := pflag.NewFlagSet("y", pflag.ContinueOnError)
	other.StringArray("dataset", nil, "")
	keys := Keys(fs, other)
	want := map[string]Key{"verbose": {Type: "bool"}, "catalog": {Type: "string", Path: true}, "dataset": {Type: "stringArray"}}
	if len(keys) != len(want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	for k, w := range want {
		if keys[k] != w {
			t.Errorf("%s = %+v, want %+v", k, keys[k], w)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	t.Setenv("RCA_OUPUT", "json")
	t.Setenv("RCA_OUTPUT", "json")
	t.Setenv("RCA_CONFIG", "rca.yaml")
	t.Setenv("RCA_BASELINE_FROM", "now-2h")
	got := UnknownEnv(map[string]Key{"output": {}, "baseline-from": {}})
	if !slices.Equal(got, []string{"RCA_OUPUT"}) {
		t.Errorf("UnknownEnv = %q", got)
	}
}

// TestIncidentSettings: flags and the environment win over the incident
// section, which wins over the defaults.
func TestIncidentSettings(t *testing.T) {
	t.Setenv("USER", "dave")
	l, err := layers(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if dir, away := l.IncidentsDir(t.TempDir()); dir != "incidents" || away || l.Author() != "dave" {
		t.Errorf("defaults: dir %q (away %v), author %q", dir, away, l.Author())
	}
	// In a repository with a store at its root, the default is that store;
	// an explicit setting still wins over it.
	repo := t.TempDir()
	for _, d := range []string{".git", "incidents", "svc/api"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "incidents", "current"), []byte("INC-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd := filepath.Join(repo, "svc", "api")
	if dir, away := l.IncidentsDir(cwd); dir != filepath.Join(repo, "incidents") || !away {
		t.Errorf("default in a repository: dir %q (away %v), want the root's store", dir, away)
	}
	if d, err := l.UpdateEvery(); err != nil || d != 30*time.Minute {
		t.Errorf("default cadence %v, %v", d, err)
	}
	const file = "incident:\n  dir: incs\n  author: ' carol '\n  update_every: 15m\n"
	if l, err = layers(t, file); err != nil {
		t.Fatal(err)
	}
	if dir, away := l.IncidentsDir(cwd); dir != filepath.Join(filepath.Dir(l.File.Path), "incs") || away || l.Author() != "carol" {
		t.Errorf("file: dir %q (away %v), author %q", dir, away, l.Author())
	}
	if d, err := l.UpdateEvery(); err != nil || d != 15*time.Minute {
		t.Errorf("file cadence %v, %v", d, err)
	}
	if l, err = layers(t, file, "--incidents-dir", "x", "--author", "erin", "--every", "1h"); err != nil {
		t.Fatal(err)
	}
	if dir, away := l.IncidentsDir(cwd); dir != "x" || away || l.Author() != "erin" {
		t.Errorf("flags: dir %q (away %v), author %q", dir, away, l.Author())
	}
	if d, err := l.UpdateEvery(); err != nil || d != time.Hour {
		t.Errorf("flag cadence %v, %v", d, err)
	}
	t.Setenv("RCA_INCIDENTS_DIR", "/srv/incidents")
	if l, err = layers(t, file); err != nil {
		t.Fatal(err)
	}
	if dir, away := l.IncidentsDir(cwd); dir != "/srv/incidents" || away {
		t.Errorf("RCA_INCIDENTS_DIR: dir %q (away %v)", dir, away)
	}
}

// TestFindIncidents: the default store is the same from every folder of a
// repository, and never a folder of snapshots that happens to be called
// incidents.
func TestFindIncidents(t *testing.T) {
	type tree map[string]string // path -> file content; "/" ending: a folder
	tests := []struct {
		name string
		tree tree
		cwd  string
		want string // relative to the test's root, or "incidents"
		away bool
	}{
		{"outside a repository", tree{"a/b/": ""}, "a/b", "incidents", false},
		{"outside a repository, a store above is not looked for", tree{"incidents/current": "INC-1", "a/": ""}, "a", "incidents", false},
		{"the store in cwd", tree{".git/": "", "incidents/current": "INC-1"}, "", "incidents", false},
		{"a store above, found", tree{".git/": "", "incidents/INC-1/log.jsonl": "{}", "svc/api/": ""}, "svc/api", "incidents", true},
		{"the nearest store wins", tree{".git/": "", "incidents/current": "INC-1", "svc/incidents/current": "INC-2", "svc/api/": ""}, "svc/api", "svc/incidents", true},
		{"an empty incidents folder is a store", tree{".git/": "", "svc/incidents/": "", "svc/api/": ""}, "svc/api", "svc/incidents", true},
		{"snapshots named incidents are passed over", tree{".git/": "", "testdata/incidents/pi-digits/manifest.json": "{}"}, "testdata", "incidents", true},
		{"no store yet: the repository's root", tree{".git/": "", "svc/api/": ""}, "svc/api", "incidents", true},
		{"a worktree's .git file marks the root", tree{".git": "gitdir: /elsewhere", "svc/": ""}, "svc", "incidents", true},
		{"not above the repository's root", tree{"incidents/current": "INC-1", "repo/.git/": "", "repo/svc/": ""}, "repo/svc", "repo/incidents", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range tc.tree {
				full := filepath.Join(root, p)
				if strings.HasSuffix(p, "/") {
					if err := os.MkdirAll(full, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := tc.want
			if tc.away {
				want = filepath.Join(root, tc.want)
			}
			dir, away := FindIncidents(filepath.Join(root, tc.cwd))
			if dir != want || away != tc.away {
				t.Errorf("FindIncidents = %q, %v; want %q, %v", dir, away, want, tc.away)
			}
		})
	}
}
