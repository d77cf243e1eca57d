package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// testKeys stand in for the command's flags.
var testKeys = map[string]Key{
	"output":   {Type: "string"},
	"lookback": {Type: "duration"},
	"verbose":  {Type: "bool"},
	"catalog":  {Type: "string", Path: true},
	"repo":     {Type: "string", Path: true},
	"dataset":  {Type: "stringArray"},
	"incident": {Type: "string"}, // a flag and a section, as in rca
}

const goodFile = `output: json
lookback: 2h
catalog: my-catalog.yaml
repo: /abs/shop
dataset: [a.json, b.json]
verbose: true
sources:
  prometheus:
    url: http://prom:9090
    basic_auth:
      username: rca
      password_file: secrets/prom
    timeout: 30s
  loki:
    url: http://loki:3100
    selector: '{app="shop"}'
    tls_config:
      ca_file: ca.pem
changes:
  file: deploys.yaml
  git:
    repo: ../shop
    services:
      checkout: ["services/checkout/**"]
  grafana:
    url: http://grafana
    authorization:
      credentials_file: grafana.token
    tags: [deploy]
incident:
  dir: incs
  author: carol
  update_every: 15m
  loki_url: http://loki:3100
  loki_tenant: t1
`

func TestParse(t *testing.T) {
	dir := filepath.Join("conf", "dir")
	path := filepath.Join(dir, "rca.yaml")
	f, err := Parse(path, []byte(goodFile), testKeys)
	if err != nil {
		t.Fatal(err)
	}
	in := func(p string) string { return filepath.Join(dir, p) }

	wantFlags := map[string]Value{
		"output":   {Text: "json", Line: 1},
		"lookback": {Text: "2h", Line: 2},
		"catalog":  {Text: in("my-catalog.yaml"), Line: 3},
		"repo":     {Text: "/abs/shop", Line: 4},
		"dataset":  {List: []string{"a.json", "b.json"}, Line: 5},
		"verbose":  {Text: "true", Line: 6},
	}
	if !reflect.DeepEqual(f.Flags, wantFlags) {
		t.Errorf("Flags = %+v\nwant %+v", f.Flags, wantFlags)
	}
	if got := f.FlagMap(); !reflect.DeepEqual(got["dataset"], []string{"a.json", "b.json"}) || got["lookback"] != "2h" {
		t.Errorf("FlagMap = %v", got)
	}

	p, l := f.Sources.Prometheus, f.Sources.Loki
	if p == nil || l == nil {
		t.Fatalf("sources = %+v", f.Sources)
	}
	if p.URL != "http://prom:9090" || p.HTTPClientConfig.BasicAuth == nil || p.HTTPClientConfig.BasicAuth.Username != "rca" || p.Timeout.String() != "30s" {
		t.Errorf("prometheus = %+v", p)
	}
	if !p.HTTPClientConfig.FollowRedirects {
		t.Error("prometheus lost Prometheus's HTTP client defaults (follow_redirects)")
	}
	if l.Selector != `{app="shop"}` || l.URL != "http://loki:3100" {
		t.Errorf("loki = %+v", l)
	}
	c := f.Changes
	if c.Git == nil || c.Grafana == nil || !reflect.DeepEqual(c.Git.Services["checkout"], []string{"services/checkout/**"}) || !reflect.DeepEqual(c.Grafana.Tags, []string{"deploy"}) {
		t.Errorf("changes = %+v", c)
	}
	if i := f.Incident; i.Author != "carol" || i.UpdateEvery != "15m" || i.LokiURL != "http://loki:3100" || i.LokiTenant != "t1" {
		t.Errorf("incident = %+v", i)
	}

	// Relative paths are relative to the file, absolute ones untouched.
	for name, got := range map[string][2]string{
		"basic_auth.password_file":         {p.HTTPClientConfig.BasicAuth.PasswordFile, in("secrets/prom")},
		"tls_config.ca_file":               {l.HTTPClientConfig.TLSConfig.CAFile, in("ca.pem")},
		"authorization.credentials_file":   {c.Grafana.HTTPClientConfig.Authorization.CredentialsFile, in("grafana.token")},
		"changes.file":                     {c.File, in("deploys.yaml")},
		"changes.git.repo":                 {c.Git.Repo, filepath.Join("conf", "shop")},
		"incident.dir":                     {f.Incident.Dir, in("incs")},
		"repo (absolute, a flat path key)": {f.Flags["repo"].Text, "/abs/shop"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}

	for key, want := range map[string]string{
		"lookback":           "lookback in config file " + path + " line 2",
		"sources":            "sources in config file " + path + " line 7",
		"sources.loki":       "sources.loki in config file " + path + " line 14",
		"changes.grafana":    "changes.grafana in config file " + path + " line 25",
		"incident":           "incident in config file " + path + " line 30",
		"incident.loki_url":  "incident.loki_url in config file " + path + " line 34",
		"sources.prometheus": "sources.prometheus in config file " + path + " line 8",
		"step":               "",
		"sources.nope":       "",
	} {
		if got := f.Origin(key); got != want {
			t.Errorf("Origin(%q) = %q, want %q", key, got, want)
		}
	}
	// "incident" is a section here, never the --incident flag's value.
	if _, ok := f.Flags["incident"]; ok {
		t.Error("the incident section was taken for the incident flag")
	}
}

func TestParseRepoInHome(t *testing.T) {
	f, err := Parse("d/rca.yaml", []byte("changes:\n  git:\n    repo: ~/src/shop\n"), testKeys)
	if err != nil || f.Changes.Git.Repo != "~/src/shop" {
		t.Errorf("repo = %+v, %v; ~ is git's to expand", f.Changes.Git, err)
	}
}

func TestParseEmpty(t *testing.T) {
	for name, content := range map[string]string{
		"empty file":     "",
		"only comments":  "# nothing yet\n",
		"empty sections": "sources:\n  # prometheus: {url: ...}\nchanges:\nincident:\n",
		"empty sources":  "sources: {}\nchanges: {}\n",
		"document start": "---\n# output: json\n",
		"null document":  "~\n",
	} {
		t.Run(name, func(t *testing.T) {
			f, err := Parse("rca.yaml", []byte(content), testKeys)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Flags) != 0 || f.Sources != (Sources{}) || f.Changes != (Changes{}) || f.Incident != (Incident{}) {
				t.Errorf("an empty file set something: %+v", f)
			}
			if f.Path != "rca.yaml" {
				t.Errorf("Path = %q", f.Path)
			}
		})
	}
}

// TestParseErrors: every error names the file and its line, in words for
// a person; unknown keys are errors at every depth.
func TestParseErrors(t *testing.T) {
	const prom = "sources:\n  prometheus:\n    url: http://p\n"
	const loki = "sources:\n  loki:\n    url: http://l\n"
	const grafana = "changes:\n  grafana:\n    url: http://g\n"
	tests := []struct {
		name, content string
		line          int
		want          string
	}{
		// The file as a whole.
		{"syntax", "output: json\nlookback: [2h\n", 1, "line 1: did not find expected ',' or ']'"},
		{"bad indentation", "output: json\n  lookback: 2h\n", 2, "line 2: mapping values are not allowed"},
		{"a list", "- output\n- json\n", 1, "line 1: want a mapping of keys to values (output: json), got a list"},
		{"a scalar", "\njson\n", 2, `line 2: want a mapping of keys to values (output: json), got "json"`},
		// Flat keys.
		{"unknown key", "output: json\noutptu: text\n", 2, `line 2: unknown key "outptu" (known keys: catalog, dataset, incident, lookback, output, repo, verbose)`},
		{"key twice", "output: json\noutput: text\n", 2, `line 2: key "output" is set twice`},
		{"list for a string", "output: [a, b]\n", 1, `line 1: key "output" wants a string value, got a list`},
		{"mapping for a duration", "lookback:\n  hours: 2\n", 2, `line 2: key "lookback" wants a duration value, got a mapping`},
		{"no value", "lookback:\n", 1, `line 1: key "lookback" wants a duration value, got no value`},
		{"alias", "x: &x 2h\n", 1, `unknown key "x"`},
		{"bool as a word", "verbose: sure\n", 1, `line 1: key "verbose" wants true or false, got "sure"`},
		{"mapping in a list", "dataset:\n  - a\n  - {b: 1}\n", 3, `line 3: key "dataset" wants a list of strings, got a mapping in it`},
		// Sections' shape.
		{"sources a list", "sources: [prometheus]\n", 1, "line 1: sources wants a mapping (prometheus: {url: ...}), got a list"},
		{"changes a string", "changes: deploys.yaml\n", 1, `line 1: changes wants a mapping (file: deploys.yaml, git: {repo: ...}), got "deploys.yaml"`},
		{"incident a bool", "incident: yes\n", 1, `line 1: incident wants a mapping (dir: incidents, update_every: 30m), got "yes"`},
		{"section twice", "sources: {}\nsources: {}\n", 2, `line 2: key "sources" is set twice`},
		// Unknown keys in every section, and inside Prometheus's own types.
		{"unknown source", "sources:\n  prometeus:\n    url: http://p\n", 2, `line 2: sources: unknown key "prometeus"`},
		{"unknown prometheus key", prom + "    timout: 5s\n", 4, `line 4: sources.prometheus: unknown key "timout"`},
		{"unknown basic_auth key", prom + "    basic_auth:\n      username: u\n      passwd: x\n", 6, `line 6: sources.prometheus.basic_auth: unknown key "passwd"`},
		{"unknown tls_config key", prom + "    tls_config: {ca_fil: ca.pem}\n", 4, `line 4: sources.prometheus.tls_config: unknown key "ca_fil"`},
		{"unknown oauth2 key", prom + "    oauth2:\n      client_id: c\n      scope: [x]\n", 6, `line 6: sources.prometheus.oauth2: unknown key "scope"`},
		{"unknown loki key", loki + "    selektor: '{a=\"b\"}'\n", 4, `line 4: sources.loki: unknown key "selektor"`},
		{"unknown loki authorization key", loki + "    authorization:\n      token: x\n", 5, `line 5: sources.loki.authorization: unknown key "token"`},
		{"unknown changes key", "changes:\n  files: d.yaml\n", 2, `line 2: changes: unknown key "files"`},
		{"unknown git key", "changes:\n  git:\n    repository: .\n", 3, `line 3: changes.git: unknown key "repository"`},
		{"unknown grafana key", grafana + "    tag: [deploy]\n", 4, `line 4: changes.grafana: unknown key "tag"`},
		{"unknown grafana tls key", grafana + "    tls_config:\n      insecure: true\n", 5, `line 5: changes.grafana.tls_config: unknown key "insecure"`},
		{"unknown incident key", "incident:\n  dri: x\n", 2, `line 2: incident: unknown key "dri"`},
		// Values of the wrong kind.
		{"word for a number", prom + "    concurrency: many\n", 4, `line 4: sources.prometheus.concurrency: want a whole number, got "many"`},
		{"list for a number", loki + "    max_lines: [1]\n", 4, `line 4: sources.loki.max_lines: want a whole number, got a list`},
		{"string for a list", "changes:\n  git:\n    services: {checkout: services/checkout}\n", 3, `line 3: changes.git.services.checkout: want a list, got "services/checkout"`},
		{"mapping for a string", "incident:\n  author:\n    name: carol\n", 3, `line 3: incident.author: want a string, got a mapping`},
		{"mapping for a string, flow style", "incident:\n  author: {name: carol}\n", 2, `line 2: want a string, got a mapping`},
		{"secret for a struct", prom + "    authorization: t0ken-do-not-show\n", 4, `line 4: sources.prometheus.authorization: a single value does not fit here`},
		{"list for a struct", prom + "    basic_auth: [u, p]\n", 4, `line 4: sources.prometheus.basic_auth: a list does not fit here`},
		{"key twice in a section", loki + "    url: http://other\n", 4, `line 4: sources.loki: key "url" is set twice`},
		{"every issue", loki + "    bogus: 1\n    limit: lots\n", 4, `line 4: sources.loki: unknown key "bogus"; line 5: sources.loki.limit: want a whole number, got "lots"`},
		// Errors of the types' own parsers, which YAML cannot place.
		{"bad duration", prom + "    timeout: soon\n", 4, `line 4: sources.prometheus.timeout: not a valid duration string: "soon"`},
		{"bad TLS version", loki + "    tls_config:\n      min_version: TLS99\n", 5, `line 5: sources.loki.tls_config.min_version: unknown TLS version: TLS99`},
		{"two TLS CAs", grafana + "    tls_config:\n      ca: x\n      ca_file: y\n", 4, `line 4: changes.grafana.tls_config: at most one of ca, ca_file & ca_ref must be configured`},
		{"bad proxy url", prom + "    proxy_url: \"http://[::1\"\n", 4, `line 4: sources.prometheus.proxy_url: parse`},
		// Checked after decoding.
		{"bad update_every", "incident:\n  dir: x\n  update_every: soon\n", 3, `line 3: incident.update_every: unparseable duration "soon"`},
		{"bad loki_url", "incident:\n  loki_url: loki:3100\n", 2, `line 2: incident.loki_url "loki:3100" is not usable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("conf/rca.yaml", []byte(tt.content), testKeys)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config file conf/rca.yaml: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\nwant it to start with the file and contain %q", msg, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Line != tt.line {
				t.Errorf("error line = %+v, want %d", ce, tt.line)
			}
			for _, goName := range []string{"collectors.", " into ", "plain", "!!", "yaml:", "not found in type", "do-not-show"} {
				if strings.Contains(strings.TrimPrefix(msg, "config file conf/rca.yaml: "), goName) {
					t.Errorf("error %q shows yaml's or Go's words (%q)", msg, goName)
				}
			}
		})
	}
}

// TestErrorsWrap: the reworded errors keep yaml's and the parsers' errors
// underneath, for errors.As.
func TestErrorsWrap(t *testing.T) {
	_, err := Parse("rca.yaml", []byte("sources:\n  prometeus: {}\n"), testKeys)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		t.Errorf("unknown key: %v does not wrap a *yaml.TypeError", err)
	}
	_, err = Parse("rca.yaml", []byte("incident:\n  loki_url: ftp://x\n"), testKeys)
	var ce *Error
	if !errors.As(err, &ce) || ce.Err == nil || errors.Unwrap(err) != ce.Err {
		t.Errorf("loki_url: %v does not unwrap to the mirror's error", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml"), testKeys); err == nil || !strings.Contains(err.Error(), "missing.yaml does not exist") {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(dir, "rca.yaml")
	if err := os.WriteFile(path, []byte("catalog: c.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, testKeys)
	if err != nil || f.Flags["catalog"].Text != filepath.Join(dir, "c.yaml") || f.Path != path {
		t.Errorf("Load = %+v, %v", f, err)
	}
	if _, err := Load(dir, testKeys); err == nil || !strings.Contains(err.Error(), "reading config file") {
		t.Errorf("a directory: %v", err)
	}
}

// TestExampleConfig keeps the shipped example valid for this package.
func TestExampleConfig(t *testing.T) {
	keys := map[string]Key{"output": {Type: "string"}, "lookback": {Type: "duration"}}
	f, err := Load(filepath.Join("..", "..", "configs", "rca.example.yaml"), keys)
	if err != nil {
		t.Fatal(err)
	}
	if f.Sources.Prometheus == nil || f.Sources.Loki == nil || f.Incident.UpdateEvery != "30m" {
		t.Errorf("example = %+v", f)
	}
}

// FuzzLoad: the config file is outside input; no content may panic, and
// every failure is an *Error naming the file.
func FuzzLoad(f *testing.F) {
	f.Add(goodFile)
	if example, err := os.ReadFile(filepath.Join("..", "..", "configs", "rca.example.yaml")); err == nil {
		f.Add(string(example))
	}
	for _, s := range []string{
		"", "~", "- a\n", "sources:\n  prometheus:\n    timeout: soon\n", "a: &a [*a]\n",
		"sources: {loki: {tls_config: {min_version: TLS99}}}\n", "incident: {update_every: x, loki_url: 'http://u:p#@h'}\n",
		"lookback: !!binary aGk=\n", "? [a]\n: b\n", "<<: {output: json}\n", "sources:\n  prometheus: &p {url: x}\n  loki: *p\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		_, err := Parse("fuzz.yaml", []byte(content), testKeys)
		if err == nil {
			return
		}
		var ce *Error
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), "config file fuzz.yaml") {
			t.Errorf("error %q is not an *Error naming the file", err)
		}
	})
}
