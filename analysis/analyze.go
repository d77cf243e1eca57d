// Package analysis is pure computation on a telemetry.Bundle: anomaly scoring,
// onset detection, layers, the dependency graph, ranking and the cause chain.
package analysis

import (
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Analyze ranks root-cause candidates and builds the cause chain. It is
// deterministic: the same bundle and catalog always give the same result.
func Analyze(b telemetry.Bundle, cat *catalog.Catalog, opt Options) Result {
	return Result{Window: b.Window, Baseline: b.Baseline}
}
