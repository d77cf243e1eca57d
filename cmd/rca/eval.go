package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/eval"
	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/internal/termui"
)

// newEvalCmd is `rca eval`: score rca's ranker beside the N-Sigma and BARO
// baselines on labelled incident datasets.
func newEvalCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval --dataset DIR [--dataset DIR ...]",
		Short: "Score the root-cause ranking on labelled incident datasets",
		Long: `eval runs rca's ranker and the reference baselines N-Sigma and BARO on every
case of each dataset (the neutral format of ../shared/datasets: cases/<id>/
case.json, metrics.csv, optional dependencies.csv and logs.jsonl) and prints
AC@1, AC@3, AC@5 and Avg@5 per dataset and per fault type, the time per case,
and the cases rca got wrong with where the truth ranked.`,
		Example:       "  rca eval --dataset ../shared/datasets/opennetai-sockshop --dataset ../shared/datasets/petshop -o json",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := cmd.Flags()
	f.StringArray("dataset", nil, "dataset `dir` (holding cases/); repeat for several")
	f.StringP("output", "o", "text", "output format: text, json, markdown")
	f.String("catalog", "", "extra signal catalog YAML `file`, extending the built-in one")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		datasets, _ := cmd.Flags().GetStringArray("dataset")
		output, _ := cmd.Flags().GetString("output")
		catPath, _ := cmd.Flags().GetString("catalog")

		format := strings.ToLower(strings.TrimSpace(output))
		write, ok := map[string]func(io.Writer, eval.Report) error{
			"text": eval.WriteText, "json": eval.WriteJSON, "markdown": eval.WriteMarkdown, "md": eval.WriteMarkdown,
		}[format]
		if !ok {
			return usageError{fmt.Errorf("--output: unknown format %q: use text, json or markdown", output)}
		}
		if len(datasets) == 0 {
			return usageError{errors.New("eval needs at least one --dataset DIR")}
		}
		// Check every directory before the long run, so a typo fails at once.
		for _, dir := range datasets {
			cases, err := dataset.List(dir)
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("dataset %s does not exist", dir)
			}
			if err != nil {
				return err
			}
			if len(cases) == 0 {
				return fmt.Errorf("dataset %s holds no cases (want %s/cases/<id>/case.json)", dir, dir)
			}
		}
		cat, err := catalog.Load(catPath)
		if err != nil {
			return fmt.Errorf("loading signal catalog: %w", err)
		}
		rankers := []eval.Ranker{eval.RCA{Catalog: cat}, eval.NSigma{}, eval.BARO{}}

		var progress func(done, total int)
		if termui.IsTerminal(stderr) {
			progress = termui.ProgressBar(stderr)
		}
		rep, err := eval.Run(cmd.Context(), datasets, rankers, progress)
		if progress != nil {
			fmt.Fprint(stderr, "\r\033[K") // clear the bar
		}
		if err != nil {
			return err
		}
		// Render into memory first: a failing renderer leaves no partial output.
		var buf bytes.Buffer
		if err := write(&buf, rep); err != nil {
			return err
		}
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("writing eval report: %w", err)
		}
		return nil
	}
	return cmd
}
