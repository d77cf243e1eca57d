// Command bigcase writes a large generated case in the dataset format, for
// measuring `rca eval` at scale (README, Performance):
//
//	go run ./tools/bigcase -out /tmp/big -services 1000 -metrics 10 -points 720
//	rca eval --dataset /tmp/big
//
// The data is a pure function of the flags; nothing it writes belongs in git.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rca-tool/rca/eval/dataset/synth"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bigcase:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("bigcase", flag.ContinueOnError)
	out := fl.String("out", "", "dataset folder to write (the case goes to OUT/cases/big-000)")
	var s synth.Spec
	fl.IntVar(&s.Services, "services", 1000, "number of services")
	fl.IntVar(&s.Metrics, "metrics", 10, fmt.Sprintf("series per service (1..%d)", len(synth.Kinds)))
	fl.IntVar(&s.Points, "points", 720, "samples per series (the last quarter is the window)")
	fl.Int64Var(&s.Step, "step", 10, "seconds between samples")
	fl.Uint64Var(&s.Seed, "seed", 1, "seed")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	dir := filepath.Join(*out, "cases", "big-000")
	if err := synth.WriteCase(ctx, dir, s); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d series x %d points\n", dir, s.Series(), s.Points)
	return nil
}
