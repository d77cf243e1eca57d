package report

import (
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Issue 17 #19: with no symptom, no root cause and one anomaly that is
// never ranked (a warning log template), the report said "the anomalies
// below may still matter" and listed none, under "(1 anomalous)".
func TestNoSymptomNamesUnrankedAnomalies(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	r := analysis.Result{
		Window:   telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)},
		Baseline: telemetry.Window{From: t0.Add(-time.Hour), To: t0},
		Anomalies: []analysis.Finding{{
			Service: "cart", Signal: "new log pattern", Layer: catalog.LayerSymptom, Source: "logs",
			Score: 4, Onset: t0.Add(5 * time.Minute), Explanation: "New log pattern on cart",
		}},
		Stats: analysis.Stats{Anomalous: 1, LogLines: 30, LogPatterns: 1},
	}
	for _, format := range []string{"text", "markdown", "html"} {
		out := render(t, format, r, Options{})
		if strings.Contains(out, "anomalies below may still matter") {
			t.Errorf("%s: promises anomalies below and lists none", format)
		}
		if !strings.Contains(out, "Not ranked: cart: new log pattern") {
			t.Errorf("%s: does not name the unranked anomaly:\n%s", format, out)
		}
	}
	// With a root cause below, the sentence stays as it was.
	r.RootCauses = []analysis.Candidate{{Rank: 1, Service: "cart", Score: 2, Finding: r.Anomalies[0]}}
	if out := render(t, "text", r, Options{}); !strings.Contains(out, "the anomalies below may") {
		t.Errorf("text with a root cause lost the sentence:\n%s", out)
	}
}
