package buildinfo

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestWriteVersion(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want []string
	}{
		{"no build info", nil, []string{"rca unknown\n", runtime.Version()}},
		{"module and vcs", &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Main:      debug.Module{Path: "github.com/rca-tool/rca", Version: "v0.3.0"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "9f3c1e2aabbccddeeff00112233445566778899"},
				{Key: "vcs.time", Value: "2026-11-24T14:02:00Z"},
				{Key: "vcs.modified", Value: "true"},
			},
		}, []string{"rca v0.3.0\n", "go1.26.8 ", "commit 9f3c1e2aabbc 2026-11-24T14:02:00Z (modified)\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.info); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output %q lacks %q", b.String(), w)
				}
			}
		})
	}
}
