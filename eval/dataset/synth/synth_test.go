package synth_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/eval/dataset/synth"
)

func TestWriteCaseLoadsAndRepeats(t *testing.T) {
	spec := synth.Spec{Services: 7, Metrics: 4, Points: 160, Seed: 3}
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, d := range dirs {
		if err := synth.WriteCase(context.Background(), d, spec); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(dirs[0], "metrics.csv"))
	b, _ := os.ReadFile(filepath.Join(dirs[1], "metrics.csv"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("the same spec wrote different metrics")
	}
	c, err := dataset.Load(context.Background(), dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Bundle.Series) != spec.Series() {
		t.Fatalf("%d series loaded, want %d", len(c.Bundle.Series), spec.Series())
	}
	for _, s := range c.Bundle.Series {
		if s.Len() != spec.Points {
			t.Fatalf("%s has %d points, want %d", s.ID(), s.Len(), spec.Points)
		}
	}
	if c.Truth.Service != synth.Service(spec.Faulty()) || c.Truth.Metric != synth.Kinds[0].Metric || c.FaultFree {
		t.Errorf("truth %+v, want %s's CPU", c.Truth, synth.Service(spec.Faulty()))
	}
	if !c.Bundle.Window.From.After(c.Bundle.Baseline.From) || c.Bundle.Window.Overlaps(c.Bundle.Baseline) {
		t.Errorf("window %s and baseline %s", c.Bundle.Window, c.Bundle.Baseline)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, s := range []synth.Spec{
		{Services: 0, Metrics: 1, Points: 100},
		{Services: 1, Metrics: 0, Points: 100},
		{Services: 1, Metrics: len(synth.Kinds) + 1, Points: 100},
		{Services: 1, Metrics: 1, Points: 4},
		{Services: 1, Metrics: 1, Points: 40}, // no room for the step five minutes into the window
	} {
		if err := synth.WriteCase(context.Background(), t.TempDir(), s); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}
