package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/demo"
	"github.com/rca-tool/rca/demo/demotest"
	"github.com/rca-tool/rca/telemetry"
)

// TestRoundTrip writes the demo and reads it back through the snapshot
// reader the analysis uses: nothing is lost on the way.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pi")
	var out bytes.Buffer
	if err := run(ctx, []string{"-out", dir}, &out); err != nil {
		t.Fatal(err)
	}
	want := demotest.PiDigits(t)
	got, err := snapshot.Read(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Window.From.Equal(want.Window.From) || !got.Window.To.Equal(want.Window.To) ||
		!got.Baseline.From.Equal(want.Baseline.From) || !got.Baseline.To.Equal(want.Baseline.To) {
		t.Errorf("window %s baseline %s, want %s and %s", got.Window, got.Baseline, want.Window, want.Baseline)
	}
	if len(got.Series) != len(want.Series) {
		t.Fatalf("%d series back, wrote %d", len(got.Series), len(want.Series))
	}
	byID := map[string]telemetry.Series{}
	for _, s := range got.Series {
		byID[s.ID()] = s
	}
	for _, w := range want.Series {
		g, ok := byID[w.ID()]
		if !ok {
			t.Errorf("%s missing", w.ID())
			continue
		}
		if g.Signal != w.Signal || g.Query != w.Query || g.Len() != w.Len() {
			t.Errorf("%s: signal %q query %q %d points, want %q %q %d", w.ID(), g.Signal, g.Query, g.Len(), w.Signal, w.Query, w.Len())
			continue
		}
		for i := range w.Points() {
			if !g.Point(i).T.Equal(w.Point(i).T) || g.Point(i).V != w.Point(i).V {
				t.Errorf("%s point %d: %v, want %v", w.ID(), i, g.Point(i), w.Point(i))
				break
			}
		}
	}
	if len(got.Logs) != len(want.Logs) {
		t.Errorf("%d log lines back, wrote %d", len(got.Logs), len(want.Logs))
	}
	if len(got.Changes) != len(want.Changes) || got.Changes[1].Summary != want.Changes[1].Summary {
		t.Errorf("changes %+v, want %+v", got.Changes, want.Changes)
	}
	edges := func(es []telemetry.Edge) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Caller+"->"+e.Callee)
		}
		slices.Sort(out)
		return out
	}
	if !reflect.DeepEqual(edges(got.Edges), edges(want.Edges)) {
		t.Errorf("edges %v, want %v", got.Edges, want.Edges)
	}

	// A second run refuses the folder, -force replaces it byte for byte.
	before := readAll(t, dir)
	if err := run(ctx, []string{"-out", dir}, &out); err == nil || !strings.Contains(err.Error(), "-force") {
		t.Errorf("second run into a full folder: %v", err)
	}
	if err := run(ctx, []string{"-out", dir, "-force"}, &out); err != nil {
		t.Fatal(err)
	}
	if after := readAll(t, dir); !reflect.DeepEqual(before, after) {
		t.Error("regenerating changed the snapshot")
	}
}

func TestBadFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-out", dir, "-fault", "disk"},
		{"-out", dir, "-service", "payments-db"},
		{"-out", dir, "-start", "yesterday"},
		{"-out", dir, "extra"},
	} {
		if err := run(ctx, args, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
	// A folder of other files is refused even with -force.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"-out", dir, "-force"}, new(bytes.Buffer)); err == nil {
		t.Error("-force wrote into a folder that is not a snapshot")
	}
}

func TestOpenMetrics(t *testing.T) {
	ctx := context.Background()
	// A 2m step keeps the file small; the flags reach the scenario.
	s := demo.Scenario{Seed: 7, FaultyService: "payments", Fault: demo.FaultMemoryLeak, Step: 2 * time.Minute}
	var want bytes.Buffer
	if err := demo.WriteOpenMetrics(&want, s); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-seed", "7", "-service", "payments", "-fault", "memory-leak", "-step", "2m"}
	for _, c := range []struct {
		name     string
		snapshot bool
	}{{"alone", false}, {"with a snapshot", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			om, snap := filepath.Join(dir, "pi.om"), filepath.Join(dir, "snap")
			args := append([]string{"-openmetrics", om}, flags...)
			if c.snapshot {
				args = append(args, "-out", snap)
			}
			var out bytes.Buffer
			if err := run(ctx, args, &out); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(om)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s holds %d bytes, not what demo.WriteOpenMetrics writes (%d bytes)", om, len(got), want.Len())
			}
			if !strings.Contains(out.String(), "OpenMetrics") {
				t.Errorf("output %q does not mention the file", out.String())
			}
			if _, err := os.Stat(filepath.Join(snap, "manifest.json")); c.snapshot != (err == nil) {
				t.Errorf("snapshot written: %v, want %v", err == nil, c.snapshot)
			}
			// A second run replaces the file.
			if err := run(ctx, append([]string{"-openmetrics", om}, flags...), new(bytes.Buffer)); err != nil {
				t.Fatal(err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1+btoi(c.snapshot) {
				t.Errorf("left %d entries in %s", len(entries), dir)
			}
		})
	}
}

func TestOpenMetricsErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-openmetrics", filepath.Join(dir, "bad.om"), "-fault", "disk"},
		{"-openmetrics", filepath.Join(dir, "bad.om"), "-step", "1h"},
		{"-openmetrics", filepath.Join(dir, "missing", "x.om")},
	} {
		if err := run(ctx, args, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
	// Nothing half-written is left behind.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v in %s", entries, dir)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		files[p] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
