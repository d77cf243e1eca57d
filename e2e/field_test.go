package e2e

// The real-fault lab: real servers and exporters as people run them,
// real faults, and rca with its built-in catalog only, live against
// Prometheus and VictoriaMetrics. Two topologies run at once on one
// shared schedule:
//
//   - host-nginx (TestRealFaultHostNginx): nginx with stub_status, its
//     exporter, node_exporter. Faults: a disk I/O storm (stress-ng) 30 s
//     after a recorded deploy of the process that does it; nginx stopped.
//   - gateway-redis (TestRealFaultGatewayRedis): nginx as a gateway in
//     front of two tools/fieldapp instances (client-library naming),
//     redis with its exporter, node_exporter. Faults: a canary deploy that
//     burns CPU per request (p99 up, 504s at the gateway); redis stopped.
//
// Both run at once, so the schedule keeps each host-wide fault (the disk
// storm, the CPU burn) out of every window the other topology analyses;
// the two outages share the last slot. Each fault's window is analysed
// against the same baseline, the 90 s before the first fault. Subtests are
// named Prometheus/... and Victoria/... by backend.
//
// Besides asserting, the lab keeps its raw facts under $FIELDLAB_DIR
// (default /tmp/fieldlab): every report, rca's -v output, the requests
// it made, and a dump of every series the backends hold.

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lab's schedule, from its epoch (when both topologies are up).
const (
	labStartup = 8 * time.Second // from the first test's start (after building fieldapp) to the epoch

	baselineEnd = 90 * time.Second // the baseline is [epoch, epoch+90s)

	canaryAt    = 92 * time.Second // gateway-redis: canary deployed
	canaryEnd   = 127 * time.Second
	stormDeploy = 107 * time.Second // host-nginx: the deploy recorded, 30 s before the storm
	stormAt     = 137 * time.Second // host-nginx: the disk storm
	stormFor    = 35 * time.Second
	outageAt    = 182 * time.Second // both: nginx stopped, redis stopped
	nginxDown   = 40 * time.Second
	redisDown   = 35 * time.Second
	labEnd      = 227 * time.Second
	settle      = 3 * time.Second // after the last window: the last scrapes land
)

// The windows rca analyses: from 2 s (canary) or 5 s before a fault to 5 s
// after it ends.
var (
	canaryWindow = [2]time.Duration{baselineEnd, canaryEnd + 5*time.Second}
	stormWindow  = [2]time.Duration{canaryEnd + 5*time.Second, stormAt + stormFor + 5*time.Second}
	outageWindow = [2]time.Duration{stormAt + stormFor + 5*time.Second, labEnd}
)

var labClock struct {
	once  sync.Once
	epoch time.Time
	err   error
}

// labEpoch is the shared start of the schedule: both topologies' faults
// are timed from it. The first call builds tools/fieldapp first.
func labEpoch(t *testing.T) time.Time {
	t.Helper()
	labClock.once.Do(func() {
		_, labClock.err = fieldappBin()
		labClock.epoch = time.Now().Add(labStartup).Truncate(time.Second)
	})
	if labClock.err != nil {
		t.Fatal(labClock.err)
	}
	return labClock.epoch
}

// labReadme says what the lab leaves in labDir().
const labReadme = `# The real-fault lab's facts

Written by the e2e tests TestRealFaultHostNginx and TestRealFaultGatewayRedis
(e2e/field_test.go in rca), replaced by each run:

    go test ./e2e -run RealFault -v        # CI=true: missing servers fail instead of skipping

Two topologies ran side by side on 127.0.0.1 with a 1 s scrape, on one
schedule (timeline.json has the times). One directory per topology:

- host-nginx/: node_exporter, nginx (stub_status) and its exporter.
  Faults: disk_storm_after_deploy (stress-ng --iomix 30 s after a recorded
  deploy of log-compactor), nginx_stopped.
- gateway-redis/: nginx as a gateway in front of two tools/fieldapp
  instances, redis and its exporter, node_exporter. Faults:
  canary_cpu_deploy (v1.1.0 burning CPU per request on one instance, rolled
  back after 35 s), redis_stopped.

In each:

- summary.md: per fault and backend, what rca said (top root cause, or
  "Nothing stands out"), how long the live analysis took, and the requests
  it made (counted by a proxy in front of the backend).
- FAULT/prometheus/, FAULT/victoria/: the live analysis against Debian's
  Prometheus and VictoriaMetrics: report.json (rca analyze -o json),
  report.txt (-o text), verbose.log (-v stderr), run.json (the command
  line, time, requests and bytes).
- timeline.json: the schedule (baseline, each fault's window, when each
  fault began and ended), the addresses, and the lab's own checks (disk
  busy, p99, the load generator's answers by status code).
- changes.json: the changes file given to rca (with the fields its format
  did not have, left out, listed in timeline.json).
- prometheus-series.json.gz: every series Prometheus holds over the whole
  lab (an instant query of {__name__=~".+"}[range]: the raw samples).
- victoria-export.jsonl.gz: the same from VictoriaMetrics' /api/v1/export.
- prometheus.yml, victoria.yml, nginx.conf: the configurations.
- logs/: the output of every process the lab ran.

Other files here (a hand-written BEFORE.md, say) are left alone.
`

// labTopology is what a topology's test keeps for the analyses and facts.
type labTopology struct {
	name        string
	epoch       time.Time
	promURL     string
	vmURL       string
	out         string // its directory of facts
	changesFile string
	timeline    map[string]any
	runs        []liveRun
}

func (lt *labTopology) at(d time.Duration) time.Time { return lt.epoch.Add(d) }

func (lt *labTopology) window(w [2]time.Duration) [2]time.Time {
	return [2]time.Time{lt.at(w[0]), lt.at(w[1])}
}

// mark records when something happened, for timeline.json.
func (lt *labTopology) mark(what string) {
	lt.timeline[what] = time.Now().UTC().Format(time.RFC3339Nano)
}

// startLab prepares the facts directory and returns the topology.
func startLab(t *testing.T, name string, epoch time.Time) *labTopology {
	t.Helper()
	out := filepath.Join(labDir(), name)
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(labDir(), "README.md"), []byte(labReadme), 0o644)
	keepLogs(t, out)
	return &labTopology{name: name, epoch: epoch, out: out, timeline: map[string]any{
		"epoch":    epoch.UTC().Format(time.RFC3339),
		"baseline": [2]string{epoch.UTC().Format(time.RFC3339), epoch.Add(baselineEnd).UTC().Format(time.RFC3339)},
	}}
}

// ready checks the topology is up before the epoch.
func (lt *labTopology) ready(t *testing.T) {
	t.Helper()
	late := time.Since(lt.epoch)
	if late > 20*time.Second {
		t.Fatalf("the lab started %s after its epoch: the baseline would be missing", late.Round(time.Millisecond))
	}
	if late > 0 {
		t.Logf("the lab was up %s after its epoch; the baseline starts with a gap", late.Round(time.Millisecond))
	}
	lt.mark("up")
}

// startBackends starts Prometheus and VictoriaMetrics scraping jobs, and
// keeps their configurations and the nginx one at nginxConf in the facts.
func (lt *labTopology) startBackends(t *testing.T, dir string, jobs []scrapeJob, nginxConf string) {
	t.Helper()
	var promCfg, vmCfg string
	lt.promURL, promCfg = startScrapingPrometheus(t, dir, jobs)
	lt.vmURL, vmCfg = startVictoria(t, dir, jobs)
	for _, f := range []string{promCfg, vmCfg, nginxConf} {
		if b, err := os.ReadFile(f); err == nil {
			_ = os.WriteFile(filepath.Join(lt.out, filepath.Base(f)), b, 0o644)
		}
	}
}

// analyse runs rca on every backend over the window, against the baseline.
func (lt *labTopology) analyse(t *testing.T, fault string, w [2]time.Duration) {
	t.Helper()
	baseline := [2]time.Time{lt.epoch, lt.at(baselineEnd)}
	lt.timeline["window "+fault] = [2]string{lt.at(w[0]).UTC().Format(time.RFC3339), lt.at(w[1]).UTC().Format(time.RFC3339)}
	for _, b := range []struct{ name, url string }{{"Prometheus", lt.promURL}, {"Victoria", lt.vmURL}} {
		proxy := startCountingProxy(t, b.url)
		r := analyzeLive(t, proxy, b.name, fault, lt.window(w), baseline, lt.changesFile,
			filepath.Join(lt.out, fault, strings.ToLower(b.name)))
		lt.runs = append(lt.runs, r)
	}
}

// dump writes every series of the lab's range, from both backends.
func (lt *labTopology) dump(t *testing.T) {
	t.Helper()
	start := time.Now()
	from, to := lt.epoch.Add(-labStartup), lt.at(labEnd+settle)
	rng := strconv.Itoa(int(to.Sub(from).Seconds())) + "s"
	// A range selector returns the raw samples as Prometheus stored them.
	dumpGzip(t, lt.promURL, "/api/v1/query", url.Values{
		"query": {`{__name__=~".+"}[` + rng + `]`}, "time": {strconv.FormatInt(to.Unix(), 10)},
	}, filepath.Join(lt.out, "prometheus-series.json.gz"))
	dumpGzip(t, lt.vmURL, "/api/v1/export", url.Values{
		"match[]": {`{__name__=~".+"}`}, "start": {strconv.FormatInt(from.Unix(), 10)}, "end": {strconv.FormatInt(to.Unix(), 10)},
	}, filepath.Join(lt.out, "victoria-export.jsonl.gz"))
	t.Logf("dumped every series to %s in %s", lt.out, time.Since(start).Round(time.Millisecond))
}

// finish writes the timeline, the summary table of the rca runs, and
// their reports as text.
func (lt *labTopology) finish(t *testing.T) {
	t.Helper()
	writeTextReports(lt.runs)
	_ = os.WriteFile(filepath.Join(lt.out, "timeline.json"), jsonLines(lt.timeline), 0o644)
	var b strings.Builder
	fmt.Fprintf(&b, "| fault | backend | rca says | took | queries (requests) | names in range | series | anomalous |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range lt.runs {
		head := r.report.headline()
		if r.code != 0 {
			head = fmt.Sprintf("exit %d: %s", r.code, firstLine(r.stderr))
		}
		names := "?"
		if m := namesInRange.FindStringSubmatch(r.stderr); m != nil {
			names = m[1]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1fs | %d (%s) | %s | %d | %d |\n", r.fault, r.backend, head,
			r.took.Seconds(), r.queries(), r.requestSummary(), names, r.report.Stats.Series, r.report.Stats.Anomalous)
	}
	_ = os.WriteFile(filepath.Join(lt.out, "summary.md"), []byte(b.String()), 0o644)
	t.Logf("%s: what rca says (facts in %s):\n%s", lt.name, lt.out, b.String())
}

// namesInRange finds, in rca's -v output, how many metric names it saw.
var namesInRange = regexp.MustCompile(`metric names in range"? count=(\d+)`)

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:] // the error is the last line of -v output
	}
	return s
}

// labFaults are a topology's two faults: a deploy whose change must be
// the top root cause, and a service stopped.
type labFaults struct {
	deploy, deployService, version string
	deployWindow                   [2]time.Duration
	outage, outageService          string
	outageWindow                   [2]time.Duration
}

// conclude writes the changes file, analyses both faults on both
// backends, dumps the series and writes the facts; then it asserts, per
// backend, the deploy on top of its fault and the outage on top of its.
func (lt *labTopology) conclude(t *testing.T, changes []labChange, f labFaults) {
	t.Helper()
	var dropped []string
	lt.changesFile, dropped = writeChanges(t, filepath.Join(lt.out, "changes.json"), changes)
	if len(dropped) > 0 {
		t.Logf("the changes file format has no field for: %s", strings.Join(dropped, ", "))
		lt.timeline["changes: fields the format does not have, left out"] = dropped
	}

	lt.analyse(t, f.deploy, f.deployWindow)
	lt.analyse(t, f.outage, f.outageWindow)
	lt.dump(t)
	lt.finish(t)
	beginAssertions(t)

	for _, backend := range []string{"Prometheus", "Victoria"} {
		t.Run(backend+"/"+f.deploy, func(t *testing.T) {
			expectDeployOnTop(t, lt.run(f.deploy, backend), f.deployService, f.version)
		})
		t.Run(backend+"/"+f.outage, func(t *testing.T) {
			expectOutageOnTop(t, lt.run(f.outage, backend), f.outageService)
		})
	}
}

// run finds the live run of a fault on a backend.
func (lt *labTopology) run(fault, backend string) liveRun {
	for _, r := range lt.runs {
		if r.fault == fault && r.backend == backend {
			return r
		}
	}
	return liveRun{fault: fault, backend: backend, code: -1}
}

// describe is what rca said, for a failing assertion.
func describe(r liveRun) string {
	if r.code != 0 {
		return fmt.Sprintf("rca exited %d:\n%s", r.code, r.stderr)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rca says: %s\n", r.report.headline())
	for i, c := range r.report.RootCauses[:min(5, len(r.report.RootCauses))] {
		fmt.Fprintf(&b, "  cause %d: %s %s/%s (%s)\n", i+1, c.Service, c.SignalID, c.Signal, c.Layer)
	}
	for _, f := range r.report.Chain {
		what := f.SignalID
		if f.Change != nil {
			what = f.Change.Kind + " " + strconv.Quote(f.Change.Summary)
		}
		fmt.Fprintf(&b, "  chain: %s %s %s\n", f.Layer, f.Service, what)
	}
	for _, f := range r.report.Anomalies[:min(8, len(r.report.Anomalies))] {
		fmt.Fprintf(&b, "  anomaly: %s %s %s %s\n", f.Layer, f.Service, f.SignalID, f.Metric)
	}
	skipped := strings.Count(r.stderr, "skipping")
	fmt.Fprintf(&b, "  %d series, %d anomalous, %d warnings; %d queries in %s; %d skip lines in -v",
		r.report.Stats.Series, r.report.Stats.Anomalous, len(r.report.Warnings), r.queries(), r.took.Round(time.Millisecond), skipped)
	return b.String()
}

// expectDeployOnTop asserts the top root cause's chain ends at the deploy
// of service (to version, when given).
func expectDeployOnTop(t *testing.T, r liveRun, service, version string) {
	t.Helper()
	ch := r.report.rootChange()
	switch {
	case r.code != 0:
	case len(r.report.RootCauses) == 0 || ch == nil:
	case ch.Service != service || (version != "" && ch.ToVersion != version):
	case r.report.RootCauses[0].Change != nil && r.report.RootCauses[0].Change.Service != service:
	default:
		return
	}
	t.Errorf("%s, %s: want the top root cause's chain to end at the deploy of %s %s\n%s", r.backend, r.fault, service, version, describe(r))
}

// availability matches a signal that says a service is down: up, the
// *_up gauges, availability, absence.
var availability = regexp.MustCompile(`(?i)(^|[^a-z])up($|[^a-z])|availab|absen|vanish|missing|stopped|down|outage`)

// expectOutageOnTop asserts the top root cause is service, on an
// availability signal (its own or a link of its chain).
func expectOutageOnTop(t *testing.T, r liveRun, service string) {
	t.Helper()
	if r.code == 0 && len(r.report.RootCauses) > 0 {
		top := r.report.RootCauses[0]
		ok := top.Service == service && top.Change == nil &&
			(availability.MatchString(top.SignalID) || availability.MatchString(top.Signal))
		for _, f := range r.report.Chain {
			if top.Service == service && top.Change == nil && f.Service == service &&
				(availability.MatchString(f.SignalID) || availability.MatchString(f.Metric)) {
				ok = true
			}
		}
		if ok {
			return
		}
	}
	t.Errorf("%s, %s: want %s's outage (availability) as the top root cause\n%s", r.backend, r.fault, service, describe(r))
}

// fieldLab gates the real-fault lab: about four and a half minutes of
// real faults. It runs unless -short; outside CI a missing server skips it,
// under CI=true it fails (bash .ci/run installs them).
func fieldLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("the real-fault lab takes about four and a half minutes: not with -short")
	}
}

// TestRealFaultHostNginx is topology 1: nginx, its exporter and
// node_exporter on one host, a disk I/O storm after a deploy, and nginx
// stopped; analysed on Prometheus and on VictoriaMetrics.
func TestRealFaultHostNginx(t *testing.T) {
	fieldLab(t)
	t.Parallel()
	for _, bin := range []string{"prometheus", "victoria-metrics", "prometheus-node-exporter", "nginx", "prometheus-nginx-exporter", "stress-ng"} {
		labNeed(t, bin)
	}
	lt := startLab(t, "host-nginx", labEpoch(t))
	dir := t.TempDir()

	nodeAddr := startNodeExporter(t)
	nginxAddr := freeAddr(t)
	nginxDir := filepath.Join(dir, "nginx")
	nginx := startNginx(t, nginxDir, nginxAddr, nginxConfig(nginxDir, nginxAddr, "", ""))
	exporterAddr := startNginxExporter(t, nginxAddr)
	jobs := []scrapeJob{{"node", []string{nodeAddr}}, {"nginx", []string{exporterAddr}}}
	lt.startBackends(t, dir, jobs, filepath.Join(nginxDir, "nginx.conf"))
	traffic := startLoad(t, "http://"+nginxAddr+"/", 20, 2*time.Second)
	lt.timeline["addresses"] = map[string]string{"node-exporter": nodeAddr, "nginx": nginxAddr, "nginx-exporter": exporterAddr, "prometheus": lt.promURL, "victoria-metrics": lt.vmURL}
	lt.ready(t)

	// The disk storm, 30 s after log-compactor's deploy on this host.
	sleepUntil(t, lt.at(stormAt), "the disk storm")
	lt.mark("storm start")
	storm := startProc(t, "stress-ng", nil, labNeed(t, "stress-ng"),
		"--iomix", "2", "--iomix-bytes", "64M", "--timeout", strconv.Itoa(int(stormFor.Seconds()))+"s",
		"--temp-path", t.TempDir(), "--metrics-brief")
	if !storm.wait(stormFor + 10*time.Second) {
		t.Log("stress-ng outlived its --timeout: stopping it")
	}
	storm.stop(t)
	lt.mark("storm end")

	// nginx stopped; its exporter stays up and reports nginx_up 0.
	sleepUntil(t, lt.at(outageAt), "stopping nginx")
	nginx.stop(t)
	lt.mark("nginx stopped")
	sleepUntil(t, lt.at(outageAt+nginxDown), "restarting nginx")
	nginx.start(t)
	waitHTTP(t, nginx, "http://"+nginxAddr+"/stub_status", 30*time.Second)
	lt.mark("nginx started")
	sleepUntil(t, lt.at(labEnd+settle), "the end of the lab")

	// The faults must have happened, or the assertions below test nothing.
	diskBase := promMax(t, lt.promURL, `max_over_time(max(rate(node_disk_io_time_seconds_total[5s]))[80s:1s])`, lt.at(baselineEnd))
	diskStorm := promMax(t, lt.promURL, `max_over_time(max(rate(node_disk_io_time_seconds_total[5s]))[30s:1s])`, lt.at(stormAt+stormFor))
	lt.timeline["lab: disk busy (max rate of node_disk_io_time_seconds_total), baseline vs storm"] = [2]float64{diskBase, diskStorm}
	if diskStorm < 0.1 || diskStorm < 2*diskBase {
		t.Errorf("LAB: the disk storm did not show: disk busy %.3f in the storm, %.3f in the baseline", diskStorm, diskBase)
	}
	if up := promMax(t, lt.promURL, `min_over_time(nginx_up[35s])`, lt.at(outageAt+nginxDown)); up != 0 {
		t.Errorf("LAB: nginx_up stayed %v while nginx was stopped", up)
	}
	lt.timeline["lab: load answers during the nginx stop, by status (0: none)"] = traffic.counts(lt.at(outageAt), lt.at(outageAt+nginxDown))
	lt.timeline["lab: load answers in the baseline, by status"] = traffic.counts(lt.epoch, lt.at(baselineEnd))

	host, _ := os.Hostname()
	lt.conclude(t, []labChange{
		{at: lt.epoch.Add(-40 * time.Minute), service: "billing-api", kind: "deploy", summary: "deploy billing-api v2.3.0",
			fromVersion: "v2.2.9", toVersion: "v2.3.0"},
		{at: lt.at(stormDeploy), service: "log-compactor", kind: "deploy", summary: "deploy log-compactor v0.9.0 (compacts in place)",
			fromVersion: "v0.8.2", toVersion: "v0.9.0", host: host, instance: nodeAddr},
	}, labFaults{
		deploy: "disk_storm_after_deploy", deployWindow: stormWindow, deployService: "log-compactor", version: "v0.9.0",
		outage: "nginx_stopped", outageWindow: outageWindow, outageService: "nginx",
	})
}

// TestRealFaultGatewayRedis is topology 2: nginx as a gateway in front of
// two fieldapp instances that keep their data in redis, with the redis
// exporter and node_exporter; a canary deploy burning CPU per request,
// and redis stopped; analysed on Prometheus and on VictoriaMetrics.
func TestRealFaultGatewayRedis(t *testing.T) {
	fieldLab(t)
	t.Parallel()
	for _, bin := range []string{"prometheus", "victoria-metrics", "prometheus-node-exporter", "nginx", "prometheus-nginx-exporter", "redis-server", "prometheus-redis-exporter"} {
		labNeed(t, bin)
	}
	lt := startLab(t, "gateway-redis", labEpoch(t))
	app, err := fieldappBin()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	nodeAddr := startNodeExporter(t)
	redisAddr := freeAddr(t)
	redis := startRedis(t, filepath.Join(dir, "redis"), redisAddr)
	redisExporter := startRedisExporter(t, redisAddr)
	// Each instance has one core, as a container would.
	oneCore := []string{"GOMAXPROCS=1"}
	appArgs := func(addr, version, burn string) []string {
		return []string{app, "-listen", addr, "-redis", redisAddr, "-version", version, "-burn-cpu", burn}
	}
	stableAddr, canaryAddr := freeAddr(t), freeAddr(t)
	stable := startProc(t, "fieldapp-1", oneCore, appArgs(stableAddr, "v1.0.0", "0")...)
	canary := startProc(t, "fieldapp-2", oneCore, appArgs(canaryAddr, "v1.0.0", "0")...)
	waitHTTP(t, stable, "http://"+stableAddr+"/healthz", 30*time.Second)
	waitHTTP(t, canary, "http://"+canaryAddr+"/healthz", 30*time.Second)

	// A gateway as many are set up: round robin, a 1 s upstream timeout,
	// no retries on the other instance, no passive health checks.
	gatewayAddr := freeAddr(t)
	gatewayDir := filepath.Join(dir, "gateway")
	upstreams := fmt.Sprintf("  upstream fieldapp {\n    server %s max_fails=0;\n    server %s max_fails=0;\n    keepalive 16;\n  }", stableAddr, canaryAddr)
	location := `    location /api/ {
      proxy_pass http://fieldapp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 1s;
      proxy_read_timeout 1s;
      proxy_next_upstream off;
    }`
	startNginx(t, gatewayDir, gatewayAddr, nginxConfig(gatewayDir, gatewayAddr, upstreams, location))
	gatewayExporter := startNginxExporter(t, gatewayAddr)

	jobs := []scrapeJob{
		{"node", []string{nodeAddr}},
		{"gateway", []string{gatewayExporter}},
		{"fieldapp", []string{stableAddr, canaryAddr}},
		{"redis", []string{redisExporter}},
	}
	lt.startBackends(t, dir, jobs, filepath.Join(gatewayDir, "nginx.conf"))
	traffic := startLoad(t, "http://"+gatewayAddr+"/api/items", 20, 3*time.Second)
	lt.timeline["addresses"] = map[string]string{"node-exporter": nodeAddr, "redis": redisAddr, "redis-exporter": redisExporter,
		"fieldapp-1": stableAddr, "fieldapp-2 (canary)": canaryAddr, "gateway": gatewayAddr, "gateway-exporter": gatewayExporter,
		"prometheus": lt.promURL, "victoria-metrics": lt.vmURL}
	lt.ready(t)

	// The canary: v1.1.0 on the second instance, burning CPU per request;
	// rolled back after 35 s.
	deployCanary := func(version, cpuPerRequest, mark string) {
		canary.stop(t)
		canary.argv = appArgs(canaryAddr, version, cpuPerRequest)
		canary.start(t)
		lt.mark(mark)
		waitHTTP(t, canary, "http://"+canaryAddr+"/healthz", 30*time.Second)
	}
	sleepUntil(t, lt.at(canaryAt), "the canary deploy")
	deployCanary("v1.1.0", "150ms", "canary deployed")
	sleepUntil(t, lt.at(canaryEnd), "the canary's rollback")
	deployCanary("v1.0.0", "0", "canary rolled back")

	// redis stopped.
	sleepUntil(t, lt.at(outageAt), "stopping redis")
	redis.stop(t)
	lt.mark("redis stopped")
	sleepUntil(t, lt.at(outageAt+redisDown), "restarting redis")
	redis.start(t)
	waitTCP(t, redis, redisAddr, 30*time.Second)
	lt.mark("redis started")
	sleepUntil(t, lt.at(labEnd+settle), "the end of the lab")

	// The faults must have happened, or the assertions below test nothing.
	during := traffic.counts(lt.at(canaryAt), lt.at(canaryEnd))
	lt.timeline["lab: gateway answers during the canary, by status (0: none)"] = during
	if total := sumCounts(during); during[504] < total/10 {
		t.Errorf("LAB: the canary made %d 504s at the gateway of %d answers", during[504], total)
	}
	p99 := `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="fieldapp"}[10s])))`
	p99Base := promMax(t, lt.promURL, `max_over_time((`+p99+`)[60s:1s])`, lt.at(baselineEnd))
	p99Canary := promMax(t, lt.promURL, `max_over_time((`+p99+`)[30s:1s])`, lt.at(canaryEnd))
	lt.timeline["lab: fieldapp p99 (s), baseline vs canary"] = [2]float64{p99Base, p99Canary}
	if p99Canary < 0.5 || p99Canary < 5*p99Base {
		t.Errorf("LAB: the canary's p99 %.3fs did not rise over the baseline's %.3fs", p99Canary, p99Base)
	}
	during = traffic.counts(lt.at(outageAt), lt.at(outageAt+redisDown))
	lt.timeline["lab: gateway answers while redis was stopped, by status"] = during
	if total := sumCounts(during); during[500] < total/2 {
		t.Errorf("LAB: redis stopped made %d 500s of %d answers", during[500], total)
	}
	if up := promMax(t, lt.promURL, `min_over_time(redis_up[30s])`, lt.at(outageAt+redisDown)); up != 0 {
		t.Errorf("LAB: redis_up stayed %v while redis was stopped", up)
	}
	lt.timeline["lab: gateway answers in the baseline, by status"] = traffic.counts(lt.epoch, lt.at(baselineEnd))

	lt.conclude(t, []labChange{
		{at: lt.epoch.Add(-30 * time.Minute), service: "search-indexer", kind: "config", summary: "search-indexer: raise batch size to 500"},
		{at: lt.at(canaryAt), service: "fieldapp", kind: "deploy", summary: "canary fieldapp v1.1.0 on 1 of 2 instances",
			fromVersion: "v1.0.0", toVersion: "v1.1.0", instance: canaryAddr},
		{at: lt.at(canaryEnd), service: "fieldapp", kind: "deploy", summary: "roll back the fieldapp canary to v1.0.0",
			fromVersion: "v1.1.0", toVersion: "v1.0.0", instance: canaryAddr},
	}, labFaults{
		deploy: "canary_cpu_deploy", deployWindow: canaryWindow, deployService: "fieldapp", version: "v1.1.0",
		outage: "redis_stopped", outageWindow: outageWindow, outageService: "redis",
	})
}

func sumCounts(m map[int]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}
