package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/incident"
)

// demoAlert is Alertmanager's notification for the demo incident.
const demoAlert = `{"receiver":"rca","status":"firing","alerts":[{"status":"firing",
"labels":{"alertname":"GatewayErrors","service":"gateway","severity":"critical"},
"annotations":{"summary":"gateway 5xx ratio above 5%"},
"startsAt":"2026-11-24T14:05:00Z","endsAt":"0001-01-01T00:00:00Z",
"generatorURL":"http://prometheus:9090/graph?g0.expr=x","fingerprint":"4e1d2c3b4a5f6e7d"}],
"groupLabels":{"alertname":"GatewayErrors"},"commonLabels":{},"commonAnnotations":{},
"externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\"GatewayErrors\"}","truncatedAlerts":0}`

// TestServeSnapshotDemo: rca serve --snapshot over the demo answers the
// demo's alert with an incident whose analysis names checkout, and stops
// cleanly when its context ends.
func TestServeSnapshotDemo(t *testing.T) {
	dir := t.TempDir()
	const token = "demo-token-5b0e"
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	incidents := filepath.Join(dir, "incidents")
	// The stakeholder webhook: its path is a secret.
	posts := make(chan string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- string(b)
	}))
	defer hook.Close()
	hookURL := hook.URL + "/services/T000/B000/hook-secret-path"
	stderr := new(lockedBuffer)
	a := newApp(io.Discard, stderr, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, a.rootCmd(), []string{"serve", "--listen", "127.0.0.1:0", "--token-file", tokenFile,
			"--snapshot", "../../testdata/incidents/pi-digits", "--incidents-dir", incidents, "--post", hookURL}, stderr)
	}()
	addr := regexp.MustCompile(`addr=(http://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("rca serve did not say where it listens:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/alertmanager", strings.NewReader(demoAlert))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s", resp.Status)
	}
	s := incident.Store{Dir: incidents}
	var l *incident.Log
	for deadline := time.Now().Add(60 * time.Second); ; {
		if list, _ := s.List(ctx); len(list) == 1 {
			if l, err = s.Read(ctx, list[0].ID); err == nil && len(l.Entries) >= 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no analysed incident after 60s:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	e := l.Entries[2]
	if e.Kind != incident.KindAnalysis || e.Analysis == nil || e.Analysis.Service != "checkout" || !strings.Contains(e.Analysis.Change, "checkout v1.4.2") {
		t.Errorf("analysis entry %+v, want checkout's deploy", e)
	}
	if u := l.Entries[3]; u.Kind != incident.KindUpdate || !strings.HasPrefix(u.PostedTo, "webhook at 127.0.0.1:") {
		t.Errorf("update entry %+v, want the first stakeholder update, posted", u)
	}
	select {
	case p := <-posts:
		if !strings.Contains(p, "checkout") {
			t.Errorf("posted update %q does not name checkout", p)
		}
	default:
		t.Error("nothing posted to the webhook")
	}
	if !strings.HasPrefix(l.ID, "INC-20261124-1405-gateway-5xx") {
		t.Errorf("incident %s, want it named after the alert's start and summary", l.ID)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit %d after shutdown:\n%s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rca serve did not stop")
	}
	if strings.Contains(stderr.String(), token) || strings.Contains(stderr.String(), "hook-secret-path") {
		t.Error("the token or the webhook's path is on stderr")
	}
	filepath.WalkDir(incidents, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), token) || strings.Contains(string(b), "hook-secret-path") {
				t.Errorf("a secret is in %s", path)
			}
		}
		return nil
	})
}

func TestServeBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tok")
	if err := os.WriteFile(tok, []byte("secret-value-77\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no token file", []string{"serve", "--snapshot", "x"}, 2, "--token-file is required"},
		{"empty token", []string{"serve", "--token-file", empty, "--snapshot", "x"}, 2, "is empty"},
		{"missing token file", []string{"serve", "--token-file", filepath.Join(dir, "nope")}, 1, "--token-file"},
		{"no source", []string{"serve", "--token-file", tok, "--incidents-dir", dir}, 2, "no data source"},
		{"bad workers", []string{"serve", "--token-file", tok, "--workers", "0", "--snapshot", "x"}, 2, "--workers"},
		{"bad listen", []string{"serve", "--token-file", tok, "--snapshot", "../../testdata/incidents/pi-digits", "--incidents-dir", dir, "--listen", "256.0.0.1:1"}, 1, "--listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rca(t, tc.args...)
			wantOneLineError(t, r, tc.code, tc.want)
			if strings.Contains(r.stderr, "secret-value-77") {
				t.Error("the token is in the error")
			}
		})
	}
}
