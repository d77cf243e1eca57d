package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rca-tool/rca/collectors"
)

const sourcesFile = `sources:
  prometheus:
    url: http://prom:9090
    timeout: 5s
  loki:
    url: http://loki:3100
changes:
  file: deploys.yaml
  git:
    repo: /src/shop
    services: {checkout: ["checkout/**"]}
  grafana:
    url: http://grafana:3000
`

// names lists the sources of a plan.
func names(p Plan) string {
	var out []string
	for _, s := range p.Sources {
		out = append(out, s.Name())
	}
	return strings.Join(out, ",")
}

func TestPlan(t *testing.T) {
	full, err := Parse("rca.yaml", []byte(sourcesFile), testKeys)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := Parse("rca.yaml", nil, testKeys)
	if err != nil {
		t.Fatal(err)
	}
	flag := func(v, origin string) Setting { return Setting{Value: v, Origin: origin} }
	tests := []struct {
		name       string
		file       File
		o          Overrides
		want       string
		live, repl bool
		where      map[string]string
	}{
		{"nothing", empty, Overrides{}, "", false, false, map[string]string{}},
		{"flags only", empty, Overrides{PrometheusURL: flag("http://p:9090", "--prometheus-url"), ChangesFile: flag("d.yaml", "--changes-file"), Repo: flag("/r", "--repo")},
			"prometheus,changes file,git", true, false, map[string]string{"changes file": "--changes-file", "git": "--repo"}},
		{"the file", full, Overrides{}, "prometheus,loki,changes file,grafana,git", true, false,
			map[string]string{"changes file": "changes.file in config file rca.yaml line 8", "git": "changes.git in config file rca.yaml line 9"}},
		{"a snapshot replaces the servers, not the changes", full, Overrides{Snapshot: flag("snap", "--snapshot")}, "snapshot,changes file,grafana,git", false, true,
			map[string]string{"changes file": "changes.file in config file rca.yaml line 8", "git": "changes.git in config file rca.yaml line 9"}},
		{"flags win over the file", full, Overrides{Repo: flag("/other", "RCA_REPO"), ChangesFile: flag("x.json", "--changes-file")},
			"prometheus,loki,changes file,grafana,git", true, false, map[string]string{"changes file": "--changes-file", "git": "RCA_REPO"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.file.Plan(tc.o, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(p); got != tc.want || p.Live != tc.live || p.Replay != tc.repl {
				t.Errorf("sources %q live %v replay %v; want %q %v %v", got, p.Live, p.Replay, tc.want, tc.live, tc.repl)
			}
			if fmt.Sprint(p.Where) != fmt.Sprint(tc.where) {
				t.Errorf("where %v, want %v", p.Where, tc.where)
			}
		})
	}
}

// TestPlanNames: the HTTP sources word their settings where the user set
// them: a flag's name for the URL given by flag, the section's key with its
// line for one from the file.
func TestPlanNames(t *testing.T) {
	full, err := Parse("rca.yaml", []byte(sourcesFile), testKeys)
	if err != nil {
		t.Fatal(err)
	}
	byFile, ok := full.prometheus(Overrides{})
	if !ok || byFile.Names.Field("url") != "sources.prometheus.url in config file rca.yaml line 3" || byFile.Names.Field("timeout") != "sources.prometheus.timeout" {
		t.Errorf("from the file: url %q, timeout %q", byFile.Names.Field("url"), byFile.Names.Field("timeout"))
	}
	byFlag, _ := full.prometheus(Overrides{PrometheusURL: Setting{Value: "http://other:9090", Origin: "--prometheus-url"}})
	if byFlag.URL != "http://other:9090" || byFlag.Names.Field("url") != "--prometheus-url" || byFlag.Timeout.String() != "5s" {
		t.Errorf("flag over the file: url %q named %q, timeout %s (the section's other settings stay)", byFlag.URL, byFlag.Names.Field("url"), byFlag.Timeout)
	}
	l, _ := full.loki(Overrides{LokiSelector: Setting{Value: `{app="x"}`, Origin: "--loki-selector"}})
	if l.Selector != `{app="x"}` || l.Names.Field("selector") != "--loki-selector" {
		t.Errorf("loki selector %q named %q", l.Selector, l.Names.Field("selector"))
	}
}

// TestPlanWrap: errors about a source's configuration say where it was set
// up; errors of other sources and other errors pass unchanged.
func TestPlanWrap(t *testing.T) {
	p := Plan{Where: map[string]string{"git": "--repo"}}
	boom := errors.New("repo /x: not a git repository")
	if got := p.Wrap(&collectors.SourceError{Source: "git", Err: boom}); got.Error() != "--repo: repo /x: not a git repository" || !errors.Is(got, boom) {
		t.Errorf("git: %v", got)
	}
	other := &collectors.SourceError{Source: "prometheus", Err: boom}
	if got := p.Wrap(other); got != error(other) {
		t.Errorf("prometheus: %v", got)
	}
	if got := p.Wrap(context.Canceled); got != context.Canceled {
		t.Errorf("plain error: %v", got)
	}
}
