// Package report renders an analysis.Result as terminal text, Markdown,
// JSON or a self-contained HTML page, and an analysis.Impact as text,
// Markdown or JSON. Every format shows the same content: what is broken,
// the ranked root causes, the cause chain with its evidence, changes with
// no effect seen, warnings and what was analysed.
package report
