package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as {"schema": "rca.eval/v1", "datasets": [...]},
// each dataset with its methods keyed by name.
func WriteJSON(w io.Writer, r Report) error {
	type jsonDataset struct {
		Name           string            `json:"name"`
		Cases          int               `json:"cases"`
		FaultCases     int               `json:"fault_cases"`
		FaultFreeCases int               `json:"fault_free_cases"`
		Methods        map[string]Method `json:"methods"`
		SecondsPerCase Timing            `json:"seconds_per_case"`
		Primary        string            `json:"primary"`
		Wrong          []Wrong           `json:"wrong"`
		Errors         []CaseError       `json:"errors"`
	}
	out := struct {
		Schema         string        `json:"schema"`
		Datasets       []jsonDataset `json:"datasets"`
		ElapsedSeconds float64       `json:"elapsed_seconds"`
	}{Schema: Schema, Datasets: []jsonDataset{}, ElapsedSeconds: round(r.Elapsed.Seconds(), 3)}
	for _, d := range r.Datasets {
		jd := jsonDataset{
			Name: d.Name, Cases: d.Cases, FaultCases: d.FaultCount, FaultFreeCases: d.FaultFreeCount, Methods: map[string]Method{},
			SecondsPerCase: roundTiming(d.SecondsPerCase), Primary: d.Primary, Wrong: d.Wrong, Errors: d.Errors,
		}
		for _, m := range d.Methods {
			jd.Methods[m.Name] = roundMethod(m)
		}
		out.Datasets = append(out.Datasets, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write eval json: %w", err)
	}
	return nil
}

func roundTiming(t Timing) Timing {
	return Timing{Median: round(t.Median, 6), P95: round(t.P95, 6)}
}

func roundScores(s Scores) Scores {
	return Scores{Cases: s.Cases, AC1: round(s.AC1, 4), AC3: round(s.AC3, 4), AC5: round(s.AC5, 4), Avg5: round(s.Avg5, 4)}
}

func roundMethod(m Method) Method {
	out := m
	out.Scores = roundScores(m.Scores)
	out.ByFault = make(map[string]Scores, len(m.ByFault))
	for f, s := range m.ByFault {
		out.ByFault[f] = roundScores(s)
	}
	if m.Metric != nil {
		s := roundScores(*m.Metric)
		out.Metric = &s
	}
	if m.FaultFree != nil {
		ff := *m.FaultFree
		ff.Specificity = round(ff.Specificity, 4)
		out.FaultFree = &ff
	}
	out.Trust = roundTrust(m.Trust)
	if m.BySystem != nil {
		out.BySystem = make(map[string]SystemScores, len(m.BySystem))
		for k, v := range m.BySystem {
			out.BySystem[k] = SystemScores{Scores: roundScores(v.Scores), Trust: roundTrust(v.Trust)}
		}
	}
	out.SecondsPerCase = roundTiming(m.SecondsPerCase)
	return out
}

func roundTrust(t Trust) Trust {
	out := t
	if t.Specificity != nil {
		v := round(*t.Specificity, 4)
		out.Specificity = &v
	}
	if t.Brier != nil {
		v := round(*t.Brier, 4)
		out.Brier = &v
	}
	if t.Reliability != nil {
		out.Reliability = make([]Bin, len(t.Reliability))
		for i, b := range t.Reliability {
			out.Reliability[i] = Bin{From: round(b.From, 4), To: round(b.To, 4), Cases: b.Cases, Confidence: round(b.Confidence, 4), Accuracy: round(b.Accuracy, 4)}
		}
	}
	return out
}

// specText is the specificity to two decimals, "-" without fault-free cases.
func specText(t Trust) string {
	if t.Specificity == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *t.Specificity)
}

// brierText is the Brier score to three decimals, "-" for a method that
// gives no confidence.
func brierText(t Trust) string {
	if t.Brier == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *t.Brier)
}

// noConfidence lists the methods that give no confidence.
func noConfidence(d Dataset) []string {
	var out []string
	for _, m := range d.Methods {
		if !m.HasConfidence {
			out = append(out, m.Name)
		}
	}
	return out
}

// noConfidenceNote says what "-" in the Brier column means.
func noConfidenceNote(d Dataset) string {
	n := noConfidence(d)
	if len(n) == 0 {
		return ""
	}
	return fmt.Sprintf("%s give no confidence and always name a cause: specificity 0, no Brier score", strings.Join(n, ", "))
}

// sortedSystems are a method's systems in name order.
func sortedSystems(m Method) []string {
	out := make([]string, 0, len(m.BySystem))
	for s := range m.BySystem {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// casesText is "88 cases scored (68 with a fault, 20 fault-free)", with
// what the count is called ("cases scored", "cases").
func casesText(d Dataset, what string) string {
	s := fmt.Sprintf("%d %s", d.Cases, what)
	if d.FaultFreeCount > 0 {
		s += fmt.Sprintf(" (%d with a fault, %d fault-free)", d.FaultCount, d.FaultFreeCount)
	}
	return s
}

// WriteText writes a table per dataset: methods by AC@1 AC@3 AC@5 Avg@5 and
// time per case, then AC@1 per fault type, then the primary ranker's misses.
func WriteText(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	for i, d := range r.Datasets {
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("%s: %s", d.Name, casesText(d, "cases scored"))
		if len(d.Errors) > 0 {
			ew.printf(", %d errors", len(d.Errors))
		}
		ew.printf("\n\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "method\tAC@1\tAC@3\tAC@5\tAvg@5\tspecificity\tbrier\tmedian s/case\tp95 s/case\n")
		for _, m := range d.Methods {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.4f\t%.4f\n", m.Name, m.AC1, m.AC3, m.AC5, m.Avg5, specText(m.Trust), brierText(m.Trust), m.SecondsPerCase.Median, m.SecondsPerCase.P95)
		}
		tw.Flush()
		if n := noConfidenceNote(d); n != "" {
			ew.printf("(%s)\n", n)
		}
		for _, m := range d.Methods {
			if len(m.BySystem) == 0 {
				continue
			}
			ew.printf("\n%s by system:\n", m.Name)
			tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "system\tfault cases\tAC@1\tAC@3\tAvg@5\tspecificity\tbrier\n")
			for _, sys := range sortedSystems(m) {
				v := m.BySystem[sys]
				fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%s\t%s\n", sys, v.Cases, v.AC1, v.AC3, v.Avg5, specText(v.Trust), brierText(v.Trust))
			}
			tw.Flush()
		}
		for _, m := range d.Methods {
			if len(m.Reliability) == 0 {
				continue
			}
			ew.printf("\n%s reliability (top candidate's confidence against how often it was right, all cases):\n", m.Name)
			tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "confidence\tcases\tmean confidence\taccuracy\n")
			for _, b := range m.Reliability {
				if b.Cases == 0 {
					fmt.Fprintf(tw, "[%.1f, %.1f)\t0\t-\t-\n", b.From, b.To)
					continue
				}
				fmt.Fprintf(tw, "[%.1f, %.1f)\t%d\t%.2f\t%.2f\n", b.From, b.To, b.Cases, b.Confidence, b.Accuracy)
			}
			tw.Flush()
		}

		if d.FaultFreeCount > 0 {
			ew.printf("\nfault-free cases (AC@k above is over the %d fault cases only):\n", d.FaultCount)
			tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "method\tcases\tnamed nothing\tnamed a culprit\tspecificity\n")
			for _, m := range d.Methods {
				if f := m.FaultFree; f != nil {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\n", m.Name, f.Cases, f.Quiet, f.Cases-f.Quiet, f.Specificity)
				}
			}
			tw.Flush()
		}

		if len(d.Faults) > 0 {
			ew.printf("\nby fault type (AC@1 / AC@3 / Avg@5):\n")
			tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "fault\tcases")
			for _, m := range d.Methods {
				fmt.Fprintf(tw, "\t%s", m.Name)
			}
			fmt.Fprintln(tw)
			for _, f := range d.Faults {
				fmt.Fprintf(tw, "%s\t%d", faultName(f), d.FaultCases[f])
				for _, m := range d.Methods {
					s := m.ByFault[f]
					fmt.Fprintf(tw, "\t%.2f / %.2f / %.2f", s.AC1, s.AC3, s.Avg5)
				}
				fmt.Fprintln(tw)
			}
			tw.Flush()
		}

		if hasMetric(d) {
			ew.printf("\nmetric level (cases with a labelled root-cause metric):\n")
			tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "method\tcases\tAC@1\tAC@3\tAC@5\tAvg@5\n")
			for _, m := range d.Methods {
				if m.Metric == nil {
					fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\n", m.Name)
					continue
				}
				s := *m.Metric
				fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\n", m.Name, s.Cases, s.AC1, s.AC3, s.AC5, s.Avg5)
			}
			tw.Flush()
		}

		if len(d.Wrong) > 0 {
			ew.printf("\n%s missed %d of %d fault cases (truth: where it ranked; top 3):\n", d.Primary, len(d.Wrong), d.FaultCount)
			for _, x := range d.Wrong {
				ew.printf("  %s (%s): %s %s; top: %s\n", x.Case, faultName(x.Fault), x.Truth, rankText(x.Rank), topText(x.Top))
			}
		}
		if len(d.Errors) > 0 {
			ew.printf("\nerrors:\n")
			for _, e := range d.Errors {
				if e.Method != "" {
					ew.printf("  %s [%s]: %s\n", e.Case, e.Method, e.Error)
				} else {
					ew.printf("  %s\n", e.Error)
				}
			}
		}
	}
	ew.printf("\ntotal time %.1fs\n", r.Elapsed.Seconds())
	return ew.err
}

// WriteMarkdown writes the same content as Markdown tables, for the README.
func WriteMarkdown(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	for i, d := range r.Datasets {
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("### %s (%s", d.Name, casesText(d, "cases"))
		if len(d.Errors) > 0 {
			ew.printf(", %d errors", len(d.Errors))
		}
		ew.printf(")\n\n")
		ew.printf("| method | AC@1 | AC@3 | AC@5 | Avg@5 | specificity | Brier | median s/case | p95 s/case |\n")
		ew.printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, m := range d.Methods {
			ew.printf("| %s | %.2f | %.2f | %.2f | %.2f | %s | %s | %.4f | %.4f |\n", m.Name, m.AC1, m.AC3, m.AC5, m.Avg5, specText(m.Trust), brierText(m.Trust), m.SecondsPerCase.Median, m.SecondsPerCase.P95)
		}
		if n := noConfidenceNote(d); n != "" {
			ew.printf("\n%s.\n", n)
		}
		for _, m := range d.Methods {
			if len(m.BySystem) == 0 {
				continue
			}
			ew.printf("\n%s by system:\n\n| system | fault cases | AC@1 | AC@3 | Avg@5 | specificity | Brier |\n|---|---:|---:|---:|---:|---:|---:|\n", m.Name)
			for _, sys := range sortedSystems(m) {
				v := m.BySystem[sys]
				ew.printf("| %s | %d | %.2f | %.2f | %.2f | %s | %s |\n", mdEscape(sys), v.Cases, v.AC1, v.AC3, v.Avg5, specText(v.Trust), brierText(v.Trust))
			}
		}
		for _, m := range d.Methods {
			if len(m.Reliability) == 0 {
				continue
			}
			ew.printf("\n%s reliability (top candidate's confidence against how often it was right, all cases):\n\n| confidence | cases | mean confidence | accuracy |\n|---|---:|---:|---:|\n", m.Name)
			for _, b := range m.Reliability {
				if b.Cases == 0 {
					ew.printf("| [%.1f, %.1f) | 0 | - | - |\n", b.From, b.To)
					continue
				}
				ew.printf("| [%.1f, %.1f) | %d | %.2f | %.2f |\n", b.From, b.To, b.Cases, b.Confidence, b.Accuracy)
			}
		}
		if d.FaultFreeCount > 0 {
			ew.printf("\nFault-free cases (AC@k above is over the %d fault cases only):\n\n| method | cases | named nothing | named a culprit | specificity |\n|---|---:|---:|---:|---:|\n", d.FaultCount)
			for _, m := range d.Methods {
				if f := m.FaultFree; f != nil {
					ew.printf("| %s | %d | %d | %d | %.2f |\n", m.Name, f.Cases, f.Quiet, f.Cases-f.Quiet, f.Specificity)
				}
			}
		}
		if len(d.Faults) > 0 {
			ew.printf("\nAC@1 / AC@3 / Avg@5 by fault type:\n\n| fault | cases |")
			for _, m := range d.Methods {
				ew.printf(" %s |", m.Name)
			}
			ew.printf("\n|---|---:|%s\n", strings.Repeat("---|", len(d.Methods)))
			for _, f := range d.Faults {
				ew.printf("| %s | %d |", faultName(f), d.FaultCases[f])
				for _, m := range d.Methods {
					s := m.ByFault[f]
					ew.printf(" %.2f / %.2f / %.2f |", s.AC1, s.AC3, s.Avg5)
				}
				ew.printf("\n")
			}
		}
		if hasMetric(d) {
			ew.printf("\nMetric level (cases with a labelled root-cause metric):\n\n| method | cases | AC@1 | AC@3 | AC@5 | Avg@5 |\n|---|---:|---:|---:|---:|---:|\n")
			for _, m := range d.Methods {
				if m.Metric == nil {
					ew.printf("| %s | - | - | - | - | - |\n", m.Name)
					continue
				}
				s := *m.Metric
				ew.printf("| %s | %d | %.2f | %.2f | %.2f | %.2f |\n", m.Name, s.Cases, s.AC1, s.AC3, s.AC5, s.Avg5)
			}
		}
		if len(d.Wrong) > 0 {
			ew.printf("\n<details><summary>%s missed %d of %d fault cases</summary>\n\n| case | fault | truth | rank | top 3 |\n|---|---|---|---:|---|\n", d.Primary, len(d.Wrong), d.FaultCount)
			for _, x := range d.Wrong {
				rank := "not ranked"
				if x.Rank > 0 {
					rank = fmt.Sprint(x.Rank)
				}
				ew.printf("| %s | %s | %s | %s | %s |\n", mdEscape(x.Case), mdEscape(faultName(x.Fault)), mdEscape(x.Truth), rank, mdEscape(topText(x.Top)))
			}
			ew.printf("\n</details>\n")
		}
		if len(d.Errors) > 0 {
			ew.printf("\nErrors:\n\n")
			for _, e := range d.Errors {
				if e.Method != "" {
					ew.printf("- %s [%s]: %s\n", mdEscape(e.Case), e.Method, mdEscape(e.Error))
				} else {
					ew.printf("- %s\n", mdEscape(e.Error))
				}
			}
		}
	}
	return ew.err
}

func hasMetric(d Dataset) bool {
	for _, m := range d.Methods {
		if m.Metric != nil {
			return true
		}
	}
	return false
}

func faultName(f string) string {
	if f == "" {
		return "(none)"
	}
	return f
}

func rankText(rank int) string {
	if rank == 0 {
		return "not ranked"
	}
	return fmt.Sprintf("ranked %d", rank)
}

func topText(top []string) string {
	if len(top) == 0 {
		return "(nothing ranked)"
	}
	return strings.Join(top, ", ")
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
