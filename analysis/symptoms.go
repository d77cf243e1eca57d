package analysis

import "github.com/rca-tool/rca/catalog"

// symptomsStage orders the anomalies, strongest first, and gives each
// service its anomalies and earliest onset; the user-facing anomalies of
// application services are the symptoms.
func symptomsStage(r *run) {
	sortFindings(r.res.Anomalies)
	for _, f := range r.res.Anomalies {
		st := r.states[f.Service]
		// A carried-over anomaly's onset is only the window's start: it
		// sets the service's onset when nothing of it starts later.
		switch {
		case len(st.anomalous) == 0, st.carried() && !f.CarriedOver:
			st.onset = f.Onset
		case f.CarriedOver != st.carried():
		case f.Onset.Before(st.onset):
			st.onset = f.Onset
		}
		st.anomalous = append(st.anomalous, f)
		if f.Layer == catalog.LayerSymptom && !st.infra {
			r.res.Symptoms = append(r.res.Symptoms, f)
		}
	}
	r.res.Stats.Anomalous = len(r.res.Anomalies)
}
