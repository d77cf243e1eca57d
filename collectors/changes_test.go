package collectors

import (
	"reflect"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

var tc0 = time.Date(2026, 11, 24, 13, 50, 0, 0, time.UTC)

func at(step int) time.Time { return tc0.Add(time.Duration(step) * 30 * time.Second) }

func TestMergeChanges(t *testing.T) {
	file := telemetry.Change{T: at(4), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2 (commit 9f3c1e2: compute pi)",
		ToVersion: "v1.4.2", Commit: "9f3c1e2", Author: "m.lindqvist", Files: []string{"pi.go"}, Source: "file changes.json"}
	gen := telemetry.Change{T: at(4), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout (generation 4 -> 5)", Source: "prometheus: Deployment spec change"}
	ver := telemetry.Change{T: at(5), Service: "checkout", Kind: telemetry.ChangeVersion, Summary: "version checkout v1.4.1 -> v1.4.2",
		FromVersion: "v1.4.1", ToVersion: "v1.4.2", Commit: "9f3c1e2", Source: "prometheus: build info"}
	restart := telemetry.Change{T: at(5), Service: "checkout", Kind: telemetry.ChangeRestart, Summary: "restart checkout", Source: "prometheus: restarts"}
	other := telemetry.Change{T: at(4), Service: "cart", Kind: telemetry.ChangeDeploy, Summary: "deploy cart v3", Source: "file changes.json"}
	earlyRestart := restart
	earlyRestart.T = at(3)
	canary := telemetry.Change{T: at(4), Service: "app", Kind: telemetry.ChangeDeploy, Summary: "canary app v1.1.0", FromVersion: "v1.0.0", ToVersion: "v1.1.0", Source: "file changes.json"}
	rollback := telemetry.Change{T: at(4).Add(35 * time.Second), Service: "app", Kind: telemetry.ChangeDeploy, Summary: "roll back app to v1.0.0", FromVersion: "v1.1.0", ToVersion: "v1.0.0", Source: "file changes.json"}
	later := telemetry.Change{T: at(40), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout (generation 5 -> 6)", Source: "prometheus: Deployment spec change"}

	tests := []struct {
		name string
		in   []telemetry.Change
		want []telemetry.Change
	}{
		{"record, generation and version merge into the record", []telemetry.Change{ver, gen, file},
			[]telemetry.Change{{T: at(4), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: file.Summary, FromVersion: "v1.4.1", ToVersion: "v1.4.2",
				Commit: "9f3c1e2", Author: "m.lindqvist", Files: []string{"pi.go"}, Source: "file changes.json + prometheus: Deployment spec change + prometheus: build info"}}},
		{"generation and version alone: a named deploy", []telemetry.Change{gen, ver},
			[]telemetry.Change{{T: at(4), Service: "checkout", Kind: telemetry.ChangeDeploy, Summary: "deploy checkout v1.4.2", FromVersion: "v1.4.1", ToVersion: "v1.4.2",
				Commit: "9f3c1e2", Source: "prometheus: Deployment spec change + prometheus: build info"}}},
		{"a restart right after its rollout is the rollout's; other services and later deploys stay apart", []telemetry.Change{later, restart, other, gen},
			[]telemetry.Change{other, withSource(gen, "prometheus: Deployment spec change + prometheus: restarts"), later}},
		{"a restart seen before its rollout's record folds into the record", []telemetry.Change{file, earlyRestart},
			[]telemetry.Change{withSource(file, "file changes.json + prometheus: restarts")}},
		{"a deploy and its rollback 35s later stay two", []telemetry.Change{rollback, canary}, []telemetry.Change{canary, rollback}},
		{"a restart alone stays a restart", []telemetry.Change{restart}, []telemetry.Change{restart}},
		{"the same record twice is one", []telemetry.Change{other, other}, []telemetry.Change{other}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeChanges(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MergeChanges =\n%+v\nwant\n%+v", got, tc.want)
			}
			if again := MergeChanges(got); !reflect.DeepEqual(again, got) {
				t.Errorf("merging twice changed the result:\n%+v\nthen\n%+v", got, again)
			}
		})
	}
}

func withSource(c telemetry.Change, source string) telemetry.Change {
	c.Source = source
	return c
}
