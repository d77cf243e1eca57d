package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigServices is how many services the big installation runs.
const bigServices = 2000

// writeBigInstallation writes, as OpenMetrics for promtool, an hour of a
// 2,000-service installation scraped every 30 s: per service a pod's CPU
// counter and memory gauge, as cAdvisor names them. One service, small
// among them, starts burning CPU five minutes into the window.
func writeBigInstallation(t *testing.T, from time.Time, culprit int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.om")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	const step, samples = 30 * time.Second, 121
	onset := from.Add(45 * time.Minute) // the window is the last 20 minutes
	labels := func(s int) string {
		name := fmt.Sprintf("svc%04d", s)
		return fmt.Sprintf(`container=%q,namespace="shop",pod="%s-7d9f8b6c5d-%05d",service=%q`, name, name, s, name)
	}
	fmt.Fprintf(w, "# TYPE container_cpu_usage_seconds counter\n")
	for s := range bigServices {
		cores := 0.1 + 0.05*float64(s%7)
		if s == culprit {
			cores = 0.05
		}
		used := 0.0
		for k := range samples {
			at := from.Add(time.Duration(k) * step)
			c := cores * (1 + 0.05*math.Sin(float64(k+s)))
			if s == culprit && !at.Before(onset) {
				c = 0.9
			}
			used += c * step.Seconds()
			fmt.Fprintf(w, "container_cpu_usage_seconds_total{%s} %.3f %d\n", labels(s), used, at.Unix())
		}
	}
	fmt.Fprintf(w, "# TYPE container_memory_working_set_bytes gauge\n")
	for s := range bigServices {
		for k := range samples {
			at := from.Add(time.Duration(k) * step)
			fmt.Fprintf(w, "container_memory_working_set_bytes{%s} %.0f %d\n", labels(s), 2e8+1e6*float64(s%13)+1e5*math.Cos(float64(k*s)), at.Unix())
		}
	}
	fmt.Fprintf(w, "# EOF\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLiveBigInstallation analyses a 2,000-service installation live on
// the real Prometheus: the pull stays bounded (each query's series capped
// by max_series, the cap keeping what moved), the small service whose CPU
// rose is still the root cause, and the log says what it cost.
func TestLiveBigInstallation(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2,000-service backfill: skipped with -short")
	}
	from := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	const culprit = 1234
	om := writeBigInstallation(t, from, culprit)
	prom := startPrometheus(t, om)
	proxy := startCountingProxy(t, prom.url)
	window, baseline := from.Add(40*time.Minute), from
	started := time.Now()
	res := mustRun(t, bins.rca, "analyze", "-o", "json", "--prometheus-url", proxy.url,
		"--from", window.Format(time.RFC3339), "--to", window.Add(20*time.Minute).Format(time.RFC3339),
		"--baseline-from", baseline.Format(time.RFC3339), "--baseline-to", window.Format(time.RFC3339))
	took := time.Since(started)
	requests, bytes := proxy.take()
	total := 0
	for _, n := range requests {
		total += n
	}
	t.Logf("live rca analyze of %d services: %s wall, %d requests %v, %.1f MB pulled", bigServices, took.Round(time.Millisecond), total, requests, float64(bytes)/1e6)

	r := parseReport(t, res.stdout)
	want := fmt.Sprintf("svc%04d", culprit)
	if len(r.RootCauses) == 0 || r.RootCauses[0].Service != want {
		top := "none"
		if len(r.RootCauses) > 0 {
			top = r.RootCauses[0].Service
		}
		t.Errorf("top root cause %s, want %s (the small service whose CPU rose)", top, want)
	}
	capped := false
	for _, w := range r.Warnings {
		capped = capped || strings.Contains(w, "max_series")
	}
	if !capped {
		t.Errorf("warnings %q: want the series cap said (each query gives %d series)", r.Warnings, bigServices)
	}
	if total > 20 {
		t.Errorf("%d requests for two metrics: the pull is not bounded", total)
	}

	// The same installation where each query's answer is larger than
	// max_response_bytes (as 100,000 series would be at the default 64
	// MiB): the query is asked again with its top-K in it, and the real
	// Prometheus ranks the series and sends only the max_series that moved
	// most. The small service's CPU step must be among them.
	const maxSeries = 200
	cfg := filepath.Join(t.TempDir(), "rca.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("sources:\n  prometheus:\n    max_series: %d\n    max_response_bytes: %d\n", maxSeries, 1<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	whole := bytes
	started = time.Now()
	res = mustRun(t, bins.rca, "--config", cfg, "analyze", "-o", "json", "--prometheus-url", proxy.url,
		"--from", window.Format(time.RFC3339), "--to", window.Add(20*time.Minute).Format(time.RFC3339),
		"--baseline-from", baseline.Format(time.RFC3339), "--baseline-to", window.Format(time.RFC3339))
	took = time.Since(started)
	requests, bytes = proxy.take()
	t.Logf("with the top-K pushed to the server (answers over 1 MiB): %s wall, %v requests, %.1f MB pulled", took.Round(time.Millisecond), requests, float64(bytes)/1e6)
	var pushed struct {
		report
		Stats struct {
			Series int `json:"series"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &pushed); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if len(pushed.RootCauses) == 0 || pushed.RootCauses[0].Service != want {
		t.Errorf("top-K on the server: root causes %v, want %s first", pushed.RootCauses, want)
	}
	said := 0
	for _, w := range pushed.Warnings {
		if strings.Contains(w, "larger than sources.prometheus.max_response_bytes") && strings.Contains(w, fmt.Sprintf("the %d series that moved most", maxSeries)) {
			said++
		}
	}
	if said != 2 {
		t.Errorf("warnings %q: want each of the two queries said to be ranked on the server", pushed.Warnings)
	}
	if bytes >= whole {
		t.Errorf("%d bytes pulled with the top-K on the server, not less than the %d of the whole answers", bytes, whole)
	}
	if pushed.Stats.Series > 2*maxSeries {
		t.Errorf("%d series analysed, want at most %d per query from the server's top-K", pushed.Stats.Series, maxSeries)
	}
}
