package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/rca-tool/rca/analysis"
)

// Options tune the rendering.
type Options struct {
	// Color adds ANSI colour codes to the text format. Off by default so that
	// output piped to a file or a ticket stays clean.
	Color bool
}

// Formats lists the output formats Render accepts, default first. It returns
// a fresh slice so callers cannot change what the package accepts.
func Formats() []string { return []string{"text", "markdown", "json", "html"} }

// Render writes r in the named format: "text" (the default, also for ""),
// "markdown" (or "md"), "json" or "html".
func Render(w io.Writer, format string, r analysis.Result) error {
	return RenderWith(w, format, r, Options{})
}

// RenderWith is Render with options.
func RenderWith(w io.Writer, format string, r analysis.Result, opt Options) error {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text", "txt":
		return RenderText(w, r, opt)
	case "markdown", "md":
		return RenderMarkdown(w, r)
	case "json":
		return RenderJSON(w, r)
	case "html":
		return RenderHTML(w, r)
	}
	return fmt.Errorf("unknown output format %q (valid: %s)", format, strings.Join(Formats(), ", "))
}
