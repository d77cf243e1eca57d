package loki

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

var tc0 = time.Date(2026, 11, 24, 13, 50, 0, 0, time.UTC)

func at(step int) time.Time { return tc0.Add(time.Duration(step) * 30 * time.Second) }

func TestDetectLogChanges(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	src, ok := cat.ChangeSource("startup_version_lines")
	if !ok {
		t.Fatal("the built-in catalog has no startup_version_lines")
	}
	line := func(step int, svc, text string) telemetry.LogLine {
		return telemetry.LogLine{T: at(step), Labels: telemetry.Labels{"service": svc, "level": "info"}, Line: text}
	}
	tests := []struct {
		name  string
		lines []telemetry.LogLine
		want  []string // "service to_version commit @step"
	}{
		{"first pod of a version announces it; the others repeat it", []telemetry.LogLine{
			line(3, "checkout", "starting checkout version=v1.4.2 commit=9f3c1e2 go=go1.26.8"),
			line(4, "checkout", "starting checkout version=v1.4.2 commit=9f3c1e2 go=go1.26.8"),
			line(5, "checkout", "listening on :8080"),
		}, []string{"checkout v1.4.2 9f3c1e2 @3"}},
		{"other phrasing, no commit", []telemetry.LogLine{
			line(2, "cart", `Started cart in 2.3s (version: "2.0.1")`),
		}, []string{"cart 2.0.1  @2"}},
		{"two services, two versions", []telemetry.LogLine{
			line(1, "catalog", "starting catalog version=v2.3.1 commit=4b7e0d8"),
			line(6, "checkout", "starting checkout version=v1.4.2"),
			line(8, "checkout", "starting checkout version=v1.4.3"),
		}, []string{"catalog v2.3.1 4b7e0d8 @1", "checkout v1.4.2  @6", "checkout v1.4.3  @8"}},
		{"lines that only mention a version are not startups", []telemetry.LogLine{
			line(1, "checkout", "client version=v3 rejected"),
			line(2, "checkout", "starting request GET /version"),
		}, nil},
		{"no service label and no group: skipped", []telemetry.LogLine{
			{T: at(1), Labels: telemetry.Labels{"level": "info"}, Line: "starting version=v1"},
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range DetectLogChanges(src, tc.lines, cat) {
				step := int(c.T.Sub(tc0) / (30 * time.Second))
				got = append(got, fmt.Sprintf("%s %s %s @%d", c.Service, c.ToVersion, c.Commit, step))
				if c.Kind != telemetry.ChangeVersion || !strings.HasPrefix(c.Source, "loki: ") {
					t.Errorf("change %+v: want kind version from loki", c)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
