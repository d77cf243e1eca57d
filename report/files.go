package report

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/internal/atomicfile"
)

// WriteFiles writes r as report.md, report.json and report.html into dir,
// each atomically, and returns their names: the report in every format an
// incident's evidence folder keeps.
func WriteFiles(dir string, r analysis.Result) ([]string, error) {
	return writeFiles(dir, []string{"report.md", "markdown", "report.json", "json", "report.html", "html"}, func(b *bytes.Buffer, format string) error {
		if err := RenderWith(b, format, r, Options{}); err != nil {
			return fmt.Errorf("rendering the %s report: %w", format, err)
		}
		return nil
	})
}

// WriteImpactFiles writes imp as impact.md and impact.json into dir, each
// atomically, and returns their names.
func WriteImpactFiles(dir string, imp analysis.Impact) ([]string, error) {
	return writeFiles(dir, []string{"impact.md", "markdown", "impact.json", "json"}, func(b *bytes.Buffer, format string) error {
		return RenderImpact(b, format, imp)
	})
}

// writeFiles renders and writes each name, format pair in turn.
func writeFiles(dir string, pairs []string, render func(*bytes.Buffer, string) error) ([]string, error) {
	var files []string
	for i := 0; i+1 < len(pairs); i += 2 {
		var b bytes.Buffer
		if err := render(&b, pairs[i+1]); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(filepath.Join(dir, pairs[i]), b.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("writing report: %w", err)
		}
		files = append(files, pairs[i])
	}
	return files, nil
}
