package e2e

// The real-fault lab's harness: Debian's servers and exporters started on
// 127.0.0.1 (free ports, a temporary directory each, every process in its
// own process group, killed when the test ends), a steady load, and the
// live rca runs whose results the tests in field_test.go assert on. None
// of it touches the system's services: no systemd, no /etc, no /var.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// labPackages names the Debian package of each binary the lab runs, for
// the message when one is missing.
var labPackages = map[string]string{
	"prometheus":                "prometheus",
	"prometheus-node-exporter":  "prometheus-node-exporter",
	"nginx":                     "nginx",
	"prometheus-nginx-exporter": "prometheus-nginx-exporter",
	"stress-ng":                 "stress-ng",
	"victoria-metrics":          "victoria-metrics",
	"redis-server":              "redis-server",
	"prometheus-redis-exporter": "prometheus-redis-exporter",
}

// labNeed finds a binary of the lab on PATH (nginx also in /usr/sbin), or
// skips the test; under CI=true a missing binary fails it.
func labNeed(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found on PATH (apt-get install --no-install-recommends %s)", name, labPackages[name])
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: CI must install it (bash .ci/run does)", msg)
	}
	t.Skipf("%s; skipping outside CI", msg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// fieldappBin builds tools/fieldapp once for the package's tests.
var fieldappBin = sync.OnceValues(func() (string, error) {
	out := filepath.Join(bins.dir, "fieldapp")
	cmd := exec.Command("go", "build", "-o", out, "./tools/fieldapp")
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./tools/fieldapp: %v\n%s", err, b)
	}
	return out, nil
})

// proc is a lab process that a test can stop and start again. Each run is
// in its own process group, so a server's children go with it.
type proc struct {
	name string
	argv []string
	env  []string // added to the environment
	logs *lockedBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // of the current run, closed when it has exited
	err    error
}

// startProc starts argv as name; the test's cleanup kills it and shows the
// end of its output if the test failed.
func startProc(t *testing.T, name string, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, argv: argv, env: env, logs: new(lockedBuffer)}
	p.start(t)
	tp := labProcsOf(t)
	labProcs.Lock()
	tp.procs = append(tp.procs, p)
	labProcs.Unlock()
	t.Cleanup(func() {
		p.stop(t)
		labProcs.Lock()
		quiet := tp.asserting
		labProcs.Unlock()
		if t.Failed() && !quiet {
			t.Logf("%s output (%s):\n%s", name, strings.Join(argv, " "), p.logs.tail(16<<10))
		}
	})
	return p
}

// labProcs are the processes each test started: their logs are kept
// beside the lab's facts, and shown when the lab itself fails (not when
// only an assertion on rca's report does).
var labProcs struct {
	sync.Mutex
	byTest map[*testing.T]*testProcs
}

type testProcs struct {
	procs     []*proc
	asserting bool // the lab ran without failing; only assertions are left
}

func labProcsOf(t *testing.T) *testProcs {
	labProcs.Lock()
	defer labProcs.Unlock()
	if labProcs.byTest == nil {
		labProcs.byTest = map[*testing.T]*testProcs{}
	}
	tp := labProcs.byTest[t]
	if tp == nil {
		tp = &testProcs{}
		labProcs.byTest[t] = tp
		t.Cleanup(func() {
			labProcs.Lock()
			delete(labProcs.byTest, t)
			labProcs.Unlock()
		})
	}
	return tp
}

// beginAssertions says the lab ran; a failure from now on is rca's, and
// the servers' output is not shown for it (it is kept in the facts).
func beginAssertions(t *testing.T) {
	tp := labProcsOf(t)
	labProcs.Lock()
	tp.asserting = !t.Failed()
	labProcs.Unlock()
}

// keepLogs writes the output of the test's processes into dir/logs when
// the test ends (its cleanup runs after theirs: register it first).
func keepLogs(t *testing.T, dir string) {
	tp := labProcsOf(t)
	t.Cleanup(func() {
		labProcs.Lock()
		procs := slices.Clone(tp.procs)
		labProcs.Unlock()
		logs := filepath.Join(dir, "logs")
		if err := os.MkdirAll(logs, 0o755); err != nil {
			t.Log(err)
			return
		}
		for _, p := range procs {
			_ = os.WriteFile(filepath.Join(logs, p.name+".log"), []byte(p.logs.String()), 0o644)
		}
	})
}

// start runs the process (again).
func (p *proc) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	fmt.Fprintf(p.logs, "--- %s start: %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(p.argv, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
}

// stop ends the process group: SIGTERM, then SIGKILL after 5 s. It
// returns once the process has exited; stopping a stopped process is a
// no-op.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	pgid := cmd.Process.Pid
	select {
	case <-exited:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // children left behind
		return
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Logf("%s did not stop on SIGTERM within 5s: killing it", p.name)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	fmt.Fprintf(p.logs, "--- %s stopped\n", time.Now().UTC().Format(time.RFC3339Nano))
}

// alive fails the test if the process has exited.
func (p *proc) alive(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		p.mu.Lock()
		err := p.err
		p.mu.Unlock()
		t.Fatalf("%s exited: %v\n%s", p.name, err, p.logs.tail(8<<10))
	default:
	}
}

// waitHTTP polls url until it answers 200, failing the test after limit
// or when the process exits first.
func waitHTTP(t *testing.T, p *proc, url string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	client := http.Client{Timeout: time.Second}
	var last error
	for {
		p.alive(t)
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("%s: GET %s not ready after %s: %v\n%s", p.name, url, limit, last, p.logs.tail(8<<10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTCP polls addr until it accepts connections.
func waitTCP(t *testing.T, p *proc, addr string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		p.alive(t)
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not accepting connections after %s: %v\n%s", p.name, addr, limit, err, p.logs.tail(8<<10))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapeJob is one scrape job of the lab: its name (the job label) and
// its targets.
type scrapeJob struct {
	name    string
	targets []string
}

// scrapeConfig is a Prometheus configuration scraping jobs every second;
// VictoriaMetrics reads the same format.
func scrapeConfig(jobs []scrapeJob) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [", j.name)
		for i, tg := range j.targets {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", tg)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startScrapingPrometheus runs Debian's prometheus scraping jobs (and
// itself, as job prometheus) every second. It returns its URL.
func startScrapingPrometheus(t *testing.T, dir string, jobs []scrapeJob) (string, string) {
	t.Helper()
	bin := labNeed(t, "prometheus")
	addr := freeAddr(t)
	cfg := writeFile(t, filepath.Join(dir, "prometheus.yml"),
		scrapeConfig(append(slices.Clone(jobs), scrapeJob{"prometheus", []string{addr}})))
	p := startProc(t, "prometheus", nil, bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--storage.tsdb.retention.time=1d",
		"--web.listen-address="+addr,
	)
	url := "http://" + addr
	waitHTTP(t, p, url+"/-/ready", 30*time.Second)
	return url, cfg
}

// startVictoria runs Debian's victoria-metrics (1.79) scraping the same
// jobs (and itself, as job victoriametrics) every second.
func startVictoria(t *testing.T, dir string, jobs []scrapeJob) (string, string) {
	t.Helper()
	bin := labNeed(t, "victoria-metrics")
	addr := freeAddr(t)
	cfg := writeFile(t, filepath.Join(dir, "victoria.yml"),
		scrapeConfig(append(slices.Clone(jobs), scrapeJob{"victoriametrics", []string{addr}})))
	p := startProc(t, "victoria-metrics", nil, bin,
		"-httpListenAddr="+addr,
		"-storageDataPath="+filepath.Join(dir, "victoria-data"),
		"-retentionPeriod=100y",
		"-promscrape.config="+cfg,
		// By default the last 30 s are hidden from queries (samples may
		// still arrive); the lab queries windows that ended seconds ago.
		"-search.latencyOffset=1s",
		// Responses are cached; the lab re-queries ranges as data lands.
		"-search.disableCache",
	)
	url := "http://" + addr
	waitHTTP(t, p, url+"/health", 30*time.Second)
	return url, cfg
}

// startNodeExporter runs prometheus-node-exporter with its default
// collectors on a free loopback port and returns the address.
func startNodeExporter(t *testing.T) string {
	t.Helper()
	bin := labNeed(t, "prometheus-node-exporter")
	addr := freeAddr(t)
	p := startProc(t, "node-exporter", nil, bin, "--web.listen-address="+addr)
	waitHTTP(t, p, "http://"+addr+"/metrics", 30*time.Second)
	return addr
}

// nginxConfig is an nginx configuration serving stub_status and "ok" on
// addr, with every path in dir; extra goes into the server block and
// upstreams into the http block.
func nginxConfig(dir, addr, upstreams, extra string) string {
	q := func(name string) string { return strconv.Quote(filepath.Join(dir, name)) }
	return fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %s;
error_log %s warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %s;
  proxy_temp_path %s;
  fastcgi_temp_path %s;
  uwsgi_temp_path %s;
  scgi_temp_path %s;
%s
  server {
    listen %s;
    location = /stub_status { stub_status; }
    location = / { return 200 "ok\n"; }
%s
  }
}
`, q("nginx.pid"), q("error.log"), q("client_body"), q("proxy"), q("fastcgi"), q("uwsgi"), q("scgi"), upstreams, addr, extra)
}

// startNginx runs nginx with its own configuration and prefix in dir (no
// system paths: the pid file and logs are in dir) until the test ends.
func startNginx(t *testing.T, dir, addr, conf string) *proc {
	t.Helper()
	bin := labNeed(t, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, filepath.Join(dir, "nginx.conf"), conf)
	p := startProc(t, "nginx", nil, bin, "-c", cfg, "-p", dir+"/", "-e", filepath.Join(dir, "error.log"))
	waitHTTP(t, p, "http://"+addr+"/stub_status", 30*time.Second)
	return p
}

// startNginxExporter runs prometheus-nginx-exporter on nginx's stub_status.
func startNginxExporter(t *testing.T, nginxAddr string) string {
	t.Helper()
	bin := labNeed(t, "prometheus-nginx-exporter")
	addr := freeAddr(t)
	p := startProc(t, "nginx-exporter", nil, bin,
		"-nginx.scrape-uri=http://"+nginxAddr+"/stub_status",
		"-web.listen-address="+addr)
	waitHTTP(t, p, "http://"+addr+"/metrics", 30*time.Second)
	return addr
}

// startRedis runs redis-server without persistence on addr.
func startRedis(t *testing.T, dir, addr string) *proc {
	t.Helper()
	bin := labNeed(t, "redis-server")
	_, port, _ := net.SplitHostPort(addr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "redis-server", nil, bin,
		"--bind", "127.0.0.1", "--port", port, "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no")
	waitTCP(t, p, addr, 30*time.Second)
	return p
}

// startRedisExporter runs prometheus-redis-exporter on redis at redisAddr.
func startRedisExporter(t *testing.T, redisAddr string) string {
	t.Helper()
	bin := labNeed(t, "prometheus-redis-exporter")
	addr := freeAddr(t)
	p := startProc(t, "redis-exporter", nil, bin,
		"-redis.addr=redis://"+redisAddr, "-web.listen-address="+addr)
	waitHTTP(t, p, "http://"+addr+"/metrics", 30*time.Second)
	return addr
}

// load sends GET requests to url at a steady rate (open loop, at most 64
// in flight) and counts the answers by status code and second.
type load struct {
	mu       sync.Mutex
	bySecond map[int64]map[int]int // unix second -> status (0: no answer) -> count
	dropped  atomic.Int64          // ticks skipped with 64 requests in flight
}

func startLoad(t *testing.T, url string, perSecond int, timeout time.Duration) *load {
	t.Helper()
	l := &load{bySecond: map[int64]map[int]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sem := make(chan struct{}, 64)
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				l.dropped.Add(1)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				code := 0
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				} else if ctx.Err() != nil {
					return
				}
				sec := time.Now().Unix()
				l.mu.Lock()
				if l.bySecond[sec] == nil {
					l.bySecond[sec] = map[int]int{}
				}
				l.bySecond[sec][code]++
				l.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait(); client.CloseIdleConnections() })
	return l
}

// counts are the answers in [from, to) by status code (0: no answer).
func (l *load) counts(from, to time.Time) map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]int{}
	for sec, byCode := range l.bySecond {
		if sec >= from.Unix() && sec < to.Unix() {
			for code, n := range byCode {
				out[code] += n
			}
		}
	}
	return out
}

// countingProxy forwards to a backend and counts the requests rca makes.
type countingProxy struct {
	url      string
	mu       sync.Mutex
	requests map[string]int // by API path
	bytes    int64
}

func startCountingProxy(t *testing.T, backend string) *countingProxy {
	t.Helper()
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	cp := &countingProxy{requests: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: func(n int) {
			cp.mu.Lock()
			cp.bytes += int64(n)
			cp.mu.Unlock()
		}}
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cp.mu.Lock()
		cp.requests[r.URL.Path]++
		cp.mu.Unlock()
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	cp.url = "http://" + l.Addr().String()
	return cp
}

type countingBody struct {
	io.ReadCloser
	n func(int)
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n(n)
	return n, err
}

// take returns the counts so far and resets them.
func (cp *countingProxy) take() (map[string]int, int64) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	r, b := cp.requests, cp.bytes
	cp.requests, cp.bytes = map[string]int{}, 0
	return r, b
}

// promQuery evaluates an instant PromQL query at ts on a Prometheus API
// and returns the sample values (vector) by their labels' text.
func promQuery(t *testing.T, base, query string, ts time.Time) map[string]float64 {
	t.Helper()
	q := url.Values{"query": {query}, "time": {strconv.FormatInt(ts.Unix(), 10)}}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatalf("query %s: %v", query, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %s %v %s", query, resp.Status, err, body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("query %s: value %q: %v", query, s, err)
		}
		out[fmt.Sprint(r.Metric)] = v
	}
	return out
}

// promMax is the largest value promQuery returns, or -1 for none.
func promMax(t *testing.T, base, query string, ts time.Time) float64 {
	t.Helper()
	m := -1.0
	for _, v := range promQuery(t, base, query, ts) {
		m = max(m, v)
	}
	return m
}

// dumpGzip writes GET base+path?q, gzipped, to file. The server
// compresses (both Prometheus and VictoriaMetrics do when asked): gzip in
// a test binary built with -race is ten times slower.
func dumpGzip(t *testing.T, base, path string, q url.Values, file string) {
	t.Helper()
	client := http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{DisableCompression: true}}
	req, err := http.NewRequest(http.MethodGet, base+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("dump %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("dump %s: %s: %s", path, resp.Status, bodyText(resp.Body))
		return
	}
	f, err := os.Create(file)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Errorf("dump %s: %v", path, err)
		}
		return
	}
	zw := gzip.NewWriter(f)
	if _, err := io.Copy(zw, resp.Body); err != nil {
		t.Errorf("dump %s: %v", path, err)
	}
	if err := zw.Close(); err != nil {
		t.Error(err)
	}
}

// labDir is where the lab keeps its raw facts for people to read after
// the run: $FIELDLAB_DIR, else fieldlab in the system's temp directory.
func labDir() string {
	if d := os.Getenv("FIELDLAB_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "fieldlab")
}

// changeFields are the JSON names of the changes file's fields
// (telemetry.Change): the lab writes a change's host or instance only when
// the format has a field for it, since the file is read strictly.
func changeFields() map[string]bool {
	out := map[string]bool{}
	ty := reflect.TypeFor[telemetry.Change]()
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// labChange is one entry of a lab's changes file; where is the host and
// the instance (a scrape target's address) it ran on.
type labChange struct {
	at                     time.Time
	service, kind, summary string
	fromVersion, toVersion string
	host, instance         string
}

// writeChanges writes changes as a JSON changes file, with host and
// instance only when the format knows them; it returns the path and
// which of them were dropped.
func writeChanges(t *testing.T, path string, changes []labChange) (string, []string) {
	t.Helper()
	known := changeFields()
	var list []map[string]any
	var dropped []string
	for _, c := range changes {
		m := map[string]any{"time": c.at.UTC().Format(time.RFC3339), "service": c.service, "kind": c.kind, "summary": c.summary}
		if c.fromVersion != "" {
			m["from_version"] = c.fromVersion
		}
		if c.toVersion != "" {
			m["to_version"] = c.toVersion
		}
		for field, v := range map[string]string{"host": c.host, "instance": c.instance} {
			switch {
			case v == "":
			case known[field]:
				m[field] = v
			default:
				dropped = append(dropped, fmt.Sprintf("%s=%s (of %s)", field, v, c.service))
			}
		}
		list = append(list, m)
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dropped)
	return writeFile(t, path, string(b)+"\n"), dropped
}

// fieldReport is the part of rca.report/v1 the lab reads.
type fieldReport struct {
	RootCauses []fieldCause   `json:"root_causes"`
	Chain      []fieldFinding `json:"chain"`
	Anomalies  []fieldFinding `json:"anomalies"`
	Warnings   []string       `json:"warnings"`
	Stats      struct {
		Series    int `json:"series"`
		Anomalous int `json:"anomalous"`
		Services  int `json:"services"`
		Changes   int `json:"changes"`
	} `json:"stats"`
	UnlinkedChanges []fieldChange `json:"unlinked_changes"`
}

type fieldCause struct {
	Rank     int          `json:"rank"`
	Service  string       `json:"service"`
	Signal   string       `json:"signal"`
	SignalID string       `json:"signal_id"`
	Layer    string       `json:"layer"`
	Change   *fieldChange `json:"change"`
}

type fieldFinding struct {
	Layer    string       `json:"layer"`
	Service  string       `json:"service"`
	Signal   string       `json:"signal"`
	SignalID string       `json:"signal_id"`
	Metric   string       `json:"metric"`
	Labels   any          `json:"labels"`
	Change   *fieldChange `json:"change"`
}

type fieldChange struct {
	Service   string `json:"service"`
	Kind      string `json:"kind"`
	Summary   string `json:"summary"`
	ToVersion string `json:"to_version"`
	Source    string `json:"source"`
}

// rootChange is the change the chain ends at (above a commit link), or nil.
func (r fieldReport) rootChange() *fieldChange {
	for i := len(r.Chain) - 1; i >= 0; i-- {
		f := r.Chain[i]
		if f.Change == nil || f.Layer != "change" {
			return nil
		}
		if f.Change.Kind != "commit" {
			return f.Change
		}
	}
	return nil
}

// headline says in one line what rca concluded.
func (r fieldReport) headline() string {
	if len(r.RootCauses) == 0 {
		if len(r.Anomalies) == 0 {
			return "Nothing stands out"
		}
		return fmt.Sprintf("no root cause; %d anomalies", len(r.Anomalies))
	}
	c := r.RootCauses[0]
	s := fmt.Sprintf("#1 %s: %s (%s)", c.Service, c.Signal, c.Layer)
	if c.Change != nil {
		s = fmt.Sprintf("#1 %s: %s", c.Service, c.Change.Summary)
	}
	if ch := r.rootChange(); ch != nil && (c.Change == nil || ch.Summary != c.Change.Summary) {
		s += fmt.Sprintf("; chain ends at %q", ch.Summary)
	}
	return s
}

// liveRun is one live analysis of a lab window by the rca binary.
type liveRun struct {
	backend, fault string
	args           []string // rca's, without the output format
	dir            string   // where its facts go
	report         fieldReport
	jsonOut        string
	stderr         string
	code           int
	took           time.Duration
	requests       map[string]int
	bytes          int64
}

func (r liveRun) queries() int {
	n := 0
	for path, c := range r.requests {
		if strings.HasPrefix(path, "/api/v1/query") {
			n += c
		}
	}
	return n
}

func (r liveRun) requestSummary() string {
	var parts []string
	for path, n := range r.requests {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(path, "/api/v1/"), n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// analyzeLive runs rca analyze on the backend (through a counting proxy)
// over the window against the baseline, with the lab's changes file and
// the built-in catalog only, and writes its outputs under dir.
func analyzeLive(t *testing.T, proxy *countingProxy, backend, fault string, window, baseline [2]time.Time, changes, dir string) liveRun {
	t.Helper()
	ts := func(x time.Time) string { return x.UTC().Format(time.RFC3339) }
	args := []string{"analyze",
		"--prometheus-url", proxy.url,
		"--from", ts(window[0]), "--to", ts(window[1]),
		"--baseline-from", ts(baseline[0]), "--baseline-to", ts(baseline[1]),
		// The lab's faults last 40 s at a 1 s scrape: the default 30 s step
		// would leave one or two points of them.
		"--step", "1s",
		"--changes-file", changes,
	}
	proxy.take()
	start := time.Now()
	res := run(t, bins.rca, append(args, "-o", "json", "-v")...)
	run := liveRun{backend: backend, fault: fault, args: args, dir: dir, jsonOut: res.stdout, stderr: res.stderr, code: res.code, took: time.Since(start)}
	run.requests, run.bytes = proxy.take()
	if res.code == 0 {
		if err := json.Unmarshal([]byte(res.stdout), &run.report); err != nil {
			t.Errorf("%s %s: rca -o json: %v\n%s", backend, fault, err, res.stdout)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "report.json"), []byte(res.stdout), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "verbose.log"), []byte(res.stderr), 0o644)
		cmdline := "rca " + strings.Join(append(slices.Clone(args), "-o", "json", "-v"), " ")
		cmdline = strings.Replace(cmdline, proxy.url, backend+"-URL", 1)
		facts, _ := json.MarshalIndent(map[string]any{
			"command": cmdline, "exit_code": res.code, "took_seconds": run.took.Seconds(),
			"requests": run.requests, "response_bytes": run.bytes, "headline": run.report.headline(),
		}, "", "  ")
		_ = os.WriteFile(filepath.Join(dir, "run.json"), append(facts, '\n'), 0o644)
	}
	return run
}

// writeTextReports renders the runs' reports as text too (report.txt
// beside report.json), for people: untimed, four at a time.
func writeTextReports(runs []liveRun) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, r := range runs {
		if r.dir == "" {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bins.rca, append(slices.Clone(r.args), "-o", "text")...)
			cmd.Dir = repoRoot()
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			out, err := cmd.Output()
			if err != nil {
				out = fmt.Appendf(out, "\nrca -o text: %v\n", err)
			}
			_ = os.WriteFile(filepath.Join(r.dir, "report.txt"), out, 0o644)
		})
	}
	wg.Wait()
}

// sleepUntil waits until at, or fails the test if at has long passed
// (the lab's schedule slipped: a later fault would overlap a window).
func sleepUntil(t *testing.T, at time.Time, what string) {
	t.Helper()
	d := time.Until(at)
	if d < -2*time.Second {
		t.Fatalf("the lab's schedule slipped: %s was due %s ago", what, (-d).Round(time.Millisecond))
	}
	time.Sleep(d)
}

// jsonLines renders v indented, for the facts files.
func jsonLines(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return b.Bytes()
}

// wait waits up to limit for the process to exit by itself.
func (p *proc) wait(limit time.Duration) bool {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return true
	case <-time.After(limit):
		return false
	}
}
