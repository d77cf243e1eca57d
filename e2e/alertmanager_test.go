package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/incident"
)

// TestAlertmanagerOpensIncident: a real Prometheus evaluates an alerting
// rule on the demo's gateway 5xx ratio, a real Alertmanager (Debian's
// prometheus-alertmanager) delivers the notification to rca serve with
// its bearer token, and rca serve opens one incident with the analysis
// naming the checkout deploy and its evidence attached; Alertmanager's
// repeated notifications open no second incident.
//
// The rule must fire honestly, on data Prometheus holds "now": the
// bundled demo incident (demogen's default start, 2026-11-24 13:50) is
// generated as the other tests do, and every timestamp is shifted so that
// its 30 minutes end just before the test starts. The series are the
// demo's, sample for sample; only the clock moved. (Generating it with
// -start near now would change it: its traffic follows the time of day.)
// The rule then sees the gateway failing over its last 10 minutes, as a
// rule on a scraping Prometheus would during the incident: 2% of its
// requests fail, against 0.1% before the deploy (the threshold is 1%).
// (10 minutes, not 5: the rule keeps firing even if setting up took
// minutes on a busy machine.)
func TestAlertmanagerOpensIncident(t *testing.T) {
	amBin := need(t, "prometheus-alertmanager")
	promBin, promtool := need(t, "prometheus"), need(t, "promtool")
	dir := t.TempDir()

	// The demo's window ends at the last whole 30 s before now: its
	// deploy lies 18 minutes back, the errors start 16.5 minutes back.
	end := time.Now().UTC().Truncate(30 * time.Second)
	demo := writeDemo(t, demoStart)
	shifted := filepath.Join(dir, "shifted.om")
	shiftOpenMetrics(t, demo.openMetrics, shifted, end.Sub(demoStart.Add(30*time.Minute)))
	data := filepath.Join(dir, "prom-data")
	if b, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", shifted, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool backfill: %v\n%s", err, b)
	}

	// rca serve, with a token only it and Alertmanager know.
	token := fmt.Sprintf("e2e-token-%d", time.Now().UnixNano())
	tokenFile := writeFile(t, filepath.Join(dir, "token"), token+"\n")
	rcaAddr, amAddr, promAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	incidents := filepath.Join(dir, "incidents")
	rcaSrv := startServer(t, "rca serve", exec.Command(bins.rca, "serve", "--listen", rcaAddr, "--token-file", tokenFile,
		"--prometheus-url", "http://"+promAddr, "--incidents-dir", incidents))
	waitReady(t, rcaSrv, "http://"+rcaAddr+"/-/ready")

	// Alertmanager: a plain process on loopback with its own config and
	// storage, no cluster; quick grouping and repeats so the test is short.
	amCfg := writeFile(t, filepath.Join(dir, "alertmanager.yml"), `route:
  receiver: rca
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4s
receivers:
  - name: rca
    webhook_configs:
      - url: http://`+rcaAddr+`/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials_file: `+tokenFile+`
`)
	am := startServer(t, "alertmanager", exec.Command(amBin, "--config.file="+amCfg, "--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=", "--log.level=debug"))
	waitReady(t, am, "http://"+amAddr+"/-/ready")

	// Prometheus over the backfill, evaluating the rule every second.
	rules := writeFile(t, filepath.Join(dir, "rules.yml"), `groups:
  - name: demo
    interval: 1s
    rules:
      - alert: GatewayErrorRatio
        expr: |
          sum(rate(http_server_requests_total{service="gateway", code=~"5.."}[10m]))
            / sum(rate(http_server_requests_total{service="gateway"}[10m])) > 0.01
        labels:
          severity: critical
        annotations:
          summary: gateway 5xx ratio above 1%
          description: '{{ $value | humanizePercentage }} of the gateway''s requests fail'
`)
	promCfg := writeFile(t, filepath.Join(dir, "prometheus.yml"), `global:
  evaluation_interval: 1s
rule_files: [`+rules+`]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['`+amAddr+`']
scrape_configs: []
`)
	// As startPrometheus: a 30 s lookback-delta stands in for the
	// staleness markers backfilled blocks lack. A 2 s resend delay: an alert
	// evaluated before the notifier has discovered Alertmanager is sent
	// again then, not a minute later.
	prom := startServer(t, "prometheus", exec.Command(promBin, "--config.file="+promCfg, "--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y", "--query.lookback-delta=30s", "--rules.alert.resend-delay=2s",
		"--web.listen-address="+promAddr))
	waitReady(t, prom, "http://"+promAddr+"/-/ready")
	started := time.Now()

	// The incident, analysed.
	s := incident.Store{Dir: incidents}
	ctx := context.Background()
	var l *incident.Log
	for deadline := time.Now().Add(3 * time.Minute); ; {
		rcaSrv.checkAlive(t)
		if list, _ := s.List(ctx); len(list) > 0 {
			if got, err := s.Read(ctx, list[0].ID); err == nil && hasKind(got, incident.KindAnalysis) {
				l = got
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no analysed incident 3 minutes after Prometheus started")
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("incident %s analysed %s after Prometheus started", l.ID, time.Since(started).Round(100*time.Millisecond))

	st, _ := l.Start()
	if st.Title != "gateway 5xx ratio above 1%" || st.Severity != "SEV1" || !strings.Contains(st.Text, `alertname="GatewayErrorRatio"`) || !strings.Contains(st.Text, "http://") {
		t.Errorf("start entry %+v: want the alert's summary, severity, labels and link", st)
	}
	var analysis incident.Entry
	for _, e := range l.Entries {
		if e.Kind == incident.KindAnalysis {
			analysis = e
		}
	}
	a := analysis.Analysis
	if a == nil || a.Service != "checkout" || !strings.Contains(a.Change, "deploy checkout v1.4.2") {
		t.Errorf("analysis %+v, want the checkout v1.4.2 deploy", a)
	}
	if len(analysis.Files) == 0 {
		t.Error("no evidence attached")
	}
	for _, f := range analysis.Files {
		if _, err := os.Stat(filepath.Join(s.Path(l.ID), f)); err != nil {
			t.Errorf("evidence: %v", err)
		}
	}
	if !hasKind(l, incident.KindImpact) {
		t.Error("no impact assessment")
	}

	// Alertmanager repeats the notification (repeat_interval 4s): wait
	// for two more deliveries; still one incident, nothing added.
	first := metric(t, "http://"+rcaAddr+"/metrics", "rca_webhooks_received_total")
	for deadline := time.Now().Add(time.Minute); metric(t, "http://"+rcaAddr+"/metrics", "rca_webhooks_received_total") < first+2; {
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager did not repeat the notification within a minute (received %v)", first)
		}
		time.Sleep(500 * time.Millisecond)
	}
	sent := metric(t, "http://"+amAddr+"/metrics", `alertmanager_notifications_total{integration="webhook"}`)
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Read(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || len(again.Entries) != len(l.Entries) {
		t.Errorf("after Alertmanager's repeats: %d incidents, %d entries (was %d); want one, unchanged", len(list), len(again.Entries), len(l.Entries))
	}
	if rejected := metric(t, "http://"+rcaAddr+"/metrics", "rca_webhooks_rejected_total"); rejected != 0 {
		t.Errorf("%v notifications rejected", rejected)
	}
	t.Logf("Alertmanager sent %v webhook notifications; one incident, %d entries", sent, len(again.Entries))
	if logs := rcaSrv.logs.String() + am.logs.String() + prom.logs.String(); strings.Contains(logs, token) {
		t.Error("the token is in a server's log")
	}
}

func hasKind(l *incident.Log, k incident.Kind) bool {
	for _, e := range l.Entries {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// waitReady polls a readiness URL for up to 30 s.
func waitReady(t *testing.T, srv *server, url string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		srv.checkAlive(t)
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s: %s", srv.name, url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metric sums the samples of a metric (name, or name{labels} as a prefix)
// in a /metrics page.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	base := name
	if i := strings.IndexByte(name, '{'); i >= 0 {
		base = name[:i]
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(base) + `(\{[^}]*\})? (\S+)$`)
	var sum float64
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if base != name && !strings.Contains(m[0], strings.Trim(name[len(base):], "{}")) {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		sum += v
	}
	return sum
}

// shiftOpenMetrics copies an OpenMetrics file with every sample's
// timestamp (seconds, the last field of a sample line) moved by d.
func shiftOpenMetrics(t *testing.T, in, out string, d time.Duration) {
	t.Helper()
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(dst, 1<<20)
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	shift := int64(d / time.Second)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			i := strings.LastIndexByte(line, ' ')
			ts, err := strconv.ParseInt(line[i+1:], 10, 64)
			if i < 0 || err != nil {
				t.Fatalf("%s: a sample without a timestamp in seconds: %q", in, line)
			}
			line = line[:i+1] + strconv.FormatInt(ts+shift, 10)
		}
		w.WriteString(line)
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
