// Package report renders an analysis.Result as terminal text, Markdown or JSON.
package report

import (
	"fmt"
	"io"

	"github.com/rca-tool/rca/analysis"
)

// Render writes r in the named format: "text", "markdown" or "json".
func Render(w io.Writer, format string, r analysis.Result) error {
	return fmt.Errorf("unknown output format %q", format)
}
