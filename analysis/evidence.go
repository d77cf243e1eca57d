package analysis

import "github.com/rca-tool/rca/telemetry"

// evidenceStage keeps the series a report charts.
func evidenceStage(r *run) {
	r.res.Evidence = evidence(r.b.Series, r.res)
	// A counter's findings speak of its rate: chart the rate, not the total.
	for _, s := range r.sigs {
		id := s.id
		if ev, ok := r.res.Evidence[id]; ok && s.isRate {
			ev.Points = s.rated
			r.res.Evidence[id] = ev
		}
	}
}

// evidence picks the series a report charts.
func evidence(series []telemetry.Series, res Result) map[string]telemetry.Series {
	want := map[string]bool{}
	for _, f := range res.Chain {
		want[f.SeriesID] = true
	}
	for _, f := range res.Symptoms {
		want[f.SeriesID] = true
	}
	for _, c := range res.RootCauses {
		want[c.SeriesID] = true
	}
	for _, ro := range res.RuledOut {
		if ro.Finding != nil {
			want[ro.Finding.SeriesID] = true
		}
	}
	delete(want, "")
	ev := make(map[string]telemetry.Series, len(want))
	for _, s := range series {
		if id := s.ID(); want[id] {
			ev[id] = s
		}
	}
	return ev
}
