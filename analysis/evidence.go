package analysis

import "github.com/rca-tool/rca/telemetry"

// evidenceStage keeps the series a report charts.
func evidenceStage(r *run) {
	ids := make([]string, len(r.sigs)) // prepare made one signal per series, in order
	for i, s := range r.sigs {
		ids[i] = s.id
	}
	r.res.Evidence = evidence(r.b.Series, ids, r.res)
	// A counter's findings speak of its rate: chart the rate, not the total.
	for _, s := range r.sigs {
		id := s.id
		if ev, ok := r.res.Evidence[id]; ok && s.isRate {
			ev.Times, ev.Values = nil, nil // none for a rate from the server
			if s.counter {
				rated := rateOf(samplesOf(s.series)) // made again, for the few charted
				ev.Times, ev.Values = rated.ts, rated.vs
			}
			r.res.Evidence[id] = ev
		}
	}
}

// evidence picks the series a report charts; ids are the series' IDs.
func evidence(series []telemetry.Series, ids []string, res Result) map[string]telemetry.Series {
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
	for i, s := range series {
		id := ""
		if len(ids) == len(series) {
			id = ids[i]
		} else {
			id = s.ID()
		}
		if want[id] {
			ev[id] = s
		}
	}
	return ev
}
