package alerting

import (
	"strings"
	"testing"
	"time"
)

// payload is a version 4 notification, as Alertmanager 0.25 sends it.
func payload(groupKey, status string, alerts ...string) string {
	return `{"receiver":"rca","status":"` + status + `","alerts":[` + strings.Join(alerts, ",") + `],` +
		`"groupLabels":{"alertname":"CheckoutErrors"},"commonLabels":{"alertname":"CheckoutErrors"},"commonAnnotations":{},` +
		`"externalURL":"http://am.example:9093","version":"4","groupKey":` + quote(groupKey) + `,"truncatedAlerts":0}`
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// alert is one alert of a payload; endsAt zero means still firing.
func alert(fp, status string, startsAt, endsAt time.Time, labels string) string {
	ends := "0001-01-01T00:00:00Z"
	if !endsAt.IsZero() {
		ends = endsAt.UTC().Format(time.RFC3339)
	}
	return `{"status":"` + status + `","labels":{"alertname":"CheckoutErrors",` + labels + `},` +
		`"annotations":{"summary":"checkout 5xx above 5%","description":"customers cannot pay","runbook_url":"https://runbooks.example/checkout"},` +
		`"startsAt":"` + startsAt.UTC().Format(time.RFC3339) + `","endsAt":"` + ends + `",` +
		`"generatorURL":"http://prom.example:9090/graph?g0.expr=x","fingerprint":"` + fp + `"}`
}

var demoStart = time.Date(2026, 11, 24, 14, 5, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	good := payload(`{}:{alertname="CheckoutErrors"}`, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"severity":"critical"`))
	m, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Alerts[0]
	if m.GroupKey != `{}:{alertname="CheckoutErrors"}` || m.Status != "firing" || a.Fingerprint != "fp1" || !a.StartsAt.Equal(demoStart) ||
		a.Title() != "checkout 5xx above 5%" || Severity(a.Labels["severity"]) != "SEV1" {
		t.Errorf("parsed %+v", m)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", "", "empty body"},
		{"not JSON", "{alerts", "not Alertmanager's webhook JSON"},
		{"truncated", good[:len(good)/2], "not Alertmanager's webhook JSON"},
		{"an array", "[]", "not Alertmanager's webhook JSON"},
		{"unknown field", strings.Replace(good, `"receiver"`, `"reciever"`, 1), "reciever"},
		{"trailing data", good + `{}`, "data after the JSON object"},
		{"version 3", strings.Replace(good, `"version":"4"`, `"version":"3"`, 1), `version "3"`},
		{"no version", strings.Replace(good, `"version":"4",`, ``, 1), `version ""`},
		{"no group key", strings.Replace(good, `"groupKey":`, `"groupKey":"","x":`, 1), "x"},
		{"empty group key", payload("", "firing", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)), "no groupKey"},
		{"bad status", payload("g", "burning", alert("fp1", "firing", demoStart, time.Time{}, `"a":"b"`)), `status "burning"`},
		{"no alerts", payload("g", "firing"), "no alerts"},
		{"no fingerprint", payload("g", "firing", alert("", "firing", demoStart, time.Time{}, `"a":"b"`)), "no fingerprint"},
		{"no start", payload("g", "firing", alert("fp", "firing", time.Time{}, time.Time{}, `"a":"b"`)), "no startsAt"},
		{"bad time", strings.Replace(good, "2026-11-24T14:05:00Z", "yesterday", 1), "not Alertmanager's webhook JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for in, want := range map[string]string{"critical": "SEV1", "Warning": "SEV3", "sev2": "SEV2", "info": "SEV5", "whatever": "", "": ""} {
		if got := Severity(in); got != want {
			t.Errorf("Severity(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWindow(t *testing.T) {
	now := demoStart.Add(time.Hour)
	if w := Window(demoStart, now, 30*time.Minute, true); !w.From.Equal(demoStart.Add(-15*time.Minute)) || !w.To.Equal(demoStart.Add(15*time.Minute)) {
		t.Errorf("centred window = %s", w)
	}
	// Live, an alert that just started: the window ends now, not in the future.
	if w := Window(now.Add(-time.Minute), now, 30*time.Minute, true); !w.To.Equal(now) || !w.From.Equal(now.Add(-30*time.Minute)) {
		t.Errorf("live window = %s, want the 30 minutes up to now", w)
	}
	// A recording: the window lies where the alert says, whatever now is.
	if w := Window(now.Add(-time.Minute), now, 0, false); !w.To.Equal(now.Add(14 * time.Minute)) {
		t.Errorf("replay window = %s", w)
	}
}

// FuzzParse: whatever the body, Parse returns a message that satisfies its
// contract or a one-line error; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(payload(`{}:{alertname="x"}`, "firing", alert("fp1", "firing", demoStart, time.Time{}, `"severity":"critical"`))))
	f.Add([]byte(payload("g", "resolved", alert("fp1", "resolved", demoStart, demoStart.Add(time.Hour), `"a":"b"`))))
	f.Add([]byte(`{"version":"4"}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if m.Version != "4" || m.GroupKey == "" || len(m.Alerts) == 0 || len(m.Alerts) > maxAlerts {
			t.Fatalf("accepted %+v", m)
		}
		for _, a := range m.Alerts {
			if a.Fingerprint == "" || a.StartsAt.IsZero() || (a.Status != StatusFiring && a.Status != StatusResolved) {
				t.Fatalf("accepted alert %+v", a)
			}
			_ = a.Title()
			_ = LabelString(a.Labels)
		}
	})
}
