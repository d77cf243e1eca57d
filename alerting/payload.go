package alerting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/internal/termui"
)

// Message is Alertmanager's webhook payload, version 4
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
	Status            string            `json:"status"` // firing or resolved
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Statuses of a group and of an alert.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// maxAlerts bounds the alerts of one notification: Alertmanager truncates
// at max_alerts, and a group of more is not one incident anyway.
const maxAlerts = 1000

// Parse reads a webhook body strictly: one JSON object with only the
// fields of version 4, version "4", a group key, a known status and, for
// every alert, a fingerprint, a status and a start time. Its errors are
// one line, for the HTTP reply.
func Parse(body []byte) (Message, error) {
	var m Message
	if len(bytes.TrimSpace(body)) == 0 {
		return m, errors.New("empty body: want Alertmanager's webhook JSON (version 4)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("not Alertmanager's webhook JSON: %s", termui.OneLine(strictjson.Describe(body, err).Error()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Message{}, errors.New("not Alertmanager's webhook JSON: data after the JSON object")
	}
	if m.Version != "4" {
		return Message{}, fmt.Errorf("webhook payload version %q: rca reads version \"4\" (Alertmanager 0.16 and later)", clip(m.Version))
	}
	if m.GroupKey == "" {
		return Message{}, errors.New("the payload has no groupKey")
	}
	if m.Status != StatusFiring && m.Status != StatusResolved {
		return Message{}, fmt.Errorf("status %q: want firing or resolved", clip(m.Status))
	}
	if len(m.Alerts) == 0 {
		return Message{}, errors.New("the payload has no alerts")
	}
	if len(m.Alerts) > maxAlerts {
		return Message{}, fmt.Errorf("%d alerts in one notification: at most %d (set max_alerts in the receiver)", len(m.Alerts), maxAlerts)
	}
	for i, a := range m.Alerts {
		switch {
		case a.Fingerprint == "":
			return Message{}, fmt.Errorf("alert %d has no fingerprint", i+1)
		case a.Status != StatusFiring && a.Status != StatusResolved:
			return Message{}, fmt.Errorf("alert %d: status %q: want firing or resolved", i+1, clip(a.Status))
		case a.StartsAt.IsZero():
			return Message{}, fmt.Errorf("alert %d has no startsAt", i+1)
		}
	}
	return m, nil
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	s = termui.OneLine(s)
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Name is the alert's name: its alertname label, or "alert".
func (a Alert) Name() string {
	if n := strings.TrimSpace(a.Labels["alertname"]); n != "" {
		return n
	}
	return "alert"
}

// Title is what the incident is called: the summary annotation, else the
// alert's name.
func (a Alert) Title() string {
	if s := strings.TrimSpace(termui.OneLine(a.Annotations["summary"])); s != "" {
		return s
	}
	return a.Name()
}

// LabelString is the labels as {a="x", b="y"}, sorted by name.
func LabelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Severity maps an alert's severity label to the incident's SEV1 (worst)
// to SEV5, as the common conventions name them; "" when it is absent or
// unknown (the label is still in the start entry).
func Severity(label string) string {
	s := strings.ToLower(strings.TrimSpace(label))
	switch s {
	case "sev1", "sev2", "sev3", "sev4", "sev5":
		return strings.ToUpper(s)
	case "critical", "page", "emergency", "p1":
		return "SEV1"
	case "error", "high", "major", "p2":
		return "SEV2"
	case "warning", "warn", "medium", "p3":
		return "SEV3"
	case "low", "minor", "p4":
		return "SEV4"
	case "info", "informational", "none", "p5":
		return "SEV5"
	}
	return ""
}
