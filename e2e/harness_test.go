// Package e2e runs the rca binary against real servers on loopback:
// Debian's prometheus, backfilled with the demo incident through promtool.
// With CI=true a missing server binary fails the tests; otherwise they skip.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bins holds the binaries TestMain builds once for every test.
var bins struct {
	dir     string
	rca     string
	demogen string
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rca-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins.dir = dir
	bins.rca = filepath.Join(dir, "rca")
	bins.demogen = filepath.Join(dir, "demogen")
	for pkg, out := range map[string]string{"./cmd/rca": bins.rca, "./tools/demogen": bins.demogen} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = repoRoot()
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n%s", pkg, err, b)
			return 1
		}
	}
	return m.Run()
}

// repoRoot is the module root: this file's directory's parent.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// need finds a server binary, or skips the test (fails it under CI=true,
// where a missing server must never pass silently).
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found on PATH: CI must install it (bash .ci/run does: apt-get install prometheus)", name)
	}
	t.Skipf("%s not found on PATH (apt-get install prometheus); skipping outside CI", name)
	return ""
}

// result is a finished command.
type result struct {
	code           int
	stdout, stderr string
}

// run executes a binary with a timeout and returns its outcome.
func run(t *testing.T, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
	}
	return res
}

// mustRun is run that fails the test on a non-zero exit.
func mustRun(t *testing.T, bin string, args ...string) result {
	t.Helper()
	res := run(t, bin, args...)
	if res.code != 0 {
		t.Fatalf("%s %s: exit %d\nstderr: %s", filepath.Base(bin), strings.Join(args, " "), res.code, res.stderr)
	}
	return res
}

// prometheus is a real Prometheus on loopback.
type prometheus struct {
	url string
}

// startPrometheus backfills the OpenMetrics files into a fresh TSDB with
// promtool and serves it on a free loopback port until the test ends.
func startPrometheus(t *testing.T, openMetrics ...string) prometheus {
	t.Helper()
	promBin, promtool := need(t, "prometheus"), need(t, "promtool")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, om := range openMetrics {
		start := time.Now()
		cmd := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool backfill %s: %v\n%s", om, err, b)
		}
		t.Logf("backfilled %s in %s", filepath.Base(om), time.Since(start).Round(time.Millisecond))
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("scrape_configs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(promBin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+data,
		// Retention counts back from the newest block, not from today:
		// without a long one, backfilled history is deleted at start-up.
		"--storage.tsdb.retention.time=100y",
		// A scraping Prometheus ends a vanished pod's series with a staleness
		// marker; backfilled blocks have none, so without this a replaced
		// pod's last value would count in sums for the default 5 minutes.
		// One scrape interval (the demo's 30 s) stands in for the marker.
		"--query.lookback-delta=30s",
		"--web.listen-address="+addr,
	)
	srv := startServer(t, "prometheus", cmd)
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		srv.checkAlive(t)
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return prometheus{url: url}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready after 30s", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freeAddr picks a free loopback port.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lokiBinary finds the Grafana Loki server: $LOKI_BIN, else the binary
// tools/loki/build.sh caches for the version tools/loki/go.mod pins, else
// loki on PATH. Missing, it skips the test (fails it under CI=true).
func lokiBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LOKI_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("LOKI_BIN: %v", err)
		}
		return p
	}
	var tried []string
	if mod, err := os.ReadFile(filepath.Join(repoRoot(), "tools", "loki", "go.mod")); err == nil {
		var version string
		for line := range strings.Lines(string(mod)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/grafana/loki/v3" {
				version = f[1]
			}
		}
		if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil && version != "" {
			p := filepath.Join(strings.TrimSpace(string(out)), "rca-tools", "loki-"+version, "loki")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			tried = append(tried, p)
		}
	}
	if p, err := exec.LookPath("loki"); err == nil {
		return p
	}
	tried = append(tried, "loki on PATH")
	msg := fmt.Sprintf("no Grafana Loki binary (tried $LOKI_BIN, %s): build it with tools/loki/build.sh (about 12 minutes the first time)", strings.Join(tried, ", "))
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI must (bash .ci/run does)")
	}
	t.Skip(msg + "; skipping outside CI")
	return ""
}

// startLoki serves an empty Grafana Loki, configured from
// testdata/loki.yaml, on free loopback ports until the test ends, and
// returns its base URL. Its log is shown when the test fails.
func startLoki(t *testing.T) string {
	t.Helper()
	bin := lokiBinary(t)
	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join(repoRoot(), "e2e", "testdata", "loki.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	port := func(addr string) string {
		_, p, _ := net.SplitHostPort(addr)
		return p
	}
	// %q quotes a path the way YAML double quotes read it.
	cfg := strings.NewReplacer(
		"${HTTP_PORT}", port(httpAddr),
		"${GRPC_PORT}", port(grpcAddr),
		"${DIR}", fmt.Sprintf("%q", dir),
		"${CHUNKS_DIR}", fmt.Sprintf("%q", filepath.Join(dir, "chunks")),
		"${RULES_DIR}", fmt.Sprintf("%q", filepath.Join(dir, "rules")),
	).Replace(string(tmpl))
	if i := strings.Index(cfg, "${"); i >= 0 {
		t.Fatalf("testdata/loki.yaml: startLoki has no value for the placeholder at %q", cfg[i:min(len(cfg), i+20)])
	}
	cfgFile := filepath.Join(dir, "loki.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	srv := startServer(t, "loki", exec.Command(bin, "-config.file="+cfgFile))
	url := "http://" + httpAddr
	get := func(path string) error {
		resp, err := http.Get(url + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", resp.Status, bodyText(resp.Body))
		}
		return nil
	}
	// Loki takes seconds to start its modules; more on a loaded machine.
	// And the first query after /ready waits about 2 s for the querier to
	// reach the scheduler: pay that here, not in a test's first query.
	const wait = 60 * time.Second
	deadline := start.Add(wait)
	var ready time.Duration
	for {
		srv.checkAlive(t)
		path := "/ready"
		if ready > 0 {
			path = "/loki/api/v1/labels"
		}
		err := get(path)
		switch {
		case err == nil && ready == 0:
			ready = time.Since(start)
			continue
		case err == nil:
			t.Logf("loki %s ready in %s, answering queries after %s", url,
				ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			return url
		case time.Now().After(deadline):
			t.Fatalf("loki at %s not ready after %s: GET %s: %v", url, wait, path, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// server is a server process a test started.
type server struct {
	name   string
	logs   *lockedBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // how it exited, once exited is closed
}

// startServer starts cmd with its output collected, stops it when the
// test ends (interrupt, then kill after 10 s), and shows the end of its
// output if the test failed.
func startServer(t *testing.T, name string, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{name: name, logs: new(lockedBuffer), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { s.err = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("%s output (%s):\n%s", name, strings.Join(cmd.Args, " "), s.logs.tail(64<<10))
		}
	})
	return s
}

// checkAlive fails the test if the server has already exited.
func (s *server) checkAlive(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("%s exited before it was ready: %v", s.name, s.err)
	default:
	}
}
