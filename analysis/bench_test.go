package analysis_test

import (
	"testing"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo"
)

// BenchmarkAnalyzePiDigits measures one analysis of the demo incident
// (288 series, about 46,000 samples, 4,000 log lines).
func BenchmarkAnalyzePiDigits(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := demo.Generate(demo.PiDigits())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		analysis.Analyze(bundle, cat, analysis.Options{})
	}
}

// BenchmarkAssessImpactPiDigits measures rca impact's own work on top of
// the analysis it reads (BenchmarkAnalyzePiDigits).
func BenchmarkAssessImpactPiDigits(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := demo.Generate(demo.PiDigits())
	if err != nil {
		b.Fatal(err)
	}
	res := analysis.Analyze(bundle, cat, analysis.Options{})
	b.ReportAllocs()
	for b.Loop() {
		analysis.AssessImpact(bundle, cat, res, 0)
	}
}
