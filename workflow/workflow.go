// Package workflow is the part of the incident workflow that both the
// command line and the alert receiver run: analyse a bundle (with the
// changes responders noted in the incident log), and attach the analysis
// and the impact assessment to the incident, with their evidence. It holds
// no flags and no state: cmd/rca and alerting call it.
package workflow

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/report"
	"github.com/rca-tool/rca/telemetry"
)

// Run is one analysis with what it was computed from.
type Run struct {
	Bundle  telemetry.Bundle
	Origins []collectors.Origin
	Catalog *catalog.Catalog
	// CatalogData is the catalog file the analysis extended the built-in
	// one with; nil for none.
	CatalogData []byte
	Result      analysis.Result
	Lookback    time.Duration
}

// NotedChanges are the changes responders noted in an incident's log
// (rca log note --change), for the analysis.
func NotedChanges(l *incident.Log) []telemetry.Change {
	var out []telemetry.Change
	for _, e := range l.Changes() {
		out = append(out, *e.Change)
	}
	return out
}

// Analyze merges the noted changes into the bundle and analyses it.
func Analyze(ctx context.Context, b telemetry.Bundle, origins []collectors.Origin, cat *catalog.Catalog, catData []byte, lookback time.Duration, noted []telemetry.Change) (Run, error) {
	if len(noted) > 0 {
		b.Changes = collectors.MergeChanges(append(b.Changes, noted...))
	}
	res := analysis.Analyze(b, cat, analysis.Options{Lookback: lookback})
	res.Warnings = append(res.Warnings, analysis.CoverageWarnings(b)...)
	if err := ctx.Err(); err != nil {
		return Run{}, err
	}
	return Run{Bundle: b, Origins: origins, Catalog: cat, CatalogData: catData, Result: res, Lookback: lookback}, nil
}

// Impact is the run's impact assessment.
func (r Run) Impact() analysis.Impact {
	return analysis.AssessImpact(r.Bundle, r.Catalog, r.Result, r.Lookback)
}

// AttachAnalysis writes the report in every format and the data it was
// computed from into the incident's evidence folder, and logs a summary
// (incident.AnalysisEntry). It returns the evidence folder. The Markdown
// is not re-rendered: call Store.Render after.
func AttachAnalysis(ctx context.Context, s incident.Store, id string, clock func() time.Time, author string, r Run) (string, error) {
	e := incident.AnalysisEntry(r.Result, r.Impact())
	e.Author = author
	return s.Attach(ctx, id, clock, "analysis", e, func(dir string) ([]string, error) {
		files, err := report.WriteFiles(dir, r.Result)
		if err != nil {
			return nil, err
		}
		meta := snapshot.MetaFrom(time.Time{}, r.Origins)
		meta.Catalog = r.CatalogData
		if err := snapshot.WriteMeta(ctx, filepath.Join(dir, "snapshot"), r.Bundle, meta); err != nil {
			return nil, fmt.Errorf("saving the analysed data: %w", err)
		}
		return append(files, "snapshot"), nil
	})
}

// ImpactEntry is the log entry for an impact assessment: its headline and
// the version to roll back to.
func ImpactEntry(imp analysis.Impact) incident.Entry {
	text := report.ImpactHeadline(imp)
	if l := report.RollbackLine(imp); l != "" {
		text += " " + l
	}
	return incident.Entry{Kind: incident.KindImpact, Text: text, Assessment: &imp}
}

// AttachImpact files an impact assessment (its reports) in the incident's
// evidence folder and logs it. It returns the evidence folder.
func AttachImpact(ctx context.Context, s incident.Store, id string, clock func() time.Time, author string, imp analysis.Impact) (string, error) {
	e := ImpactEntry(imp)
	e.Author = author
	return s.Attach(ctx, id, clock, "impact", e, func(dir string) ([]string, error) {
		return report.WriteImpactFiles(dir, imp)
	})
}
