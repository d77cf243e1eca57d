package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/demo"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demogen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	def := demo.PiDigits()
	fl := flag.NewFlagSet("demogen", flag.ContinueOnError)
	out := fl.String("out", "", "snapshot folder to write")
	om := fl.String("openmetrics", "", "OpenMetrics file to write (the raw series, for promtool tsdb create-blocks-from openmetrics)")
	seed := fl.Int64("seed", def.Seed, "random seed")
	service := fl.String("service", def.FaultyService, fmt.Sprintf("faulty service, one of %v", demo.FaultableServices()))
	fault := fl.String("fault", string(def.Fault), `fault: "cpu" or "memory-leak"`)
	start := fl.String("start", def.Start.Format(time.RFC3339), "window start (RFC3339); the baseline is the hour before")
	step := fl.Duration("step", def.Step, "sample interval")
	force := fl.Bool("force", false, "replace an earlier snapshot in -out")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *out == "" && *om == "" || fl.NArg() > 0 {
		return errors.New("usage: demogen [-out DIR] [-openmetrics FILE] (at least one) [-seed N] [-service NAME] [-fault cpu|memory-leak] [-start RFC3339] [-step 30s] [-force]")
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	if *out != "" && !*force {
		entries, err := os.ReadDir(*out)
		switch {
		case err == nil && len(entries) > 0:
			return fmt.Errorf("%s is not empty (use -force to replace the snapshot in it)", *out)
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	s := demo.Scenario{Seed: *seed, FaultyService: *service, Fault: demo.Fault(*fault), Start: t0, Step: *step}
	if *out != "" {
		if err := writeSnapshot(ctx, *out, s, stdout); err != nil {
			return err
		}
	}
	if *om != "" {
		return writeOpenMetrics(*om, s, stdout)
	}
	return nil
}

func writeSnapshot(ctx context.Context, out string, s demo.Scenario, stdout io.Writer) error {
	b, err := demo.Generate(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := snapshot.Write(ctx, out, b); err != nil {
		return err
	}
	points := 0
	for _, se := range b.Series {
		points += se.Len()
	}
	fmt.Fprintf(stdout, "wrote %s: %d series (%d points), %d log lines, %d changes, window %s\n",
		out, len(b.Series), points, len(b.Logs), len(b.Changes), b.Window)
	return nil
}

// writeOpenMetrics writes the scenario's raw series to path, through a
// temporary file so a failed run leaves no half-written file behind.
func writeOpenMetrics(path string, s demo.Scenario, stdout io.Writer) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := demo.WriteOpenMetrics(f, s); err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes of OpenMetrics\n", path, info.Size())
	return nil
}
