package analysis

import "github.com/rca-tool/rca/catalog"

// symptomsStage orders the anomalies, strongest first, and gives each
// service its anomalies and earliest onset; the user-facing anomalies of
// application services are the symptoms.
func symptomsStage(r *run) {
	sortFindings(r.res.Anomalies)
	for _, f := range r.res.Anomalies {
		st := r.states[f.Service]
		if len(st.anomalous) == 0 || f.Onset.Before(st.onset) {
			st.onset = f.Onset
		}
		st.anomalous = append(st.anomalous, f)
		if f.Layer == catalog.LayerSymptom && !st.infra {
			r.res.Symptoms = append(r.res.Symptoms, f)
		}
	}
	r.res.Stats.Anomalous = len(r.res.Anomalies)
}
