package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rca-tool/rca/incident"
)

// rcaAt runs the command tree with the clock at now.
func rcaAt(t *testing.T, now time.Time, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, func() time.Time { return now })
	code := run(context.Background(), a.rootCmd(), args, &errb)
	return result{code, out.String(), errb.String()}
}

func must(t *testing.T, r result, what string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstderr: %s\nstdout: %s", what, r.code, r.stderr, r.stdout)
	}
	return r
}

// webhook is a stand-in for a Slack incoming webhook: it keeps what it got.
type webhook struct {
	mu   sync.Mutex
	msgs []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.msgs = append(h.msgs, body.Text)
	h.mu.Unlock()
	io.WriteString(w, "ok")
}

// TestIncidentWorkflow walks the seed's workflow on the demo incident:
// start the log, assess the impact, note, analyse with the evidence
// attached, post an update, mitigate, resolve, review.
func TestIncidentWorkflow(t *testing.T) {
	needPiDigits(t)
	dir := filepath.Join(t.TempDir(), "incidents")
	day := func(hhmm string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04", "2026-11-24 "+hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	at := func(hhmm string, args ...string) result {
		return rcaAt(t, day(hhmm), append(args, "--incidents-dir", dir)...)
	}

	// Start.
	r := must(t, at("14:06", "log", "start", "--title", "Checkout 500s", "--severity", "sev2", "--impact", "customers cannot check out", "--author", "alice"), "log start")
	id := strings.TrimSpace(r.stdout)
	if id != "INC-20261124-1406-checkout-500s" {
		t.Fatalf("incident id = %q", id)
	}
	incDir := filepath.Join(dir, id)

	// Impact.
	r = must(t, at("14:08", "impact", "--snapshot", piDigits, "--incident", "current"), "impact")
	for _, want := range []string{"POST /api/checkout", "still going on", "roll back checkout to v1.4.1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("impact output lacks %q:\n%s", want, r.stdout)
		}
	}

	// Note.
	must(t, at("14:09", "log", "note", "gateway", "logs", "show", "upstream", "timeouts"), "log note")

	// Analyse with the evidence attached.
	r = must(t, at("14:10", "analyze", "--snapshot", piDigits, "--incident", "current", "-o", "json"), "analyze --incident")
	live := r.stdout
	evidence, err := filepath.Glob(filepath.Join(incDir, "evidence", "*-analysis"))
	if err != nil || len(evidence) != 1 {
		t.Fatalf("analysis evidence folders = %v (%v), want one", evidence, err)
	}
	for _, f := range []string{"report.md", "report.json", "report.html", "snapshot/manifest.json"} {
		if fi, err := os.Stat(filepath.Join(evidence[0], f)); err != nil || fi.Size() == 0 {
			t.Errorf("evidence %s: %v", f, err)
		}
	}
	attached, _ := os.ReadFile(filepath.Join(evidence[0], "report.json"))
	if string(attached) != live {
		t.Error("the attached report.json differs from the report printed")
	}
	// The attached snapshot is what was analysed: it gives the same report.
	r = must(t, at("14:11", "analyze", "--snapshot", filepath.Join(evidence[0], "snapshot"), "-o", "json"), "re-analyse evidence")
	if r.stdout != live {
		t.Error("re-analysing the attached snapshot gives a different report")
	}

	// Update, posted to a webhook whose path is its secret.
	hook := &webhook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	secretURL := srv.URL + "/services/T000/B000/s3cr3tW3bh00kT0k3n"
	r = must(t, at("14:12", "update", "--post", secretURL), "update --post")
	if len(hook.msgs) != 1 {
		t.Fatalf("webhook got %d messages, want 1", len(hook.msgs))
	}
	msg := hook.msgs[0]
	for _, want := range []string{"[Identified] Checkout 500s (SEV2)", "checkout", "v1.4.1", "Next update: by 14:42 UTC"} {
		if !strings.Contains(msg, want) {
			t.Errorf("update lacks %q:\n%s", want, msg)
		}
	}
	for _, jargon := range []string{"p99", "propagation", "resource:", "symptom:", "service=", "series"} {
		if strings.Contains(msg, jargon) {
			t.Errorf("update uses jargon %q:\n%s", jargon, msg)
		}
	}

	// Mitigate, a second update sent by hand, resolve.
	must(t, at("14:20", "log", "mitigate", "rolled back checkout to v1.4.1"), "mitigate")
	r = must(t, at("14:25", "update", "--sent"), "update --sent")
	if !strings.HasPrefix(r.stdout, "[Monitoring]") {
		t.Errorf("after mitigation the update says %q, want Monitoring", firstLine(r.stdout))
	}
	must(t, at("14:55", "log", "resolve", "error ratio back to baseline for 30 minutes"), "resolve")

	// The log has every step, in order, and keeps no secret.
	l, err := incident.Store{Dir: dir}.Read(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range l.Entries {
		kinds = append(kinds, string(e.Kind))
	}
	if got, want := strings.Join(kinds, " "), "start impact note analysis update mitigate update resolve"; got != want {
		t.Errorf("log kinds = %s\nwant        %s", got, want)
	}
	if len(l.Problems) != 0 {
		t.Errorf("log problems: %+v", l.Problems)
	}
	for _, f := range []string{"log.jsonl", "log.md"} {
		data, err := os.ReadFile(filepath.Join(incDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("s3cr3tW3bh00kT0k3n")) {
			t.Errorf("%s holds the webhook's secret", f)
		}
	}
	md, _ := os.ReadFile(filepath.Join(incDir, "log.md"))
	for _, want := range []string{"Checkout 500s", "upstream timeouts", "rolled back checkout to v1.4.1", "report.html"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("log.md lacks %q", want)
		}
	}
	ana := l.Entries[3]
	if ana.Analysis == nil || ana.Analysis.Service != "checkout" || ana.Analysis.Rollback != "v1.4.1" || len(ana.Analysis.Chain) < 3 {
		t.Errorf("analysis entry = %+v", ana.Analysis)
	}

	// Review.
	r = must(t, at("15:00", "review"), "review")
	reviewPath := strings.TrimSpace(r.stdout)
	review, err := os.ReadFile(reviewPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(review)
	onset := l.Entries[1].Assessment.Onset
	wantTimes := map[string]time.Duration{
		"Time to detect":       day("14:06").Sub(onset),
		"Time to mitigate":     day("14:20").Sub(onset),
		"Time to resolve":      day("14:55").Sub(onset),
		"Time to first update": 6 * time.Minute,
	}
	for name, d := range wantTimes {
		if !strings.Contains(text, name) || !strings.Contains(text, d.String()) {
			t.Errorf("review lacks %s = %s", name, d)
		}
	}
	for _, want := range []string{
		"# Postmortem: Checkout 500s", "Blameless", "## Timeline", "Incident opened", "Stakeholder update",
		"Change: deploy checkout v1.4.2", "## Cause chain", "## Action items", "| alerting |", "report.html",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("review lacks %q", want)
		}
	}
	// Evidence links point at files that exist.
	for _, f := range ana.Files {
		if _, err := os.Stat(filepath.Join(incDir, f)); err != nil {
			t.Errorf("evidence link %s: %v", f, err)
		}
	}
	// A second review never overwrites the team's edits.
	if err := os.WriteFile(reviewPath, []byte("edited by the team"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = at("15:05", "review")
	wantOneLineError(t, r, 1, "--force")
	if b, _ := os.ReadFile(reviewPath); string(b) != "edited by the team" {
		t.Error("review overwrote the edited draft")
	}

	// show and list.
	r = must(t, at("15:06", "log", "show"), "log show")
	if !strings.Contains(r.stdout, "error ratio back to baseline") {
		t.Errorf("log show lacks the resolution:\n%s", r.stdout)
	}
	r = must(t, at("15:06", "log", "list"), "log list")
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "resolved") || !strings.HasPrefix(r.stdout, "*") {
		t.Errorf("log list = %q", r.stdout)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestLogChangeFeedsAnalysis: a change noted in the log is a change event
// of the analysis run with --incident.
func TestLogChangeFeedsAnalysis(t *testing.T) {
	needPiDigits(t)
	dir := filepath.Join(t.TempDir(), "incidents")
	at := func(args ...string) result { return rcaAt(t, fixedNow, append(args, "--incidents-dir", dir)...) }
	must(t, at("log", "start", "--title", "payments flag"), "start")
	must(t, at("log", "note", "--change", "--service", "payments", "--kind", "flag", "--at", "2026-11-24T14:01:00Z", "enabled fraud-check-v2 flag"), "note --change")
	r := must(t, at("analyze", "--snapshot", piDigits, "--incident", "current", "-o", "json"), "analyze")
	var rep struct {
		RootCauses []struct {
			Change *struct{ Service, Summary string } `json:"change"`
		} `json:"root_causes"`
		Chain []struct {
			Change *struct{ Service, Summary string } `json:"change"`
		} `json:"chain"`
		UnlinkedChanges []struct{ Service, Summary string } `json:"unlinked_changes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.UnlinkedChanges {
		found = found || (c.Service == "payments" && strings.Contains(c.Summary, "fraud-check-v2"))
	}
	for _, f := range append(rep.Chain, rep.RootCauses...) {
		found = found || (f.Change != nil && f.Change.Service == "payments" && strings.Contains(f.Change.Summary, "fraud-check-v2"))
	}
	if !found {
		t.Errorf("the noted change is in no root cause, chain link or unlinked change: %s", r.stdout)
	}
	// Without --incident the log is not read.
	r = must(t, at("analyze", "--snapshot", piDigits, "-o", "json"), "analyze")
	if strings.Contains(r.stdout, "fraud-check-v2") {
		t.Error("a plain analyze read the incident log")
	}
}

func TestIncidentCommandErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"note without incident", []string{"log", "note", "hello"}, "rca log start"},
		{"start without title", []string{"log", "start"}, "--title is required"},
		{"note without text", []string{"log", "note"}, "needs the text"},
		{"change without service", []string{"log", "note", "--change", "x"}, "--change needs --service"},
		{"version without change", []string{"log", "note", "--version", "v2", "x"}, "only applies with --change"},
		{"kind without change", []string{"log", "note", "--kind", "config", "x"}, "--kind only applies with --change"},
		{"id twice", []string{"log", "show", "INC-a", "--incident", "INC-b"}, "not both"},
		{"unknown incident", []string{"log", "show", "INC-19990101-0000-nope"}, "INC-19990101-0000-nope"},
		{"bad status", []string{"update", "--status", "fixed"}, "use investigating"},
		{"bad webhook", []string{"update", "--post", "hooks.slack.com/x"}, "http(s) URL"},
		{"analyze unknown incident", []string{"analyze", "--snapshot", piDigits, "--incident", "INC-nope"}, "INC-nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rca(t, append(tc.args, "--incidents-dir", dir)...)
			wantOneLineError(t, r, 0, tc.want)
		})
	}
}

func TestWebhookFailures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	must(t, rca(t, "log", "start", "--title", "t", "--incidents-dir", dir), "start")
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no_service", http.StatusNotFound)
	}))
	defer refuse.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for name, url := range map[string]string{"404": refuse.URL + "/services/SECRETPATH", "closed": closedURL + "/services/SECRETPATH"} {
		t.Run(name, func(t *testing.T) {
			r := rca(t, "update", "--post", url, "--incidents-dir", dir)
			if r.code == 0 {
				t.Fatal("a failed post exited 0")
			}
			if strings.Contains(r.stderr, "SECRETPATH") {
				t.Errorf("the webhook path leaked: %s", r.stderr)
			}
			if !strings.Contains(r.stderr, "not recorded as sent") {
				t.Errorf("stderr = %q", r.stderr)
			}
			id, _ := incident.Store{Dir: dir}.Current()
			l, err := incident.Store{Dir: dir}.Read(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range l.Entries {
				if e.Kind == incident.KindUpdate {
					t.Error("a failed post was recorded as an update")
				}
			}
		})
	}
}

func TestIncidentConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "rca.yaml", "incident:\n  dir: incs\n  author: carol\n  update_every: 15m\n")
	r := must(t, rcaAt(t, fixedNow, "--config", cfg, "log", "start", "--title", "from config"), "start")
	id := strings.TrimSpace(r.stdout)
	l, err := incident.Store{Dir: filepath.Join(dir, "incs")}.Read(context.Background(), id)
	if err != nil {
		t.Fatalf("the incident is not under the config file's incs/: %v", err)
	}
	if l.Entries[0].Author != "carol" {
		t.Errorf("author = %q, want carol from the config", l.Entries[0].Author)
	}
	r = must(t, rcaAt(t, fixedNow, "--config", cfg, "update"), "update")
	if !strings.Contains(r.stdout, "Next update: by 14:45 UTC") {
		t.Errorf("update_every: 15m not applied:\n%s", r.stdout)
	}
	r = must(t, rcaAt(t, fixedNow, "--config", cfg, "update", "--every", "1h"), "update --every")
	if !strings.Contains(r.stdout, "Next update: by 15:30 UTC") {
		t.Errorf("--every 1h does not win over the config:\n%s", r.stdout)
	}

	for name, body := range map[string]string{
		"unknown key":  "incident:\n  dri: x\n",
		"bad duration": "incident:\n  update_every: soon\n",
		"not a map":    "incident: yes\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "bad.yaml", body)
			wantOneLineError(t, rca(t, "--config", p, "log", "list"), 0, "incident")
		})
	}
}

// TestGrafanaAnnotations: a deploy annotation from changes.grafana becomes a
// change of the analysis; a Grafana that fails is a warning, not a failure.
// (A stand-in server: no Grafana can be installed here.)
func TestGrafanaAnnotations(t *testing.T) {
	needPiDigits(t)
	var gotAuth string
	grafana := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		at := time.Date(2026, 11, 24, 14, 1, 0, 0, time.UTC).UnixMilli()
		fmt.Fprintf(w, `[{"id":1,"time":%d,"timeEnd":%d,"tags":["deploy","service:payments","version:v9.9.9"],"text":"<b>payments</b> fraud rules v9"}]`, at, at)
	}))
	defer grafana.Close()
	dir := t.TempDir()
	writeFile(t, dir, "grafana.token", "glsa_t0ps3cret")
	cfg := writeFile(t, dir, "rca.yaml", fmt.Sprintf("changes:\n  grafana:\n    url: %s\n    authorization:\n      type: Bearer\n      credentials_file: grafana.token\n    tags: [deploy]\n", grafana.URL))
	r := must(t, rca(t, "--config", cfg, "analyze", "--snapshot", piDigits, "-o", "json"), "analyze with grafana")
	if gotAuth != "Bearer glsa_t0ps3cret" {
		t.Errorf("Authorization = %q, want the token from the file next to the config", gotAuth)
	}
	if !strings.Contains(r.stdout, "payments fraud rules v9") || !strings.Contains(r.stdout, "v9.9.9") {
		t.Errorf("the annotation is not among the changes:\n%s", r.stdout)
	}

	grafana.Close()
	r = must(t, rca(t, "--config", cfg, "analyze", "--snapshot", piDigits, "-o", "json"), "analyze, grafana down")
	if !strings.Contains(r.stdout, "changes from Grafana annotations are missing") || strings.Contains(r.stdout+r.stderr, "glsa_t0ps3cret") {
		t.Errorf("a failing Grafana should be a warning without the token:\n%s", r.stdout)
	}
}

// TestIncidentFlagAndResolvedWarning: show and review take --incident as
// well as the ID; a note to a resolved incident warns.
func TestIncidentFlagAndResolvedWarning(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	at := func(args ...string) result { return rca(t, append(args, "--incidents-dir", dir)...) }
	first := strings.TrimSpace(must(t, at("log", "start", "--title", "first"), "start").stdout)
	must(t, at("log", "resolve", "done"), "resolve")
	r := must(t, at("log", "note", "late thought"), "note")
	if !strings.Contains(r.stderr, "already resolved") {
		t.Errorf("a note to a resolved incident does not warn: %q", r.stderr)
	}
	must(t, rcaAt(t, fixedNow.Add(time.Minute), "log", "start", "--title", "second", "--incidents-dir", dir), "start second")
	r = must(t, at("log", "show", "--incident", first), "show --incident")
	if !strings.Contains(r.stdout, "late thought") {
		t.Errorf("show --incident %s shows another incident:\n%s", first, r.stdout)
	}
	r = must(t, at("review", "--incident", first, "--out", "-"), "review --incident")
	if !strings.Contains(r.stdout, "# Postmortem: first") {
		t.Errorf("review --incident %s reviews another incident", first)
	}
}

// TestStartCannotSetCurrent: an incident whose log exists but which could
// not be made current is still named, so notes do not go astray.
func TestStartCannotSetCurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	if err := os.MkdirAll(filepath.Join(dir, "current"), 0o755); err != nil { // a folder where the pointer file goes
		t.Fatal(err)
	}
	r := rca(t, "log", "start", "--title", "disk trouble", "--incidents-dir", dir)
	if r.code == 0 {
		t.Fatal("start succeeded although current could not be written")
	}
	id := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(id, "INC-") || !strings.Contains(r.stderr, "--incident "+id) {
		t.Errorf("the new incident is not named: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if _, err := (incident.Store{Dir: dir}).Read(context.Background(), id); err != nil {
		t.Errorf("the started incident's log: %v", err)
	}
}

// TestAttachLeavesNothingHalfDone: a failure while attaching leaves no
// evidence folder and no entry linking missing files.
func TestAttachLeavesNothingHalfDone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	id := strings.TrimSpace(must(t, rca(t, "log", "start", "--title", "t", "--incidents-dir", dir), "start").stdout)
	s := incident.Store{Dir: dir}
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, func() time.Time { return fixedNow })
	inc := &incidentRef{store: s, id: id}
	e := incident.Entry{Kind: incident.KindNote, Text: "evidence"}
	ctx := context.Background()

	failing := func(string) ([]string, error) { return nil, errors.New("disk full") }
	if err := a.attach(ctx, inc, "analysis", "report", e, failing); err == nil || !strings.Contains(err.Error(), "the report above is complete") {
		t.Errorf("attach error = %v", err)
	}
	// The log vanishes between writing the files and appending the entry.
	logFile := filepath.Join(s.Path(id), "log.jsonl")
	saved, _ := os.ReadFile(logFile)
	vanish := func(d string) ([]string, error) {
		if err := os.WriteFile(filepath.Join(d, "report.md"), []byte("x"), 0o644); err != nil {
			return nil, err
		}
		return []string{"report.md"}, os.Remove(logFile)
	}
	if err := a.attach(ctx, inc, "analysis", "report", e, vanish); err == nil {
		t.Error("attach succeeded without a log to record in")
	}
	left, _ := os.ReadDir(s.EvidenceDir(id))
	for _, f := range left {
		t.Errorf("left behind in evidence/: %s", f.Name())
	}
	if err := os.WriteFile(logFile, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Read(ctx, id); err != nil || len(l.Entries) != 1 {
		t.Errorf("log after failed attachments: %v entries, %v", l, err)
	}
}

func TestIncidentConfigBadLokiURL(t *testing.T) {
	p := writeFile(t, t.TempDir(), "rca.yaml", "incident:\n  loki_url: \"http://alice:pa#ss@127.0.0.1:3100\"\n")
	r := rca(t, "--config", p, "log", "list")
	wantOneLineError(t, r, 0, "incident.loki_url")
	if strings.Contains(r.stderr, "pa#ss") || strings.Contains(r.stderr, ":pa") {
		t.Errorf("the password shows: %s", r.stderr)
	}
}

func TestShowRemindsOfUpdates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	at := func(hhmm string, args ...string) result {
		tm, _ := time.Parse("2006-01-02 15:04", "2026-11-24 "+hhmm)
		return rcaAt(t, tm, append(args, "--incidents-dir", dir)...)
	}
	must(t, at("14:00", "log", "start", "--title", "t"), "start")
	if r := must(t, at("14:10", "log", "show"), "show"); !strings.Contains(r.stderr, "next stakeholder update due by 14:30 UTC") {
		t.Errorf("no reminder: %q", r.stderr)
	}
	if r := must(t, at("14:42", "log", "show"), "show"); !strings.Contains(r.stderr, "overdue by 12m") {
		t.Errorf("no overdue warning: %q", r.stderr)
	}
	must(t, at("14:43", "update", "--sent"), "update")
	if r := must(t, at("14:44", "log", "show"), "show"); !strings.Contains(r.stderr, "due by 15:13 UTC") {
		t.Errorf("the sent update did not reset the clock: %q", r.stderr)
	}
	must(t, at("14:50", "log", "resolve", "done"), "resolve")
	if r := must(t, at("15:30", "log", "show"), "show"); strings.Contains(r.stderr, "stakeholder update") {
		t.Errorf("a resolved incident still asks for updates: %q", r.stderr)
	}
}

// TestLogAt: start, mitigate and resolve take --at for when it really
// happened. The entry keeps both times, the timeline and the review read
// the event's, and a time that does not parse or lies in the future is a
// one-line usage error.
func TestLogAt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	day := func(hhmmss string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05", "2026-11-24 "+hhmmss)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	at := func(clock string, args ...string) result {
		return rcaAt(t, day(clock), append(args, "--incidents-dir", dir, "--author", "alice")...)
	}

	r := must(t, at("14:06:00", "log", "start", "--title", "Checkout 500s", "--at", "2026-11-24T14:02:00Z"), "log start --at")
	id := strings.TrimSpace(r.stdout)
	if id != "INC-20261124-1402-checkout-500s" {
		t.Errorf("incident id = %q, want it named after --at", id)
	}
	must(t, at("14:07:00", "log", "note", "gateway timeouts"), "note")
	// Written at 14:20 about 14:15 (relative to now), after a note of 14:18.
	must(t, at("14:18:00", "log", "note", "rollback running"), "note")
	r = must(t, at("14:20:00", "log", "mitigate", "--at", "now-5m", "rolled back"), "mitigate --at")
	if !strings.Contains(r.stderr, "mitigate recorded in "+id+", at 2026-11-24 14:15:00 UTC") {
		t.Errorf("mitigate does not say when: %q", r.stderr)
	}
	must(t, at("14:40:00", "log", "resolve", "--at", "-1m", "back to baseline"), "resolve --at -1m")
	// Within the clock skew allowed: accepted.
	must(t, at("14:41:00", "log", "resolve", "--at", "now+1m", "confirmed"), "resolve --at now+1m")

	tests := []struct {
		name, at, want string
	}{
		{"unparseable", "yesterday", `--at: unparseable time "yesterday"`},
		{"in the future", "now+10m", "--at 2026-11-24T14:55:00Z is 10m in the future (now is 14:45:00 UTC): give the time it happened"},
		{"far in the future", "2027-01-01T00:00:00Z", "in the future"},
	}
	for _, tc := range tests {
		for _, cmd := range [][]string{{"log", "mitigate", "x"}, {"log", "resolve", "x"}, {"log", "start", "--title", "x"}} {
			t.Run(tc.name+"/"+cmd[1], func(t *testing.T) {
				r := at("14:45:00", append(cmd, "--at", tc.at)...)
				if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
					t.Errorf("exit %d, stderr %q; want 2 and one line with %q", r.code, r.stderr, tc.want)
				}
			})
		}
	}

	raw, err := os.ReadFile(filepath.Join(dir, id, "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []incident.Entry
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e incident.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	// The file keeps the order of writing; each entry its two times.
	want := []struct {
		kind           incident.Kind
		time, recorded string
	}{
		{incident.KindStart, "14:02:00", "14:06:00"},
		{incident.KindNote, "14:07:00", ""},
		{incident.KindNote, "14:18:00", ""},
		{incident.KindMitigate, "14:15:00", "14:20:00"},
		{incident.KindResolve, "14:39:00", "14:40:00"},
		{incident.KindResolve, "14:42:00", "14:41:00"},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d (a rejected --at wrote one?)\n%s", len(entries), len(want), raw)
	}
	for i, w := range want {
		e := entries[i]
		rec := ""
		if !e.Recorded.IsZero() {
			rec = e.Recorded.UTC().Format(time.TimeOnly)
		}
		if e.Kind != w.kind || e.Time.UTC().Format(time.TimeOnly) != w.time || rec != w.recorded {
			t.Errorf("entry %d = %s at %s written %q, want %s at %s written %q", i, e.Kind, e.Time.UTC().Format(time.TimeOnly), rec, w.kind, w.time, w.recorded)
		}
	}

	// The timeline reads in the order things happened.
	show := must(t, rcaAt(t, day("14:50:00"), "log", "show", "--incidents-dir", dir), "log show").stdout
	var order []string
	for _, line := range strings.Split(show, "\n") {
		if stamp, ok := strings.CutPrefix(line, "- **2026-11-24 "); ok {
			line = "- **" + stamp
		}
		if rest, ok := strings.CutPrefix(line, "- **1"); ok {
			order = append(order, "1"+rest[:7])
		}
	}
	if got := strings.Join(order, " "); got != "14:02:00 14:07:00 14:15:00 14:18:00 14:39:00 14:42:00" {
		t.Errorf("timeline order %s\n%s", got, show)
	}
	if !strings.Contains(show, "Written at 14:20:00") {
		t.Errorf("the backdated mitigation does not say when it was written:\n%s", show)
	}
	// The review measures from the moments given.
	must(t, rcaAt(t, day("14:50:00"), "review", "--incidents-dir", dir), "review")
	review, err := os.ReadFile(filepath.Join(dir, id, "review.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"**2026-11-24 14:15:00** Mitigated: rolled back", "Opened: 2026-11-24 14:02:00 UTC", "Resolved: 2026-11-24 14:42:00 UTC"} {
		if !strings.Contains(string(review), w) {
			t.Errorf("review lacks %q:\n%s", w, review)
		}
	}
}

// TestIncidentsFoundFromSubfolder: without --incidents-dir, rca run from a
// folder of the repository finds the store at its root instead of starting
// an empty one, and says where it is.
func TestIncidentsFoundFromSubfolder(t *testing.T) {
	repo := t.TempDir()
	for _, d := range []string{".git", "svc/api", "docs"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("RCA_INCIDENTS_DIR", "")
	store := filepath.Join(repo, "incidents")
	say := "incidents in " + store + " (found from "

	t.Chdir(repo)
	r := must(t, rca(t, "log", "start", "--title", "checkout 500s"), "start at the root")
	id := strings.TrimSpace(r.stdout)
	if strings.Contains(r.stderr, say) {
		t.Errorf("start in the store's folder names it as found elsewhere: %q", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(store, id, "log.jsonl")); err != nil {
		t.Fatalf("not started in %s: %v", store, err)
	}

	t.Chdir(filepath.Join(repo, "svc", "api"))
	r = must(t, rca(t, "log", "list"), "list from a subfolder")
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stderr, say+filepath.Join(repo, "svc", "api")) {
		t.Errorf("list from svc/api: stdout %q stderr %q; want %s and where the store is", r.stdout, r.stderr, id)
	}
	must(t, rca(t, "log", "note", "from the api folder"), "note from a subfolder")
	if _, err := os.Stat(filepath.Join(repo, "svc", "api", "incidents")); err == nil {
		t.Error("a second, empty store was made in svc/api")
	}

	t.Chdir(filepath.Join(repo, "docs"))
	r = must(t, rca(t, "log", "start", "--title", "second"), "start from another subfolder")
	second := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, say) || !strings.Contains(r.stderr, "started "+second+" in "+filepath.Join(store, second)) {
		t.Errorf("start from docs: stderr %q", r.stderr)
	}
	// An explicit directory is used as given, and not announced.
	r = must(t, rca(t, "log", "list", "--incidents-dir", "elsewhere"), "list --incidents-dir")
	if strings.Contains(r.stderr, say) || !strings.Contains(r.stderr, "no incidents in elsewhere") {
		t.Errorf("list --incidents-dir: stderr %q", r.stderr)
	}
	show := must(t, rca(t, "log", "show", id), "show the first").stdout
	if !strings.Contains(show, "from the api folder") {
		t.Errorf("the note from svc/api is not in %s:\n%s", id, show)
	}
}
