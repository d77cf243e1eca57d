package prometheus

import (
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

var tc0 = time.Date(2026, 11, 24, 13, 50, 0, 0, time.UTC)

// steps is a series with one point per 30 s from tc0.
func steps(labels telemetry.Labels, vals ...float64) telemetry.Series {
	s := telemetry.Series{Metric: "m", Labels: labels}
	for i, v := range vals {
		s.Append(tc0.Add(time.Duration(i)*30*time.Second), v)
	}
	return s
}

// span is a series present (value 1) over steps [from, to).
func span(labels telemetry.Labels, from, to int) telemetry.Series {
	s := telemetry.Series{Metric: "m", Labels: labels}
	for i := from; i < to; i++ {
		s.Append(tc0.Add(time.Duration(i)*30*time.Second), 1)
	}
	return s
}

// created is a creation-time gauge present over steps [from, to).
func created(labels telemetry.Labels, v float64, from, to int) telemetry.Series {
	s := span(labels, from, to)
	for i := range s.Values {
		s.Values[i] = v
	}
	return s
}

func at(step int) time.Time { return tc0.Add(time.Duration(step) * 30 * time.Second) }

func source(t *testing.T, id string) catalog.ChangeSource {
	t.Helper()
	cat := defaultCatalog(t)
	cs, ok := cat.ChangeSource(id)
	if !ok {
		t.Fatalf("built-in catalog has no change source %q", id)
	}
	return cs
}

func TestDetectChanges(t *testing.T) {
	cat := defaultCatalog(t)
	type want struct {
		t        time.Time
		service  string
		kind     telemetry.ChangeKind
		from, to string
		commit   string
	}
	tests := []struct {
		name   string
		source string
		series []telemetry.Series
		want   []want
	}{
		{"generation step", "deployment_generation", []telemetry.Series{
			steps(telemetry.Labels{"namespace": "shop", "deployment": "checkout"}, 4, 4, 4, 5, 5),
			steps(telemetry.Labels{"namespace": "shop", "deployment": "cart"}, 7, 7, 7, 7, 7),
		}, []want{{at(3), "checkout", "deploy", "", "", ""}}},
		{"restarts: each increase, a counter reset is not one", "container_restarts", []telemetry.Series{
			steps(telemetry.Labels{"pod": "checkout-5ff676694b-fzj9z", "container": "checkout"}, 0, 0, 1, 1, 3, 0, 0),
		}, []want{{at(2), "checkout", "restart", "", "", ""}, {at(4), "checkout", "restart", "", "", ""}}},
		{"pods of one rollout restart at once: one change", "container_restarts", []telemetry.Series{
			steps(telemetry.Labels{"pod": "cart-7c9d8-aaaaa", "container": "cart"}, 2, 2, 3),
			steps(telemetry.Labels{"pod": "cart-7c9d8-bbbbb", "container": "cart"}, 0, 0, 1),
		}, []want{{at(2), "cart", "restart", "", "", ""}}},
		{"start time constant: nothing", "process_restarts", []telemetry.Series{
			steps(telemetry.Labels{"service": "checkout", "pod": "checkout-1"}, 1764000000, 1764000000, 1764000000),
		}, nil},
		{"start time moves: a restart at the new start", "process_restarts", []telemetry.Series{
			steps(telemetry.Labels{"service": "checkout", "pod": "checkout-1"},
				1764000000, 1764000000, float64(at(2).Add(-10*time.Second).Unix()), float64(at(2).Add(-10*time.Second).Unix())),
		}, []want{{at(2).Add(-10 * time.Second), "checkout", "restart", "", "", ""}}},
		{"start time outside the samples is clamped", "process_restarts", []telemetry.Series{
			steps(telemetry.Labels{"service": "checkout"}, 1764000000, 1900000000),
		}, []want{{at(1), "checkout", "restart", "", "", ""}}},
		{"config reload", "config_reload", []telemetry.Series{
			steps(telemetry.Labels{"service": "alertmanager"}, float64(tc0.Unix()-600), float64(tc0.Unix()-600), float64(at(2).Unix())),
		}, []want{{at(2), "alertmanager", "config", "", "", ""}}},
		{"new version rolls out", "build_info_version", []telemetry.Series{
			span(telemetry.Labels{"service": "checkout", "version": "v1.4.1", "revision": "aaaaaaa"}, 0, 9),
			span(telemetry.Labels{"service": "checkout", "version": "v1.4.2", "revision": "9f3c1e2"}, 8, 20),
			span(telemetry.Labels{"service": "cart", "version": "v3.0.0"}, 0, 20),
		}, []want{{at(8), "checkout", "version", "v1.4.1", "v1.4.2", "9f3c1e2"}}},
		{"a version present from the start is no change", "build_info_version", []telemetry.Series{
			span(telemetry.Labels{"service": "checkout", "version": "v1.4.2"}, 0, 20),
			span(telemetry.Labels{"service": "checkout", "version": "v1.4.3"}, 0, 20),
		}, nil},
		{"rollback is a change too", "build_info_version", []telemetry.Series{
			span(telemetry.Labels{"service": "checkout", "version": "v2"}, 0, 5),
			span(telemetry.Labels{"service": "checkout", "version": "v3"}, 5, 10),
			span(telemetry.Labels{"service": "checkout", "version": "v2"}, 10, 20),
		}, []want{{at(5), "checkout", "version", "v2", "v3", ""}}},
		{"a replicaset created while watched is a deploy; an old one is not", "replicaset_created", []telemetry.Series{
			created(telemetry.Labels{"namespace": "shop", "replicaset": "checkout-5ff676694b"}, 1764000000, 0, 20),
			created(telemetry.Labels{"namespace": "shop", "replicaset": "checkout-7d9f8b6c5d"}, float64(at(6).Add(-5*time.Second).Unix()), 6, 20),
		}, []want{{at(6).Add(-5 * time.Second), "checkout", "deploy", "", "", ""}}},
		{"a replicaset created at the range's start counts", "replicaset_created", []telemetry.Series{
			created(telemetry.Labels{"replicaset": "cart-6b8d9f7c4"}, float64(tc0.Add(-20*time.Second).Unix()), 0, 5),
		}, []want{{tc0.Add(-20 * time.Second), "cart", "deploy", "", "", ""}}},
		{"no service label: skipped", "deployment_generation", []telemetry.Series{
			steps(telemetry.Labels{"namespace": "shop"}, 1, 2),
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DetectChanges(source(t, tc.source), tc.series, cat)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d changes %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if !g.T.Equal(w.t) || g.Service != w.service || g.Kind != w.kind || g.FromVersion != w.from || g.ToVersion != w.to || g.Commit != w.commit {
					t.Errorf("change %d = %+v, want %+v", i, g, w)
				}
				if g.Summary == "" || g.Source == "" {
					t.Errorf("change %d has no summary or source: %+v", i, g)
				}
			}
		})
	}
}
