// Package analysis is pure computation on a telemetry.Bundle: anomaly scoring,
// onset detection, layers, log patterns, the dependency graph, ranking and
// the cause chain. Analyze runs its stages in a fixed order (see stages);
// AssessImpact says which endpoints fail or slow down, and since when.
package analysis
